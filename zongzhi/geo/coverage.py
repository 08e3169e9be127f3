"""Coverage check of a region's grids (网格划分：全覆盖、无缝隙), pure reads.

``coverage_report(region, unassigned=...)`` looks at the active grids in the region's subtree and
reports:

* **overlaps** — every pair of grids whose intersection is larger than
  ``ZZ_COVERAGE_MIN_OVERLAP_M2`` (default 1 m²; shared edges have zero area and never count), with
  the area and the shape;
* **gaps** — the region's boundary minus the union of its grids, in pieces larger than
  ``ZZ_COVERAGE_MIN_GAP_M2`` (default 10 m²). When the region itself has no boundary, each village
  below it that has one is checked instead; with no boundary anywhere there is nothing to check;
* **outside** — for grids whose village has a boundary, the part of the grid outside it (same
  threshold as overlaps);
* **without polygon** — active grids with no boundary at all;
* **population** — a village whose name ends with 社区 (a community, 居委会) is *urban*, any other
  village (村) is *rural*: a rural grid above ``ZZ_GRID_POP_RURAL_MAX`` (500) and an urban grid
  outside ``ZZ_GRID_POP_URBAN_MIN``–``ZZ_GRID_POP_URBAN_MAX`` (1,000–2,000) are flagged. A grid
  with population 0 is counted as "not recorded" and only flagged when urban (below the minimum);
* **unassigned points** — the located rows in the region that no grid contains. ``geo`` sits below
  the apps that own those rows, so the caller passes their coordinates in (``unassigned``).

Areas are in m² on a local equirectangular projection at the mean latitude of the region's grids
(``geojson.to_local_metres``): within a county the scale error is far below 1 %.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import shapely
from django.conf import settings
from shapely import STRtree
from shapely.geometry.base import BaseGeometry

from zongzhi.orgs.models import Grid, Region, RegionLevel
from zongzhi.orgs.paths import subtree_q
from zongzhi.orgs.scoping import visible_to

from .geojson import geometry_dict, load_geometry, reference_latitude, to_local_metres

UNASSIGNED_POINTS_DRAWN = 1000


def _setting(name: str, default: float) -> float:
    return float(getattr(settings, name, default))


def is_urban(village_name: str) -> bool:
    """社区 (community under a street office) → urban; 村 and anything else → rural."""
    return village_name.strip().endswith("社区")


@dataclass
class Overlap:
    a_id: int
    a_code: str
    b_id: int
    b_code: str
    area_m2: float
    geometry: BaseGeometry


@dataclass
class Gap:
    region_code: str
    area_m2: float
    geometry: BaseGeometry


@dataclass
class Outside:
    grid_id: int
    code: str
    village_code: str
    area_m2: float
    geometry: BaseGeometry


@dataclass
class PopulationFlag:
    grid_id: int
    code: str
    name: str
    population: int
    urban: bool
    problem: str  # "above_max" | "below_min"
    limit: int

    @property
    def message(self) -> str:
        kind = "城市社区" if self.urban else "农村"
        if self.problem == "above_max":
            return f"{kind}网格人口 {self.population} 超过上限 {self.limit}"
        return f"{kind}网格人口 {self.population} 低于下限 {self.limit}"


@dataclass
class CoverageReport:
    region_code: str
    region_name: str
    grid_count: int = 0
    checked_boundaries: list[str] = field(default_factory=list)  # codes of regions whose gaps were checked
    overlaps: list[Overlap] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)
    outside: list[Outside] = field(default_factory=list)
    without_polygon: list[str] = field(default_factory=list)
    population: list[PopulationFlag] = field(default_factory=list)
    unassigned_count: int = 0
    unassigned_points: list[tuple[float, float]] = field(default_factory=list)
    thresholds: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not (
            self.overlaps
            or self.gaps
            or self.outside
            or self.without_polygon
            or self.population
            or self.unassigned_count
        )

    @property
    def problem_count(self) -> int:
        return (
            len(self.overlaps)
            + len(self.gaps)
            + len(self.outside)
            + len(self.without_polygon)
            + len(self.population)
            + (1 if self.unassigned_count else 0)
        )

    def summary(self) -> dict[str, Any]:
        return {
            "region_code": self.region_code,
            "region_name": self.region_name,
            "ok": self.ok,
            "grid_count": self.grid_count,
            "checked_boundaries": self.checked_boundaries,
            "overlaps": [
                {"a": o.a_code, "b": o.b_code, "area_m2": round(o.area_m2, 1)} for o in self.overlaps
            ],
            "gaps": [{"region_code": g.region_code, "area_m2": round(g.area_m2, 1)} for g in self.gaps],
            "outside": [
                {"code": o.code, "village_code": o.village_code, "area_m2": round(o.area_m2, 1)}
                for o in self.outside
            ],
            "without_polygon": self.without_polygon,
            "population": [
                {
                    "code": p.code,
                    "name": p.name,
                    "population": p.population,
                    "urban": p.urban,
                    "problem": p.problem,
                    "limit": p.limit,
                }
                for p in self.population
            ],
            "unassigned_count": self.unassigned_count,
            "thresholds": self.thresholds,
        }

    def features(self, *, crs: str = "wgs84", digits: int = 6) -> list[dict[str, Any]]:
        """The offending shapes as GeoJSON features (``properties.kind``: overlap, gap, outside,
        unassigned) for drawing on the map."""
        out: list[dict[str, Any]] = []
        for o in self.overlaps:
            out.append(
                _feature(
                    o.geometry,
                    crs,
                    digits,
                    kind="overlap",
                    a=o.a_code,
                    b=o.b_code,
                    area_m2=round(o.area_m2, 1),
                )
            )
        for g in self.gaps:
            out.append(
                _feature(
                    g.geometry,
                    crs,
                    digits,
                    kind="gap",
                    region_code=g.region_code,
                    area_m2=round(g.area_m2, 1),
                )
            )
        for s in self.outside:
            out.append(
                _feature(s.geometry, crs, digits, kind="outside", code=s.code, area_m2=round(s.area_m2, 1))
            )
        for lon, lat in self.unassigned_points:
            out.append(_feature(shapely.points(lon, lat), crs, digits, kind="unassigned"))
        return out

    def lines(self) -> list[str]:
        """The report as text (the ``check_coverage`` command)."""
        rows = [f"覆盖检查 {self.region_name}（{self.region_code}）：网格 {self.grid_count} 个"]
        if self.checked_boundaries:
            rows.append(f"  已按边界检查缝隙的区划：{', '.join(self.checked_boundaries)}")
        else:
            rows.append("  区划无边界数据，未检查缝隙。")
        for o in self.overlaps:
            rows.append(f"  重叠 {o.a_code} × {o.b_code}：{o.area_m2:.1f} m²")
        for g in self.gaps:
            c = g.geometry.representative_point()
            rows.append(f"  缝隙（{g.region_code}）{g.area_m2:.1f} m²，位于 {c.x:.6f},{c.y:.6f}")
        for s in self.outside:
            rows.append(f"  网格 {s.code} 超出所属村（社区）{s.village_code} 边界 {s.area_m2:.1f} m²")
        for code in self.without_polygon:
            rows.append(f"  网格 {code} 无边界")
        for p in self.population:
            rows.append(f"  网格 {p.code} {p.name}：{p.message}")
        if self.unassigned_count:
            rows.append(f"  未入格的点位 {self.unassigned_count} 个")
        rows.append("结果：通过" if self.ok else f"结果：发现 {self.problem_count} 项问题")
        return rows


def _feature(geom: BaseGeometry, crs: str, digits: int, **props: Any) -> dict[str, Any]:
    return {"type": "Feature", "properties": props, "geometry": geometry_dict(geom, crs=crs, digits=digits)}


def _area(geom: BaseGeometry, lat0: float) -> float:
    return float(to_local_metres(geom, lat0).area) if not geom.is_empty else 0.0


def coverage_report(
    region: Region, *, unassigned: Iterable[tuple[float, float]] | None = None
) -> CoverageReport:
    """Check the grids of ``region``'s subtree (see the module docstring). ``unassigned``: the
    coordinates (WGS-84) of located rows in the region that no grid contains."""
    min_overlap = _setting("ZZ_COVERAGE_MIN_OVERLAP_M2", 1.0)
    min_gap = _setting("ZZ_COVERAGE_MIN_GAP_M2", 10.0)
    rural_max = int(_setting("ZZ_GRID_POP_RURAL_MAX", 500))
    urban_min = int(_setting("ZZ_GRID_POP_URBAN_MIN", 1000))
    urban_max = int(_setting("ZZ_GRID_POP_URBAN_MAX", 2000))
    report = CoverageReport(
        region_code=region.code,
        region_name=region.name,
        thresholds={
            "min_overlap_m2": min_overlap,
            "min_gap_m2": min_gap,
            "rural_max": rural_max,
            "urban_min": urban_min,
            "urban_max": urban_max,
        },
    )
    rows = list(
        Grid.objects.filter(subtree_q("region_path", [region.path]), is_active=True)
        .select_related("village")
        .order_by("code")
    )
    report.grid_count = len(rows)
    grids: list[Grid] = []
    geoms: list[BaseGeometry] = []
    for grid in rows:
        geom = load_geometry(grid.polygon_geojson)
        if geom is None:
            report.without_polygon.append(grid.code)
        else:
            grids.append(grid)
            geoms.append(geom)
        _check_population(report, grid, rural_max, urban_min, urban_max)

    boundary = load_geometry(region.boundary_geojson)
    lat0 = reference_latitude(geoms or ([boundary] if boundary is not None else []))

    # overlaps: candidate pairs from an STRtree, then the exact intersection
    if geoms:
        tree = STRtree(geoms)
        left, right = tree.query(geoms, predicate="intersects")
        for i, j in zip(left.tolist(), right.tolist(), strict=True):
            if i >= j:
                continue
            shared = shapely.intersection(geoms[i], geoms[j])
            area = _area(shared, lat0)
            if area > min_overlap:
                report.overlaps.append(
                    Overlap(grids[i].pk, grids[i].code, grids[j].pk, grids[j].code, area, _polygonal(shared))
                )

    # gaps: the region's boundary, else every village below it that has one
    if boundary is not None:
        targets: list[tuple[Region, BaseGeometry, list[BaseGeometry]]] = [(region, boundary, geoms)]
    else:
        targets = []
        villages = Region.objects.filter(subtree_q("path", [region.path]), level=RegionLevel.VILLAGE).exclude(
            boundary_geojson=""
        )
        for village in villages.order_by("path"):
            vgeom = load_geometry(village.boundary_geojson)
            if vgeom is not None:
                mine = [g for grid, g in zip(grids, geoms, strict=True) if grid.village_id == village.pk]
                targets.append((village, vgeom, mine))
    for target, tgeom, members in targets:
        report.checked_boundaries.append(target.code)
        covered = shapely.union_all(members) if members else None
        rest = tgeom if covered is None else shapely.difference(tgeom, covered)
        for piece in shapely.get_parts(_polygonal(rest)):
            area = _area(piece, lat0)
            if area > min_gap:
                report.gaps.append(Gap(target.code, area, piece))

    # grids outside their village's boundary
    village_shapes: dict[int, BaseGeometry | None] = {}
    for grid, geom in zip(grids, geoms, strict=True):
        if grid.village_id not in village_shapes:
            village_shapes[grid.village_id] = load_geometry(grid.village.boundary_geojson)
        vgeom = village_shapes[grid.village_id]
        if vgeom is None:
            continue
        beyond = shapely.difference(geom, vgeom)
        area = _area(beyond, lat0)
        if area > min_overlap:
            report.outside.append(Outside(grid.pk, grid.code, grid.village.code, area, _polygonal(beyond)))

    if unassigned is not None:
        points = list(unassigned)
        report.unassigned_count = len(points)
        report.unassigned_points = points[:UNASSIGNED_POINTS_DRAWN]
    report.overlaps.sort(key=lambda o: -o.area_m2)
    report.gaps.sort(key=lambda g: -g.area_m2)
    return report


def _polygonal(geom: BaseGeometry) -> BaseGeometry:
    parts = [p for p in shapely.get_parts(geom) if p.geom_type in ("Polygon", "MultiPolygon")]
    if not parts:
        return shapely.Polygon()
    return parts[0] if len(parts) == 1 else shapely.union_all(parts)


def _check_population(
    report: CoverageReport, grid: Grid, rural_max: int, urban_min: int, urban_max: int
) -> None:
    urban = is_urban(grid.village.name)
    pop = grid.population
    if urban and pop > urban_max:
        flag = PopulationFlag(grid.pk, grid.code, grid.name, pop, True, "above_max", urban_max)
    elif urban and pop < urban_min:
        flag = PopulationFlag(grid.pk, grid.code, grid.name, pop, True, "below_min", urban_min)
    elif not urban and pop > rural_max:
        flag = PopulationFlag(grid.pk, grid.code, grid.name, pop, False, "above_max", rural_max)
    else:
        return
    report.population.append(flag)


def points_outside(points: Sequence[tuple[float, float]], region: Region) -> list[tuple[float, float]]:
    """Helper for callers: the points (WGS-84) no active grid of ``region``'s subtree covers."""
    rows = Grid.objects.filter(subtree_q("region_path", [region.path]), is_active=True).exclude(
        polygon_geojson=""
    )
    geoms = [
        g for g in (load_geometry(t) for t in rows.values_list("polygon_geojson", flat=True)) if g is not None
    ]
    if not geoms or not points:
        return list(points)
    tree = STRtree(geoms)
    pts = shapely.points([p[0] for p in points], [p[1] for p in points])
    hit = tree.query(pts, predicate="intersects")[0]
    covered = set(hit.tolist())
    return [p for k, p in enumerate(points) if k not in covered]


def located_models() -> list[tuple[type[Any], str, str, str, str]]:
    """Installed models that place rows on the map (cases, houses, places, …) as
    ``(model, lon_field, lat_field, grid_field, path_field)``: those registered with
    ``zongzhi.geo.assign.register_target`` when that registry is present, else every model with
    ``lon``, ``lat``, a ``grid`` foreign key and a ``region_path`` — either way ``geo`` needs no
    import of the apps above it."""
    import importlib

    from django.apps import apps

    try:
        registry = importlib.import_module("zongzhi.geo.assign")
        targets = list(getattr(registry, "registered_targets", list)())
    except ImportError:
        targets = []
    if targets:
        return [(t.model, t.lon_field, t.lat_field, t.grid_field, t.path_field) for t in targets]
    found = []
    for model in apps.get_models():
        names = {f.name for f in model._meta.concrete_fields}
        if {"lon", "lat", "grid", "region_path"} <= names and model is not Grid:
            found.append((model, "lon", "lat", "grid", "region_path"))
    return sorted(found, key=lambda m: m[0]._meta.label)


def unassigned_points(
    region: Region, *, user: Any = None, limit: int | None = None
) -> list[tuple[float, float]]:
    """Coordinates of located rows in ``region``'s subtree that have no grid (all located models).
    With ``user``, only the rows that user may see (each model's own ``scope_perm``)."""
    points: list[tuple[float, float]] = []
    for model, lon, lat, grid, path in located_models():
        base = model._default_manager.all()
        if user is not None:
            base = visible_to(user, base)
        qs = base.filter(
            subtree_q(path, [region.path]),
            **{f"{grid}__isnull": True, f"{lon}__isnull": False, f"{lat}__isnull": False},
        ).values_list(lon, lat)
        if limit is not None:
            qs = qs[: max(0, limit - len(points))]
        points.extend((float(x), float(y)) for x, y in qs)
        if limit is not None and len(points) >= limit:
            break
    return points
