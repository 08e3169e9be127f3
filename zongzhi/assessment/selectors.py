"""Reads of the assessment: plans in scope, subjects, KPI figures per subject, scorecards with
ranks, drill-down to the rows behind a figure, bulletins.

The figures come from ``analytics.CaseFact`` (cases), ``cases.Supervision`` (supervision notices),
``orgs.Grid`` (report coverage) and the ``people`` visit schedules, filtered by the definitions in
``formulas`` — the figure is ``COUNT(*)`` of exactly the rows the drill-down lists.

Scoping: a plan is reached through ``scoping`` (``assessment.view`` at the plan's region, which
covers the plan's whole subtree). Its population is every row located in the plan's region
subtree, whoever owns it now: the plan, not the viewer, decides what is assessed, and whoever may
see the plan may see its figures. Drill-down rows link to the case pages, which apply the case
scoping again.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db.models import BooleanField, Count, ExpressionWrapper, F, Q, QuerySet
from django.db.models.functions import Substr

from zongzhi.analytics.models import CaseFact
from zongzhi.cases.models import Case, Supervision
from zongzhi.orgs.models import Department, Grid, GridMembership, Region, User
from zongzhi.orgs.paths import subtree_q
from zongzhi.orgs.roles import Perm
from zongzhi.orgs.scoping import get_visible_or_404, user_can, visible_to

from . import formulas
from .formulas import INDICATORS, Ctx, Indicator, Period, Value
from .models import AssessmentPlan, Bulletin, BulletinStatus, PlanIndicator, SubjectKind

# --- plans ---------------------------------------------------------------------------------------------------


def plan_list(user: Any) -> QuerySet[AssessmentPlan]:
    return visible_to(user, AssessmentPlan).select_related("region").order_by("region_path", "name")


def plan_get(user: Any, plan_id: int) -> AssessmentPlan:
    plan: AssessmentPlan = get_visible_or_404(
        user, AssessmentPlan.objects.select_related("region"), pk=plan_id
    )
    return plan


def plan_indicators(plan: AssessmentPlan) -> list[PlanIndicator]:
    return [pi for pi in plan.indicators.order_by("sort_order", "id") if pi.code in INDICATORS]


def can_manage(user: Any, plan_or_region: Any) -> bool:
    return user_can(user, Perm.ASSESSMENT_MANAGE, plan_or_region)


# --- subjects ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Subject:
    key: str  # "r:<path>", "d:<id>", "g:<id>", "u:<id>"
    kind: str
    id: int
    name: str
    path: str = ""  # the region path (regions), or the subject's own region path


def subjects_of(plan: AssessmentPlan) -> list[Subject]:
    """Whom the plan assesses: the direct sub-regions of its region, or the active departments,
    active grids or grid workers (members of those grids) in its subtree."""
    roots = [plan.region_path]
    if plan.subject_kind == SubjectKind.REGION:
        return [
            Subject(f"r:{r.path}", "region", r.pk, r.name, r.path)
            for r in Region.objects.filter(parent_id=plan.region_id).order_by("path")
        ]
    if plan.subject_kind == SubjectKind.DEPARTMENT:
        return [
            Subject(f"d:{d.pk}", "department", d.pk, d.name, d.region_path)
            for d in Department.objects.filter(subtree_q("region_path", roots), is_active=True).order_by(
                "region_path", "name"
            )
        ]
    if plan.subject_kind == SubjectKind.GRID:
        return [
            Subject(f"g:{g.pk}", "grid", g.pk, g.name, g.region_path)
            for g in Grid.objects.filter(subtree_q("region_path", roots), is_active=True).order_by("code")
        ]
    user_ids = (
        GridMembership.objects.filter(subtree_q("region_path", roots), grid__is_active=True)
        .values_list("user_id", flat=True)
        .distinct()
    )
    return [
        Subject(f"u:{u.pk}", "grid_worker", u.pk, str(u), "")
        for u in User.objects.filter(pk__in=list(user_ids)).order_by("username")
    ]


def subject_get(plan: AssessmentPlan, key: str) -> Subject | None:
    return next((s for s in subjects_of(plan) if s.key == key), None)


# --- figures ---------------------------------------------------------------------------------------------------


def _child_length(plan: AssessmentPlan) -> int:
    return len(plan.region_path) + 13  # one more "<12 digits>/" segment


def _source_rows(indicator: Indicator, plan: AssessmentPlan, period: Period) -> QuerySet[Any]:
    """The rows of the indicator's source in the plan's population and the period's cohort."""
    roots = [plan.region_path]
    if indicator.source == "facts":
        qs: QuerySet[Any] = CaseFact.objects.filter(subtree_q("region_path", roots))
        if indicator.cohort == "created":
            return qs.filter(created_date__gte=period.start, created_date__lte=period.end)
        if indicator.cohort == "handle_due":
            return qs.filter(handle_due_at__gte=period.start_at, handle_due_at__lt=period.end_at)
    if indicator.source == "disputes":
        from zongzhi.disputes.models import Dispute

        qs = Dispute.objects.filter(subtree_q("region_path", roots)).exclude(case__state="declined")
        if indicator.cohort == "dispute_created":
            return qs.filter(case__created_at__gte=period.start_at, case__created_at__lt=period.end_at)
    if indicator.source == "supervisions":
        qs = Supervision.objects.filter(subtree_q("region_path", roots))
        if indicator.cohort == "supervision_created":
            return qs.filter(created_at__gte=period.start_at, created_at__lt=period.end_at)
        if indicator.cohort == "supervision_due":
            return qs.filter(reply_due_at__gte=period.start_at, reply_due_at__lt=period.end_at)
    raise ValueError(f"no row source for {indicator.code} ({indicator.source}/{indicator.cohort})")


_GROUP_FIELDS = {
    ("facts", "department"): "lead_department_id",
    ("facts", "grid"): "grid_id",
    ("facts", "grid_worker"): "reporter_user_id",
    ("disputes", "department"): "case__lead_department_id",
    ("disputes", "grid"): "case__grid_id",
    ("disputes", "grid_worker"): "case__reporter_user_id",
    ("supervisions", "department"): "department_id",
    ("supervisions", "grid"): "case__grid_id",
    ("supervisions", "grid_worker"): "case__reporter_user_id",
}


def _subject_filter(indicator: Indicator, plan: AssessmentPlan, subject: Subject) -> Q:
    if subject.kind == "region":
        return subtree_q("region_path", [subject.path])
    return Q(**{_GROUP_FIELDS[(indicator.source, subject.kind)]: subject.id})


def _ctx(pi: PlanIndicator, as_of: dt.datetime) -> Ctx:
    return Ctx(as_of=as_of, params=formulas.validate_indicator_params(pi.code, pi.params))


def _row_values(
    pi: PlanIndicator, plan: AssessmentPlan, period: Period, subjects: Sequence[Subject], as_of: dt.datetime
) -> dict[str, Value]:
    indicator = pi.indicator
    if plan.subject_kind not in indicator.subjects:
        return {s.key: formulas.NOT_APPLICABLE for s in subjects}
    if indicator.source == "grids":
        return {
            s.key: formulas.rate(*_coverage_counts(rows))
            for s, rows in _coverage_rows(plan, period, subjects).items()
        }
    if indicator.source == "visits":
        return {
            s.key: formulas.rate(*_visit_counts(rows))
            for s, rows in _visit_rows(plan, period, subjects, as_of).items()
        }
    ctx = _ctx(pi, as_of)
    assert indicator.numerator is not None
    num_q = indicator.numerator(ctx)
    den_q = indicator.denominator(ctx) if indicator.denominator is not None else num_q
    qs = _source_rows(indicator, plan, period)
    if plan.subject_kind == SubjectKind.REGION:
        qs = qs.annotate(subject=Substr("region_path", 1, _child_length(plan)))
        keys: dict[Any, str] = {s.path: s.key for s in subjects}
    else:
        field_name = _GROUP_FIELDS[(indicator.source, plan.subject_kind)]
        qs = qs.filter(**{f"{field_name}__in": [s.id for s in subjects]}).annotate(subject=F(field_name))
        keys = {s.id: s.key for s in subjects}
    counts = {
        row["subject"]: (row["num"], row["den"])
        for row in qs.values("subject").annotate(num=Count("pk", filter=num_q), den=Count("pk", filter=den_q))
    }
    result: dict[str, Value] = {}
    for raw_key, subject_key in keys.items():
        num, den = counts.get(raw_key, (0, 0))
        result[subject_key] = formulas.make_value(indicator, num, den)
    return result


@dataclass
class Row:
    subject: Subject
    values: dict[int, Value] = field(default_factory=dict)  # plan indicator id → value
    scores: dict[int, float | None] = field(default_factory=dict)
    total: float | None = None
    rank: int | None = None


@dataclass
class Scorecard:
    plan: AssessmentPlan
    period: Period
    as_of: dt.datetime
    indicators: list[PlanIndicator]
    rows: list[Row]

    @property
    def full_marks(self) -> float:
        return sum(pi.weight for pi in self.indicators)


def score_of(pi: PlanIndicator, value: Value) -> float | None:
    indicator = pi.indicator
    zero_at = pi.zero_at if pi.zero_at is not None else formulas.default_zero_at(indicator, pi.target)
    return formulas.score(
        value.value,
        weight=pi.weight,
        target=pi.target,
        curve=pi.curve,
        higher_is_better=indicator.higher_is_better,
        zero_at=zero_at,
    )


def scorecard(plan: AssessmentPlan, period: Period, *, as_of: dt.datetime) -> Scorecard:
    """Every subject's figures, scores, total and competition rank for ``period``, as of
    ``as_of``. Rows sorted by rank (unranked last), then by subject."""
    subjects = subjects_of(plan)
    indicators = plan_indicators(plan)
    rows = {s.key: Row(subject=s) for s in subjects}
    for pi in indicators:
        for key, value in _row_values(pi, plan, period, subjects, as_of).items():
            rows[key].values[pi.pk] = value
            rows[key].scores[pi.pk] = score_of(pi, value)
    ordered = list(rows.values())
    rates = [pi for pi in indicators if pi.indicator.kind == "rate"]
    for row in ordered:
        # counts alone (no supervision, no escalation) say nothing of a subject that had no case in
        # the period: without a rate that has a value there is no total and no rank
        active = not rates or any(row.values[pi.pk].value is not None for pi in rates)
        row.total = formulas.total([(row.scores[pi.pk], pi.weight) for pi in indicators]) if active else None
    for row, rank in zip(ordered, formulas.competition_ranks([r.total for r in ordered]), strict=True):
        row.rank = rank
    ordered.sort(key=lambda r: (r.rank is None, r.rank or 0, r.subject.name))
    return Scorecard(plan=plan, period=period, as_of=as_of, indicators=indicators, rows=ordered)


# --- report coverage (grids) ------------------------------------------------------------------------------


@dataclass(frozen=True)
class GridRow:
    grid_id: int
    code: str
    name: str
    reports: int
    patrols: int

    @property
    def covered(self) -> bool:
        return self.reports > 0 or self.patrols > 0


def patrolled_grid_ids(grid_ids: Sequence[int], period: Period) -> dict[int, int]:
    """HOOK — patrols per grid in the period (巡查记录). Used when the base-data app provides
    ``people.selectors.patrol_counts(grid_ids, start_at, end_at) -> {grid_id: n}``; until then
    patrols are counted through the cases grid workers report from a patrol (channel ``patrol``),
    which are reports and already cover their grid."""
    try:
        from zongzhi.people import selectors as people_selectors
    except ImportError:  # pragma: no cover - the app is part of the project
        return {}
    provider = getattr(people_selectors, "patrol_counts", None)
    if provider is None:
        return {}
    return dict(provider(list(grid_ids), period.start_at, period.end_at))


def _coverage_rows(
    plan: AssessmentPlan, period: Period, subjects: Sequence[Subject]
) -> dict[Subject, list[GridRow]]:
    grids = list(
        Grid.objects.filter(subtree_q("region_path", [plan.region_path]), is_active=True)
        .order_by("code")
        .values("pk", "code", "name", "region_path")
    )
    ids = [g["pk"] for g in grids]
    reports = dict(
        CaseFact.objects.filter(grid_id__in=ids, created_date__gte=period.start, created_date__lte=period.end)
        .values("grid_id")
        .annotate(n=Count("pk"))
        .values_list("grid_id", "n")
    )
    patrols = patrolled_grid_ids(ids, period)
    rows = {
        g["pk"]: GridRow(g["pk"], g["code"], g["name"], reports.get(g["pk"], 0), patrols.get(g["pk"], 0))
        for g in grids
    }
    paths = {g["pk"]: g["region_path"] for g in grids}
    result: dict[Subject, list[GridRow]] = {}
    if plan.subject_kind == SubjectKind.GRID_WORKER:
        member_grids: dict[int, list[int]] = defaultdict(list)
        for user_id, grid_id in GridMembership.objects.filter(grid_id__in=ids).values_list(
            "user_id", "grid_id"
        ):
            member_grids[user_id].append(grid_id)
    for s in subjects:
        if s.kind == "region":
            result[s] = [rows[i] for i in ids if paths[i].startswith(s.path)]
        elif s.kind == "grid":
            result[s] = [rows[s.id]] if s.id in rows else []
        else:
            result[s] = [rows[i] for i in sorted(member_grids.get(s.id, []))]
    return result


def _coverage_counts(rows: Sequence[GridRow]) -> tuple[int, int]:
    return sum(1 for r in rows if r.covered), len(rows)


# --- visits on time (people) ------------------------------------------------------------------------------


@dataclass(frozen=True)
class VisitPeriodRow:
    membership_id: int
    group: str
    period_start: dt.datetime
    due_at: dt.datetime
    visited: bool


def _visit_rows(
    plan: AssessmentPlan, period: Period, subjects: Sequence[Subject], as_of: dt.datetime
) -> dict[Subject, list[VisitPeriodRow]]:
    """The visit periods due in the period (start < due_at ≤ end — a period due at midnight
    ending the assessment period belongs to it — and already due at ``as_of``) of the special-population members in the plan's subtree, per subject, each with
    whether a visit was recorded between the period's start and its due time.

    The periods are reconstructed from each membership's current frequency and grace days with
    ``people.schedules`` (the same rules the visit clock uses), from the membership's start to its
    end (or closing); a membership whose schedule changed during the period is judged by its
    current schedule."""
    from zongzhi.people import schedules
    from zongzhi.people.models import SpecialGroupMembership, Visit

    window_end = min(period.end_at, as_of)
    members = list(
        SpecialGroupMembership.objects.filter(subtree_q("region_path", [plan.region_path]))
        .filter(starts_on__lte=period.end)
        .filter(Q(closed_at__isnull=True) | Q(closed_at__gt=period.start_at))
        .values(
            "pk",
            "group",
            "frequency",
            "grace_days",
            "starts_on",
            "closed_at",
            "region_path",
            "grid_id",
            "supervisor_id",
        )
    )
    visits: dict[int, list[dt.datetime]] = defaultdict(list)
    earliest = period.start_at - dt.timedelta(days=200)  # a quarter plus the longest grace
    for membership_id, visited_at in Visit.objects.filter(
        membership_id__in=[m["pk"] for m in members], visited_at__gte=earliest, visited_at__lt=window_end
    ).values_list("membership_id", "visited_at"):
        visits[membership_id].append(visited_at)
    by_member: dict[int, list[VisitPeriodRow]] = {}
    for m in members:
        policy = schedules.Policy(m["frequency"], m["grace_days"])
        begin = schedules.local_midnight(m["starts_on"])
        out: list[VisitPeriodRow] = []
        current = schedules.period_at(policy, max(begin, period.start_at - dt.timedelta(days=100)))
        while current.start < window_end:
            if (
                period.start_at < current.due_at <= window_end
                and current.end > begin
                and (m["closed_at"] is None or current.due_at <= m["closed_at"])
            ):
                start = max(current.start, begin)
                out.append(
                    VisitPeriodRow(
                        m["pk"],
                        m["group"],
                        current.start,
                        current.due_at,
                        any(start <= v < current.due_at for v in visits[m["pk"]]),
                    )
                )
            current = schedules.next_period(policy, current.end)
        by_member[m["pk"]] = out
    result: dict[Subject, list[VisitPeriodRow]] = {}
    for s in subjects:
        if s.kind == "region":
            picked = [m for m in members if m["region_path"].startswith(s.path)]
        elif s.kind == "grid":
            picked = [m for m in members if m["grid_id"] == s.id]
        else:
            picked = [m for m in members if m["supervisor_id"] == s.id]
        result[s] = [row for m in picked for row in by_member[m["pk"]]]
    return result


def _visit_counts(rows: Sequence[VisitPeriodRow]) -> tuple[int, int]:
    return sum(1 for r in rows if r.visited), len(rows)


# --- drill-down --------------------------------------------------------------------------------------------


@dataclass
class DrillDown:
    """The rows behind one figure: ``rows`` are the denominator's rows (a count's counted rows),
    each flagged ``in_numerator``; ``numerator`` / ``denominator`` are their counts."""

    source: str
    rows: list[dict[str, Any]]
    numerator: int
    denominator: int | None
    value: Value


def drill_down(
    pi: PlanIndicator,
    plan: AssessmentPlan,
    subject: Subject,
    period: Period,
    *,
    as_of: dt.datetime,
    limit: int | None = None,
) -> DrillDown:
    indicator = pi.indicator
    if plan.subject_kind not in indicator.subjects:
        return DrillDown(indicator.source, [], 0, None, formulas.NOT_APPLICABLE)
    if indicator.source == "grids":
        grid_rows = _coverage_rows(plan, period, [subject])[subject]
        num, den = _coverage_counts(grid_rows)
        rows = [
            {
                "grid_id": r.grid_id,
                "code": r.code,
                "name": r.name,
                "reports": r.reports,
                "patrols": r.patrols,
                "in_numerator": r.covered,
            }
            for r in grid_rows
        ]
        return DrillDown("grids", rows[:limit] if limit else rows, num, den, formulas.rate(num, den))
    if indicator.source == "visits":
        visit_rows = _visit_rows(plan, period, [subject], as_of)[subject]
        num, den = _visit_counts(visit_rows)
        rows = [
            {
                "membership_id": r.membership_id,
                "group": r.group,
                "period_start": r.period_start,
                "due_at": r.due_at,
                "in_numerator": r.visited,
            }
            for r in visit_rows
        ]
        return DrillDown("visits", rows[:limit] if limit else rows, num, den, formulas.rate(num, den))
    ctx = _ctx(pi, as_of)
    assert indicator.numerator is not None
    num_q = indicator.numerator(ctx)
    den_q = indicator.denominator(ctx) if indicator.denominator is not None else num_q
    qs = _source_rows(indicator, plan, period).filter(_subject_filter(indicator, plan, subject)).filter(den_q)
    numerator = qs.filter(num_q).count()
    denominator = qs.count()
    order: tuple[str, ...] = ("created_at", "pk")
    if indicator.source == "facts":
        fields: tuple[str, ...] = (
            "pk",
            "case__number",
            "case__title",
            "created_at",
            "state",
            "handle_due_at",
            "rating",
        )
    elif indicator.source == "disputes":
        fields = (
            "pk",
            "case_id",
            "case__number",
            "case__title",
            "case__created_at",
            "outcome",
            "resolved_level",
        )
        order = ("case__created_at", "pk")
    else:
        fields = (
            "pk",
            "case_id",
            "case__number",
            "case__title",
            "created_at",
            "kind",
            "reply_due_at",
            "replied_at",
        )
    page = (
        qs.annotate(in_numerator=ExpressionWrapper(num_q, output_field=BooleanField()))
        .order_by(*order)
        .values(*fields, "in_numerator")
    )
    listed = list(page[:limit] if limit else page)
    for row in listed:
        row["in_numerator"] = bool(row["in_numerator"])
        row.setdefault("case_id", row["pk"])
    value = formulas.make_value(indicator, numerator, denominator)
    return DrillDown(indicator.source, listed, numerator, denominator if indicator.is_rate else None, value)


# --- bulletins ---------------------------------------------------------------------------------------------


def bulletin_list(user: Any) -> QuerySet[Bulletin]:
    qs = visible_to(user, Bulletin).select_related("plan", "generated_by", "published_by")
    managed = visible_to(user, Bulletin, Perm.ASSESSMENT_MANAGE).values("pk")
    return qs.filter(Q(status=BulletinStatus.PUBLISHED) | Q(pk__in=managed)).order_by(
        "-period_start", "-requested_at"
    )


def bulletin_get(user: Any, bulletin_id: int) -> Bulletin:
    bulletin: Bulletin = get_visible_or_404(user, bulletin_list(user), pk=bulletin_id)
    return bulletin


def cases_visible(user: Any, case_ids: Iterable[int]) -> set[int]:
    return set(visible_to(user, Case).filter(pk__in=list(case_ids)).values_list("pk", flat=True))
