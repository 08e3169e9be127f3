"""The dispute rows of the one workflow table (``cases/states.py``, kind ``dispute``), through the API:
the note rule of every note-required dispute action, every dispute action refused with 409 (and
nothing written) from every state the table does not allow it from, and none of them offered on a
case of another kind."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from zongzhi.cases import services as case_services
from zongzhi.cases.models import CaseEvent, CaseState
from zongzhi.cases.states import BY_ACTION, TRANSITIONS
from zongzhi.disputes.models import Dispute, DisputeFlag, Mediation, MediationAgreement, MediationSession

from .builders import World, act, agreed, intake

pytestmark = pytest.mark.django_db

DISPUTE_ACTIONS = sorted(t.action for t in TRANSITIONS if "dispute" in t.kinds)


def api_act(world: World, user: Any, dispute: Dispute, action: str, note: str = "", **data: Any) -> Any:
    return world.api(user, "post", f"/disputes/{dispute.pk}/actions/{action}", {"note": note, "data": data})


def snapshot(dispute: Dispute) -> tuple[Any, ...]:
    d = Dispute.objects.select_related("case").get(pk=dispute.pk)
    return (
        d.case.state,
        d.case.last_event_seq,
        CaseEvent.objects.filter(case_id=d.case_id).count(),
        d.outcome,
        d.risk_level,
        d.resolved_level,
        Mediation.objects.filter(dispute=d).count(),
        list(Mediation.objects.filter(dispute=d).values_list("outcome", flat=True)),
        MediationSession.objects.filter(mediation__dispute=d).count(),
        list(MediationAgreement.objects.filter(dispute=d).values_list("judicial_status", "performance")),
        DisputeFlag.objects.filter(dispute=d).count(),
    )


def mediating(world: World, *, session: bool = False) -> Dispute:
    d = intake(world.village_op, world.r["A1a"])
    act(
        world.village_op,
        d,
        "mediate",
        mediation_type="elders",
        lead_mediator_id=world.mediator.pk,
        mediator_ids=[],
    )
    if session:
        act(
            world.mediator_user,
            d,
            "mediation_session",
            "双方陈述意见。",
            held_at=timezone.now().isoformat(),
            place="甲一社区调解室",
            attendees="张三、李四",
        )
    return d


# --- the note rule ---------------------------------------------------------------------------------------------

# action → (how to bring a dispute to a state the action is allowed from, who acts, extra data)
_NOTE_SETUP: dict[str, tuple[str, str, dict[str, Any]]] = {
    "mediation_session": (
        "handling",
        "mediator_user",
        {"held_at": "now", "place": "甲一社区调解室", "attendees": "张三、李四"},
    ),
    "mediation_partial": ("handling+session", "mediator_user", {"facts": "漏水损失", "terms": "赔偿维修费"}),
    "mediation_fail": ("handling", "mediator_user", {}),
    "withdraw": ("handling", "mediator_user", {}),
    "transfer": ("handling", "village_op", {"transfer_to": "police", "receiving_body": "甲一派出所"}),
    "reopen_dispute": ("agreed", "village_op", {}),
}


def test_note_setup_covers_every_note_required_dispute_action():
    assert set(_NOTE_SETUP) == {t.action for t in TRANSITIONS if t.note_required and "dispute" in t.kinds}


@pytest.mark.parametrize("action", sorted(_NOTE_SETUP))
def test_note_required_dispute_actions_refuse_an_empty_note(world, action):
    setup, who, data = _NOTE_SETUP[action]
    d = agreed(world) if setup == "agreed" else mediating(world, session=setup == "handling+session")
    assert Dispute.objects.get(pk=d.pk).case.state in BY_ACTION[action].sources
    data = {k: (timezone.now().isoformat() if v == "now" else v) for k, v in data.items()}
    user = getattr(world, who)
    before = snapshot(d)
    for note in ("", "   \n"):
        res = api_act(world, user, d, action, note, **data)
        assert res.status_code == 422, res.content.decode()
        detail = res.json()["detail"]
        assert (detail["field"], detail["code"]) == ("note", "required") and detail["message"]
    assert snapshot(d) == before
    res = api_act(world, user, d, action, "说明理由", **data)
    assert res.status_code == 200, res.content.decode()


# --- every illegal move: 409, nothing written -------------------------------------------------------------------


def _dispute_in(world: World, state: str) -> Dispute:
    op = world.village_op
    if state == CaseState.REPORTED:
        return intake(op, world.r["A1a"], accept=False)
    if state == CaseState.DECLINED:
        d = intake(op, world.r["A1a"], accept=False)
        act(op, d, "decline", "不属于调解范围")
        return d
    if state == CaseState.ACCEPTED:
        return intake(op, world.r["A1a"])
    if state == CaseState.DISPATCHED:
        d = intake(op, world.r["A1a"])
        act(op, d, "dispatch", lead_department_id=world.committee.pk)
        return d
    if state == CaseState.HANDLING:
        return mediating(world, session=True)
    d = agreed(world)
    if state == CaseState.RESOLVED:
        return d
    act(op, d, "reply", "电话告知双方", method="phone")
    if state == CaseState.REPLIED:
        return d
    act(op, d, "rate", rating="satisfied")
    act(op, d, "archive")
    return d


_DATA: dict[str, dict[str, Any]] = {
    "assess_risk": {"risk_level": "high", "flags": ["threat"]},
    "mediation_agree": {"facts": "事实", "terms": "条款"},
    "mediation_partial": {"facts": "事实", "terms": "条款"},
    "transfer": {"transfer_to": "police", "receiving_body": "甲一派出所"},
    "judicial_confirm": {"status": "applied", "court": "甲区人民法院"},
    "followup": {"performance": "performed"},
}


@pytest.mark.parametrize("state", list(CaseState.values))
def test_every_dispute_action_not_allowed_from_a_state_is_409_and_writes_nothing(world, state):
    d = _dispute_in(world, state)
    assert Dispute.objects.get(pk=d.pk).case.state == state
    data = dict(_DATA)
    data["mediate"] = {"mediation_type": "elders", "lead_mediator_id": world.mediator.pk}
    data["mediation_session"] = {
        "held_at": timezone.now().isoformat(),
        "place": "调解室",
        "attendees": "张三",
    }
    illegal = [a for a in DISPUTE_ACTIONS if state not in BY_ACTION[a].sources]
    before = snapshot(d)
    failures = []
    for action in illegal:
        res = api_act(world, world.village_op, d, action, "说明", **data.get(action, {}))
        detail = res.json()["detail"]
        if (
            res.status_code != 409
            or detail.get("code") != "illegal_transition"
            or detail.get("current_state") != state
        ):
            failures.append((action, res.status_code, detail))
        elif snapshot(d) != before:
            failures.append((action, "wrote something"))
    assert not failures, failures


@pytest.mark.parametrize("action", DISPUTE_ACTIONS)
def test_dispute_actions_do_not_exist_for_other_kinds(world, action):
    case = case_services.case_report(
        actor=world.village_op,
        data=case_services.ReportInput(
            channel="hotline",
            kind="event",
            title="路灯不亮",
            description="村口路灯不亮",
            region_code=world.r["A1a"].code,
        ),
    ).case
    # in a state the action is allowed from when the table has one among these two
    if CaseState.REPORTED not in BY_ACTION[action].sources:
        case_services.case_transition(actor=world.village_op, case_id=case.pk, action="accept")
    case.refresh_from_db()
    events = case.events.count()
    res = world.api(
        world.village_op, "post", f"/cases/{case.pk}/actions/{action}", {"note": "说明", "data": {}}
    )
    assert res.status_code == 409, res.content.decode()
    assert res.json()["detail"]["code"] == "illegal_transition"
    assert case.events.count() == events


def test_the_dispute_rows_reach_every_open_state():
    sources = {s for t in TRANSITIONS if "dispute" in t.kinds for s in t.sources}
    assert sources >= {CaseState.ACCEPTED, CaseState.HANDLING, CaseState.RESOLVED, CaseState.REPLIED}
    assert CaseState.ARCHIVED in sources  # a follow-up may reopen an archived dispute
    assert CaseState.DECLINED not in sources
