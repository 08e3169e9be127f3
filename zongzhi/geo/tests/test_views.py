"""Map pages and the geo API: rendering, scoping (404 outside), payloads, measures, CRS."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from tests.factories import make_grid
from zongzhi.geo import coords
from zongzhi.geo.geojson import load_geometry
from zongzhi.geo.services import grids_import
from zongzhi.orgs.models import Grid, GridMembership
from zongzhi.orgs.roles import Role
from zongzhi.orgs.services import grid_member_add

from .helpers import collection, grid_feature, polygon

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


@pytest.fixture
def grids(tree):
    """Two grids in A1a, one in A1b, one in the cousin village B1a."""
    report = grids_import(
        actor=None,
        data=collection(
            grid_feature(tree["A1a"].code + "001", polygon(0, 0), name="甲一", population=1500),
            grid_feature(tree["A1a"].code + "002", polygon(1, 0), name="甲二", population=1800),
            grid_feature(tree["A1b"].code + "001", polygon(2, 0), name="村一", population=400),
            grid_feature(tree["B1a"].code + "001", polygon(5, 0), name="乙一", population=300),
        ),
    )
    assert report.ok
    return {g.code: g for g in Grid.objects.all()}


def report_case(tree, village, lon, lat, grid=None, **extra):
    from zongzhi.cases import services as case_services
    from zongzhi.cases.models import Case

    case = case_services.case_report(
        actor=None,
        data=case_services.ReportInput(
            channel="web",
            title="噪声扰民",
            description="夜间施工",
            region_code=village.code,
            lon=lon,
            lat=lat,
            is_anonymous=True,
        ),
    ).case
    Case.objects.filter(pk=case.pk).update(grid=grid, **extra)
    return case


def test_pages_render_for_a_grid_viewer(tree, grids, make_user):
    user = make_user(Role.CENTER_OPERATOR, tree["A1"])
    c = client_for(user)
    page = c.get("/map/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "data-grid-map" in html and "zongzhi/map.js" in html and "<script>" not in html
    assert 'data-tiles=""' in html  # no tile source configured: plain background
    cov = c.get(f"/map/coverage/?region={tree['A1'].code}")
    assert cov.status_code == 200 and "data-coverage-map" in cov.content.decode()
    # no region given: the user's single scope root
    assert c.get("/map/coverage/").context["region"] == tree["A1"]


def test_nav_has_the_map_link(tree, make_user):
    html = client_for(make_user(Role.CENTER_OPERATOR, tree["A1"])).get("/map/").content.decode()
    assert 'href="/map/"' in html


def test_sibling_region_is_404(tree, grids, make_user):
    c = client_for(make_user(Role.CENTER_OPERATOR, tree["A1a"]))
    assert c.get(f"/map/coverage/?region={tree['A1b'].code}").status_code == 404
    assert c.get(f"/map/?region={tree['B1a'].code}").status_code == 404
    assert c.get(f"/api/v1/map/grids?region={tree['A1b'].code}").status_code == 404
    assert c.get(f"/api/v1/map/coverage?region={tree['A1b'].code}").status_code == 404
    assert c.get(f"/api/v1/grids/export?region={tree['B1a'].code}").status_code == 404


def test_grid_layer_holds_only_visible_grids(tree, grids, make_user):
    c = client_for(make_user(Role.CENTER_OPERATOR, tree["A1a"]))
    data = c.get("/api/v1/map/grids").json()
    assert data["type"] == "FeatureCollection"
    assert sorted(f["properties"]["code"] for f in data["features"]) == [
        tree["A1a"].code + "001",
        tree["A1a"].code + "002",
    ]
    county = client_for(make_user(Role.CENTER_OPERATOR, tree["A"])).get("/api/v1/map/grids").json()
    assert len(county["features"]) == 3  # not B1a's


def test_measure_values_for_colouring(tree, grids, make_user):
    g1 = grids[tree["A1a"].code + "001"]
    g2 = grids[tree["A1a"].code + "002"]
    past = timezone.now() - timedelta(days=3)
    report_case(tree, tree["A1a"], 120.151, 30.271, grid=g1)
    report_case(tree, tree["A1a"], 120.152, 30.272, grid=g1, due_at=past)  # overdue
    report_case(
        tree, tree["A1a"], 120.155, 30.271, grid=g2, state="declined", decline_reason="重复"
    )  # closed: not counted
    c = client_for(make_user(Role.CENTER_OPERATOR, tree["A1a"]))

    def values(measure):
        data = c.get(f"/api/v1/map/grids?measure={measure}").json()
        assert data["measure"] == measure
        return {f["properties"]["code"][-3:]: f["properties"]["value"] for f in data["features"]}, data["max"]

    assert values("open") == ({"001": 2, "002": 0}, 2)
    assert values("overdue") == ({"001": 1, "002": 0}, 1)
    assert values("population") == ({"001": 1500, "002": 1800}, 1800)
    assert c.get("/api/v1/map/grids?measure=bogus").status_code == 422


def test_popup_carries_leader_workers_and_counts(tree, grids, make_user):
    grid = grids[tree["A1a"].code + "001"]
    grid_member_add(actor=None, grid=grid, user=make_user(display_name="王网格长"), role="leader")
    grid_member_add(actor=None, grid=grid, user=make_user(display_name="李网格员"))
    assert GridMembership.objects.count() == 2
    c = client_for(make_user(Role.GRID_WORKER, tree["A1a"]))
    [f] = [f for f in c.get("/api/v1/map/grids").json()["features"] if f["properties"]["id"] == grid.pk]
    p = f["properties"]
    assert p["leader"] == "王网格长" and p["workers"] == ["李网格员"]
    assert {"open_cases", "overdue_cases", "population", "code", "name", "url"} <= set(p)


def test_grid_layer_in_gcj02(tree, grids, make_user):
    c = client_for(make_user(Role.CENTER_OPERATOR, tree["A1a"]))
    wgs = c.get("/api/v1/map/grids").json()["features"][0]["geometry"]["coordinates"][0][0]
    gcj = c.get("/api/v1/map/grids?crs=gcj02").json()["features"][0]["geometry"]["coordinates"][0][0]
    assert gcj == pytest.approx(list(coords.wgs84_to_gcj02(*wgs)), abs=2e-6)
    assert c.get("/api/v1/map/grids?crs=mercator").status_code == 422


def test_case_layer_is_scoped_filtered_and_converted(tree, grids, make_user):
    mine = report_case(tree, tree["A1a"], 120.151, 30.271)
    report_case(tree, tree["B1a"], 120.171, 30.271)  # cousin county: never shown
    report_case(tree, tree["A1a"], None, None)  # no location: not on the map
    old = report_case(tree, tree["A1a"], 120.152, 30.272, created_at=timezone.now() - timedelta(days=40))
    c = client_for(make_user(Role.CENTER_OPERATOR, tree["A1a"]))
    data = c.get("/api/v1/map/cases").json()
    assert sorted(f["properties"]["id"] for f in data["features"]) == sorted([mine.pk, old.pk])
    f = next(f for f in data["features"] if f["properties"]["id"] == mine.pk)
    assert f["properties"]["url"] == f"/cases/{mine.pk}/" and f["properties"]["number"] == mine.number
    assert f["geometry"]["coordinates"] == pytest.approx([120.151, 30.271])
    since = (timezone.localdate() - timedelta(days=7)).isoformat()
    recent = c.get(f"/api/v1/map/cases?from={since}").json()
    assert [f["properties"]["id"] for f in recent["features"]] == [mine.pk]
    assert c.get("/api/v1/map/cases?state=archived").json()["features"] == []
    bd = c.get("/api/v1/map/cases?crs=bd09").json()
    p = next(f for f in bd["features"] if f["properties"]["id"] == mine.pk)["geometry"]["coordinates"]
    assert p == pytest.approx(list(coords.wgs84_to_bd09(120.151, 30.271)), abs=2e-6)


def test_case_layer_is_capped(tree, grids, make_user, settings):
    settings.ZZ_MAP_CASES_MAX = 1
    report_case(tree, tree["A1a"], 120.151, 30.271)
    report_case(tree, tree["A1a"], 120.152, 30.271)
    data = client_for(make_user(Role.CENTER_OPERATOR, tree["A1a"])).get("/api/v1/map/cases").json()
    assert len(data["features"]) == 1 and data["capped"] is True


def test_coverage_api_and_page(tree, grids, make_user):
    report_case(tree, tree["A1b"], 121.0, 31.0)  # outside every grid
    c = client_for(make_user(Role.CENTER_OPERATOR, tree["A1"]))
    data = c.get(f"/api/v1/map/coverage?region={tree['A1'].code}").json()
    assert data["summary"]["unassigned_count"] == 1
    assert {f["properties"]["kind"] for f in data["shapes"]["features"]} == {"unassigned"}
    page = c.get(f"/map/coverage/?region={tree['A1'].code}").content.decode()
    assert "未入格的点位" in page


def test_map_options(tree, make_user):
    data = client_for(make_user(Role.CENTER_OPERATOR, tree["A1"])).get("/api/v1/map/options").json()
    assert [m["value"] for m in data["measures"]] == ["open", "overdue", "population"]
    assert data["tiles"]["url"] == ""


def test_export_api_only_visible_and_reimportable(tree, grids, make_user):
    admin = make_user(Role.SYSTEM_ADMIN, tree["A1"])
    c = client_for(admin)
    data = c.get("/api/v1/grids/export?crs=gcj02").json()
    assert data["crs"] == "gcj02" and len(data["features"]) == 3
    response = c.post("/api/v1/grids/import?dry_run=true", data, content_type="application/json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["dry_run"] and len(body["updated"]) == 3 and body["errors"] == []


def test_import_api_needs_grid_manage_and_reports_by_index(tree, make_user):
    payload = collection(
        grid_feature(tree["A1a"].code + "001", polygon(0, 0)),
        grid_feature(tree["B1a"].code + "001", polygon(1, 0)),
    )
    operator = client_for(make_user(Role.CENTER_OPERATOR, tree["A1"]))
    assert operator.post("/api/v1/grids/import", payload, content_type="application/json").status_code == 403
    admin = client_for(make_user(Role.SYSTEM_ADMIN, tree["A1"]))
    body = admin.post("/api/v1/grids/import", payload, content_type="application/json").json()
    assert body["created"] == [tree["A1a"].code + "001"]
    assert [(e["index"], e["code"]) for e in body["errors"]] == [(1, "village_not_found")]
    bad = admin.post("/api/v1/grids/import", {"type": "Feature"}, content_type="application/json")
    assert bad.status_code == 422 and bad.json()["detail"]["code"] == "not_feature_collection"


def test_boundary_api(tree, make_user):
    grid = make_grid(tree["A1a"])
    admin = client_for(make_user(Role.SYSTEM_ADMIN, tree["A1a"]))
    gcj = [list(coords.wgs84_to_gcj02(x, y)) for x, y in polygon(0, 0)["coordinates"][0]]
    r = admin.put(
        f"/api/v1/grids/{grid.pk}/boundary",
        {"geometry": {"type": "Polygon", "coordinates": [gcj]}, "crs": "gcj02"},
        content_type="application/json",
    )
    assert r.status_code == 200, r.content
    grid.refresh_from_db()
    assert (grid.min_lon, grid.min_lat) == pytest.approx((120.15, 30.27), abs=1e-7)
    x, y, d = 120.15, 30.27, 0.01
    bow = {"type": "Polygon", "coordinates": [[[x, y], [x + d, y + d], [x + d, y], [x, y + d], [x, y]]]}
    r = admin.put(f"/api/v1/grids/{grid.pk}/boundary", {"geometry": bow}, content_type="application/json")
    assert r.status_code == 422 and r.json()["detail"]["code"] == "geometry_invalid"
    sibling = client_for(make_user(Role.SYSTEM_ADMIN, tree["A1b"]))
    r = sibling.put(
        f"/api/v1/grids/{grid.pk}/boundary", {"geometry": polygon(0, 0)}, content_type="application/json"
    )
    assert r.status_code == 404


def test_boundary_editor_page(tree, make_user):
    grid = make_grid(tree["A1a"])
    admin = client_for(make_user(Role.SYSTEM_ADMIN, tree["A1a"]))
    page = admin.get(f"/grids/{grid.pk}/boundary/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "data-boundary-editor" in html and "leaflet.draw.js" in html
    response = admin.post(f"/grids/{grid.pk}/boundary/", {"geometry": json.dumps(polygon(0, 0))})
    assert response.status_code == 302
    grid.refresh_from_db()
    assert load_geometry(grid.polygon_geojson).bounds == pytest.approx((120.15, 30.27, 120.154, 30.274))
    # errors are shown in Chinese, nothing is lost
    x, y, d = 120.15, 30.27, 0.01
    bow = {"type": "Polygon", "coordinates": [[[x, y], [x + d, y + d], [x + d, y], [x, y + d], [x, y]]]}
    response = admin.post(f"/grids/{grid.pk}/boundary/", {"geometry": json.dumps(bow)})
    assert response.status_code == 422
    assert "几何图形无效" in response.content.decode()
    assert admin.post(f"/grids/{grid.pk}/boundary/", {"geometry": ""}).status_code == 422
    # a grid worker sees the grid but may not edit it: the editor does not exist for them
    worker = client_for(make_user(Role.GRID_WORKER, tree["A1a"]))
    assert worker.get(f"/grids/{grid.pk}/boundary/").status_code == 404
