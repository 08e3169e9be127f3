"""Map pages. Thin shells: the layers come from the GeoJSON endpoints of the API
(``zongzhi/api/geo.py``), which go through the scoping layer; ``static/zongzhi/map.js`` draws them.

When the tile source uses GCJ-02 or BD-09 (``ZZ_MAP_TILE_CRS``), the pages ask the endpoints for
that CRS (``crs=``) and the boundary editor posts in it; the server converts back to WGS-84.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from zongzhi.core.errors import DomainError
from zongzhi.core.models import BackgroundJob
from zongzhi.orgs.roles import Perm
from zongzhi.orgs.scoping import scope_roots, user_can

from . import selectors
from .coverage import coverage_report, unassigned_points
from .geojson import geometry_dict, load_geometry
from .services import grid_boundary_set


def _tiles() -> dict[str, str]:
    return {
        "tiles": settings.ZZ_MAP_TILE_URL,
        "tile_crs": settings.ZZ_MAP_TILE_CRS,
        "attribution": settings.ZZ_MAP_ATTRIBUTION,
    }


def _default_region_code(user: Any) -> str:
    """The user's scope root for grids when it is one region (else no region: the whole scope)."""
    roots = [r for r in scope_roots(user, Perm.GRID_VIEW) if r]
    if len(roots) == 1:
        return roots[0].rstrip("/").rsplit("/", 1)[-1]
    return ""


@login_required
def map_page(request: HttpRequest) -> HttpResponse:
    region_code = request.GET.get("region", "").strip()
    region = selectors.visible_region(request.user, region_code) if region_code else None
    return render(
        request,
        "geo/map.html",
        {
            "region": region,
            "measure": request.GET.get("measure", "open"),
            "grids_url": reverse("api:map_grids"),
            "cases_url": reverse("api:map_cases"),
            "options_url": reverse("api:map_options"),
            **_tiles(),
        },
    )


@login_required
def coverage_page(request: HttpRequest) -> HttpResponse:
    code = request.GET.get("region", "").strip() or _default_region_code(request.user)
    if not code:
        return render(request, "geo/coverage.html", {"region": None, "report": None, **_tiles()})
    region = selectors.visible_region(request.user, code)
    report = coverage_report(region, unassigned=unassigned_points(region, user=request.user))
    return render(
        request,
        "geo/coverage.html",
        {
            "region": region,
            "report": report,
            "grids_url": reverse("api:map_grids"),
            "coverage_url": reverse("api:map_coverage"),
            **_tiles(),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def grid_boundary(request: HttpRequest, grid_id: int) -> HttpResponse:
    """Edit one grid's boundary with leaflet-draw; saved through ``grid_boundary_set``."""
    grid = selectors.visible_grid(request.user, grid_id, Perm.GRID_MANAGE)
    crs = settings.ZZ_MAP_TILE_CRS
    errors: list[str] = []
    submitted = ""
    if request.method == "POST":
        submitted = request.POST.get("geometry", "")
        if not submitted.strip():
            errors.append(_("请先绘制网格边界。"))
        else:
            try:
                result = grid_boundary_set(actor=request.user, grid=grid, geojson=submitted, crs=crs)  # type: ignore[arg-type]
            except DomainError as exc:
                errors.append(str(exc.message))
            else:
                for w in result.warnings:
                    messages.warning(request, w.message)
                messages.success(
                    request, "网格边界已保存，正在重新入格。" if result.job_id else "网格边界已保存。"
                )
                url = reverse("grid-boundary", args=[grid.pk])
                return redirect(f"{url}?job={result.job_id}" if result.job_id else url)
    job = None
    if request.GET.get("job", "").isdigit():
        job = BackgroundJob.objects.filter(pk=int(request.GET["job"]), user_id=request.user.pk or 0).first()
    geom = load_geometry(grid.polygon_geojson)
    current = geometry_dict(geom, crs=crs) if geom is not None else None
    village = load_geometry(grid.village.boundary_geojson)
    return render(
        request,
        "geo/boundary.html",
        {
            "grid": grid,
            "current": current,
            "village_boundary": geometry_dict(village, crs=crs, digits=6) if village is not None else None,
            "submitted": submitted,
            "errors": errors,
            "job": job,
            "crs": crs,
            "neighbours_url": reverse("api:map_grids")
            + f"?region={grid.village.code}&measure=population&crs={crs}",
            "can_manage": user_can(request.user, Perm.GRID_MANAGE, grid),
            **_tiles(),
        },
        status=422 if errors else 200,
    )
