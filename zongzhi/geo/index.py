"""Point-to-grid lookup: an STRtree of grid polygons per process, rebuilt when grids change.

Tie rule for points on a shared edge: among the grids that *cover* the point (boundary included),
the one with the smallest grid code wins — deterministic and the same in bulk and single lookups.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Any

import shapely
from django.core.cache import cache
from shapely import STRtree
from shapely.geometry import shape

_VERSION_KEY = "zz:grids:version"
_lock = threading.Lock()


@dataclass
class GridIndex:
    version: Any
    tree: STRtree | None
    geometries: list[Any]
    ids: list[int]
    codes: list[str]

    def lookup(self, lon: float, lat: float) -> int | None:
        if self.tree is None:
            return None
        point = shapely.points(lon, lat)
        hits = self.tree.query(point, predicate="intersects")
        if len(hits) == 0:
            return None
        best = min(hits, key=lambda i: self.codes[i])
        return self.ids[best]


_index: GridIndex | None = None


def _version() -> Any:
    version = cache.get(_VERSION_KEY)
    if version is None:
        cache.add(_VERSION_KEY, 1, timeout=None)
        version = cache.get(_VERSION_KEY, 1)
    return version


def grids_changed() -> None:
    """Tell every process to rebuild its index (after grid polygons were written)."""
    try:
        cache.incr(_VERSION_KEY)
    except ValueError:
        cache.set(_VERSION_KEY, 2, timeout=None)


def build_index() -> GridIndex:
    from zongzhi.orgs.models import Grid

    geometries: list[Any] = []
    ids: list[int] = []
    codes: list[str] = []
    for pk, code, text in (
        Grid.objects.filter(is_active=True)
        .exclude(polygon_geojson="")
        .values_list("pk", "code", "polygon_geojson")
    ):
        geom = shape(json.loads(text))
        if geom.is_empty:
            continue
        geometries.append(geom)
        ids.append(pk)
        codes.append(code)
    shapely.prepare(geometries)
    return GridIndex(
        version=None,
        tree=STRtree(geometries) if geometries else None,
        geometries=geometries,
        ids=ids,
        codes=codes,
    )


def current_index() -> GridIndex:
    global _index
    version = _version()
    if _index is not None and _index.version == version:
        return _index
    with _lock:
        index = build_index()
        index.version = version
        _index = index
    return index


def grid_at(lon: float, lat: float) -> int | None:
    """The id of the grid containing (lon, lat) in WGS-84, or None when no grid covers it."""
    return current_index().lookup(lon, lat)
