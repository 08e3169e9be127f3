"""Coordinate systems used by Chinese maps, and conversion between them. Pure functions.

* ``wgs84`` — GPS, 天地图 (CGCS2000 differs from WGS-84 by centimetres; treated as equal). **What
  the database stores.**
* ``gcj02`` — 国测局 "Mars" coordinates: Amap (高德), Tencent (腾讯), Google's China tiles.
* ``bd09``  — Baidu (百度): GCJ-02 shifted once more.

The forward formulas (WGS-84 → GCJ-02 → BD-09) are the widely published ones. The reverse
directions have no closed form; they are solved by fixed-point iteration on the forward formula
(the forward shift is a smooth map whose Jacobian is close to the identity, so the iteration
converges in a handful of steps), which makes a round trip exact to far below a centimetre
(``tests/test_coords.py`` checks < 0.01 m over China with hypothesis).

Outside China GCJ-02 equals WGS-84. "Outside" is the usual rough bounding box test
(lon 72.004–137.8347, lat 0.8293–55.8271), applied to the WGS-84 point on the way in and to the
GCJ-02 point on the way out; BD-09 is applied everywhere (Baidu's own convention).

Scalar functions take and return ``(lon, lat)`` floats; the ``*_array`` variants take numpy
arrays of longitudes and latitudes (any matching shapes) for bulk use (polygons, point layers).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Literal

import numpy as np
import numpy.typing as npt

CRS = Literal["wgs84", "gcj02", "bd09"]
CRS_CHOICES: tuple[str, ...] = ("wgs84", "gcj02", "bd09")

FloatArray = npt.NDArray[np.float64]

_A = 6378245.0  # Krasovsky 1940 semi-major axis, as the GCJ-02 formula uses it
_EE = 0.00669342162296594323  # its first eccentricity squared
_X_PI = math.pi * 3000.0 / 180.0

_CHINA_LON = (72.004, 137.8347)
_CHINA_LAT = (0.8293, 55.8271)

_TOLERANCE_DEG = 1e-12  # iteration stop: ~0.1 µm
_MAX_ITERATIONS = 30

EARTH_RADIUS_M = 6371008.8


class UnknownCRS(ValueError):
    """The coordinate system name is not one of ``CRS_CHOICES``."""


def check_crs(crs: str) -> CRS:
    value = (crs or "wgs84").strip().lower().replace("-", "")
    aliases = {"wgs84": "wgs84", "cgcs2000": "wgs84", "gcj02": "gcj02", "bd09": "bd09", "bd09ll": "bd09"}
    if value not in aliases:
        raise UnknownCRS(crs)
    return aliases[value]  # type: ignore[return-value]


# --- vectorised core -----------------------------------------------------------------------------------


def _as_arrays(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    return np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)


def out_of_china_array(lon: npt.ArrayLike, lat: npt.ArrayLike) -> npt.NDArray[np.bool_]:
    x, y = _as_arrays(lon, lat)
    return (x < _CHINA_LON[0]) | (x > _CHINA_LON[1]) | (y < _CHINA_LAT[0]) | (y > _CHINA_LAT[1])


def _shift(x: FloatArray, y: FloatArray) -> tuple[FloatArray, FloatArray]:
    """The GCJ-02 offset (dlon, dlat) in degrees at WGS-84 point (x, y)."""
    dx = x - 105.0
    dy = y - 35.0
    pi = math.pi
    dlat = -100.0 + 2.0 * dx + 3.0 * dy + 0.2 * dy * dy + 0.1 * dx * dy + 0.2 * np.sqrt(np.abs(dx))
    dlat += (20.0 * np.sin(6.0 * dx * pi) + 20.0 * np.sin(2.0 * dx * pi)) * 2.0 / 3.0
    dlat += (20.0 * np.sin(dy * pi) + 40.0 * np.sin(dy / 3.0 * pi)) * 2.0 / 3.0
    dlat += (160.0 * np.sin(dy / 12.0 * pi) + 320.0 * np.sin(dy * pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + dx + 2.0 * dy + 0.1 * dx * dx + 0.1 * dx * dy + 0.1 * np.sqrt(np.abs(dx))
    dlon += (20.0 * np.sin(6.0 * dx * pi) + 20.0 * np.sin(2.0 * dx * pi)) * 2.0 / 3.0
    dlon += (20.0 * np.sin(dx * pi) + 40.0 * np.sin(dx / 3.0 * pi)) * 2.0 / 3.0
    dlon += (150.0 * np.sin(dx / 12.0 * pi) + 300.0 * np.sin(dx / 30.0 * pi)) * 2.0 / 3.0
    radlat = y / 180.0 * pi
    magic = 1.0 - _EE * np.sin(radlat) ** 2
    sqrtmagic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrtmagic) * pi)
    dlon = (dlon * 180.0) / (_A / sqrtmagic * np.cos(radlat) * pi)
    return dlon, dlat


def wgs84_to_gcj02_array(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    x, y = _as_arrays(lon, lat)
    dlon, dlat = _shift(x, y)
    outside = out_of_china_array(x, y)
    return np.where(outside, x, x + dlon), np.where(outside, y, y + dlat)


def gcj02_to_wgs84_array(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Inverse of ``wgs84_to_gcj02_array`` by fixed-point iteration (exact to ~1e-12°)."""
    gx, gy = _as_arrays(lon, lat)
    outside = out_of_china_array(gx, gy)
    wx, wy = gx.copy(), gy.copy()
    for _ in range(_MAX_ITERATIONS):
        fx, fy = wgs84_to_gcj02_array(wx, wy)
        ex, ey = fx - gx, fy - gy
        wx = wx - ex
        wy = wy - ey
        if (
            not np.size(ex)
            or float(np.max(np.abs(np.concatenate([np.ravel(ex), np.ravel(ey)])))) < _TOLERANCE_DEG
        ):
            break
    return np.where(outside, gx, wx), np.where(outside, gy, wy)


def gcj02_to_bd09_array(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    x, y = _as_arrays(lon, lat)
    z = np.sqrt(x * x + y * y) + 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def bd09_to_gcj02_array(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Inverse of ``gcj02_to_bd09_array``: the published approximation, refined by iteration."""
    bx, by = _as_arrays(lon, lat)
    x = bx - 0.0065
    y = by - 0.006
    z = np.sqrt(x * x + y * y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    gx, gy = z * np.cos(theta), z * np.sin(theta)
    for _ in range(_MAX_ITERATIONS):
        fx, fy = gcj02_to_bd09_array(gx, gy)
        ex, ey = fx - bx, fy - by
        gx = gx - ex
        gy = gy - ey
        if (
            not np.size(ex)
            or float(np.max(np.abs(np.concatenate([np.ravel(ex), np.ravel(ey)])))) < _TOLERANCE_DEG
        ):
            break
    return gx, gy


def wgs84_to_bd09_array(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    return gcj02_to_bd09_array(*wgs84_to_gcj02_array(lon, lat))


def bd09_to_wgs84_array(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    return gcj02_to_wgs84_array(*bd09_to_gcj02_array(lon, lat))


def _identity(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    x, y = _as_arrays(lon, lat)
    return x.copy(), y.copy()


ArrayTransform = Callable[[npt.ArrayLike, npt.ArrayLike], tuple[FloatArray, FloatArray]]

_TO_WGS84: dict[str, ArrayTransform] = {
    "wgs84": _identity,
    "gcj02": gcj02_to_wgs84_array,
    "bd09": bd09_to_wgs84_array,
}
_FROM_WGS84: dict[str, ArrayTransform] = {
    "wgs84": _identity,
    "gcj02": wgs84_to_gcj02_array,
    "bd09": wgs84_to_bd09_array,
}


def to_wgs84_array(lon: npt.ArrayLike, lat: npt.ArrayLike, crs: str) -> tuple[FloatArray, FloatArray]:
    return _TO_WGS84[check_crs(crs)](lon, lat)


def from_wgs84_array(lon: npt.ArrayLike, lat: npt.ArrayLike, crs: str) -> tuple[FloatArray, FloatArray]:
    return _FROM_WGS84[check_crs(crs)](lon, lat)


def to_wgs84_xy(xy: FloatArray, crs: str) -> FloatArray:
    """An (N, 2) array of lon/lat in ``crs`` → WGS-84 (the shape ``shapely.transform`` passes)."""
    if check_crs(crs) == "wgs84":
        return xy
    x, y = to_wgs84_array(xy[:, 0], xy[:, 1], crs)
    return np.column_stack([x, y])


def from_wgs84_xy(xy: FloatArray, crs: str) -> FloatArray:
    if check_crs(crs) == "wgs84":
        return xy
    x, y = from_wgs84_array(xy[:, 0], xy[:, 1], crs)
    return np.column_stack([x, y])


# --- scalar API ------------------------------------------------------------------------------------------


def _scalar(fn: ArrayTransform, lon: float, lat: float) -> tuple[float, float]:
    x, y = fn(lon, lat)
    return float(x), float(y)


def out_of_china(lon: float, lat: float) -> bool:
    return bool(out_of_china_array(lon, lat))


def wgs84_to_gcj02(lon: float, lat: float) -> tuple[float, float]:
    return _scalar(wgs84_to_gcj02_array, lon, lat)


def gcj02_to_wgs84(lon: float, lat: float) -> tuple[float, float]:
    return _scalar(gcj02_to_wgs84_array, lon, lat)


def gcj02_to_bd09(lon: float, lat: float) -> tuple[float, float]:
    return _scalar(gcj02_to_bd09_array, lon, lat)


def bd09_to_gcj02(lon: float, lat: float) -> tuple[float, float]:
    return _scalar(bd09_to_gcj02_array, lon, lat)


def wgs84_to_bd09(lon: float, lat: float) -> tuple[float, float]:
    return _scalar(wgs84_to_bd09_array, lon, lat)


def bd09_to_wgs84(lon: float, lat: float) -> tuple[float, float]:
    return _scalar(bd09_to_wgs84_array, lon, lat)


def to_wgs84(lon: float, lat: float, crs: str) -> tuple[float, float]:
    """(lon, lat) given in ``crs`` (wgs84 | gcj02 | bd09) → WGS-84."""
    return _scalar(_TO_WGS84[check_crs(crs)], lon, lat)


def from_wgs84(lon: float, lat: float, crs: str) -> tuple[float, float]:
    """WGS-84 (lon, lat) → ``crs`` (wgs84 | gcj02 | bd09)."""
    return _scalar(_FROM_WGS84[check_crs(crs)], lon, lat)


def haversine_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance in metres (mean Earth radius)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp = p2 - p1
    dl = math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))
