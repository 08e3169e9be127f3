"""The handlers of the dispute actions of the one workflow table (``cases/states.py``, kind
``dispute``). They run inside ``cases.services.case_transition`` — after the row lock, the state
check (409), the permission check and the note rule — and set the dispute's rows; the transition
then moves the state, starts the clock and writes the timeline row. A handler that refuses raises
before anything is written (the transaction rolls back whatever it began).

Registered at start-up by ``DisputesConfig.ready`` through ``cases.services.register_handler``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from zongzhi.cases.models import AssignmentRole, Case, CaseAssignment, CaseState
from zongzhi.cases.services import Ctx, handle_due_for, register_handler
from zongzhi.core.crypto import encrypt
from zongzhi.core.errors import Conflict, FieldError, PermissionDeniedError
from zongzhi.orgs.models import Department, Region
from zongzhi.orgs.paths import is_within
from zongzhi.orgs.roles import Perm
from zongzhi.orgs.scoping import user_can, visible_to

from . import services as ds
from .models import (
    Dispute,
    JudicialStatus,
    Mediation,
    MediationAgreement,
    MediationOutcome,
    MediationSession,
    MediationType,
    Mediator,
    Outcome,
    Party,
    PartyRole,
    Performance,
    RiskLevel,
    TransferTarget,
)

# --- shared checks ----------------------------------------------------------------------------------------


def _dispute(ctx: Ctx) -> Dispute:
    dispute = Dispute.objects.select_related("dispute_type").filter(case_id=ctx.case.pk).first()
    if dispute is None:
        raise Conflict(
            _("该事件尚未建立矛盾纠纷档案，请先建档。"),
            code="not_a_dispute",
            current_state=ctx.case.state,
            action=ctx.transition.action,
        )
    return dispute


def _is_center(actor: Any, case: Case) -> bool:
    return actor is None or user_can(actor, Perm.CASE_DISPATCH, case.owner_path)


def _check_mediation_actor(ctx: Ctx, mediation: Mediation | None) -> None:
    """A round's outcome is recorded by one of its mediators or by the owning center."""
    if _is_center(ctx.actor, ctx.case):
        return
    if mediation is not None:
        ids = {mediation.lead_mediator_id, *mediation.participants.values_list("pk", flat=True)}
        if Mediator.objects.filter(pk__in=ids, user_id=ctx.actor.pk).exists():
            return
    raise PermissionDeniedError(
        _("只有本次调解的调解员或承办中心可以执行此操作。"), code="forbidden", action=ctx.transition.action
    )


def _open_mediation(dispute: Dispute) -> Mediation | None:
    return ds.mediation_open_for(dispute)


def _require_open_mediation(ctx: Ctx, dispute: Dispute) -> Mediation:
    mediation = _open_mediation(dispute)
    if mediation is None:
        raise Conflict(
            _("没有进行中的调解，请先组织调解。"),
            code="no_open_mediation",
            current_state=ctx.case.state,
            action=ctx.transition.action,
        )
    return mediation


def _owner_level(case: Case) -> str:
    return str(Region.objects.filter(pk=case.owner_region_id).values_list("level", flat=True).get())


def _close_round(mediation: Mediation | None, outcome: str, note: str, now: Any) -> None:
    if mediation is None:
        return
    mediation.ended_at = now
    mediation.outcome = outcome
    mediation.outcome_note = note
    mediation.save(update_fields=["ended_at", "outcome", "outcome_note"])


def _release_assignments(case: Case) -> None:
    CaseAssignment.objects.filter(case=case, is_current=True).update(is_current=False)


def _conclude(dispute: Dispute, case: Case, outcome: str, now: Any) -> None:
    dispute.outcome = outcome
    dispute.outcome_at = now
    dispute.resolved_level = _owner_level(case)
    dispute.updated_at = now
    dispute.save()


def _resolve_case(case: Case, result: str, now: Any) -> None:
    case.result = result
    case.resolved_at = now
    case.extension_pending = False
    case.extension_requested_until = None


def _notify_center_after(ctx: Ctx, dispute: Dispute, title: str, perm: str = Perm.CASE_DISPATCH) -> None:
    case = ctx.case
    ctx.after.append(lambda: ds.notify_center(case, dispute.pk, title, perm))


# --- assess_risk ----------------------------------------------------------------------------------------------


def h_assess_risk(ctx: Ctx) -> None:
    dispute = _dispute(ctx)
    level = ds.choice_of(ctx.data, "risk_level", RiskLevel, label=_("风险等级"))
    flags = None
    if "flags" in ctx.data:
        raw = ctx.data["flags"]
        if not isinstance(raw, list | tuple):
            raise FieldError("flags", _("风险信号须为编码列表。"), code="invalid")
        flags = ds.flag_types_by_code([str(c) for c in raw])
    result = ds.record_assessment(
        dispute=dispute, risk_level=level, flags=flags, note=ctx.note, actor=ctx.actor, now=ctx.now
    )
    ctx.event_data = {
        "risk_level": level,
        "previous": result.previous_level,
        "flags": result.assessment.flags,
        "raised": result.raised,
        "cleared": result.cleared,
    }
    advice = ds.escalation_advice_for(dispute, ctx.case)
    ctx.event_data["escalation_suggested"] = advice.suggested
    rose = list(RiskLevel.values).index(level) > list(RiskLevel.values).index(result.previous_level)
    if advice.suggested and rose and level in (RiskLevel.HIGH, RiskLevel.MAJOR):
        case = ctx.case
        ctx.after.append(lambda: ds.warn_parent_center(case, dispute.pk))


# --- mediate ---------------------------------------------------------------------------------------------------


def _mediator(ctx: Ctx, value: Any, key: str) -> Mediator:
    pk = ds.int_of(value, key, label=_("调解员"))
    qs = Mediator.objects.select_related("department")
    if ctx.actor is not None:
        qs = visible_to(ctx.actor, qs)
    mediator = qs.filter(pk=pk, is_active=True).first()
    if mediator is None:
        raise FieldError(key, _("调解员不存在或不在册。"), code="not_found")
    case = ctx.case
    if not (
        is_within(case.region_path, mediator.region_path) or is_within(mediator.region_path, case.owner_path)
    ):
        raise FieldError(
            key, _("调解员“%(name)s”不在本纠纷所在辖区。") % {"name": mediator.name}, code="out_of_scope"
        )
    return mediator


def h_mediate(ctx: Ctx) -> None:
    case, data = ctx.case, ctx.data
    dispute = _dispute(ctx)
    kind = ds.choice_of(data, "mediation_type", MediationType, label=_("调解类型"))
    if data.get("lead_mediator_id") in (None, ""):
        raise FieldError("lead_mediator_id", _("请选择主持调解员。"), code="required")
    lead = _mediator(ctx, data["lead_mediator_id"], "lead_mediator_id")
    raw_ids = data.get("mediator_ids") or []
    if not isinstance(raw_ids, list | tuple):
        raise FieldError("mediator_ids", _("参与调解员须为编号列表。"), code="invalid")
    participants: dict[int, Mediator] = {}
    for value in raw_ids:
        m = _mediator(ctx, value, "mediator_ids")
        if m.pk != lead.pk:
            participants[m.pk] = m
    department: Department | None = lead.department
    if data.get("department_id") not in (None, ""):
        pk = ds.int_of(data["department_id"], "department_id", label=_("调解组织"))
        department = Department.objects.filter(pk=pk, is_active=True).first()
        if department is None:
            raise FieldError("department_id", _("调解组织不存在或已停用。"), code="not_found")
    if department is None:
        raise FieldError("department_id", _("主持调解员未关联调解组织，请指定调解组织。"), code="required")
    if not (
        is_within(department.region_path, case.owner_path)
        or is_within(case.region_path, department.region_path)
    ):
        raise FieldError(
            "department_id",
            _("“%(name)s”不在本纠纷的辖区。") % {"name": department.name},
            code="out_of_scope",
        )
    due = ds.datetime_of(data, "handle_due_at", label=_("调解期限"))
    if due is not None and due <= ctx.now:
        raise FieldError("handle_due_at", _("调解期限必须晚于当前时间。"), code="in_past")
    number = (Mediation.objects.filter(dispute=dispute).aggregate(m=Max("round"))["m"] or 0) + 1
    mediation = Mediation.objects.create(
        dispute=dispute,
        round=number,
        mediation_type=kind,
        lead_mediator=lead,
        department=department,
        started_at=ctx.now,
        started_by=ctx.actor,
        region_path=dispute.region_path,
    )
    mediation.participants.set(list(participants.values()))
    seq = (CaseAssignment.objects.filter(case=case).aggregate(m=Max("dispatch_seq"))["m"] or 0) + 1
    _release_assignments(case)
    CaseAssignment.objects.create(
        case=case,
        department=department,
        role=AssignmentRole.LEAD,
        dispatch_seq=seq,
        acknowledged_at=ctx.now,
        region_path=case.region_path,
    )
    case.lead_department = department
    case.dispatched_at = ctx.now
    case.acknowledged_at = ctx.now
    case.is_returned = False
    case.extension_pending = False
    case.extension_requested_until = None
    case.handle_due_at = due or handle_due_for(case, ctx.now)
    ctx.event_data = {
        "mediation": mediation.pk,
        "round": number,
        "mediation_type": kind,
        "lead_mediator": {"id": lead.pk, "name": lead.name, "body": lead.body_name},
        "participants": [{"id": m.pk, "name": m.name, "body": m.body_name} for m in participants.values()],
        "department": {"id": department.pk, "name": department.name},
        "handle_due_at": case.handle_due_at.isoformat(),
    }
    users = [m.user_id for m in [lead, *participants.values()] if m.user_id]
    dispute_id = dispute.pk
    ctx.after.append(lambda: ds.notify_users(users, case, dispute_id, _("新调解任务")))


# --- sessions and outcomes ------------------------------------------------------------------------------------


def h_mediation_session(ctx: Ctx) -> None:
    dispute = _dispute(ctx)
    mediation = _require_open_mediation(ctx, dispute)
    _check_mediation_actor(ctx, mediation)
    held_at = ds.datetime_of(ctx.data, "held_at", label=_("调解时间"), required=True)
    assert held_at is not None
    if held_at > ctx.now + timedelta(minutes=10):
        raise FieldError("held_at", _("调解时间不能晚于当前时间。"), code="in_future")
    if held_at < ctx.case.created_at - timedelta(days=1):
        raise FieldError("held_at", _("调解时间不能早于纠纷登记时间。"), code="too_early")
    place = ds.text_of(ctx.data, "place", label=_("调解地点"), max_length=120, required=True)
    attendees = ds.text_of(ctx.data, "attendees", label=_("参加人员"), max_length=1000, required=True)
    session = MediationSession.objects.create(
        mediation=mediation,
        held_at=held_at,
        place=place,
        attendees=attendees,
        minutes=ctx.note,
        event_seq=ctx.case.last_event_seq + 1,  # the timeline row this transition is about to write
        recorded_by=ctx.actor,
        region_path=dispute.region_path,
    )
    ctx.event_data = {
        "mediation": mediation.pk,
        "round": mediation.round,
        "session": session.pk,
        "held_at": held_at.isoformat(),
        "place": place,
        "attendees": attendees,
    }


def _require_parties(ctx: Ctx, dispute: Dispute) -> None:
    roles = set(Party.objects.filter(dispute=dispute).values_list("role", flat=True))
    if not {PartyRole.APPLICANT, PartyRole.RESPONDENT} <= roles:
        raise Conflict(
            _("协议须有申请人和被申请人，请先补全当事人。"),
            code="parties_missing",
            current_state=ctx.case.state,
        )


def _issue_agreement(
    ctx: Ctx, dispute: Dispute, mediation: Mediation, *, partial: bool
) -> MediationAgreement:
    data = ctx.data
    facts = ds.text_of(data, "facts", label=_("纠纷主要事实"), max_length=5000, required=True)
    terms = ds.text_of(data, "terms", label=_("协议内容"), max_length=5000, required=True)
    method = ds.text_of(data, "performance_method", label=_("履行方式"), max_length=200)
    deadline = ds.date_of(data, "performance_deadline", label=_("履行期限"))
    if deadline is not None and deadline < timezone.localdate(ctx.now):
        raise FieldError("performance_deadline", _("履行期限不能早于今天。"), code="in_past")
    if mediation.sessions.count() == 0:
        raise Conflict(
            _("请先记录至少一次调解过程（调解记录）。"), code="no_session", current_state=ctx.case.state
        )
    _require_parties(ctx, dispute)
    parties = [
        ds.party_clear(p) for p in Party.objects.filter(dispute=dispute).order_by("role", "sort_order", "pk")
    ]
    mediators = [mediation.lead_mediator, *mediation.participants.order_by("pk")]
    owner = Region.objects.get(pk=ctx.case.owner_region_id)
    agreement = MediationAgreement.objects.create(
        mediation=mediation,
        dispute=dispute,
        number=ds.next_agreement_number(owner, timezone.localdate(ctx.now).year),
        is_partial=partial,
        facts=facts,
        terms=terms,
        performance_method=method,
        performance_deadline=deadline,
        parties_enc=encrypt(json.dumps(parties, ensure_ascii=False)),
        mediator_names="、".join(m.name for m in mediators)[:300],
        organization_name=mediation.department.name,
        signed_at=ctx.now,
        created_by=ctx.actor,
        # no deadline: performed when signed (当场履行); otherwise followed up when it has passed
        performance=Performance.PENDING if deadline else Performance.PERFORMED,
        followup_due_at=ds.followup_due_for(deadline) if deadline else None,
        followed_up_at=None if deadline else ctx.now,
        region_path=dispute.region_path,
    )
    ctx.event_data = {
        "mediation": mediation.pk,
        "round": mediation.round,
        "agreement": {"id": agreement.pk, "number": agreement.number},
        "performance_deadline": deadline.isoformat() if deadline else None,
    }
    return agreement


def h_mediation_agree(ctx: Ctx) -> None:
    case = ctx.case
    dispute = _dispute(ctx)
    mediation = _require_open_mediation(ctx, dispute)
    _check_mediation_actor(ctx, mediation)
    agreement = _issue_agreement(ctx, dispute, mediation, partial=False)
    _close_round(mediation, MediationOutcome.AGREEMENT, ctx.note, ctx.now)
    _conclude(dispute, case, Outcome.AGREEMENT, ctx.now)
    _resolve_case(
        case, ctx.note or _("调解成功，达成协议（%(number)s）。") % {"number": agreement.number}, ctx.now
    )
    _notify_center_after(ctx, dispute, _("调解成功待反馈"), Perm.CASE_REPLY)


def h_mediation_partial(ctx: Ctx) -> None:
    dispute = _dispute(ctx)
    mediation = _require_open_mediation(ctx, dispute)
    _check_mediation_actor(ctx, mediation)
    _issue_agreement(ctx, dispute, mediation, partial=True)
    _close_round(mediation, MediationOutcome.PARTIAL, ctx.note, ctx.now)
    _release_assignments(ctx.case)
    _notify_center_after(ctx, dispute, _("部分达成协议，待中心研究处理"))


def h_mediation_fail(ctx: Ctx) -> None:
    dispute = _dispute(ctx)
    mediation = _open_mediation(dispute)
    _check_mediation_actor(ctx, mediation)
    _close_round(mediation, MediationOutcome.FAILED, ctx.note, ctx.now)
    _release_assignments(ctx.case)
    ctx.event_data = {"mediation": mediation.pk, "round": mediation.round} if mediation else {}
    _notify_center_after(ctx, dispute, _("调解不成，待中心研究处理"))


def h_withdraw(ctx: Ctx) -> None:
    case = ctx.case
    dispute = _dispute(ctx)
    mediation = _open_mediation(dispute)
    _check_mediation_actor(ctx, mediation)
    _close_round(mediation, MediationOutcome.WITHDRAWN, ctx.note, ctx.now)
    _conclude(dispute, case, Outcome.WITHDRAWN, ctx.now)
    _resolve_case(case, _("申请人撤回调解申请：%(note)s") % {"note": ctx.note}, ctx.now)
    ctx.event_data = {"mediation": mediation.pk, "round": mediation.round} if mediation else {}
    _notify_center_after(ctx, dispute, _("纠纷撤回待反馈"), Perm.CASE_REPLY)


def h_transfer(ctx: Ctx) -> None:
    case, data = ctx.case, ctx.data
    dispute = _dispute(ctx)
    target = ds.choice_of(data, "transfer_to", TransferTarget, label=_("移交去向"))
    body = ds.text_of(data, "receiving_body", label=_("接收单位"), max_length=120, required=True)
    ref = ds.text_of(data, "reference_number", label=_("接收文号/案号"), max_length=60)
    receiving: Department | None = None
    if data.get("receiving_department_id") not in (None, ""):
        pk = ds.int_of(data["receiving_department_id"], "receiving_department_id", label=_("接收单位"))
        receiving = Department.objects.filter(pk=pk, is_active=True).first()
        if receiving is None:
            raise FieldError("receiving_department_id", _("接收单位不存在或已停用。"), code="not_found")
    if receiving is None and case.lead_department_id is None:
        raise Conflict(
            _("尚未组织调解的纠纷不能移交；请先组织调解，或按一般事件分流派单。"),
            code="no_mediation",
            current_state=case.state,
        )
    mediation = _open_mediation(dispute)
    _close_round(mediation, MediationOutcome.FAILED, ctx.note, ctx.now)
    if receiving is not None:
        seq = (CaseAssignment.objects.filter(case=case).aggregate(m=Max("dispatch_seq"))["m"] or 0) + 1
        _release_assignments(case)
        CaseAssignment.objects.create(
            case=case,
            department=receiving,
            role=AssignmentRole.LEAD,
            dispatch_seq=seq,
            region_path=case.region_path,
        )
        case.lead_department = receiving
    dispute.transfer_to = target
    dispute.receiving_body = body
    dispute.transfer_ref = ref
    _conclude(dispute, case, Outcome.TRANSFERRED, ctx.now)
    label = TransferTarget(target).label
    result = _("依法移交%(target)s：%(body)s") % {"target": label, "body": body}
    if ref:
        result += _("（%(ref)s）") % {"ref": ref}
    _resolve_case(case, f"{result}。{ctx.note}", ctx.now)
    ctx.event_data = {
        "transfer_to": target,
        "receiving_body": body,
        "reference_number": ref,
        "receiving_department": {"id": receiving.pk, "name": receiving.name} if receiving else None,
        "mediation": mediation.pk if mediation else None,
    }
    _notify_center_after(ctx, dispute, _("纠纷已移交待反馈"), Perm.CASE_REPLY)


# --- after the agreement: judicial confirmation, follow-up, reopen -----------------------------------------------


def _agreement(ctx: Ctx, dispute: Dispute, *, prefer_pending: bool = False) -> MediationAgreement:
    qs = MediationAgreement.objects.filter(dispute=dispute)
    value = ctx.data.get("agreement_id")
    if value not in (None, ""):
        found = qs.filter(pk=ds.int_of(value, "agreement_id", label=_("调解协议书"))).first()
        if found is None:
            raise FieldError("agreement_id", _("调解协议书不存在。"), code="not_found")
        return found
    if prefer_pending:
        pending = (
            qs.filter(performance__in=[Performance.PENDING, Performance.PARTIAL])
            .order_by("-signed_at", "-pk")
            .first()
        )
        if pending is not None:
            return pending
    latest = qs.order_by("-signed_at", "-pk").first()
    if latest is None:
        raise Conflict(_("该纠纷没有调解协议书。"), code="no_agreement", current_state=ctx.case.state)
    return latest


_JUDICIAL_MOVES = {
    JudicialStatus.NONE: {JudicialStatus.APPLIED, JudicialStatus.CONFIRMED},
    JudicialStatus.APPLIED: {JudicialStatus.CONFIRMED, JudicialStatus.REJECTED},
    JudicialStatus.REJECTED: {JudicialStatus.APPLIED},
    JudicialStatus.CONFIRMED: set(),
}
APPLY_WITHIN_DAYS = 30  # 《人民调解法》第三十三条: within 30 days of the agreement taking effect


def h_judicial_confirm(ctx: Ctx) -> None:
    dispute = _dispute(ctx)
    agreement = _agreement(ctx, dispute)
    status = ds.choice_of(ctx.data, "status", JudicialStatus, label=_("司法确认状态"))
    if status not in _JUDICIAL_MOVES[JudicialStatus(agreement.judicial_status)]:
        raise Conflict(
            _("司法确认状态不能从“%(old)s”改为“%(new)s”。")
            % {"old": JudicialStatus(agreement.judicial_status).label, "new": JudicialStatus(status).label},
            code="illegal_judicial_status",
            current_state=ctx.case.state,
            judicial_status=agreement.judicial_status,
        )
    court = ds.text_of(ctx.data, "court", label=_("确认法院"), max_length=120) or agreement.judicial_court
    if not court:
        raise FieldError("court", _("请填写受理司法确认的人民法院。"), code="required")
    ref = (
        ds.text_of(ctx.data, "reference", label=_("司法确认文书号"), max_length=60) or agreement.judicial_ref
    )
    if status == JudicialStatus.APPLIED and ctx.now > agreement.signed_at + timedelta(days=APPLY_WITHIN_DAYS):
        raise FieldError("status", _("司法确认应自调解协议生效之日起三十日内申请。"), code="too_late")
    previous = agreement.judicial_status
    agreement.judicial_status = status
    agreement.judicial_court = court
    agreement.judicial_ref = ref
    agreement.judicial_at = ctx.now
    agreement.save(update_fields=["judicial_status", "judicial_court", "judicial_ref", "judicial_at"])
    ctx.event_data = {
        "agreement": {"id": agreement.pk, "number": agreement.number},
        "from": previous,
        "to": status,
        "court": court,
        "reference": ref,
    }


REOPEN_FROM = (CaseState.RESOLVED, CaseState.REPLIED, CaseState.ARCHIVED)


def h_followup(ctx: Ctx) -> None:
    dispute = _dispute(ctx)
    agreement = _agreement(ctx, dispute, prefer_pending=True)
    if agreement.performance in (Performance.PERFORMED, Performance.NOT_PERFORMED):
        raise Conflict(
            _("该协议的履行情况已确定（%(p)s）。") % {"p": Performance(agreement.performance).label},
            code="followup_done",
            current_state=ctx.case.state,
        )
    performance = ds.choice_of(ctx.data, "performance", Performance, label=_("履行情况"))
    if performance == Performance.PENDING:
        raise FieldError("performance", _("请选择已履行、部分履行或未履行。"), code="invalid_choice")
    ctx.event_data = {
        "agreement": {"id": agreement.pk, "number": agreement.number},
        "performance": performance,
    }
    if performance == Performance.PARTIAL:
        next_on = ds.date_of(ctx.data, "next_followup_on", label=_("下次回访日期"), required=True)
        assert next_on is not None
        if next_on <= timezone.localdate(ctx.now):
            raise FieldError("next_followup_on", _("下次回访日期须晚于今天。"), code="not_later")
        agreement.followup_due_at = ds.local_start_of(next_on)
        agreement.followup_notified_at = None
        ctx.event_data["next_followup_on"] = next_on.isoformat()
    agreement.performance = performance
    agreement.followed_up_at = ctx.now
    agreement.followed_up_by = ctx.actor
    agreement.followup_note = ctx.note
    agreement.save()
    if (
        performance == Performance.NOT_PERFORMED
        and not agreement.is_partial
        and dispute.outcome == Outcome.AGREEMENT
        and ctx.case.state in REOPEN_FROM
    ):
        ctx.followups.append(("reopen_dispute", _("回访发现调解协议未履行，纠纷重新启动。")))
        _notify_center_after(ctx, dispute, _("调解协议未履行，纠纷重新启动"))


def h_reopen_dispute(ctx: Ctx) -> None:
    case = ctx.case
    dispute = _dispute(ctx)
    if dispute.outcome != Outcome.AGREEMENT:
        raise Conflict(
            _("只有调解成功的纠纷可因协议未履行而重新启动。"), code="not_agreed", current_state=case.state
        )
    agreement = (
        MediationAgreement.objects.filter(dispute=dispute, is_partial=False)
        .order_by("-signed_at", "-pk")
        .first()
    )
    if agreement is None:
        raise Conflict(_("该纠纷没有调解协议书。"), code="no_agreement", current_state=case.state)
    if agreement.performance == Performance.PERFORMED:
        raise Conflict(_("该协议已履行完毕。"), code="performed", current_state=case.state)
    if agreement.performance != Performance.NOT_PERFORMED:
        agreement.performance = Performance.NOT_PERFORMED
        agreement.followed_up_at = ctx.now
        agreement.followed_up_by = ctx.actor
        agreement.followup_note = ctx.note
        agreement.save()
    dispute.outcome = ""
    dispute.outcome_at = None
    dispute.resolved_level = ""
    dispute.updated_at = ctx.now
    dispute.save()
    ctx.event_data = {
        "agreement": {"id": agreement.pk, "number": agreement.number},
        "previous_outcome": "agreement",
    }
    case.reopen_count += 1
    case.rating = ""
    case.rating_comment = ""
    case.rated_at = None
    case.resolved_at = None
    case.replied_at = None
    case.archived_at = None
    _release_assignments(case)
    _notify_center_after(ctx, dispute, _("调解协议未履行，纠纷重新启动"))


HANDLERS: dict[str, Callable[[Ctx], None]] = {
    "assess_risk": h_assess_risk,
    "mediate": h_mediate,
    "mediation_session": h_mediation_session,
    "mediation_agree": h_mediation_agree,
    "mediation_partial": h_mediation_partial,
    "mediation_fail": h_mediation_fail,
    "withdraw": h_withdraw,
    "transfer": h_transfer,
    "judicial_confirm": h_judicial_confirm,
    "followup": h_followup,
    "reopen_dispute": h_reopen_dispute,
}


def register() -> None:
    for action, handler in HANDLERS.items():
        register_handler(action, handler)
