"""Early-warning rules: each pattern planted in generated data is found exactly once, near misses
are not flagged, and scanning twice raises nothing twice.

Cases are registered and moved through the real services (``cases.tests.drive``) at chosen times
(time-machine); the scan runs as of a chosen ``now``.
"""

# ruff: noqa: F811 - the ``world`` fixture is imported from the cases tests and used as a parameter
from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine

from zongzhi.analytics import alerts
from zongzhi.analytics.alert_models import Alert, AlertAction, AlertKind, AlertStatus
from zongzhi.cases.tests.conftest import World, world  # noqa: F401 - the fixture
from zongzhi.cases.tests.drive import act, report
from zongzhi.core.errors import Conflict, FieldError, NotFound, PermissionDeniedError

TZ = ZoneInfo("Asia/Shanghai")
T0 = dt.datetime(2026, 3, 2, 10, 0, tzinfo=TZ)  # a Monday
H = dt.timedelta(hours=1)
D = dt.timedelta(days=1)
METRES_PER_DEGREE_LAT = alerts.EARTH_RADIUS_M * 3.141592653589793 / 180  # ≈ 111,195 m

pytestmark = pytest.mark.django_db


def at(moment: dt.datetime, fn: Any, *args: Any, **kwargs: Any) -> Any:
    with time_machine.travel(moment, tick=False):
        return fn(*args, **kwargs)


def rep(w: World, when: dt.datetime, **over: Any) -> Any:
    fields = {"kind": "appeal", "reporter_phone": "13900000000"}
    fields.update(over)
    return at(when, report, w, **fields)


def rule(w: World, kind: str, region: str = "A", **params: Any) -> Any:
    return alerts.alert_rule_create(
        actor=None, region=w.r[region], kind=kind, name=f"{kind} rule", level="orange", params=params
    )


def case_sets(r: Any) -> list[set[int]]:
    return [set(a.cases.values_list("pk", flat=True)) for a in Alert.objects.filter(rule=r).order_by("id")]


# --- repeat appeals ------------------------------------------------------------------------------------------


def test_repeat_reporter_found_once_and_near_misses_not(world: World) -> None:
    r = rule(world, AlertKind.REPEAT_REPORTER, count=3, days=7)
    # the pattern: the same phone 3 times within 7 days (day 0, day 2, day 5)
    hit = [rep(world, T0 + d * D, reporter_phone="13911111111") for d in (0, 2, 5)]
    # N−1: only twice
    for d in (0, 3):
        rep(world, T0 + d * D, reporter_phone="13922222222")
    # 3 times, but spread over more than 7 days (day 0, 4, 8: any 3 span 8 days)
    for d in (0, 4, 8):
        rep(world, T0 + d * D + H, reporter_phone="13933333333")
    # 3 times within 7 days, but outside the rule's region (county B)
    for d in (0, 1, 2):
        rep(
            world,
            T0 + d * D,
            reporter_phone="13944444444",
            actor="sibling_operator",
            region_code=world.r["B1a"].code,
        )
    # 3 anonymous reports (no phone) are not a reporter
    for d in (0, 1, 2):
        rep(world, T0 + d * D, is_anonymous=True)

    now = T0 + 9 * D
    first = alerts.alerts_scan(now=now)
    assert first.raised == 1
    assert case_sets(r) == [{c.pk for c in hit}]
    alert = Alert.objects.get(rule=r)
    assert alert.kind == AlertKind.REPEAT_REPORTER and alert.level == "orange"
    assert alert.evidence["figures"]["count"] == 3
    assert alert.evidence["case_ids"] == sorted(c.pk for c in hit)
    # owner: the deepest region holding all the cases (village A1a)
    assert alert.region_path == world.r["A1a"].path

    second = alerts.alerts_scan(now=now)
    assert (second.raised, second.updated) == (0, 0)
    assert Alert.objects.filter(rule=r).count() == 1


def test_repeat_reporter_boundary_exactly_d_days_counts(world: World) -> None:
    r = rule(world, AlertKind.REPEAT_REPORTER, count=3, days=7)
    rep(world, T0, reporter_phone="13955555555")
    rep(world, T0 + 3 * D, reporter_phone="13955555555")
    rep(world, T0 + 7 * D, reporter_phone="13955555555")  # last − first = 7 days exactly: within
    rep(world, T0, reporter_phone="13966666666")
    rep(world, T0 + 3 * D, reporter_phone="13966666666")
    rep(world, T0 + 7 * D + 60 * dt.timedelta(seconds=1), reporter_phone="13966666666")  # 7 days + 1 min
    alerts.alerts_scan(now=T0 + 8 * D)
    assert Alert.objects.filter(rule=r).count() == 1


def test_continuing_pattern_extends_the_open_alert_and_a_new_one_after_handling(world: World) -> None:
    r = rule(world, AlertKind.REPEAT_REPORTER, count=3, days=7)
    cases = [rep(world, T0 + d * D, reporter_phone="13977777777") for d in (0, 1, 2)]
    assert alerts.alerts_scan(now=T0 + 3 * D).raised == 1
    # a 4th appeal while the alert is open: the same pattern goes on — added, not raised again
    cases.append(rep(world, T0 + 4 * D, reporter_phone="13977777777"))
    report2 = alerts.alerts_scan(now=T0 + 4 * D + H)
    assert (report2.raised, report2.updated) == (0, 1)
    assert case_sets(r) == [{c.pk for c in cases}]
    alert = Alert.objects.get(rule=r)
    assert alert.case_count == 4
    # handled; a 5th appeal within the window raises a new alert (the handling did not end it)
    alerts.alert_dispose(actor=world.director, alert_id=alert.pk, action="handle", note="已约谈并答复")
    assert alerts.alerts_scan(now=T0 + 5 * D).raised == 0  # nothing new yet
    fifth = rep(world, T0 + 5 * D + H, reporter_phone="13977777777")
    assert alerts.alerts_scan(now=T0 + 5 * D + 2 * H).raised == 1
    assert alerts.alerts_scan(now=T0 + 5 * D + 3 * H).raised == 0
    sets = case_sets(r)
    assert len(sets) == 2 and fifth.pk in sets[1] and fifth.pk not in sets[0]


def test_repeat_address(world: World) -> None:
    r = rule(world, AlertKind.REPEAT_ADDRESS, count=3, days=10)
    same = [
        rep(world, T0 + d * D, reporter_phone=f"1390000000{d}", address="幸福路8号3幢") for d in (0, 4, 9)
    ]
    rep(world, T0, address="幸福路8号4幢")
    rep(world, T0 + D, address="幸福路8号4幢")  # N−1
    for d in (0, 6, 12):  # spread over 12 days
        rep(world, T0 + d * D, address="光明街1号")
    assert alerts.alerts_scan(now=T0 + 13 * D).raised == 1
    assert case_sets(r) == [{c.pk for c in same}]
    assert Alert.objects.get(rule=r).evidence["figures"]["address"] == "幸福路8号3幢"
    assert alerts.alerts_scan(now=T0 + 13 * D).raised == 0


# --- spatial-temporal cluster --------------------------------------------------------------------------------

LON, LAT = 120.15, 30.27


def north(metres: float) -> float:
    return LAT + metres / METRES_PER_DEGREE_LAT


def test_cluster_found_once_and_near_misses_not(world: World) -> None:
    r = rule(world, AlertKind.CLUSTER, count=4, radius_m=200, hours=6, lookback_hours=48)
    fire = "0102"  # 消防安全
    # the pattern: 4 fire-safety reports within 150 m of the first one, within 3 hours
    hit = [
        rep(
            world, T0 + i * H, reporter_phone=f"1380000000{i}", category_code=fire, lon=LON, lat=north(i * 50)
        )
        for i in range(4)
    ]
    # R + ε: three at one spot, the fourth 205 m away (> 200 m from each of them)
    base = 0.01  # about 1.1 km east of the pattern
    for i in range(3):
        rep(world, T0 + i * H, category_code=fire, lon=LON + base, lat=LAT)
    rep(world, T0 + 3 * H, category_code=fire, lon=LON + base, lat=north(205))
    # outside H: four at one spot, but the fourth 8 hours after the first (any window of 6 h holds 3)
    for i, hours in enumerate((0, 1, 2, 8)):
        rep(
            world,
            T0 + hours * H + i * dt.timedelta(minutes=1),
            category_code=fire,
            lon=LON + 2 * base,
            lat=LAT,
        )
    # another category: three fire reports and one traffic report at one spot
    for i in range(3):
        rep(world, T0 + i * H, category_code=fire, lon=LON + 3 * base, lat=LAT)
    rep(world, T0 + H, category_code="0103", lon=LON + 3 * base, lat=LAT)

    now = T0 + 10 * H
    assert alerts.alerts_scan(now=now).raised == 1
    assert case_sets(r) == [{c.pk for c in hit}]
    alert = Alert.objects.get(rule=r)
    assert alert.evidence["figures"]["count"] == 4
    assert alert.evidence["figures"]["category"] == "消防安全"
    assert alerts.alerts_scan(now=now).raised == 0
    assert Alert.objects.filter(rule=r).count() == 1


def test_cluster_radius_boundary(world: World) -> None:
    """R − ε is inside: three at one spot and a fourth 195 m away make a cluster of four."""
    r = rule(world, AlertKind.CLUSTER, count=4, radius_m=200, hours=6)
    for i in range(3):
        rep(world, T0 + i * H, category_code="0102", lon=LON, lat=LAT)
    rep(world, T0 + 3 * H, category_code="0102", lon=LON, lat=north(195))
    assert alerts.alerts_scan(now=T0 + 4 * H).raised == 1
    assert Alert.objects.get(rule=r).case_count == 4


def test_space_time_clusters_is_pure_and_merges_overlaps() -> None:
    pts = [alerts.Point(i, T0 + i * H, LON, north(i * 10)) for i in range(6)]
    assert alerts.space_time_clusters(pts, 3, 100, dt.timedelta(hours=2)) == [[0, 1, 2, 3, 4, 5]]
    assert alerts.space_time_clusters(pts, 4, 100, dt.timedelta(hours=2)) == []
    assert alerts.space_time_clusters(pts, 3, 5, dt.timedelta(hours=2)) == []


# --- disputes with escalation risk ---------------------------------------------------------------------------


def test_dispute_risk_unresolved_after_t(world: World) -> None:
    r = rule(world, AlertKind.DISPUTE_RISK, hours=48)
    risky = rep(world, T0, kind="dispute", urgency="urgent")
    at(T0 + H, act, world, "operator", risky, "accept")
    # near misses: too young; no risk flag; already resolved; not a dispute
    rep(world, T0 + 3 * D - 47 * H, kind="dispute", urgency="urgent")
    rep(world, T0, kind="dispute", urgency="normal")
    done = rep(world, T0, kind="dispute", urgency="urgent")
    for step, who, note, data in (
        ("accept", "operator", "", {}),
        ("dispatch", "operator", "", {"lead_department_id": world.police.pk}),
        ("acknowledge", "handler", "", {}),
        ("resolve", "handler", "调解成功", {}),
    ):
        at(T0 + 2 * H, act, world, who, done, step, note, **data)
    rep(world, T0, kind="event", urgency="urgent")
    now = T0 + 3 * D
    assert alerts.alerts_scan(now=now).raised == 1
    assert case_sets(r) == [{risky.pk}]
    alert = Alert.objects.get(rule=r)
    assert alert.region_path == risky.owner_path  # the center holding the dispute
    assert "紧急" in alert.evidence["figures"]["flags"]
    assert alerts.alerts_scan(now=now).raised == 0
    # a day later the young one has been unresolved for more than 48 hours too: one more, once
    assert alerts.alerts_scan(now=now + D).raised == 1
    assert alerts.alerts_scan(now=now + D).raised == 0


def test_escalated_dispute_is_flagged(world: World) -> None:
    r = rule(world, AlertKind.DISPUTE_RISK, hours=24)
    case = rep(world, T0, kind="dispute", actor="township_operator")
    at(T0 + H, act, world, "township_operator", case, "escalate", "涉及多个部门，提请区中心协调")
    assert alerts.alerts_scan(now=T0 + 2 * D).raised == 1
    assert case_sets(r) == [{case.pk}]


def test_dispute_records_with_risk_flags(world: World) -> None:
    """Disputes with a record (disputes app): an uncleared 民转刑 flag or a high risk level is risky;
    a low-risk record without flags is not, even when the case is urgent (the record decides)."""
    from zongzhi.disputes import services as dispute_services
    from zongzhi.disputes.models import DisputeType, RiskFlagType

    DisputeType.objects.get_or_create(
        code="neighbour", defaults={"name": "邻里纠纷", "category_code": "0201"}
    )
    threat, _ = RiskFlagType.objects.get_or_create(code="threat", defaults={"name": "扬言报复"})
    r = rule(world, AlertKind.DISPUTE_RISK, hours=24)
    parties = [
        dispute_services.PartyInput(role="applicant", name="张三"),
        dispute_services.PartyInput(role="respondent", name="李四"),
    ]

    def record(case: Any, **over: Any) -> None:
        at(
            T0 + H,
            dispute_services.dispute_create_for_case,
            actor=None,
            case_id=case.pk,
            dispute_type="neighbour",
            parties=parties,
            **over,
        )

    flagged = rep(world, T0, kind="dispute")
    record(flagged, flags=["threat"])
    high = rep(world, T0, kind="dispute")
    record(high, risk_level="high")
    calm = rep(world, T0, kind="dispute", urgency="urgent")
    record(calm, risk_level="low")
    assert alerts.alerts_scan(now=T0 + 2 * D).raised == 2
    assert case_sets(r) == [{flagged.pk}, {high.pk}]
    figures = [a.evidence["figures"]["flags"] for a in Alert.objects.filter(rule=r).order_by("id")]
    assert figures == [[threat.name], ["风险等级：高"]]


# --- sudden rise of a category ----------------------------------------------------------------------------------


def test_category_surge_against_own_baseline(world: World) -> None:
    r = rule(
        world,
        AlertKind.CATEGORY_SURGE,
        recent_days=7,
        baseline_days=28,
        factor=2,
        min_count=5,
        region_level="township",
    )
    now = T0 + 40 * D
    recent = lambda i: now - dt.timedelta(days=6) + i * H  # noqa: E731 - inside the last 7 days
    baseline = lambda i: now - dt.timedelta(days=30) + i * D  # noqa: E731 - in the 28 days before
    # township A1, 治安 (01): baseline 4 cases in 28 days → expected 4/28×7 = 1; recent 6 ≥ 5 and ≥ 2×1 → fires
    hit = [rep(world, recent(i), category_code="0101") for i in range(6)]
    for i in range(4):
        rep(world, baseline(i), category_code="0101")
    # township A1, 城管 (03): baseline 16 → expected 4, threshold 2×4 = 8; recent 7 < 8 → below factor
    for i in range(7):
        rep(world, recent(i), category_code="0301")
    for i in range(16):
        rep(world, baseline(i), category_code="0302")
    # township A2, 治安: no baseline, recent 4 < min_count 5
    for i in range(4):
        rep(world, recent(i), category_code="0101", region_code=world.r["A2a"].code)
    assert alerts.alerts_scan(now=now).raised == 1
    assert case_sets(r) == [{c.pk for c in hit}]
    alert = Alert.objects.get(rule=r)
    figures = alert.evidence["figures"]
    # 6 recent; baseline 4 over 28 days; expected 4 / 28 × 7 = 1.0
    assert (figures["recent"], figures["baseline"], figures["expected"]) == (6, 4, 1.0)
    assert alert.region_path == world.r["A1"].path
    assert alerts.alerts_scan(now=now + H).raised == 0


# --- overdue surge in a department ------------------------------------------------------------------------------


def overdue_case(
    w: World,
    dispatched: dt.datetime,
    due: dt.datetime,
    department: Any,
    resolve_at: dt.datetime | None = None,
    **over: Any,
) -> Any:
    case = rep(w, dispatched - H, **{"reporter_phone": "", **over})
    at(dispatched - H / 2, act, w, "operator", case, "accept")
    at(
        dispatched,
        act,
        w,
        "operator",
        case,
        "dispatch",
        lead_department_id=department.pk,
        handle_due_at=due.isoformat(),
    )
    if resolve_at is not None:
        handler = w.handler if department == w.police else w.housing_handler
        at(resolve_at - H, act, w, handler, case, "acknowledge")
        at(resolve_at, act, w, handler, case, "resolve", "已处理")
    return case


def test_overdue_surge_in_a_department(world: World) -> None:
    r = rule(world, AlertKind.OVERDUE_SURGE, recent_days=1, baseline_days=14, factor=2, min_count=3)
    now = T0 + 20 * D
    # police: 3 cases whose deadline fell in the last day, unresolved; nothing overdue before → fires
    hit = [overdue_case(world, now - 3 * D, now - (i + 2) * H, world.police) for i in range(3)]
    # and one resolved on time, one resolved late (late counts)
    overdue_case(world, now - 3 * D, now - 5 * H, world.police, resolve_at=now - 6 * H)
    late = overdue_case(world, now - 3 * D, now - 8 * H, world.police, resolve_at=now - 7 * H)
    hit.append(late)
    # housing: N−1 — two overdue in the last day
    for i in range(2):
        overdue_case(world, now - 3 * D, now - (i + 2) * H, world.housing)
    now_b = now
    assert alerts.alerts_scan(now=now_b).raised == 1
    assert case_sets(r) == [{c.pk for c in hit}]
    alert = Alert.objects.get(rule=r)
    assert alert.department_id == world.police.pk
    assert alert.evidence["figures"]["recent"] == 4
    assert alerts.alerts_scan(now=now_b).raised == 0


def test_overdue_surge_below_factor_is_not_flagged(world: World) -> None:
    rule(world, AlertKind.OVERDUE_SURGE, recent_days=1, baseline_days=14, factor=2, min_count=3)
    now = T0 + 20 * D
    # 3 overdue in the last day, but 28 in the 14 days before: expected 28/14×1 = 2, threshold 4 > 3
    for i in range(3):
        overdue_case(world, now - 3 * D, now - (i + 2) * H, world.police)
    for i in range(28):
        overdue_case(world, now - 16 * D, now - 2 * D - i * 10 * H, world.police)
    assert alerts.alerts_scan(now=now).raised == 0


# --- configuration and disposition ---------------------------------------------------------------------------


def test_params_are_validated_with_the_field_named() -> None:
    assert alerts.validate_params(AlertKind.REPEAT_REPORTER, {}) == {"count": 3, "days": 7}
    with pytest.raises(FieldError) as e:
        alerts.validate_params(AlertKind.REPEAT_REPORTER, {"count": 1})
    assert e.value.field == "params.count"
    with pytest.raises(FieldError) as e:
        alerts.validate_params(AlertKind.CLUSTER, {"radius_m": "far"})
    assert e.value.field == "params.radius_m"
    with pytest.raises(FieldError) as e:
        alerts.validate_params(AlertKind.CLUSTER, {"colour": 1})
    assert e.value.field == "params.colour"
    with pytest.raises(FieldError) as e:
        alerts.validate_params(AlertKind.CATEGORY_SURGE, {"region_level": "galaxy"})
    assert e.value.field == "params.region_level"


def test_disabled_rules_and_rules_of_other_regions_do_not_fire(world: World) -> None:
    r = rule(world, AlertKind.REPEAT_REPORTER, count=2, days=7)
    alerts.alert_rule_update(actor=world.director, rule_id=r.pk, enabled=False)
    for d in (0, 1):
        rep(world, T0 + d * D, reporter_phone="13988888888")
    assert alerts.alerts_scan(now=T0 + 2 * D).raised == 0
    with pytest.raises(NotFound):  # county B's operator does not see county A's rules
        alerts.alert_rule_update(actor=world.sibling_operator, rule_id=r.pk, enabled=True)
    with pytest.raises(PermissionDeniedError):  # an operator sees, but may not configure
        alerts.alert_rule_update(actor=world.operator, rule_id=r.pk, enabled=True)
    alerts.alert_rule_update(actor=world.director, rule_id=r.pk, enabled=True)
    assert alerts.alerts_scan(now=T0 + 2 * D).raised == 1


def _one_alert(w: World) -> Alert:
    rule(w, AlertKind.REPEAT_REPORTER, count=2, days=7)
    for d in (0, 1):
        rep(w, T0 + d * D, reporter_phone="13999999999")
    alerts.alerts_scan(now=T0 + 2 * D)
    return Alert.objects.get()


def test_disposition_on_record(world: World) -> None:
    alert = _one_alert(world)
    with pytest.raises(NotFound):
        alerts.alert_dispose(actor=world.sibling_operator, alert_id=alert.pk, action="acknowledge")
    with pytest.raises(NotFound):  # a grid worker has no alert.view: the alert does not exist for them
        alerts.alert_dispose(actor=world.grid_worker, alert_id=alert.pk, action="acknowledge")
    with pytest.raises(NotFound):  # a department handler has no alert.view either
        alerts.alert_dispose(actor=world.housing_handler, alert_id=alert.pk, action="acknowledge")
    with pytest.raises(PermissionDeniedError):
        alerts.alert_dispose(actor=world.city_leader, alert_id=alert.pk, action="acknowledge")
    at(T0 + 3 * D, alerts.alert_dispose, actor=world.operator, alert_id=alert.pk, action="acknowledge")
    with pytest.raises(FieldError) as e:
        alerts.alert_dispose(actor=world.operator, alert_id=alert.pk, action="false_alarm", note=" ")
    assert e.value.field == "note"
    with pytest.raises(Conflict):
        alerts.alert_dispose(actor=world.operator, alert_id=alert.pk, action="acknowledge")
    at(
        T0 + 4 * D,
        alerts.alert_dispose,
        actor=world.director,
        alert_id=alert.pk,
        action="false_alarm",
        note="同一家庭不同成员",
    )
    alert.refresh_from_db()
    assert alert.status == AlertStatus.FALSE_ALARM
    assert alert.disposed_by == world.director and alert.disposed_at == T0 + 4 * D
    steps = list(
        AlertAction.objects.filter(alert=alert).values_list("action", "actor__username", "at", "note")
    )
    assert steps == [
        ("acknowledge", "op_a", T0 + 3 * D, ""),
        ("false_alarm", "dir_a", T0 + 4 * D, "同一家庭不同成员"),
    ]
    with pytest.raises(Conflict):
        alerts.alert_dispose(actor=world.director, alert_id=alert.pk, action="handle", note="x")


# --- every pattern at once, in generated background data ---------------------------------------------------


def test_every_pattern_planted_in_generated_data_is_found_exactly_once(world: World) -> None:
    """120 generated background cases over 35 days (evenly spaced every 7 hours, four categories
    in rotation, distinct reporters and addresses, on a lattice of points 380 m or more apart) hold
    no pattern; one instance of each pattern is planted among them. One scan with all six rules
    raises exactly six alerts, each holding exactly the planted cases; a second scan raises none."""
    now = T0 + 40 * D
    rules = {
        AlertKind.REPEAT_REPORTER: rule(world, AlertKind.REPEAT_REPORTER, count=3, days=7),
        AlertKind.REPEAT_ADDRESS: rule(world, AlertKind.REPEAT_ADDRESS, count=3, days=7),
        AlertKind.CLUSTER: rule(world, AlertKind.CLUSTER, count=4, radius_m=200, hours=6, lookback_hours=48),
        AlertKind.DISPUTE_RISK: rule(world, AlertKind.DISPUTE_RISK, hours=48),
        AlertKind.CATEGORY_SURGE: rule(
            world, AlertKind.CATEGORY_SURGE, recent_days=7, baseline_days=28, factor=2, min_count=5
        ),
        AlertKind.OVERDUE_SURGE: rule(
            world, AlertKind.OVERDUE_SURGE, recent_days=1, baseline_days=14, factor=2, min_count=3
        ),
    }
    a1a, a2a = world.r["A1a"].code, world.r["A2a"].code
    # background: per township and category 6 cases in the last 7 days against 24 in the 28 days
    # before (expected 6, threshold 12) — steady, no surge; no phone, address or spot twice
    for i in range(120):
        rep(
            world,
            now - 35 * D + i * 7 * H + 30 * dt.timedelta(minutes=1),
            kind="appeal",
            category_code=("0301", "0401", "0501", "0601")[i % 4],
            region_code=a1a if i % 2 == 0 else a2a,
            reporter_phone=f"1370000{i:04d}",
            address=f"和平路{i}号",
            lon=LON + (i % 12) * 0.004,
            lat=LAT + (i // 12) * 0.004,
        )
    planted: dict[str, set[int]] = {}
    # repeat reporter (A1, 邻里纠纷): 3 times in 4 days; a near miss calls twice
    planted[AlertKind.REPEAT_REPORTER] = {
        rep(world, now - d * D, kind="appeal", category_code="0202", reporter_phone="13911111111").pk
        for d in (5, 3, 1)
    }
    for d in (4, 2):
        rep(
            world,
            now - d * D,
            kind="appeal",
            category_code="0601",
            region_code=a2a,
            reporter_phone="13922222222",
        )
    # repeat address (A2): 3 reporters, one address, within 4 days
    planted[AlertKind.REPEAT_ADDRESS] = {
        rep(
            world,
            now - d * D,
            kind="appeal",
            category_code="0203",
            region_code=a2a,
            reporter_phone=f"1393333333{d}",
            address="幸福路8号3幢",
        ).pk
        for d in (6, 4, 2)
    }
    # cluster: 4 fire-safety reports within 150 m and 3 hours, 5 km west of the background lattice
    planted[AlertKind.CLUSTER] = {
        rep(
            world,
            now - 10 * H + i * H,
            kind="appeal",
            category_code="0102",
            reporter_phone=f"1384444444{i}",
            lon=LON - 0.05,
            lat=north(i * 50),
        ).pk
        for i in range(4)
    }
    # dispute with escalation risk (urgent), unresolved for 10 days; a young one is a near miss
    planted[AlertKind.DISPUTE_RISK] = {
        rep(
            world,
            now - 10 * D,
            kind="dispute",
            category_code="0210",
            region_code=a2a,
            urgency="urgent",
            reporter_phone="",
        ).pk
    }
    rep(world, now - D, kind="dispute", category_code="0210", urgency="urgent", reporter_phone="")
    # category surge (A2, 治安): 6 in the last 7 days against 4 in the 28 days before (expected 1)
    planted[AlertKind.CATEGORY_SURGE] = {
        rep(
            world,
            now - 6 * D + i * D,
            kind="appeal",
            category_code="0101",
            region_code=a2a,
            reporter_phone="",
        ).pk
        for i in range(6)
    }
    for i in range(4):
        rep(
            world,
            now - 30 * D + i * D,
            kind="appeal",
            category_code="0101",
            region_code=a2a,
            reporter_phone="",
        )
    # overdue surge (police): 3 cases due in the last day, unresolved
    planted[AlertKind.OVERDUE_SURGE] = {
        overdue_case(
            world, now - 3 * D, now - (i + 2) * H, world.police, category_code="0504", kind="appeal"
        ).pk
        for i in range(3)
    }

    report = alerts.alerts_scan(now=now)
    assert report.raised == 6, [(k, r.pk, report.by_rule.get(r.pk)) for k, r in rules.items()]
    for kind, r in rules.items():
        assert case_sets(r) == [planted[kind]], kind
    assert alerts.alerts_scan(now=now).raised == 0
    assert Alert.objects.count() == 6
