"""Grid and region boundaries as GeoJSON: parsing with validation, export, bbox, local metres.

Pure: no database. Every problem is an ``Issue`` carrying the feature's index (0-based, in the
order of ``features``), a stable ``code`` (for the API) and a Chinese ``message`` (for the UI).

Policies
--------
* **Geometry**: ``Polygon`` or ``MultiPolygon`` only; empty geometries, rings with fewer than four
  positions, non-finite numbers and positions outside lon −180…180 / lat −90…90 are rejected.
* **Coordinate order** (``[lon, lat]`` per RFC 7946): inside China longitudes lie in 73…136 and
  latitudes in 3…54 — disjoint ranges. A feature whose *every* position looks like
  ``[lat, lon]`` of a point in China is **swapped back automatically with a warning**
  (``coordinate_order_swapped``): the intent is unambiguous and rejecting it would only make the
  operator swap columns by hand. A feature that mixes both orders is **rejected**
  (``coordinate_order_mixed``): there is no safe way to guess.
* **Coordinate system**: the input CRS is the ``crs`` argument, else the collection's top-level
  ``crs`` member (a name such as ``"gcj02"``, or the legacy ``{"type": "name", "properties":
  {"name": "EPSG:4326"}}``), else WGS-84. Both given and different → the whole file is rejected.
  Geometries are converted to WGS-84 (``coords``) before any check, because that is what we store.
* **Invalid geometry** (self-intersection, bad holes, overlapping parts): repaired with
  ``shapely.make_valid`` when the repaired polygonal area differs from the area of the input by at
  most 1 % (``REPAIR_MAX_AREA_CHANGE``) — a warning ``geometry_repaired``; otherwise rejected with
  ``shapely.is_valid_reason`` (``geometry_invalid``). A bow-tie ring, whose signed area cancels
  out, is therefore rejected rather than guessed at.
* **Properties**: ``code`` 15 digits (required); ``name`` (required, ≤ 100 characters);
  ``village_code`` 12 digits, and ``code`` must start with it (optional: derived from ``code``);
  ``population`` / ``households`` integers ≥ 0 (optional, default 0). A ``code`` that appears
  twice in one file is an error on the second feature.
* **Storage**: positions rounded to 7 decimals (~1 cm) after ``shapely.set_precision`` (which keeps
  the geometry valid), exterior rings counter-clockwise.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon, mapping, shape
from shapely.geometry.base import BaseGeometry

from zongzhi.core.errors import FieldError

from .coords import EARTH_RADIUS_M, UnknownCRS, check_crs, from_wgs84_xy, to_wgs84_xy

REPAIR_MAX_AREA_CHANGE = 0.01
PRECISION_DEG = 1e-7
MAX_FEATURES = 20000

_GRID_CODE = re.compile(r"^[0-9]{15}$")
_REGION_CODE = re.compile(r"^[0-9]{12}$")
_CHINA_LON = (73.0, 136.0)
_CHINA_LAT = (3.0, 54.0)


@dataclass(frozen=True)
class Issue:
    index: int  # feature index; -1 for the collection itself
    code: str
    message: str
    field: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"index": self.index, "code": self.code, "message": self.message, "field": self.field}


class GeometryError(Exception):
    """A geometry that cannot be accepted (carries the ``Issue``)."""

    def __init__(self, issue: Issue) -> None:
        super().__init__(issue.message)
        self.issue = issue


@dataclass
class ParsedGrid:
    index: int
    code: str
    name: str
    village_code: str
    population: int
    households: int
    geometry: BaseGeometry  # WGS-84, valid, Polygon or MultiPolygon
    warnings: list[Issue] = field(default_factory=list)


@dataclass
class ParsedBoundary:
    index: int
    region_code: str
    geometry: BaseGeometry
    warnings: list[Issue] = field(default_factory=list)


@dataclass
class ParseResult:
    crs: str
    grids: list[ParsedGrid] = field(default_factory=list)
    boundaries: list[ParsedBoundary] = field(default_factory=list)
    errors: list[Issue] = field(default_factory=list)

    @property
    def warnings(self) -> list[Issue]:
        items: list[ParsedGrid] | list[ParsedBoundary] = self.grids or self.boundaries
        return [w for item in items for w in item.warnings]


# --- the collection ----------------------------------------------------------------------------------


def load_json(data: Any) -> Any:
    """``data`` as a Python object: text and bytes are decoded, anything else is returned as is."""
    if isinstance(data, bytes | bytearray):
        try:
            data = bytes(data).decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise FieldError("file", "文件不是 UTF-8 编码的 GeoJSON。", code="not_utf8") from exc
    if isinstance(data, str):
        try:
            return json.loads(data)
        except json.JSONDecodeError as exc:
            raise FieldError(
                "file", f"不是有效的 JSON：第 {exc.lineno} 行第 {exc.colno} 列附近。", code="invalid_json"
            ) from exc
    return data


def collection_crs(collection: dict[str, Any]) -> str | None:
    """The CRS a FeatureCollection declares, normalised, or None."""
    raw = collection.get("crs")
    if raw is None:
        return None
    name = raw
    if isinstance(raw, dict):
        name = (raw.get("properties") or {}).get("name", "")
    if not isinstance(name, str):
        raise FieldError("crs", "无法识别文件声明的坐标系。", code="unknown_crs")
    upper = name.upper()
    if any(token in upper for token in ("EPSG:4326", "CRS84", "EPSG::4326", "EPSG:4490", "EPSG::4490")):
        return "wgs84"
    try:
        return check_crs(name)
    except UnknownCRS as exc:
        raise FieldError("crs", f"无法识别文件声明的坐标系：{name}。", code="unknown_crs") from exc


def _features(data: Any, crs: str | None) -> tuple[list[Any], str]:
    collection = load_json(data)
    if not isinstance(collection, dict) or collection.get("type") != "FeatureCollection":
        raise FieldError("file", "文件须为 GeoJSON FeatureCollection。", code="not_feature_collection")
    features = collection.get("features")
    if not isinstance(features, list):
        raise FieldError("file", "FeatureCollection 缺少 features 数组。", code="not_feature_collection")
    if len(features) > MAX_FEATURES:
        raise FieldError("file", f"一次最多导入 {MAX_FEATURES} 个要素。", code="too_many_features")
    declared = collection_crs(collection)
    if crs is not None:
        try:
            crs = check_crs(crs)
        except UnknownCRS as exc:
            raise FieldError("crs", "坐标系须为 wgs84、gcj02 或 bd09。", code="unknown_crs") from exc
    if crs is not None and declared is not None and crs != declared:
        raise FieldError("crs", f"指定的坐标系 {crs} 与文件声明的 {declared} 不一致。", code="crs_conflict")
    return features, crs or declared or "wgs84"


def parse_grid_collection(data: Any, *, crs: str | None = None) -> ParseResult:
    """Parse a FeatureCollection of grids. Bad features go to ``errors`` (every one, with its
    index); good ones to ``grids``. Raises ``FieldError`` only when the file as a whole is
    unusable (not JSON, not a FeatureCollection, unknown or conflicting CRS)."""
    features, used_crs = _features(data, crs)
    result = ParseResult(crs=used_crs)
    seen: dict[str, int] = {}
    for index, feature in enumerate(features):
        try:
            grid = _parse_grid_feature(index, feature, used_crs)
        except GeometryError as exc:
            result.errors.append(exc.issue)
            continue
        if grid.code in seen:
            result.errors.append(
                Issue(
                    index,
                    "duplicate_code",
                    f"网格编码 {grid.code} 与第 {seen[grid.code]} 个要素重复。",
                    "code",
                )
            )
            continue
        seen[grid.code] = index
        result.grids.append(grid)
    return result


def parse_boundary_collection(data: Any, *, crs: str | None = None) -> ParseResult:
    """Parse a FeatureCollection of region boundaries (property ``region_code``, 12 digits)."""
    features, used_crs = _features(data, crs)
    result = ParseResult(crs=used_crs)
    seen: set[str] = set()
    for index, feature in enumerate(features):
        try:
            props = _properties(index, feature)
            code = _text(props.get("region_code", props.get("code")))
            if not _REGION_CODE.match(code):
                raise GeometryError(
                    Issue(index, "bad_region_code", "区划代码（region_code）须为 12 位数字。", "region_code")
                )
            if code in seen:
                raise GeometryError(Issue(index, "duplicate_code", f"区划代码 {code} 重复。", "region_code"))
            geometry, warnings = parse_geometry(feature.get("geometry"), crs=used_crs, index=index)
        except GeometryError as exc:
            result.errors.append(exc.issue)
            continue
        seen.add(code)
        result.boundaries.append(ParsedBoundary(index, code, geometry, warnings))
    return result


def _properties(index: int, feature: Any) -> dict[str, Any]:
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        raise GeometryError(Issue(index, "not_feature", "不是 GeoJSON Feature。"))
    props = feature.get("properties") or {}
    if not isinstance(props, dict):
        raise GeometryError(Issue(index, "bad_properties", "properties 须为对象。", "properties"))
    return props


def _text(value: Any) -> str:
    if value is None or isinstance(value, bool):
        return ""
    if isinstance(value, int):
        return str(value)
    return str(value).strip() if isinstance(value, str) else ""


def _count(index: int, props: dict[str, Any], name: str, label: str) -> int:
    value = props.get(name)
    if value is None or value == "":
        return 0
    if isinstance(value, bool):
        raise GeometryError(Issue(index, f"bad_{name}", f"{label}须为不小于 0 的整数。", name))
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if not isinstance(value, int) or value < 0 or value > 10_000_000:
        raise GeometryError(Issue(index, f"bad_{name}", f"{label}须为不小于 0 的整数。", name))
    return value


def _parse_grid_feature(index: int, feature: Any, crs: str) -> ParsedGrid:
    props = _properties(index, feature)
    code = _text(props.get("code"))
    if not _GRID_CODE.match(code):
        raise GeometryError(Issue(index, "bad_code", "网格编码（code）须为 15 位数字。", "code"))
    village_code = _text(props.get("village_code")) or code[:12]
    if not _REGION_CODE.match(village_code):
        raise GeometryError(
            Issue(
                index,
                "bad_village_code",
                "所属村（社区）代码（village_code）须为 12 位数字。",
                "village_code",
            )
        )
    if not code.startswith(village_code):
        raise GeometryError(
            Issue(
                index,
                "code_village_mismatch",
                f"网格编码 {code} 须以所属村（社区）代码 {village_code} 开头。",
                "code",
            )
        )
    name = _text(props.get("name"))
    if not name:
        raise GeometryError(Issue(index, "name_required", "请填写网格名称（name）。", "name"))
    if len(name) > 100:
        raise GeometryError(Issue(index, "name_too_long", "网格名称不能超过 100 个字符。", "name"))
    population = _count(index, props, "population", "人口数（population）")
    households = _count(index, props, "households", "户数（households）")
    geometry, warnings = parse_geometry(feature.get("geometry"), crs=crs, index=index)
    return ParsedGrid(index, code, name, village_code, population, households, geometry, warnings)


# --- one geometry ------------------------------------------------------------------------------------


def parse_geometry(raw: Any, *, crs: str = "wgs84", index: int = 0) -> tuple[BaseGeometry, list[Issue]]:
    """A GeoJSON Polygon/MultiPolygon (dict or text) in ``crs`` → a valid WGS-84 shapely geometry
    and the warnings raised on the way. Raises ``GeometryError`` when it cannot be accepted."""
    warnings: list[Issue] = []
    if isinstance(raw, str | bytes):
        try:
            raw = load_json(raw)
        except FieldError as exc:
            raise GeometryError(Issue(index, "invalid_json", exc.message, "geometry")) from exc
    if isinstance(raw, dict) and raw.get("type") == "Feature":
        raw = raw.get("geometry")
    if not isinstance(raw, dict):
        raise GeometryError(Issue(index, "geometry_required", "缺少几何图形（geometry）。", "geometry"))
    kind = raw.get("type")
    if kind not in ("Polygon", "MultiPolygon"):
        raise GeometryError(
            Issue(
                index, "geometry_type", f"几何类型须为 Polygon 或 MultiPolygon，而不是 {kind}。", "geometry"
            )
        )
    try:
        geom = shape(raw)
    except Exception as exc:  # shapely raises several types for malformed coordinates
        raise GeometryError(
            Issue(index, "bad_coordinates", f"坐标无法解析：{_short(exc)}。", "geometry")
        ) from exc
    if geom.is_empty:
        raise GeometryError(Issue(index, "geometry_empty", "几何图形为空。", "geometry"))
    xy = shapely.get_coordinates(geom)
    if not np.isfinite(xy).all():
        raise GeometryError(Issue(index, "bad_coordinates", "坐标中有非数值。", "geometry"))

    geom = _fix_order(geom, xy, index, warnings)
    xy = shapely.get_coordinates(geom)
    if (np.abs(xy[:, 0]) > 180).any() or (np.abs(xy[:, 1]) > 90).any():
        raise GeometryError(
            Issue(
                index, "coordinates_out_of_range", "坐标超出经度 −180…180、纬度 −90…90 的范围。", "geometry"
            )
        )
    try:
        used = check_crs(crs)
    except UnknownCRS as exc:
        raise GeometryError(Issue(index, "unknown_crs", "坐标系须为 wgs84、gcj02 或 bd09。", "crs")) from exc
    if used != "wgs84":
        geom = shapely.transform(geom, lambda a: to_wgs84_xy(a, used))
    geom = _make_valid(geom, index, warnings)
    return normalise(geom), warnings


def _short(exc: Exception) -> str:
    return str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__


def _fix_order(geom: BaseGeometry, xy: np.ndarray, index: int, warnings: list[Issue]) -> BaseGeometry:
    x, y = xy[:, 0], xy[:, 1]
    in_order = (x >= _CHINA_LON[0]) & (x <= _CHINA_LON[1]) & (y >= _CHINA_LAT[0]) & (y <= _CHINA_LAT[1])
    swapped = (y >= _CHINA_LON[0]) & (y <= _CHINA_LON[1]) & (x >= _CHINA_LAT[0]) & (x <= _CHINA_LAT[1])
    if swapped.all():
        warnings.append(
            Issue(
                index,
                "coordinate_order_swapped",
                "坐标为[纬度, 经度]顺序，已自动调换为[经度, 纬度]。",
                "geometry",
            )
        )
        return shapely.transform(geom, lambda a: a[:, ::-1].copy())
    if swapped.any() and in_order.any():
        raise GeometryError(
            Issue(index, "coordinate_order_mixed", "坐标中经纬度顺序混杂，无法判断，请检查数据。", "geometry")
        )
    return geom


def _polygonal(geom: BaseGeometry) -> BaseGeometry:
    parts = [p for p in shapely.get_parts(geom) if isinstance(p, Polygon | MultiPolygon) and not p.is_empty]
    polygons: list[Polygon] = []
    for part in parts:
        polygons.extend(part.geoms if isinstance(part, MultiPolygon) else [part])
    if not polygons:
        return Polygon()
    return polygons[0] if len(polygons) == 1 else MultiPolygon(polygons)


def _make_valid(geom: BaseGeometry, index: int, warnings: list[Issue]) -> BaseGeometry:
    if geom.is_valid:
        return geom
    reason = shapely.is_valid_reason(geom)
    repaired = _polygonal(shapely.make_valid(geom))
    if not repaired.is_valid:
        repaired = _polygonal(repaired.buffer(0))
    before, after = abs(geom.area), repaired.area
    if (
        repaired.is_empty
        or before <= 0
        or abs(after - before) > REPAIR_MAX_AREA_CHANGE * max(before, after)
        or not repaired.is_valid
    ):
        raise GeometryError(
            Issue(index, "geometry_invalid", f"几何图形无效且无法安全修复：{reason}。", "geometry")
        )
    warnings.append(Issue(index, "geometry_repaired", f"几何图形无效（{reason}），已自动修复。", "geometry"))
    return repaired


def normalise(geom: BaseGeometry) -> BaseGeometry:
    """Snap to ~1 cm (keeps validity) and orient exterior rings counter-clockwise."""
    snapped = shapely.set_precision(geom, PRECISION_DEG)
    if snapped.is_empty or not snapped.is_valid:
        snapped = geom
    snapped = _polygonal(snapped)
    return shapely.orient_polygons(snapped) if hasattr(shapely, "orient_polygons") else snapped


# --- writing -----------------------------------------------------------------------------------------


def _round(obj: Any, digits: int) -> Any:
    if isinstance(obj, float):
        return round(obj, digits)
    if isinstance(obj, list | tuple):
        return [_round(v, digits) for v in obj]
    return obj


def geometry_dict(geom: BaseGeometry, *, crs: str = "wgs84", digits: int = 7) -> dict[str, Any]:
    """A WGS-84 geometry as a GeoJSON dict in ``crs``, positions rounded to ``digits`` decimals."""
    if check_crs(crs) != "wgs84":
        geom = shapely.transform(geom, lambda a: from_wgs84_xy(a, crs))
    data = mapping(geom)
    return {"type": data["type"], "coordinates": _round(data["coordinates"], digits)}


def geometry_text(geom: BaseGeometry) -> str:
    """The stored form: compact GeoJSON geometry text, WGS-84."""
    return json.dumps(geometry_dict(geom), separators=(",", ":"))


def load_geometry(text: str) -> BaseGeometry | None:
    """Stored GeoJSON text → shapely geometry (None for empty or unreadable text)."""
    if not text:
        return None
    try:
        geom = shape(json.loads(text))
    except Exception:
        return None
    return None if geom.is_empty else geom


def bbox(geom: BaseGeometry) -> tuple[float, float, float, float]:
    """(min_lon, min_lat, max_lon, max_lat)."""
    min_lon, min_lat, max_lon, max_lat = geom.bounds
    return float(min_lon), float(min_lat), float(max_lon), float(max_lat)


def feature_collection(features: Iterable[dict[str, Any]], *, crs: str = "wgs84") -> dict[str, Any]:
    """A FeatureCollection; the ``crs`` member (a foreign member naming wgs84/gcj02/bd09) lets the
    file be imported back without stating the CRS again."""
    return {"type": "FeatureCollection", "crs": check_crs(crs), "features": list(features)}


def grid_feature(
    *,
    code: str,
    name: str,
    village_code: str,
    population: int,
    households: int,
    geometry: BaseGeometry | None,
    crs: str = "wgs84",
    extra: dict[str, Any] | None = None,
    digits: int = 7,
) -> dict[str, Any]:
    props: dict[str, Any] = {
        "code": code,
        "name": name,
        "village_code": village_code,
        "population": population,
        "households": households,
    }
    props.update(extra or {})
    return {
        "type": "Feature",
        "properties": props,
        "geometry": geometry_dict(geometry, crs=crs, digits=digits) if geometry is not None else None,
    }


# --- metres ------------------------------------------------------------------------------------------


def to_local_metres(geom: BaseGeometry, lat0: float, lon0: float = 0.0) -> BaseGeometry:
    """Project to a local equirectangular plane in metres, true scale at latitude ``lat0`` —
    area errors stay well under 1 % across a county (tens of km)."""
    kx = math.radians(1.0) * EARTH_RADIUS_M * math.cos(math.radians(lat0))
    ky = math.radians(1.0) * EARTH_RADIUS_M
    return shapely.transform(geom, lambda a: np.column_stack([(a[:, 0] - lon0) * kx, a[:, 1] * ky]))


def reference_latitude(geoms: Sequence[BaseGeometry]) -> float:
    if not geoms:
        return 0.0
    lats = [g.centroid.y for g in geoms if not g.is_empty]
    return float(sum(lats) / len(lats)) if lats else 0.0


def area_m2(geom: BaseGeometry, lat0: float | None = None) -> float:
    if geom.is_empty:
        return 0.0
    ref = geom.centroid.y if lat0 is None else lat0
    return float(to_local_metres(geom, ref).area)
