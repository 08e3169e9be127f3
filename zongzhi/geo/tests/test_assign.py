"""Point → grid assignment: the tie rule, holes, agreement with brute force, and the re-assignment
job end to end (cases follow a boundary change; progress recorded; a second run changes nothing)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import shapely
from shapely.geometry import Polygon, box, mapping

from tests.factories import make_grid, make_tree, make_user
from zongzhi.core.models import BackgroundJob
from zongzhi.geo import assign
from zongzhi.geo.assign import NO_GRID, assign_points, brute_force_assign, reassign_enqueue, unassigned
from zongzhi.geo.index import GridIndex, current_index, grid_at, grids_changed
from zongzhi.geo.tiling import block_ring, cell_polygons, make_lattice
from zongzhi.orgs.roles import Role


def _index(polys, codes, ids=None):
    ids = ids if ids is not None else list(range(100, 100 + len(polys)))
    return GridIndex.from_geometries(polys, ids, codes)


def _both(index, points):
    """assign_points and GridIndex.lookup must agree; return the bulk answers as a list."""
    pts = np.asarray(points, dtype=float)
    bulk = assign_points(pts[:, 0], pts[:, 1], index)
    single = [index.lookup(x, y) for x, y in pts]
    assert [None if g == NO_GRID else g for g in bulk.tolist()] == single
    return bulk.tolist()


def test_tie_rule_shared_edge_and_vertex():
    # four unit squares meeting at (1, 1); codes deliberately not in geometric order
    squares = [box(0, 0, 1, 1), box(1, 0, 2, 1), box(0, 1, 1, 2), box(1, 1, 2, 2)]
    codes = ["330100000000003", "330100000000001", "330100000000004", "330100000000002"]
    index = _index(squares, codes, ids=[10, 11, 12, 13])
    got = _both(
        index,
        [
            (0.5, 0.5),  # inside the first only
            (1.0, 0.5),  # edge between 10 (…003) and 11 (…001) → 11
            (0.5, 1.0),  # edge between 10 (…003) and 12 (…004) → 10
            (1.5, 1.0),  # edge between 11 (…001) and 13 (…002) → 11
            (1.0, 1.5),  # edge between 12 (…004) and 13 (…002) → 13
            (1.0, 1.0),  # the vertex shared by all four → 11 (…001)
            (0.0, 0.0),  # an outer corner: only 10
            (2.0, 2.0),  # an outer corner: only 13
            (2.0, 0.5),  # the outer edge: only 11
            (2.0001, 0.5),  # outside
        ],
    )
    assert got == [10, 11, 10, 11, 13, 11, 10, 13, 11, NO_GRID]


def test_holes_belong_to_the_island_or_to_no_grid():
    hole = [(1, 1), (2, 1), (2, 2), (1, 2), (1, 1)]
    donut = Polygon([(0, 0), (3, 0), (3, 3), (0, 3), (0, 0)], [hole])
    island = Polygon(hole)
    empty_hole = Polygon([(4, 0), (7, 0), (7, 3), (4, 3), (4, 0)], [[(5, 1), (6, 1), (6, 2), (5, 2), (5, 1)]])
    index = _index([donut, island, empty_hole], ["330100000000002", "330100000000001", "330100000000003"])
    got = _both(
        index,
        [
            (0.5, 0.5),  # in the donut
            (1.5, 1.5),  # in the hole: the island
            (1.0, 1.5),  # on the hole's edge: both cover it, the island has the smaller code
            (5.5, 1.5),  # in an empty hole: no grid
            (5.0, 1.5),  # on the empty hole's edge: the ring is the polygon's boundary
            (4.5, 0.5),
        ],
    )
    assert got == [100, 101, 101, NO_GRID, 102, 102]


def _tiling(nx=24, ny=18, holes=12, seed=3):
    """A jittered tiling with some holes (half of them filled by an island grid)."""
    lattice = make_lattice(x0=120.0, y0=30.0, dx=0.01, dy=0.01, nx=nx, ny=ny, k=2, seed=seed)
    polys = list(cell_polygons(lattice))
    rng = np.random.default_rng(seed)
    for n, cell in enumerate(rng.choice(len(polys), size=holes, replace=False).tolist()):
        c = polys[cell].centroid
        ring = shapely.get_coordinates(shapely.buffer(c, 0.002, quad_segs=2).exterior)
        polys[cell] = Polygon(polys[cell].exterior.coords, [ring])
        if n % 2 == 0:
            polys.append(Polygon(ring[::-1]))
    codes = [f"330100{i:09d}" for i in rng.permutation(len(polys)).tolist()]
    return polys, codes


def _test_points(polys, n_random, rng):
    coords = shapely.get_coordinates(np.asarray(polys, dtype=object))  # every vertex, hole rings too
    a, b = coords[:-1], coords[1:]
    t = rng.uniform(0, 1, size=(len(a), 1))
    on_edges = a + (b - a) * t  # on (or within rounding of) an edge
    x0, y0, x1, y1 = shapely.total_bounds(np.asarray(polys, dtype=object))
    random = np.column_stack(
        [rng.uniform(x0 - 0.01, x1 + 0.01, n_random), rng.uniform(y0 - 0.01, y1 + 0.01, n_random)]
    )
    return np.concatenate([coords, on_edges, random])


def test_agreement_with_brute_force_vertices_edges_holes():
    polys, codes = _tiling()
    ids = list(range(1, len(polys) + 1))
    assert all(p.is_valid for p in polys)
    assert shapely.coverage_is_valid(np.asarray(polys, dtype=object))
    index = _index(polys, codes, ids=ids)
    rng = np.random.default_rng(7)
    pts = _test_points(polys, 20_000, rng)
    bulk = assign_points(pts[:, 0], pts[:, 1], index)
    brute = brute_force_assign(pts[:, 0], pts[:, 1], polys, ids, codes)
    assert np.array_equal(bulk, brute), int((bulk != brute).sum())
    # every vertex lies in some grid; points outside the tiling and in empty holes in none
    assert (bulk == NO_GRID).any() and (bulk != NO_GRID).any()
    sample = rng.choice(len(pts), size=2000, replace=False)
    for i in sample.tolist():
        found = index.lookup(*pts[i])
        assert (found if found is not None else NO_GRID) == bulk[i]


def test_missing_coordinates_and_empty_index():
    index = _index([box(0, 0, 1, 1)], ["330100000000001"])
    assert assign_points([0.5, float("nan"), 5], [0.5, 0.5, 5], index).tolist() == [100, NO_GRID, NO_GRID]
    empty = GridIndex.from_geometries([], [], [])
    assert assign_points([0.5], [0.5], empty).tolist() == [NO_GRID]
    assert empty.lookup(0.5, 0.5) is None


def test_block_ring_shares_edges_exactly():
    lattice = make_lattice(x0=0, y0=0, dx=1, dy=1, nx=6, ny=4, k=3, seed=1)
    left = Polygon(block_ring(lattice, 0, 0, 3, 4))
    right = Polygon(block_ring(lattice, 3, 0, 6, 4))
    whole = Polygon(block_ring(lattice, 0, 0, 6, 4))
    assert left.is_valid and right.is_valid
    assert left.intersection(right).area == 0
    assert left.union(right).symmetric_difference(whole).area < 1e-12


# --- the re-assignment job (database) -------------------------------------------------------------


def _geojson(poly: Polygon) -> str:
    return json.dumps(mapping(poly))


def _set_polygon(grid, poly: Polygon) -> None:
    grid.polygon_geojson = _geojson(poly)
    grid.min_lon, grid.min_lat, grid.max_lon, grid.max_lat = poly.bounds
    grid.save()


@pytest.mark.django_db
def test_reassign_job_follows_a_boundary_change(django_capture_on_commit_callbacks):
    from zongzhi.cases import services as case_services
    from zongzhi.cases.models import Case

    r = make_tree()
    village = r["A1a"]
    west, east = make_grid(village, "西网格"), make_grid(village, "东网格")
    _set_polygon(west, box(120.00, 30.00, 120.01, 30.01))
    _set_polygon(east, box(120.01, 30.00, 120.02, 30.01))
    grids_changed()

    def report(lon, lat):
        data = case_services.ReportInput(
            channel="web",
            title="占道经营",
            description="路口有摊贩",
            region_code=village.code,
            reporter_name="张三",
            reporter_phone="13800000000",
            lon=lon,
            lat=lat,
        )
        return case_services.case_report(actor=None, data=data).case

    a = report(120.005, 30.005)  # west
    b = report(120.013, 30.005)  # east, near the edge
    c = report(120.010, 30.005)  # on the shared edge: the smaller code (west, …001)
    d = report(120.030, 30.005)  # in no grid
    assert [x.grid_id for x in (a, b, c, d)] == [west.pk, east.pk, west.pk, None]
    assert list(unassigned("cases.case", r["A"].path)) == [d]
    assert not unassigned("cases.case", r["B"].path).exists()

    # the boundary moves east: b now lies in the west grid, the east grid grows to cover d
    _set_polygon(west, box(120.00, 30.00, 120.015, 30.01))
    _set_polygon(east, box(120.015, 30.00, 120.035, 30.01))
    grids_changed()
    admin = make_user(Role.SYSTEM_ADMIN, r["C"])
    with django_capture_on_commit_callbacks(execute=True):
        job = reassign_enqueue(actor=admin)
    assert job is not None
    job.refresh_from_db()
    assert job.kind == "reassign" and job.status == BackgroundJob.Status.DONE
    assert job.total == 4 and job.done == 4 and job.percent == 100
    assert job.params["result"]["cases.case"]["changed"] == 2
    assert job.params["result"]["cases.case"]["unassigned"] == 0
    grids = dict(Case.objects.values_list("pk", "grid_id"))
    assert [grids[x.pk] for x in (a, b, c, d)] == [west.pk, west.pk, west.pk, east.pk]
    assert not unassigned("cases.case", r["A"].path).exists()

    # running it again changes nothing
    with django_capture_on_commit_callbacks(execute=True):
        again = reassign_enqueue(actor=admin)
    assert again is not None
    again.refresh_from_db()
    assert again.status == BackgroundJob.Status.DONE
    assert again.params["result"]["cases.case"]["changed"] == 0
    assert dict(Case.objects.values_list("pk", "grid_id")) == grids


@pytest.mark.django_db
def test_reassign_in_batches_with_progress_and_compare_and_set():
    from zongzhi.cases import services as case_services
    from zongzhi.cases.models import Case

    r = make_tree()
    village = r["A1a"]
    grid = make_grid(village, "唯一网格")
    _set_polygon(grid, box(120.0, 30.0, 120.1, 30.1))
    grids_changed()
    cases = []
    for i in range(7):
        data = case_services.ReportInput(
            channel="web",
            title="井盖缺失",
            description="人行道井盖缺失",
            region_code=village.code,
            reporter_name="李四",
            reporter_phone="13900000000",
            lon=120.05 if i % 2 else None,
            lat=30.05 if i % 2 else None,
        )
        cases.append(case_services.case_report(actor=None, data=data).case)
    Case.objects.update(grid=None)  # as if assigned before the grid existed
    seen: list[int] = []
    results = assign.reassign_rows(index=current_index(), batch_size=2, progress=seen.append)
    assert seen == [2, 3]  # three located rows, in batches of two
    assert results["cases.case"].changed == 3 and results["cases.case"].lost_races == 0
    located = Case.objects.filter(lon__isnull=False)
    assert set(located.values_list("grid_id", flat=True)) == {grid.pk}
    assert set(Case.objects.filter(lon__isnull=True).values_list("grid_id", flat=True)) == {None}
    assert grid_at(120.05, 30.05) == grid.pk


@pytest.mark.django_db
def test_reassign_needs_grid_manage_and_runs_without_a_job_for_the_system(django_capture_on_commit_callbacks):
    from zongzhi.core.errors import PermissionDeniedError

    r = make_tree()
    viewer = make_user(Role.LEADER_VIEWER, r["C"])
    with pytest.raises(PermissionDeniedError):
        reassign_enqueue(actor=viewer)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert reassign_enqueue(actor=None) is None
    assert len(callbacks) == 1
    assert not BackgroundJob.objects.filter(kind="reassign").exists()
