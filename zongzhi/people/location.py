"""Where a base-data row belongs: its region and grid, from a grid, a point or a region.

Grid assignment is ``zongzhi.geo``'s: ``grid_at`` for one point, ``assign_points`` for many (same
answers: the covering grid, smallest code on shared edges)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from django.utils.translation import gettext as _

from zongzhi.core.errors import FieldError
from zongzhi.geo.assign import NO_GRID, assign_points
from zongzhi.geo.index import grid_at
from zongzhi.orgs.models import Grid, Region
from zongzhi.orgs.paths import is_within


@dataclass(frozen=True)
class Location:
    region: Region
    grid: Grid | None


def grid_for_point(lon: float | None, lat: float | None) -> Grid | None:
    """The active grid covering (lon, lat) in WGS-84, or None."""
    if lon is None or lat is None:
        return None
    grid_id = grid_at(lon, lat)
    return Grid.objects.select_related("village").filter(pk=grid_id).first() if grid_id else None


def grids_for_points(lons: Sequence[float], lats: Sequence[float]) -> np.ndarray:
    """Grid ids for many points at once (``-1`` = no grid); for imports."""
    return assign_points(lons, lats)


__all__ = ["NO_GRID", "Location", "grid_for_point", "grids_for_points", "resolve_location"]


def _check_point(lon: float | None, lat: float | None) -> None:
    if (lon is None) != (lat is None):
        raise FieldError("lat" if lat is None else "lon", _("经度和纬度须同时填写。"), code="required")
    if lon is not None and not -180 <= lon <= 180:
        raise FieldError("lon", _("经度应在-180到180之间。"), code="out_of_range")
    if lat is not None and not -90 <= lat <= 90:
        raise FieldError("lat", _("纬度应在-90到90之间。"), code="out_of_range")


def resolve_location(
    *,
    region: Region | None = None,
    grid: Grid | None = None,
    lon: float | None = None,
    lat: float | None = None,
) -> Location:
    """The region and grid of a row.

    - A grid given explicitly wins: the region is the grid's village (a region given too must
      contain it, else ``FieldError('grid')``).
    - Else a point is assigned to the grid covering it (``zongzhi.geo``); when a region is given
      and the grid lies outside it, the row keeps the region and gets no grid.
    - Else the region is required (``FieldError('region')``)."""
    _check_point(lon, lat)
    if grid is not None:
        village = grid.village
        if region is not None and not is_within(village.path, region.path):
            raise FieldError("grid", _("所选网格不在所属区域内。"), code="grid_outside_region")
        return Location(region=village, grid=grid)
    found = grid_for_point(lon, lat)
    if found is not None:
        if region is None or is_within(found.village.path, region.path):
            return Location(region=found.village, grid=found)
        if region is not None:
            return Location(region=region, grid=None)
    if region is None:
        raise FieldError("region", _("请选择所属区域或网格。"), code="required")
    return Location(region=region, grid=None)
