"""Dashboards in a real browser: the scoped dashboard with its charts and hotspot map, a drill-down
from a tile, and the big screen (大屏) at 1920×1080 and 3840×2160 refreshing itself without a
reload. Screenshots of each go to test-output/screenshots/."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from tests.browser.conftest import Site
from zongzhi.analytics import rollups
from zongzhi.cases.tests.conftest import World, world  # noqa: F401  (the `world` fixture)
from zongzhi.cases.tests.drive import act, report

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FULL_HD = {"width": 1920, "height": 1080}
UHD = {"width": 3840, "height": 2160}
WIDE = {"width": 1920, "height": 1200}


def seed(w: World, n: int = 36) -> None:
    """``n`` cases over the last 20 days in both counties, four channels, two categories, on a map;
    most accepted and dispatched, some resolved and rated."""
    rng = random.Random(8)
    now = timezone.now()
    villages = [("operator", "A1a"), ("operator", "A2a"), ("sibling_operator", "B1a"), ("operator", "A1b")]
    for i in range(n):
        who, village = villages[i % len(villages)]
        start = now - dt.timedelta(days=20 - i * 20 / n, hours=rng.random())
        with time_machine.travel(start, tick=False):
            case = report(
                w,
                actor=who,
                region_code=w.r[village].code,
                channel=["hotline", "web", "wechat", "walk_in"][i % 4],
                category_code=["0201", "0102"][i % 3 == 0],
                kind=["dispute", "event"][i % 3 == 0],
                lon=120.15 + rng.uniform(-0.02, 0.02),
                lat=30.27 + rng.uniform(-0.015, 0.015),
                address=f"幸福路{i % 5 + 1}号",
            )
        if i % 5 == 4:
            continue
        lead = w.police if who == "operator" else w.other_police
        steps: list[tuple[str, str, dict[str, Any]]] = [
            (who, "accept", {}),
            (who, "dispatch", {"lead_department_id": lead.pk, "assisting_department_ids": []}),
        ]
        handler = "handler" if who == "operator" else "other_handler"
        if i % 5 != 3:
            steps += [(handler, "acknowledge", {}), (handler, "resolve", {})]
            if i % 2 == 0:
                steps += [(who, "reply", {"method": "phone"}), (who, "rate", {"rating": "satisfied"})]
        for k, (actor, action, data) in enumerate(steps):
            note = {"resolve": "已处理", "reply": "已告知"}.get(action, "")
            with time_machine.travel(start + dt.timedelta(hours=2 * (k + 1)), tick=False):
                act(w, actor, case, action, note, **data)
    rollups.analytics_refresh()


def test_dashboard_drill_and_big_screen(site: Site, world: World, settings: Any) -> None:  # noqa: F811
    settings.ZZ_SCREEN_REFRESH_SECONDS = 5
    settings.ZZ_ANALYTICS_MAX_AGE = 0
    seed(world)

    page: Any = site.page(WIDE)
    site.login(page, world.city_leader.username)
    page.goto("/analytics/")
    tiles = page.get_by_test_id("tiles")
    reported = tiles.locator('[data-measure="reported"]').first
    assert reported.inner_text() == "36"
    page.wait_for_function("document.querySelectorAll('[data-chart] canvas').length >= 10")
    page.wait_for_selector(".leaflet-heatmap-layer, .zz-hotmap canvas")
    page.wait_for_timeout(1500)  # the charts' animations
    site.shot(page, "dashboard")
    # a tile opens the cases behind it, and the list adds up
    with page.expect_navigation():
        reported.click()
    assert page.get_by_test_id("drill-total").inner_text() == "共 36 件"
    assert page.locator("tr[data-case]").count() == 36
    site.shot(page, "drill")
    # a county's own dashboard, through the region chart's link target
    page.goto(f"/analytics/?region={world.r['A'].code}")
    assert page.get_by_test_id("tiles").locator('[data-measure="reported"]').first.inner_text() == "27"
    page.get_by_test_id("screen-link").click()
    page.wait_for_selector("[data-screen]")

    for name, size in (("1080p", FULL_HD), ("2160p", UHD)):
        screen: Any = site.page(size)
        site.login(screen, world.city_leader.username)
        screen.goto("/analytics/screen/")
        screen.wait_for_function("document.querySelectorAll('[data-screen-chart] canvas').length >= 5")
        # the wall fills the viewport exactly: no scrollbars, nothing cut off
        box = screen.evaluate(
            "() => { const s = document.querySelector('.zz-screen').getBoundingClientRect();"
            " return [s.width, s.height, document.documentElement.scrollHeight, document.documentElement.scrollWidth]; }"
        )
        assert box == [size["width"], size["height"], size["height"], size["width"]], box
        screen.wait_for_timeout(1500)  # the first drawing's animations
        site.shot(screen, f"screen-{name}", full_page=False)
        overflow = screen.evaluate(
            "() => [...document.querySelectorAll('.zz-panel')]"
            ".filter(p => p.scrollHeight > p.clientHeight + 2).map(p => p.querySelector('h2').textContent)"
        )
        assert overflow == [], overflow

    # the screen refreshes itself: a case registered now shows without a reload
    today = screen.locator('[data-field="today.reported"]')
    before = int(today.inner_text())
    report(world, channel="hotline", lon=120.151, lat=30.271)
    for _ in range(30):  # polled every 5 s here (ZZ_SCREEN_REFRESH_SECONDS)
        if int(today.inner_text()) == before + 1:
            break
        screen.wait_for_timeout(500)
    assert int(today.inner_text()) == before + 1
    assert screen.evaluate("() => performance.getEntriesByType('navigation').length") == 1  # no reload
