#!/usr/bin/env python
"""Benchmark: point → grid assignment and map simplification, each against raw shapely side by side.

Issue targets (2-core machine):
- bulk assignment ≥ 0.6× the throughput of a bare ``STRtree.query(points, predicate="within")`` on the
  same 50,000 grids and 1M points (ours: ``assign_points`` — intersects + the tie rule);
- a single lookup (``GridIndex.lookup``) p99 < 1 ms;
- 100 % agreement with a brute-force ``covers`` check (no spatial index) on 100k points including
  vertices, points on shared edges and points in holes;
- ``simplify_for_map`` (topology-preserving coverage simplification: each shared edge simplified once)
  of the 50k polygons ≤ 1.5× raw ``shapely.simplify(geoms, tol)``, the result still a coverage; a
  county's grids (3,000) simplified as GeoJSON < 2 MB. GEOS's own ``shapely.coverage_simplify`` is
  timed once alongside for reference.

    .venv/bin/python bench/bench_geo.py                 # 50,000 grids, 1M points
    .venv/bin/python bench/bench_geo.py --grids 5000 --points 100000   # quick check

Standalone: synthetic data only (a jittered lattice tiling whose shared edges are vertex-for-vertex
equal, ~1 % of the cells with a hole, half of the holes filled by an island grid; grid codes in
random order so the tie rule is exercised); Django is set up for imports only, no database is used.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")

import django

django.setup()

import shapely  # noqa: E402

from zongzhi.geo.assign import NO_GRID, assign_points, brute_force_assign  # noqa: E402
from zongzhi.geo.index import GridIndex  # noqa: E402
from zongzhi.geo.simplify import metres_to_degrees, simplify_for_map  # noqa: E402
from zongzhi.geo.tiling import cell_polygons, make_lattice  # noqa: E402

CELL = 0.002  # degrees: ~190 m × 220 m grids around 30° N
VERTICES_PER_EDGE = 7  # intermediate points per lattice edge: 33 vertices per grid


def build_grids(n_grids: int, seed: int) -> tuple[list[Any], list[int], list[str], int, int]:
    """~n_grids polygons: (nx × ny cells) − nothing + islands, exactly n_grids in all."""
    rng = np.random.default_rng(seed)
    islands = max(1, n_grids // 200)
    cells = n_grids - islands
    nx = round(math.sqrt(cells * 1.25))
    ny = cells // nx
    islands = n_grids - nx * ny
    lattice = make_lattice(x0=120.0, y0=30.0, dx=CELL, dy=CELL, nx=nx, ny=ny, k=VERTICES_PER_EDGE, seed=seed)
    polys = list(cell_polygons(lattice))
    holed = rng.choice(len(polys), size=2 * islands, replace=False).tolist()
    for n, cell in enumerate(holed):
        ring = shapely.get_coordinates(shapely.buffer(polys[cell].centroid, CELL * 0.2, quad_segs=2).exterior)
        polys[cell] = shapely.Polygon(polys[cell].exterior.coords, [ring])
        if n % 2 == 0:  # half of the holes are filled by an island grid, half stay empty
            polys.append(shapely.Polygon(ring[::-1]))
    ids = list(range(1, len(polys) + 1))
    codes = [f"330106{i:09d}" for i in rng.permutation(len(polys)).tolist()]
    return polys, ids, codes, nx, ny


def special_points(polys: list[Any], n: int, rng: np.random.Generator) -> np.ndarray:
    """Vertices (incl. hole rings), points on shared edges, and hole centres — n of them."""
    arr = np.asarray(polys, dtype=object)
    coords = shapely.get_coordinates(arr)
    a, b = coords[:-1], coords[1:]
    pick = rng.choice(len(a), size=n // 2, replace=False)
    t = rng.uniform(0, 1, size=(len(pick), 1))
    on_edges = a[pick] + (b[pick] - a[pick]) * t
    holes = [p for p in polys if len(p.interiors)]
    hole_centres = shapely.get_coordinates(shapely.centroid([shapely.Polygon(h.interiors[0]) for h in holes]))
    vertices = coords[rng.choice(len(coords), size=n - len(on_edges) - len(hole_centres), replace=False)]
    return np.concatenate([vertices, on_edges, hole_centres])


def best_of(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    best, result = math.inf, None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t)
    return best, result


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def feature_collection(geoms: list[Any], ids: list[int], codes: list[str]) -> bytes:
    rounded = shapely.transform(np.asarray(geoms, dtype=object), lambda c: np.round(c, 6))
    features = [
        {
            "type": "Feature",
            "id": gid,
            "properties": {"code": code},
            "geometry": json.loads(shapely.to_geojson(g)),
        }
        for g, gid, code in zip(rounded, ids, codes, strict=True)
    ]
    return json.dumps({"type": "FeatureCollection", "features": features}, separators=(",", ":")).encode()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--grids", type=int, default=50_000)
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--agreement", type=int, default=100_000)
    parser.add_argument("--lookups", type=int, default=10_000)
    parser.add_argument("--county", type=int, default=3_000, help="grids in the payload subset")
    parser.add_argument("--tolerance-m", type=float, default=20.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    summary: list[tuple[str, str, str, bool]] = []

    print(
        f"load average: {os.getloadavg()}; shapely {shapely.__version__}, GEOS {shapely.geos_version_string}"
    )
    t = time.perf_counter()
    polys, ids, codes, nx, ny = build_grids(args.grids, args.seed)
    index = GridIndex.from_geometries(polys, ids, codes)
    tree = index.tree
    assert tree is not None
    n_vertices = int(shapely.get_num_coordinates(np.asarray(polys, dtype=object)).sum())
    print(
        f"grids: {len(polys):,} ({nx}×{ny} lattice cells, {sum(1 for p in polys if p.interiors)} with a hole), "
        f"{n_vertices:,} vertices; built and indexed in {time.perf_counter() - t:.2f} s"
    )

    # --- bulk assignment -------------------------------------------------------------------------
    x0, y0, x1, y1 = shapely.total_bounds(np.asarray(polys, dtype=object))
    n_special = min(args.points // 20, 50_000)
    n_random = args.points - n_special
    pts = np.concatenate(
        [
            np.column_stack(
                [rng.uniform(x0 - 0.01, x1 + 0.01, n_random), rng.uniform(y0 - 0.01, y1 + 0.01, n_random)]
            ),
            special_points(polys, n_special, rng),
        ]
    )
    lons, lats = pts[:, 0].copy(), pts[:, 1].copy()
    point_geoms = shapely.points(lons, lats)
    bare_s, bare_pairs = best_of(lambda: tree.query(point_geoms, predicate="within"), args.repeat)
    ours_s, assigned = best_of(lambda: assign_points(lons, lats, index), args.repeat)
    ratio = bare_s / ours_s
    print(f"\nbulk assignment of {len(pts):,} points")
    print(
        f"  bare STRtree.query(points, predicate='within'): {bare_s:.3f} s  ({len(pts) / bare_s:,.0f} points/s)"
    )
    print(
        f"  assign_points (points built from lon/lat + intersects + tie rule): {ours_s:.3f} s "
        f"({len(pts) / ours_s:,.0f} points/s)"
    )
    print(
        f"  throughput ratio ours/bare: {ratio:.2f}×  (target ≥ 0.6×); "
        f"assigned {int((assigned != NO_GRID).sum()):,}, unassigned {int((assigned == NO_GRID).sum()):,}; "
        f"bare 'within' pairs {bare_pairs.shape[1]:,}"
    )
    summary.append(
        (
            "bulk assignment, 1M points",
            f"{ours_s:.2f} s vs {bare_s:.2f} s",
            f"{ratio:.2f}× (≥ 0.6×)",
            ratio >= 0.6,
        )
    )

    # --- single lookups -----------------------------------------------------------------------------
    sample = rng.uniform([x0, y0], [x1, y1], size=(args.lookups, 2)).tolist()
    ours_ns: list[float] = []
    bare_ns: list[float] = []
    clock = time.perf_counter_ns
    for x, y in sample:
        t0 = clock()
        tree.query(shapely.points(x, y), predicate="within")
        t1 = clock()
        index.lookup(x, y)
        t2 = clock()
        bare_ns.append((t1 - t0) / 1e3)
        ours_ns.append((t2 - t1) / 1e3)
    p50, p99 = percentile(ours_ns, 50), percentile(ours_ns, 99)
    b50, b99 = percentile(bare_ns, 50), percentile(bare_ns, 99)
    print(f"\nsingle lookup, {args.lookups:,} points (µs)")
    print(f"  GridIndex.lookup: p50 {p50:.1f}, p99 {p99:.1f}, max {max(ours_ns):.1f}  (target p99 < 1000)")
    print(f"  bare tree.query(point, predicate='within'): p50 {b50:.1f}, p99 {b99:.1f}")
    print(f"  ratio p99 ours/bare: {p99 / b99:.2f}×")
    summary.append(
        ("single lookup p99", f"{p99:.1f} µs (bare {b99:.1f} µs)", f"{p99 / b99:.2f}× bare", p99 < 1000)
    )

    # --- agreement with brute force ------------------------------------------------------------------
    n_special = args.agreement // 5
    check = np.concatenate(
        [
            special_points(polys, n_special, rng),
            np.column_stack(
                [
                    rng.uniform(x0 - 0.005, x1 + 0.005, args.agreement - n_special),
                    rng.uniform(y0 - 0.005, y1 + 0.005, args.agreement - n_special),
                ]
            ),
        ]
    )
    t = time.perf_counter()
    brute = brute_force_assign(check[:, 0], check[:, 1], polys, ids, codes)
    brute_s = time.perf_counter() - t
    bulk = assign_points(check[:, 0], check[:, 1], index)
    single = np.array([index.lookup(x, y) or NO_GRID for x, y in check[:20_000].tolist()])
    mismatches = int((bulk != brute).sum())
    single_mismatches = int((single != brute[:20_000]).sum())
    ties = len(check) - len(np.unique(tree.query(shapely.points(check), predicate="intersects")[0]))
    print(f"\nagreement with brute force (covers, no index) on {len(check):,} points")
    print(
        f"  {n_special:,} vertices / on-edge / hole points; {ties:,} points covered by more than one grid; "
        f"brute force {brute_s:.1f} s"
    )
    print(f"  mismatches: bulk {mismatches}, single lookup (first 20,000) {single_mismatches}  (target 0)")
    agree = 100.0 * (len(check) - mismatches) / len(check)
    summary.append(
        (
            "agreement, 100k points",
            f"{mismatches} mismatches",
            f"{agree:.3f} %",
            mismatches == 0 and single_mismatches == 0,
        )
    )

    # --- simplification --------------------------------------------------------------------------------
    arr = np.asarray(polys, dtype=object)
    tol_deg = metres_to_degrees(args.tolerance_m, (y0 + y1) / 2)
    raw_times, ours_times = [], []
    simplified: list[Any] = []
    for _ in range(args.repeat):
        t = time.perf_counter()
        shapely.simplify(arr, tol_deg)
        raw_times.append(time.perf_counter() - t)
        t = time.perf_counter()
        simplified = simplify_for_map(arr, args.tolerance_m)
        ours_times.append(time.perf_counter() - t)
    raw_s, ours_simpl_s = statistics.median(raw_times), statistics.median(ours_times)
    s_ratio = ours_simpl_s / raw_s
    out = np.asarray(simplified, dtype=object)
    kept = int(shapely.get_num_coordinates(out).sum())
    raw_kept = int(shapely.get_num_coordinates(shapely.simplify(arr, tol_deg)).sum())
    t = time.perf_counter()
    geos_kept = int(shapely.get_num_coordinates(shapely.coverage_simplify(arr, tol_deg)).sum())
    geos_s = time.perf_counter() - t
    t = time.perf_counter()
    full_coverage = bool(shapely.coverage_is_valid(out))
    check_s = time.perf_counter() - t
    print(f"\nsimplification of {len(polys):,} polygons, tolerance {args.tolerance_m:g} m ({tol_deg:.2e}°)")
    print(
        f"  raw shapely.simplify: {raw_s:.2f} s (median of {args.repeat}: {', '.join(f'{x:.2f}' for x in raw_times)})"
    )
    print(
        f"  simplify_for_map (shared edges simplified once): {ours_simpl_s:.2f} s "
        f"({', '.join(f'{x:.2f}' for x in ours_times)}); ratio {s_ratio:.2f}×  (target ≤ 1.5×)"
    )
    print(f"  for reference, shapely.coverage_simplify (once): {geos_s:.2f} s, ratio {geos_s / raw_s:.2f}×")
    print(
        f"  vertices {n_vertices:,} → {kept:,} (raw {raw_kept:,}, coverage_simplify {geos_kept:,}); "
        f"all valid: {bool(shapely.is_valid(out).all())}"
    )
    print(
        f"  still a coverage (no gaps/overlaps, edges matched): {full_coverage}  (checked in {check_s:.1f} s)"
    )
    summary.append(
        (
            "simplify 50k polygons",
            f"{ours_simpl_s:.2f} s vs {raw_s:.2f} s",
            f"{s_ratio:.2f}× (≤ 1.5×)",
            s_ratio <= 1.5 and full_coverage,
        )
    )

    # --- a county's payload -------------------------------------------------------------------------------
    side_x = round(math.sqrt(args.county * nx / ny))
    side_y = math.ceil(args.county / side_x)
    county = [k for k in range(nx * ny) if k // ny < side_x and k % ny < side_y][: args.county]
    c_geoms = [polys[k] for k in county]
    c_ids = [ids[k] for k in county]
    c_codes = [codes[k] for k in county]
    raw_payload = feature_collection(c_geoms, c_ids, c_codes)
    t = time.perf_counter()
    c_simple = simplify_for_map(c_geoms, args.tolerance_m)
    c_simplify_s = time.perf_counter() - t
    payload = feature_collection(c_simple, c_ids, c_codes)
    payload_s = time.perf_counter() - t
    still_coverage = bool(shapely.coverage_is_valid(np.asarray(c_simple, dtype=object)))
    mb = len(payload) / 1e6
    print(f"\nmap payload of a county: {len(county):,} grids as a GeoJSON FeatureCollection (6 decimals)")
    print(
        f"  unsimplified {len(raw_payload) / 1e6:.2f} MB → simplified {mb:.2f} MB in {payload_s:.2f} s "
        f"(simplify {c_simplify_s:.3f} s, GeoJSON {payload_s - c_simplify_s:.3f} s; target < 2 MB)"
    )
    print(f"  simplified grids still a coverage (no gaps/overlaps, edges matched): {still_coverage}")
    summary.append(
        (
            "county payload, 3,000 grids",
            f"{mb:.2f} MB",
            f"{len(payload) / len(raw_payload):.2f}× unsimplified",
            mb < 2 and still_coverage,
        )
    )

    print("\n== summary ==")
    width = max(len(s[0]) for s in summary) + 2
    for name, figure, ratio_text, ok in summary:
        print(f"  {name.ljust(width)}{figure.ljust(32)}{ratio_text.ljust(24)}{'OK' if ok else 'MISSED'}")


if __name__ == "__main__":
    main()
