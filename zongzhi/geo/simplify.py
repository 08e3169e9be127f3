"""Simplifying polygons for map payloads without opening gaps between neighbours.

``simplify_for_map(geoms, tolerance_m)`` simplifies a *coverage* (grids of a county: polygons that
do not overlap and whose shared edges have the same vertices) edge by edge, so that neighbours stay
edge-matched and the result is still a valid coverage:

1. every ring's vertices get an id (exact coordinates, hashed); a vertex is a *node* when the rings
   through it do not all run between the same two neighbours — a junction of three or more grids,
   a point where the outer boundary meets a shared edge, a ring touching itself. A ring with no
   node (an island grid in a hole, an isolated grid) gets two: its smallest and largest vertex id,
   the same choice on both sides of the shared ring;
2. each ring is cut at its nodes into *edges*; an edge is identified by its first node and the
   vertex after it, in a canonical direction, so the two occurrences of a shared edge (one per side,
   opposite directions) are one edge;
3. every unique edge is simplified once (Douglas–Peucker, ``shapely.simplify``), its end nodes
   fixed;
4. the rings are reassembled from the simplified edges (each occurrence walks its edge forwards or
   backwards), so both sides of a shared edge get the very same vertices;
5. a polygon whose reassembled rings would have fewer than three points, whose ring turned the other
   way round or that is not valid gets the original vertices back on all of its edges — on both
   sides of each of them, so the neighbours stay matched — and the polygons touched are reassembled
   again, until every polygon is valid. Tiny grids and holes are thus kept, never collapsed.

Everything but the Douglas–Peucker pass and the creation of the result geometries is vectorised
numpy, so the whole costs about as much as simplifying each polygon on its own — which simplifies
every shared edge twice, independently, and opens slivers and overlaps between neighbours.

Input that is not polygonal falls back to simplifying each geometry on its own
(``shapely.simplify(..., preserve_topology=True)``). Polygons that overlap or whose edges do not
share vertices are still simplified edge by edge — every polygon comes out valid — but the result is
only as much a coverage as the input was; ``check_coverage=True`` checks the input first
(``shapely.coverage_is_valid``, about as costly as the simplification) and then falls back.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import shapely

METRES_PER_DEGREE = 111_320.0  # one degree of latitude (and of longitude at the equator)

# 64-bit multipliers for hashing coordinates (one pair per hashing round; see ``_vertex_ids``)
_HASH_ROUNDS = (
    (0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F),
    (0xBF58476D1CE4E5B9, 0x94D049BB133111EB),
    (0xD6E8FEB86659FD93, 0xFF51AFD7ED558CCD),
)


def metres_to_degrees(tolerance_m: float, latitude: float) -> float:
    """A distance in metres as degrees at ``latitude``: a degree of latitude is ~111.32 km, a degree
    of longitude that times cos(latitude); the geometric mean of the two is used, so the error in
    either direction stays within a factor of √(1/cos φ) (≈ 1.07 at 30° N)."""
    scale = math.sqrt(max(math.cos(math.radians(latitude)), 1e-6))
    return tolerance_m / (METRES_PER_DEGREE * scale)


def _is_polygonal(geoms: np.ndarray) -> bool:
    kinds = shapely.get_type_id(geoms)
    return bool(np.isin(kinds, (3, 6)).all())  # Polygon, MultiPolygon


def simplify_for_map(
    geoms: Sequence[Any] | np.ndarray,
    tolerance_m: float,
    *,
    latitude: float | None = None,
    check_coverage: bool = False,
) -> list[Any]:
    """The polygons simplified with a tolerance of about ``tolerance_m`` metres, shared edges
    simplified once so neighbours stay matched (see the module docstring). Same order and length as
    ``geoms``; empty geometries are returned as they are.

    ``latitude`` defaults to the middle of the geometries' extent. ``check_coverage`` runs
    ``shapely.coverage_is_valid`` first and simplifies each polygon on its own when the polygons
    overlap or their shared edges do not match."""
    arr = np.asarray(geoms, dtype=object)
    if len(arr) == 0:
        return []
    if latitude is None:
        _x0, y0, _x1, y1 = shapely.total_bounds(arr)
        latitude = (y0 + y1) / 2 if math.isfinite(y0) else 0.0
    tolerance = metres_to_degrees(tolerance_m, latitude)
    if _is_polygonal(arr) and (not check_coverage or shapely.coverage_is_valid(arr)):
        out = simplify_coverage(arr, tolerance)
        if out is not None:
            return list(out)
    return list(shapely.simplify(arr, tolerance, preserve_topology=True))


def simplify_coverage(geoms: np.ndarray, tolerance: float) -> np.ndarray | None:
    """Polygons/MultiPolygons ``geoms`` simplified edge by edge with ``tolerance`` in coordinate
    units (see the module docstring); ``None`` when a ring has fewer than three distinct points."""
    out = np.array(geoms, dtype=object)
    keep = ~shapely.is_empty(out)
    if not keep.any():
        return out
    simplified = _simplify_edges(out[keep], tolerance)
    if simplified is None:
        return None
    out[keep] = simplified
    return out


def _runs(lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For runs of ``lengths``: the run of every element and its offset inside its run."""
    owner = np.repeat(np.arange(len(lengths)), lengths)
    starts = np.cumsum(lengths) - lengths
    return owner, np.arange(len(owner)) - starts[owner]


def _vertex_ids(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """An id per coordinate, equal exactly when the coordinates are equal: the index of one
    occurrence of the same point. Hash-table rounds (the last write to a slot wins; an occurrence
    whose slot winner has other coordinates tries again with another hash), the few left over
    after the rounds are sorted. O(n), about twice as fast as ``np.unique``."""
    n = len(x)
    bx, by = x.view(np.uint64), y.view(np.uint64)
    ids = np.empty(n, dtype=np.intp)
    todo = np.arange(n)
    for m1, m2 in _HASH_ROUNDS:
        m = len(todo)
        bits = max(4, (2 * m).bit_length())
        tx, ty = (x, y) if m == n else (x[todo], y[todo])
        hx, hy = (bx, by) if m == n else (bx[todo], by[todo])
        slot = ((hx * np.uint64(m1) + hy * np.uint64(m2)) >> np.uint64(64 - bits)).astype(np.intp)
        table = np.empty(1 << bits, dtype=np.intp)
        table[slot] = np.arange(m)
        rep = table[slot]
        same = (tx[rep] == tx) & (ty[rep] == ty)
        ids[todo[same]] = todo[rep[same]]
        todo = todo[~same]
        if not len(todo):
            return ids
    _, inverse = np.unique(x[todo] + 1j * y[todo], return_inverse=True)
    ids[todo] = n + inverse.ravel()
    return ids


def _ring_area2(x: np.ndarray, y: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Twice the signed area of each open ring (points ``starts[i]:starts[i + 1]``, positive
    counter-clockwise), relative to each ring's first point for precision."""
    lengths = np.diff(np.append(starts, len(x)))
    owner = np.repeat(np.arange(len(starts)), lengths)
    lx, ly = x - x[starts][owner], y - y[starts][owner]
    nxt = np.arange(1, len(x) + 1)
    nxt[starts + lengths - 1] = starts
    return np.add.reduceat(lx * ly[nxt] - lx[nxt] * ly, starts)


def _ring_layout(parts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """x, y of all rings of ``parts`` (Polygons; shell first, then holes), each ring's number of
    coordinates and each ring's part — without cloning the rings of polygons that have no hole."""
    n_holes = shapely.get_num_interior_rings(parts)
    n_rings = 1 + n_holes
    ring_part = np.repeat(np.arange(len(parts)), n_rings)
    first_ring = np.cumsum(n_rings) - n_rings
    ring_len = np.empty(int(n_rings.sum()), dtype=np.intp)
    plain = n_holes == 0
    ring_len[first_ring[plain]] = shapely.get_num_coordinates(parts[plain])
    holed = np.flatnonzero(~plain)
    if len(holed):
        rings, of = shapely.get_rings(parts[holed], return_index=True)
        rank = np.arange(len(rings)) - (np.cumsum(n_rings[holed]) - n_rings[holed])[of]
        ring_len[first_ring[holed][of] + rank] = shapely.get_num_coordinates(rings)
    xy = shapely.get_coordinates(parts)
    return xy[:, 0] + 0.0, xy[:, 1] + 0.0, ring_len, ring_part  # + 0.0: contiguous, no -0.0


def _simplify_edges(geoms: np.ndarray, tolerance: float) -> np.ndarray | None:
    types = shapely.get_type_id(geoms)
    multi = np.flatnonzero(types == 6)
    if len(multi):
        parts, part_geom = shapely.get_parts(geoms, return_index=True)
    else:
        parts, part_geom = geoms, np.arange(len(geoms))
    n_parts = len(parts)
    x, y, ring_len, ring_part = _ring_layout(parts)
    n_rings = len(ring_len)

    # open rings: drop each ring's closing point and repeated consecutive points
    ring_of = np.repeat(np.arange(n_rings), ring_len)
    keep = np.ones(len(x), dtype=bool)
    keep[np.cumsum(ring_len) - 1] = False
    keep[1:] &= ~((x[1:] == x[:-1]) & (y[1:] == y[:-1]) & (ring_of[1:] == ring_of[:-1]))
    x, y, ring_of = x[keep], y[keep], ring_of[keep]
    while True:  # a ring whose last kept point repeats its first
        r_len = np.bincount(ring_of, minlength=n_rings)
        if (r_len < 3).any():
            return None
        r_start = np.cumsum(r_len) - r_len
        r_last = r_start + r_len - 1
        wrap = (x[r_last] == x[r_start]) & (y[r_last] == y[r_start])
        if not wrap.any():
            break
        keep = np.ones(len(x), dtype=bool)
        keep[r_last[wrap]] = False
        x, y, ring_of = x[keep], y[keep], ring_of[keep]
    ring_sign = np.sign(_ring_area2(x, y, r_start))

    # 1. vertex ids and nodes
    vid = _vertex_ids(x, y)
    nv = int(vid.max()) + 1
    nxt = np.arange(1, len(vid) + 1)
    nxt[r_last] = r_start
    prv = np.empty_like(vid)
    prv[1:] = vid[:-1]
    prv[r_start] = vid[r_last]
    pair = np.minimum(prv, vid[nxt]).astype(np.int64) * nv + np.maximum(prv, vid[nxt])
    seen = np.empty(nv, dtype=np.int64)
    seen[vid] = pair  # any one occurrence's neighbours; a vertex is a node when another differs
    is_node = np.zeros(nv, dtype=bool)
    is_node[vid[seen[vid] != pair]] = True
    node_count = np.add.reduceat(is_node[vid], r_start)
    if (node_count == 0).any():
        is_node[np.minimum.reduceat(vid, r_start)[node_count == 0]] = True
        node_count = np.add.reduceat(is_node[vid], r_start)
    if (node_count == 1).any():
        is_node[np.maximum.reduceat(np.where(is_node[vid], -1, vid), r_start)[node_count == 1]] = True

    # 2. edges: each ring rotated to start at its first node, closed, cut at its nodes
    node_at = np.flatnonzero(is_node[vid])
    node_ring = ring_of[node_at]
    first_node = node_at[np.r_[True, node_ring[1:] != node_ring[:-1]]]
    rr, tt = _runs(r_len + 1)
    occ = r_start[rr] + (first_node[rr] - r_start[rr] + tt) % r_len[rr]  # index into x, y
    rv = vid[occ]
    closing = np.zeros(len(rv), dtype=bool)
    closing[np.cumsum(r_len + 1) - 1] = True
    cuts = np.flatnonzero(is_node[rv])
    k = np.flatnonzero(~closing[cuts])
    e_from, e_to = cuts[k], cuts[k + 1]  # positions in rv of each edge occurrence's ends
    occ_ring = rr[e_from]
    key_fwd = rv[e_from].astype(np.int64) * nv + rv[e_from + 1]
    key_back = rv[e_to].astype(np.int64) * nv + rv[e_to - 1]
    occ_back = key_back < key_fwd  # the occurrence runs against the edge's canonical direction
    _keys, rep, occ_edge = np.unique(np.minimum(key_fwd, key_back), return_index=True, return_inverse=True)
    occ_edge = occ_edge.ravel()
    n_edges = len(rep)

    # 3. each edge simplified once, in its canonical direction
    o_len = (e_to - e_from + 1)[rep]
    eo, et = _runs(o_len)
    at = np.where(occ_back[rep][eo], e_to[rep][eo] - et, e_from[rep][eo] + et)
    ox, oy = x[occ[at]], y[occ[at]]
    simple = shapely.simplify(shapely.linestrings(ox, oy, indices=eo), tolerance, preserve_topology=False)
    sxy, s_of = shapely.get_coordinates(simple, return_index=True)
    s_len = np.bincount(s_of, minlength=n_edges)
    buf_x = np.concatenate([sxy[:, 0], ox])
    buf_y = np.concatenate([sxy[:, 1], oy])
    o_start = np.cumsum(o_len) - o_len + len(sxy)
    cur_start = np.cumsum(s_len) - s_len  # each edge's current vertices in buf_x/buf_y
    cur_len = s_len.copy()
    reverted = np.zeros(n_edges, dtype=bool)

    def revert(edges: np.ndarray) -> None:
        cur_start[edges] = o_start[edges]
        cur_len[edges] = o_len[edges]
        reverted[edges] = True

    while True:  # rings that would keep fewer than three points get their original edges
        points = np.bincount(occ_ring, weights=cur_len[occ_edge] - 1, minlength=n_rings)
        small = points < 3
        if not small.any():
            break
        edges = np.zeros(n_edges, dtype=bool)
        edges[occ_edge[small[occ_ring]]] = True
        edges &= ~reverted
        if not edges.any():
            return None
        revert(edges)

    # 4. reassembly; 5. polygons that come out wrong get their original edges back
    def assemble(part_mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        ring_mask = part_mask[ring_part]
        sel = ring_mask[occ_ring]
        oe, ob, orr = occ_edge[sel], occ_back[sel], occ_ring[sel]
        steps = cur_len[oe] - 1
        po, pt = _runs(steps)
        base, steps = cur_start[oe][po], steps[po]
        at = np.where(ob[po], base + steps - pt, base + pt)
        px, py = buf_x[at], buf_y[at]
        ring_local = np.cumsum(ring_mask) - 1
        p_ring = ring_local[orr[po]]
        counts = np.bincount(p_ring, minlength=int(ring_mask.sum()))
        turned = np.sign(_ring_area2(px, py, np.cumsum(counts) - counts)) != ring_sign[ring_mask]
        rings = shapely.linearrings(px, py, indices=p_ring)
        part_local = np.cumsum(part_mask) - 1
        polys = shapely.polygons(rings, indices=part_local[ring_part[ring_mask]])
        bad = ~shapely.is_valid(polys)
        bad[part_local[ring_part[ring_mask][turned]]] = True
        return polys, bad

    out_parts = np.empty(n_parts, dtype=object)
    todo = np.ones(n_parts, dtype=bool)
    while True:
        polys, bad_local = assemble(todo)
        chosen = np.flatnonzero(todo)
        out_parts[chosen] = polys
        bad = np.zeros(n_parts, dtype=bool)
        bad[chosen[bad_local]] = True
        if not bad.any():
            break
        edges = np.zeros(n_edges, dtype=bool)
        edges[occ_edge[bad[ring_part[occ_ring]]]] = True
        edges &= ~reverted
        if not edges.any():
            break  # polygons that were invalid to begin with stay as they were
        revert(edges)
        todo = np.zeros(n_parts, dtype=bool)
        todo[ring_part[occ_ring[edges[occ_edge]]]] = True

    if not len(multi):
        return out_parts
    out = np.empty(len(geoms), dtype=object)
    first_part = np.searchsorted(part_geom, np.arange(len(geoms)))
    single = np.flatnonzero(types != 6)
    out[single] = out_parts[first_part[single]]
    in_multi = np.isin(part_geom, multi)
    out[multi] = shapely.multipolygons(
        out_parts[in_multi], indices=np.searchsorted(multi, part_geom[in_multi])
    )
    return out
