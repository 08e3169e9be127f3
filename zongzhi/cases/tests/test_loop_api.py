"""The whole loop through the HTTP API."""

from __future__ import annotations

import pytest

from zongzhi.cases.models import Case, CaseEvent, CaseState

pytestmark = pytest.mark.django_db


def _report(world, user=None, **over):
    body = {
        "channel": "hotline",
        "kind": "dispute",
        "title": "楼上漏水纠纷",
        "description": "楼上住户漏水，协商未果",
        "category_code": "0201",
        "region_code": world.r["A1a"].code,
        "reporter_name": "张三",
        "reporter_phone": "13812345678",
    }
    body.update(over)
    return world.api(user or world.operator, "post", "/cases", body)


def _act(world, user, case_id, action, note="", **data):
    return world.api(user, "post", f"/cases/{case_id}/actions/{action}", {"note": note, "data": data})


def test_full_loop_with_unsatisfied_rating_reopens(world):
    res = _report(world)
    assert res.status_code == 201, res.content
    case_id = res.json()["id"]
    assert res.json()["number"].startswith("ZZ")
    assert _act(world, world.operator, case_id, "accept").status_code == 200
    res = _act(world, world.operator, case_id, "dispatch")
    assert res.status_code == 200, res.content
    detail = res.json()
    assert detail["state"] == "dispatched"
    assert detail["lead_department_id"] == world.police.pk  # from the responsibility list
    assert {a["department_id"] for a in detail["assignments"]} == {world.police.pk, world.township_office.pk}
    assert _act(world, world.handler, case_id, "acknowledge").status_code == 200
    # the lead cannot resolve before the assisting part is in
    res = _act(world, world.handler, case_id, "resolve", "已调解")
    assert res.status_code == 409
    assert res.json()["detail"]["code"] == "parts_missing"
    office_handler = __import__("tests.factories", fromlist=["make_user"]).make_user(
        "department_handler", world.r["A1"], department=world.township_office, username="office_a1"
    )
    assert _act(world, office_handler, case_id, "report_part", "街道已上门").status_code == 200
    assert _act(world, world.handler, case_id, "resolve", "双方达成一致").status_code == 200
    assert _act(world, world.operator, case_id, "reply", "电话告知", method="phone").status_code == 200
    res = _act(world, world.operator, case_id, "rate", rating="unsatisfied")
    assert res.status_code == 200, res.content
    detail = res.json()
    assert detail["state"] == "handling"
    assert detail["reopen_count"] == 1
    actions = [e["action"] for e in detail["timeline"]]
    assert actions == [
        "report",
        "accept",
        "dispatch",
        "acknowledge",
        "report_part",
        "resolve",
        "reply",
        "rate",
        "reopen",
    ]
    case = Case.objects.get(pk=case_id)
    assert case.stage == "handle" and case.due_at is not None
    assert CaseEvent.objects.filter(case=case).count() == 9


def test_illegal_move_is_409_with_current_state_and_writes_nothing(world):
    case_id = _report(world).json()["id"]
    before = CaseEvent.objects.filter(case_id=case_id).count()
    res = _act(world, world.operator, case_id, "resolve", "x")
    assert res.status_code == 409
    assert res.json()["detail"]["current_state"] == "reported"
    assert CaseEvent.objects.filter(case_id=case_id).count() == before
    assert Case.objects.get(pk=case_id).state == CaseState.REPORTED


def test_sibling_sees_404_and_ancestor_sees_case(world):
    case_id = _report(world).json()["id"]
    assert world.api(world.sibling_operator, "get", f"/cases/{case_id}").status_code == 404
    assert _act(world, world.sibling_operator, case_id, "accept").status_code == 404
    assert world.api(world.city_leader, "get", f"/cases/{case_id}").status_code == 200
    assert world.api(world.other_handler, "get", f"/cases/{case_id}").status_code == 404
    assert world.api(None, "get", f"/cases/{case_id}").status_code == 401


def test_public_report_track_and_rate(world):
    c = world.client(None)
    res = c.post(
        "/api/v1/public/cases",
        {
            "title": "路灯不亮",
            "description": "小区门口路灯坏了三天",
            "region_code": world.r["A1"].code,
            "reporter_phone": "13900001111",
            "consent": True,
        },
        content_type="application/json",
    )
    assert res.status_code == 201, res.content
    number, code = res.json()["number"], res.json()["tracking_code"]
    res = c.get(f"/api/v1/public/cases/{number}", {"code": code})
    assert res.status_code == 200
    assert res.json()["state"] == "reported"
    assert "reporter_phone" not in res.json()
    assert c.get(f"/api/v1/public/cases/{number}", {"code": "WRONG123"}).status_code == 404
    res = c.post(
        f"/api/v1/public/cases/{number}/rating",
        {"code": code, "rating": "satisfied"},
        content_type="application/json",
    )
    assert res.status_code == 409
    assert res.json()["detail"]["current_state"] == "reported"


def test_idempotency_key(world):
    body = {
        "channel": "hotline",
        "title": "噪音",
        "description": "夜间施工",
        "region_code": world.r["A1a"].code,
    }
    c = world.client(world.operator)
    h = {"HTTP_IDEMPOTENCY_KEY": "abc-123"}
    first = c.post("/api/v1/cases", body, content_type="application/json", **h)
    again = c.post("/api/v1/cases", body, content_type="application/json", **h)
    assert first.status_code == 201 and again.status_code == 200
    assert first.json()["id"] == again.json()["id"]
    other = c.post("/api/v1/cases", {**body, "title": "别的"}, content_type="application/json", **h)
    assert other.status_code == 422
    assert other.json()["detail"]["field"] == "Idempotency-Key"
    assert Case.objects.count() == 1


def test_validation_names_field(world):
    res = _report(world, title="")
    assert res.status_code == 422
    assert any(e["field"] == "title" for e in res.json()["detail"]["errors"])
    res = _report(world, lon=200.0, lat=30.0)
    assert res.status_code == 422
    assert res.json()["detail"]["field"] == "lon"
    assert Case.objects.count() == 0


def test_reports_land_at_the_nearest_staffed_center(world):
    """A citizen's report from a village without work-station staff goes to the township center;
    once the village has staff, to the village (小事不出村)."""
    from tests.factories import make_user

    c = world.client(None)
    body = {
        "title": "路灯坏",
        "description": "三天不亮",
        "region_code": world.r["A1a"].code,
        "is_anonymous": True,
        "consent": True,
    }
    number = c.post("/api/v1/public/cases", body, content_type="application/json").json()["number"]
    assert Case.objects.get(number=number).owner_region == world.r["A1"]
    make_user("center_operator", world.r["A1a"], username="station_a1a")
    number = c.post("/api/v1/public/cases", body, content_type="application/json").json()["number"]
    assert Case.objects.get(number=number).owner_region == world.r["A1a"]
