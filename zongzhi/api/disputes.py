"""Disputes through the API: one-stop intake, the record and its parties, the workflow actions
(generic and dispute-only, all through ``cases.services.case_transition``), agreements as PDF,
mediators, screening campaigns and the statistics. Same services and selectors as the web pages."""

from __future__ import annotations

import base64
import binascii
from datetime import date, datetime
from decimal import Decimal
from typing import Any, get_type_hints

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status
from ninja.pagination import LimitOffsetPagination, paginate

from zongzhi.api.cases import AttachmentIn
from zongzhi.api.pagination import MappedQuerySet
from zongzhi.cases import selectors as case_selectors
from zongzhi.cases.attachments import UploadedFile, validate_uploads
from zongzhi.cases.models import Channel, Urgency
from zongzhi.cases.services import case_transition
from zongzhi.core.audit import client_ip
from zongzhi.core.errors import FieldError
from zongzhi.disputes import agreement as agreement_doc
from zongzhi.disputes import exports, selectors, services
from zongzhi.disputes.models import (
    Dispute,
    DisputeType,
    MediationAgreement,
    Mediator,
    RiskFlagType,
    RiskLevel,
    ScreeningCampaign,
    ScreeningReport,
)
from zongzhi.orgs.scoping import get_visible_or_404

router = Router(tags=["disputes"])


# --- schemas -----------------------------------------------------------------------------------------------


class PartyIn(Schema):
    role: str = Field(..., description="applicant | respondent")
    name: str = Field(..., min_length=1, max_length=100)
    kind: str = Field("person", description="person | organization")
    gender: str = Field("", max_length=8)
    ethnicity: str = Field("", max_length=20)
    id_type: str = Field("", max_length=12, description="id_card | credit_code | passport | other")
    id_number: str = Field("", max_length=40)
    phone: str = Field("", max_length=20)
    address: str = Field("", max_length=200)
    representative: str = Field("", max_length=50)


class DisputeIn(Schema):
    title: str = Field(..., min_length=1, max_length=120)
    description: str = Field(..., min_length=1, max_length=5000)
    dispute_type: str = Field(..., max_length=24, description="a DisputeType code (GET /dispute-types)")
    region_code: str = Field(..., max_length=12)
    parties: list[PartyIn] = Field(..., min_length=2, max_length=50)
    channel: Channel = Channel.WALK_IN
    people_count: int = Field(2, ge=1, le=100000)
    amount: Decimal | None = Field(None, ge=0, le=Decimal("999999999999.99"))
    risk_level: RiskLevel = RiskLevel.LOW
    flags: list[str] = Field(default_factory=list, max_length=20)
    risk_note: str = Field("", max_length=2000)
    urgency: Urgency = Urgency.NORMAL
    address: str = Field("", max_length=200)
    lon: float | None = None
    lat: float | None = None
    accept: bool = Field(True, description="accept at once when the registering center may (一站式受理)")
    resolved_on_site: bool = False
    result: str = Field("", max_length=5000)
    screening_report_id: int | None = None
    attachments: list[AttachmentIn] = Field(default_factory=list, max_length=9)


class FromCaseIn(Schema):
    dispute_type: str = Field(..., max_length=24)
    parties: list[PartyIn] = Field(..., min_length=2, max_length=50)
    people_count: int = Field(2, ge=1, le=100000)
    amount: Decimal | None = Field(None, ge=0)
    risk_level: RiskLevel = RiskLevel.LOW
    flags: list[str] = Field(default_factory=list, max_length=20)
    risk_note: str = Field("", max_length=2000)


class DisputePatch(Schema):
    dispute_type: str | None = Field(None, max_length=24)
    people_count: int | None = Field(None, ge=1, le=100000)
    amount: Decimal | None = Field(None, ge=0)
    clear_amount: bool = False


class ActionIn(Schema):
    note: str = Field("", max_length=5000)
    data: dict[str, Any] = Field(default_factory=dict)
    attachments: list[AttachmentIn] = Field(default_factory=list, max_length=9)


class RevealIn(Schema):
    reason: str = Field(..., min_length=2, max_length=200)


class PartyOut(Schema):
    id: int
    role: str
    kind: str
    name: str
    gender: str
    ethnicity: str
    id_type: str
    id_number: str
    phone: str
    has_address: bool
    representative: str


class PartyClearOut(Schema):
    name: str
    id_number: str
    phone: str
    address: str


class DisputeOut(Schema):
    id: int
    case_id: int
    number: str
    title: str
    state: str
    state_label: str
    stage: str
    dispute_type: str
    dispute_type_name: str
    scale: str
    risk_level: str
    people_count: int
    amount: Decimal | None
    outcome: str
    region_code: str
    region_name: str
    owner_region_code: str
    created_at: datetime
    applicants: list[str]
    respondents: list[str]


class FlagOut(Schema):
    code: str
    name: str
    raised_by: str
    raised_at: datetime
    cleared_by: str
    cleared_at: datetime | None


class AssessmentOut(Schema):
    risk_level: str
    flags: list[str]
    note: str
    assessed_by: str
    assessed_at: datetime


class SessionOut(Schema):
    id: int
    held_at: datetime
    place: str
    attendees: str
    minutes: str
    attachment_ids: list[int]


class MediationOut(Schema):
    id: int
    round: int
    mediation_type: str
    lead_mediator_id: int
    lead_mediator: str
    participants: list[str]
    department: str
    started_at: datetime
    ended_at: datetime | None
    outcome: str
    outcome_note: str
    sessions: list[SessionOut]


class AgreementOut(Schema):
    id: int
    number: str
    is_partial: bool
    facts: str
    terms: str
    performance_method: str
    performance_deadline: date | None
    signed_at: datetime
    judicial_status: str
    judicial_court: str
    judicial_ref: str
    performance: str
    followup_due_at: datetime | None
    followed_up_at: datetime | None
    pdf_url: str


class EscalationOut(Schema):
    at: datetime
    actor: str
    reason: str
    from_region: str | None
    to_region: str | None


class AdviceOut(Schema):
    suggested: bool
    target_level: str
    reasons: list[str]


class EventOut(Schema):
    seq: int
    action: str
    actor: str
    at: datetime
    from_state: str
    to_state: str
    note: str
    data: dict[str, Any]


class DisputeDetailOut(DisputeOut):
    description: str
    lead_department: str | None
    transfer_to: str
    receiving_body: str
    transfer_ref: str
    outcome_at: datetime | None
    resolved_level: str
    parties: list[PartyOut]
    flags: list[FlagOut]
    flag_history: list[FlagOut]
    assessments: list[AssessmentOut]
    mediations: list[MediationOut]
    agreements: list[AgreementOut]
    escalations: list[EscalationOut]
    escalation_advice: AdviceOut
    allowed_actions: list[str]
    timeline: list[EventOut]


class NamedOut(Schema):
    code: str
    name: str


class MediatorIn(Schema):
    name: str = Field(..., min_length=1, max_length=50)
    body_kind: str = Field(..., max_length=24)
    body_name: str = Field(..., min_length=1, max_length=120)
    region_code: str = Field(..., max_length=12)
    department_id: int | None = None
    user_id: int | None = None
    specialty_codes: list[str] = Field(default_factory=list, max_length=20)
    specialty_note: str = Field("", max_length=200)
    title: str = Field("", max_length=40)
    phone: str = Field("", max_length=20)
    is_active: bool = True


class MediatorOut(Schema):
    id: int
    name: str
    body_kind: str
    body_name: str
    department_id: int | None
    region_code: str
    region_name: str
    specialties: list[str]
    specialty_note: str
    title: str
    phone: str
    is_active: bool
    open_rounds: int
    rounds_led: int
    agreements: int
    partial: int
    failed: int
    withdrawn: int
    success_rate: Decimal | None


class CampaignIn(Schema):
    region_code: str = Field(..., max_length=12)
    period_start: date
    period_end: date
    title: str = Field("", max_length=100)
    note: str = Field("", max_length=2000)


class GridReportOut(Schema):
    id: int
    grid_id: int
    grid_code: str
    grid_name: str
    village: str
    status: str
    found_count: int
    note: str
    reported_at: datetime | None


class CampaignOut(Schema):
    id: int
    region_code: str
    region_name: str
    title: str
    period_start: date
    period_end: date
    is_open: bool
    grids: int
    reported: int
    found: int
    none_found: int
    completion: Decimal | None


class CampaignDetailOut(CampaignOut):
    note: str
    reports: list[GridReportOut]


class NoneFoundIn(Schema):
    note: str = Field("", max_length=2000)


class RatesOut(Schema):
    region_code: str
    start: date
    end: date
    as_of: datetime
    total: int
    withdrawn: int
    denominator: int
    resolved: int
    resolved_locally: int
    resolution_rate: Decimal | None
    local_resolution_rate: Decimal | None


class TableColumnOut(Schema):
    key: str
    label: str
    group: str


class TableRowOut(Schema):
    label: str
    region_code: str | None
    counts: dict[str, int]
    resolution_rate: Decimal | None
    local_resolution_rate: Decimal | None


class MonthlyTableOut(Schema):
    region_code: str
    region_name: str
    year: int
    month: int
    as_of: datetime
    columns: list[TableColumnOut]
    rows: list[TableRowOut]
    total: TableRowOut


# --- shaping -------------------------------------------------------------------------------------------------


def dispute_out(d: Dispute) -> dict[str, Any]:
    case = d.case
    names = selectors.party_names(d, masked=True)
    return {
        "id": d.pk,
        "case_id": case.pk,
        "number": case.number,
        "title": case.title,
        "state": case.state,
        "state_label": str(case.get_state_display()),
        "stage": selectors.stage_of(case.state),
        "dispute_type": d.dispute_type.code,
        "dispute_type_name": d.dispute_type.name,
        "scale": d.scale,
        "risk_level": d.risk_level,
        "people_count": d.people_count,
        "amount": d.amount,
        "outcome": d.outcome,
        "region_code": case.region.code,
        "region_name": case.region.name,
        "owner_region_code": case.owner_region.code,
        "created_at": d.created_at,
        "applicants": names.get("applicant", []),
        "respondents": names.get("respondent", []),
    }


def _flag_out(f: Any) -> dict[str, Any]:
    return {
        "code": f.flag_type.code,
        "name": f.flag_type.name,
        "raised_by": f.raised_by_label,
        "raised_at": f.raised_at,
        "cleared_by": f.cleared_by_label,
        "cleared_at": f.cleared_at,
    }


def dispute_detail_out(user: Any, d: Dispute) -> dict[str, Any]:
    case = d.case
    out = dispute_out(d)
    attachments = selectors.session_attachments(d)
    advice = selectors.escalation_advice(d)
    out.update(
        {
            "description": case.description,
            "lead_department": case.lead_department.name if case.lead_department else None,
            "transfer_to": d.transfer_to,
            "receiving_body": d.receiving_body,
            "transfer_ref": d.transfer_ref,
            "outcome_at": d.outcome_at,
            "resolved_level": d.resolved_level,
            "parties": [
                {
                    "id": p.id,
                    "role": p.role,
                    "kind": p.kind,
                    "name": p.name,
                    "gender": p.gender,
                    "ethnicity": p.ethnicity,
                    "id_type": p.id_type,
                    "id_number": p.id_number,
                    "phone": p.phone,
                    "has_address": p.has_address,
                    "representative": p.representative,
                }
                for p in selectors.party_views(d, names_clear=selectors.names_clear_for(user, d))
            ],
            "flags": [_flag_out(f) for f in selectors.active_flags(d)],
            "flag_history": [_flag_out(f) for f in selectors.flag_history(d)],
            "assessments": [
                {
                    "risk_level": a.risk_level,
                    "flags": a.flags,
                    "note": a.note,
                    "assessed_by": a.assessed_by_label,
                    "assessed_at": a.assessed_at,
                }
                for a in selectors.assessments(d)
            ],
            "mediations": [
                {
                    "id": m.pk,
                    "round": m.round,
                    "mediation_type": m.mediation_type,
                    "lead_mediator_id": m.lead_mediator_id,
                    "lead_mediator": m.lead_mediator.name,
                    "participants": [p.name for p in m.participants.all()],
                    "department": m.department.name,
                    "started_at": m.started_at,
                    "ended_at": m.ended_at,
                    "outcome": m.outcome,
                    "outcome_note": m.outcome_note,
                    "sessions": [
                        {
                            "id": s.pk,
                            "held_at": s.held_at,
                            "place": s.place,
                            "attendees": s.attendees,
                            "minutes": s.minutes,
                            "attachment_ids": [a.pk for a in attachments.get(s.event_seq, [])],
                        }
                        for s in m.sessions.all()
                    ],
                }
                for m in selectors.mediations(d)
            ],
            "agreements": [
                {
                    "id": a.pk,
                    "number": a.number,
                    "is_partial": a.is_partial,
                    "facts": a.facts,
                    "terms": a.terms,
                    "performance_method": a.performance_method,
                    "performance_deadline": a.performance_deadline,
                    "signed_at": a.signed_at,
                    "judicial_status": a.judicial_status,
                    "judicial_court": a.judicial_court,
                    "judicial_ref": a.judicial_ref,
                    "performance": a.performance,
                    "followup_due_at": a.followup_due_at,
                    "followed_up_at": a.followed_up_at,
                    "pdf_url": f"/api/v1/disputes/{d.pk}/agreements/{a.pk}/pdf",
                }
                for a in selectors.agreements(d)
            ],
            "escalations": [
                {
                    "at": e.at,
                    "actor": e.actor_label,
                    "reason": e.note,
                    "from_region": e.data.get("from"),
                    "to_region": e.data.get("to"),
                }
                for e in selectors.escalations(d)
            ],
            "escalation_advice": {
                "suggested": advice.suggested,
                "target_level": advice.target_level,
                "reasons": list(advice.reasons),
            },
            "allowed_actions": selectors.dispute_actions_for(user, case),
            "timeline": [
                {
                    "seq": e.seq,
                    "action": e.action,
                    "actor": e.actor_label,
                    "at": e.at,
                    "from_state": e.from_state,
                    "to_state": e.to_state,
                    "note": e.note,
                    "data": e.data,
                }
                for e in case_selectors.case_timeline(case)
            ],
        }
    )
    return out


def _party_input(p: PartyIn) -> services.PartyInput:
    return services.PartyInput(**p.dict())


def _detail(request: HttpRequest, dispute_id: int) -> dict[str, Any]:
    return dispute_detail_out(request.user, selectors.dispute_detail(request.user, dispute_id))


def _uploads(items: list[AttachmentIn]) -> list[UploadedFile]:
    uploads = []
    for i, item in enumerate(items):
        try:
            content = base64.b64decode(item.content_base64, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise FieldError(
                f"attachments.{i}.content_base64", _("不是有效的 Base64 内容"), code="invalid"
            ) from exc
        uploads.append(UploadedFile(name=item.name, content=content))
    validate_uploads(uploads)
    return uploads


def _resolved_hints(fn: Any) -> Any:
    fn.__annotations__ = get_type_hints(fn)
    return fn


# --- statistics (before /disputes/{dispute_id}) --------------------------------------------------------------


@router.get("/disputes/stats/rates", response=RatesOut)
def dispute_rates(
    request: HttpRequest, start: date, end: date, region: str | None = None, as_of: datetime | None = None
) -> dict[str, Any]:
    if end < start:
        raise FieldError("end", _("结束日期不能早于开始日期。"), code="bad_range")
    reg = selectors.stats_region(request.user, region)
    lo, hi = selectors.period_bounds(start, end)
    moment = as_of or timezone.now()
    f = selectors.dispute_rates(request.user, reg, lo, hi, as_of=moment)
    return {
        "region_code": reg.code,
        "start": start,
        "end": end,
        "as_of": moment,
        "total": f.total,
        "withdrawn": f.withdrawn,
        "denominator": f.denominator,
        "resolved": f.resolved,
        "resolved_locally": f.resolved_locally,
        "resolution_rate": f.resolution_rate,
        "local_resolution_rate": f.local_resolution_rate,
    }


def _month(year: int | None, month: int | None) -> tuple[int, int]:
    today = timezone.localdate()
    y, m = year or today.year, month or today.month
    if not (2000 <= y <= 2100):
        raise FieldError("year", _("年份须在2000到2100之间。"), code="out_of_range")
    if not (1 <= m <= 12):
        raise FieldError("month", _("月份须在1到12之间。"), code="out_of_range")
    return y, m


def _row_out(row: selectors.TableRow) -> dict[str, Any]:
    return {
        "label": row.label,
        "region_code": row.region.code if row.region else None,
        "counts": row.counts,
        "resolution_rate": row.resolution_rate,
        "local_resolution_rate": row.local_resolution_rate,
    }


@router.get("/disputes/stats/monthly", response=MonthlyTableOut)
def monthly_table(
    request: HttpRequest, region: str | None = None, year: int | None = None, month: int | None = None
) -> dict[str, Any]:
    y, m = _month(year, month)
    table = selectors.monthly_table(request.user, selectors.stats_region(request.user, region), y, m)
    return {
        "region_code": table.region.code,
        "region_name": table.region.name,
        "year": y,
        "month": m,
        "as_of": table.as_of,
        "columns": [
            {"key": key, "label": label, "group": group}
            for group, _gl, cols in table.columns
            for key, label in cols
        ],
        "rows": [_row_out(r) for r in table.rows],
        "total": _row_out(table.total),
    }


@router.get("/disputes/stats/monthly.xlsx", response={200: None})
def monthly_table_xlsx(
    request: HttpRequest, region: str | None = None, year: int | None = None, month: int | None = None
) -> HttpResponse:
    y, m = _month(year, month)
    table = selectors.monthly_table(request.user, selectors.stats_region(request.user, region), y, m)
    response = HttpResponse(
        exports.monthly_xlsx(table),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    from urllib.parse import quote

    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(exports.monthly_filename(table))}"
    return response


# --- configuration --------------------------------------------------------------------------------------------


@router.get("/dispute-types", response=list[NamedOut])
def dispute_types(request: HttpRequest) -> list[dict[str, Any]]:
    return [{"code": t.code, "name": t.name} for t in DisputeType.objects.filter(is_active=True)]


@router.get("/dispute-risk-flags", response=list[NamedOut])
def risk_flags(request: HttpRequest) -> list[dict[str, Any]]:
    return [{"code": f.code, "name": f.name} for f in RiskFlagType.objects.filter(is_active=True)]


# --- disputes ---------------------------------------------------------------------------------------------------


@router.post("/disputes", response={201: DisputeDetailOut, 200: DisputeDetailOut})
def create_dispute(request: HttpRequest, payload: DisputeIn) -> Status[dict[str, Any]]:
    data = services.DisputeInput(
        title=payload.title,
        description=payload.description,
        dispute_type=payload.dispute_type,
        region_code=payload.region_code,
        parties=[_party_input(p) for p in payload.parties],
        channel=payload.channel,
        people_count=payload.people_count,
        amount=payload.amount,
        risk_level=payload.risk_level,
        flags=payload.flags,
        risk_note=payload.risk_note,
        urgency=payload.urgency,
        address=payload.address,
        lon=payload.lon,
        lat=payload.lat,
        accept=payload.accept,
        resolved_on_site=payload.resolved_on_site,
        result=payload.result,
        screening_report_id=payload.screening_report_id,
        attachments=_uploads(payload.attachments),
    )
    result = services.dispute_intake(
        actor=request.user,  # type: ignore[arg-type]
        data=data,
        idempotency_key=request.headers.get("Idempotency-Key"),
        ip=client_ip(request),
    )
    return Status(201 if result.created else 200, _detail(request, result.dispute.pk))


@router.get("/disputes", response=list[DisputeOut])
@paginate(LimitOffsetPagination)
@_resolved_hints
def list_disputes(  # type: ignore[no-untyped-def]
    request: HttpRequest,
    region: str | None = None,
    dispute_type: str | None = None,
    risk_level: str | None = None,
    scale: str | None = None,
    stage: str | None = None,
    outcome: str | None = None,
    created_from: date | None = None,
    created_to: date | None = None,
    q: str | None = None,
):
    f = selectors.DisputeFilters(
        region=region,
        dispute_type=dispute_type,
        risk_level=risk_level,
        scale=scale,
        stage=stage,
        outcome=outcome,
        created_from=created_from,
        created_to=created_to,
        text=q,
    )
    return MappedQuerySet(selectors.with_parties(selectors.dispute_list(request.user, f)), dispute_out)


@router.post("/disputes/from-case/{case_id}", response={201: DisputeDetailOut})
def create_for_case(request: HttpRequest, case_id: int, payload: FromCaseIn) -> Status[dict[str, Any]]:
    dispute = services.dispute_create_for_case(
        actor=request.user,  # type: ignore[arg-type]
        case_id=case_id,
        dispute_type=payload.dispute_type,
        parties=[_party_input(p) for p in payload.parties],
        people_count=payload.people_count,
        amount=payload.amount,
        risk_level=payload.risk_level,
        flags=payload.flags,
        risk_note=payload.risk_note,
    )
    return Status(201, _detail(request, dispute.pk))


@router.get("/disputes/{dispute_id}", response=DisputeDetailOut)
def get_dispute(request: HttpRequest, dispute_id: int) -> dict[str, Any]:
    return _detail(request, dispute_id)


@router.patch("/disputes/{dispute_id}", response=DisputeDetailOut)
def update_dispute(request: HttpRequest, dispute_id: int, payload: DisputePatch) -> dict[str, Any]:
    amount: Any = "keep"
    if payload.clear_amount:
        amount = None
    elif payload.amount is not None:
        amount = payload.amount
    services.dispute_update(
        actor=request.user,  # type: ignore[arg-type]
        dispute_id=selectors.dispute_detail(request.user, dispute_id).pk,
        dispute_type=payload.dispute_type,
        people_count=payload.people_count,
        amount=amount,
    )
    return _detail(request, dispute_id)


@router.post("/disputes/{dispute_id}/actions/{action}", response=DisputeDetailOut)
def dispute_action(request: HttpRequest, dispute_id: int, action: str, payload: ActionIn) -> dict[str, Any]:
    dispute = selectors.dispute_detail(request.user, dispute_id)
    case_transition(
        actor=request.user,  # type: ignore[arg-type]
        case_id=dispute.case_id,
        action=action,
        note=payload.note,
        data=payload.data,
        attachments=_uploads(payload.attachments),
        ip=client_ip(request),
    )
    return _detail(request, dispute_id)


@router.post("/disputes/{dispute_id}/parties", response={201: PartyOut})
def add_party(request: HttpRequest, dispute_id: int, payload: PartyIn) -> Status[dict[str, Any]]:
    dispute = selectors.dispute_detail(request.user, dispute_id)
    row = services.party_add(actor=request.user, dispute_id=dispute.pk, party=_party_input(payload))  # type: ignore[arg-type]
    view = next(
        p
        for p in selectors.party_views(dispute, names_clear=selectors.names_clear_for(request.user, dispute))
        if p.id == row.pk
    )
    return Status(201, view.__dict__)


@router.put("/disputes/{dispute_id}/parties/{party_id}", response=PartyOut)
def update_party(request: HttpRequest, dispute_id: int, party_id: int, payload: PartyIn) -> dict[str, Any]:
    dispute = selectors.dispute_detail(request.user, dispute_id)
    if not dispute.parties.filter(pk=party_id).exists():
        from django.http import Http404

        raise Http404
    services.party_update(actor=request.user, party_id=party_id, party=_party_input(payload))  # type: ignore[arg-type]
    views = selectors.party_views(dispute, names_clear=selectors.names_clear_for(request.user, dispute))
    return next(p for p in views if p.id == party_id).__dict__


@router.post("/disputes/{dispute_id}/parties/{party_id}/reveal", response=PartyClearOut)
def reveal_party(request: HttpRequest, dispute_id: int, party_id: int, payload: RevealIn) -> dict[str, Any]:
    dispute = selectors.dispute_detail(request.user, dispute_id)
    if not dispute.parties.filter(pk=party_id).exists():
        from django.http import Http404

        raise Http404
    clear = services.party_reveal(
        actor=request.user,  # type: ignore[arg-type]
        party_id=party_id,
        reason=payload.reason,
        ip=client_ip(request),
    )
    return {k: clear[k] for k in ("name", "id_number", "phone", "address")}


@router.get("/disputes/{dispute_id}/agreements/{agreement_id}/pdf", response={200: None})
def agreement_pdf(request: HttpRequest, dispute_id: int, agreement_id: int) -> HttpResponse:
    dispute = selectors.dispute_detail(request.user, dispute_id)
    agreement = get_visible_or_404(request.user, MediationAgreement, pk=agreement_id, dispute_id=dispute.pk)
    content = agreement_doc.agreement_pdf(agreement)
    services.agreement_document_opened(
        actor=request.user,  # type: ignore[arg-type]
        agreement=agreement,
        fmt="pdf",
        ip=client_ip(request),
    )
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="agreement-{agreement.pk}.pdf"'
    return response


# --- mediators -----------------------------------------------------------------------------------------------


def mediator_out(m: Mediator) -> dict[str, Any]:
    return {
        "id": m.pk,
        "name": m.name,
        "body_kind": m.body_kind,
        "body_name": m.body_name,
        "department_id": m.department_id,
        "region_code": m.region.code,
        "region_name": m.region.name,
        "specialties": [t.code for t in m.specialties.all()],
        "specialty_note": m.specialty_note,
        "title": m.title,
        "phone": m.phone,
        "is_active": m.is_active,
        "open_rounds": m.open_led + m.open_joined,  # type: ignore[attr-defined]
        "rounds_led": m.led_total,  # type: ignore[attr-defined]
        "agreements": m.led_agreement,  # type: ignore[attr-defined]
        "partial": m.led_partial,  # type: ignore[attr-defined]
        "failed": m.led_failed,  # type: ignore[attr-defined]
        "withdrawn": m.led_withdrawn,  # type: ignore[attr-defined]
        "success_rate": selectors.mediator_success_rate(m),
    }


def _mediator_input(p: MediatorIn) -> services.MediatorInput:
    return services.MediatorInput(**p.dict())


@router.get("/mediators", response=list[MediatorOut])
@paginate(LimitOffsetPagination)
def list_mediators(request: HttpRequest, region: str | None = None, q: str | None = None):  # type: ignore[no-untyped-def]
    return MappedQuerySet(selectors.mediator_list(request.user, region=region, text=q), mediator_out)


@router.post("/mediators", response={201: MediatorOut})
def create_mediator(request: HttpRequest, payload: MediatorIn) -> Status[dict[str, Any]]:
    m = services.mediator_create(actor=request.user, data=_mediator_input(payload))  # type: ignore[arg-type]
    return Status(201, mediator_out(selectors.mediator_detail(request.user, m.pk)))


@router.get("/mediators/{mediator_id}", response=MediatorOut)
def get_mediator(request: HttpRequest, mediator_id: int) -> dict[str, Any]:
    return mediator_out(selectors.mediator_detail(request.user, mediator_id))


@router.put("/mediators/{mediator_id}", response=MediatorOut)
def update_mediator(request: HttpRequest, mediator_id: int, payload: MediatorIn) -> dict[str, Any]:
    selectors.mediator_detail(request.user, mediator_id)
    services.mediator_update(actor=request.user, mediator_id=mediator_id, data=_mediator_input(payload))  # type: ignore[arg-type]
    return mediator_out(selectors.mediator_detail(request.user, mediator_id))


# --- screening -------------------------------------------------------------------------------------------------


def _campaign_out(c: ScreeningCampaign, completion: selectors.Completion) -> dict[str, Any]:
    return {
        "id": c.pk,
        "region_code": c.region.code,
        "region_name": c.region.name,
        "title": c.title,
        "period_start": c.period_start,
        "period_end": c.period_end,
        "is_open": c.is_open,
        "grids": completion.grids,
        "reported": completion.reported,
        "found": completion.found,
        "none_found": completion.none_found,
        "completion": completion.percent,
    }


def _report_out(r: ScreeningReport) -> dict[str, Any]:
    return {
        "id": r.pk,
        "grid_id": r.grid_id,
        "grid_code": r.grid.code,
        "grid_name": r.grid.name,
        "village": r.grid.village.name,
        "status": r.status,
        "found_count": r.found_count,
        "note": r.note,
        "reported_at": r.reported_at,
    }


def _campaign_detail(request: HttpRequest, campaign_id: int) -> dict[str, Any]:
    campaign = selectors.campaign_detail(request.user, campaign_id)
    reports = selectors.campaign_reports(request.user, campaign)
    out = _campaign_out(campaign, selectors.campaign_completion(reports))
    out.update({"note": campaign.note, "reports": [_report_out(r) for r in reports]})
    return out


@router.get("/screenings", response=list[CampaignOut])
@paginate(LimitOffsetPagination)
def list_campaigns(request: HttpRequest):  # type: ignore[no-untyped-def]
    def row(c: Any) -> dict[str, Any]:
        return _campaign_out(
            c,
            selectors.Completion(
                grids=c.grids, reported=c.reported, found=c.found, none_found=c.reported - c.found
            ),
        )

    return MappedQuerySet(selectors.campaign_list(request.user), row)


@router.post("/screenings", response={201: CampaignDetailOut})
def open_campaign(request: HttpRequest, payload: CampaignIn) -> Status[dict[str, Any]]:
    campaign = services.screening_open(
        actor=request.user,  # type: ignore[arg-type]
        region_code=payload.region_code,
        period_start=payload.period_start,
        period_end=payload.period_end,
        title=payload.title,
        note=payload.note,
    )
    return Status(201, _campaign_detail(request, campaign.pk))


@router.get("/screenings/{campaign_id}", response=CampaignDetailOut)
def get_campaign(request: HttpRequest, campaign_id: int) -> dict[str, Any]:
    return _campaign_detail(request, campaign_id)


@router.post("/screenings/{campaign_id}/close", response=CampaignDetailOut)
def close_campaign(request: HttpRequest, campaign_id: int) -> dict[str, Any]:
    services.screening_close(actor=request.user, campaign_id=campaign_id)  # type: ignore[arg-type]
    return _campaign_detail(request, campaign_id)


@router.post("/screenings/{campaign_id}/grids/{grid_id}/none", response=GridReportOut)
def report_none_found(
    request: HttpRequest, campaign_id: int, grid_id: int, payload: NoneFoundIn
) -> dict[str, Any]:
    report = services.screening_report_none(
        actor=request.user,  # type: ignore[arg-type]
        campaign_id=campaign_id,
        grid_id=grid_id,
        note=payload.note,
    )
    return _report_out(services.report_for(request.user, campaign_id, report.grid_id))
