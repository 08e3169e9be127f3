"""Dashboards through the web pages and the API: scoped (a sibling county sees none of another
county's figures, a department sees its own cases), every tile and every breakdown row adds up to
the drill-down list behind it, bad parameters are errors naming the field."""

# ruff: noqa: F811 - the ``world`` fixture is imported from the cases tests and used as a parameter
from __future__ import annotations

import datetime as dt
import re
from html import unescape
from typing import Any

import pytest
import time_machine

from zongzhi.analytics import rollups
from zongzhi.analytics.rollups import MEASURES
from zongzhi.analytics.tests.test_rollups import T0, D, build
from zongzhi.cases.tests.conftest import World, world  # noqa: F401 - the fixture

pytestmark = pytest.mark.django_db

NOW = T0 + 3 * D
PERIOD = "from=2026-03-01&to=2026-03-10"


@pytest.fixture
def data(world: World) -> dict[str, Any]:
    cases = build(world)
    with time_machine.travel(NOW, tick=False):
        rollups.analytics_refresh()
    return cases


def get(world: World, user: Any, path: str) -> Any:
    with time_machine.travel(NOW, tick=False):
        return world.client(user).get(path)


def api(world: World, user: Any, path: str) -> Any:
    with time_machine.travel(NOW, tick=False):
        return world.api(user, "get", path)


def test_sibling_county_sees_none_of_the_other_countys_figures(world: World, data: dict[str, Any]) -> None:
    a_numbers = {c.number for k, c in data.items() if k not in ("g", "h")}
    b_numbers = {data["g"].number, data["h"].number}
    # API: only county B's two cases, whatever the breakdown
    r = api(world, world.sibling_operator, f"/analytics/tiles?{PERIOD}")
    assert r.status_code == 200
    values = r.json()["values"]
    assert values["reported"] == 2 and values["accepted"] == 1 and values["resolved"] == 0
    assert r.json()["now"] == {"open": 2, "overdue": values["overdue"]}
    rows = api(world, world.sibling_operator, f"/analytics/breakdown?{PERIOD}&by=region").json()
    assert sum(row["value"] for row in rows) == 2
    assert all(world.r["A"].path not in row["key"] for row in rows)
    listed = api(world, world.sibling_operator, f"/analytics/drilldown?{PERIOD}&measure=reported").json()
    assert {i["number"] for i in listed["items"]} == b_numbers
    screen = api(world, world.sibling_operator, "/analytics/screen").json()
    assert screen["now"]["open"] == 2 and {r["number"] for r in screen["recent"]} == b_numbers
    # another county, named: 404, never 403
    a = world.r["A"].code
    for path in ("tiles", "breakdown", "drilldown", "series", "hotspots", "screen"):
        assert api(world, world.sibling_operator, f"/analytics/{path}?{PERIOD}&region={a}").status_code == 404
    # web: the tiles, the drill-down, the big screen
    page = get(world, world.sibling_operator, f"/analytics/?{PERIOD}").content.decode()
    assert 'data-measure="reported" title="查看明细">2<' in page
    drill = get(
        world, world.sibling_operator, f"/analytics/drill/?{PERIOD}&measure=reported"
    ).content.decode()
    assert all(n in drill for n in b_numbers) and not any(n in drill for n in a_numbers)
    for path in ("/analytics/", "/analytics/drill/", "/analytics/screen/"):
        assert get(world, world.sibling_operator, f"{path}?{PERIOD}&region={a}").status_code == 404
    # the city sees both counties
    assert api(world, world.city_leader, f"/analytics/tiles?{PERIOD}").json()["values"]["reported"] == 8


def test_a_department_sees_the_figures_of_its_own_cases(world: World, data: dict[str, Any]) -> None:
    r = api(world, world.housing_handler, f"/analytics/tiles?{PERIOD}").json()
    assert r["values"]["reported"] == 1  # f; b went to the police in the end
    listed = api(world, world.housing_handler, f"/analytics/drilldown?{PERIOD}&measure=reported").json()
    assert [i["number"] for i in listed["items"]] == [data["f"].number]
    r = api(world, world.handler, f"/analytics/tiles?{PERIOD}").json()
    assert r["values"]["reported"] == 2 and r["values"]["returns"] == 1  # a and b


def test_no_dashboard_without_the_permission(world: World, data: dict[str, Any]) -> None:
    from tests.factories import make_user
    from zongzhi.orgs.roles import Role

    auditor = make_user(Role.AUDITOR, world.r["A"], username="auditor_a")
    assert api(world, auditor, "/analytics/tiles").status_code == 404
    assert get(world, auditor, "/analytics/").status_code == 404
    assert api(world, None, "/analytics/tiles").status_code == 401
    assert get(world, None, "/analytics/").status_code == 302


@pytest.mark.parametrize("user", ["city_leader", "director", "township_operator", "handler"])
def test_every_tile_and_breakdown_row_adds_up_to_its_drill_down(
    world: World, data: dict[str, Any], user: str
) -> None:
    who = getattr(world, user)
    tiles = api(world, who, f"/analytics/tiles?{PERIOD}").json()["values"]
    for measure in MEASURES:
        d = api(world, who, f"/analytics/drilldown?{PERIOD}&measure={measure}&limit=500").json()
        assert d["total"] == tiles[measure], measure
        assert d["count"] == len(d["items"])
        assert sum(i["value"] for i in d["items"]) == d["total"], measure
    for by in ("category", "top_category", "channel", "department", "region"):
        for measure in ("reported", "resolved", "resolved_flow", "returns"):
            rows = api(
                world, who, f"/analytics/breakdown?{PERIOD}&by={by}&measure={measure}&limit=200"
            ).json()
            for row in rows:
                key = row["key"]
                d = api(
                    world,
                    who,
                    f"/analytics/drilldown?{PERIOD}&measure={measure}&dim={by}&key={key}&limit=500",
                ).json()
                assert d["total"] == row["value"], (by, measure, row)
            if by != "region" or user != "handler":
                assert sum(r["value"] for r in rows) == tiles[measure], (by, measure)


def test_web_tiles_link_to_lists_that_add_up(world: World, data: dict[str, Any]) -> None:
    page = get(world, world.director, f"/analytics/?{PERIOD}").content.decode()
    tiles = re.findall(r'<a class="zz-tile-value" href="([^"]+)" data-measure="(\w+)"[^>]*>([^<]+)</a>', page)
    assert len(tiles) >= 10
    checked = 0
    for href, measure, shown in tiles:
        if not shown.isdigit():
            continue
        drill = get(world, world.director, unescape(href)).content.decode()
        total = re.search(r'data-testid="drill-total">共 (\d+) 件', drill)
        assert total is not None, (measure, drill[:200])
        assert int(total.group(1)) == int(shown), measure
        assert drill.count("data-case=") == min(int(shown), 50)
        checked += 1
    assert checked >= 8
    # the figures of the dashboard match the API's
    values = api(world, world.director, f"/analytics/tiles?{PERIOD}").json()["values"]
    assert f'data-measure="reported" title="查看明细">{values["reported"]}<' in page


def test_trends_by_day_week_and_month(world: World, data: dict[str, Any]) -> None:
    base = f"/analytics/series?{PERIOD}&measures=reported,resolved_flow"
    day = api(world, world.city_leader, f"{base}&bin=day").json()
    assert day["labels"][0] == "2026-03-01" and len(day["labels"]) == 10
    assert day["series"]["reported"][:5] == [0, 4, 2, 1, 0] or day["series"]["reported"][:5] == [
        0,
        5,
        2,
        1,
        0,
    ]
    assert sum(day["series"]["reported"]) == 8 and sum(day["series"]["resolved_flow"]) == 4
    week = api(world, world.city_leader, f"{base}&bin=week").json()
    assert week["labels"] == ["2026-02-23", "2026-03-02", "2026-03-09"]
    assert week["series"]["reported"] == [0, 8, 0]
    month = api(world, world.city_leader, f"{base}&bin=month").json()
    assert month["labels"] == ["2026-03-01"] and month["series"]["resolved_flow"] == [4]
    for page in ("day", "week", "month"):
        assert get(world, world.city_leader, f"/analytics/?{PERIOD}&bin={page}").status_code == 200


def test_bad_parameters_name_the_field(world: World, data: dict[str, Any]) -> None:
    cases = [
        ("/analytics/tiles?from=2026-13-01", "from"),
        ("/analytics/tiles?from=2026-03-10&to=2026-03-01", "to"),
        ("/analytics/series?bin=year", "bin"),
        ("/analytics/series?measures=nope", "measures"),
        ("/analytics/breakdown?by=colour", "by"),
        ("/analytics/drilldown?measure=nope", "measure"),
        ("/analytics/drilldown?dim=colour", "dim"),
    ]
    for path, field in cases:
        r = api(world, world.city_leader, path)
        assert r.status_code == 422, path
        assert field in r.content.decode(), (path, r.content)
    page = get(world, world.city_leader, "/analytics/?from=2026-13-01").content.decode()
    assert "日期格式应为 YYYY-MM-DD" in page
    assert get(world, world.city_leader, "/analytics/drill/?measure=nope").status_code == 404


def test_pages_render_every_panel(world: World, data: dict[str, Any]) -> None:
    page = get(world, world.city_leader, f"/analytics/?{PERIOD}").content.decode()
    for chart in (
        "trend",
        "funnel",
        "top_categories",
        "channels",
        "satisfaction",
        "regions",
        "departments",
        "overdue_departments",
        "supervised_departments",
        "categories",
    ):
        assert f'data-chart="{chart}"' in page, chart
    assert "data-hotmap" in page and 'id="zz-dashboard-data"' in page
    screen = get(world, world.city_leader, "/analytics/screen/").content.decode()
    assert "data-screen" in screen and 'data-interval="30"' in screen
    assert dt.date(2026, 3, 5).isoformat() in screen  # the clock: the server's today


def test_drill_pages_read_from_the_newest_days_and_match_the_whole_period(
    world: World, data: dict[str, Any]
) -> None:
    """``drill_page`` narrows the period to the newest days whose rollup cells hold the page; every
    page equals the same rows cut from the whole period, and a fact the cells still count after it
    changed (a refresh pending) sends the page back to the whole period."""
    from zongzhi.analytics import selectors
    from zongzhi.analytics.models import CaseFact

    with time_machine.travel(NOW, tick=False):
        scope = selectors.dashboard_scope(world.city_leader)
        period = selectors.Period.parse("2026-03-01", "2026-03-10")

        def pages(measure: str) -> None:
            full = [f.case_id for f in selectors.drill(scope, period, measure)]
            for limit in (1, 2, 3):
                for offset in range(len(full) + 1):
                    got = selectors.drill_page(scope, period, measure, offset=offset, limit=limit)
                    assert [f.case_id for f in got] == full[offset : offset + limit], (measure, offset, limit)

        checked = 0
        for measure in ("reported", "resolved", "resolved_flow", "returns", "overdue", "unsatisfied"):
            pages(measure)
            checked += selectors.drill_number(scope, period, measure) > 1
        assert checked >= 3
        # the newest reported fact leaves the period, the cells not yet refreshed: pages stay whole
        newest = selectors.drill(scope, period, "reported").first()
        assert newest is not None
        CaseFact.objects.filter(pk=newest.pk).update(created_date=dt.date(2026, 2, 1))
        pages("reported")
