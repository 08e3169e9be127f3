"""Assessment (考核) through the API: the KPI catalogue, plans and their indicators, scores and
rankings per period, drill-down to the rows behind a figure, bulletins. Same services and
selectors as the web pages."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status

from zongzhi.assessment import formulas, selectors, services
from zongzhi.assessment.formulas import INDICATORS, Period
from zongzhi.assessment.models import (
    AssessmentPlan,
    Bulletin,
    BulletinStatus,
    PeriodKind,
    PlanIndicator,
    SubjectKind,
)
from zongzhi.assessment.views import PeriodChoice, bulletin_file
from zongzhi.core.errors import FieldError
from zongzhi.orgs.models import Region
from zongzhi.orgs.roles import Perm
from zongzhi.orgs.scoping import user_can_anywhere, visible_to

router = Router(tags=["assessment"])


# --- schemas ----------------------------------------------------------------------------------------------


class IndicatorDefOut(Schema):
    code: str
    name: str
    source: str
    kind: str
    higher_is_better: bool
    cohort: str
    cohort_text: str
    numerator: str
    denominator: str
    default_target: float
    subjects: list[str]
    params: dict[str, Any]


class PlanIndicatorIn(Schema):
    code: str
    weight: float
    target: float | None = None
    curve: str = "linear"
    zero_at: float | None = None
    params: dict[str, Any] = Field(default_factory=dict)


class PlanIndicatorOut(Schema):
    id: int
    code: str
    name: str
    weight: float
    target: float
    curve: str
    zero_at: float | None
    params: dict[str, Any]


class PlanIn(Schema):
    name: str = Field(..., min_length=1, max_length=100)
    region_code: str = Field(..., max_length=12)
    subject_kind: SubjectKind
    period_kind: PeriodKind = PeriodKind.MONTH
    note: str = Field("", max_length=2000)
    indicators: list[PlanIndicatorIn] | None = Field(
        None, description="Omit for the default assessment list of the subject kind"
    )


class PlanPatch(Schema):
    name: str | None = Field(None, min_length=1, max_length=100)
    period_kind: PeriodKind | None = None
    is_active: bool | None = None
    note: str | None = Field(None, max_length=2000)


class PlanOut(Schema):
    id: int
    name: str
    region_code: str
    region_name: str
    subject_kind: str
    period_kind: str
    is_active: bool
    note: str
    indicators: list[PlanIndicatorOut]


class FigureOut(Schema):
    indicator_id: int
    code: str
    numerator: int | None
    denominator: int | None
    value: float | None
    score: float | None


class ScoreRowOut(Schema):
    subject_key: str
    subject_kind: str
    subject_id: int
    subject_name: str
    total: float | None
    rank: int | None
    figures: list[FigureOut]


class ScorecardOut(Schema):
    plan_id: int
    period_start: dt.date
    period_end: dt.date
    as_of: dt.datetime
    full_marks: float
    rows: list[ScoreRowOut]


class DrillOut(Schema):
    indicator_id: int
    code: str
    subject_key: str
    source: str
    numerator: int | None
    denominator: int | None
    value: float | None
    rows: list[dict[str, Any]]


class BulletinIn(Schema):
    plan_id: int
    period_kind: PeriodKind = PeriodKind.MONTH
    year: int = Field(..., ge=2000, le=2100)
    n: int = Field(1, ge=1, le=12, description="Month (1–12) or quarter (1–4)")
    start: dt.date | None = None
    end: dt.date | None = None
    note: str = Field("", max_length=2000)


class BulletinOut(Schema):
    id: int
    plan_id: int
    title: str
    status: str
    period_kind: str
    period_start: dt.date
    period_end: dt.date
    requested_at: dt.datetime
    generated_by: str | None
    generated_at: dt.datetime | None
    published_at: dt.datetime | None
    error: str
    xlsx_url: str | None
    pdf_url: str | None
    snapshot: dict[str, Any]


# --- helpers ------------------------------------------------------------------------------------------------


def _pi_out(pi: PlanIndicator) -> dict[str, Any]:
    return {
        "id": pi.pk,
        "code": pi.code,
        "name": str(pi.indicator.name),
        "weight": pi.weight,
        "target": pi.target,
        "curve": pi.curve,
        "zero_at": pi.zero_at,
        "params": pi.params,
    }


def plan_out(plan: AssessmentPlan) -> dict[str, Any]:
    return {
        "id": plan.pk,
        "name": plan.name,
        "region_code": plan.region.code,
        "region_name": plan.region.name,
        "subject_kind": plan.subject_kind,
        "period_kind": plan.period_kind,
        "is_active": plan.is_active,
        "note": plan.note,
        "indicators": [_pi_out(pi) for pi in selectors.plan_indicators(plan)],
    }


def bulletin_out(b: Bulletin) -> dict[str, Any]:
    ready = b.status in (BulletinStatus.DRAFT, BulletinStatus.PUBLISHED)
    return {
        "id": b.pk,
        "plan_id": b.plan_id,
        "title": b.title,
        "status": b.status,
        "period_kind": b.period_kind,
        "period_start": b.period_start,
        "period_end": b.period_end,
        "requested_at": b.requested_at,
        "generated_by": b.generated_by.username if b.generated_by else None,
        "generated_at": b.generated_at,
        "published_at": b.published_at,
        "error": b.error,
        "xlsx_url": f"/api/v1/assessment/bulletins/{b.pk}/export.xlsx" if ready else None,
        "pdf_url": f"/api/v1/assessment/bulletins/{b.pk}/export.pdf" if ready else None,
        "snapshot": b.snapshot,
    }


def _period(
    kind: PeriodKind, year: int | None, n: int | None, start: dt.date | None, end: dt.date | None
) -> Period:
    if kind == PeriodKind.CUSTOM:
        if start is None or end is None:
            raise FieldError("start", _("自定义周期须填写 start 和 end"), code="required")
        if end < start:
            raise FieldError("end", _("截止日期不能早于起始日期"), code="out_of_range")
        return Period(start, end)
    today = timezone.localdate()
    if kind == PeriodKind.QUARTER and n is not None and not 1 <= n <= 4:
        raise FieldError("n", _("季度须为1到4"), code="out_of_range")
    if n is not None and not 1 <= n <= 12:
        raise FieldError("n", _("月份须为1到12"), code="out_of_range")
    return PeriodChoice(kind, year or today.year, n or 1).period()


def _inputs(items: list[PlanIndicatorIn]) -> list[services.IndicatorInput]:
    return [
        services.IndicatorInput(
            code=i.code, weight=i.weight, target=i.target, curve=i.curve, zero_at=i.zero_at, params=i.params
        )
        for i in items
    ]


# --- endpoints ---------------------------------------------------------------------------------------------


@router.get("/assessment/indicators", response=list[IndicatorDefOut])
def list_indicators(request: HttpRequest) -> list[dict[str, Any]]:
    """The assessment list (考评清单): every KPI with its exact definition."""
    if not user_can_anywhere(request.user, Perm.ASSESSMENT_VIEW):
        raise Http404
    return [
        {
            "code": ind.code,
            "name": str(ind.name),
            "source": ind.source,
            "kind": ind.kind,
            "higher_is_better": ind.higher_is_better,
            "cohort": ind.cohort,
            "cohort_text": str(formulas.COHORTS[ind.cohort]),
            "numerator": str(ind.numerator_text),
            "denominator": str(ind.denominator_text),
            "default_target": ind.default_target,
            "subjects": list(ind.subjects),
            "params": ind.params,
        }
        for ind in INDICATORS.values()
    ]


@router.get("/assessment/plans", response=list[PlanOut])
def list_plans(request: HttpRequest) -> list[dict[str, Any]]:
    return [plan_out(p) for p in selectors.plan_list(request.user)[:500]]


@router.post("/assessment/plans", response={201: PlanOut})
def create_plan(request: HttpRequest, payload: PlanIn) -> Status[dict[str, Any]]:
    if not user_can_anywhere(request.user, Perm.ASSESSMENT_MANAGE):
        raise Http404
    region = visible_to(request.user, Region, Perm.ASSESSMENT_MANAGE).filter(code=payload.region_code).first()
    if region is None:
        raise FieldError("region_code", _("未知的区域或不在管辖范围内"), code="not_found")
    indicators = (
        services.default_indicators(payload.subject_kind)
        if payload.indicators is None
        else _inputs(payload.indicators)
    )
    plan = services.plan_create(
        actor=request.user,  # type: ignore[arg-type]
        region=region,
        name=payload.name,
        subject_kind=payload.subject_kind,
        period_kind=payload.period_kind,
        note=payload.note,
        indicators=indicators,
    )
    return Status(201, plan_out(plan))


@router.get("/assessment/plans/{plan_id}", response=PlanOut)
def get_plan(request: HttpRequest, plan_id: int) -> dict[str, Any]:
    return plan_out(selectors.plan_get(request.user, plan_id))


@router.patch("/assessment/plans/{plan_id}", response=PlanOut)
def update_plan(request: HttpRequest, plan_id: int, payload: PlanPatch) -> dict[str, Any]:
    plan = services.plan_update(
        actor=request.user,  # type: ignore[arg-type]
        plan_id=plan_id,
        name=payload.name,
        period_kind=payload.period_kind,
        is_active=payload.is_active,
        note=payload.note,
    )
    return plan_out(selectors.plan_get(request.user, plan.pk))


@router.put("/assessment/plans/{plan_id}/indicators", response=PlanOut)
def save_indicator(request: HttpRequest, plan_id: int, payload: PlanIndicatorIn) -> dict[str, Any]:
    """Add an indicator to the plan, or change it (matched by ``code``)."""
    (item,) = _inputs([payload])
    services.plan_indicator_save(actor=request.user, plan_id=plan_id, data=item)  # type: ignore[arg-type]
    return plan_out(selectors.plan_get(request.user, plan_id))


@router.get("/assessment/plans/{plan_id}/scores", response=ScorecardOut)
def plan_scores(
    request: HttpRequest,
    plan_id: int,
    period: PeriodKind = PeriodKind.MONTH,
    year: int | None = None,
    n: int | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> dict[str, Any]:
    """Every subject's figures, scores, total and rank (competition ranking: 1, 2, 2, 4)."""
    plan = selectors.plan_get(request.user, plan_id)
    card = selectors.scorecard(plan, _period(period, year, n, start, end), as_of=timezone.now())
    return {
        "plan_id": plan.pk,
        "period_start": card.period.start,
        "period_end": card.period.end,
        "as_of": card.as_of,
        "full_marks": card.full_marks,
        "rows": [
            {
                "subject_key": row.subject.key,
                "subject_kind": row.subject.kind,
                "subject_id": row.subject.id,
                "subject_name": row.subject.name,
                "total": row.total,
                "rank": row.rank,
                "figures": [
                    {
                        "indicator_id": pi.pk,
                        "code": pi.code,
                        "numerator": row.values[pi.pk].numerator,
                        "denominator": row.values[pi.pk].denominator,
                        "value": row.values[pi.pk].value,
                        "score": row.scores[pi.pk],
                    }
                    for pi in card.indicators
                ],
            }
            for row in card.rows
        ],
    }


@router.get("/assessment/plans/{plan_id}/drill/{indicator_id}", response=DrillOut)
def plan_drill(
    request: HttpRequest,
    plan_id: int,
    indicator_id: int,
    subject: str | None = None,
    period: PeriodKind = PeriodKind.MONTH,
    year: int | None = None,
    n: int | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> dict[str, Any]:
    """The rows behind one figure (``subject``: a subject key from the scores; default the first);
    ``rows`` has ``denominator`` rows (``numerator`` for a count),
    those in the numerator flagged ``in_numerator``."""
    plan = selectors.plan_get(request.user, plan_id)
    pi = PlanIndicator.objects.filter(plan=plan, pk=indicator_id).first()
    if pi is None or pi.code not in INDICATORS:
        raise Http404
    subjects = selectors.subjects_of(plan)
    who = (
        next((s for s in subjects if s.key == subject), None)
        if subject
        else (subjects[0] if subjects else None)
    )
    if who is None:
        raise FieldError("subject", _("不是本方案的考核对象（省略时为第一个对象）"), code="invalid_choice")
    result = selectors.drill_down(pi, plan, who, _period(period, year, n, start, end), as_of=timezone.now())
    return {
        "indicator_id": pi.pk,
        "code": pi.code,
        "subject_key": who.key,
        "source": result.source,
        "numerator": result.numerator,
        "denominator": result.denominator,
        "value": result.value.value,
        "rows": [
            {k: (v.isoformat() if isinstance(v, dt.datetime) else v) for k, v in r.items()}
            for r in result.rows
        ],
    }


@router.get("/assessment/bulletins", response=list[BulletinOut])
def list_bulletins(request: HttpRequest) -> list[dict[str, Any]]:
    return [bulletin_out(b) for b in selectors.bulletin_list(request.user)[:200]]


@router.post("/assessment/bulletins", response={201: BulletinOut})
def generate_bulletin(request: HttpRequest, payload: BulletinIn) -> Status[dict[str, Any]]:
    if not user_can_anywhere(request.user, Perm.ASSESSMENT_MANAGE):
        raise Http404
    period = _period(payload.period_kind, payload.year, payload.n, payload.start, payload.end)
    bulletin = services.bulletin_generate(
        actor=request.user,  # type: ignore[arg-type]
        plan_id=payload.plan_id,
        period_kind=payload.period_kind,
        period=period,
        note=payload.note,
    )
    return Status(201, bulletin_out(bulletin))


@router.get("/assessment/bulletins/{bulletin_id}", response=BulletinOut)
def get_bulletin(request: HttpRequest, bulletin_id: int) -> dict[str, Any]:
    return bulletin_out(selectors.bulletin_get(request.user, bulletin_id))


@router.post("/assessment/bulletins/{bulletin_id}/publish", response=BulletinOut)
def publish_bulletin(request: HttpRequest, bulletin_id: int) -> dict[str, Any]:
    selectors.bulletin_get(request.user, bulletin_id)  # 404 outside the scope or a draft one may not see
    bulletin = services.bulletin_publish(actor=request.user, bulletin_id=bulletin_id)  # type: ignore[arg-type]
    return bulletin_out(bulletin)


@router.post("/assessment/bulletins/{bulletin_id}/retry", response=BulletinOut)
def retry_bulletin(request: HttpRequest, bulletin_id: int) -> dict[str, Any]:
    selectors.bulletin_get(request.user, bulletin_id)
    bulletin = services.bulletin_retry(actor=request.user, bulletin_id=bulletin_id)  # type: ignore[arg-type]
    return bulletin_out(bulletin)


@router.get("/assessment/bulletins/{bulletin_id}/export.{kind}")
def export_bulletin(request: HttpRequest, bulletin_id: int, kind: str) -> HttpResponse:
    """The bulletin's kept file: ``xlsx`` or ``pdf`` (404 while it is being built)."""
    if kind not in ("xlsx", "pdf"):
        raise Http404
    content, name, content_type = bulletin_file(selectors.bulletin_get(request.user, bulletin_id), kind)
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
