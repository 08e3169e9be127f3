"""Grid import, boundary edits and region boundaries: the write path."""

from __future__ import annotations

import sys
import types

import pytest
import shapely

from tests.factories import make_grid
from zongzhi.core.errors import FieldError, PermissionDeniedError
from zongzhi.core.models import AuditLog
from zongzhi.geo import coords, index, services
from zongzhi.geo.geojson import load_geometry
from zongzhi.orgs.models import Grid
from zongzhi.orgs.roles import Role

from .helpers import collection, grid_feature, polygon, ring

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_a1(tree, make_user):
    """A system administrator of township A1 (villages A1a 甲一社区 and A1b 甲一村)."""
    return make_user(Role.SYSTEM_ADMIN, tree["A1"])


@pytest.fixture
def enqueued(monkeypatch):
    """Stand in for zongzhi.geo.assign (the re-assignment job) and record its calls."""
    calls = []

    class Job:
        pk = 4242

    def reassign_enqueue(*, actor, bbox=None):
        calls.append({"actor": actor, "bbox": bbox})
        return Job()

    monkeypatch.setitem(
        sys.modules, "zongzhi.geo.assign", types.SimpleNamespace(reassign_enqueue=reassign_enqueue)
    )
    return calls


def test_import_creates_and_updates_by_code(tree, admin_a1, enqueued, django_capture_on_commit_callbacks):
    a1a = tree["A1a"].code
    data = collection(
        grid_feature(a1a + "001", polygon(0, 0), name="一网格", population=1200),
        grid_feature(a1a + "002", polygon(1, 0), name="二网格", population=1500),
    )
    version = index._version()
    with django_capture_on_commit_callbacks(execute=True):
        report = services.grids_import(actor=admin_a1, data=data)
    assert report.ok and report.created == [a1a + "001", a1a + "002"] and report.updated == []
    grid = Grid.objects.get(code=a1a + "001")
    assert grid.village == tree["A1a"] and grid.population == 1200
    assert (grid.min_lon, grid.min_lat) == pytest.approx((120.15, 30.27))
    assert load_geometry(grid.polygon_geojson).is_valid
    assert index._version() != version  # every process rebuilds its index
    assert enqueued and enqueued[0]["actor"] == admin_a1
    assert report.job_id == 4242
    assert AuditLog.objects.filter(action="grids.import").count() == 1

    # again, with one changed: an update, not a duplicate
    data["features"][0]["properties"]["name"] = "一网格（调整）"
    data["features"][0]["geometry"] = polygon(0, 0, w=2)
    report = services.grids_import(actor=admin_a1, data=data)
    assert report.created == [] and report.updated == [a1a + "001", a1a + "002"]
    grid.refresh_from_db()
    assert grid.name == "一网格（调整）" and grid.max_lon == pytest.approx(120.158)
    assert Grid.objects.filter(village=tree["A1a"]).count() == 2


def test_bad_features_are_reported_and_good_ones_kept(tree, admin_a1, enqueued):
    a1a, a1b, b1a = tree["A1a"].code, tree["A1b"].code, tree["B1a"].code
    data = collection(
        grid_feature(a1a + "001", polygon(0, 0)),  # 0 good
        grid_feature(b1a + "001", polygon(1, 0)),  # 1 village outside the actor's scope
        grid_feature("999999999999001", polygon(2, 0)),  # 2 no such village
        grid_feature(a1b + "001", {"type": "LineString", "coordinates": [[120.1, 30.1], [120.2, 30.2]]}),  # 3
        grid_feature(tree["A1"].code + "001", polygon(3, 0)),  # 4 a township, not a village
    )
    report = services.grids_import(actor=admin_a1, data=data)
    assert report.created == [a1a + "001"]
    assert [(e.index, e.code) for e in report.errors] == [
        (1, "village_not_found"),
        (2, "village_not_found"),
        (3, "geometry_type"),
        (4, "village_not_found"),
    ]
    assert not Grid.objects.filter(code__startswith=b1a).exists()


def test_a_viewer_without_grid_manage_is_refused_per_feature(tree, make_user, enqueued):
    viewer = make_user(Role.SECURITY_ADMIN, tree["A1"])  # sees grids, may not manage them
    a1a = tree["A1a"].code
    report = services.grids_import(actor=viewer, data=collection(grid_feature(a1a + "001", polygon(0, 0))))
    assert [(e.index, e.code) for e in report.errors] == [(0, "forbidden")]
    assert not Grid.objects.exists()


def test_dry_run_writes_nothing(tree, admin_a1, enqueued):
    a1a = tree["A1a"].code
    report = services.grids_import(
        actor=admin_a1, data=collection(grid_feature(a1a + "001", polygon(0, 0))), dry_run=True
    )
    assert report.created == [a1a + "001"] and report.dry_run
    assert not Grid.objects.exists() and not enqueued
    assert not AuditLog.objects.filter(action="grids.import").exists()


def test_import_in_gcj02_stores_wgs84(tree, admin_a1, enqueued):
    a1a = tree["A1a"].code
    gcj = [list(coords.wgs84_to_gcj02(x, y)) for x, y in ring(0, 0)]
    services.grids_import(
        actor=admin_a1,
        data=collection(grid_feature(a1a + "001", {"type": "Polygon", "coordinates": [gcj]})),
        crs="gcj02",
    )
    grid = Grid.objects.get(code=a1a + "001")
    assert (grid.min_lon, grid.min_lat) == pytest.approx((120.15, 30.27), abs=1e-7)


def test_export_reimports_unchanged(tree, admin_a1, enqueued):
    from zongzhi.geo.selectors import grids_feature_collection

    a1a = tree["A1a"].code
    services.grids_import(
        actor=admin_a1, data=collection(grid_feature(a1a + "001", polygon(0, 0), population=7))
    )
    before = Grid.objects.get()
    exported = grids_feature_collection(Grid.objects.select_related("village"), crs="gcj02")
    assert exported["crs"] == "gcj02"
    exported["features"][0]["properties"]["name"] = "改名"
    report = services.grids_import(actor=admin_a1, data=exported, crs=None)
    assert report.updated == [a1a + "001"] and report.crs == "gcj02"
    after = Grid.objects.get()
    assert after.name == "改名" and after.population == 7
    assert (
        shapely.hausdorff_distance(
            load_geometry(after.polygon_geojson), load_geometry(before.polygon_geojson)
        )
        < 1e-6
    )


def test_boundary_set_checks_and_audits(tree, admin_a1, enqueued, django_capture_on_commit_callbacks):
    grid = make_grid(tree["A1a"])
    with django_capture_on_commit_callbacks(execute=True):
        result = services.grid_boundary_set(actor=admin_a1, grid=grid, geojson=polygon(0, 0), crs="wgs84")
    assert result.grid.min_lon == pytest.approx(120.15) and result.job_id == 4242
    assert enqueued[-1]["bbox"] == pytest.approx((120.15, 30.27, 120.154, 30.274))
    assert AuditLog.objects.filter(action="grid.boundary_set", object_id=str(grid.pk)).exists()
    # moving it: the re-assignment covers the old and the new place
    services.grid_boundary_set(actor=admin_a1, grid=grid, geojson=polygon(3, 0), crs="wgs84")
    assert enqueued[-1]["bbox"] == pytest.approx((120.15, 30.27, 120.166, 30.274))

    x, y, d = 120.15, 30.27, 0.01
    bow_tie = {"type": "Polygon", "coordinates": [[[x, y], [x + d, y + d], [x + d, y], [x, y + d], [x, y]]]}
    with pytest.raises(FieldError) as exc:
        services.grid_boundary_set(actor=admin_a1, grid=grid, geojson=bow_tie)
    assert exc.value.code == "geometry_invalid" and exc.value.field == "geometry"
    with pytest.raises(FieldError):
        services.grid_boundary_set(
            actor=admin_a1, grid=grid, geojson={"type": "Point", "coordinates": [1, 2]}
        )


def test_boundary_set_needs_grid_manage(tree, make_user, enqueued):
    grid = make_grid(tree["A1a"])
    for user in (make_user(Role.SYSTEM_ADMIN, tree["A1b"]), make_user(Role.GRID_LEADER, tree["A1a"])):
        with pytest.raises(PermissionDeniedError):
            services.grid_boundary_set(actor=user, grid=grid, geojson=polygon(0, 0))


def test_without_the_assign_module_the_import_still_works(tree, admin_a1, monkeypatch):
    monkeypatch.setitem(sys.modules, "zongzhi.geo.assign", None)  # import raises ImportError
    report = services.grids_import(
        actor=admin_a1, data=collection(grid_feature(tree["A1a"].code + "001", polygon(0, 0)))
    )
    assert report.ok and report.job_id is None


def test_region_boundaries_import(tree, admin_a1, make_user):
    data = collection(
        {"type": "Feature", "properties": {"region_code": tree["A1a"].code}, "geometry": polygon(0, 0, 3, 3)},
        {"type": "Feature", "properties": {"region_code": tree["B1a"].code}, "geometry": polygon(0, 0)},
    )
    report = services.regions_boundary_import(actor=admin_a1, data=data)
    assert report.updated == [tree["A1a"].code]
    assert [(e.index, e.code) for e in report.errors] == [(1, "region_not_found")]
    tree["A1a"].refresh_from_db()
    assert load_geometry(tree["A1a"].boundary_geojson).area == pytest.approx((3 * 0.004) ** 2)
    assert AuditLog.objects.filter(action="regions.boundary_import").exists()
