"""Every action of the workflow table through the HTTP API: the state it leads to, the fields it sets
and the timeline row it writes (actor, from/to state, note, data); the note rule; and, for every state,
that every action the table does not allow from it is refused with 409 before anything is written."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.test import override_settings
from django.utils import timezone

from tests.factories import make_user
from zongzhi.cases import services
from zongzhi.cases.models import Case, CaseEvent, CaseState, ResponsibilityRule, Supervision
from zongzhi.cases.states import BY_ACTION, TRANSITIONS
from zongzhi.orgs.roles import Role

from .drive import act, api_act, drive_to, report, snapshot

pytestmark = pytest.mark.django_db

TZ = dt.timezone(dt.timedelta(hours=8))


def _ok(res: Any) -> dict[str, Any]:
    assert res.status_code == 200, res.content
    return res.json()


def _last(detail: dict[str, Any]) -> dict[str, Any]:
    return detail["timeline"][-1]


def _assert_row(
    detail: dict[str, Any], *, action: str, actor: str, from_state: str, to_state: str, note: str = ""
):
    row = _last(detail)
    assert row["action"] == action
    assert row["actor"] == actor
    assert (row["from_state"], row["to_state"]) == (from_state, to_state)
    assert row["note"] == note
    assert row["seq"] == len(detail["timeline"])
    return row


def _field_error(res: Any, field: str, code: str | None = None) -> dict[str, Any]:
    assert res.status_code == 422, res.content
    detail = res.json()["detail"]
    assert detail["field"] == field, detail
    if code is not None:
        assert detail["code"] == code, detail
    return detail


# --- one test per action ---------------------------------------------------------------------------------------


def test_accept(world):
    case = report(world)
    detail = _ok(api_act(world, world.operator, case.pk, "accept"))
    assert detail["state"] == "accepted" and detail["stage"] == "dispatch"
    row = _assert_row(detail, action="accept", actor="op_a", from_state="reported", to_state="accepted")
    assert row["data"] == {}
    case.refresh_from_db()
    assert case.accepted_at is not None
    assert case.due_at == case.accepted_at + dt.timedelta(hours=24)  # the dispatch clock
    assert "dispatch" in detail["allowed_actions"]


def test_decline(world):
    case = report(world)
    detail = _ok(api_act(world, world.operator, case.pk, "decline", "属于法院受理范围"))
    assert detail["state"] == "declined" and detail["stage"] == "none" and detail["due_at"] is None
    _assert_row(
        detail,
        action="decline",
        actor="op_a",
        from_state="reported",
        to_state="declined",
        note="属于法院受理范围",
    )
    assert Case.objects.get(pk=case.pk).decline_reason == "属于法院受理范围"
    assert detail["allowed_actions"] == []


def test_merge_duplicate_into_master(world):
    master = report(world, title="楼上漏水（首报）")
    dup = drive_to(world, CaseState.ACCEPTED, title="楼上漏水（重复）")
    _field_error(api_act(world, world.operator, dup.pk, "merge"), "master", "required")
    _field_error(api_act(world, world.operator, dup.pk, "merge", master=dup.number), "master", "self")
    _field_error(api_act(world, world.operator, dup.pk, "merge", master="ZZ0000"), "master", "not_found")
    detail = _ok(api_act(world, world.operator, dup.pk, "merge", master=master.number))
    assert detail["state"] == "declined"
    assert detail["master_number"] == master.number
    row = _assert_row(detail, action="merge", actor="op_a", from_state="accepted", to_state="declined")
    assert row["data"] == {"master": master.number}
    dup.refresh_from_db()
    assert dup.master_id == master.pk and master.number in dup.decline_reason
    # a master that is closed takes no more duplicates
    act(world, "operator", master, "decline", "不予受理")
    other = report(world)
    _field_error(api_act(world, world.operator, other.pk, "merge", master=master.number), "master", "closed")


def test_escalate_to_parent_center_which_accepts_and_dispatches(world):
    case = report(world, actor="township_operator")
    assert case.owner_region_id == world.r["A1"].pk  # registered by the township center
    _field_error(api_act(world, world.township_operator, case.pk, "escalate"), "note", "required")
    detail = _ok(api_act(world, world.township_operator, case.pk, "escalate", "涉及多个街道，需区级协调"))
    assert detail["state"] == "reported" and detail["owner_region_code"] == world.r["A"].code
    assert detail["escalation_count"] == 1
    row = _assert_row(
        detail,
        action="escalate",
        actor="op_a1",
        from_state="reported",
        to_state="reported",
        note="涉及多个街道，需区级协调",
    )
    assert row["data"] == {"from": world.r["A1"].code, "to": world.r["A"].code}
    # the township still sees the case but may no longer act on it
    assert world.api(world.township_operator, "get", f"/cases/{case.pk}").status_code == 200
    before = snapshot(case.pk)
    res = api_act(world, world.township_operator, case.pk, "accept")
    assert res.status_code == 403 and res.json()["detail"]["code"] == "forbidden"
    assert snapshot(case.pk) == before
    # the county center accepts and dispatches at its level (responsibility list: police + office)
    _ok(api_act(world, world.operator, case.pk, "accept"))
    detail = _ok(api_act(world, world.operator, case.pk, "dispatch"))
    assert detail["state"] == "dispatched" and detail["lead_department_id"] == world.police.pk


def test_escalate_at_the_top_is_refused(world):
    top_operator = make_user(Role.CENTER_OPERATOR, world.r["P"], username="op_p")
    case = report(world, actor=top_operator)
    _field_error(api_act(world, top_operator, case.pk, "escalate", "上报"), "action", "top_level")


def test_dispatch_by_responsibility_rule(world):
    case = drive_to(world, CaseState.ACCEPTED)
    rule = ResponsibilityRule.objects.get()
    detail = _ok(api_act(world, world.operator, case.pk, "dispatch"))
    assert detail["state"] == "dispatched" and detail["stage"] == "acknowledge"
    assert detail["lead_department_id"] == world.police.pk
    assert {(a["department_id"], a["role"]) for a in detail["assignments"]} == {
        (world.police.pk, "lead"),
        (world.township_office.pk, "assisting"),
    }
    row = _assert_row(detail, action="dispatch", actor="op_a", from_state="accepted", to_state="dispatched")
    assert row["data"]["rule"] == {"key": rule.rule_key, "version": 1}
    assert row["data"]["lead"] == {"id": world.police.pk, "name": world.police.name}
    assert row["data"]["assisting"] == [{"id": world.township_office.pk, "name": world.township_office.name}]
    case.refresh_from_db()
    assert case.dispatch_rule_id == rule.pk
    assert dt.datetime.fromisoformat(row["data"]["handle_due_at"]) == case.handle_due_at
    assert case.handle_due_at > case.dispatched_at


def test_dispatch_without_applicable_rule_stays_for_manual_dispatch(world):
    case = drive_to(world, CaseState.ACCEPTED, category_code="0301")  # no rule for 城市管理
    before = snapshot(case.pk)
    _field_error(api_act(world, world.operator, case.pk, "dispatch"), "lead_department_id", "required")
    assert snapshot(case.pk) == before  # still with the center
    due = (timezone.now() + dt.timedelta(days=3)).replace(microsecond=0)
    detail = _ok(
        api_act(
            world,
            world.operator,
            case.pk,
            "dispatch",
            lead_department_id=world.housing.pk,
            assisting_department_ids=[world.police.pk],
            handle_due_at=due.isoformat(),
        )
    )
    assert detail["lead_department_id"] == world.housing.pk
    assert detail["handle_due_at"] is not None
    case.refresh_from_db()
    assert case.dispatch_rule_id is None and case.handle_due_at == due
    assert _last(detail)["data"].get("rule") is None
    assert _last(detail)["data"]["assisting"] == [{"id": world.police.pk, "name": world.police.name}]


def test_dispatch_outside_owner_subtree_is_422(world):
    case = drive_to(world, CaseState.ACCEPTED)
    before = snapshot(case.pk)
    res = api_act(world, world.operator, case.pk, "dispatch", lead_department_id=world.other_police.pk)
    _field_error(res, "lead_department_id", "out_of_scope")
    res = api_act(
        world,
        world.operator,
        case.pk,
        "dispatch",
        lead_department_id=world.police.pk,
        assisting_department_ids=[world.other_police.pk],
    )
    _field_error(res, "assisting_department_ids", "out_of_scope")
    _field_error(
        api_act(world, world.operator, case.pk, "dispatch", lead_department_id=999999), "lead_department_id"
    )
    past = (timezone.now() - dt.timedelta(hours=1)).isoformat()
    res = api_act(
        world, world.operator, case.pk, "dispatch", lead_department_id=world.police.pk, handle_due_at=past
    )
    _field_error(res, "handle_due_at", "in_past")
    assert snapshot(case.pk) == before
    # a township-owned case cannot go to a county department
    township_case = drive_to(world, CaseState.REPORTED, actor="township_operator")
    act(world, "township_operator", township_case, "accept")
    res = api_act(
        world, world.township_operator, township_case.pk, "dispatch", lead_department_id=world.police.pk
    )
    _field_error(res, "lead_department_id", "out_of_scope")
    detail = _ok(
        api_act(
            world,
            world.township_operator,
            township_case.pk,
            "dispatch",
            lead_department_id=world.township_office.pk,
        )
    )
    assert detail["lead_department_id"] == world.township_office.pk


def test_dispatch_uses_the_rule_version_in_force_at_dispatch_time(world):
    admin = make_user(Role.SYSTEM_ADMIN, world.r["A"], username="admin_a")
    v1 = ResponsibilityRule.objects.get()
    change = timezone.localdate() + dt.timedelta(days=10)
    res = world.api(
        admin,
        "post",
        f"/rules/{v1.pk}/revise",
        {
            "effective_from": change.isoformat(),
            "lead_department_id": world.housing.pk,
            "assisting_department_ids": [],
        },
    )
    assert res.status_code == 201, res.content
    v2 = ResponsibilityRule.objects.get(pk=res.json()["id"])
    assert v2.version == 2
    early = drive_to(world, CaseState.ACCEPTED)
    late = drive_to(world, CaseState.ACCEPTED)
    with time_machine.travel(dt.datetime.combine(change - dt.timedelta(days=1), dt.time(10), TZ), tick=False):
        detail = _ok(api_act(world, world.operator, early.pk, "dispatch"))
        assert detail["lead_department_id"] == world.police.pk
        assert _last(detail)["data"]["rule"] == {"key": v1.rule_key, "version": 1}
    with time_machine.travel(dt.datetime.combine(change + dt.timedelta(days=1), dt.time(10), TZ), tick=False):
        detail = _ok(api_act(world, world.operator, late.pk, "dispatch"))
        assert detail["lead_department_id"] == world.housing.pk
        assert _last(detail)["data"]["rule"] == {"key": v1.rule_key, "version": 2}
        assert detail["assignments"] == [a for a in detail["assignments"] if a["role"] == "lead"]
    early.refresh_from_db()
    late.refresh_from_db()
    assert early.dispatch_rule_id == v1.pk and late.dispatch_rule_id == v2.pk
    versions = world.api(admin, "get", f"/rules/{v1.pk}/versions").json()
    assert [(v["version"], v["effective_to"]) for v in versions] == [(1, change.isoformat()), (2, None)]


def test_acknowledge(world):
    case = drive_to(world, CaseState.DISPATCHED)
    detail = _ok(api_act(world, world.handler, case.pk, "acknowledge"))
    assert detail["state"] == "handling" and detail["stage"] == "handle"
    row = _assert_row(
        detail, action="acknowledge", actor="police_a", from_state="dispatched", to_state="handling"
    )
    assert row["department"] == world.police.name
    case.refresh_from_db()
    assert case.acknowledged_at is not None
    assert case.due_at == case.handle_due_at  # the handling deadline fixed at dispatch
    lead = next(a for a in detail["assignments"] if a["role"] == "lead")
    assert lead["acknowledged_at"] is not None


def test_return_goes_back_to_the_dispatching_center(world):
    case = drive_to(world, CaseState.HANDLING)
    _field_error(api_act(world, world.handler, case.pk, "return"), "note", "required")
    detail = _ok(api_act(world, world.handler, case.pk, "return", "不属于本单位职责"))
    assert detail["state"] == "accepted" and detail["is_returned"] is True and detail["return_count"] == 1
    assert detail["lead_department_id"] is None and detail["handle_due_at"] is None
    row = _assert_row(
        detail,
        action="return",
        actor="police_a",
        from_state="handling",
        to_state="accepted",
        note="不属于本单位职责",
    )
    assert row["data"] == {"department": {"id": world.police.pk, "name": world.police.name}}
    assert all(not a["is_current"] for a in detail["assignments"])
    # the center re-dispatches; the case leaves the "returned" queue
    detail = _ok(api_act(world, world.operator, case.pk, "dispatch", lead_department_id=world.housing.pk))
    assert detail["is_returned"] is False and detail["lead_department_id"] == world.housing.pk
    assert {a["dispatch_seq"] for a in detail["assignments"] if a["is_current"]} == {2}


def test_report_part_by_assisting_department(world):
    case = drive_to(world, CaseState.ACCEPTED)
    act(
        world,
        "operator",
        case,
        "dispatch",
        lead_department_id=world.police.pk,
        assisting_department_ids=[world.housing.pk],
    )
    _field_error(api_act(world, world.housing_handler, case.pk, "report_part"), "note", "required")
    detail = _ok(api_act(world, world.housing_handler, case.pk, "report_part", "已完成房屋安全鉴定"))
    assert detail["state"] == "dispatched"  # recorded without moving the case
    row = _assert_row(
        detail,
        action="report_part",
        actor="housing_a",
        from_state="dispatched",
        to_state="dispatched",
        note="已完成房屋安全鉴定",
    )
    assert row["data"] == {"department": {"id": world.housing.pk, "name": world.housing.name}}
    assert row["department"] == world.housing.name
    part = next(a for a in detail["assignments"] if a["role"] == "assisting")
    assert part["part_result"] == "已完成房屋安全鉴定" and part["part_done_at"] is not None
    # the lead is not an assisting department
    assert api_act(world, world.handler, case.pk, "report_part", "x").status_code == 403


def test_resolve_waits_for_assisting_parts_unless_the_center_overrides(world):
    case = drive_to(world, CaseState.ACCEPTED)
    act(world, "operator", case, "dispatch")  # rule: police + township office assisting
    act(world, "handler", case, "acknowledge")
    before = snapshot(case.pk)
    res = api_act(world, world.handler, case.pk, "resolve", "已办结")
    assert res.status_code == 409
    assert res.json()["detail"]["code"] == "parts_missing"
    assert res.json()["detail"]["missing"] == [world.township_office.name]
    assert res.json()["detail"]["current_state"] == "handling"
    # the lead may not override; the center may, and it is recorded
    res = api_act(world, world.handler, case.pk, "resolve", "已办结", override_parts=True)
    assert res.status_code == 403
    assert snapshot(case.pk) == before
    detail = _ok(api_act(world, world.operator, case.pk, "resolve", "中心代为办结", override_parts=True))
    assert detail["state"] == "resolved" and detail["stage"] == "reply" and detail["result"] == "中心代为办结"
    row = _assert_row(
        detail,
        action="resolve",
        actor="op_a",
        from_state="handling",
        to_state="resolved",
        note="中心代为办结",
    )
    assert row["data"] == {"override_parts": [world.township_office.name]}
    case.refresh_from_db()
    assert case.resolved_at is not None
    assert case.due_at == case.resolved_at + dt.timedelta(hours=24)  # the reply clock


def test_resolve_by_lead(world):
    case = drive_to(world, CaseState.HANDLING)
    _field_error(api_act(world, world.handler, case.pk, "resolve", "   "), "note", "required")
    detail = _ok(api_act(world, world.handler, case.pk, "resolve", "双方达成一致"))
    row = _assert_row(
        detail,
        action="resolve",
        actor="police_a",
        from_state="handling",
        to_state="resolved",
        note="双方达成一致",
    )
    assert row["data"] == {} and row["department"] == world.police.name


def test_extension_request_approve_reject(world):
    case = drive_to(world, CaseState.HANDLING)
    due = case.due_at
    _field_error(api_act(world, world.handler, case.pk, "request_extension", "需要鉴定"), "until", "required")
    too_early = (due - dt.timedelta(hours=1)).isoformat()
    _field_error(
        api_act(world, world.handler, case.pk, "request_extension", "需要鉴定", until=too_early),
        "until",
        "not_later",
    )
    until = (due + dt.timedelta(days=10)).replace(microsecond=0)
    detail = _ok(
        api_act(world, world.handler, case.pk, "request_extension", "需要第三方鉴定", until=until.isoformat())
    )
    assert detail["extension_pending"] is True and detail["state"] == "handling"
    row = _assert_row(
        detail,
        action="request_extension",
        actor="police_a",
        from_state="handling",
        to_state="handling",
        note="需要第三方鉴定",
    )
    assert row["data"] == {"until": until.isoformat(), "current_due_at": due.isoformat()}
    # a second request while one is pending
    before = snapshot(case.pk)
    res = api_act(world, world.handler, case.pk, "request_extension", "再申请", until=until.isoformat())
    assert res.status_code == 409 and res.json()["detail"]["code"] == "extension_pending"
    assert res.json()["detail"]["current_state"] == "handling"
    # the operator may not approve (no case.approve_extension); the director may
    assert api_act(world, world.operator, case.pk, "approve_extension").status_code == 403
    assert snapshot(case.pk) == before
    detail = _ok(api_act(world, world.director, case.pk, "approve_extension"))
    row = _assert_row(
        detail, action="approve_extension", actor="dir_a", from_state="handling", to_state="handling"
    )
    assert row["data"] == {"from": due.isoformat(), "to": until.isoformat()}
    case.refresh_from_db()
    assert case.due_at == until and case.handle_due_at == until and not case.extension_pending
    assert case.due_overridden is True
    # nothing pending any more
    res = api_act(world, world.director, case.pk, "approve_extension")
    assert res.status_code == 409 and res.json()["detail"]["code"] == "no_extension_pending"
    # request again, rejected: the deadline stays
    later = until + dt.timedelta(days=5)
    act(world, "handler", case, "request_extension", "仍需时间", until=later.isoformat())
    _field_error(api_act(world, world.director, case.pk, "reject_extension"), "note", "required")
    detail = _ok(api_act(world, world.director, case.pk, "reject_extension", "理由不充分"))
    _assert_row(
        detail,
        action="reject_extension",
        actor="dir_a",
        from_state="handling",
        to_state="handling",
        note="理由不充分",
    )
    case.refresh_from_db()
    assert case.due_at == until and case.handle_due_at == until and not case.extension_pending
    assert case.extension_requested_until is None


def test_reply(world):
    case = drive_to(world, CaseState.RESOLVED)
    _field_error(api_act(world, world.operator, case.pk, "reply"), "note", "required")
    detail = _ok(api_act(world, world.operator, case.pk, "reply", "已电话告知", method="phone"))
    assert detail["state"] == "replied" and detail["stage"] == "rate" and detail["reply_text"] == "已电话告知"
    row = _assert_row(
        detail, action="reply", actor="op_a", from_state="resolved", to_state="replied", note="已电话告知"
    )
    assert row["data"] == {"method": "phone"}
    case.refresh_from_db()
    assert case.due_at == case.replied_at + dt.timedelta(days=7)  # the rating window


def test_rate_by_callback_operator(world):
    case = drive_to(world, CaseState.REPLIED)
    _field_error(api_act(world, world.operator, case.pk, "rate", rating="great"), "rating", "invalid_choice")
    detail = _ok(
        api_act(world, world.operator, case.pk, "rate", rating="basically_satisfied", comment="还行")
    )
    assert detail["state"] == "replied" and detail["rating"] == "basically_satisfied"
    row = _assert_row(detail, action="rate", actor="op_a", from_state="replied", to_state="replied")
    assert row["data"] == {"rating": "basically_satisfied", "comment": "还行", "by": "callback"}
    res = api_act(world, world.operator, case.pk, "rate", rating="satisfied")
    assert res.status_code == 409 and res.json()["detail"]["code"] == "already_rated"


def test_rate_by_reporter_with_tracking_code(world):
    result = services.case_report(
        actor=None,
        data=services.ReportInput(
            # reported for the county itself: owned by the county center, which dispatches to its police
            channel="web",
            title="路灯不亮",
            description="门口路灯坏了",
            region_code=world.r["A"].code,
            reporter_phone="13900001111",
        ),
    )
    case = drive_to(world, CaseState.REPLIED, result.case)
    c = world.client(None)
    url = f"/api/v1/public/cases/{case.number}/rating"
    res = c.post(url, {"code": "WRONGCODE", "rating": "satisfied"}, content_type="application/json")
    assert res.status_code == 404
    res = c.post(
        url,
        {"code": result.tracking_code.lower(), "rating": "satisfied", "comment": "很好"},
        content_type="application/json",
    )
    assert res.status_code == 200, res.content
    assert res.json()["rating"] == "satisfied" and res.json()["can_rate"] is False
    event = CaseEvent.objects.filter(case=case).last()
    assert (event.action, event.actor_id, event.actor_label) == ("rate", None, "系统")
    assert event.data == {"rating": "satisfied", "comment": "很好", "by": "reporter"}


def test_unsatisfied_rating_reopens_and_manual_reopen(world):
    case = drive_to(world, CaseState.REPLIED)
    detail = _ok(api_act(world, world.operator, case.pk, "rate", rating="unsatisfied"))
    assert detail["state"] == "handling" and detail["reopen_count"] == 1 and detail["rating"] == ""
    rate_row, reopen_row = detail["timeline"][-2:]
    assert (rate_row["action"], rate_row["from_state"], rate_row["to_state"]) == (
        "rate",
        "replied",
        "replied",
    )
    assert (reopen_row["action"], reopen_row["actor"]) == ("reopen", "系统")
    assert (reopen_row["from_state"], reopen_row["to_state"]) == ("replied", "handling")
    assert reopen_row["data"] == {"previous_rating": "unsatisfied"}
    case.refresh_from_db()
    assert case.stage == "handle" and case.due_at == case.handle_due_at and case.due_at > timezone.now()
    # a manual reopen by the center (note required)
    act(world, "handler", case, "resolve", "再次办结")
    act(world, "operator", case, "reply", "再次告知")
    _field_error(api_act(world, world.operator, case.pk, "reopen"), "note", "required")
    detail = _ok(api_act(world, world.operator, case.pk, "reopen", "回访发现问题未解决"))
    assert detail["state"] == "handling" and detail["reopen_count"] == 2
    _assert_row(
        detail,
        action="reopen",
        actor="op_a",
        from_state="replied",
        to_state="handling",
        note="回访发现问题未解决",
    )


@override_settings(ZZ_MAX_AUTO_REOPENS=2)
def test_reopen_limit_keeps_case_replied(world):
    case = drive_to(world, CaseState.REPLIED)
    for n in (1, 2):
        act(world, "operator", case, "rate", rating="unsatisfied")
        case.refresh_from_db()
        assert case.state == CaseState.HANDLING and case.reopen_count == n
        act(world, "handler", case, "resolve", f"第{n + 1}次办结")
        act(world, "operator", case, "reply", "告知")
    detail = _ok(api_act(world, world.operator, case.pk, "rate", rating="unsatisfied"))
    assert detail["state"] == "replied" and detail["reopen_count"] == 2 and detail["rating"] == "unsatisfied"
    assert _last(detail)["action"] == "rate"
    assert CaseEvent.objects.filter(case=case, action="reopen").count() == 2
    # the center may still archive it with the rating it got
    detail = _ok(api_act(world, world.operator, case.pk, "archive"))
    assert detail["state"] == "archived" and detail["rating"] == "unsatisfied"


def test_archive_after_rating(world):
    case = drive_to(world, CaseState.REPLIED)
    act(world, "operator", case, "rate", rating="satisfied")
    detail = _ok(api_act(world, world.operator, case.pk, "archive"))
    assert detail["state"] == "archived" and detail["stage"] == "none" and detail["rating"] == "satisfied"
    row = _assert_row(detail, action="archive", actor="op_a", from_state="replied", to_state="archived")
    assert row["data"] == {}
    assert Case.objects.get(pk=case.pk).archived_at is not None


def test_archive_without_rating_only_after_the_window(world):
    case = drive_to(world, CaseState.REPLIED)
    before = snapshot(case.pk)
    res = api_act(world, world.operator, case.pk, "archive")
    assert res.status_code == 409
    assert res.json()["detail"]["code"] == "rating_window_open"
    assert res.json()["detail"]["current_state"] == "replied"
    assert snapshot(case.pk) == before
    with time_machine.travel(case.due_at + dt.timedelta(minutes=1), tick=False):
        detail = _ok(api_act(world, world.operator, case.pk, "archive"))
    assert detail["state"] == "archived" and detail["rating"] == "not_rated"
    row = _assert_row(detail, action="archive", actor="op_a", from_state="replied", to_state="archived")
    assert row["data"] == {"rating": "not_rated"}


def test_manual_supervision_and_reply(world):
    case = drive_to(world, CaseState.HANDLING)
    _field_error(api_act(world, world.city_leader, case.pk, "supervise"), "note", "required")
    detail = _ok(
        api_act(world, world.city_leader, case.pk, "supervise", "群众反映强烈，请加快办理", kind="listed")
    )
    assert detail["state"] == "handling"
    row = _assert_row(
        detail,
        action="supervise",
        actor="leader_c",
        from_state="handling",
        to_state="handling",
        note="群众反映强烈，请加快办理",
    )
    notice = Supervision.objects.get(case=case)
    assert row["data"] == {"supervision": notice.pk, "kind": "listed"}
    assert notice.is_manual and notice.department_id == world.police.pk
    assert notice.supervising_region_id == world.r["C"].pk and notice.opened_by_id == world.city_leader.pk
    assert [s["id"] for s in detail["supervisions"]] == [notice.pk]
    # another department does not even see it; the lead department replies once
    url = f"/supervisions/{notice.pk}/reply"
    assert world.api(world.housing_handler, "post", url, {"text": "收到"}).status_code == 404
    res = world.api(world.handler, "post", url, {"text": "已加派警力，三日内办结"})
    assert res.status_code == 200, res.content
    assert res.json()["replied_at"] is not None and res.json()["reply_text"] == "已加派警力，三日内办结"
    res = world.api(world.handler, "post", url, {"text": "再次回复"})
    assert res.status_code == 409 and res.json()["detail"]["code"] == "already_replied"
    event = CaseEvent.objects.filter(case=case).last()
    assert (event.action, event.actor_label, event.from_state, event.to_state) == (
        "supervision_reply",
        "police_a",
        "handling",
        "handling",
    )
    assert event.data == {"supervision": notice.pk, "on_time": True}
    case.refresh_from_db()
    assert case.last_event_seq == event.seq
    _field_error(
        api_act(world, world.city_leader, case.pk, "supervise", "x", kind="bogus"), "kind", "invalid_choice"
    )


def test_unknown_action_is_422(world):
    case = report(world)
    _field_error(api_act(world, world.operator, case.pk, "teleport"), "action", "invalid_choice")


# --- the note rule -----------------------------------------------------------------------------------------------

# action → (state to bring the case to, who acts, extra data); covers every note-required action.
_NOTE_SETUP: dict[str, tuple[str, str, dict[str, Any]]] = {
    "decline": (CaseState.REPORTED, "operator", {}),
    "escalate": (CaseState.REPORTED, "operator", {}),
    "return": (CaseState.DISPATCHED, "handler", {}),
    "report_part": (CaseState.DISPATCHED, "housing_handler", {}),
    "request_extension": (CaseState.HANDLING, "handler", {"until": "2099-01-01T00:00:00+08:00"}),
    "reject_extension": (CaseState.HANDLING, "director", {}),
    "resolve": (CaseState.HANDLING, "handler", {}),
    "reply": (CaseState.RESOLVED, "operator", {}),
    "reopen": (CaseState.REPLIED, "operator", {}),
    "supervise": (CaseState.HANDLING, "city_leader", {}),
}


def test_note_setup_covers_every_note_required_action():
    # kind-specific actions (``t.kinds``) are covered by the tests of the app that owns the kind
    # (zongzhi/disputes/tests/test_workflow_table.py)
    assert set(_NOTE_SETUP) == {t.action for t in TRANSITIONS if t.note_required and not t.kinds}


@pytest.mark.parametrize("action", sorted(_NOTE_SETUP))
def test_note_required_actions_refuse_an_empty_note(world, action):
    state, who, data = _NOTE_SETUP[action]
    assert state in BY_ACTION[action].sources
    case = drive_to(world, state)
    if action == "report_part":
        case = drive_to(world, CaseState.ACCEPTED)
        act(
            world,
            "operator",
            case,
            "dispatch",
            lead_department_id=world.police.pk,
            assisting_department_ids=[world.housing.pk],
        )
    if action == "reject_extension":
        act(world, "handler", case, "request_extension", "需要鉴定", until="2099-01-01T00:00:00+08:00")
    before = snapshot(case.pk)
    for note in ("", "   \n"):
        detail = _field_error(
            api_act(world, getattr(world, who), case.pk, action, note, **data), "note", "required"
        )
        assert detail["message"]
    assert snapshot(case.pk) == before
    # and the same call with a note goes through (the refusal was the note, nothing else)
    _ok(api_act(world, getattr(world, who), case.pk, action, "说明理由", **data))


# --- every illegal move: 409 with the current state, nothing written --------------------------------------------

_DEPARTMENT_SEES = {
    CaseState.DISPATCHED,
    CaseState.HANDLING,
    CaseState.RESOLVED,
    CaseState.REPLIED,
    CaseState.ARCHIVED,
}


def _entitled_actor(world, action: str, state: str):
    """The user who would be entitled to ``action`` on a case in ``state`` if the table allowed it —
    so that the refusal can only come from the state."""
    t = BY_ACTION[action]
    if action in ("approve_extension", "reject_extension"):
        return world.director
    if t.actor == "department":
        if action == "report_part":
            return world.housing_handler if state in _DEPARTMENT_SEES else world.operator
        return world.handler if state in _DEPARTMENT_SEES else world.operator
    if action == "supervise":
        return world.city_leader
    return world.operator


def _data_for(world, action: str, master: Case) -> dict[str, Any]:
    return {
        "merge": {"master": master.number},
        "dispatch": {"lead_department_id": world.police.pk},
        "request_extension": {"until": "2099-01-01T00:00:00+08:00"},
        "rate": {"rating": "unsatisfied"},
        "resolve": {"override_parts": True},
        "archive": {"force": True},
        "supervise": {"kind": "supervision"},
    }.get(action, {})


@pytest.mark.parametrize("state", list(CaseState.values))
def test_every_action_not_allowed_from_a_state_is_409_and_writes_nothing(world, state):
    """The whole table: for ``state``, every action whose sources do not include it."""
    illegal = [t.action for t in TRANSITIONS if state not in t.sources]
    assert illegal, state
    master = report(world, title="主案件")
    # housing assists (and has reported its part), so each department action has an entitled user
    case = drive_to(world, state, housing_assists=True)
    before = snapshot(case.pk)
    failures = []
    for action in illegal:
        user = _entitled_actor(world, action, state)
        res = api_act(world, user, case.pk, action, "说明", **_data_for(world, action, master))
        body = res.json()
        if res.status_code != 409 or body["detail"].get("current_state") != state:
            failures.append((action, res.status_code, body))
            continue
        assert body["detail"]["code"] == "illegal_transition" and body["detail"]["action"] == action
        if snapshot(case.pk) != before:
            failures.append((action, "wrote something"))
    assert not failures, failures
    assert snapshot(case.pk) == before


def test_table_covers_every_state():
    # the actions every kind has reach every open state (kind-specific ones may add to them)
    sources = {s for t in TRANSITIONS if not t.kinds for s in t.sources}
    assert sources == set(CaseState.values) - {CaseState.ARCHIVED, CaseState.DECLINED}
