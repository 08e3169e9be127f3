"""Regions, grids and the signed-in user, through the scoping layer."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router, Schema
from ninja.pagination import LimitOffsetPagination, paginate

from zongzhi.api.pagination import MappedQuerySet
from zongzhi.orgs import selectors
from zongzhi.orgs.models import Grid, Region
from zongzhi.orgs.scoping import get_visible_or_404, grants_of

router = Router(tags=["orgs"])


class GrantOut(Schema):
    role: str
    region_path: str
    department_id: int | None


class MeOut(Schema):
    id: int
    username: str
    display_name: str
    grants: list[GrantOut]


class RegionOut(Schema):
    code: str
    name: str
    level: str
    parent_code: str | None
    path: str


class GridOut(Schema):
    id: int
    code: str
    name: str
    village_code: str
    population: int
    households: int


@router.get("/me", response=MeOut)
def me(request: HttpRequest) -> dict[str, object]:
    user = request.user
    return {
        "id": user.pk,
        "username": user.get_username(),
        "display_name": getattr(user, "display_name", ""),
        "grants": [
            {"role": g.role, "region_path": g.path, "department_id": g.department_id} for g in grants_of(user)
        ],
    }


def _region_out(region: Region) -> dict[str, object]:
    return {
        "code": region.code,
        "name": region.name,
        "level": region.level,
        "parent_code": region.parent.code if region.parent is not None else None,
        "path": region.path,
    }


@router.get("/regions", response=list[RegionOut])
@paginate(LimitOffsetPagination)
def list_regions(
    request: HttpRequest, parent: str | None = None, level: str | None = None, q: str | None = None
):  # type: ignore[no-untyped-def]
    return MappedQuerySet(
        selectors.regions_for(request.user, parent_code=parent, level=level, text=q), _region_out
    )


@router.get("/regions/{code}", response=RegionOut)
def get_region(request: HttpRequest, code: str) -> dict[str, object]:
    region = get_visible_or_404(request.user, Region.objects.select_related("parent"), code=code)
    return _region_out(region)


def _grid_out(grid: Grid) -> dict[str, object]:
    return {
        "id": grid.pk,
        "code": grid.code,
        "name": grid.name,
        "village_code": grid.village.code,
        "population": grid.population,
        "households": grid.households,
    }


@router.get("/grids", response=list[GridOut])
@paginate(LimitOffsetPagination)
def list_grids(request: HttpRequest, region: str | None = None):  # type: ignore[no-untyped-def]
    return MappedQuerySet(selectors.grids_for(request.user, region_code=region), _grid_out)


@router.get("/grids/{grid_id}", response=GridOut)
def get_grid(request: HttpRequest, grid_id: int) -> dict[str, object]:
    return _grid_out(get_visible_or_404(request.user, Grid.objects.select_related("village"), pk=grid_id))
