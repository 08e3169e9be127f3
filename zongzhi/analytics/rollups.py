"""Rollups of the facts: day × region × (category | channel | department), kept fresh incrementally.

The cube is stored as grouping sets in one table (``Rollup``): ``dim="total"`` cells per day and
township-grain region, and ``category`` / ``channel`` / ``department`` cells per day and county-grain
region (see ``facts.GRAINS`` and ``docs/analytics.md`` for why). ``RollupMonth`` holds the same
cells summed per calendar month, so a long period reads a dozen month cells per region and key
instead of hundreds of day cells. Every measure is defined once, in ``MEASURES``, as a filter on
``CaseFact``: the rollup sums it, the facts path counts it, and the drill-down lists the facts it
selects — so a number and the list behind it add up by construction.

Freshness: ``facts.facts_refresh`` marks the (grain, day, region) slices whose facts changed
(``RollupDirty``); ``rollups_refresh`` recomputes exactly those slices from the facts, then the
month cells of those regions from their day cells. ``rollups_rebuild`` recomputes everything.
``analytics_refresh`` runs both steps (the periodic task).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import BigIntegerField, CharField, Count, F, Max, Min, Q, Sum, Value
from django.db.models.functions import Cast, Coalesce, TruncMonth
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from zongzhi.cases.models import Rating, Urgency
from zongzhi.orgs.models import Region
from zongzhi.orgs.paths import ancestors_or_self

from . import facts as facts_mod
from .models import CaseFact, Rollup, RollupDim, RollupDirty, RollupMonth

PATH_END = "~"  # after every character a path holds (``orgs.paths``)
COHORT_DAY = "created_date"
FLOW_DAY = "resolved_date"


@dataclass(frozen=True)
class Measure:
    """A figure: the facts it counts (``q``), or sums (``field``), on their ``day_field`` date."""

    name: str
    label: Any
    q: Q
    field: str | None = None  # sum this column instead of counting rows
    day_field: str = COHORT_DAY
    definition: str = ""

    @property
    def is_sum(self) -> bool:
        return self.field is not None


_RATED = [Rating.SATISFIED, Rating.BASICALLY_SATISFIED, Rating.UNSATISFIED]

MEASURES: dict[str, Measure] = {
    m.name: m
    for m in [
        Measure("reported", _("登记"), Q(), definition="cases registered in the period"),
        Measure("declined", _("不予受理"), Q(declined_at__isnull=False), definition="declined or merged"),
        Measure("accepted", _("已受理"), Q(accepted_at__isnull=False)),
        Measure("dispatched", _("已派单"), Q(dispatched_at__isnull=False)),
        Measure("acknowledged", _("已签收"), Q(acknowledged_at__isnull=False)),
        Measure("resolved", _("已办结"), Q(resolved_at__isnull=False), definition="resolved at least once"),
        Measure("replied", _("已反馈"), Q(replied_at__isnull=False)),
        Measure("archived", _("已归档"), Q(archived_at__isnull=False)),
        Measure("open", _("未结"), Q(is_open=True), definition="state open at the last refresh"),
        Measure(
            "overdue",
            _("超期未结"),
            Q(is_overdue=True),
            definition="open, not waiting for a rating, current stage due time passed at the last refresh",
        ),
        Measure("urgent", _("紧急"), Q(urgency=Urgency.URGENT)),
        Measure("accept_closed", _("受理环节已结"), Q(accept_on_time__isnull=False)),
        Measure("accept_on_time", _("按时受理"), Q(accept_on_time=True)),
        Measure("dispatch_closed", _("分流环节已结"), Q(dispatch_on_time__isnull=False)),
        Measure("dispatch_on_time", _("按时分流"), Q(dispatch_on_time=True)),
        Measure("acknowledge_closed", _("签收环节已结"), Q(acknowledge_on_time__isnull=False)),
        Measure("acknowledge_on_time", _("按时签收"), Q(acknowledge_on_time=True)),
        Measure("resolve_closed", _("办理环节已结"), Q(resolve_on_time__isnull=False)),
        Measure("resolve_on_time", _("按期办结"), Q(resolve_on_time=True)),
        Measure("reply_closed", _("反馈环节已结"), Q(reply_on_time__isnull=False)),
        Measure("reply_on_time", _("按时反馈"), Q(reply_on_time=True)),
        Measure("returned", _("被退回案件"), Q(return_count__gt=0)),
        Measure("returns", _("退回次数"), Q(return_count__gt=0), field="return_count"),
        Measure("reopened", _("重办案件"), Q(reopen_count__gt=0)),
        Measure("reopens", _("重办次数"), Q(reopen_count__gt=0), field="reopen_count"),
        Measure("escalated", _("上报案件"), Q(escalation_count__gt=0)),
        Measure("extended", _("延期案件"), Q(extension_count__gt=0)),
        Measure("supervised", _("督办案件"), Q(supervision_count__gt=0)),
        Measure("supervisions", _("督办次数"), Q(supervision_count__gt=0), field="supervision_count"),
        Measure("listed", _("挂牌督办案件"), Q(listed_supervision_count__gt=0)),
        Measure("rated", _("已评价"), Q(rating__in=_RATED)),
        Measure("satisfied", _("满意"), Q(rating=Rating.SATISFIED)),
        Measure("basically_satisfied", _("基本满意"), Q(rating=Rating.BASICALLY_SATISFIED)),
        Measure("unsatisfied", _("不满意"), Q(rating=Rating.UNSATISFIED)),
        Measure("not_rated", _("归档未评价"), Q(archived_at__isnull=False, rating="")),
        Measure("resolved_on_site", _("自行处置"), Q(resolved_on_site=True)),
        Measure("disputes", _("矛盾纠纷"), Q(is_dispute=True)),
        Measure("disputes_resolved", _("纠纷已化解"), Q(is_dispute=True, resolved_at__isnull=False)),
        Measure("resolve_seconds", _("办结用时合计"), Q(resolved_at__isnull=False), field="resolve_seconds"),
        Measure(
            "resolved_flow",
            _("当日办结"),
            Q(resolved_at__isnull=False),
            day_field=FLOW_DAY,
            definition="cases first resolved in the period (by resolution date)",
        ),
    ]
}
COHORT = [m for m in MEASURES.values() if m.day_field == COHORT_DAY]
FLOW = [m for m in MEASURES.values() if m.day_field == FLOW_DAY]

# The dimension column of the facts behind each kind of cell.
DIM_FIELD: dict[str, str] = {
    RollupDim.CATEGORY: "category_id",
    RollupDim.CHANNEL: "channel",
    RollupDim.DEPARTMENT: "lead_department_id",
}
GRAIN_DIMS: dict[str, list[str]] = {
    "total": [RollupDim.TOTAL],
    "dim": [RollupDim.CATEGORY, RollupDim.CHANNEL, RollupDim.DEPARTMENT],
}
GRAIN_REGION_FIELD = {"total": "rollup_region_id", "dim": "rollup_county_id"}


def aggregates(measures: Iterable[Measure]) -> dict[str, Any]:
    """ORM aggregates of ``measures`` over facts (``Count`` with a filter, or ``Sum``)."""
    out: dict[str, Any] = {}
    for m in measures:
        if m.field:
            out[m.name] = Sum(m.field, filter=m.q or None)
        else:
            out[m.name] = Count("pk", filter=m.q or None)
    return out


def key_of(value: Any) -> str:
    return "" if value is None else str(value)


# --- computing cells -----------------------------------------------------------------------------------------


GRAIN_REGION_PATH = {"total": "rollup_region__path", "dim": "rollup_county__path"}


def _cells_sql(
    day_from: date, day_to: date, grain: str, dim: str, region_ids: list[int] | None
) -> tuple[str, list[Any]]:
    """One ``INSERT … SELECT`` writing the cells of ``dim`` (kept at ``grain``) for days in
    [day_from, day_to] (only ``region_ids``, when given), computed from the facts in the database:
    the cohort measures grouped by registration day and the flow measures by resolution day, merged
    per cell. The SELECTs are the ORM's own (``aggregates(MEASURES)``), so the definitions are the
    ones the facts path and the drill-down use."""
    region_field = GRAIN_REGION_FIELD[grain]
    key_field = DIM_FIELD.get(dim)
    key = Coalesce(Cast(key_field, CharField(max_length=32)), Value("")) if key_field else Value("")
    parts: list[tuple[str, tuple[Any, ...]]] = []
    for day_field, measures in ((COHORT_DAY, COHORT), (FLOW_DAY, FLOW)):
        qs = CaseFact.objects.filter(
            **{f"{day_field}__gte": day_from, f"{day_field}__lte": day_to, f"{region_field}__isnull": False}
        )
        if region_ids is not None:
            qs = qs.filter(**{f"{region_field}__in": region_ids})
        computed = aggregates(measures)
        # every measure, in the same order in both SELECTs (UNION ALL is positional)
        columns = {n: computed.get(n, Value(0, output_field=BigIntegerField())) for n in MEASURES}
        cells = (
            qs.order_by()
            .values(d=F(day_field), r=F(region_field), p=F(GRAIN_REGION_PATH[grain]), k=key)
            .annotate(**columns)
        )
        parts.append(cells.query.sql_with_params())
    names = list(MEASURES)
    sums = ", ".join(f"COALESCE(SUM(u.{connection.ops.quote_name(n)}), 0)" for n in names)
    target = ", ".join(
        connection.ops.quote_name(c)
        for c in ["dim", "tree", "day", "region_id", "region_path", "key", *names]
    )
    union = " UNION ALL ".join(part for part, _params in parts)
    # identifiers are quoted model names and the SELECTs the ORM's compiled SQL; every value is a parameter
    sql = (
        f"INSERT INTO {connection.ops.quote_name(Rollup._meta.db_table)} ({target}) "  # noqa: S608
        f"SELECT %s, %s, u.d, u.r, u.p, u.k, {sums} FROM ({union}) u GROUP BY u.d, u.r, u.p, u.k"
    )
    params: list[Any] = [str(dim), False]
    for _sql, part_params in parts:
        params.extend(part_params)
    return sql, params


def _write_cells(day_from: date, day_to: date, grain: str, region_ids: list[int] | None) -> int:
    written = 0
    with connection.cursor() as cursor:
        for dim in GRAIN_DIMS[grain]:
            sql, params = _cells_sql(day_from, day_to, grain, dim, region_ids)
            cursor.execute(sql, params)
            written += max(cursor.rowcount, 0)
    return written


def month_start(day: date) -> date:
    return day.replace(day=1)


def month_end(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


def above_grain(grain: str, paths: Iterable[str]) -> list[tuple[int, str]]:
    """(id, path) of the regions above the cells' ``grain`` among ``paths`` and their ancestors:
    the regions whose tree cells those grain cells count in."""
    wanted = {a for p in paths for a in ancestors_or_self(p)}
    limit = facts_mod.DEPTH[facts_mod.GRAINS[grain]]
    return sorted(
        (pk, path)
        for pk, path, level in Region.objects.filter(path__in=wanted).values_list("pk", "path", "level")
        if facts_mod.DEPTH.get(level, 99) < limit
    )


def all_above_grain(grain: str) -> list[tuple[int, str]]:
    limit = facts_mod.DEPTH[facts_mod.GRAINS[grain]]
    levels = [level for level, depth in facts_mod.DEPTH.items() if depth < limit]
    return sorted(Region.objects.filter(level__in=levels).values_list("pk", "path"))


_TREE_BATCH = 200  # regions per statement


def _write_tree(day_from: date, day_to: date, grain: str, regions: list[tuple[int, str]]) -> int:
    """Tree cells of ``grain``'s dimensions for days in [day_from, day_to] and ``regions`` (above
    the grain): each the sum of the grain cells in the region's subtree (a path range)."""
    if not regions:
        return 0
    q = connection.ops.quote_name
    names = list(MEASURES)
    dims = [str(d) for d in GRAIN_DIMS[grain]]
    target = ", ".join(q(c) for c in ["dim", "tree", "day", "region_id", "region_path", "key", *names])
    sums = ", ".join(f"SUM({q(n)})" for n in names)
    table = q(Rollup._meta.db_table)
    marks = ", ".join(["%s"] * len(dims))
    # identifiers are quoted model names; every value is a parameter
    one = (
        f"SELECT {q('dim')}, %s, {q('day')}, %s, %s, {q('key')}, {sums} FROM {table} "  # noqa: S608
        f"WHERE {q('dim')} IN ({marks}) AND {q('tree')} = %s AND {q('day')} >= %s AND {q('day')} <= %s "
        f"AND {q('region_path')} >= %s AND {q('region_path')} < %s "
        f"GROUP BY {q('dim')}, {q('day')}, {q('key')}"
    )
    written = 0
    with connection.cursor() as cursor:
        for i in range(0, len(regions), _TREE_BATCH):
            batch = regions[i : i + _TREE_BATCH]
            params: list[Any] = []
            for pk, path in batch:
                params += [True, pk, path, *dims, False, day_from, day_to, path, path + PATH_END]
            cursor.execute(
                f"INSERT INTO {table} ({target}) " + " UNION ALL ".join([one] * len(batch)),
                params,
            )
            written += max(cursor.rowcount, 0)
    return written


def _write_months(month_from: date, month_to: date, dims: list[str], region_paths: list[str] | None) -> int:
    """Sum the day cells of ``dims`` (grain and tree cells alike) into month cells for the months
    from ``month_from`` to ``month_to`` (only ``region_paths``, when given): one
    ``INSERT … SELECT … GROUP BY`` month."""
    qs = Rollup.objects.filter(dim__in=dims, day__gte=month_start(month_from), day__lte=month_end(month_to))
    if region_paths is not None:
        # both kinds named, so that the unique index's (dim, tree, region_path, day) serves
        qs = qs.filter(tree__in=[False, True], region_path__in=region_paths)
    inner = (
        qs.order_by()
        .values(
            d=F("dim"), t=F("tree"), m=TruncMonth("day"), r=F("region_id"), p=F("region_path"), k=F("key")
        )
        .annotate(**{f"s_{n}": Sum(n) for n in MEASURES})
    )
    sql, params = inner.query.sql_with_params()
    q = connection.ops.quote_name
    names = list(MEASURES)
    target = ", ".join(q(c) for c in ["dim", "tree", "month", "region_id", "region_path", "key", *names])
    picked = ", ".join(f"u.{q('s_' + n)}" for n in names)
    # identifiers are quoted model names and the SELECT the ORM's compiled SQL; values are parameters
    insert = (
        f"INSERT INTO {q(RollupMonth._meta.db_table)} ({target}) "  # noqa: S608
        f"SELECT u.{q('d')}, u.{q('t')}, u.{q('m')}, u.{q('r')}, u.{q('p')}, u.{q('k')}, {picked} FROM ({sql}) u"
    )
    with connection.cursor() as cursor:
        cursor.execute(insert, params)
        return max(cursor.rowcount, 0)


def recompute_months(grain: str, month: date, region_paths: list[str]) -> int:
    """Replace the month cells (grain and tree) of ``grain`` for ``month`` and the regions at
    ``region_paths`` with the sums of their day cells."""
    dims = [str(d) for d in GRAIN_DIMS[grain]]
    RollupMonth.objects.filter(dim__in=dims, month=month_start(month), region_path__in=region_paths).delete()
    return _write_months(month, month, dims, region_paths)


def recompute_slices(grain: str, day: date, region_paths: list[str], *, months: bool = True) -> int:
    """Replace the grain cells of ``grain`` on ``day`` for the regions at ``region_paths``, the tree
    cells of the regions above them, and (unless ``months`` is false) their month cells."""
    cache = facts_mod.RegionCache()
    cache.load_paths(region_paths)
    ids = [cache.by_path[p][0] for p in region_paths if p in cache.by_path]
    dims = GRAIN_DIMS[grain]
    Rollup.objects.filter(dim__in=dims, tree=False, day=day, region_path__in=region_paths).delete()
    written = _write_cells(day, day, grain, ids)
    above = above_grain(grain, region_paths)
    Rollup.objects.filter(dim__in=dims, tree=True, day=day, region_path__in=[p for _, p in above]).delete()
    written += _write_tree(day, day, grain, above)
    if months:
        recompute_months(grain, day, sorted(set(region_paths) | {p for _, p in above}))
    return written


def rollups_refresh(*, limit: int = 5000) -> int:
    """Recompute the slices marked dirty by the facts refresh (up to ``limit`` per call, oldest days
    first) with the tree cells above them, then the month cells they belong to; returns how many
    slices were recomputed. A slice marked again while it was being recomputed stays marked (its
    token changed) and is done again next time."""
    done = 0
    pending = list(
        RollupDirty.objects.order_by("day", "grain", "region_path").values_list(
            "pk", "grain", "day", "region_path", "token"
        )[:limit]
    )
    # one transaction per grain and month: its dirty days, then its month cells
    groups: dict[tuple[str, date], dict[date, list[tuple[int, str, str]]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for pk, grain, day, path, token in pending:
        groups[(grain, month_start(day))][day].append((pk, path, token))
    for (grain, month), days in groups.items():
        with transaction.atomic():
            paths: set[str] = set()
            for day, items in sorted(days.items()):
                day_paths = sorted({path for _, path, _ in items})
                recompute_slices(grain, day, day_paths, months=False)
                paths.update(day_paths)
            recompute_months(grain, month, sorted(paths | {p for _, p in above_grain(grain, paths)}))
            for items in days.values():
                for pk, _path, token in items:
                    RollupDirty.objects.filter(pk=pk, token=token).delete()
                done += len(items)
    return done


def rollups_rebuild(*, days_per_batch: int = 7, progress: Any = None) -> int:
    """Recompute every cell from the facts (in batches of days within a month, each in its own
    transaction: grain cells, tree cells, and the month cells with the month's last batch); cells
    of days without facts are dropped. Returns the number of day cells written."""
    bounds = CaseFact.objects.aggregate(
        lo=Min(COHORT_DAY), hi=Max(COHORT_DAY), rlo=Min(FLOW_DAY), rhi=Max(FLOW_DAY)
    )
    days = [d for d in (bounds["lo"], bounds["hi"], bounds["rlo"], bounds["rhi"]) if d is not None]
    RollupDirty.objects.all().delete()
    if not days:
        Rollup.objects.all().delete()
        RollupMonth.objects.all().delete()
        return 0
    lo, hi = min(days), max(days)
    above = {grain: all_above_grain(grain) for grain in GRAIN_DIMS}
    written = 0
    with transaction.atomic():
        Rollup.objects.filter(Q(day__lt=lo) | Q(day__gt=hi)).delete()
        RollupMonth.objects.filter(Q(month__lt=month_start(lo)) | Q(month__gt=hi)).delete()
    start = lo
    while start <= hi:
        last = min(month_end(start), hi)
        end = min(start + timedelta(days=days_per_batch - 1), last)
        with transaction.atomic():
            Rollup.objects.filter(day__gte=start, day__lte=end).delete()
            for grain in GRAIN_DIMS:
                written += _write_cells(start, end, grain, None)
                written += _write_tree(start, end, grain, above[grain])
            if end == last:
                RollupMonth.objects.filter(month=month_start(start)).delete()
                _write_months(start, start, list(RollupDim.values), None)
        if progress is not None:
            progress(end, written)
        start = end + timedelta(days=1)
    return written


# PostgreSQL advisory lock key of the refresh ("zzan" as an integer)
REFRESH_LOCK_KEY = 0x7A7A616E


def analytics_refresh(*, now: datetime | None = None) -> dict[str, int]:
    """The periodic step: facts after the watermark, then the rollup slices they touched.

    One refresh at a time: two refreshers recomputing the same slice would both delete its cells
    and insert them again, and under READ COMMITTED the second insert collides with the first's
    committed rows. On PostgreSQL a refresh that finds another one running skips (``skipped``: 1;
    the running one brings the figures up to date); on SQLite write transactions already take
    turns."""
    now = now or timezone.now()
    locked = connection.vendor == "postgresql"
    if locked:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [REFRESH_LOCK_KEY])
            if not cursor.fetchone()[0]:
                return {"facts": 0, "slices": 0, "skipped": 1}
    try:
        facts = facts_mod.facts_refresh(now=now)
        slices = 0
        while True:
            n = rollups_refresh()
            slices += n
            if n == 0 or not RollupDirty.objects.exists():
                break
        return {"facts": facts, "slices": slices, "skipped": 0}
    finally:
        if locked:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [REFRESH_LOCK_KEY])
