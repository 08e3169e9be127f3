"""Permissions per action per role, checked in the case's region subtree (and at the owning center).

Outside a user's scope a case does not exist (404, for reading and for every action); inside it, an
action the user's role does not carry — or that belongs to another department — is 403, and nothing
is written either way."""

from __future__ import annotations

from typing import Any

import pytest

from tests.factories import make_user
from zongzhi.cases import services
from zongzhi.cases.models import Case, CaseEvent, CaseState
from zongzhi.cases.states import TRANSITIONS
from zongzhi.core.errors import PermissionDeniedError
from zongzhi.orgs.roles import Role

from .drive import act, api_act, drive_to, report, snapshot

pytestmark = pytest.mark.django_db

ALL_ACTIONS = [t.action for t in TRANSITIONS]


def _status(world, user, case_id: int, action: str, note: str = "说明", **data: Any) -> int:
    return api_act(world, user, case_id, action, note, **data).status_code


def _ids(res: Any) -> set[int]:
    assert res.status_code == 200, res.content
    return {c["id"] for c in res.json()["items"]}


def test_department_handler_of_another_department_cannot_act_for_the_lead(world):
    """Housing assists (so it sees the case) but the police lead: housing may not acknowledge,
    return, resolve or ask for an extension."""
    case = drive_to(world, CaseState.ACCEPTED)
    act(
        world,
        "operator",
        case,
        "dispatch",
        lead_department_id=world.police.pk,
        assisting_department_ids=[world.housing.pk],
    )
    before = snapshot(case.pk)
    for action in ("acknowledge", "return"):
        res = api_act(world, world.housing_handler, case.pk, action, "说明")
        assert res.status_code == 403, (action, res.content)
        assert res.json()["detail"] == {
            "code": "forbidden",
            "message": "只有牵头单位可以执行此操作。",
            "action": action,
        }
    assert snapshot(case.pk) == before
    act(world, "handler", case, "acknowledge")
    act(world, "housing_handler", case, "report_part", "已完成")
    before = snapshot(case.pk)
    assert _status(world, world.housing_handler, case.pk, "resolve") == 403
    assert (
        _status(world, world.housing_handler, case.pk, "request_extension", until="2099-01-01T00:00:00+08:00")
        == 403
    )
    assert snapshot(case.pk) == before
    # a department that was never assigned does not see the case at all
    assert _status(world, world.other_handler, case.pk, "acknowledge") == 404
    assert world.api(world.other_handler, "get", f"/cases/{case.pk}").status_code == 404


def test_center_staff_cannot_do_department_work(world):
    case = drive_to(world, CaseState.DISPATCHED)
    before = snapshot(case.pk)
    for user in (world.operator, world.director):
        assert _status(world, user, case.pk, "acknowledge") == 403
        assert _status(world, user, case.pk, "return") == 403
    assert snapshot(case.pk) == before


def test_grid_worker_sees_but_cannot_run_the_center(world):
    case = report(world)  # in the grid worker's village
    assert world.api(world.grid_worker, "get", f"/cases/{case.pk}").status_code == 200
    before = snapshot(case.pk)
    for action, data in [("accept", {}), ("decline", {}), ("escalate", {}), ("supervise", {})]:
        assert _status(world, world.grid_worker, case.pk, action, **data) == 403, action
    case2 = drive_to(world, CaseState.ACCEPTED)
    assert _status(world, world.grid_worker, case2.pk, "dispatch", lead_department_id=world.police.pk) == 403
    assert snapshot(case.pk) == before
    detail = world.api(world.grid_worker, "get", f"/cases/{case.pk}").json()
    assert detail["allowed_actions"] == []


@pytest.mark.parametrize(
    "state",
    [CaseState.REPORTED, CaseState.ACCEPTED, CaseState.HANDLING, CaseState.REPLIED],
)
def test_sibling_county_operator_gets_404_for_everything(world, state):
    case = drive_to(world, state)
    before = snapshot(case.pk)
    op = world.sibling_operator
    assert world.api(op, "get", f"/cases/{case.pk}").status_code == 404
    assert case.pk not in _ids(world.api(op, "get", "/cases"))
    statuses = {
        a: _status(world, op, case.pk, a, rating="satisfied", master=case.number) for a in ALL_ACTIONS
    }
    assert set(statuses.values()) == {404}, statuses
    # the same for the other county's department handler
    statuses = {a: _status(world, world.other_handler, case.pk, a) for a in ALL_ACTIONS}
    assert set(statuses.values()) == {404}, statuses
    assert snapshot(case.pk) == before


def test_sibling_gets_404_for_a_supervision_reply(world):
    case = drive_to(world, CaseState.HANDLING)
    act(world, "director", case, "supervise", "请加快办理")
    notice = case.supervisions.get()
    res = world.api(world.other_handler, "post", f"/supervisions/{notice.pk}/reply", {"text": "x"})
    assert res.status_code == 404
    res = world.api(world.sibling_operator, "post", f"/supervisions/{notice.pk}/reply", {"text": "x"})
    assert res.status_code == 404
    notice.refresh_from_db()
    assert notice.replied_at is None


def test_leader_viewer_can_view_and_supervise_but_not_run_the_loop(world):
    case = drive_to(world, CaseState.ACCEPTED)
    leader = world.city_leader
    detail = world.api(leader, "get", f"/cases/{case.pk}").json()
    assert detail["id"] == case.pk and detail["allowed_actions"] == ["supervise"]
    assert case.pk in _ids(world.api(leader, "get", "/cases"))
    before = snapshot(case.pk)
    assert _status(world, leader, case.pk, "dispatch", lead_department_id=world.police.pk) == 403
    assert _status(world, leader, case.pk, "merge", master=case.number) == 403
    assert _status(world, leader, case.pk, "escalate") == 403
    assert snapshot(case.pk) == before
    res = api_act(world, leader, case.pk, "supervise", "请尽快派单")
    assert res.status_code == 200, res.content
    # a viewer registers nothing either
    res = world.api(
        leader,
        "post",
        "/cases",
        {
            "channel": "hotline",
            "title": "t",
            "description": "d",
            "region_code": world.r["A1a"].code,
        },
    )
    assert res.status_code == 422 and res.json()["detail"]["code"] == "out_of_scope"
    assert Case.objects.count() == 1


def test_operator_cannot_approve_extensions_or_supervise(world):
    case = drive_to(world, CaseState.HANDLING)
    act(world, "handler", case, "request_extension", "需要鉴定", until="2099-01-01T00:00:00+08:00")
    before = snapshot(case.pk)
    assert _status(world, world.operator, case.pk, "approve_extension") == 403
    assert _status(world, world.operator, case.pk, "reject_extension") == 403
    assert _status(world, world.operator, case.pk, "supervise") == 403
    assert snapshot(case.pk) == before
    assert _status(world, world.director, case.pk, "approve_extension") == 200


def test_owner_center_acts_not_a_lower_one(world):
    """A county-owned case in township A1: the township operator sees it but may not accept it; a
    city operator (an ancestor) may."""
    case = report(world)  # registered by the county operator → owned by the county
    assert case.owner_region_id == world.r["A"].pk
    assert world.api(world.township_operator, "get", f"/cases/{case.pk}").status_code == 200
    assert _status(world, world.township_operator, case.pk, "accept") == 403
    city_operator = make_user(Role.CENTER_OPERATOR, world.r["C"], username="op_c")
    assert _status(world, city_operator, case.pk, "accept") == 200
    # a case in township A2 is outside the A1 operator's subtree: 404
    other = report(world, region_code=world.r["A2a"].code)
    assert world.api(world.township_operator, "get", f"/cases/{other.pk}").status_code == 404
    assert _status(world, world.township_operator, other.pk, "accept") == 404


def test_department_handler_sees_only_cases_assigned_to_the_department(world):
    mine = drive_to(world, CaseState.DISPATCHED)  # police lead
    assisting = drive_to(world, CaseState.ACCEPTED)
    act(
        world,
        "operator",
        assisting,
        "dispatch",
        lead_department_id=world.housing.pk,
        assisting_department_ids=[world.police.pk],
    )
    returned = drive_to(world, CaseState.DISPATCHED)
    act(world, "handler", returned, "return", "不属于本单位")  # once assigned: still in its history
    not_assigned = drive_to(world, CaseState.ACCEPTED)  # same county, never assigned
    housing_only = drive_to(world, CaseState.DISPATCHED, lead=world.housing)
    listed = _ids(world.api(world.handler, "get", "/cases"))
    assert listed == {mine.pk, assisting.pk, returned.pk}
    assert world.api(world.handler, "get", f"/cases/{not_assigned.pk}").status_code == 404
    assert world.api(world.handler, "get", f"/cases/{housing_only.pk}").status_code == 404
    assert world.api(world.handler, "get", f"/cases/{mine.pk}").json()["allowed_actions"] == [
        "acknowledge",
        "return",
    ]
    # police assists on ``assisting``: it may report its part, nothing else
    assert world.api(world.handler, "get", f"/cases/{assisting.pk}").json()["allowed_actions"] == [
        "report_part"
    ]
    assert _ids(world.api(world.housing_handler, "get", "/cases")) == {assisting.pk, housing_only.pk}
    # the operator sees all of them
    assert {mine.pk, assisting.pk, returned.pk, not_assigned.pk, housing_only.pk} <= _ids(
        world.api(world.operator, "get", "/cases")
    )


def test_grid_worker_resolved_on_site_report(world):
    body = {
        "channel": "patrol",
        "title": "楼道堆物",
        "description": "楼道堆放杂物堵塞通道",
        "category_code": "0102",
        "region_code": world.r["A1a"].code,
        "resolved_on_site": True,
        "result": "已劝导清理",
    }
    res = world.api(world.grid_worker, "post", "/cases", {**body, "result": ""})
    assert res.status_code == 422 and res.json()["detail"]["field"] == "result"
    res = world.api(world.grid_worker, "post", "/cases", body)
    assert res.status_code == 201, res.content
    assert res.json()["state"] == "resolved"
    case = Case.objects.get(pk=res.json()["id"])
    assert case.resolved_on_site and case.result == "已劝导清理"
    assert case.stage == "reply" and case.resolved_at == case.created_at
    assert case.due_at == case.created_at + __import__("datetime").timedelta(hours=24)  # the reply clock
    assert case.lead_department_id is None
    event = CaseEvent.objects.get(case=case)
    assert (event.action, event.actor_label, event.from_state, event.to_state, event.note) == (
        "resolve_on_site",
        "gw_a1a",
        "reported",
        "resolved",
        "已劝导清理",
    )
    # the loop continues from there: the center replies
    assert _status(world, world.operator, case.pk, "reply", "已告知") == 200


def test_resolved_on_site_needs_the_role(world):
    body = {
        "channel": "hotline",
        "title": "t",
        "description": "d",
        "region_code": world.r["A1a"].code,
        "resolved_on_site": True,
        "result": "done",
    }
    res = world.api(world.operator, "post", "/cases", body)
    assert res.status_code == 403
    # outside the grid worker's village
    res = world.api(world.grid_worker, "post", "/cases", {**body, "region_code": world.r["A2a"].code})
    assert res.status_code == 403
    assert Case.objects.count() == 0


def test_public_report_cannot_be_resolved_on_site(world):
    res = world.client(None).post(
        "/api/v1/public/cases",
        {
            "title": "路灯不亮",
            "description": "坏了",
            "region_code": world.r["A1a"].code,
            "reporter_phone": "13900001111",
            "consent": True,
            "resolved_on_site": True,
            "result": "我自己修好了",
        },
        content_type="application/json",
    )
    assert res.status_code == 201, res.content
    case = Case.objects.get(number=res.json()["number"])
    assert case.state == CaseState.REPORTED and not case.resolved_on_site and case.result == ""
    with pytest.raises(PermissionDeniedError):
        services.case_report(
            actor=None,
            data=services.ReportInput(
                channel="web",
                title="t",
                description="d",
                region_code=world.r["A1a"].code,
                reporter_phone="13900001111",
                resolved_on_site=True,
                result="x",
            ),
        )
    assert Case.objects.count() == 1


def test_anonymous_client_is_401(world):
    case = report(world)
    assert world.api(None, "get", "/cases").status_code == 401
    assert api_act(world, None, case.pk, "accept").status_code == 401
