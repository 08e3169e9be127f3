"""Early warnings and assessment in a real browser: a center director reads and handles an alert,
configures a rule, looks at the ranking, drills into a figure, generates, publishes and prints a
bulletin. Screenshots of each page go to test-output/screenshots/."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import DESKTOP, Site
from zongzhi.analytics import alerts
from zongzhi.analytics.alert_models import Alert
from zongzhi.assessment import services as assessment_services
from zongzhi.assessment.models import Bulletin
from zongzhi.assessment.tests.conftest import build_month
from zongzhi.cases.tests.conftest import World, world  # noqa: F401  (the `world` fixture)
from zongzhi.cases.tests.drive import report

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_director_alerts_and_assessment(site: Site, world: World) -> None:  # noqa: F811
    month = build_month(world)
    plan = assessment_services.plan_create(
        actor=None,
        region=world.r["A"],
        name="乡镇月度考核",
        subject_kind="region",
        indicators=assessment_services.default_indicators("region"),
    )
    alerts.alert_rule_create(
        actor=None,
        region=world.r["A"],
        kind="repeat_reporter",
        name="重复反映",
        level="orange",
        params={"count": 3},
    )
    alerts.alert_rule_create(
        actor=None,
        region=world.r["A"],
        kind="cluster",
        name="消防聚集",
        level="red",
        params={"count": 3, "radius_m": 300},
    )
    for i in range(3):
        report(world, kind="appeal", reporter_phone="13811112222", title=f"小区门口占道经营{i + 1}")
        report(
            world,
            kind="event",
            category_code="0102",
            reporter_phone=f"1370000000{i}",
            lon=120.155,
            lat=30.275 + i * 0.0005,
            title=f"楼道堆放杂物{i + 1}",
        )
    alerts.alerts_scan()
    assert Alert.objects.count() == 2

    page: Any = site.page(DESKTOP)
    site.login(page, world.director.username)

    # the alert list, an alert, its disposition
    page.goto("/alerts/")
    assert page.get_by_role("link", name="研判预警").is_visible()
    site.shot(page, "alerts")
    page.get_by_role("link", name="同一反映人7天内反映3次").click()
    page.get_by_label("确认", exact=True).check()
    with page.expect_navigation():
        page.get_by_role("button", name="提交").click()
    assert page.get_by_test_id("alert-status").inner_text() == "已确认"
    site.shot(page, "alert-detail")

    # rule configuration
    page.goto("/alerts/rules/?kind=category_surge")
    assert page.get_by_label("倍数").input_value() == "2.0"
    site.shot(page, "alert-rules")

    # scores and ranking for March 2026, and a drill-down
    page.goto(f"/assessment/?plan={plan.pk}&period=month&year=2026&n=3")
    assert page.get_by_role("cell", name="甲一街道").is_visible()
    site.shot(page, "assessment-scores")
    page.locator("tr", has_text="甲一街道").get_by_role("link", name="80.0%").first.click()
    assert page.get_by_test_id("drill-denominator").inner_text() == "10"
    site.shot(page, "assessment-drill")

    page.goto(f"/assessment/plans/{plan.pk}/")
    site.shot(page, "assessment-plan")

    # a bulletin: generate, publish, print
    page.goto("/assessment/bulletins/")
    page.get_by_label("年份").fill("2026")
    page.get_by_label("月份/季度").fill("3")
    with page.expect_navigation():
        page.get_by_role("button", name="生成草稿").click()
    bulletin = Bulletin.objects.get()
    page.once("dialog", lambda dialog: dialog.accept())
    with page.expect_navigation():
        page.get_by_role("button", name="发布").click()
    bulletin.refresh_from_db()
    assert bulletin.status == "published"
    site.shot(page, "bulletin")
    page.goto(f"/assessment/bulletins/{bulletin.pk}/?print=1")
    assert page.get_by_role("button", name="打印").is_visible()
    site.shot(page, "bulletin-print")
    assert month.c["c1"].number  # the month was built
