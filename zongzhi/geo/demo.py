"""Plausible boundaries for the demo city (``manage.py seed_demo``): townships laid out as cells of a
jittered lattice around the real city's location, each township split into its demo villages,
each village split into its grids — an exact tiling (``zongzhi.geo.tiling``): shared edges are the
same coordinate sequences on both sides, so there are no gaps and no overlaps, and the union of a
village's grids is the village.

``demo_layout`` is pure (the same input gives the same polygons, so re-running the seed changes
nothing); ``demo_boundaries_apply`` is the write path (only changed rows, one audit row, the grid
index rebuilt after commit).
"""

from __future__ import annotations

import json
import math
import zlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.db import transaction
from shapely.geometry import Polygon, mapping

from zongzhi.core.audit import audit_record
from zongzhi.orgs.models import Grid, Region

from . import index
from .tiling import Lattice, block_polygon, make_lattice, split_points

# Approximate centres: some cities by 4-digit code, otherwise the provincial capital (2 digits).
CITY_CENTRES: dict[str, tuple[float, float]] = {
    "3301": (120.18, 30.28),  # 杭州市: 西湖区 / 余杭区 around the West Lake
    "6502": (84.89, 45.58),  # 克拉玛依市
}
PROVINCE_CENTRES: dict[str, tuple[float, float]] = {
    "11": (116.40, 39.90), "12": (117.20, 39.13), "13": (114.51, 38.04), "14": (112.55, 37.87),
    "15": (111.75, 40.84), "21": (123.43, 41.80), "22": (125.32, 43.82), "23": (126.53, 45.80),
    "31": (121.47, 31.23), "32": (118.80, 32.06), "33": (120.16, 30.27), "34": (117.23, 31.82),
    "35": (119.30, 26.08), "36": (115.86, 28.68), "37": (117.12, 36.65), "41": (113.63, 34.75),
    "42": (114.31, 30.59), "43": (112.94, 28.23), "44": (113.26, 23.13), "45": (108.37, 22.82),
    "46": (110.20, 20.04), "50": (106.55, 29.56), "51": (104.07, 30.57), "52": (106.63, 26.65),
    "53": (102.83, 24.88), "54": (91.11, 29.65), "61": (108.94, 34.34), "62": (103.83, 36.06),
    "63": (101.78, 36.62), "64": (106.23, 38.49), "65": (87.62, 43.83),
}  # fmt: skip

CELL_DEG = 0.0025  # one lattice cell: ~240 m × 280 m around 30° N
TOWNSHIP_CELLS = 16  # a township is 16 × 16 cells (~3.8 km × 4.4 km)
MIN_GRID_CELLS = 3
DECIMALS = 6  # ~0.1 m; coordinates are rounded in the lattice itself, so shared edges stay equal


def city_centre(city_code: str) -> tuple[float, float]:
    return CITY_CENTRES.get(city_code[:4]) or PROVINCE_CENTRES.get(city_code[:2], (116.40, 39.90))


@dataclass
class DemoLayout:
    regions: dict[str, Polygon] = field(default_factory=dict)  # township and village code → polygon
    grids: dict[str, Polygon] = field(default_factory=dict)  # grid code → polygon


# township code → [(village code, [grid code, …]), …]
TownshipPlan = list[tuple[str, list[tuple[str, list[str]]]]]


def _seed(text: str) -> int:
    return zlib.crc32(text.encode())


def demo_layout(city_code: str, plan: TownshipPlan) -> DemoLayout:
    """Polygons for the townships, villages and grids of ``plan`` (see the module docstring)."""
    layout = DemoLayout()
    if not plan:
        return layout
    n = len(plan)
    cols = math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    lon, lat = city_centre(city_code)
    lattice: Lattice = make_lattice(
        x0=lon - cols * TOWNSHIP_CELLS * CELL_DEG / 2,
        y0=lat - rows * TOWNSHIP_CELLS * CELL_DEG / 2,
        dx=CELL_DEG,
        dy=CELL_DEG,
        nx=cols * TOWNSHIP_CELLS,
        ny=rows * TOWNSHIP_CELLS,
        k=2,
        seed=_seed(city_code),
    )
    lattice = Lattice(
        vertices=np.round(lattice.vertices, DECIMALS),
        h_mid=np.round(lattice.h_mid, DECIMALS),
        v_mid=np.round(lattice.v_mid, DECIMALS),
    )
    for t_index, (t_code, villages) in enumerate(plan):
        # rows from the top (north) down, like reading a map
        ti0 = (t_index % cols) * TOWNSHIP_CELLS
        tj0 = (rows - 1 - t_index // cols) * TOWNSHIP_CELLS
        ti1, tj1 = ti0 + TOWNSHIP_CELLS, tj0 + TOWNSHIP_CELLS
        layout.regions[t_code] = block_polygon(lattice, ti0, tj0, ti1, tj1)
        if not villages:
            continue
        rng = np.random.default_rng(_seed(t_code))
        v_cuts = split_points(TOWNSHIP_CELLS, len(villages), rng, min_size=MIN_GRID_CELLS)
        for (v_code, grid_codes), vi0, vi1 in zip(villages, v_cuts, v_cuts[1:], strict=False):
            layout.regions[v_code] = block_polygon(lattice, ti0 + vi0, tj0, ti0 + vi1, tj1)
            if not grid_codes:
                continue
            g_rng = np.random.default_rng(_seed(v_code))
            g_cuts = split_points(TOWNSHIP_CELLS, len(grid_codes), g_rng, min_size=MIN_GRID_CELLS)
            for g_code, gj0, gj1 in zip(grid_codes, g_cuts, g_cuts[1:], strict=False):
                layout.grids[g_code] = block_polygon(lattice, ti0 + vi0, tj0 + gj0, ti0 + vi1, tj0 + gj1)
    return layout


def geojson_text(geom: Any) -> str:
    """Compact GeoJSON text of a geometry (coordinates as stored: already rounded)."""
    return json.dumps(mapping(geom), separators=(",", ":"))


def demo_boundaries_apply(*, actor: Any, layout: DemoLayout) -> int:
    """Write the layout: ``Region.boundary_geojson`` of the townships/villages and
    ``Grid.polygon_geojson`` + bbox of the grids, only where the text differs (so a second run
    writes nothing). One ``geo.demo_boundaries`` audit row when something changed; the grid index
    is rebuilt after commit. Returns the number of rows written."""
    written = 0
    grids_written = 0
    with transaction.atomic():
        for region in Region.objects.filter(code__in=list(layout.regions)):
            text = geojson_text(layout.regions[region.code])
            if region.boundary_geojson != text:
                region.boundary_geojson = text
                region.save(update_fields=["boundary_geojson", "updated_at"])
                written += 1
        for grid in Grid.objects.filter(code__in=list(layout.grids)):
            geom = layout.grids[grid.code]
            text = geojson_text(geom)
            if grid.polygon_geojson != text:
                grid.polygon_geojson = text
                grid.min_lon, grid.min_lat, grid.max_lon, grid.max_lat = geom.bounds
                grid.save(
                    update_fields=[
                        "polygon_geojson",
                        "min_lon",
                        "min_lat",
                        "max_lon",
                        "max_lat",
                        "updated_at",
                    ]
                )
                written += 1
                grids_written += 1
        if written:
            audit_record(
                actor=actor or "system",
                action="geo.demo_boundaries",
                data={"regions": written - grids_written, "grids": grids_written},
            )
    if grids_written:
        transaction.on_commit(index.grids_changed)
    return written
