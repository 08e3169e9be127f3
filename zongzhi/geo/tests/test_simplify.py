"""Map simplification keeps a coverage a coverage: shared edges stay shared, nothing overlaps, no
gaps open, every polygon stays valid, holes and tiny grids are kept; non-polygonal input (or input
failing the optional coverage check) is simplified polygon by polygon."""

from __future__ import annotations

import itertools

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


# --- edge-by-edge coverage simplification ---------------------------------------------------------

UNIT = 1e-5  # degrees per unit in the hand-made shapes below (~1.1 m at the equator)


def _shape(*rings):
    """A polygon from rings given in units (shell first, then holes)."""
    scaled = [[(x * UNIT, y * UNIT) for x, y in r] for r in rings]
    return shapely.Polygon(scaled[0], scaled[1:])


def _segments(geoms):
    """Every ring segment of ``geoms`` as ((x0, y0), (x1, y1)) in its direction of travel."""
    out = []
    for geom in geoms:
        for ring in shapely.get_rings(geom):
            coords = [tuple(c) for c in shapely.get_coordinates(ring).tolist()]
            out += list(itertools.pairwise(coords))
    return out


def _assert_edges_matched(geoms):
    """Shared edges are identical on both sides: each segment is used at most twice, then in
    opposite directions, and the segments used once make up exactly the outer boundary."""
    seen: dict[tuple, list[tuple]] = {}
    for a, b in _segments(geoms):
        seen.setdefault((min(a, b), max(a, b)), []).append((a, b))
    once = []
    for key, uses in seen.items():
        assert len(uses) <= 2, f"segment {key} used {len(uses)} times"
        if len(uses) == 2:
            assert uses[0] == uses[1][::-1], f"segment {key} runs the same way on both sides"
        else:
            once.append(shapely.LineString(key))
    outline = shapely.coverage_union_all(np.asarray(geoms, dtype=object)).boundary
    assert abs(sum(line.length for line in once) - outline.length) < 1e-9


def test_lattice_edges_identical_on_both_sides():
    geoms = _coverage()
    out = simplify_for_map(geoms, 60)
    _assert_edges_matched(out)
    # the nodes (lattice vertices where two or more grids meet) stay where they were
    corners = make_lattice(x0=120.1, y0=30.2, dx=0.003, dy=0.003, nx=20, ny=15, k=6, seed=5).vertices
    nodes = {tuple(c) for c in corners.reshape(-1, 2).tolist()}
    nodes -= {tuple(corners[i, j]) for i in (0, -1) for j in (0, -1)}
    assert len(nodes) == 21 * 16 - 4
    assert nodes <= {tuple(c) for c in shapely.get_coordinates(np.asarray(out, dtype=object)).tolist()}


def test_holes_and_island_grids_are_kept_and_matched():
    geoms = list(_coverage(8, 6))
    cell = geoms[20]
    island = shapely.buffer(cell.centroid, 0.0008, quad_segs=8)  # 33-point ring, ~90 m radius
    empty_hole = shapely.buffer(geoms[33].centroid, 0.0006, quad_segs=8)
    geoms[20] = shapely.Polygon(cell.exterior.coords, [island.exterior.coords[::-1]])
    geoms[33] = shapely.Polygon(geoms[33].exterior.coords, [empty_hole.exterior.coords])
    geoms.append(island)
    out = simplify_for_map(geoms, 30)
    assert shapely.is_valid(np.asarray(out, dtype=object)).all()
    assert shapely.coverage_is_valid(np.asarray(out, dtype=object))
    _assert_edges_matched(out)
    assert len(out[20].interiors) == 1 and len(out[33].interiors) == 1
    assert len(out[-1].exterior.coords) < len(island.exterior.coords)  # simplified, not reverted
    # the island is exactly the hole it fills
    assert shapely.Polygon(out[20].interiors[0]).equals_exact(shapely.Polygon(out[-1].exterior).reverse(), 0)
    assert out[33].interiors[0].length > 0.5 * empty_hole.exterior.length


def test_tiny_grids_are_not_collapsed():
    geoms = list(_coverage(6, 5))
    # an island grid of ~2 m in a hole: both its edges would collapse to one segment
    tiny = shapely.buffer(geoms[12].centroid, 0.00001, quad_segs=4)
    geoms[12] = shapely.Polygon(geoms[12].exterior.coords, [tiny.exterior.coords[::-1]])
    geoms.append(tiny)
    # a tolerance far above the cell size: every edge between two nodes becomes straight
    out = simplify_for_map(geoms, 2_000)
    arr = np.asarray(out, dtype=object)
    assert len(out) == len(geoms)
    assert not shapely.is_empty(arr).any() and shapely.is_valid(arr).all()
    assert (shapely.area(arr) > 0).all()
    assert shapely.coverage_is_valid(arr)
    _assert_edges_matched(out)
    assert out[-1].equals(tiny) and len(out[12].interiors) == 1
    assert abs(shapely.coverage_union_all(arr).area - shapely.coverage_union_all(geoms).area) < 0.2 * (
        shapely.coverage_union_all(geoms).area
    )


def test_polygon_made_invalid_by_an_edge_gets_its_original_edges_back():
    # A (above) and B (below) share the edge (0, 0) → (50, -8) → (100, 0); C on the right makes both
    # ends nodes. Straightening the edge would leave A's hole (just above the bulge) outside A.
    hole = [(45, -5), (55, -5), (55, -2), (45, -2), (45, -5)]
    a = _shape([(0, 0), (50, -8), (100, 0), (100, 100), (0, 100), (0, 0)], hole)
    b = _shape([(0, -100), (100, -100), (100, 0), (50, -8), (0, 0), (0, -100)])
    c = _shape([(100, -100), (200, -100), (200, 100), (100, 100), (100, 0), (100, -100)])
    # D, elsewhere: its wiggle is simplified as usual
    d = _shape([(300, 0), (350, 3), (400, 0), (400, 100), (300, 100), (300, 0)])
    out = simplify_for_map([a, b, c, d], 12, latitude=0.0)
    assert all(g.is_valid for g in out)
    assert shapely.coverage_is_valid(np.asarray(out[:3], dtype=object))
    _assert_edges_matched(out[:3])
    bulge = (50 * UNIT, -8 * UNIT)
    assert bulge in out[0].exterior.coords and bulge in out[1].exterior.coords
    assert len(out[0].interiors) == 1
    assert (350 * UNIT, 3 * UNIT) not in out[3].exterior.coords


def test_multipolygons_and_empty_geometries_keep_their_place_and_type():
    geoms = _coverage(4, 3)
    multi = shapely.MultiPolygon([geoms[0], geoms[5]])  # two cells not touching each other
    rest = [g for i, g in enumerate(geoms) if i not in (0, 5)]
    out = simplify_for_map([multi, shapely.Polygon(), *rest], 200)
    assert out[0].geom_type == "MultiPolygon" and len(out[0].geoms) == 2
    assert out[1].is_empty
    arr = np.asarray([out[0], *out[2:]], dtype=object)
    assert shapely.is_valid(arr).all() and shapely.coverage_is_valid(arr)
    _assert_edges_matched([*out[0].geoms, *out[2:]])


def test_invalid_input_polygon_does_not_break_the_rest():
    bowtie = _shape([(0, 0), (100, 100), (100, 0), (0, 100), (0, 0)])
    geoms = [bowtie, *_coverage(4, 3)]
    out = simplify_for_map(geoms, 60)
    assert out[0].equals_exact(bowtie, 0)
    assert shapely.is_valid(np.asarray(out[1:], dtype=object)).all()
    assert shapely.coverage_is_valid(np.asarray(out[1:], dtype=object))
    # a ring of fewer than three distinct points: each polygon simplified on its own
    flat = shapely.Polygon([(0, 0), (1e-3, 0), (0, 0), (0, 0)])
    assert len(simplify_for_map([flat, *_coverage(2, 2)], 10)) == 5
