"""Early warning (研判预警): the rules' detectors, the idempotent scan, and the writes on alerts.

Every enabled ``AlertRule`` is evaluated by ``alerts_scan(now=...)`` (periodically, by
``alert_tasks``). A detector reads the live cases (``cases.Case``: alerts must fire on data that is
minutes old and need the blind phone index, the address and the coordinates, which the fact table
does not carry) and returns *candidates*: a subject (a reporter, an address, a category, a
department …), the cases behind it and the figures that made the rule fire. ``alert_raise`` turns
a candidate into an alert **once**:

* an alert of the same rule and subject that already holds all the candidate's cases → nothing;
* an open alert (new / acknowledged) of the same rule and subject sharing a case → the new cases
  are added to its evidence (the pattern is still going on: it is not raised again);
* otherwise (no alert, or only closed ones — handled or false alarm — and new cases came in) → a
  new alert, whose ``fingerprint`` (rule, subject, first new case) is unique in the database, so
  two scans racing each other cannot raise it twice.

So running the scan twice raises nothing twice.

The rules (parameters in ``PARAM_SPECS``; all windows end at ``now``):

``repeat_reporter`` / ``repeat_address`` (重复反映)
    the same reporter (blind phone index ``reporter_phone_index``) or the same address (exact text
    as registered, intake strips it) with at least ``count`` cases whose registration times lie
    within ``days`` days of each other (last − first ≤ days). Overlapping qualifying windows form
    one episode → one alert. Looks back 2 × ``days``.
``cluster`` (时空聚集, 群体性事件苗头)
    at least ``count`` cases of the same category (leaf, or the top-level category with
    ``category_level=parent``) all within ``radius_m`` metres (great-circle) of one of them and
    registered within ``hours`` hours (last − first ≤ hours). Neighbours are found by bucketing
    the points into square cells of the radius (only the 3 × 3 cells around a point are compared),
    not by comparing every pair. Overlapping clusters form one episode. Merged duplicates are not
    counted (they are the same event). Looks back ``lookback_hours``.
``dispute_risk`` (高风险纠纷久未化解)
    a dispute carrying escalation-risk flags (an uncleared 民转刑 flag or a high/major risk level
    on its ``disputes.Dispute`` record) still unresolved ``hours`` hours after registration; one
    alert per dispute (``dispute_risk_rows``).
``category_surge`` (类别突增)
    per region at ``region_level`` and category: the count of the last ``recent_days`` days
    compared with the daily mean of the ``baseline_days`` days before, times ``recent_days``
    (the expected count): fires when count ≥ ``min_count`` and count ≥ ``factor`` × expected.
``overdue_surge`` (部门超期激增)
    per department (lead department) in the rule's region: the cases whose handling deadline fell
    in the last ``recent_days`` days and that were not resolved by it, compared in the same way
    with the ``baseline_days`` days before.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Count, F, Q
from django.db.models.functions import Coalesce, Substr
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from zongzhi.cases.models import Case, CaseKind, CaseState, Category
from zongzhi.core.audit import audit_record
from zongzhi.core.errors import Conflict, FieldError, NotFound, PermissionDeniedError
from zongzhi.notifications.services import notify
from zongzhi.orgs.models import LEVEL_DEPTH, Department, Region, RegionLevel, User
from zongzhi.orgs.paths import subtree_q
from zongzhi.orgs.roles import Perm
from zongzhi.orgs.scoping import user_can, users_who_can, visible_to

from .alert_models import (
    OPEN_ALERT_STATUSES,
    Alert,
    AlertAction,
    AlertCase,
    AlertKind,
    AlertLevel,
    AlertRule,
    AlertStatus,
)

# --- parameters ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ParamSpec:
    label: str
    default: Any
    kind: type  # int, float or str
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()


_REGION_LEVELS = (RegionLevel.COUNTY.value, RegionLevel.TOWNSHIP.value, RegionLevel.VILLAGE.value)

PARAM_SPECS: dict[str, dict[str, ParamSpec]] = {
    AlertKind.REPEAT_REPORTER: {
        "count": ParamSpec("次数 N", 3, int, 2, 1000),
        "days": ParamSpec("天数 D", 7, int, 1, 365),
    },
    AlertKind.REPEAT_ADDRESS: {
        "count": ParamSpec("次数 N", 3, int, 2, 1000),
        "days": ParamSpec("天数 D", 7, int, 1, 365),
    },
    AlertKind.CLUSTER: {
        "count": ParamSpec("件数 K", 5, int, 2, 1000),
        "radius_m": ParamSpec("半径 R（米）", 500, float, 1, 50_000),
        "hours": ParamSpec("时间 H（小时）", 24, float, 0.1, 24 * 31),
        "lookback_hours": ParamSpec("回溯（小时）", 72, float, 1, 24 * 62),
        "category_level": ParamSpec("分类层级", "leaf", str, choices=("leaf", "parent")),
    },
    AlertKind.DISPUTE_RISK: {
        "hours": ParamSpec("未化解时长 T（小时）", 72, float, 1, 24 * 365),
    },
    AlertKind.CATEGORY_SURGE: {
        "recent_days": ParamSpec("近期天数", 7, int, 1, 90),
        "baseline_days": ParamSpec("基线天数", 28, int, 1, 365),
        "factor": ParamSpec("倍数", 2.0, float, 1, 100),
        "min_count": ParamSpec("最少件数", 5, int, 1, 100_000),
        "region_level": ParamSpec("统计层级", RegionLevel.TOWNSHIP.value, str, choices=_REGION_LEVELS),
        "category_level": ParamSpec("分类层级", "parent", str, choices=("leaf", "parent")),
    },
    AlertKind.OVERDUE_SURGE: {
        "recent_days": ParamSpec("近期天数", 1, int, 1, 90),
        "baseline_days": ParamSpec("基线天数", 14, int, 1, 365),
        "factor": ParamSpec("倍数", 2.0, float, 1, 100),
        "min_count": ParamSpec("最少件数", 3, int, 1, 100_000),
    },
}


def default_params(kind: str) -> dict[str, Any]:
    return {name: spec.default for name, spec in PARAM_SPECS[kind].items()}


def validate_params(kind: str, raw: dict[str, Any] | None) -> dict[str, Any]:
    """The rule's parameters, complete and typed (defaults for the missing ones). Pure.

    Raises ``FieldError`` naming ``params.<name>`` for an unknown name, a wrong type, a value out of
    range or not among the choices."""
    if kind not in PARAM_SPECS:
        raise FieldError("kind", _("未知的预警类型。"), code="invalid_choice")
    specs = PARAM_SPECS[kind]
    raw = dict(raw or {})
    unknown = sorted(set(raw) - set(specs))
    if unknown:
        raise FieldError(f"params.{unknown[0]}", _("该预警类型没有此参数。"), code="unknown")
    result: dict[str, Any] = {}
    for name, spec in specs.items():
        value = raw.get(name, spec.default)
        if value is None or value == "":
            value = spec.default
        try:
            if spec.kind is int:
                as_float = float(value)
                if not as_float.is_integer():
                    raise ValueError
                value = int(as_float)
            elif spec.kind is float:
                value = float(value)
                if not math.isfinite(value):
                    raise ValueError
            else:
                value = str(value)
        except (TypeError, ValueError):
            raise FieldError(
                f"params.{name}", _("“%(label)s”须为数字。") % {"label": spec.label}, code="invalid"
            ) from None
        if spec.choices and value not in spec.choices:
            raise FieldError(
                f"params.{name}", _("“%(label)s”取值无效。") % {"label": spec.label}, code="invalid_choice"
            )
        if spec.minimum is not None and value < spec.minimum:
            raise FieldError(
                f"params.{name}",
                _("“%(label)s”不能小于%(min)s。") % {"label": spec.label, "min": spec.minimum},
                code="out_of_range",
            )
        if spec.maximum is not None and value > spec.maximum:
            raise FieldError(
                f"params.{name}",
                _("“%(label)s”不能大于%(max)s。") % {"label": spec.label, "max": spec.maximum},
                code="out_of_range",
            )
        result[name] = value
    return result


# --- pure helpers ------------------------------------------------------------------------------------------

EARTH_RADIUS_M = 6_371_008.8


def haversine_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance in metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def time_episodes(items: Sequence[tuple[datetime, int]], count: int, span: timedelta) -> list[list[int]]:
    """Ids of the runs of ``items`` (time, id) where at least ``count`` items lie within ``span`` of
    each other (last − first ≤ span); qualifying windows that overlap are merged into one episode.
    Pure; O(n log n)."""
    ordered = sorted(items)
    episodes: list[tuple[int, int]] = []  # index ranges [start, end]
    j = 0
    for i in range(len(ordered)):
        while ordered[i][0] - ordered[j][0] > span:
            j += 1
        if i - j + 1 >= count:
            if episodes and j <= episodes[-1][1]:
                episodes[-1] = (episodes[-1][0], i)
            else:
                episodes.append((j, i))
    return [[ordered[k][1] for k in range(a, b + 1)] for a, b in episodes]


@dataclass(frozen=True)
class Point:
    id: int
    at: datetime
    lon: float
    lat: float


def space_time_clusters(
    points: Sequence[Point], count: int, radius_m: float, span: timedelta
) -> list[list[int]]:
    """Groups of at least ``count`` points that lie within ``radius_m`` of one of them (the centre)
    and within ``span`` of each other in time; overlapping groups are merged. Pure.

    Points are bucketed into square cells a little larger than the radius in a local equirectangular
    projection (the east–west scale taken at the latitude farthest from the equator, so projected
    distances never exceed true ones); a point is compared only with the points in the 3 × 3 cells
    around it: O(n · k) for k points per neighbourhood instead of O(n²)."""
    if not points:
        return []
    cos_min = math.cos(math.radians(max(abs(p.lat) for p in points)))
    metres_per_deg = math.pi * EARTH_RADIUS_M / 180
    cell = radius_m * 1.01 + 1.0

    def key(p: Point) -> tuple[int, int]:
        x = p.lon * metres_per_deg * cos_min
        y = p.lat * metres_per_deg
        return math.floor(x / cell), math.floor(y / cell)

    buckets: dict[tuple[int, int], list[Point]] = defaultdict(list)
    for p in points:
        buckets[key(p)].append(p)
    parent: dict[int, int] = {}

    def find(x: int) -> int:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(ids: Sequence[int]) -> None:
        root = find(ids[0])
        for other in ids[1:]:
            parent[find(other)] = root

    members: set[int] = set()
    for centre in points:
        cx, cy = key(centre)
        near = [
            q
            for dx in (-1, 0, 1)
            for dy in (-1, 0, 1)
            for q in buckets.get((cx + dx, cy + dy), ())
            if haversine_m(centre.lon, centre.lat, q.lon, q.lat) <= radius_m
        ]
        if len(near) < count:
            continue
        near.sort(key=lambda q: (q.at, q.id))
        ci = next(i for i, q in enumerate(near) if q.id == centre.id)
        a = 0
        for b in range(len(near)):
            while near[b].at - near[a].at > span:
                a += 1
            if a <= ci <= b and b - a + 1 >= count:
                window = [q.id for q in near[a : b + 1]]
                union(window)
                members.update(window)
    groups: dict[int, list[int]] = defaultdict(list)
    for m in members:
        groups[find(m)].append(m)
    return [sorted(g) for g in groups.values() if len(g) >= count]


def common_path(paths: Sequence[str]) -> str:
    """The deepest region path that is an ancestor-or-self of all ``paths``."""
    if not paths:
        return ""
    split = [[p for p in path.split("/") if p] for path in paths]
    common: list[str] = []
    for parts in zip(*split, strict=False):
        if all(x == parts[0] for x in parts):
            common.append(parts[0])
        else:
            break
    return "".join(f"{c}/" for c in common)


def surge_fires(
    recent: int, baseline: int, *, recent_days: int, baseline_days: int, factor: float, min_count: int
) -> tuple[bool, float]:
    """(fires, expected): expected = baseline / baseline_days × recent_days. Pure."""
    expected = baseline / baseline_days * recent_days if baseline_days else 0.0
    return recent >= min_count and recent >= factor * expected, expected


# --- candidates and detectors ----------------------------------------------------------------------------


@dataclass
class Candidate:
    subject_key: str
    case_ids: list[int]
    figures: dict[str, Any]
    owner_path: str
    title: str
    department_id: int | None = None


def _rule_cases(rule: AlertRule) -> Any:
    return Case.objects.filter(subtree_q("region_path", [rule.region_path]))


def _owner_of(case_rows: Sequence[dict[str, Any]], rule: AlertRule) -> str:
    return common_path([r["region_path"] for r in case_rows]) or rule.region_path


def detect_repeat(rule: AlertRule, now: datetime) -> list[Candidate]:
    p = rule.params
    by_phone = rule.kind == AlertKind.REPEAT_REPORTER
    column = "reporter_phone_index" if by_phone else "address"
    span = timedelta(days=p["days"])
    base = (
        _rule_cases(rule).filter(created_at__gt=now - 2 * span, created_at__lte=now).exclude(**{column: ""})
    )
    keys = list(
        base.values(column).annotate(n=Count("id")).filter(n__gte=p["count"]).values_list(column, flat=True)
    )
    result: list[Candidate] = []
    for value in keys:
        rows = list(base.filter(**{column: value}).values("id", "created_at", "region_path"))
        by_id = {r["id"]: r for r in rows}
        for ids in time_episodes([(r["created_at"], r["id"]) for r in rows], p["count"], span):
            picked = [by_id[i] for i in ids]
            times = [r["created_at"] for r in picked]
            figures = {
                "count": len(ids),
                "days": p["days"],
                "first_at": min(times).isoformat(),
                "last_at": max(times).isoformat(),
            }
            if by_phone:
                title = _("同一反映人%(days)s天内反映%(count)s次") % {"days": p["days"], "count": len(ids)}
                subject = f"phone:{value}"
            else:
                figures["address"] = value
                title = _("同一地址%(days)s天内反映%(count)s次：%(address)s") % {
                    "days": p["days"],
                    "count": len(ids),
                    "address": value[:60],
                }
                subject = f"address:{value}"[:120]
            result.append(
                Candidate(
                    subject_key=subject,
                    case_ids=sorted(ids),
                    figures=figures,
                    owner_path=_owner_of(picked, rule),
                    title=title,
                )
            )
    return result


def detect_cluster(rule: AlertRule, now: datetime) -> list[Candidate]:
    p = rule.params
    span = timedelta(hours=p["hours"])
    lookback = timedelta(hours=max(p["lookback_hours"], p["hours"]))
    category_expr = (
        Coalesce("category__parent_id", "category_id")
        if p["category_level"] == "parent"
        else F("category_id")
    )
    rows = list(
        _rule_cases(rule)
        .filter(
            created_at__gt=now - lookback,
            created_at__lte=now,
            lon__isnull=False,
            lat__isnull=False,
            category__isnull=False,
            master__isnull=True,
        )
        .annotate(cat=category_expr)
        .values("id", "created_at", "lon", "lat", "cat", "region_path")
    )
    by_cat: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by_cat[r["cat"]].append(r)
    names = dict(Category.objects.filter(pk__in=list(by_cat)).values_list("pk", "name"))
    result: list[Candidate] = []
    for cat, cat_rows in sorted(by_cat.items()):
        if len(cat_rows) < p["count"]:
            continue
        by_id = {r["id"]: r for r in cat_rows}
        points = [Point(r["id"], r["created_at"], r["lon"], r["lat"]) for r in cat_rows]
        for ids in space_time_clusters(points, p["count"], p["radius_m"], span):
            picked = [by_id[i] for i in ids]
            times = [r["created_at"] for r in picked]
            figures = {
                "count": len(ids),
                "radius_m": p["radius_m"],
                "hours": p["hours"],
                "category_id": cat,
                "category": names.get(cat, ""),
                "centre_lon": round(sum(r["lon"] for r in picked) / len(picked), 6),
                "centre_lat": round(sum(r["lat"] for r in picked) / len(picked), 6),
                "first_at": min(times).isoformat(),
                "last_at": max(times).isoformat(),
            }
            title = _("%(category)s：%(count)s起事件在%(radius)s米、%(hours)s小时内聚集") % {
                "category": names.get(cat, ""),
                "count": len(ids),
                "radius": _num(p["radius_m"]),
                "hours": _num(p["hours"]),
            }
            result.append(
                Candidate(
                    subject_key=f"category:{cat}",
                    case_ids=sorted(ids),
                    figures=figures,
                    owner_path=_owner_of(picked, rule),
                    title=title,
                )
            )
    return result


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


UNRESOLVED_STATES = (CaseState.REPORTED, CaseState.ACCEPTED, CaseState.DISPATCHED, CaseState.HANDLING)


def dispute_risk_rows(rule: AlertRule, registered_before: datetime) -> list[dict[str, Any]]:
    """The disputes with escalation-risk (民转刑) flags that are still unresolved, registered before
    ``registered_before``, in the rule's region: dicts with ``id`` (the case), ``owner_path``,
    ``number`` and ``flags`` (labels of what makes it risky).

    Unresolved = the case is in a state before 办结 (reported, accepted, dispatched, handling) and
    the dispute record has no outcome yet (not resolved, transferred or withdrawn).

    Risky = from the dispute record (``disputes.Dispute``): an uncleared ``DisputeFlag`` or a
    risk level of high (高) or major (重大). A case of kind ``dispute`` registered without a
    dispute record (plain intake) is judged by the case itself: urgent (紧急) or escalated (上报)
    at least once."""
    from zongzhi.disputes.models import Dispute, DisputeFlag, RiskLevel

    base = _rule_cases(rule).filter(
        kind=CaseKind.DISPUTE, state__in=UNRESOLVED_STATES, created_at__lte=registered_before
    )
    high = (RiskLevel.HIGH, RiskLevel.MAJOR)
    flagged_ids = DisputeFlag.objects.filter(cleared_at__isnull=True).values("dispute_id")
    records = {
        d.case_id: d
        for d in Dispute.objects.filter(case__in=base.values("pk"), outcome="")
        .filter(Q(pk__in=flagged_ids) | Q(risk_level__in=high))
        .select_related("case")
    }
    flags: dict[int, list[str]] = defaultdict(list)
    for dispute_id, name in DisputeFlag.objects.filter(
        dispute_id__in=[d.pk for d in records.values()], cleared_at__isnull=True
    ).values_list("dispute_id", "flag_type__name"):
        flags[dispute_id].append(name)
    rows: list[dict[str, Any]] = []
    for d in records.values():
        labels = list(flags[d.pk])
        if d.risk_level in high:
            labels.insert(0, _("风险等级：%(level)s") % {"level": RiskLevel(d.risk_level).label})
        rows.append(
            {"id": d.case_id, "owner_path": d.case.owner_path, "number": d.case.number, "flags": labels}
        )
    plain = (
        base.filter(Q(urgency="urgent") | Q(escalation_count__gt=0))
        .exclude(pk__in=Dispute.objects.values("case_id"))
        .values("id", "owner_path", "number", "urgency", "escalation_count")
    )
    for r in plain:
        labels = []
        if r["urgency"] == "urgent":
            labels.append(_("紧急"))
        if r["escalation_count"]:
            labels.append(_("已上报%(n)s次") % {"n": r["escalation_count"]})
        rows.append({"id": r["id"], "owner_path": r["owner_path"], "number": r["number"], "flags": labels})
    return sorted(rows, key=lambda r: r["id"])


def detect_dispute_risk(rule: AlertRule, now: datetime) -> list[Candidate]:
    hours = rule.params["hours"]
    result = []
    for r in dispute_risk_rows(rule, now - timedelta(hours=hours)):
        result.append(
            Candidate(
                subject_key=f"case:{r['id']}",
                case_ids=[r["id"]],
                figures={"hours": hours, "number": r["number"], "flags": [str(f) for f in r["flags"]]},
                owner_path=r["owner_path"],
                title=_("高风险纠纷%(number)s超过%(hours)s小时未化解")
                % {"number": r["number"], "hours": _num(hours)},
            )
        )
    return result


def _segments_at(rule: AlertRule, level: str) -> int:
    """The length of the region paths at ``level`` below the rule's region (its own, if the level is
    not below it)."""
    seg = len(rule.region_path.split("/")) - 1
    depth = LEVEL_DEPTH.get(rule.region.level, 0)  # type: ignore[call-overload]
    extra = max(0, LEVEL_DEPTH[level] - depth)  # type: ignore[index]
    return (seg + extra) * 13


def detect_category_surge(rule: AlertRule, now: datetime) -> list[Candidate]:
    p = rule.params
    recent_from = now - timedelta(days=p["recent_days"])
    base_from = recent_from - timedelta(days=p["baseline_days"])
    length = _segments_at(rule, p["region_level"])
    category_expr = (
        Coalesce("category__parent_id", "category_id")
        if p["category_level"] == "parent"
        else F("category_id")
    )
    qs = _rule_cases(rule).filter(
        created_at__gt=base_from, created_at__lte=now, category__isnull=False, master__isnull=True
    )
    recent_q = Q(created_at__gt=recent_from)
    groups = (
        qs.annotate(area=Substr("region_path", 1, length), cat=category_expr)
        .values("area", "cat")
        .annotate(recent=Count("id", filter=recent_q), baseline=Count("id", filter=~recent_q))
        .filter(recent__gte=p["min_count"])
    )
    result: list[Candidate] = []
    for g in groups:
        fires, expected = surge_fires(
            g["recent"],
            g["baseline"],
            recent_days=p["recent_days"],
            baseline_days=p["baseline_days"],
            factor=p["factor"],
            min_count=p["min_count"],
        )
        if not fires:
            continue
        area = Region.objects.filter(path=g["area"]).only("name", "path").first()
        category = Category.objects.filter(pk=g["cat"]).only("name").first()
        cat_q = (
            Q(category_id=g["cat"]) | Q(category__parent_id=g["cat"])
            if p["category_level"] == "parent"
            else Q(category_id=g["cat"])
        )
        ids = sorted(
            qs.filter(recent_q, cat_q, subtree_q("region_path", [g["area"]])).values_list("id", flat=True)
        )
        ratio = round(g["recent"] / expected, 2) if expected else None
        figures = {
            "recent": g["recent"],
            "recent_days": p["recent_days"],
            "baseline": g["baseline"],
            "baseline_days": p["baseline_days"],
            "expected": round(expected, 2),
            "ratio": ratio,
            "factor": p["factor"],
            "category_id": g["cat"],
            "category": category.name if category else "",
            "region": area.name if area else "",
        }
        title = _("%(region)s%(category)s近%(days)s天%(count)s件，基线期望%(expected)s件") % {
            "region": figures["region"],
            "category": figures["category"],
            "days": p["recent_days"],
            "count": g["recent"],
            "expected": _num(round(expected, 1)),
        }
        result.append(
            Candidate(
                subject_key=f"area:{g['area']}:category:{g['cat']}",
                case_ids=ids,
                figures=figures,
                owner_path=g["area"] if area else rule.region_path,
                title=title,
            )
        )
    return result


def detect_overdue_surge(rule: AlertRule, now: datetime) -> list[Candidate]:
    p = rule.params
    recent_from = now - timedelta(days=p["recent_days"])
    base_from = recent_from - timedelta(days=p["baseline_days"])
    late = Q(resolved_at__isnull=True) | Q(resolved_at__gt=F("handle_due_at"))
    qs = Case.objects.filter(
        subtree_q("lead_department__region_path", [rule.region_path]),
        handle_due_at__gt=base_from,
        handle_due_at__lte=now,
    ).filter(late)
    recent_q = Q(handle_due_at__gt=recent_from)
    groups = (
        qs.values("lead_department_id")
        .annotate(recent=Count("id", filter=recent_q), baseline=Count("id", filter=~recent_q))
        .filter(recent__gte=p["min_count"])
    )
    result: list[Candidate] = []
    for g in groups:
        fires, expected = surge_fires(
            g["recent"],
            g["baseline"],
            recent_days=p["recent_days"],
            baseline_days=p["baseline_days"],
            factor=p["factor"],
            min_count=p["min_count"],
        )
        if not fires:
            continue
        department = Department.objects.get(pk=g["lead_department_id"])
        ids = sorted(qs.filter(recent_q, lead_department_id=department.pk).values_list("id", flat=True))
        figures = {
            "recent": g["recent"],
            "recent_days": p["recent_days"],
            "baseline": g["baseline"],
            "baseline_days": p["baseline_days"],
            "expected": round(expected, 2),
            "ratio": round(g["recent"] / expected, 2) if expected else None,
            "factor": p["factor"],
            "department": department.name,
        }
        result.append(
            Candidate(
                subject_key=f"department:{department.pk}",
                case_ids=ids,
                figures=figures,
                owner_path=department.region_path,
                department_id=department.pk,
                title=_("%(department)s近%(days)s天超期%(count)s件，基线期望%(expected)s件")
                % {
                    "department": department.name,
                    "days": p["recent_days"],
                    "count": g["recent"],
                    "expected": _num(round(expected, 1)),
                },
            )
        )
    return result


DETECTORS: dict[str, Callable[[AlertRule, datetime], list[Candidate]]] = {
    AlertKind.REPEAT_REPORTER: detect_repeat,
    AlertKind.REPEAT_ADDRESS: detect_repeat,
    AlertKind.CLUSTER: detect_cluster,
    AlertKind.DISPUTE_RISK: detect_dispute_risk,
    AlertKind.CATEGORY_SURGE: detect_category_surge,
    AlertKind.OVERDUE_SURGE: detect_overdue_surge,
}


# --- raising (idempotent) ----------------------------------------------------------------------------------


def _evidence(figures: dict[str, Any], case_ids: Iterable[int]) -> dict[str, Any]:
    return {"figures": figures, "case_ids": sorted(case_ids)}


def alert_raise(*, rule: AlertRule, candidate: Candidate, now: datetime) -> tuple[Alert | None, str]:
    """Raise ``candidate`` once. Returns (alert, outcome) with outcome ``"raised"`` (a new alert),
    ``"updated"`` (new cases added to an open alert of the same pattern) or ``"seen"`` (nothing
    new). See the module docstring for the rule; the unique ``fingerprint`` settles races."""
    wanted = set(candidate.case_ids)
    if not wanted:
        return None, "seen"
    with transaction.atomic():
        related_ids = set(
            AlertCase.objects.filter(
                alert__rule=rule, alert__subject_key=candidate.subject_key, case_id__in=wanted
            ).values_list("alert_id", flat=True)
        )
        related = list(Alert.objects.select_for_update().filter(pk__in=related_ids).order_by("id"))
        held: set[int] = set()
        linked: dict[int, set[int]] = {}
        for alert in related:
            linked[alert.pk] = set(AlertCase.objects.filter(alert=alert).values_list("case_id", flat=True))
            held |= linked[alert.pk]
            if wanted <= linked[alert.pk]:
                return alert, "seen"
        open_alert = next((a for a in related if a.status in OPEN_ALERT_STATUSES), None)
        if open_alert is not None:
            new_ids = sorted(wanted - linked[open_alert.pk])
            AlertCase.objects.bulk_create([AlertCase(alert=open_alert, case_id=i) for i in new_ids])
            all_ids = linked[open_alert.pk] | set(new_ids)
            open_alert.evidence = _evidence(candidate.figures, all_ids)
            open_alert.case_count = len(all_ids)
            open_alert.updated_at = now
            open_alert.save(update_fields=["evidence", "case_count", "updated_at"])
            return open_alert, "updated"
        fresh = sorted(wanted - held)
        fingerprint = f"{rule.pk}:{candidate.subject_key}:{fresh[0]}"[:200]
        if Alert.objects.filter(fingerprint=fingerprint).exists():
            return None, "seen"
        owner = Region.objects.get(path=candidate.owner_path)
        try:
            with transaction.atomic():
                alert = Alert.objects.create(
                    rule=rule,
                    kind=rule.kind,
                    level=rule.level,
                    title=candidate.title[:200],
                    subject_key=candidate.subject_key[:120],
                    fingerprint=fingerprint,
                    owner_region=owner,
                    region_path=owner.path,
                    department_id=candidate.department_id,
                    evidence=_evidence(candidate.figures, candidate.case_ids),
                    case_count=len(wanted),
                    raised_at=now,
                    updated_at=now,
                )
                AlertCase.objects.bulk_create([AlertCase(alert=alert, case_id=i) for i in sorted(wanted)])
        except IntegrityError:  # another scan raised it first
            return None, "seen"
        alert_id, title, path = alert.pk, alert.title, owner.path
        transaction.on_commit(lambda: _notify_raised(alert_id, title, path), robust=True)
    return alert, "raised"


def _notify_raised(alert_id: int, title: str, owner_path: str) -> None:
    recipients = list(users_who_can(Perm.ALERT_HANDLE, owner_path).values_list("pk", flat=True))
    if recipients:
        notify(
            recipients=recipients,
            kind="alert",
            title=_("预警：%(title)s") % {"title": title},
            link=reverse("alert-detail", args=[alert_id]),
        )


@dataclass
class ScanReport:
    rules: int = 0
    candidates: int = 0
    raised: int = 0
    updated: int = 0
    by_rule: dict[int, dict[str, int]] = field(default_factory=dict)


def alerts_scan(*, now: datetime | None = None, rule_ids: Sequence[int] | None = None) -> ScanReport:
    """Run every enabled rule (or those in ``rule_ids``) as of ``now`` and raise what they find.
    Idempotent: a pattern already raised is not raised again (``alert_raise``)."""
    now = now or timezone.now()
    report = ScanReport()
    rules = AlertRule.objects.filter(enabled=True).select_related("region").order_by("id")
    if rule_ids is not None:
        rules = rules.filter(pk__in=list(rule_ids))
    for rule in rules:
        rule.params = validate_params(rule.kind, rule.params)
        counts = {"candidates": 0, "raised": 0, "updated": 0}
        for candidate in DETECTORS[rule.kind](rule, now):
            counts["candidates"] += 1
            _, outcome = alert_raise(rule=rule, candidate=candidate, now=now)
            if outcome in counts:
                counts[outcome] += 1
        AlertRule.objects.filter(pk=rule.pk).update(last_scan_at=now)
        report.rules += 1
        report.candidates += counts["candidates"]
        report.raised += counts["raised"]
        report.updated += counts["updated"]
        report.by_rule[rule.pk] = counts
    return report


# --- disposition ---------------------------------------------------------------------------------------------

# action → (allowed from, target, note required)
DISPOSITIONS: dict[str, tuple[tuple[str, ...], str, bool]] = {
    "acknowledge": ((AlertStatus.NEW,), AlertStatus.ACKNOWLEDGED, False),
    "handle": ((AlertStatus.NEW, AlertStatus.ACKNOWLEDGED), AlertStatus.HANDLED, True),
    "false_alarm": ((AlertStatus.NEW, AlertStatus.ACKNOWLEDGED), AlertStatus.FALSE_ALARM, True),
}
DISPOSITION_LABELS = {"acknowledge": "确认", "handle": "处置完毕", "false_alarm": "标记误报"}


def alert_actions_for(user: Any, alert: Alert) -> list[str]:
    if not user_can(user, Perm.ALERT_HANDLE, alert.region_path):
        return []
    return [a for a, (sources, _t, _n) in DISPOSITIONS.items() if alert.status in sources]


def alert_dispose(
    *, actor: User, alert_id: int, action: str, note: str = "", now: datetime | None = None
) -> Alert:
    """Acknowledge (确认), handle (处置完毕) or mark as a false alarm (误报) — on record with who, when
    and the note (required to close). The alert must be visible to ``actor`` (else ``NotFound``);
    the move must be allowed from the current status (else ``Conflict``); ``alert.handle`` is
    needed at the alert's owner region. Writes the ``AlertAction`` row and an audit row in the same
    transaction."""
    if action not in DISPOSITIONS:
        raise FieldError("action", _("未知的处置动作。"), code="invalid_choice")
    sources, target, note_required = DISPOSITIONS[action]
    note = (note or "").strip()
    if len(note) > 2000:
        raise FieldError("note", _("说明不能超过2000个字。"), code="too_long")
    now = now or timezone.now()
    with transaction.atomic():
        alert = visible_to(actor, Alert.objects.select_for_update()).filter(pk=alert_id).first()
        if alert is None:
            raise NotFound(_("预警不存在。"))
        if not user_can(actor, Perm.ALERT_HANDLE, alert.region_path):
            raise PermissionDeniedError(_("无权处置此预警。"), code="forbidden")
        if alert.status not in sources:
            raise Conflict(
                _("当前状态（%(status)s）不能执行此操作。") % {"status": AlertStatus(alert.status).label},
                code="illegal_transition",
                current_state=alert.status,
            )
        if note_required and not note:
            raise FieldError("note", _("请填写处置说明。"), code="required")
        from_status = alert.status
        alert.status = target
        alert.disposed_at = now
        alert.disposed_by = actor
        if note:
            alert.disposition_note = note
        alert.updated_at = now
        alert.save(update_fields=["status", "disposed_at", "disposed_by", "disposition_note", "updated_at"])
        AlertAction.objects.create(
            alert=alert,
            action=action,
            from_status=from_status,
            to_status=target,
            actor=actor,
            actor_label=str(actor)[:120],
            at=now,
            note=note,
            region_path=alert.region_path,
        )
        audit_record(
            actor=actor, action=f"alert.{action}", obj=alert, data={"from": from_status, "to": target}
        )
    return alert


# --- rules -----------------------------------------------------------------------------------------------


def _clean_rule_fields(name: str, kind: str, level: str, note: str) -> tuple[str, str]:
    name = (name or "").strip()
    if not name:
        raise FieldError("name", _("请填写规则名称。"), code="required")
    if len(name) > 100:
        raise FieldError("name", _("名称不能超过100个字。"), code="too_long")
    if kind not in AlertKind.values:
        raise FieldError("kind", _("未知的预警类型。"), code="invalid_choice")
    if level not in AlertLevel.values:
        raise FieldError("level", _("未知的预警等级。"), code="invalid_choice")
    note = (note or "").strip()
    if len(note) > 300:
        raise FieldError("note", _("说明不能超过300个字。"), code="too_long")
    return name, note


def alert_rule_create(
    *,
    actor: User | None,
    region: Region,
    kind: str,
    name: str,
    level: str = AlertLevel.YELLOW,
    params: dict[str, Any] | None = None,
    enabled: bool = True,
    note: str = "",
    now: datetime | None = None,
) -> AlertRule:
    """Configure a rule watching ``region`` and below. ``actor=None`` is the system (seeding, tests);
    a user needs ``alert.manage`` at ``region``. Parameters are validated for the kind."""
    if actor is not None and not user_can(actor, Perm.ALERT_MANAGE, region):
        raise FieldError("region", _("所选区域不在您的管辖范围内。"), code="out_of_scope")
    name, note = _clean_rule_fields(name, kind, level, note)
    clean = validate_params(kind, params)
    now = now or timezone.now()
    with transaction.atomic():
        rule = AlertRule.objects.create(
            name=name,
            kind=kind,
            level=level,
            params=clean,
            enabled=enabled,
            region=region,
            region_path=region.path,
            note=note,
            created_by=actor,
            created_at=now,
            updated_at=now,
        )
        audit_record(actor=actor or "system", action="alert_rule.create", obj=rule, data={"params": clean})
    return rule


def alert_rule_update(
    *,
    actor: User,
    rule_id: int,
    name: str | None = None,
    level: str | None = None,
    params: dict[str, Any] | None = None,
    enabled: bool | None = None,
    note: str | None = None,
    now: datetime | None = None,
) -> AlertRule:
    """Change a rule's name, level, parameters, note or switch it on/off (the kind and region stay:
    configure another rule for another pattern). Needs ``alert.manage`` at the rule's region."""
    with transaction.atomic():
        rule = visible_to(actor, AlertRule.objects.select_for_update()).filter(pk=rule_id).first()
        if rule is None:
            raise NotFound(_("预警规则不存在。"))
        if not user_can(actor, Perm.ALERT_MANAGE, rule.region_path):
            raise PermissionDeniedError(_("无权修改此预警规则。"), code="forbidden")
        new_name, new_note = _clean_rule_fields(
            rule.name if name is None else name,
            rule.kind,
            rule.level if level is None else level,
            rule.note if note is None else note,
        )
        rule.name, rule.note = new_name, new_note
        if level is not None:
            rule.level = level
        if params is not None:
            rule.params = validate_params(rule.kind, params)
        if enabled is not None:
            rule.enabled = enabled
        rule.updated_at = now or timezone.now()
        rule.save()
        audit_record(
            actor=actor,
            action="alert_rule.update",
            obj=rule,
            data={"params": rule.params, "enabled": rule.enabled, "level": rule.level},
        )
    return rule
