"""Maps and grid geometry through the API: GeoJSON layers, coverage, import/export, boundary edits.

Everything goes through the scoping layer: grids the user may see (``grid.view``), cases the user
may see (``case.view``); a region or grid outside the scope answers 404. ``crs=`` (wgs84 | gcj02 |
bd09) converts the coordinates of every answer, so that a front end on GCJ-02 or BD-09 tiles lines
up; input with ``crs=`` is converted back to WGS-84, which is what we store.

This module sits in the top layer because the map combines grids (``geo``) with case counts
(``cases``); ``geo`` itself never imports ``cases``.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from django.conf import settings
from django.db.models import Count
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from ninja import Body, Query, Router, Schema

from zongzhi.cases import selectors as case_selectors
from zongzhi.cases.models import OPEN_STATES, CaseState, Category
from zongzhi.core.errors import FieldError, PermissionDeniedError
from zongzhi.geo import coverage, selectors
from zongzhi.geo.coords import CRS_CHOICES, UnknownCRS, check_crs, from_wgs84_array
from zongzhi.geo.services import grid_boundary_set, grids_import
from zongzhi.orgs.roles import Perm
from zongzhi.orgs.scoping import user_can_anywhere

router = Router(tags=["geo"])

Measure = Literal["open", "overdue", "population"]
MEASURES: dict[str, str] = {"open": "未办结事件", "overdue": "超期事件", "population": "人口数"}


def _crs(value: str | None) -> str:
    try:
        return check_crs(value or "wgs84")
    except UnknownCRS as exc:
        raise FieldError("crs", "坐标系须为 wgs84、gcj02 或 bd09。", code="invalid_choice") from exc


def _case_counts(user: Any, grid_ids: list[int]) -> dict[int, dict[str, int]]:
    """Open and overdue visible cases per grid."""
    now = timezone.now()
    rows = (
        case_selectors.visible_cases(user)
        .filter(grid_id__in=grid_ids, state__in_constants=OPEN_STATES)
        .values("grid_id")
        .annotate(
            open_cases=Count("id"),
            overdue_cases=Count("id", filter=case_selectors.queue_filter("overdue", now)),
        )
        .order_by()
    )
    return {r["grid_id"]: {"open_cases": r["open_cases"], "overdue_cases": r["overdue_cases"]} for r in rows}


@router.get("/map/grids")
def map_grids(
    request: HttpRequest, region: str | None = None, measure: Measure = "open", crs: str = "wgs84"
) -> dict[str, Any]:
    """The visible grids (of ``region``'s subtree when given) as a simplified GeoJSON
    FeatureCollection; each feature's ``value`` is the chosen measure (``open`` cases, ``overdue``
    cases, ``population``), with the counts, leader and workers for the popup."""
    used = _crs(crs)
    if region:
        selectors.visible_region(request.user, region)
    grids = list(selectors.with_members(selectors.visible_grids(request.user, region_code=region)))
    counts = (
        _case_counts(request.user, [g.pk for g in grids])
        if user_can_anywhere(request.user, Perm.CASE_VIEW)
        else {}
    )
    props: dict[int, dict[str, Any]] = {}
    for grid in grids:
        c = counts.get(grid.pk, {"open_cases": 0, "overdue_cases": 0})
        value = {"open": c["open_cases"], "overdue": c["overdue_cases"], "population": grid.population}[
            measure
        ]
        props[grid.pk] = {
            **c,
            "value": value,
            "url": reverse("grid-detail", args=[grid.pk]),
        }
    data = selectors.map_grid_features(grids, crs=used, properties=props)
    values = [f["properties"]["value"] for f in data["features"]]
    data["measure"] = measure
    data["measure_label"] = MEASURES[measure]
    data["max"] = max(values) if values else 0
    return data


class CasesLayerOut(Schema):
    type: str
    features: list[dict[str, Any]]
    total: int
    capped: bool
    crs: str


@router.get("/map/cases", response=CasesLayerOut)
def map_cases(
    request: HttpRequest,
    category: str | None = None,
    state: CaseState | None = None,
    region: str | None = None,
    date_from: date | None = Query(None, alias="from"),  # type: ignore[assignment]  # noqa: B008
    date_to: date | None = Query(None, alias="to"),  # type: ignore[assignment]  # noqa: B008
    crs: str = "wgs84",
) -> dict[str, Any]:
    """Points of the visible located cases matching the filters (category code incl. its
    sub-categories, state, registration dates ``from``/``to``), newest first, at most
    ``ZZ_MAP_CASES_MAX``; ``capped`` says when more matched."""
    used = _crs(crs)
    if region:
        selectors.visible_region(request.user, region, Perm.CASE_VIEW)
    filters = case_selectors.CaseFilters(
        category=category,
        state=state,
        region=region,
        created_from=date_from,
        created_to=date_to,
        order="-created",
    )
    qs = case_selectors.case_list(request.user, filters).filter(lon__isnull=False, lat__isnull=False)
    cap = int(getattr(settings, "ZZ_MAP_CASES_MAX", 5000))
    rows = list(qs.values_list("id", "number", "title", "state", "lon", "lat", "grid_id")[: cap + 1])
    capped = len(rows) > cap
    rows = rows[:cap]
    lons, lats = from_wgs84_array([float(r[4] or 0) for r in rows], [float(r[5] or 0) for r in rows], used)
    labels = dict(CaseState.choices)
    features = [
        {
            "type": "Feature",
            "id": r[0],
            "properties": {
                "id": r[0],
                "number": r[1],
                "title": r[2],
                "state": r[3],
                "state_label": str(labels.get(r[3], r[3])),
                "grid_id": r[6],
                "url": reverse("case-detail", args=[r[0]]),
            },
            "geometry": {"type": "Point", "coordinates": [round(float(x), 6), round(float(y), 6)]},
        }
        for r, x, y in zip(rows, lons.tolist(), lats.tolist(), strict=True)
    ]
    return {
        "type": "FeatureCollection",
        "features": features,
        "total": len(features),
        "capped": capped,
        "crs": used,
    }


@router.get("/map/options")
def map_options(request: HttpRequest) -> dict[str, Any]:
    """Choices for the map's filters and measures, and the tile source."""
    categories = [
        {"code": c.code, "name": str(c), "parent": c.parent.code if c.parent else None}
        for c in Category.objects.filter(is_active=True)
        .select_related("parent")
        .order_by("sort_order", "code")
    ]
    return {
        "measures": [{"value": k, "label": v} for k, v in MEASURES.items()],
        "states": [{"value": v, "label": str(label)} for v, label in CaseState.choices],
        "categories": categories,
        "crs_choices": list(CRS_CHOICES),
        "tiles": {
            "url": settings.ZZ_MAP_TILE_URL,
            "crs": settings.ZZ_MAP_TILE_CRS,
            "attribution": settings.ZZ_MAP_ATTRIBUTION,
        },
    }


@router.get("/map/coverage")
def map_coverage(request: HttpRequest, region: str, crs: str = "wgs84") -> dict[str, Any]:
    """The coverage report of ``region`` (grid.view over it): summary, the offending shapes
    (overlaps, gaps, parts outside the village, unassigned points) and the region's boundary."""
    used = _crs(crs)
    target = selectors.visible_region(request.user, region)
    report = coverage.coverage_report(
        target, unassigned=coverage.unassigned_points(target, user=request.user)
    )
    features = report.features(crs=used)
    boundary = selectors.region_boundary_feature(target, crs=used)
    if boundary is not None:
        features.insert(0, boundary)
    return {
        "summary": report.summary(),
        "shapes": {"type": "FeatureCollection", "crs": used, "features": features},
    }


@router.post("/grids/import")
def import_grids(
    request: HttpRequest,
    payload: dict[str, Any] = Body(...),  # type: ignore[type-arg]  # noqa: B008
    crs: str | None = None,
    dry_run: bool = False,
) -> dict[str, Any]:
    """Import grids from a GeoJSON FeatureCollection (the request body). Needs ``grid.manage``;
    each feature's village must lie in the caller's scope. Bad features are listed with their
    index and reason; the good ones are imported (unless ``dry_run``)."""
    if not user_can_anywhere(request.user, Perm.GRID_MANAGE):
        raise PermissionDeniedError("无权导入网格。", code="forbidden", perm=Perm.GRID_MANAGE)
    if crs is not None and crs not in CRS_CHOICES:
        raise FieldError("crs", "坐标系须为 wgs84、gcj02 或 bd09。", code="invalid_choice")
    report = grids_import(actor=request.user, data=payload, crs=crs, dry_run=dry_run)  # type: ignore[arg-type]
    return report.as_dict()


@router.get("/grids/export")
def export_grids(request: HttpRequest, region: str | None = None, crs: str = "wgs84") -> dict[str, Any]:
    """The visible grids (of ``region``'s subtree) as GeoJSON, full precision, in ``crs``; the
    file imports back with ``POST /grids/import``."""
    used = _crs(crs)
    if region:
        selectors.visible_region(request.user, region)
    grids = selectors.visible_grids(request.user, region_code=region).exclude(polygon_geojson="")
    return selectors.grids_feature_collection(grids, crs=used)


class BoundaryIn(Schema):
    geometry: dict[str, Any]
    crs: Literal["wgs84", "gcj02", "bd09"] = "wgs84"


class BoundaryOut(Schema):
    id: int
    code: str
    bbox: list[float]
    warnings: list[dict[str, Any]]
    job_id: int | None


@router.put("/grids/{grid_id}/boundary", response=BoundaryOut)
def put_grid_boundary(request: HttpRequest, grid_id: int, payload: BoundaryIn) -> dict[str, Any]:
    """Replace a grid's boundary (needs ``grid.manage`` over it; 404 otherwise). Same checks as
    the import; errors name the field ``geometry`` and the reason's code."""
    grid = selectors.visible_grid(request.user, grid_id, Perm.GRID_MANAGE)
    result = grid_boundary_set(actor=request.user, grid=grid, geojson=payload.geometry, crs=payload.crs)  # type: ignore[arg-type]
    return {
        "id": grid.pk,
        "code": grid.code,
        "bbox": [grid.min_lon, grid.min_lat, grid.max_lon, grid.max_lat],
        "warnings": [w.as_dict() for w in result.warnings],
        "job_id": result.job_id,
    }
