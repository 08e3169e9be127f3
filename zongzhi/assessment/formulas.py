"""The assessment list (考评清单): every KPI's exact definition, and the scoring and ranking rules.

Pure: no database access. A KPI is defined by filters (Django ``Q`` objects, which are plain data)
over the rows of its *source*, so that one definition builds both the figure (a count) and its
drill-down (the rows behind it) — the list adds up to the number by construction. The selectors
(``assessment.selectors``) apply them per subject; ``docs/assessment.md`` is the same text for
people.

Sources
    ``facts``        analytics ``CaseFact`` rows, one per case (milestones, deadlines in force,
                     on-time flags, counts, rating), cohort by the case's registration date unless
                     stated otherwise;
    ``supervisions`` ``cases.Supervision`` notices of kind 督办 or 挂牌督办 (reminders 催办 excluded);
    ``disputes``     ``disputes.Dispute`` records (the dispute of a case), with their outcome (化解,
                     撤回 …) as the disputes app records it;
    ``grids``        active grids (``orgs.Grid``) and the reports/patrols in them;
    ``visits``       special-population visit periods (``people``: one period of a member's visit
                     schedule = one visit due).

Rates are ``numerator / denominator``; an empty denominator gives ``None`` (shown "—"), never 0 or
100 %. The numerator is always a subset of the denominator's rows. ``as_of`` is the time of
evaluation: a stage that is still open counts as late once its deadline has passed by then.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

# --- periods ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """A closed range of local dates ``[start, end]`` (both included)."""

    start: dt.date
    end: dt.date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError("period ends before it starts")

    @property
    def start_at(self) -> dt.datetime:
        return local_midnight(self.start)

    @property
    def end_at(self) -> dt.datetime:
        """The first instant after the period (exclusive bound)."""
        return local_midnight(self.end + dt.timedelta(days=1))

    def label(self) -> str:
        return f"{self.start:%Y-%m-%d} ~ {self.end:%Y-%m-%d}"


def local_midnight(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(settings.TIME_ZONE))


def month_period(year: int, month: int) -> Period:
    start = dt.date(year, month, 1)
    nxt = dt.date(year + (month == 12), month % 12 + 1, 1)
    return Period(start, nxt - dt.timedelta(days=1))


def quarter_period(year: int, quarter: int) -> Period:
    first = month_period(year, (quarter - 1) * 3 + 1)
    last = month_period(year, quarter * 3)
    return Period(first.start, last.end)


def year_period(year: int) -> Period:
    return Period(dt.date(year, 1, 1), dt.date(year, 12, 31))


# --- indicators ---------------------------------------------------------------------------------------------

CLOSED_STATES = ("resolved", "replied", "archived")
RATED = ("satisfied", "basically_satisfied", "unsatisfied")
SATISFIED = ("satisfied", "basically_satisfied")
# 12345-style figures count the citizens' own channels (not grid patrols, video or upper-level assignments)
CITIZEN_CHANNELS = ("hotline", "web", "wechat", "app", "walk_in")
# 就地化解: resolved by a village (社区) or township (街道) center — 小事不出村、大事不出镇
LOCAL_LEVELS = ("village", "township")
LEVEL_DEPTH = {"province": 0, "city": 1, "county": 2, "township": 3, "village": 4}

SUBJECT_KINDS = ("region", "department", "grid", "grid_worker")

COHORTS: dict[str, Any] = {
    "created": _("按登记日期：期内登记的案件"),
    "handle_due": _("按办理期限：办理期限落在期内的案件"),
    "supervision_created": _("按督办发起时间：期内发起的督办"),
    "supervision_due": _("按回复期限：回复期限落在期内的督办"),
    "activity": _("按期内活动：期内的上报与巡查"),
    "visit_due": _("按走访截止：走访截止时间落在期内的走访周期"),
    "dispute_created": _("按登记时间：期内登记的矛盾纠纷"),
}


@dataclass(frozen=True)
class Ctx:
    """What a filter may depend on: the evaluation time and the plan indicator's parameters."""

    as_of: dt.datetime
    params: dict[str, Any] = field(default_factory=dict)


FilterFn = Callable[[Ctx], Q]


@dataclass(frozen=True)
class Indicator:
    code: str
    name: Any  # lazy Chinese label
    source: str  # facts | supervisions | grids | visits
    kind: str  # rate | count
    higher_is_better: bool
    cohort: str  # key of COHORTS
    numerator_text: Any
    denominator_text: Any
    default_target: float
    subjects: tuple[str, ...] = SUBJECT_KINDS
    numerator: FilterFn | None = None  # facts / supervisions: rows counted above the line
    denominator: FilterFn | None = None  # rows counted below the line (rates only)
    params: dict[str, Any] = field(default_factory=dict)  # parameter name → default

    @property
    def is_rate(self) -> bool:
        return self.kind == "rate"


def _stage_closed_or_late(stage: str, due: str | None = None) -> FilterFn:
    """The stage ended (its on-time flag is set), or it is still open and its deadline (column
    ``due``, default ``<stage>_due_at``) has passed."""
    due = due or f"{stage}_due_at"

    def build(ctx: Ctx) -> Q:
        return Q(**{f"{stage}_on_time__isnull": False}) | Q(
            **{f"{stage}_on_time__isnull": True, f"{due}__lt": ctx.as_of}
        )

    return build


def _on_time(stage: str) -> FilterFn:
    return lambda ctx: Q(**{f"{stage}_on_time": True})


def _citizen(fn: FilterFn) -> FilterFn:
    return lambda ctx: Q(channel__in=CITIZEN_CHANNELS) & fn(ctx)


def _accepted(ctx: Ctx) -> Q:
    return Q(accepted_at__isnull=False)


def _closed(ctx: Ctx) -> Q:
    return Q(accepted_at__isnull=False, state__in=CLOSED_STATES)


def _resolved_once(ctx: Ctx) -> Q:
    return Q(resolved_at__isnull=False) | Q(state__in=CLOSED_STATES)


def _levels_at_or_above(level: str) -> list[str]:
    depth = LEVEL_DEPTH[level]
    return [name for name, d in LEVEL_DEPTH.items() if d <= depth]


_SUPERVISION_KINDS = ("supervision", "listed")

# disputes (the same definitions as the disputes app's own statistics, docs/disputes.md)
RESOLVED_OUTCOMES = ("agreement", "on_site")


def _dispute_counted(ctx: Ctx) -> Q:
    """Not withdrawn (撤回) by the evaluation time."""
    return ~Q(outcome="withdrawn") | Q(outcome_at__isnull=True) | Q(outcome_at__gte=ctx.as_of)


def _dispute_resolved(ctx: Ctx) -> Q:
    return Q(outcome__in=RESOLVED_OUTCOMES, outcome_at__lt=ctx.as_of)


INDICATORS: dict[str, Indicator] = {
    i.code: i
    for i in [
        Indicator(
            code="intake_on_time",
            name=_("受理及时率"),
            source="facts",
            kind="rate",
            higher_is_better=True,
            cohort="created",
            numerator_text=_("受理环节按时结束（受理或不予受理不晚于受理期限）的案件数"),
            denominator_text=_("受理环节已结束的案件数，加上尚未受理但受理期限已过的案件数"),
            default_target=0.98,
            denominator=_stage_closed_or_late("accept"),
            numerator=_on_time("accept"),
        ),
        Indicator(
            code="dispatch_on_time",
            name=_("派单及时率"),
            source="facts",
            kind="rate",
            higher_is_better=True,
            cohort="created",
            numerator_text=_("分流环节按时结束（首次派单或自行处置不晚于分流期限）的案件数"),
            denominator_text=_("分流环节已结束的案件数，加上尚未派单但分流期限已过的案件数"),
            default_target=0.95,
            denominator=_stage_closed_or_late("dispatch"),
            numerator=_on_time("dispatch"),
        ),
        Indicator(
            code="dispatch_accuracy",
            name=_("准确派遣率"),
            source="facts",
            kind="rate",
            higher_is_better=True,
            cohort="created",
            numerator_text=_("派单后从未被退回的案件数（已派单 − 被退回）"),
            denominator_text=_("至少派单一次的案件数（已派单）"),
            default_target=0.95,
            denominator=lambda ctx: Q(dispatch_count__gte=1),
            numerator=lambda ctx: Q(dispatch_count__gte=1, return_count=0),
        ),
        Indicator(
            code="closure_rate",
            name=_("办结率"),
            source="facts",
            kind="rate",
            higher_is_better=True,
            cohort="created",
            numerator_text=_("已受理且当前处于已办结、已反馈或已归档状态的案件数"),
            denominator_text=_("已受理的案件数（不含不予受理、合并的重复件和尚未受理的）"),
            default_target=0.9,
            denominator=_accepted,
            numerator=_closed,
        ),
        Indicator(
            code="on_time_closure",
            name=_("按期办结率"),
            source="facts",
            kind="rate",
            higher_is_better=True,
            cohort="handle_due",
            numerator_text=_("不晚于办理期限（含批准的延期）首次办结的案件数"),
            denominator_text=_("办理环节已结束的案件数，加上尚未办结但办理期限已过的案件数"),
            default_target=0.95,
            denominator=_stage_closed_or_late("resolve", "handle_due_at"),
            numerator=_on_time("resolve"),
        ),
        Indicator(
            code="reopen_rate",
            name=_("返工率"),
            source="facts",
            kind="rate",
            higher_is_better=False,
            cohort="created",
            numerator_text=_("办结后被重办至少一次的案件数"),
            denominator_text=_("至少办结过一次（或当前已办结）的案件数"),
            default_target=0.05,
            denominator=_resolved_once,
            numerator=lambda ctx: _resolved_once(ctx) & Q(reopen_count__gte=1),
        ),
        Indicator(
            code="satisfaction",
            name=_("满意率"),
            source="facts",
            kind="rate",
            higher_is_better=True,
            cohort="created",
            numerator_text=_("评价为满意或基本满意的案件数"),
            denominator_text=_("已评价（满意、基本满意、不满意）的案件数；未评价、归档未评价不计"),
            default_target=0.9,
            denominator=lambda ctx: Q(rating__in=RATED),
            numerator=lambda ctx: Q(rating__in=SATISFIED),
        ),
        Indicator(
            code="response_rate_12345",
            name=_("响应率（12345口径）"),
            source="facts",
            kind="rate",
            higher_is_better=True,
            cohort="created",
            numerator_text=_(
                "群众渠道（热线、网站、微信、移动应用、窗口）案件中，承办单位在签收期限内签收的件数"
            ),
            denominator_text=_("群众渠道案件中，签收环节已结束的件数，加上尚未签收但签收期限已过的件数"),
            default_target=0.98,
            denominator=_citizen(_stage_closed_or_late("acknowledge")),
            numerator=_citizen(_on_time("acknowledge")),
        ),
        Indicator(
            code="resolution_rate_12345",
            name=_("解决率（12345口径）"),
            source="facts",
            kind="rate",
            higher_is_better=True,
            cohort="created",
            numerator_text=_(
                "群众渠道已受理案件中，已办结（已办结、已反馈、已归档）且评价不是“不满意”的件数"
            ),
            denominator_text=_("群众渠道已受理的案件数"),
            default_target=0.85,
            denominator=_citizen(_accepted),
            numerator=_citizen(lambda ctx: _closed(ctx) & ~Q(rating="unsatisfied")),
        ),
        Indicator(
            code="satisfaction_12345",
            name=_("满意率（12345口径）"),
            source="facts",
            kind="rate",
            higher_is_better=True,
            cohort="created",
            numerator_text=_("群众渠道案件中评价为满意或基本满意的件数"),
            denominator_text=_("群众渠道案件中已评价的件数"),
            default_target=0.9,
            denominator=_citizen(lambda ctx: Q(rating__in=RATED)),
            numerator=_citizen(lambda ctx: Q(rating__in=SATISFIED)),
        ),
        Indicator(
            code="supervision_count",
            name=_("督办件次"),
            source="supervisions",
            kind="count",
            higher_is_better=False,
            cohort="supervision_created",
            numerator_text=_("期内发起的督办和挂牌督办通知数（催办不计；同一案件多次督办分别计）"),
            denominator_text=_("—（计数指标）"),
            default_target=0,
            numerator=lambda ctx: Q(kind__in=_SUPERVISION_KINDS),
        ),
        Indicator(
            code="supervision_reply_on_time",
            name=_("督办按时回复率"),
            source="supervisions",
            kind="rate",
            higher_is_better=True,
            cohort="supervision_due",
            numerator_text=_("不晚于回复期限回复的督办通知数"),
            denominator_text=_("已回复的督办通知数，加上回复期限已过仍未回复的"),
            default_target=0.95,
            denominator=lambda ctx: (
                Q(kind__in=_SUPERVISION_KINDS) & (Q(replied_at__isnull=False) | Q(reply_due_at__lt=ctx.as_of))
            ),
            numerator=lambda ctx: Q(
                kind__in=_SUPERVISION_KINDS, replied_at__isnull=False, replied_at__lte=F("reply_due_at")
            ),
        ),
        Indicator(
            code="dispute_resolution_rate",
            name=_("矛盾纠纷化解率"),
            source="disputes",
            kind="rate",
            higher_is_better=True,
            cohort="dispute_created",
            numerator_text=_("已化解（调解成功或当场化解，且未被撤销）的纠纷数"),
            denominator_text=_("期内登记的纠纷数（有纠纷档案；不含不予受理、合并的重复件），减去已撤回的"),
            default_target=0.9,
            denominator=_dispute_counted,
            numerator=_dispute_resolved,
        ),
        Indicator(
            code="dispute_local_rate",
            name=_("矛盾纠纷就地化解率"),
            source="disputes",
            kind="rate",
            higher_is_better=True,
            cohort="dispute_created",
            numerator_text=_("已化解且化解时由村（社区）或乡镇（街道）中心承办的纠纷数"),
            denominator_text=_("期内登记的纠纷数（有纠纷档案；不含不予受理、合并的重复件），减去已撤回的"),
            default_target=0.8,
            denominator=_dispute_counted,
            numerator=lambda ctx: _dispute_resolved(ctx) & Q(resolved_level__in=LOCAL_LEVELS),
        ),
        Indicator(
            code="escalation_rate",
            name=_("上交率"),
            source="facts",
            kind="rate",
            higher_is_better=False,
            cohort="created",
            numerator_text=_("被上报至参数“层级”（默认县级）或更高层级中心的案件数"),
            denominator_text=_("期内登记的全部案件数"),
            default_target=0.02,
            denominator=lambda ctx: Q(),
            numerator=lambda ctx: Q(
                max_escalated_level__in=_levels_at_or_above(ctx.params.get("level", "county"))
            ),
            params={"level": "county"},
        ),
        Indicator(
            code="report_coverage",
            name=_("上报覆盖率"),
            source="grids",
            kind="rate",
            higher_is_better=True,
            cohort="activity",
            numerator_text=_("期内至少有一件登记在该网格的事件（含网格员巡查上报）或一次巡查记录的网格数"),
            denominator_text=_("启用的网格数"),
            default_target=1.0,
            subjects=("region", "grid", "grid_worker"),
        ),
        Indicator(
            code="visits_on_time",
            name=_("走访按时率"),
            source="visits",
            kind="rate",
            higher_is_better=True,
            cohort="visit_due",
            numerator_text=_("在周期开始至走访截止之间有走访记录的走访周期数"),
            denominator_text=_("走访截止时间落在期内且已到期的特殊人群走访周期数（按当前走访频次推算）"),
            default_target=0.95,
            subjects=("region", "grid", "grid_worker"),
        ),
    ]
}

ESCALATION_LEVELS = ("city", "county", "township")


def validate_indicator_params(code: str, params: dict[str, Any] | None) -> dict[str, Any]:
    """The indicator's parameters, complete (defaults for the missing). Raises ``ValueError`` with
    the parameter's name for an unknown name or a bad value."""
    indicator = INDICATORS[code]
    raw = dict(params or {})
    unknown = sorted(set(raw) - set(indicator.params))
    if unknown:
        raise ValueError(unknown[0])
    result = {**indicator.params, **raw}
    if "level" in result and result["level"] not in ESCALATION_LEVELS:
        raise ValueError("level")
    return result


# --- values ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Value:
    """A KPI's figure for one subject: numerator, denominator (None for counts) and the value
    (the rate, or the count; None when the denominator is empty or the KPI does not apply)."""

    numerator: int | None
    denominator: int | None
    value: float | None

    @property
    def empty(self) -> bool:
        return self.value is None


NOT_APPLICABLE = Value(None, None, None)


def rate(numerator: int, denominator: int) -> Value:
    """``numerator / denominator``, ``None`` for an empty denominator (never 0 or 100 %)."""
    if numerator > denominator:
        raise ValueError("numerator exceeds denominator")
    return Value(numerator, denominator, numerator / denominator if denominator else None)


def count(n: int) -> Value:
    return Value(n, None, float(n))


def make_value(indicator: Indicator, numerator: int, denominator: int) -> Value:
    return rate(numerator, denominator) if indicator.is_rate else count(numerator)


# --- scoring ----------------------------------------------------------------------------------------------

CURVES: dict[str, Any] = {
    "linear": _("线性：达到目标值得满分，达到零分值得0分，之间按比例"),
    "step": _("达标制：达到目标值得满分，否则0分"),
    "proportional": _("比例制：得分 = 权重 × 实际值 / 目标值（封顶满分）；越低越好的指标为 目标值 / 实际值"),
}


def default_zero_at(indicator: Indicator, target: float) -> float:
    """The value scoring 0 on the linear curve when the plan does not say: 0 for a rate where higher
    is better, 100 % for a rate where lower is better, twice the target (at least target + 10) for a
    count."""
    if indicator.is_rate:
        return 0.0 if indicator.higher_is_better else 1.0
    return max(target * 2, target + 10)


def score(
    value: float | None,
    *,
    weight: float,
    target: float,
    curve: str,
    higher_is_better: bool,
    zero_at: float,
) -> float | None:
    """The points one KPI value earns, out of ``weight``. ``None`` in → ``None`` out (an empty
    denominator earns no points and loses none: see ``total``)."""
    if value is None:
        return None
    if curve == "step":
        ok = value >= target if higher_is_better else value <= target
        return weight if ok else 0.0
    if curve == "proportional":
        if higher_is_better:
            return weight * min(1.0, value / target) if target > 0 else weight
        return weight * min(1.0, target / value) if value > 0 else weight
    if curve != "linear":
        raise ValueError(f"unknown curve {curve!r}")
    if higher_is_better:
        if value >= target:
            return weight
        if value <= zero_at or target <= zero_at:
            return 0.0
        return weight * (value - zero_at) / (target - zero_at)
    if value <= target:
        return weight
    if value >= zero_at or zero_at <= target:
        return 0.0
    return weight * (zero_at - value) / (zero_at - target)


def total(scores: Sequence[tuple[float | None, float]]) -> float | None:
    """The total of (score, weight) pairs, on the scale of all the weights.

    KPIs without a value (empty denominator) are left out and the others are scaled up to the full
    weight: total = Σ score / Σ weight of the KPIs with a value × Σ all weights. ``None`` when no
    KPI has a value. Rounded to 2 decimals."""
    all_weight = sum(w for _, w in scores)
    valued = [(s, w) for s, w in scores if s is not None]
    valued_weight = sum(w for _, w in valued)
    if not valued or valued_weight <= 0:
        return None
    return round(sum(s for s, _ in valued if s is not None) / valued_weight * all_weight, 2)


def competition_ranks(totals: Sequence[float | None]) -> list[int | None]:
    """Standard competition ranking ("1224"): equal totals share a rank and the next rank skips
    as many places as were shared — 90, 85, 85, 80 → 1, 2, 2, 4. Totals are compared rounded to 2
    decimals; ``None`` (no value at all) is not ranked."""
    keyed = [(round(t, 2) if t is not None else None) for t in totals]
    ranks: list[int | None] = []
    for t in keyed:
        if t is None:
            ranks.append(None)
        else:
            ranks.append(1 + sum(1 for other in keyed if other is not None and other > t))
    return ranks
