"""Point-to-grid lookup: an STRtree of grid polygons per process, rebuilt when grids change.

Tie rule for points on a shared edge: among the grids that *cover* the point (boundary included),
the one with the smallest grid code wins — deterministic and the same in bulk and single lookups.
A point in a polygon's hole is not covered by that polygon (it belongs to the grid filling the hole,
if any). Bulk assignment is ``zongzhi.geo.assign.assign_points``; it gives the same answers.
"""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
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
    # rank[i]: position of codes[i] in code order (the tie rule); id_by_rank[r]: the grid id of rank r
    rank: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64), repr=False)
    id_by_rank: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64), repr=False)

    def __post_init__(self) -> None:
        if len(self.rank) != len(self.codes):
            order = np.argsort(np.asarray(self.codes, dtype=object), kind="stable")
            rank = np.empty(len(order), dtype=np.int64)
            rank[order] = np.arange(len(order), dtype=np.int64)
            self.rank = rank
            self.id_by_rank = np.asarray(self.ids, dtype=np.int64)[order]

    @classmethod
    def from_geometries(
        cls, geometries: Sequence[Any], ids: Sequence[int], codes: Sequence[str]
    ) -> GridIndex:
        """An index over given polygons (prepared in place), e.g. for benchmarks and tests."""
        geoms = list(geometries)
        shapely.prepare(geoms)
        return cls(
            version=None,
            tree=STRtree(geoms) if geoms else None,
            geometries=geoms,
            ids=list(ids),
            codes=list(codes),
        )

    def lookup(self, lon: float, lat: float) -> int | None:
        """The grid covering (lon, lat) — boundary included, smallest code on ties — or None."""
        if self.tree is None:
            return None
        hits = self.tree.query(shapely.points(lon, lat), predicate="intersects")
        if len(hits) == 0:
            return None
        if len(hits) == 1:
            return self.ids[int(hits[0])]
        return int(self.id_by_rank[self.rank[hits].min()])


_index: GridIndex | None = None


def _version() -> Any:
    version = cache.get(_VERSION_KEY)
    if version is None:
        cache.add(_VERSION_KEY, secrets.randbelow(1 << 40) + 2, timeout=None)
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
    return GridIndex.from_geometries(geometries, ids, codes)


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
