"""Writes on disputes: one-stop intake, parties, risk, mediators, screening, the follow-up sweep.

State changes of a dispute are case transitions (``cases.services.case_transition``); the dispute
actions' handlers are in ``workflow.py``. Every service here takes keyword-only arguments with a
required ``actor``, runs in one transaction (locking the case row when it touches a dispute, so it
serialises with the transitions), writes its audit or timeline row in that transaction and
notifies after commit.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from functools import partial
from typing import Any

from django.db import connection, transaction
from django.db.models import Max, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from zongzhi.cases import services as case_services
from zongzhi.cases.attachments import UploadedFile
from zongzhi.cases.models import Case, CaseKind, CaseState, Category
from zongzhi.core.audit import audit_record
from zongzhi.core.crypto import blind_index, decrypt, encrypt, sm3_hex
from zongzhi.core.errors import Conflict, FieldError, NotFound, PermissionDeniedError
from zongzhi.notifications.services import notify
from zongzhi.orgs.models import Department, Grid, GridMembership, Region, RegionLevel, User
from zongzhi.orgs.paths import is_within, subtree_q
from zongzhi.orgs.roles import Perm
from zongzhi.orgs.scoping import user_can, user_can_anywhere, users_who_can, visible_to

from . import rules
from .models import (
    AgreementCounter,
    Dispute,
    DisputeFlag,
    DisputeSettings,
    DisputeType,
    Gender,
    IdType,
    Mediation,
    MediationAgreement,
    Mediator,
    MediatorBody,
    Outcome,
    Party,
    PartyKind,
    PartyRole,
    Performance,
    RiskAssessment,
    RiskFlagType,
    RiskLevel,
    ScreeningCampaign,
    ScreeningReport,
    ScreeningStatus,
)

# --- settings and small helpers -------------------------------------------------------------------------


def dispute_settings() -> DisputeSettings:
    found = DisputeSettings.objects.filter(pk=1).first()
    return found if found is not None else DisputeSettings(pk=1)


def scale_of(people: int) -> str:
    s = dispute_settings()
    return rules.scale_for(people, group_min=s.group_min_people, mass_min=s.mass_min_people)


def actor_label(actor: Any) -> str:
    if actor is None:
        return _("系统")
    return str(actor)[:120]


def _user(actor: Any) -> User | None:
    return actor if isinstance(actor, User) else None


def lock_case(case_id: int) -> Case:
    qs = Case.objects.select_for_update() if connection.features.has_select_for_update else Case.objects
    case = qs.filter(pk=case_id).first()
    if case is None:
        raise NotFound(_("纠纷不存在。"))
    return case


def visible_dispute(actor: Any, dispute_id: int) -> Dispute:
    """The dispute if ``actor`` may see it (``None``: the system sees all), else ``NotFound``."""
    qs = Dispute.objects.select_related("case", "dispute_type")
    if actor is not None:
        qs = visible_to(actor, qs)
    dispute = qs.filter(pk=dispute_id).first()
    if dispute is None:
        raise NotFound(_("纠纷不存在。"))
    return dispute


def local_start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def followup_due_for(deadline: date) -> datetime:
    """The follow-up (回访) falls due when the performance deadline has passed: at the start of the
    next day, local time."""
    return local_start_of(deadline + timedelta(days=1))


# --- reading the ``data`` of an action or a form (clear errors naming the field) ---------------------------


def text_of(data: dict[str, Any], key: str, *, label: str, max_length: int, required: bool = False) -> str:
    value = str(data.get(key) or "").strip()
    if required and not value:
        raise FieldError(key, _("请填写%(label)s。") % {"label": label}, code="required")
    if len(value) > max_length:
        raise FieldError(
            key, _("%(label)s不能超过%(n)d个字。") % {"label": label, "n": max_length}, code="too_long"
        )
    return value


def choice_of(data: dict[str, Any], key: str, choices: Any, *, label: str, required: bool = True) -> str:
    value = str(data.get(key) or "").strip()
    if not value:
        if required:
            raise FieldError(key, _("请选择%(label)s。") % {"label": label}, code="required")
        return ""
    if value not in choices.values:
        raise FieldError(key, _("未知的%(label)s。") % {"label": label}, code="invalid_choice")
    return value


def date_of(data: dict[str, Any], key: str, *, label: str, required: bool = False) -> date | None:
    value = data.get(key)
    if value in (None, ""):
        if required:
            raise FieldError(key, _("请填写%(label)s。") % {"label": label}, code="required")
        return None
    if isinstance(value, datetime):
        return timezone.localdate(value) if timezone.is_aware(value) else value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError as exc:
        raise FieldError(
            key, _("%(label)s格式不正确（年-月-日）。") % {"label": label}, code="invalid"
        ) from exc


def datetime_of(data: dict[str, Any], key: str, *, label: str, required: bool = False) -> datetime | None:
    value = data.get(key)
    if value in (None, ""):
        if required:
            raise FieldError(key, _("请填写%(label)s。") % {"label": label}, code="required")
        return None
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value))
        except ValueError as exc:
            raise FieldError(
                key, _("%(label)s格式不正确（年-月-日 时:分）。") % {"label": label}, code="invalid"
            ) from exc
    return timezone.make_aware(moment) if timezone.is_naive(moment) else moment


def int_of(value: Any, key: str, *, label: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise FieldError(key, _("%(label)s须为整数。") % {"label": label}, code="invalid") from exc


# --- notifications ---------------------------------------------------------------------------------------------


def dispute_link(dispute_id: int) -> str:
    return f"/disputes/{dispute_id}/"


def notify_center(
    case: Case, dispute_id: int, title: str, perm: str, path: str | None = None, also: Sequence[int] = ()
) -> None:
    """The staff of the center at ``path`` (default: the case's owning center) holding ``perm``, and
    the users ``also`` (each told once)."""
    path = path or case.owner_path
    staff = users_who_can(perm, path).filter(grants__region_path=path, grants__department__isnull=True)
    recipients = {*staff.values_list("pk", flat=True), *also}
    notify(
        recipients=recipients,
        kind="dispute",
        title=f"{title}：{case.number}",
        body=case.title,
        link=dispute_link(dispute_id),
    )


def notify_users(users: Sequence[Any], case: Case, dispute_id: int, title: str) -> None:
    ids = [u.pk if hasattr(u, "pk") else u for u in users if u is not None]
    if ids:
        notify(
            recipients=ids,
            kind="dispute",
            title=f"{title}：{case.number}",
            body=case.title,
            link=dispute_link(dispute_id),
        )


# --- parties ---------------------------------------------------------------------------------------------------


@dataclass
class PartyInput:
    role: str
    name: str
    kind: str = PartyKind.PERSON
    gender: str = ""
    ethnicity: str = ""
    id_type: str = ""
    id_number: str = ""
    phone: str = ""
    address: str = ""
    representative: str = ""

    def digest_body(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _party_fields(p: PartyInput, prefix: str) -> dict[str, Any]:
    """The encrypted columns of a party, after checking every value (``FieldError`` names
    ``<prefix>.<field>``)."""
    name = rules.normalise(p.name)
    if p.role not in PartyRole.values:
        raise FieldError(f"{prefix}.role", _("请选择当事人身份（申请人或被申请人）。"), code="invalid_choice")
    if p.kind not in PartyKind.values:
        raise FieldError(f"{prefix}.kind", _("未知的当事人类别。"), code="invalid_choice")
    if not name:
        raise FieldError(f"{prefix}.name", _("请填写当事人姓名或名称。"), code="required")
    if len(name) > (100 if p.kind == PartyKind.ORGANIZATION else 50):
        raise FieldError(f"{prefix}.name", _("当事人姓名或名称过长。"), code="too_long")
    if p.gender and p.gender not in Gender.values:
        raise FieldError(f"{prefix}.gender", _("未知的性别。"), code="invalid_choice")
    if len(p.ethnicity.strip()) > 20:
        raise FieldError(f"{prefix}.ethnicity", _("民族不能超过20个字。"), code="too_long")
    if len(p.address.strip()) > 200:
        raise FieldError(f"{prefix}.address", _("住址不能超过200个字。"), code="too_long")
    if len(p.representative.strip()) > 50:
        raise FieldError(f"{prefix}.representative", _("法定代表人/代理人不能超过50个字。"), code="too_long")
    id_number = ""
    id_type = p.id_type
    if p.id_number.strip():
        if not id_type:
            id_type = IdType.CREDIT_CODE if p.kind == PartyKind.ORGANIZATION else IdType.ID_CARD
        if id_type not in IdType.values:
            raise FieldError(f"{prefix}.id_type", _("未知的证件类型。"), code="invalid_choice")
        try:
            id_number = rules.check_id_number(id_type, p.id_number)
        except rules.PartyDataError as exc:
            raise FieldError(f"{prefix}.{exc.field}", exc.message, code=exc.code) from exc
    else:
        id_type = ""
    phone = ""
    if p.phone.strip():
        try:
            phone = rules.check_phone(p.phone)
        except rules.PartyDataError as exc:
            raise FieldError(f"{prefix}.{exc.field}", exc.message, code=exc.code) from exc
    address = p.address.strip()
    return {
        "role": p.role,
        "kind": p.kind,
        "name_enc": encrypt(name),
        "name_index": blind_index(name, purpose="party_name"),
        "gender": p.gender if p.kind == PartyKind.PERSON else "",
        "ethnicity": p.ethnicity.strip() if p.kind == PartyKind.PERSON else "",
        "id_type": id_type,
        "id_number_enc": encrypt(id_number) if id_number else "",
        "id_number_index": blind_index(id_number, purpose="id_number") if id_number else "",
        "phone_enc": encrypt(phone) if phone else "",
        "phone_index": blind_index(phone, purpose="phone") if phone else "",
        "address_enc": encrypt(address) if address else "",
        "representative": p.representative.strip(),
    }


def _check_parties(parties: Sequence[PartyInput]) -> list[dict[str, Any]]:
    fields = [_party_fields(p, f"parties.{i}") for i, p in enumerate(parties)]
    roles = {f["role"] for f in fields}
    if PartyRole.APPLICANT not in roles:
        raise FieldError("parties", _("至少需要一名申请人。"), code="applicant_required")
    if PartyRole.RESPONDENT not in roles:
        raise FieldError("parties", _("至少需要一名被申请人。"), code="respondent_required")
    if len(fields) > 50:
        raise FieldError("parties", _("当事人不能超过50个。"), code="too_many")
    return fields


def party_clear(party: Party) -> dict[str, str]:
    """A party's values in clear (for the agreement document and audited reveals only)."""
    return {
        "role": party.role,
        "role_label": str(PartyRole(party.role).label),
        "kind": party.kind,
        "name": decrypt(party.name_enc),
        "gender": str(Gender(party.gender).label) if party.gender else "",
        "ethnicity": party.ethnicity,
        "id_type": str(IdType(party.id_type).label) if party.id_type else "",
        "id_number": decrypt(party.id_number_enc) if party.id_number_enc else "",
        "phone": decrypt(party.phone_enc) if party.phone_enc else "",
        "address": decrypt(party.address_enc) if party.address_enc else "",
        "representative": party.representative,
    }


def _require_party_editor(actor: Any, case: Case) -> None:
    if actor is None:
        return
    if not (
        user_can(actor, Perm.DISPUTE_MEDIATE, case.region_path)
        or user_can(actor, Perm.CASE_ACCEPT, case.owner_path)
    ):
        raise PermissionDeniedError(_("无权修改当事人信息。"))


def party_add(*, actor: User | None, dispute_id: int, party: PartyInput) -> Party:
    """Add a party to an open dispute (audited)."""
    dispute = visible_dispute(actor, dispute_id)
    with transaction.atomic():
        case = lock_case(dispute.case_id)
        _require_party_editor(actor, case)
        if case.state in (CaseState.ARCHIVED, CaseState.DECLINED):
            raise Conflict(_("纠纷已结束，不能再增加当事人。"), code="closed", current_state=case.state)
        fields = _party_fields(party, "party")
        order = (Party.objects.filter(dispute=dispute).aggregate(m=Max("sort_order"))["m"] or 0) + 1
        row = Party.objects.create(
            dispute=dispute, sort_order=order, region_path=dispute.region_path, **fields
        )
        audit_record(actor=actor or "system", action="disputes.party_add", obj=row, data={"role": row.role})
    return row


def party_update(*, actor: User | None, party_id: int, party: PartyInput) -> Party:
    """Correct a party's details (audited; an issued agreement keeps the details it was signed with)."""
    qs = Party.objects.select_related("dispute")
    row = (visible_to(actor, qs) if actor is not None else qs).filter(pk=party_id).first()
    if row is None:
        raise NotFound(_("当事人不存在。"))
    with transaction.atomic():
        case = lock_case(row.dispute.case_id)
        _require_party_editor(actor, case)
        fields = _party_fields(party, "party")
        if (
            fields["role"] != row.role
            and not Party.objects.filter(dispute_id=row.dispute_id, role=row.role).exclude(pk=row.pk).exists()
        ):
            raise FieldError("party.role", _("纠纷须至少保留一名申请人和一名被申请人。"), code="last_of_role")
        for key, value in fields.items():
            setattr(row, key, value)
        row.save()
        audit_record(actor=actor or "system", action="disputes.party_update", obj=row)
    return row


def party_reveal(*, actor: User, party_id: int, reason: str, ip: str | None = None) -> dict[str, str]:
    """A party's clear ID number, phone and address for someone who mediates in its region, with a
    stated reason; audited (``disputes.party_reveal``)."""
    reason = reason.strip()
    if len(reason) < 2:
        raise FieldError("reason", _("请填写查看完整信息的事由。"), code="required")
    row = visible_to(actor, Party.objects.select_related("dispute")).filter(pk=party_id).first()
    if row is None:
        raise NotFound(_("当事人不存在。"))
    if not user_can(actor, Perm.DISPUTE_MEDIATE, row.region_path):
        raise PermissionDeniedError(_("无权查看当事人完整信息。"))
    with transaction.atomic():
        audit_record(
            actor=actor, action="disputes.party_reveal", obj=row, ip=ip, data={"reason": reason[:200]}
        )
    return party_clear(row)


# --- risk --------------------------------------------------------------------------------------------------------


def flag_types_by_code(codes: Sequence[str], key: str = "flags") -> list[RiskFlagType]:
    wanted = sorted({str(c).strip() for c in codes if str(c).strip()})
    found = {f.code: f for f in RiskFlagType.objects.filter(code__in=wanted, is_active=True)}
    missing = [c for c in wanted if c not in found]
    if missing:
        raise FieldError(
            key, _("未知的风险信号：%(codes)s") % {"codes": "、".join(missing)}, code="invalid_choice"
        )
    return [found[c] for c in wanted]


@dataclass
class AssessmentResult:
    assessment: RiskAssessment
    raised: list[str]
    cleared: list[str]
    previous_level: str


def record_assessment(
    *,
    dispute: Dispute,
    risk_level: str,
    flags: Sequence[RiskFlagType] | None,
    note: str,
    actor: Any,
    now: datetime,
) -> AssessmentResult:
    """Write one assessment (history row), raise the new flags and clear the dropped ones, each with
    who and when; update the dispute's current level. ``flags=None`` keeps the flags as they are.
    The caller holds the case lock."""
    active = {
        f.flag_type.code: f
        for f in DisputeFlag.objects.filter(dispute=dispute, cleared_at__isnull=True).select_related(
            "flag_type"
        )
    }
    raised: list[str] = []
    cleared: list[str] = []
    if flags is not None:
        wanted = {f.code: f for f in flags}
        for code, flag_type in wanted.items():
            if code not in active:
                DisputeFlag.objects.create(
                    dispute=dispute,
                    flag_type=flag_type,
                    raised_by=_user(actor),
                    raised_by_label=actor_label(actor),
                    raised_at=now,
                    region_path=dispute.region_path,
                )
                raised.append(code)
        for code, row in active.items():
            if code not in wanted:
                row.cleared_by = _user(actor)
                row.cleared_by_label = actor_label(actor)
                row.cleared_at = now
                row.save(update_fields=["cleared_by", "cleared_by_label", "cleared_at"])
                cleared.append(code)
        current = sorted(wanted)
    else:
        current = sorted(active)
    assessment = RiskAssessment.objects.create(
        dispute=dispute,
        risk_level=risk_level,
        flags=current,
        note=note,
        assessed_by=_user(actor),
        assessed_by_label=actor_label(actor),
        assessed_at=now,
        region_path=dispute.region_path,
    )
    previous = dispute.risk_level
    dispute.risk_level = risk_level
    dispute.updated_at = now
    dispute.save(update_fields=["risk_level", "updated_at"])
    return AssessmentResult(assessment=assessment, raised=raised, cleared=cleared, previous_level=previous)


def escalation_advice_for(dispute: Dispute, case: Case | None = None) -> rules.EscalationAdvice:
    case = case or dispute.case
    owner_level = (
        Region.objects.filter(pk=case.owner_region_id).values_list("level", flat=True).first() or "village"
    )
    flags = DisputeFlag.objects.filter(dispute=dispute, cleared_at__isnull=True).count()
    return rules.escalation_advice(
        risk_level=dispute.risk_level, scale=dispute.scale, owner_level=owner_level, flag_count=flags
    )


def warn_parent_center(case: Case, dispute_id: int) -> None:
    """A high-risk dispute owned below its level: the parent center is told (预警), the decision to
    escalate stays with the owning center."""
    owner = Region.objects.select_related("parent").get(pk=case.owner_region_id)
    if owner.parent is not None:
        notify_center(case, dispute_id, _("高风险矛盾纠纷预警"), Perm.CASE_ACCEPT, path=owner.parent.path)


# --- one-stop intake ------------------------------------------------------------------------------------------


@dataclass
class DisputeInput:
    """What the window (or a grid worker) records about a new dispute."""

    title: str
    description: str
    dispute_type: str  # DisputeType.code
    region_code: str
    parties: Sequence[PartyInput]
    channel: str = "walk_in"
    people_count: int = 2
    amount: Decimal | str | None = None
    risk_level: str = RiskLevel.LOW
    flags: Sequence[str] = ()
    risk_note: str = ""
    urgency: str = "normal"
    address: str = ""
    lon: float | None = None
    lat: float | None = None
    accept: bool = True  # the window registers and accepts in one go (一站式受理)
    resolved_on_site: bool = False  # a grid worker settled it on the spot (当场化解)
    result: str = ""
    screening_report_id: int | None = None
    attachments: Sequence[UploadedFile] = field(default_factory=list)

    def digest(self) -> str:
        body = {k: v for k, v in self.__dict__.items() if k not in ("attachments", "parties")}
        body["parties"] = [p.digest_body() for p in self.parties]
        return sm3_hex(json.dumps(body, sort_keys=True, ensure_ascii=False, default=str).encode())


@dataclass
class IntakeResult:
    dispute: Dispute
    tracking_code: str | None
    created: bool


def _amount(value: Any) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        amount = Decimal(str(value).replace(",", "").strip())
    except InvalidOperation as exc:
        raise FieldError("amount", _("涉及金额须为数字（元）。"), code="invalid") from exc
    if not amount.is_finite() or amount < 0 or amount >= Decimal("1e12"):
        raise FieldError("amount", _("涉及金额须在0到一万亿元之间。"), code="out_of_range")
    return amount.quantize(Decimal("0.01"))


def _dispute_type(code: str) -> DisputeType:
    found = DisputeType.objects.filter(code=(code or "").strip(), is_active=True).first()
    if found is None:
        raise FieldError(
            "dispute_type",
            _("请选择纠纷类型。") if not code else _("未知的纠纷类型。"),
            code="invalid_choice",
        )
    return found


def _screening_report_for(actor: Any, report_id: int) -> ScreeningReport:
    qs = ScreeningReport.objects.select_related("campaign", "grid", "grid__village")
    report = (visible_to(actor, qs) if actor is not None else qs).filter(pk=report_id).first()
    if report is None:
        raise FieldError("screening_report_id", _("排查记录不存在。"), code="not_found")
    if not report.campaign.is_open:
        raise Conflict(_("该排查已结束。"), code="campaign_closed")
    _require_grid_reporter(actor, report)
    return report


def dispute_intake(
    *,
    actor: User | None,
    data: DisputeInput,
    idempotency_key: str | None = None,
    ip: str | None = None,
    now: datetime | None = None,
) -> IntakeResult:
    """One-stop intake (一站式受理): register the case of kind ``dispute``, accept it at once when the
    registering center may (``data.accept``), and create the dispute record with its parties and the
    first risk assessment — all in one transaction, or nothing.

    A grid worker may record a dispute settled on the spot (``resolved_on_site``: outcome
    "当场化解", counted as resolved at village level) and link it to a screening campaign's grid
    report, which then counts as "disputes found". Retrying with the same ``idempotency_key`` and
    body returns the first dispute; the same key with another body is refused (422)."""
    now = now or timezone.now()
    dispute_type = _dispute_type(data.dispute_type)
    try:
        people = int(data.people_count)
    except (TypeError, ValueError) as exc:
        raise FieldError("people_count", _("涉及人数须为整数。"), code="invalid") from exc
    if people < 1 or people > 100000:
        raise FieldError("people_count", _("涉及人数须在1到100000之间。"), code="out_of_range")
    amount = _amount(data.amount)
    if data.risk_level not in RiskLevel.values:
        raise FieldError("risk_level", _("未知的风险等级。"), code="invalid_choice")
    flag_types = flag_types_by_code(list(data.flags))
    if len(data.risk_note) > 2000:
        raise FieldError("risk_note", _("风险评估说明不能超过2000个字。"), code="too_long")
    party_fields = _check_parties(data.parties)
    digest = data.digest()
    report = _screening_report_for(actor, data.screening_report_id) if data.screening_report_id else None
    category = None
    if dispute_type.category_code:
        category = Category.objects.filter(code=dispute_type.category_code, is_active=True).first()
    report_input = case_services.ReportInput(
        channel=data.channel,
        kind=CaseKind.DISPUTE,
        title=data.title,
        description=data.description,
        category_code=category.code if category else None,
        urgency=data.urgency,
        region_code=data.region_code,
        is_anonymous=True,  # the parties are recorded (encrypted) on the dispute, not as reporter
        address=data.address,
        lon=data.lon,
        lat=data.lat,
        resolved_on_site=data.resolved_on_site,
        result=data.result,
        attachments=data.attachments,
    )
    with transaction.atomic():
        result = case_services.case_report(
            actor=actor,
            data=report_input,
            idempotency_key=f"dispute:{idempotency_key}" if idempotency_key else None,
            ip=ip,
            now=now,
        )
        case = result.case
        if not result.created:
            existing = Dispute.objects.filter(case=case).first()
            if existing is None or existing.intake_digest != digest:
                raise FieldError(
                    "Idempotency-Key", _("该幂等键已用于内容不同的请求。"), code="idempotency_key_reused"
                )
            return IntakeResult(dispute=existing, tracking_code=None, created=False)
        if report is not None:
            grid_village = report.grid.village
            if not is_within(case.region_path, grid_village.path):
                raise FieldError(
                    "region_code", _("纠纷所在区域须在该网格所属村（社区）内。"), code="out_of_grid"
                )
            if case.grid_id is None:
                Case.objects.filter(pk=case.pk).update(grid=report.grid)
                case.grid = report.grid
        owner_level = Region.objects.filter(pk=case.owner_region_id).values_list("level", flat=True).get()
        dispute = Dispute.objects.create(
            case=case,
            dispute_type=dispute_type,
            amount=amount,
            people_count=people,
            scale=scale_of(people),
            risk_level=data.risk_level,
            outcome=Outcome.ON_SITE if data.resolved_on_site else "",
            outcome_at=now if data.resolved_on_site else None,
            resolved_level=RegionLevel.VILLAGE if data.resolved_on_site else "",
            screening_report=report,
            region_path=case.region_path,
            intake_digest=digest,
            created_by=actor,
            created_at=now,
            updated_at=now,
        )
        for i, fields in enumerate(party_fields):
            Party.objects.create(dispute=dispute, sort_order=i + 1, region_path=case.region_path, **fields)
        record_assessment(
            dispute=dispute,
            risk_level=data.risk_level,
            flags=flag_types,
            note=data.risk_note,
            actor=actor,
            now=now,
        )
        if report is not None:
            _mark_found(report, actor, now)
        if (
            data.accept
            and not data.resolved_on_site
            and actor is not None
            and user_can(actor, Perm.CASE_ACCEPT, case.owner_path)
        ):
            case = case_services.case_transition(actor=actor, case_id=case.pk, action="accept", now=now)
        advice = rules.escalation_advice(
            risk_level=dispute.risk_level,
            scale=dispute.scale,
            owner_level=owner_level,
            flag_count=len(flag_types),
        )
        if advice.suggested and dispute.risk_level in (RiskLevel.HIGH, RiskLevel.MAJOR):
            transaction.on_commit(lambda: warn_parent_center(case, dispute.pk), robust=True)
    dispute.case = case
    return IntakeResult(dispute=dispute, tracking_code=result.tracking_code, created=True)


def dispute_create_for_case(
    *,
    actor: User | None,
    case_id: int,
    dispute_type: str,
    parties: Sequence[PartyInput],
    people_count: int = 2,
    amount: Any = None,
    risk_level: str = RiskLevel.LOW,
    flags: Sequence[str] = (),
    risk_note: str = "",
    now: datetime | None = None,
) -> Dispute:
    """Complete the record (建档) of a case of kind ``dispute`` registered elsewhere (hotline, web,
    a grid worker's patrol report), so that it can be mediated."""
    now = now or timezone.now()
    qs = Case.objects.all()
    case = (visible_to(actor, qs) if actor is not None else qs).filter(pk=case_id).first()
    if case is None:
        raise NotFound(_("案件不存在。"))
    if case.kind != CaseKind.DISPUTE:
        raise Conflict(
            _("只有矛盾纠纷类事件可以建立纠纷档案。"), code="not_a_dispute", current_state=case.state
        )
    if actor is not None and not (
        user_can(actor, Perm.CASE_ACCEPT, case.owner_path)
        or user_can(actor, Perm.DISPUTE_MEDIATE, case.region_path)
    ):
        raise PermissionDeniedError(_("无权建立纠纷档案。"))
    kind = _dispute_type(dispute_type)
    try:
        people = int(people_count)
    except (TypeError, ValueError) as exc:
        raise FieldError("people_count", _("涉及人数须为整数。"), code="invalid") from exc
    if people < 1 or people > 100000:
        raise FieldError("people_count", _("涉及人数须在1到100000之间。"), code="out_of_range")
    if risk_level not in RiskLevel.values:
        raise FieldError("risk_level", _("未知的风险等级。"), code="invalid_choice")
    value = _amount(amount)
    flag_types = flag_types_by_code(list(flags))
    party_fields = _check_parties(parties)
    with transaction.atomic():
        case = lock_case(case.pk)
        if Dispute.objects.filter(case=case).exists():
            raise Conflict(_("该事件已建立纠纷档案。"), code="exists", current_state=case.state)
        if case.state == CaseState.DECLINED:
            raise Conflict(_("不予受理的事件不能建档。"), code="declined", current_state=case.state)
        on_site = case.resolved_on_site
        dispute = Dispute.objects.create(
            case=case,
            dispute_type=kind,
            amount=value,
            people_count=people,
            scale=scale_of(people),
            risk_level=risk_level,
            outcome=Outcome.ON_SITE if on_site else "",
            outcome_at=case.resolved_at if on_site else None,
            resolved_level=RegionLevel.VILLAGE if on_site else "",
            region_path=case.region_path,
            created_by=actor,
            created_at=now,
            updated_at=now,
        )
        for i, fields in enumerate(party_fields):
            Party.objects.create(dispute=dispute, sort_order=i + 1, region_path=case.region_path, **fields)
        record_assessment(
            dispute=dispute, risk_level=risk_level, flags=flag_types, note=risk_note, actor=actor, now=now
        )
        audit_record(
            actor=actor or "system",
            action="disputes.create_for_case",
            obj=dispute,
            data={"case": case.number},
        )
    return dispute


def dispute_update(
    *,
    actor: User | None,
    dispute_id: int,
    dispute_type: str | None = None,
    people_count: int | None = None,
    amount: Any = "keep",
) -> Dispute:
    """Correct the type, number of people (the scale follows) or the amount (audited)."""
    dispute = visible_dispute(actor, dispute_id)
    with transaction.atomic():
        case = lock_case(dispute.case_id)
        _require_party_editor(actor, case)
        dispute = Dispute.objects.get(pk=dispute.pk)
        changed: dict[str, Any] = {}
        if dispute_type is not None:
            kind = _dispute_type(dispute_type)
            if kind.pk != dispute.dispute_type_id:
                dispute.dispute_type = kind
                changed["dispute_type"] = kind.code
        if people_count is not None:
            people = int_of(people_count, "people_count", label=_("涉及人数"))
            if people < 1 or people > 100000:
                raise FieldError("people_count", _("涉及人数须在1到100000之间。"), code="out_of_range")
            dispute.people_count = people
            dispute.scale = scale_of(people)
            changed["people_count"] = people
        if amount != "keep":
            dispute.amount = _amount(amount)
            changed["amount"] = str(dispute.amount) if dispute.amount is not None else None
        dispute.updated_at = timezone.now()
        dispute.save()
        audit_record(actor=actor or "system", action="disputes.update", obj=dispute, data=changed)
    return dispute


# --- agreements --------------------------------------------------------------------------------------------


def next_agreement_number(region: Region, year: int) -> str:
    """（2026）北山调字第001号: a yearly sequence per short name of the mediating region (an upsert: no
    two agreements get the same number, on SQLite and PostgreSQL alike). The sequence belongs to the
    short name, not to the region: 北山街道 and its 北山社区 share "北山", so they share the sequence
    too, and their numbers never collide."""
    short = rules.region_short_name(region.name)
    key = f"{year}:{short}"[:24]  # a truncated key only makes two prefixes share a sequence
    table = AgreementCounter._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (key, last) VALUES (%s, 1) "  # noqa: S608 - table name is ours
            f"ON CONFLICT (key) DO UPDATE SET last = {table}.last + 1 RETURNING last",
            [key],
        )
        (seq,) = cursor.fetchone()
    return rules.agreement_number(year, short, seq)


def agreement_parties(agreement: MediationAgreement) -> list[dict[str, str]]:
    parties: list[dict[str, str]] = json.loads(decrypt(agreement.parties_enc))
    return parties


def agreement_document_opened(
    *, actor: User, agreement: MediationAgreement, fmt: str, ip: str | None = None
) -> None:
    """Printing or downloading an agreement shows the parties' personal data: audited."""
    with transaction.atomic():
        audit_record(
            actor=actor, action="disputes.agreement_document", obj=agreement, ip=ip, data={"format": fmt}
        )


# --- mediators -----------------------------------------------------------------------------------------------


@dataclass
class MediatorInput:
    name: str
    body_kind: str
    body_name: str
    region_code: str
    department_id: int | None = None
    user_id: int | None = None
    specialty_codes: Sequence[str] = ()
    specialty_note: str = ""
    title: str = ""
    phone: str = ""
    is_active: bool = True


def _mediator_values(actor: Any, data: MediatorInput) -> dict[str, Any]:
    name = text_of({"name": data.name}, "name", label=_("姓名"), max_length=50, required=True)
    if data.body_kind not in MediatorBody.values:
        raise FieldError("body_kind", _("请选择所属组织类别。"), code="invalid_choice")
    body = text_of(
        {"body_name": data.body_name}, "body_name", label=_("所属组织"), max_length=120, required=True
    )
    region = Region.objects.filter(code=(data.region_code or "").strip()).first()
    if region is None:
        raise FieldError("region_code", _("未知的区域代码。"), code="invalid_choice")
    if actor is not None and not user_can(actor, Perm.CASE_DISPATCH, region):
        raise FieldError("region_code", _("所选区域不在您的管辖范围内。"), code="out_of_scope")
    department = None
    if data.department_id:
        department = Department.objects.filter(pk=data.department_id, is_active=True).first()
        if department is None:
            raise FieldError("department_id", _("关联单位不存在或已停用。"), code="not_found")
        if not (
            is_within(department.region_path, region.path) or is_within(region.path, department.region_path)
        ):
            raise FieldError(
                "department_id", _("关联单位与调解员所在区域不在同一辖区。"), code="out_of_scope"
            )
    user = None
    if data.user_id:
        user = User.objects.filter(pk=data.user_id, is_active=True).first()
        if user is None:
            raise FieldError("user_id", _("系统账号不存在或已停用。"), code="not_found")
    phone = ""
    if data.phone.strip():
        try:
            phone = rules.check_phone(data.phone)
        except rules.PartyDataError as exc:
            raise FieldError("phone", exc.message, code=exc.code) from exc
    types = list(DisputeType.objects.filter(code__in=list(data.specialty_codes)))
    if len(types) != len(set(data.specialty_codes)):
        raise FieldError("specialty_codes", _("未知的纠纷类型。"), code="invalid_choice")
    return {
        "name": name,
        "body_kind": data.body_kind,
        "body_name": body,
        "region": region,
        "region_path": region.path,
        "department": department,
        "user": user,
        "specialty_note": text_of({"s": data.specialty_note}, "s", label=_("专长说明"), max_length=200),
        "title": text_of({"t": data.title}, "t", label=_("称号"), max_length=40),
        "phone": phone,
        "is_active": data.is_active,
        "_types": types,
    }


def mediator_create(*, actor: User | None, data: MediatorInput) -> Mediator:
    """Register a mediator (center staff, in their scope)."""
    values = _mediator_values(actor, data)
    types = values.pop("_types")
    with transaction.atomic():
        if values["user"] is not None and Mediator.objects.filter(user=values["user"]).exists():
            raise FieldError("user_id", _("该账号已登记为调解员。"), code="duplicate")
        mediator = Mediator.objects.create(**values)
        mediator.specialties.set(types)
        audit_record(actor=actor or "system", action="disputes.mediator_create", obj=mediator)
    return mediator


def mediator_update(*, actor: User | None, mediator_id: int, data: MediatorInput) -> Mediator:
    qs = Mediator.objects.all()
    mediator = (visible_to(actor, qs) if actor is not None else qs).filter(pk=mediator_id).first()
    if mediator is None:
        raise NotFound(_("调解员不存在。"))
    if actor is not None and not user_can(actor, Perm.CASE_DISPATCH, mediator.region_path):
        raise PermissionDeniedError(_("无权维护该调解员。"))
    values = _mediator_values(actor, data)
    types = values.pop("_types")
    with transaction.atomic():
        if (
            values["user"] is not None
            and Mediator.objects.filter(user=values["user"]).exclude(pk=mediator.pk).exists()
        ):
            raise FieldError("user_id", _("该账号已登记为调解员。"), code="duplicate")
        for key, value in values.items():
            setattr(mediator, key, value)
        mediator.save()
        mediator.specialties.set(types)
        audit_record(actor=actor or "system", action="disputes.mediator_update", obj=mediator)
    return mediator


# --- screening (排查) -------------------------------------------------------------------------------------------


def screening_open(
    *,
    actor: User | None,
    region_code: str,
    period_start: date,
    period_end: date,
    title: str = "",
    note: str = "",
    now: datetime | None = None,
) -> ScreeningCampaign:
    """A township opens a screening campaign for a period (weekly by custom): one report row per
    active grid of the township, each "未报" until its grid worker reports."""
    now = now or timezone.now()
    region = Region.objects.filter(code=(region_code or "").strip()).first()
    if region is None:
        raise FieldError("region_code", _("未知的区域代码。"), code="invalid_choice")
    if region.level != RegionLevel.TOWNSHIP:
        raise FieldError(
            "region_code", _("排查由乡镇（街道）发起，请选择乡镇（街道）。"), code="not_township"
        )
    if actor is not None and not user_can(actor, Perm.SCREENING_MANAGE, region):
        raise FieldError("region_code", _("所选区域不在您的管辖范围内。"), code="out_of_scope")
    if period_end < period_start:
        raise FieldError("period_end", _("结束日期不能早于开始日期。"), code="bad_range")
    if (period_end - period_start).days > 92:
        raise FieldError("period_end", _("一次排查最长三个月。"), code="too_long")
    if len(note) > 2000:
        raise FieldError("note", _("排查要求不能超过2000个字。"), code="too_long")
    title = title.strip() or _("%(name)s矛盾纠纷排查（%(start)s至%(end)s）") % {
        "name": region.name,
        "start": period_start.isoformat(),
        "end": period_end.isoformat(),
    }
    if len(title) > 100:
        raise FieldError("title", _("名称不能超过100个字。"), code="too_long")
    with transaction.atomic():
        if ScreeningCampaign.objects.filter(
            region=region, period_start=period_start, period_end=period_end, closed_at__isnull=True
        ).exists():
            raise Conflict(_("该期间的排查已发起。"), code="duplicate")
        campaign = ScreeningCampaign.objects.create(
            region=region,
            region_path=region.path,
            title=title,
            period_start=period_start,
            period_end=period_end,
            note=note.strip(),
            opened_by=actor,
            opened_at=now,
        )
        grids = Grid.objects.filter(subtree_q("region_path", [region.path]), is_active=True).order_by("code")
        ScreeningReport.objects.bulk_create(
            [ScreeningReport(campaign=campaign, grid=g, region_path=g.region_path) for g in grids]
        )
        audit_record(actor=actor or "system", action="disputes.screening_open", obj=campaign)
    grid_ids = list(grids.values_list("pk", flat=True))
    transaction.on_commit(lambda: _notify_grid_workers(campaign, grid_ids), robust=True)
    return campaign


def _notify_grid_workers(campaign: ScreeningCampaign, grid_ids: list[int]) -> None:
    users = set(
        GridMembership.objects.filter(grid_id__in=grid_ids, user__is_active=True).values_list(
            "user_id", flat=True
        )
    )
    if users:
        notify(
            recipients=users,
            kind="screening",
            title=_("请开展矛盾纠纷排查：%(t)s") % {"t": campaign.title},
            link=f"/m/screenings/{campaign.pk}/",
        )


def screening_close(
    *, actor: User | None, campaign_id: int, now: datetime | None = None
) -> ScreeningCampaign:
    qs = ScreeningCampaign.objects.all()
    campaign = (visible_to(actor, qs) if actor is not None else qs).filter(pk=campaign_id).first()
    if campaign is None:
        raise NotFound(_("排查不存在。"))
    if actor is not None and not user_can(actor, Perm.SCREENING_MANAGE, campaign.region_path):
        raise PermissionDeniedError(_("无权结束该排查。"))
    with transaction.atomic():
        updated = ScreeningCampaign.objects.filter(pk=campaign.pk, closed_at__isnull=True).update(
            closed_at=now or timezone.now(), closed_by=actor
        )
        if not updated:
            raise Conflict(_("该排查已结束。"), code="campaign_closed")
        campaign.refresh_from_db()
        audit_record(actor=actor or "system", action="disputes.screening_close", obj=campaign)
    return campaign


def _require_grid_reporter(actor: Any, report: ScreeningReport) -> None:
    """A grid's members report for their grid; the township's staff may report for any grid."""
    if actor is None:
        return
    if GridMembership.objects.filter(grid_id=report.grid_id, user_id=actor.pk).exists():
        return
    if user_can(actor, Perm.SCREENING_MANAGE, report.region_path):
        return
    raise PermissionDeniedError(_("只有本网格的网格员可以填报。"))


def _report_locked(actor: Any, report_id: int) -> ScreeningReport:
    qs = ScreeningReport.objects.select_related("campaign", "grid")
    visible = visible_to(actor, qs) if actor is not None else qs
    if not visible.filter(pk=report_id).exists():
        raise NotFound(_("排查记录不存在。"))
    locked = (
        ScreeningReport.objects.select_for_update()
        if connection.features.has_select_for_update
        else ScreeningReport.objects
    )
    return locked.select_related("campaign", "grid").get(pk=report_id)


def report_for(actor: Any, campaign_id: int, grid_id: int) -> ScreeningReport:
    qs = ScreeningReport.objects.select_related("campaign", "grid", "grid__village")
    report = (
        (visible_to(actor, qs) if actor is not None else qs)
        .filter(campaign_id=campaign_id, grid_id=grid_id)
        .first()
    )
    if report is None:
        raise NotFound(_("排查记录不存在。"))
    return report


def screening_report_none(
    *, actor: User | None, campaign_id: int, grid_id: int, note: str = "", now: datetime | None = None
) -> ScreeningReport:
    """A grid reports "no dispute found" (无纠纷) for the campaign."""
    now = now or timezone.now()
    if len(note) > 2000:
        raise FieldError("note", _("情况说明不能超过2000个字。"), code="too_long")
    found = report_for(actor, campaign_id, grid_id)
    with transaction.atomic():
        report = _report_locked(actor, found.pk)
        if not report.campaign.is_open:
            raise Conflict(_("该排查已结束。"), code="campaign_closed")
        _require_grid_reporter(actor, report)
        if report.status == ScreeningStatus.FOUND:
            raise Conflict(_("本网格已登记发现的纠纷，不能再报“无纠纷”。"), code="already_found")
        report.status = ScreeningStatus.NONE_FOUND
        report.note = note.strip()
        report.reported_by = actor
        report.reported_at = now
        report.save(update_fields=["status", "note", "reported_by", "reported_at"])
    return report


def _mark_found(report: ScreeningReport, actor: Any, now: datetime) -> None:
    locked = (
        ScreeningReport.objects.select_for_update()
        if connection.features.has_select_for_update
        else ScreeningReport.objects
    )
    row = locked.get(pk=report.pk)
    row.status = ScreeningStatus.FOUND
    row.found_count += 1
    row.reported_by = _user(actor)
    row.reported_at = now
    row.save(update_fields=["status", "found_count", "reported_by", "reported_at"])


# --- the follow-up sweep -----------------------------------------------------------------------------------------


def dispute_followup_sweep(*, now: datetime | None = None, batch_size: int = 500) -> int:
    """Raise the performance follow-up notice (回访提醒) of every agreement whose performance deadline
    has passed and whose performance is still pending (or partly performed with a new follow-up
    date): once each — a compare-and-set on ``followup_notified_at`` — to the owning center's staff
    and the lead mediator. Returns how many notices were raised; running it twice raises nothing
    twice. Meant to run periodically (huey)."""
    now = now or timezone.now()
    raised = 0
    while True:
        ids = list(
            MediationAgreement.objects.filter(
                followup_notified_at__isnull=True,
                followup_due_at__lte=now,
                performance__in=[Performance.PENDING, Performance.PARTIAL],
            )
            .order_by("followup_due_at", "pk")
            .values_list("pk", flat=True)[:batch_size]
        )
        if not ids:
            return raised
        for pk in ids:
            with transaction.atomic():
                won = MediationAgreement.objects.filter(pk=pk, followup_notified_at__isnull=True).update(
                    followup_notified_at=now
                )
                if not won:
                    continue  # another sweep got there first
                agreement = MediationAgreement.objects.select_related(
                    "dispute__case", "mediation__lead_mediator"
                ).get(pk=pk)
                raised += 1
                transaction.on_commit(partial(_notify_followup, agreement), robust=True)


def _notify_followup(agreement: MediationAgreement) -> None:
    case = agreement.dispute.case
    title = _("调解协议履行期限已到，请回访")
    lead = agreement.mediation.lead_mediator
    notify_center(
        case, agreement.dispute_id, title, Perm.DISPUTE_MEDIATE, also=[lead.user_id] if lead.user_id else []
    )


# --- configuration defaults --------------------------------------------------------------------------------------

DEFAULT_TYPES: tuple[tuple[str, str, str], ...] = (
    ("neighbour", "邻里纠纷", "0201"),
    ("family", "婚姻家庭纠纷", "0202"),
    ("land_forest", "土地山林权属纠纷", "0203"),
    ("property_management", "物业管理纠纷", "0204"),
    ("labour", "劳动劳资纠纷", "0205"),
    ("construction", "建设工程纠纷", "0206"),
    ("consumer", "消费纠纷", "0207"),
    ("medical", "医疗纠纷", "0208"),
    ("traffic", "交通事故纠纷", "0209"),
    ("debt", "债务纠纷", "0210"),
    ("environment", "环境污染纠纷", "0212"),
    ("demolition", "征地拆迁安置纠纷", "0211"),
    ("other", "其他纠纷", "0299"),
)
DEFAULT_FLAGS: tuple[tuple[str, str, str], ...] = (
    ("threat", "扬言报复或威胁他人", "当事人有扬言报复、威胁伤害对方或他人的言行"),
    ("prior_violence", "有暴力前科或已发生肢体冲突", "当事人有暴力违法犯罪记录，或双方已发生推搡、打斗"),
    ("repeated_visits", "多次上访或反复投诉", "同一事项多次到各级信访、反复投诉未果"),
    ("extreme_statement", "有极端言论", "流露轻生、同归于尽等极端言论"),
    ("weapon", "持有或扬言使用凶器、危险物品", "携带刀具、汽油等危险物品或扬言使用"),
    ("gathering", "有聚集或串联苗头", "有组织聚集、串联或扬言到党政机关聚集的苗头"),
)


_CODE_RE = re.compile(r"^[a-z][a-z0-9_]{1,23}$")
_CONFIG_FIELDS = {
    DisputeType: ("name", "category_code", "sort_order", "is_active"),
    RiskFlagType: ("name", "description", "sort_order", "is_active"),
}


def _require_config_manager(actor: Any) -> None:
    if actor is not None and not user_can_anywhere(actor, Perm.CATALOGUE_MANAGE):
        raise PermissionDeniedError(_("无权维护矛盾纠纷配置。"))


def _config_values(model: type[DisputeType] | type[RiskFlagType], values: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in values.items() if k in _CONFIG_FIELDS[model]}
    if "name" in out:
        out["name"] = text_of(out, "name", label=_("名称"), max_length=40, required=True)
    if out.get("category_code"):
        out["category_code"] = str(out["category_code"]).strip()
        if not Category.objects.filter(code=out["category_code"]).exists():
            raise FieldError("category_code", _("事项分类编码不存在。"), code="not_found")
    return out


def config_type_create(
    *, actor: User | None, model: type[DisputeType] | type[RiskFlagType], code: str, values: dict[str, Any]
) -> DisputeType | RiskFlagType:
    """Add a dispute type or an escalation-risk signal to the configurable lists (audited)."""
    _require_config_manager(actor)
    code = (code or "").strip()
    if not _CODE_RE.match(code):
        raise FieldError("code", _("编码须为2到24位小写字母、数字或下划线，以字母开头。"), code="invalid")
    fields = _config_values(model, {"name": "", **values})
    with transaction.atomic():
        if model.objects.filter(code=code).exists():
            raise FieldError("code", _("编码已存在。"), code="duplicate")
        row = model.objects.create(code=code, **fields)
        audit_record(actor=actor or "system", action="disputes.config_create", obj=row, data={"code": code})
    return row


def config_type_update(
    *, actor: User | None, row: DisputeType | RiskFlagType, changes: dict[str, Any]
) -> DisputeType | RiskFlagType:
    """Rename, re-order or (de)activate a type or signal; its code never changes (audited). A
    deactivated type is no longer offered for new disputes; the disputes already of it keep it."""
    _require_config_manager(actor)
    fields = _config_values(type(row), changes)
    with transaction.atomic():
        for key, value in fields.items():
            setattr(row, key, value)
        row.save()
        audit_record(
            actor=actor or "system",
            action="disputes.config_update",
            obj=row,
            data={"changed": sorted(fields)},
        )
    return row


def thresholds_update(*, actor: User | None, group_min_people: int, mass_min_people: int) -> DisputeSettings:
    """Set the scale thresholds (群体性 from ``group_min_people``, 重大群体性 from ``mass_min_people``
    people). They apply to disputes registered or corrected from then on: a dispute's scale is
    recorded when its number of people is (audited)."""
    _require_config_manager(actor)
    group = int_of(group_min_people, "group_min_people", label=_("群体性纠纷最少人数"))
    mass = int_of(mass_min_people, "mass_min_people", label=_("重大群体性纠纷最少人数"))
    if group < 2:
        raise FieldError("group_min_people", _("群体性纠纷最少人数不能小于2。"), code="out_of_range")
    if mass <= group:
        raise FieldError(
            "mass_min_people", _("重大群体性纠纷最少人数须大于群体性纠纷最少人数。"), code="out_of_range"
        )
    with transaction.atomic():
        row, _created = DisputeSettings.objects.update_or_create(
            pk=1, defaults={"group_min_people": group, "mass_min_people": mass}
        )
        audit_record(
            actor=actor or "system",
            action="disputes.thresholds_update",
            obj=row,
            data={"group": group, "mass": mass},
        )
    return row


def load_defaults() -> tuple[int, int]:
    """Load the default dispute types and risk flags (existing codes are kept as edited)."""
    types = flags = 0
    for order, (code, name, category) in enumerate(DEFAULT_TYPES):
        _obj, created = DisputeType.objects.get_or_create(
            code=code, defaults={"name": name, "category_code": category, "sort_order": (order + 1) * 10}
        )
        types += int(created)
    for order, (code, name, description) in enumerate(DEFAULT_FLAGS):
        _flag, created = RiskFlagType.objects.get_or_create(
            code=code, defaults={"name": name, "description": description, "sort_order": (order + 1) * 10}
        )
        flags += int(created)
    return types, flags


def mediation_open_for(dispute: Dispute) -> Mediation | None:
    return (
        Mediation.objects.filter(dispute=dispute, ended_at__isnull=True)
        .select_related("lead_mediator", "department")
        .first()
    )


__all__ = [
    "DisputeInput",
    "IntakeResult",
    "MediatorInput",
    "PartyInput",
    "Q",
    "dispute_create_for_case",
    "dispute_followup_sweep",
    "dispute_intake",
    "dispute_update",
    "load_defaults",
    "mediator_create",
    "mediator_update",
    "party_add",
    "party_reveal",
    "party_update",
    "screening_close",
    "screening_open",
    "screening_report_none",
]
