"""Reads for dashboards, the big screen and the API: tiles, series, breakdowns, drill-downs.

Everything goes through a ``Scope`` built by ``dashboard_scope`` from the user's grants of
``Perm.DASHBOARD_VIEW`` (``orgs.scoping``); a region outside it does not exist (404). Figures come
from the rollups when the scope allows it (every root at or above the cells' grain, no
department-tied grant) and from the facts otherwise — the same ``rollups.MEASURES`` either way, and
the drill-down lists the facts a measure selects, so a number and its list add up.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import Round
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from zongzhi.cases.models import CaseState, Category, Channel
from zongzhi.orgs.models import Department, Region
from zongzhi.orgs.paths import is_within, minimal_cover, subtree_q
from zongzhi.orgs.roles import Perm
from zongzhi.orgs.scoping import grants_with

from . import facts as facts_mod
from .models import CaseFact, RefreshState, Rollup, RollupDim, RollupMonth
from .rollups import (
    COHORT,
    COHORT_DAY,
    DIM_FIELD,
    FLOW,
    FLOW_DAY,
    MEASURES,
    aggregates,
    analytics_refresh,
    key_of,
    month_end,
    month_start,
)

Values = dict[str, int]

DEFAULT_DAYS = 30
MAX_POINTS = 3000


# --- scope and period ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """What a viewer may count: the owner-path subtrees of ``roots``, plus (department-tied grants)
    the facts of ``departments``; ``within`` narrows the department part to a subtree."""

    roots: tuple[str, ...]
    departments: tuple[int, ...] = ()
    within: str | None = None
    depths: tuple[int, ...] = ()  # LEVEL_DEPTH of each root (-1: the whole tree)
    region: Region | None = field(default=None, compare=False)  # the one region shown, if one
    narrowed: bool = False  # the viewer asked for ``region`` (links carry it on)

    def fact_q(self, prefix: str = "") -> Q:
        q = subtree_q(f"{prefix}owner_path", list(self.roots))
        if self.departments:
            dq = Q(**{f"{prefix}lead_department_id__in": list(self.departments)})
            if self.within is not None:
                dq &= subtree_q(f"{prefix}owner_path", [self.within])
            q |= dq
        return q

    def rollup_q(self) -> Q:
        return subtree_q("region_path", list(self.roots))

    def rollup_ok(self, grain: str, *, strictly_above: bool = False) -> bool:
        """May figures of this scope be read from cells kept at ``grain``?"""
        if self.departments or not self.roots:
            return False
        limit = facts_mod.DEPTH[grain] - (1 if strictly_above else 0)
        return all(d <= limit for d in self.depths)

    @property
    def cache_key(self) -> str:
        raw = f"{self.roots}|{self.departments}|{self.within}"
        return hashlib.sha1(raw.encode(), usedforsecurity=False).hexdigest()[:16]


@dataclass(frozen=True)
class Period:
    """Inclusive local dates; ``None`` bounds are open."""

    start: date | None
    end: date | None

    @classmethod
    def last_days(cls, days: int, today: date | None = None) -> Period:
        today = today or timezone.localdate()
        return cls(today - timedelta(days=days - 1), today)

    @classmethod
    def parse(cls, start: str | None, end: str | None, *, today: date | None = None) -> Period:
        """From query parameters (``YYYY-MM-DD``); defaults: the last 30 days. A bad date is a 422
        naming the field (``core.errors.FieldError``)."""
        from zongzhi.core.errors import FieldError

        today = today or timezone.localdate()

        def one(value: str | None, name: str) -> date | None:
            if not value:
                return None
            try:
                return date.fromisoformat(value)
            except ValueError as exc:
                raise FieldError(name, _("日期格式应为 YYYY-MM-DD。"), code="invalid") from exc

        s, e = one(start, "from"), one(end, "to")
        if s is None and e is None:
            return cls.last_days(DEFAULT_DAYS, today)
        if s is not None and e is not None and s > e:
            raise FieldError("to", _("结束日期不能早于开始日期。"), code="invalid")
        return cls(s, e)

    def q(self, day_field: str) -> Q:
        q = Q()
        if self.start is not None:
            q &= Q(**{f"{day_field}__gte": self.start})
        if self.end is not None:
            q &= Q(**{f"{day_field}__lte": self.end})
        return q

    @property
    def days(self) -> list[date]:
        if self.start is None or self.end is None:
            return []
        return [self.start + timedelta(days=i) for i in range((self.end - self.start).days + 1)]


ALL_TIME = Period(None, None)


def dashboard_scope(user: Any, region_code: str | None = None) -> Scope:
    """The viewer's scope, optionally narrowed to one region of it (``Http404`` when the viewer may
    see no dashboard, or the region is unknown or outside the scope)."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        raise Http404
    if user.is_superuser:
        roots, departments, dept_paths = [""], [], []
    else:
        grants = grants_with(user, Perm.DASHBOARD_VIEW)
        if not grants:
            raise Http404
        roots = minimal_cover([g.path for g in grants if g.department_id is None])
        departments = sorted({g.department_id for g in grants if g.department_id is not None})
        dept_paths = [g.path for g in grants if g.department_id is not None]
    within: str | None = None
    region: Region | None = None
    if region_code:
        region = Region.objects.filter(code=region_code).first()
        if region is None:
            raise Http404
        if any(is_within(region.path, r) for r in roots):
            roots, departments = [region.path], []
        elif departments and any(is_within(region.path, p) for p in dept_paths):
            roots, within = [], region.path
        else:
            raise Http404
    levels = dict(Region.objects.filter(path__in=[r for r in roots if r]).values_list("path", "level"))
    depths = tuple(-1 if not r else facts_mod.DEPTH.get(levels.get(r, ""), 99) for r in roots)
    if region is None and len(roots) == 1 and roots[0]:
        region = Region.objects.filter(path=roots[0]).first()
    return Scope(
        roots=tuple(roots),
        departments=tuple(departments),
        within=within,
        depths=depths,
        region=region,
        narrowed=bool(region_code),
    )


def ensure_fresh(max_age: int | None = None) -> None:
    """Without a task consumer (huey in immediate mode: development, tests) nobody runs the
    periodic refresh: refresh here when the last one is older than ``max_age`` seconds (30)."""
    if not settings.HUEY.get("immediate"):
        return
    max_age = max_age if max_age is not None else int(getattr(settings, "ZZ_ANALYTICS_MAX_AGE", 30))
    state = RefreshState.objects.filter(name=facts_mod.STATE_NAME).first()
    now = timezone.now()
    if state is None or state.refreshed_at is None or (now - state.refreshed_at).total_seconds() > max_age:
        analytics_refresh(now=now)


def refreshed_at() -> datetime | None:
    return facts_mod.last_refreshed_at()


# --- figures --------------------------------------------------------------------------------------------


def _zero() -> Values:
    return dict.fromkeys(MEASURES, 0)


# --- reading the rollups ------------------------------------------------------------------------------------
#
# The rollup reads are few and fixed in shape, and a tile must cost about as much as the index range
# it reads: one region per scope root (its tree cells above the grain, its grain cells at it), the
# day cells of the period's partial months and the month cells of its whole months. Their SQL is
# composed once per shape (quoted model names, every value a parameter) and run as one statement,
# each part summed by the database, in one ``UNION ALL``.


def split_period(period: Period) -> tuple[list[tuple[date, date]], tuple[date | None, date | None] | None]:
    """(day ranges, month range) covering ``period`` exactly: the whole calendar months inside it
    (``None`` bounds: open, as the period's) read from the month cells, the days before and after
    them from the day cells. ``None`` month range: no whole month inside."""
    s, e = period.start, period.end
    m_lo = None if s is None else (s if s.day == 1 else month_end(s) + timedelta(days=1))
    m_hi = (
        None if e is None else (month_start(e) if e == month_end(e) else month_start(e) - timedelta(days=1))
    )
    if m_lo is not None and m_hi is not None and m_lo > m_hi:
        assert s is not None and e is not None
        return [(s, e)], None
    days: list[tuple[date, date]] = []
    if s is not None and m_lo is not None and s < m_lo:
        days.append((s, m_lo - timedelta(days=1)))
    if e is not None and m_hi is not None and e > month_end(m_hi):
        days.append((month_end(m_hi) + timedelta(days=1), e))
    return days, (m_lo, None if m_hi is None else month_start(m_hi))


def _depth(level: str) -> int:
    return facts_mod.DEPTH.get(level, 99)


def _root_depths(scope: Scope) -> list[tuple[str, int]]:
    """(path, depth) of the scope's roots, the whole tree ("") as its top-level regions."""
    depths = list(scope.depths)
    if len(depths) != len(scope.roots):
        levels = dict(Region.objects.filter(path__in=scope.roots).values_list("path", "level"))
        depths = [-1 if not r else _depth(levels.get(r, "")) for r in scope.roots]
    out: list[tuple[str, int]] = []
    for root, depth in zip(scope.roots, depths, strict=True):
        if root:
            out.append((root, depth))
        else:
            top = Region.objects.filter(parent__isnull=True).values_list("path", "level")
            out += [(path, _depth(level)) for path, level in top]
    return out


def _source(path: str, depth: int, grain: str) -> tuple[bool, str]:
    """The cells holding every case owned in ``path``'s subtree: its tree cells above the grain, its
    grain cells at the grain (cases owned below the grain count in their ancestor at it)."""
    return depth < facts_mod.DEPTH[grain], path


@lru_cache(maxsize=256)
def _select_sql(
    table: str, time_column: str, group: tuple[str, ...], trees: int, grains: int, lo: bool, hi: bool
) -> str:
    q = connection.ops.quote_name
    sums = ", ".join(f"SUM({q(n)})" for n in MEASURES)
    kinds = [
        f"({q('tree')} = %s AND {q('region_path')} IN ({', '.join(['%s'] * n)}))"
        for n in (trees, grains)
        if n
    ]
    where = [f"{q('dim')} = %s", "(" + " OR ".join(kinds) + ")" if kinds else "1 = 0"]
    if lo:
        where.append(f"{q(time_column)} >= %s")
    if hi:
        where.append(f"{q(time_column)} <= %s")
    head = "".join(f"{q(g)}, " for g in group) if group else "NULL, "
    tail = f" GROUP BY {', '.join(q(g) for g in group)}" if group else ""
    return f"SELECT {head}{sums} FROM {q(table)} WHERE {' AND '.join(where)}{tail}"  # noqa: S608


def _rollup_read(
    sources: list[tuple[bool, str]],
    period: Period,
    dim: str,
    group: tuple[str, ...] = (),
    *,
    whole_months: bool = True,
) -> dict[Any, Values]:
    """Every measure of the ``dim`` cells of ``sources`` ((tree, region path) pairs) in the period,
    summed per ``group`` (columns of the cells; ``day`` reads a month cell's figures keyed by the
    month's first day; one column: keyed by its value, several: by tuples, none: ``None``). Whole
    months come from the month cells unless ``whole_months`` is false."""
    trees = sorted(p for t, p in sources if t)
    grains = sorted(p for t, p in sources if not t)
    if whole_months:
        days, months = split_period(period)
    else:
        days, months = [(period.start, period.end)], None  # type: ignore[list-item]
    parts: list[str] = []
    params: list[Any] = []
    for table, column, (lo, hi) in [(Rollup._meta.db_table, "day", r) for r in days] + (
        [(RollupMonth._meta.db_table, "month", months)] if months is not None else []
    ):
        columns = tuple(column if g == "day" else g for g in group)
        parts.append(
            _select_sql(table, column, columns, len(trees), len(grains), lo is not None, hi is not None)
        )
        params.append(str(dim))
        if trees:
            params += [True, *trees]
        if grains:
            params += [False, *grains]
        params += [b for b in (lo, hi) if b is not None]
    out: dict[Any, Values] = {}
    names = list(MEASURES)
    width = max(len(group), 1)
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # a few thousand cells at most: parallel workers cost more to start than they save
            cursor.execute("SET LOCAL max_parallel_workers_per_gather = 0")
        cursor.execute(" UNION ALL ".join(parts), params)
        for row in cursor.fetchall():
            head = [
                date.fromisoformat(v) if g == "day" and isinstance(v, str) else v
                for g, v in zip(group, row[:width], strict=False)
            ]
            key = None if not group else head[0] if len(group) == 1 else tuple(head)
            values = out.setdefault(key, _zero())
            for name, value in zip(names, row[width:], strict=True):
                values[name] += int(value or 0)
    return out


def _scope_sources(scope: Scope, grain: str) -> list[tuple[bool, str]]:
    return [_source(path, depth, grain) for path, depth in _root_depths(scope)]


def _merge(out: dict[Any, Values], key: Any, row: dict[str, Any], names: Iterable[str]) -> None:
    values = out.setdefault(key, _zero())
    for name in names:
        values[name] += int(row.get(name) or 0)


def _facts(scope: Scope) -> QuerySet[CaseFact]:
    return CaseFact.objects.filter(scope.fact_q())


def _facts_grouped(
    scope: Scope, period: Period, group: str | None, extra: Q | None = None
) -> dict[Any, Values]:
    """Measures from the facts grouped by ``group`` (a fact column, or None for one total)."""
    out: dict[Any, Values] = {}
    for day_field, measures in ((COHORT_DAY, COHORT), (FLOW_DAY, FLOW)):
        qs = _facts(scope).filter(period.q(day_field))
        if day_field == FLOW_DAY:
            qs = qs.filter(**{f"{FLOW_DAY}__isnull": False})
        if extra is not None:
            qs = qs.filter(extra)
        names = [m.name for m in measures]
        if group is None:
            _merge(out, None, qs.aggregate(**aggregates(measures)), names)
            continue
        groups = [group] if group != "day" else [day_field]
        for row in qs.order_by().values(*groups).annotate(**aggregates(measures)):
            _merge(out, row[groups[0]], row, names)
    return out


def totals(scope: Scope, period: Period) -> Values:
    """Every measure, summed over the scope and the period."""
    if scope.rollup_ok(facts_mod.GRAIN_TOTAL):
        sources = _scope_sources(scope, facts_mod.GRAIN_TOTAL)
        return _rollup_read(sources, period, RollupDim.TOTAL).get(None) or _zero()
    return _facts_grouped(scope, period, None).get(None, _zero())


def by_day(scope: Scope, period: Period) -> dict[date, Values]:
    if scope.rollup_ok(facts_mod.GRAIN_TOTAL):
        sources = _scope_sources(scope, facts_mod.GRAIN_TOTAL)
        return _rollup_read(sources, period, RollupDim.TOTAL, ("day",), whole_months=False)
    return _facts_grouped(scope, period, "day")


def by_dim(scope: Scope, period: Period, dim: str) -> dict[str, Values]:
    """Measures per value of ``dim`` (category id, channel code, department id; "" = none)."""
    if dim not in DIM_FIELD:
        raise ValueError(dim)
    if scope.rollup_ok(facts_mod.GRAIN_DIM):
        return _rollup_read(_scope_sources(scope, facts_mod.GRAIN_DIM), period, dim, ("key",))
    raw = _facts_grouped(scope, period, DIM_FIELD[dim])
    return {key_of(k): v for k, v in raw.items()}


SELF = "self:"


def child_regions(scope: Scope) -> list[Region]:
    """The regions a region breakdown shows: the children of the one root, or the roots."""
    if len(scope.roots) == 1:
        root = scope.roots[0]
        qs = (
            Region.objects.filter(parent__isnull=True)
            if not root
            else Region.objects.filter(parent__path=root)
        )
        return list(qs.order_by("path"))
    return list(Region.objects.filter(path__in=scope.roots).order_by("path"))


def by_region(scope: Scope, period: Period) -> list[tuple[str, str, Values]]:
    """Measures per child region of the scope (key = the child's path; ``self:<path>`` for the
    cases owned by the root's own center), largest first."""
    children = child_regions(scope)
    buckets: dict[str, Values] = {}

    def bucket_of(path: str) -> str | None:
        if path.startswith(SELF):
            return path
        for c in children:
            if path.startswith(c.path):
                return c.path
        for r in scope.roots:
            if r and path == r:
                return SELF + r
        return None

    rows: dict[Any, Values]
    if scope.rollup_ok(facts_mod.GRAIN_TOTAL, strictly_above=True):
        # each child's cells, and the root's own center's (its grain cells: the cases it owns)
        grain = facts_mod.GRAIN_TOTAL
        sources = [_source(c.path, _depth(c.level), grain) for c in children]
        if len(scope.roots) == 1 and scope.roots[0]:
            sources.append((False, scope.roots[0]))
        rows = {}
        for (path, tree), values in _rollup_read(
            sources, period, RollupDim.TOTAL, ("region_path", "tree")
        ).items():
            mine = not tree and path in scope.roots and path not in {c.path for c in children}
            rows[SELF + path if mine else path] = values
    else:
        rows = _facts_grouped(scope, period, "owner_path")
    for path, values in rows.items():
        b = bucket_of(path)
        if b is None:
            continue
        target = buckets.setdefault(b, _zero())
        for k, v in values.items():
            target[k] += v
    names = {c.path: c.name for c in children}
    out = []
    for key, values in buckets.items():
        label = names.get(key) or _("本级")
        out.append((key, label, values))
    out.sort(key=lambda t: -t[2]["reported"])
    return out


# --- shaping ------------------------------------------------------------------------------------------------


def ratio(num: int, den: int) -> float | None:
    return None if not den else round(num / den, 4)


def rates(v: Values) -> dict[str, float | None]:
    """The display rates of a set of figures (definitions in ``docs/analytics.md``)."""
    resolved = v["resolved"]
    return {
        "closure": ratio(resolved, v["reported"] - v["declined"]),
        "accept_on_time": ratio(v["accept_on_time"], v["accept_closed"]),
        "dispatch_on_time": ratio(v["dispatch_on_time"], v["dispatch_closed"]),
        "resolve_on_time": ratio(v["resolve_on_time"], v["resolve_closed"]),
        "reply_on_time": ratio(v["reply_on_time"], v["reply_closed"]),
        "satisfaction": ratio(v["satisfied"] + v["basically_satisfied"], v["rated"]),
        "reopen": ratio(v["reopened"], resolved),
        "on_site": ratio(v["resolved_on_site"], resolved),
        "dispute_resolution": ratio(v["disputes_resolved"], v["disputes"]),
        "avg_resolve_hours": None if not resolved else round(v["resolve_seconds"] / resolved / 3600, 1),
    }


RATE_LABELS = {
    "closure": gettext_lazy("办结率"),
    "accept_on_time": gettext_lazy("受理及时率"),
    "dispatch_on_time": gettext_lazy("派单及时率"),
    "resolve_on_time": gettext_lazy("按期办结率"),
    "reply_on_time": gettext_lazy("反馈及时率"),
    "satisfaction": gettext_lazy("满意率"),
    "reopen": gettext_lazy("返工率"),
    "on_site": gettext_lazy("自行处置率"),
    "dispute_resolution": gettext_lazy("纠纷化解率"),
    "avg_resolve_hours": gettext_lazy("平均办结时长（小时）"),
}

FUNNEL = ["reported", "accepted", "dispatched", "acknowledged", "resolved", "replied", "rated", "archived"]


def bin_start(day: date, bin_: str) -> date:
    if bin_ == "week":
        return day - timedelta(days=day.weekday())
    if bin_ == "month":
        return day.replace(day=1)
    return day


def series(scope: Scope, period: Period, names: list[str], bin_: str = "day") -> dict[str, Any]:
    """``names`` per day / week (Monday) / month over the period, zeros included."""
    if bin_ not in ("day", "week", "month"):
        raise ValueError(bin_)
    if bin_ == "month" and scope.rollup_ok(facts_mod.GRAIN_TOTAL):
        # whole months from the month cells (keyed by their first day), the rest by day
        sources = _scope_sources(scope, facts_mod.GRAIN_TOTAL)
        daily = _rollup_read(sources, period, RollupDim.TOTAL, ("day",))
    else:
        daily = by_day(scope, period)
    days = period.days or sorted(daily)
    labels: list[date] = []
    for d in days:
        b = bin_start(d, bin_)
        if not labels or labels[-1] != b:
            labels.append(b)
    index = {b: i for i, b in enumerate(labels)}
    values = {n: [0] * len(labels) for n in names}
    for d, v in daily.items():
        i = index.get(bin_start(d, bin_))
        if i is None:
            continue
        for n in names:
            values[n][i] += v[n]
    return {"labels": [d.isoformat() for d in labels], "series": values}


def _label_map(dim: str, keys: Iterable[str]) -> dict[str, str]:
    ids = [int(k) for k in keys if k.isdigit()]
    if dim == RollupDim.CATEGORY:
        return {str(c.pk): str(c) for c in Category.objects.filter(pk__in=ids).select_related("parent")}
    if dim == RollupDim.DEPARTMENT:
        return {str(pk): name for pk, name in Department.objects.filter(pk__in=ids).values_list("pk", "name")}
    if dim == RollupDim.CHANNEL:
        return {str(k): str(v) for k, v in Channel.choices}
    return {}


def breakdown(
    scope: Scope, period: Period, by: str, measure: str = "reported", limit: int = 50
) -> list[dict[str, Any]]:
    """Rows ``{key, label, value, values}`` for ``by`` in category / top_category / channel /
    department / region, largest ``measure`` first."""
    rows: list[tuple[str, str, Values]]
    if by == "region":
        rows = by_region(scope, period)
    elif by == "top_category":
        raw = by_dim(scope, period, RollupDim.CATEGORY)
        parents = dict(
            Category.objects.filter(pk__in=[int(k) for k in raw if k.isdigit()]).values_list(
                "pk", "parent_id"
            )
        )
        merged: dict[str, Values] = {}
        for k, v in raw.items():
            top = str(parents.get(int(k)) or k) if k.isdigit() else ""
            target = merged.setdefault(top, _zero())
            for n, x in v.items():
                target[n] += x
        labels = _label_map(RollupDim.CATEGORY, merged)
        rows = [(k, labels.get(k, _("未分类")), v) for k, v in merged.items()]
    else:
        raw = by_dim(scope, period, by)
        labels = _label_map(by, raw)
        none_label = {"category": _("未分类"), "department": _("未派单"), "channel": _("未知")}[by]
        rows = [(k, labels.get(k, none_label) if k else none_label, v) for k, v in raw.items()]
    rows = [r for r in rows if r[2]["reported"] or r[2][measure]]
    rows.sort(key=lambda r: (-r[2][measure], r[1]))
    return [{"key": k, "label": label, "value": v[measure], "values": v} for k, label, v in rows[:limit]]


def funnel(v: Values) -> list[dict[str, Any]]:
    return [{"key": n, "label": str(MEASURES[n].label), "value": v[n]} for n in FUNNEL]


# --- drill-down ------------------------------------------------------------------------------------------


def drill(
    scope: Scope,
    period: Period,
    measure: str,
    *,
    dim: str | None = None,
    key: str | None = None,
) -> QuerySet[CaseFact]:
    """The facts behind a number: the scope, the measure's filter on its own date column, and
    optionally one value of a dimension (``dim`` category / top_category / channel / department /
    region, ``key`` as in ``breakdown``). Counting them (or summing ``MEASURES[measure].field``)
    gives the number shown."""
    m = MEASURES.get(measure)
    if m is None:
        raise KeyError(measure)
    qs = _facts(scope).filter(period.q(m.day_field)).filter(m.q)
    if m.day_field == FLOW_DAY:
        qs = qs.filter(resolved_date__isnull=False)
    if dim:
        key = key or ""
        if dim == "region":
            if key.startswith(SELF):
                qs = qs.filter(owner_path=key[len(SELF) :])
            else:
                qs = qs.filter(subtree_q("owner_path", [key]) if key else Q(pk__in=[]))
        elif dim == "top_category":
            qs = (
                qs.filter(Q(category_parent_id=key) | Q(category_id=key, category_parent_id__isnull=True))
                if key.isdigit()
                else qs.filter(category_id__isnull=True)
            )
        elif dim in DIM_FIELD:
            column = DIM_FIELD[dim]
            qs = qs.filter(**{f"{column}__isnull": True}) if key == "" else qs.filter(**{column: key})
        else:
            raise KeyError(dim)
    return qs.order_by("-created_at", "-case_id")


def drill_total(qs: QuerySet[CaseFact], measure: str) -> int:
    """The number behind a drill-down, counted (or summed) on its facts."""
    m = MEASURES[measure]
    if m.field:
        return int(qs.aggregate(t=Sum(m.field))["t"] or 0)
    return qs.count()


DRILL_RELATED = ("case", "case__category__parent", "case__region", "case__lead_department")


def drill_number(
    scope: Scope, period: Period, measure: str, *, dim: str | None = None, key: str | None = None
) -> int:
    """The number a drill-down lists: without a dimension, the figure the dashboard shows (read from
    the rollups, as the tile was — at city scale a period holds millions of facts, too many to count
    per page view); with one, counted on the facts (``drill_total``). Both agree once the rollups
    are fresh (``ensure_fresh``), which the tests check for every measure."""
    if dim is None and measure in MEASURES:
        return int(totals(scope, period)[measure])
    return drill_total(drill(scope, period, measure, dim=dim, key=key), measure)


def drill_page(
    scope: Scope,
    period: Period,
    measure: str,
    *,
    dim: str | None = None,
    key: str | None = None,
    offset: int = 0,
    limit: int = 50,
) -> list[CaseFact]:
    """Rows ``offset``…``offset + limit`` of ``drill`` (newest first), with their cases.

    Without a dimension, for a measure counted by registration day, the rollups' day cells say on
    which days the measure has cases, so the page is read from just the newest days that hold
    enough of them, not from the whole period (a rare
    measure's few facts are otherwise looked for among millions, and a frequent one's sorted); no
    cell with the measure, no rows. (A sum measure's cells say nothing of its cases with a value of
    0 — a case resolved within the second it came in — so those lists read the whole period.)
    Should the facts hold fewer rows there than the cells promised (a fact changed, its refresh
    pending), the whole period is read; cases the cells do not count yet appear after the next
    refresh (``ensure_fresh``), as they do in the number."""
    qs = drill(scope, period, measure, dim=dim, key=key).select_related(*DRILL_RELATED)
    m = MEASURES[measure]
    # the list is in registration order, so only a count measure counted on the registration day can
    # be narrowed by its days (a flow measure's day is the resolution day)
    if dim is None and m.day_field == COHORT_DAY and not m.field:
        need = offset + limit
        days = by_day(scope, period)
        chosen: list[date] = []
        seen = 0
        for day in sorted(days, reverse=True):
            value = int(days[day][measure])
            if value:
                chosen.append(day)
                seen += value
                if seen >= need:
                    break
        if not chosen:
            return []
        rows = list(qs.filter(**{f"{COHORT_DAY}__in": chosen})[offset : offset + limit])
        if len(rows) >= min(limit, max(seen - offset, 0)):
            return rows
    return list(qs[offset : offset + limit])


# --- maps, recurring problems, recent cases ------------------------------------------------------------------


def _cached(name: str, scope: Scope, period: Period, compute: Any, timeout: int = 30) -> Any:
    key = f"zz-an:{name}:{scope.cache_key}:{period.start}:{period.end}"
    found = cache.get(key)
    if found is None:
        found = compute()
        cache.set(key, found, timeout)
    return found


def hotspots(scope: Scope, period: Period) -> list[list[float]]:
    """[lat, lon, count] cells of about 100 m with cases registered in the period, busiest first."""

    def compute() -> list[list[float]]:
        qs = (
            _facts(scope)
            .filter(period.q(COHORT_DAY), case__lat__isnull=False, case__lon__isnull=False)
            .annotate(glat=Round("case__lat", 3), glon=Round("case__lon", 3))
            .order_by()
            .values("glat", "glon")
            .annotate(n=Count("pk"))
            .order_by("-n")[:MAX_POINTS]
        )
        return [[float(r["glat"]), float(r["glon"]), int(r["n"])] for r in qs]

    return _cached("hot", scope, period, compute)  # type: ignore[no-any-return]


def top_addresses(scope: Scope, period: Period, limit: int = 10) -> list[dict[str, Any]]:
    """Addresses reported more than once in the period (repeat problems), most first."""

    def compute() -> list[dict[str, Any]]:
        qs = (
            _facts(scope)
            .filter(period.q(COHORT_DAY))
            .exclude(case__address="")
            .order_by()
            .values("case__address")
            .annotate(n=Count("pk"))
            .filter(n__gt=1)
            .order_by("-n", "case__address")[:limit]
        )
        return [{"label": r["case__address"], "value": r["n"]} for r in qs]

    return _cached("addr", scope, period, compute)  # type: ignore[no-any-return]


def top_grids(scope: Scope, period: Period, limit: int = 10) -> list[dict[str, Any]]:
    def compute() -> list[dict[str, Any]]:
        qs = (
            _facts(scope)
            .filter(period.q(COHORT_DAY), grid_id__isnull=False)
            .order_by()
            .values("grid_id")
            .annotate(n=Count("pk"))
            .order_by("-n")[:limit]
        )
        rows = list(qs)
        from zongzhi.orgs.models import Grid

        names = {
            pk: f"{village}·{name}"
            for pk, name, village in Grid.objects.filter(pk__in=[r["grid_id"] for r in rows]).values_list(
                "pk", "name", "village__name"
            )
        }
        return [
            {"key": str(r["grid_id"]), "label": names.get(r["grid_id"], "—"), "value": r["n"]} for r in rows
        ]

    return _cached("grids", scope, period, compute)  # type: ignore[no-any-return]


def recent(scope: Scope, limit: int = 12) -> list[dict[str, Any]]:
    """The latest registered cases in scope (for the big screen's ticker): no personal data."""
    rows = (
        _facts(scope)
        .select_related("case", "case__category", "case__region")
        .order_by("-created_at", "-case_id")[:limit]
    )
    labels = dict(CaseState.choices)
    return [
        {
            "number": f.case.number,
            "title": f.case.title,
            "category": f.case.category.name if f.case.category else "",
            "region": f.case.region.name,
            "state": str(labels.get(f.state, f.state)),
            "at": timezone.localtime(f.created_at).strftime("%m-%d %H:%M"),
            "overdue": f.is_overdue,
        }
        for f in rows
    ]


def overdue_by_department(scope: Scope, limit: int = 10) -> list[dict[str, Any]]:
    """Departments with the most open overdue cases now (all registration dates)."""
    return breakdown(scope, ALL_TIME, RollupDim.DEPARTMENT, "overdue", limit=limit)


def group_rows(rows: list[dict[str, Any]]) -> dict[str, list[Any]]:
    """Column-wise lists for charts: labels, values, keys."""
    out: dict[str, list[Any]] = defaultdict(list)
    for r in rows:
        out["labels"].append(r["label"])
        out["values"].append(r["value"])
        out["keys"].append(r["key"])
    return dict(out)


# --- whole pages -------------------------------------------------------------------------------------------


def month_period(today: date | None = None) -> Period:
    today = today or timezone.localdate()
    return Period(today.replace(day=1), today)


def slim(rows: list[dict[str, Any]], *names: str) -> list[dict[str, Any]]:
    """Breakdown rows keeping only the ``names`` measures (for pages and charts)."""
    return [{**r, "values": {n: r["values"][n] for n in names}} for r in rows]


def dashboard_data(scope: Scope, period: Period, bin_: str = "day") -> dict[str, Any]:
    """Everything the dashboard page draws, as plain data (JSON-ready)."""
    v = totals(scope, period)
    now_v = totals(scope, ALL_TIME)
    satisfaction = [
        {"key": n, "label": str(MEASURES[n].label), "value": v[n]}
        for n in ("satisfied", "basically_satisfied", "unsatisfied", "not_rated")
    ]
    return {
        "values": v,
        "rates": rates(v),
        "now": {"open": now_v["open"], "overdue": now_v["overdue"]},
        "trend": series(scope, period, ["reported", "resolved_flow", "overdue"], bin_),
        "funnel": funnel(v),
        "top_categories": slim(breakdown(scope, period, "top_category", limit=12), "resolved"),
        "categories": slim(breakdown(scope, period, RollupDim.CATEGORY, limit=10)),
        "channels": slim(breakdown(scope, period, RollupDim.CHANNEL)),
        "regions": slim(breakdown(scope, period, "region", limit=40), "resolved", "overdue"),
        "departments": slim(breakdown(scope, period, RollupDim.DEPARTMENT, limit=12), "resolved", "overdue"),
        "overdue_departments": slim(overdue_by_department(scope)),
        "supervised_departments": slim(
            breakdown(scope, period, RollupDim.DEPARTMENT, "supervised", limit=10)
        ),
        "satisfaction": satisfaction,
        "addresses": top_addresses(scope, period),
        "grids": top_grids(scope, period),
        "hotspots": hotspots(scope, period),
        "boundaries": boundaries(scope),
    }


def screen_data(scope: Scope, today: date | None = None) -> dict[str, Any]:
    """The big screen: today, this month, the last 30 days, now — from the rollups."""
    today = today or timezone.localdate()
    day = Period(today, today)
    month = month_period(today)
    last30 = Period.last_days(DEFAULT_DAYS, today)
    t, m, now_v = totals(scope, day), totals(scope, month), totals(scope, ALL_TIME)
    stamp = refreshed_at()
    return {
        "region": scope.region.name if scope.region else "",
        "refreshed_at": timezone.localtime(stamp).strftime("%H:%M:%S") if stamp else "",
        "today": {"reported": t["reported"], "resolved": t["resolved_flow"]},
        "month": {
            "reported": m["reported"],
            "resolved": m["resolved_flow"],
            "satisfaction": rates(m)["satisfaction"],
            "resolve_on_time": rates(m)["resolve_on_time"],
            "on_site": rates(m)["on_site"],
            "supervised": m["supervised"],
        },
        "now": {"open": now_v["open"], "overdue": now_v["overdue"]},
        "trend": series(scope, last30, ["reported", "resolved_flow"]),
        "categories": slim(breakdown(scope, month, "top_category", limit=8)),
        "regions": slim(breakdown(scope, month, "region", limit=12), "resolved"),
        "channels": slim(breakdown(scope, month, RollupDim.CHANNEL)),
        "funnel": funnel(m),
        "recent": recent(scope),
        "hotspots": hotspots(scope, last30),
        "boundaries": boundaries(scope),
    }


MAX_BOUNDARIES = 80


def boundaries(scope: Scope) -> dict[str, Any]:
    """Outlines to read the hotspot map by: the regions of the shallowest level below the scope's
    roots that has stored boundaries (at most ``MAX_BOUNDARIES``), simplified for the map."""

    def compute() -> dict[str, Any]:
        from zongzhi.geo.geojson import geometry_dict, load_geometry
        from zongzhi.geo.selectors import simplify_geometries, tolerance_for

        roots = list(scope.roots) or ([scope.within] if scope.within else [])
        qs = Region.objects.filter(subtree_q("path", roots)).exclude(boundary_geojson="")
        levels = sorted(set(qs.values_list("level", flat=True)), key=lambda lv: facts_mod.DEPTH.get(lv, 99))
        features: list[dict[str, Any]] = []
        for level in levels:
            rows = list(qs.filter(level=level).order_by("path")[: MAX_BOUNDARIES + 1])
            if len(rows) > MAX_BOUNDARIES:
                continue
            pairs = [(r, load_geometry(r.boundary_geojson)) for r in rows]
            pairs = [(r, g) for r, g in pairs if g is not None]
            geoms = simplify_geometries([g for _, g in pairs], tolerance_for([g for _, g in pairs]))  # type: ignore[misc]
            features = [
                {"type": "Feature", "properties": {"name": r.name}, "geometry": geometry_dict(g, digits=5)}
                for (r, _), g in zip(pairs, geoms, strict=True)
            ]
            break
        return {"type": "FeatureCollection", "features": features}

    return _cached("bounds", scope, ALL_TIME, compute, timeout=300)  # type: ignore[no-any-return]
