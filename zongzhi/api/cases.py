"""Cases through the API: intake (staff and public), lists and queues, detail with timeline, actions,
catalogue and responsibility rules. Same services and selectors as the web pages."""

from __future__ import annotations

import base64
import binascii
from datetime import date, datetime
from typing import Any, get_type_hints

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Field, Router, Schema, Status
from ninja.pagination import LimitOffsetPagination, paginate
from ninja.throttling import AnonRateThrottle

from zongzhi.api.pagination import MappedQuerySet
from zongzhi.cases import selectors, services
from zongzhi.cases.attachments import UploadedFile, validate_uploads
from zongzhi.cases.models import (
    Case,
    CaseKind,
    CaseState,
    Category,
    Channel,
    Rating,
    ResponsibilityRule,
    Urgency,
)
from zongzhi.core.audit import client_ip
from zongzhi.core.crypto import decrypt
from zongzhi.core.errors import FieldError, PermissionDeniedError
from zongzhi.core.masking import mask_name, mask_phone
from zongzhi.orgs.models import Department, Region
from zongzhi.orgs.roles import Perm
from zongzhi.orgs.scoping import scope_filter, user_can_anywhere, visible_to

router = Router(tags=["cases"])
public_router = Router(tags=["public"])
catalogue_router = Router(tags=["catalogue"])


# --- schemas --------------------------------------------------------------------------------------------


class AttachmentIn(Schema):
    name: str = Field(..., max_length=200)
    content_base64: str


class CaseIn(Schema):
    channel: Channel
    kind: CaseKind = CaseKind.EVENT
    title: str = Field(..., min_length=1, max_length=120)
    description: str = Field(..., min_length=1, max_length=5000)
    category_code: str | None = Field(None, max_length=16)
    urgency: Urgency = Urgency.NORMAL
    region_code: str | None = Field(None, max_length=12)
    reporter_name: str = Field("", max_length=50)
    reporter_phone: str = Field("", max_length=20)
    is_anonymous: bool = False
    address: str = Field("", max_length=200)
    lon: float | None = None
    lat: float | None = None
    external_ref: str = Field("", max_length=40)
    resolved_on_site: bool = False
    result: str = Field("", max_length=5000)
    attachments: list[AttachmentIn] = Field(default_factory=list, max_length=9)


class PublicCaseIn(Schema):
    channel: Channel = Channel.WEB
    kind: CaseKind = CaseKind.APPEAL
    title: str = Field(..., min_length=1, max_length=120)
    description: str = Field(..., min_length=1, max_length=5000)
    category_code: str | None = Field(None, max_length=16)
    region_code: str | None = Field(None, max_length=12)
    reporter_name: str = Field("", max_length=50)
    reporter_phone: str = Field("", max_length=20)
    is_anonymous: bool = False
    address: str = Field("", max_length=200)
    lon: float | None = None
    lat: float | None = None
    consent: bool = Field(..., description="The reporter agreed to the personal-information notice")
    attachments: list[AttachmentIn] = Field(default_factory=list, max_length=9)


class CaseCreatedOut(Schema):
    id: int
    number: str
    state: str
    tracking_code: str | None
    created: bool


class PublicCreatedOut(Schema):
    number: str
    tracking_code: str


class CaseOut(Schema):
    id: int
    number: str
    title: str
    kind: str
    channel: str
    state: str
    state_label: str
    urgency: str
    category_code: str | None
    category_name: str | None
    region_code: str
    region_name: str
    lead_department_id: int | None
    lead_department_name: str | None
    stage: str
    due_at: datetime | None
    overdue: bool
    sla_level: int
    created_at: datetime
    reporter_name: str
    reporter_phone: str
    is_returned: bool
    extension_pending: bool


class EventOut(Schema):
    seq: int
    action: str
    actor: str
    department: str | None
    at: datetime
    from_state: str
    to_state: str
    note: str
    data: dict[str, Any]


class AssignmentOut(Schema):
    department_id: int
    department_name: str
    role: str
    dispatch_seq: int
    is_current: bool
    acknowledged_at: datetime | None
    part_result: str
    part_done_at: datetime | None


class SupervisionOut(Schema):
    id: int
    kind: str
    stage: str
    is_manual: bool
    department_name: str | None
    reason: str
    created_at: datetime
    reply_due_at: datetime
    replied_at: datetime | None
    reply_text: str


class CaseDetailOut(CaseOut):
    description: str
    address: str
    lon: float | None
    lat: float | None
    grid_code: str | None
    owner_region_code: str
    external_ref: str
    result: str
    reply_text: str
    rating: str
    rating_comment: str
    master_number: str | None
    handle_due_at: datetime | None
    reopen_count: int
    return_count: int
    escalation_count: int
    resolved_on_site: bool
    allowed_actions: list[str]
    timeline: list[EventOut]
    assignments: list[AssignmentOut]
    supervisions: list[SupervisionOut]


class ActionIn(Schema):
    note: str = Field("", max_length=5000)
    data: dict[str, Any] = Field(default_factory=dict)


class SupervisionReplyIn(Schema):
    text: str = Field(..., min_length=1, max_length=5000)


class PublicStepOut(Schema):
    action: str
    label: str
    at: datetime


class PublicCaseOut(Schema):
    number: str
    title: str
    state: str
    state_label: str
    created_at: datetime
    steps: list[PublicStepOut]
    reply_text: str
    decline_reason: str
    rating: str
    can_rate: bool


class RatingIn(Schema):
    code: str = Field(..., min_length=4, max_length=16)
    rating: Rating
    comment: str = Field("", max_length=500)


class QueueCountsOut(Schema):
    counts: dict[str, int]
    labels: dict[str, str]


# --- helpers -----------------------------------------------------------------------------------------------


def _uploads(items: list[AttachmentIn]) -> list[UploadedFile]:
    uploads = []
    for i, item in enumerate(items):
        try:
            content = base64.b64decode(item.content_base64, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise FieldError(
                f"attachments.{i}.content_base64", "不是有效的 Base64 内容", code="invalid"
            ) from exc
        uploads.append(UploadedFile(name=item.name, content=content))
    validate_uploads(uploads)
    return uploads


def _reveal(token: str, masker: Any) -> str:
    return masker(decrypt(token)) if token else ""


def case_out(case: Case, now: datetime | None = None) -> dict[str, Any]:
    from django.utils import timezone

    now = now or timezone.now()
    return {
        "id": case.pk,
        "number": case.number,
        "title": case.title,
        "kind": case.kind,
        "channel": case.channel,
        "state": case.state,
        "state_label": str(CaseState(case.state).label),
        "urgency": case.urgency,
        "category_code": case.category.code if case.category else None,
        "category_name": str(case.category) if case.category else None,
        "region_code": case.region.code,
        "region_name": case.region.name,
        "lead_department_id": case.lead_department_id,
        "lead_department_name": case.lead_department.name if case.lead_department else None,
        "stage": case.stage,
        "due_at": case.due_at,
        "overdue": bool(
            case.is_open and case.due_at and case.due_at < now and case.state != CaseState.REPLIED
        ),
        "sla_level": case.sla_level,
        "created_at": case.created_at,
        "reporter_name": _reveal(case.reporter_name_enc, mask_name),
        "reporter_phone": _reveal(case.reporter_phone_enc, mask_phone),
        "is_returned": case.is_returned,
        "extension_pending": case.extension_pending,
    }


def case_detail_out(user: Any, case: Case) -> dict[str, Any]:
    out = case_out(case)
    out.update(
        {
            "description": case.description,
            "address": case.address,
            "lon": case.lon,
            "lat": case.lat,
            "grid_code": case.grid.code if case.grid else None,
            "owner_region_code": case.owner_region.code,
            "external_ref": case.external_ref,
            "result": case.result,
            "reply_text": case.reply_text,
            "rating": case.rating,
            "rating_comment": case.rating_comment,
            "master_number": case.master.number if case.master else None,
            "handle_due_at": case.handle_due_at,
            "reopen_count": case.reopen_count,
            "return_count": case.return_count,
            "escalation_count": case.escalation_count,
            "resolved_on_site": case.resolved_on_site,
            "allowed_actions": selectors.actions_for(user, case),
            "timeline": [
                {
                    "seq": e.seq,
                    "action": e.action,
                    "actor": e.actor_label,
                    "department": e.department.name if e.department else None,
                    "at": e.at,
                    "from_state": e.from_state,
                    "to_state": e.to_state,
                    "note": e.note,
                    "data": e.data,
                }
                for e in selectors.case_timeline(case)
            ],
            "assignments": [
                {
                    "department_id": a.department_id,
                    "department_name": a.department.name,
                    "role": a.role,
                    "dispatch_seq": a.dispatch_seq,
                    "is_current": a.is_current,
                    "acknowledged_at": a.acknowledged_at,
                    "part_result": a.part_result,
                    "part_done_at": a.part_done_at,
                }
                for a in selectors.case_assignments(case)
            ],
            "supervisions": [
                {
                    "id": s.pk,
                    "kind": s.kind,
                    "stage": s.stage,
                    "is_manual": s.is_manual,
                    "department_name": s.department.name if s.department else None,
                    "reason": s.reason,
                    "created_at": s.created_at,
                    "reply_due_at": s.reply_due_at,
                    "replied_at": s.replied_at,
                    "reply_text": s.reply_text,
                }
                for s in selectors.case_supervisions(case)
            ],
        }
    )
    return out


def _report_input(payload: CaseIn | PublicCaseIn, *, public: bool) -> services.ReportInput:
    return services.ReportInput(
        channel=payload.channel,
        kind=payload.kind,
        title=payload.title,
        description=payload.description,
        category_code=payload.category_code,
        urgency=Urgency.NORMAL if public else payload.urgency,  # type: ignore[union-attr]
        region_code=payload.region_code,
        reporter_name=payload.reporter_name,
        reporter_phone=payload.reporter_phone,
        is_anonymous=payload.is_anonymous,
        address=payload.address,
        lon=payload.lon,
        lat=payload.lat,
        external_ref="" if public else payload.external_ref,  # type: ignore[union-attr]
        resolved_on_site=False if public else payload.resolved_on_site,  # type: ignore[union-attr]
        result="" if public else payload.result,  # type: ignore[union-attr]
        attachments=_uploads(payload.attachments),
    )


# --- staff endpoints -------------------------------------------------------------------------------------------


@router.post("/cases", response={201: CaseCreatedOut, 200: CaseCreatedOut})
def create_case(request: HttpRequest, payload: CaseIn) -> Status[dict[str, Any]]:
    result = services.case_report(
        actor=request.user,  # type: ignore[arg-type]
        data=_report_input(payload, public=False),
        idempotency_key=request.headers.get("Idempotency-Key"),
        ip=client_ip(request),
    )
    body = {
        "id": result.case.pk,
        "number": result.case.number,
        "state": result.case.state,
        "tracking_code": result.tracking_code,
        "created": result.created,
    }
    return Status(201 if result.created else 200, body)


def _resolved_hints(fn: Any) -> Any:
    """Evaluate the (postponed) annotations in this module: ninja reads them from the wrapper
    ``paginate`` puts around the view, whose globals do not know ``CaseState``, ``Channel``…"""
    fn.__annotations__ = get_type_hints(fn)
    return fn


@router.get("/cases", response=list[CaseOut])
@paginate(LimitOffsetPagination)
@_resolved_hints
def list_cases(  # type: ignore[no-untyped-def]
    request: HttpRequest,
    queue: str | None = None,
    state: CaseState | None = None,
    category: str | None = None,
    region: str | None = None,
    department: int | None = None,
    channel: Channel | None = None,
    urgency: Urgency | None = None,
    overdue: bool | None = None,
    due_soon: bool | None = None,
    created_from: date | None = None,
    created_to: date | None = None,
    q: str | None = None,
    mine: bool = False,
    order: str = "due",
):
    if queue is not None and queue not in selectors.QUEUES:
        raise FieldError("queue", f"未知的队列，可选：{', '.join(selectors.QUEUES)}", code="invalid_choice")
    if order not in selectors.ORDERINGS:
        raise FieldError(
            "order", f"未知的排序，可选：{', '.join(selectors.ORDERINGS)}", code="invalid_choice"
        )
    filters = selectors.CaseFilters(
        queue=queue,
        state=state,
        category=category,
        region=region,
        department=department,
        channel=channel,
        urgency=urgency,
        overdue=overdue,
        due_soon=due_soon,
        created_from=created_from,
        created_to=created_to,
        text=q,
        mine=mine,
        order=order,
    )
    return MappedQuerySet(selectors.case_list(request.user, filters), case_out)


@router.get("/cases/queues", response=QueueCountsOut)
def queue_counts(request: HttpRequest, mine: bool = True) -> dict[str, Any]:
    return {"counts": selectors.queue_counts(request.user, mine=mine), "labels": selectors.QUEUES}


@router.get("/cases/{case_id}", response=CaseDetailOut)
def get_case(request: HttpRequest, case_id: int) -> dict[str, Any]:
    return case_detail_out(request.user, selectors.case_detail(request.user, case_id))


@router.post("/cases/{case_id}/actions/{action}", response=CaseDetailOut)
def case_action(request: HttpRequest, case_id: int, action: str, payload: ActionIn) -> dict[str, Any]:
    services.case_transition(
        actor=request.user,  # type: ignore[arg-type]
        case_id=case_id,
        action=action,
        note=payload.note,
        data=payload.data,
        ip=client_ip(request),
    )
    return case_detail_out(request.user, selectors.case_detail(request.user, case_id))


@router.post("/supervisions/{supervision_id}/reply", response=SupervisionOut)
def reply_supervision(
    request: HttpRequest, supervision_id: int, payload: SupervisionReplyIn
) -> dict[str, Any]:
    s = services.supervision_reply(
        actor=request.user,  # type: ignore[arg-type]
        supervision_id=supervision_id,
        text=payload.text,
        ip=client_ip(request),
    )
    return {
        "id": s.pk,
        "kind": s.kind,
        "stage": s.stage,
        "is_manual": s.is_manual,
        "department_name": s.department.name if s.department else None,
        "reason": s.reason,
        "created_at": s.created_at,
        "reply_due_at": s.reply_due_at,
        "replied_at": s.replied_at,
        "reply_text": s.reply_text,
    }


# --- public portal ---------------------------------------------------------------------------------------------


@public_router.post(
    "/public/cases",
    response={201: PublicCreatedOut, 200: PublicCreatedOut},
    auth=None,
    throttle=[AnonRateThrottle("30/h")],
)
def public_create(request: HttpRequest, payload: PublicCaseIn) -> Status[dict[str, Any]]:
    if not payload.consent:
        raise FieldError("consent", "请阅读并同意个人信息处理说明", code="required")
    result = services.case_report(
        actor=None,
        data=_report_input(payload, public=True),
        idempotency_key=request.headers.get("Idempotency-Key"),
        ip=client_ip(request),
    )
    if not result.created:
        # A retry: the tracking code was shown on the first response and is not stored in clear.
        raise FieldError(
            "Idempotency-Key", "该请求已提交过，请使用首次提交时获得的编号和查询码", code="already_submitted"
        )
    return Status(201, {"number": result.case.number, "tracking_code": result.tracking_code})


def public_case_out(case: Case) -> dict[str, Any]:
    return selectors.public_case_view(case)


@public_router.get(
    "/public/cases/{number}", response=PublicCaseOut, auth=None, throttle=[AnonRateThrottle("300/h")]
)
def public_get(request: HttpRequest, number: str, code: str) -> dict[str, Any]:
    return public_case_out(services.public_case(number, code))


@public_router.post(
    "/public/cases/{number}/rating", response=PublicCaseOut, auth=None, throttle=[AnonRateThrottle("60/h")]
)
def public_rate(request: HttpRequest, number: str, payload: RatingIn) -> dict[str, Any]:
    case = services.case_rate_public(
        number=number,
        code=payload.code,
        rating=payload.rating,
        comment=payload.comment,
        ip=client_ip(request),
    )
    return public_case_out(case)


# --- catalogue and responsibility rules ------------------------------------------------------------------------


class CategoryOut(Schema):
    id: int
    code: str
    name: str
    parent_code: str | None
    default_kind: str
    accept_hours: int
    dispatch_hours: int
    urgent_dispatch_hours: int
    acknowledge_hours: int
    urgent_acknowledge_hours: int
    handle_days: int
    complex_handle_days: int
    urgent_handle_hours: int
    reply_hours: int
    is_complex: bool
    is_active: bool


class CategoryIn(Schema):
    code: str = Field(..., min_length=1, max_length=16, pattern=r"^[A-Za-z0-9_-]+$")
    name: str = Field(..., min_length=1, max_length=60)
    parent_code: str | None = None
    default_kind: CaseKind = CaseKind.EVENT
    accept_hours: int = Field(1, ge=1, le=720)
    dispatch_hours: int = Field(24, ge=1, le=720)
    urgent_dispatch_hours: int = Field(1, ge=1, le=720)
    acknowledge_hours: int = Field(24, ge=1, le=720)
    urgent_acknowledge_hours: int = Field(1, ge=1, le=720)
    handle_days: int = Field(7, ge=1, le=365)
    complex_handle_days: int = Field(15, ge=1, le=365)
    urgent_handle_hours: int = Field(24, ge=1, le=720)
    reply_hours: int = Field(24, ge=1, le=720)
    is_complex: bool = False
    is_active: bool = True
    keywords: str = Field("", max_length=200)


class CategoryPatch(Schema):
    name: str | None = Field(None, min_length=1, max_length=60)
    accept_hours: int | None = Field(None, ge=1, le=720)
    dispatch_hours: int | None = Field(None, ge=1, le=720)
    urgent_dispatch_hours: int | None = Field(None, ge=1, le=720)
    acknowledge_hours: int | None = Field(None, ge=1, le=720)
    urgent_acknowledge_hours: int | None = Field(None, ge=1, le=720)
    handle_days: int | None = Field(None, ge=1, le=365)
    complex_handle_days: int | None = Field(None, ge=1, le=365)
    urgent_handle_hours: int | None = Field(None, ge=1, le=720)
    reply_hours: int | None = Field(None, ge=1, le=720)
    is_complex: bool | None = None
    is_active: bool | None = None
    keywords: str | None = Field(None, max_length=200)


def _category_out(c: Category) -> dict[str, Any]:
    return {
        "id": c.pk,
        "code": c.code,
        "name": c.name,
        "parent_code": c.parent.code if c.parent else None,
        **{
            f: getattr(c, f)
            for f in (
                "default_kind",
                "accept_hours",
                "dispatch_hours",
                "urgent_dispatch_hours",
                "acknowledge_hours",
                "urgent_acknowledge_hours",
                "handle_days",
                "complex_handle_days",
                "urgent_handle_hours",
                "reply_hours",
                "is_complex",
                "is_active",
            )
        },
    }


def _require_catalogue_anywhere(request: HttpRequest) -> None:
    if not user_can_anywhere(request.user, Perm.CATALOGUE_MANAGE):
        raise PermissionDeniedError("无权维护事项目录", code="forbidden")


@catalogue_router.get("/categories", response=list[CategoryOut])
def list_categories(
    request: HttpRequest, q: str | None = None, include_inactive: bool = False
) -> list[dict[str, Any]]:
    return [_category_out(c) for c in selectors.categories_matching(q, include_inactive=include_inactive)]


@catalogue_router.post("/categories", response={201: CategoryOut})
def create_category(request: HttpRequest, payload: CategoryIn) -> Status[dict[str, Any]]:
    _require_catalogue_anywhere(request)
    c = services.category_create(actor=request.user, **payload.dict(exclude_unset=True))  # type: ignore[arg-type]
    return Status(201, _category_out(c))


@catalogue_router.patch("/categories/{code}", response=CategoryOut)
def update_category(request: HttpRequest, code: str, payload: CategoryPatch) -> dict[str, Any]:
    _require_catalogue_anywhere(request)
    c = get_object_or_404(Category, code=code)
    c = services.category_update(actor=request.user, category=c, changes=payload.dict(exclude_unset=True))  # type: ignore[arg-type]
    return _category_out(c)


class RuleOut(Schema):
    id: int
    rule_key: str
    version: int
    category_code: str
    region_code: str
    lead_department_id: int
    lead_department_name: str
    assisting_department_ids: list[int]
    handling_level: str
    legal_basis: str
    effective_from: date
    effective_to: date | None


class RuleIn(Schema):
    category_code: str
    region_code: str
    lead_department_id: int
    assisting_department_ids: list[int] = Field(default_factory=list)
    handling_level: str
    legal_basis: str = Field("", max_length=5000)
    effective_from: date
    effective_to: date | None = None


class RuleRevisionIn(Schema):
    effective_from: date
    lead_department_id: int | None = None
    assisting_department_ids: list[int] | None = None
    handling_level: str | None = None
    legal_basis: str | None = Field(None, max_length=5000)
    effective_to: date | None = None


def _rule_out(r: ResponsibilityRule) -> dict[str, Any]:
    return {
        "id": r.pk,
        "rule_key": r.rule_key,
        "version": r.version,
        "category_code": r.category.code,
        "region_code": r.region.code,
        "lead_department_id": r.lead_department_id,
        "lead_department_name": r.lead_department.name,
        "assisting_department_ids": sorted(d.pk for d in r.assisting_departments.all()),
        "handling_level": r.handling_level,
        "legal_basis": r.legal_basis,
        "effective_from": r.effective_from,
        "effective_to": r.effective_to,
    }


def _rules_qs(request: HttpRequest) -> Any:
    """Rules are seen by case staff (to dispatch) and by catalogue managers (to maintain them)."""
    visible = scope_filter(ResponsibilityRule, request.user, Perm.CASE_VIEW) | scope_filter(
        ResponsibilityRule, request.user, Perm.CATALOGUE_MANAGE
    )
    return (
        ResponsibilityRule.objects.filter(visible)
        .select_related("category", "region", "lead_department")
        .prefetch_related("assisting_departments")
    )


def _visible_departments(request: HttpRequest, ids: list[int], field: str) -> list[Department]:
    found = {d.pk: d for d in visible_to(request.user, Department, Perm.ORG_VIEW).filter(pk__in=ids)}
    missing = [i for i in ids if i not in found]
    if missing:
        raise FieldError(field, f"部门不存在：{missing}", code="not_found")
    return [found[i] for i in ids]


@catalogue_router.get("/rules", response=list[RuleOut])
@paginate(LimitOffsetPagination)
def list_rules(
    request: HttpRequest, category: str | None = None, region: str | None = None, current: bool = False
):  # type: ignore[no-untyped-def]
    qs = _rules_qs(request)
    if category:
        qs = qs.filter(category__code=category)
    if region:
        qs = qs.filter(region__code=region)
    if current:
        from django.db.models import Q
        from django.utils import timezone

        today = timezone.localdate()
        qs = qs.filter(effective_from__lte=today).filter(
            Q(effective_to__isnull=True) | Q(effective_to__gt=today)
        )
    return [_rule_out(r) for r in qs.order_by("category__code", "region_path", "rule_key", "version")]


@catalogue_router.get("/rules/{rule_id}", response=RuleOut)
def get_rule(request: HttpRequest, rule_id: int) -> dict[str, Any]:
    return _rule_out(get_object_or_404(_rules_qs(request), pk=rule_id))  # _rules_qs is already scoped


@catalogue_router.get("/rules/{rule_id}/versions", response=list[RuleOut])
def rule_versions(request: HttpRequest, rule_id: int) -> list[dict[str, Any]]:
    rule = get_object_or_404(_rules_qs(request), pk=rule_id)  # _rules_qs is already scoped
    return [_rule_out(r) for r in _rules_qs(request).filter(rule_key=rule.rule_key).order_by("version")]


@catalogue_router.post("/rules", response={201: RuleOut})
def create_rule(request: HttpRequest, payload: RuleIn) -> Status[dict[str, Any]]:
    category = Category.objects.filter(code=payload.category_code).first()
    if category is None:
        raise FieldError("category_code", "未知的事项分类", code="not_found")
    region = visible_to(request.user, Region, Perm.REGION_VIEW).filter(code=payload.region_code).first()
    if region is None:
        raise FieldError("region_code", "未知的区域或不在管辖范围内", code="not_found")
    (lead,) = _visible_departments(request, [payload.lead_department_id], "lead_department_id")
    assisting = _visible_departments(request, payload.assisting_department_ids, "assisting_department_ids")
    rule = services.rule_create(
        actor=request.user,  # type: ignore[arg-type]
        category=category,
        region=region,
        lead_department=lead,
        assisting_departments=assisting,
        handling_level=payload.handling_level,
        legal_basis=payload.legal_basis,
        effective_from=payload.effective_from,
        effective_to=payload.effective_to,
    )
    return Status(201, _rule_out(rule))


@catalogue_router.post("/rules/{rule_id}/revise", response={201: RuleOut})
def revise_rule(request: HttpRequest, rule_id: int, payload: RuleRevisionIn) -> Status[dict[str, Any]]:
    rule = get_object_or_404(_rules_qs(request), pk=rule_id)  # _rules_qs is already scoped
    lead = None
    if payload.lead_department_id is not None:
        (lead,) = _visible_departments(request, [payload.lead_department_id], "lead_department_id")
    assisting = None
    if payload.assisting_department_ids is not None:
        assisting = _visible_departments(
            request, payload.assisting_department_ids, "assisting_department_ids"
        )
    new = services.rule_revise(
        actor=request.user,  # type: ignore[arg-type]
        rule=rule,
        effective_from=payload.effective_from,
        lead_department=lead,
        assisting_departments=assisting,
        handling_level=payload.handling_level,
        legal_basis=payload.legal_basis,
        effective_to=payload.effective_to,
    )
    return Status(201, _rule_out(new))
