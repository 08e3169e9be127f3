"""Map simplification keeps a coverage a coverage: shared edges stay shared, nothing overlaps, no
gaps open, every polygon stays valid; non-coverage input falls back to per-polygon simplify."""

from __future__ import annotations

import numpy as np
import shapely
from shapely.geometry import LineString, box

from zongzhi.geo.simplify import metres_to_degrees, simplify_for_map
from zongzhi.geo.tiling import cell_polygons, make_lattice


def _coverage(nx=20, ny=15):
    lattice = make_lattice(x0=120.1, y0=30.2, dx=0.003, dy=0.003, nx=nx, ny=ny, k=6, seed=5)
    return cell_polygons(lattice)


def test_metres_to_degrees_at_latitude():
    assert metres_to_degrees(111_320, 0) == 1.0
    at_30 = metres_to_degrees(100, 30)
    assert 100 / 111_320 < at_30 < 100 / (111_320 * np.cos(np.radians(30)))


def test_shared_edges_stay_shared_and_output_is_valid():
    geoms = _coverage()
    out = np.asarray(simplify_for_map(geoms, 60), dtype=object)
    assert len(out) == len(geoms)
    assert shapely.is_valid(out).all()
    assert shapely.get_num_coordinates(out).sum() < 0.7 * shapely.get_num_coordinates(geoms).sum()
    # still a coverage: no overlaps, edges matched vertex for vertex
    assert shapely.coverage_is_valid(out)
    # no gaps: the union is one polygon without holes, of (nearly) the same area
    union = shapely.coverage_union_all(out)
    assert union.geom_type == "Polygon" and len(union.interiors) == 0
    before = shapely.coverage_union_all(geoms)
    assert abs(union.area - before.area) / before.area < 0.01
    # neighbours still share a boundary line
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="touches")
    pairs = [(a, b) for a, b in zip(left.tolist(), right.tolist(), strict=True) if a < b]
    assert pairs
    shared_before = [geoms[a].intersection(geoms[b]).length > 0 for a, b in pairs]
    for (a, b), was_shared in zip(pairs, shared_before, strict=True):
        if was_shared:
            assert out[a].intersection(out[b]).length > 0
        assert out[a].intersection(out[b]).area < 1e-15


def test_non_coverage_input_falls_back_to_per_polygon():
    overlapping = [box(0, 0, 0.02, 0.02), box(0.01, 0.01, 0.03, 0.03)]
    out = simplify_for_map(overlapping, 100, check_coverage=True)
    assert all(g.is_valid for g in out) and len(out) == 2
    lines = [LineString([(0, 0), (0.001, 0.00001), (0.002, 0)])]
    assert simplify_for_map(lines, 100)[0].equals(LineString([(0, 0), (0.002, 0)]))
    assert simplify_for_map([], 10) == []
