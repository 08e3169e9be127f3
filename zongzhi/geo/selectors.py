"""Reads for maps and exports, always through the scoping layer.

Map payloads stay small: polygons are simplified with topology preserved (shared edges stay
shared, no new gaps or overlaps) at a tolerance chosen from the extent shown, and positions are
written with 6 decimals (~0.1 m). ``zongzhi.geo.simplify.simplify_for_map`` does the
topology-aware simplification when it is installed; otherwise each polygon is simplified on its
own with ``preserve_topology=True`` (valid polygons, shared edges may drift by < tolerance).
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Iterable
from typing import Any

import shapely
from django.db.models import Prefetch, QuerySet
from shapely.geometry.base import BaseGeometry

from zongzhi.orgs.models import Grid, GridMembership, GridRole, Region
from zongzhi.orgs.paths import subtree_q
from zongzhi.orgs.roles import Perm
from zongzhi.orgs.scoping import get_visible_or_404, visible_to

from .geojson import EARTH_RADIUS_M, feature_collection, geometry_dict, grid_feature, load_geometry

MAP_DIGITS = 6
MIN_TOLERANCE_M = 0.5
MAX_TOLERANCE_M = 25.0


def visible_grids(user: Any, *, region_code: str | None = None, perm: str = Perm.GRID_VIEW) -> QuerySet[Grid]:
    """Active grids ``user`` may see (with ``perm``), optionally limited to a region's subtree."""
    qs = visible_to(user, Grid.objects.filter(is_active=True).select_related("village"), perm)
    if region_code:
        region = Region.objects.filter(code=region_code).only("path").first()
        qs = qs.filter(subtree_q("region_path", [region.path])) if region else qs.none()
    return qs.order_by("code")


def visible_region(user: Any, code: str, perm: str = Perm.GRID_VIEW) -> Region:
    """The region ``code`` when ``user`` holds ``perm`` over it (and so over its whole subtree);
    404 otherwise."""
    return get_visible_or_404(user, Region.objects.select_related("parent"), perm, code=code)


def visible_grid(user: Any, grid_id: int, perm: str = Perm.GRID_VIEW) -> Grid:
    return get_visible_or_404(user, Grid.objects.select_related("village"), perm, pk=grid_id)


def with_members(qs: QuerySet[Grid]) -> QuerySet[Grid]:
    """Prefetch leaders and workers for map popups."""
    return qs.prefetch_related(
        Prefetch(
            "memberships",
            queryset=GridMembership.objects.select_related("user").order_by("role", "user__username"),
            to_attr="members",
        )
    )


def member_names(grid: Grid) -> tuple[str, list[str]]:
    members = getattr(grid, "members", None)
    if members is None:
        members = list(grid.memberships.select_related("user").order_by("role", "user__username"))
    leader = next((str(m.user) for m in members if m.role == GridRole.LEADER), "")
    workers = [str(m.user) for m in members if m.role != GridRole.LEADER]
    return leader, workers


def tolerance_for(geoms: list[BaseGeometry]) -> float:
    """Simplification tolerance in metres: ~1/4000 of the extent's diagonal, clamped to
    0.5–25 m (a village: ~0.5 m, a county of ~50 km: ~12 m — invisible at the zoom shown)."""
    if not geoms:
        return MIN_TOLERANCE_M
    minx, miny, maxx, maxy = shapely.total_bounds(geoms)
    lat0 = (miny + maxy) / 2
    dx = math.radians(maxx - minx) * EARTH_RADIUS_M * math.cos(math.radians(lat0))
    dy = math.radians(maxy - miny) * EARTH_RADIUS_M
    return float(min(MAX_TOLERANCE_M, max(MIN_TOLERANCE_M, math.hypot(dx, dy) / 4000)))


def simplify_geometries(geoms: list[BaseGeometry], tolerance_m: float) -> list[BaseGeometry]:
    try:
        module = importlib.import_module("zongzhi.geo.simplify")
        simplify_for_map = getattr(module, "simplify_for_map", None)
    except ImportError:
        simplify_for_map = None
    if simplify_for_map is not None:
        return list(simplify_for_map(geoms, tolerance_m))
    out = []
    for geom in geoms:
        deg = tolerance_m / (math.radians(1.0) * EARTH_RADIUS_M)
        simple = shapely.simplify(geom, deg, preserve_topology=True)
        out.append(geom if simple.is_empty else simple)
    return out


def map_grid_features(
    grids: Iterable[Grid],
    *,
    crs: str = "wgs84",
    properties: dict[int, dict[str, Any]] | None = None,
    tolerance_m: float | None = None,
) -> dict[str, Any]:
    """A FeatureCollection of ``grids`` for the map: simplified, 6 decimals, with ``id``, code,
    name, village, population, leader, workers and any extra ``properties[grid.pk]``."""
    rows: list[Grid] = []
    geoms: list[BaseGeometry] = []
    for grid in grids:
        geom = load_geometry(grid.polygon_geojson)
        if geom is not None:
            rows.append(grid)
            geoms.append(geom)
    tol = tolerance_for(geoms) if tolerance_m is None else tolerance_m
    simple = simplify_geometries(geoms, tol) if geoms else []
    features = []
    for grid, geom in zip(rows, simple, strict=True):
        leader, workers = member_names(grid)
        props: dict[str, Any] = {
            "id": grid.pk,
            "code": grid.code,
            "name": grid.name,
            "village": grid.village.name,
            "village_code": grid.village.code,
            "population": grid.population,
            "households": grid.households,
            "leader": leader,
            "workers": workers,
        }
        props.update((properties or {}).get(grid.pk, {}))
        features.append(
            {
                "type": "Feature",
                "id": grid.pk,
                "properties": props,
                "geometry": geometry_dict(geom, crs=crs, digits=MAP_DIGITS),
            }
        )
    data = feature_collection(features, crs=crs)
    data["tolerance_m"] = round(tol, 2)
    return data


def grids_feature_collection(grids: Iterable[Grid], *, crs: str = "wgs84") -> dict[str, Any]:
    """Export: full-precision grids as a FeatureCollection that ``grids_import`` reads back."""
    return feature_collection(
        (
            grid_feature(
                code=g.code,
                name=g.name,
                village_code=g.village.code,
                population=g.population,
                households=g.households,
                geometry=load_geometry(g.polygon_geojson),
                crs=crs,
            )
            for g in grids
            if g.polygon_geojson
        ),
        crs=crs,
    )


def region_boundary_feature(region: Region, *, crs: str = "wgs84") -> dict[str, Any] | None:
    geom = load_geometry(region.boundary_geojson)
    if geom is None:
        return None
    return {
        "type": "Feature",
        "properties": {"kind": "boundary", "code": region.code, "name": region.name},
        "geometry": geometry_dict(geom, crs=crs, digits=MAP_DIGITS),
    }
