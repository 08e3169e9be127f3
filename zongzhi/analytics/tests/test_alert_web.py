"""Early-warning pages and API: scoped lists, detail with evidence, disposition, rule configuration."""

# ruff: noqa: F811 - the ``world`` fixture is imported from the cases tests and used as a parameter
from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from zongzhi.analytics import alerts
from zongzhi.analytics.alert_models import Alert, AlertRule, AlertStatus
from zongzhi.analytics.tests.test_alerts import T0, D, at, rep
from zongzhi.cases.tests.conftest import World, world  # noqa: F401 - the fixture

pytestmark = pytest.mark.django_db


def planted(w: World) -> Alert:
    alerts.alert_rule_create(
        actor=None, region=w.r["A"], kind="repeat_reporter", name="重复反映", params={"count": 2, "days": 7}
    )
    for d in (0, 1):
        rep(w, T0 + d * D, reporter_phone="13812340000")
    alerts.alerts_scan(now=T0 + 2 * D)
    return Alert.objects.get()


def test_list_and_detail_are_scoped(world: World) -> None:
    alert = planted(world)
    for user in (world.operator, world.director, world.city_leader):
        page = world.client(user).get("/alerts/")
        assert page.status_code == 200
        assert alert.title in page.content.decode()
        assert world.client(user).get(f"/alerts/{alert.pk}/").status_code == 200
    # county B sees an empty list and no detail; a department handler has no alert pages at all
    page = world.client(world.sibling_operator).get("/alerts/")
    assert page.status_code == 200 and alert.title not in page.content.decode()
    assert world.client(world.sibling_operator).get(f"/alerts/{alert.pk}/").status_code == 404
    assert world.client(world.handler).get("/alerts/").status_code == 404
    assert world.client(None).get("/alerts/").status_code == 302


def test_detail_shows_the_evidence_masked(world: World) -> None:
    alert = planted(world)
    body = world.client(world.operator).get(f"/alerts/{alert.pk}/").content.decode()
    for case in alert.cases.all():
        assert case.number in body
    assert "138****0000" in body and "13812340000" not in body


def test_disposition_through_the_page(world: World) -> None:
    alert = planted(world)
    c = world.client(world.operator)
    r = c.post(f"/alerts/{alert.pk}/dispose/", {"action": "handle", "note": ""})
    assert r.status_code == 422 and "请填写处置说明" in r.content.decode()
    assert Alert.objects.get().status == AlertStatus.NEW
    r = c.post(f"/alerts/{alert.pk}/dispose/", {"action": "acknowledge", "note": ""})
    assert r.status_code == 302
    r = c.post(f"/alerts/{alert.pk}/dispose/", {"action": "handle", "note": "已上门核实"})
    assert r.status_code == 302
    alert.refresh_from_db()
    assert alert.status == AlertStatus.HANDLED and alert.disposition_note == "已上门核实"
    # the leader sees it but has no disposition form; posting is refused and nothing changes
    page = world.client(world.city_leader).get(f"/alerts/{alert.pk}/").content.decode()
    assert "dispose/" not in page
    assert (
        world.client(world.sibling_operator)
        .post(f"/alerts/{alert.pk}/dispose/", {"action": "acknowledge"})
        .status_code
        == 404
    )


def test_api_list_detail_and_disposition(world: World) -> None:
    alert = planted(world)
    r = world.api(world.operator, "get", "/alerts")
    assert r.status_code == 200
    assert [a["id"] for a in r.json()["items"]] == [alert.pk]
    assert world.api(world.sibling_operator, "get", "/alerts").json()["items"] == []
    assert world.api(world.operator, "get", "/alerts?status=bogus").status_code == 422
    detail = world.api(world.operator, "get", f"/alerts/{alert.pk}").json()
    assert detail["case_ids"] == sorted(alert.cases.values_list("pk", flat=True))
    assert detail["figures"]["count"] == 2
    assert set(detail["allowed_actions"]) == {"acknowledge", "handle", "false_alarm"}
    r = world.api(world.operator, "post", f"/alerts/{alert.pk}/disposition", {"action": "false_alarm"})
    assert r.status_code == 422 and r.json()["detail"]["field"] == "note"
    r = world.api(
        world.operator,
        "post",
        f"/alerts/{alert.pk}/disposition",
        {"action": "false_alarm", "note": "测试数据"},
    )
    assert r.status_code == 200 and r.json()["status"] == "false_alarm"
    assert r.json()["history"][0]["actor"] == str(world.operator)
    r = world.api(
        world.operator, "post", f"/alerts/{alert.pk}/disposition", {"action": "handle", "note": "x"}
    )
    assert r.status_code == 409
    assert (
        world.api(
            world.city_leader, "post", f"/alerts/{alert.pk}/disposition", {"action": "acknowledge"}
        ).status_code
        == 403
    )
    assert world.api(world.sibling_operator, "get", f"/alerts/{alert.pk}").status_code == 404


def test_rule_configuration_page(world: World) -> None:
    c = world.client(world.director)
    page = c.get("/alerts/rules/?kind=cluster")
    assert page.status_code == 200 and "半径 R（米）" in page.content.decode()
    r = c.post(
        "/alerts/rules/",
        {
            "kind": "cluster",
            "name": "消防聚集",
            "region": world.r["A1"].code,
            "level": "red",
            "enabled": "on",
            "p_count": "4",
            "p_radius_m": "0",  # below the minimum
            "p_hours": "6",
            "p_lookback_hours": "24",
            "p_category_level": "leaf",
        },
    )
    assert r.status_code == 422 and not AlertRule.objects.exists()
    r = c.post(
        "/alerts/rules/",
        {
            "kind": "cluster",
            "name": "消防聚集",
            "region": world.r["A1"].code,
            "level": "red",
            "enabled": "on",
            "p_count": "4",
            "p_radius_m": "300",
            "p_hours": "6",
            "p_lookback_hours": "24",
            "p_category_level": "leaf",
        },
    )
    assert r.status_code == 302
    rule = AlertRule.objects.get()
    assert (rule.region, rule.level, rule.params["radius_m"]) == (world.r["A1"], "red", 300.0)
    # county B's director cannot reach it; A's operator sees the rule list but cannot edit
    director_b = __import__("tests.factories", fromlist=["make_user"]).make_user(
        "center_director", world.r["B"]
    )
    assert world.client(director_b).get(f"/alerts/rules/{rule.pk}/").status_code == 404
    assert world.client(world.operator).get(f"/alerts/rules/{rule.pk}/").status_code == 404
    assert world.client(world.operator).get("/alerts/rules/").status_code == 200
    r = c.post(
        f"/alerts/rules/{rule.pk}/",
        {
            "name": "消防聚集（夜间）",
            "level": "orange",
            "p_count": "5",
            "p_radius_m": "300",
            "p_hours": "6",
            "p_lookback_hours": "24",
            "p_category_level": "leaf",
        },
    )
    assert r.status_code == 302
    rule.refresh_from_db()
    assert (rule.name, rule.level, rule.params["count"], rule.enabled) == (
        "消防聚集（夜间）",
        "orange",
        5,
        False,
    )


def test_rule_api(world: World) -> None:
    body: dict[str, Any] = {
        "name": "重复反映",
        "kind": "repeat_reporter",
        "region_code": world.r["A"].code,
        "params": {"count": 4},
    }
    r = world.api(world.director, "post", "/alert-rules", body)
    assert r.status_code == 201 and r.json()["params"] == {"count": 4, "days": 7}
    rule_id = r.json()["id"]
    r = world.api(world.director, "post", "/alert-rules", {**body, "params": {"count": 0}})
    assert r.status_code == 422 and r.json()["detail"]["field"] == "params.count"
    r = world.api(world.director, "post", "/alert-rules", {**body, "region_code": world.r["B"].code})
    assert r.status_code == 422 and r.json()["detail"]["field"] == "region_code"
    assert world.api(world.operator, "post", "/alert-rules", body).status_code == 404
    r = world.api(
        world.director, "patch", f"/alert-rules/{rule_id}", {"enabled": False, "params": {"days": 3}}
    )
    assert r.status_code == 200 and r.json()["enabled"] is False and r.json()["params"]["days"] == 3
    assert world.api(world.operator, "patch", f"/alert-rules/{rule_id}", {"enabled": True}).status_code == 403
    assert (
        world.api(world.sibling_operator, "patch", f"/alert-rules/{rule_id}", {"enabled": True}).status_code
        == 404
    )
    assert world.api(world.operator, "get", "/alert-rules/kinds/cluster").json()[0]["name"] == "count"


def test_periodic_task_runs_the_scan(world: World) -> None:
    from zongzhi.analytics.alert_tasks import periodic_alerts_scan

    alerts.alert_rule_create(
        actor=None, region=world.r["A"], kind="repeat_reporter", name="r", params={"count": 2}
    )
    now = dt.datetime.now(tz=dt.UTC)
    for _ in range(2):
        rep(world, now - dt.timedelta(hours=1), reporter_phone="13700001111")
    result = at(now, periodic_alerts_scan.call_local)
    assert result["raised"] == 1
    assert at(now, periodic_alerts_scan.call_local)["raised"] == 0


def test_the_scan_is_registered_with_huey() -> None:
    """huey discovers ``analytics.tasks``; the scan must be reachable from there."""
    import importlib

    from huey.contrib.djhuey import HUEY

    importlib.import_module("zongzhi.analytics.tasks")
    assert "zongzhi.analytics.alert_tasks.periodic_alerts_scan" in HUEY._registry._registry
