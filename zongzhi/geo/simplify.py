"""Simplifying polygons for map payloads without opening gaps between neighbours.

``simplify_for_map(geoms, tolerance_m)`` simplifies a *coverage* (grids of a county: polygons that
do not overlap and whose shared edges have the same vertices) with ``shapely.coverage_simplify``
(GEOS ≥ 3.12, shapely ≥ 2.1: Visvalingam–Whyatt on the shared edges, each edge simplified once, so
neighbours stay edge-matched and the result is still a valid coverage). Input that is not a
coverage — other geometry types, overlapping polygons — falls back to simplifying each polygon on
its own (``shapely.simplify(..., preserve_topology=True)``), which keeps every polygon valid but
not the shared edges shared.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import shapely
from shapely.errors import GEOSException

METRES_PER_DEGREE = 111_320.0  # one degree of latitude (and of longitude at the equator)


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
    """The polygons simplified with a tolerance of about ``tolerance_m`` metres, topology between
    neighbours preserved (see the module docstring). Same order and length as ``geoms``.

    ``latitude`` defaults to the middle of the geometries' extent. ``check_coverage`` runs
    ``shapely.coverage_is_valid`` first (costs about as much as the simplification) and falls back
    when the polygons overlap; without it overlapping input is detected only when the simplified
    result has invalid polygons (then the fallback runs)."""
    arr = np.asarray(geoms, dtype=object)
    if len(arr) == 0:
        return []
    if latitude is None:
        _x0, y0, _x1, y1 = shapely.total_bounds(arr)
        latitude = (y0 + y1) / 2 if math.isfinite(y0) else 0.0
    tolerance = metres_to_degrees(tolerance_m, latitude)
    if _is_polygonal(arr) and (not check_coverage or shapely.coverage_is_valid(arr)):
        try:
            out = shapely.coverage_simplify(arr, tolerance)
        except GEOSException:
            out = None
        if out is not None and bool(shapely.is_valid(out).all()):
            return list(out)
    return list(shapely.simplify(arr, tolerance, preserve_topology=True))
