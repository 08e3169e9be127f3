"""Shapes for the geo tests: grids as squares in a small lattice near Hangzhou (WGS-84)."""

from __future__ import annotations

from typing import Any

X0, Y0, D = 120.15, 30.27, 0.004  # a cell of ~385 m × 445 m


def ring(i: int, j: int, w: int = 1, h: int = 1, dx: float = 0.0) -> list[list[float]]:
    x, y = X0 + i * D + dx, Y0 + j * D
    return [[x, y], [x + w * D, y], [x + w * D, y + h * D], [x, y + h * D], [x, y]]


def polygon(i: int, j: int, w: int = 1, h: int = 1, dx: float = 0.0) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": [ring(i, j, w, h, dx)]}


def grid_feature(code: str, geometry: dict[str, Any], name: str = "网格", **props: Any) -> dict[str, Any]:
    return {
        "type": "Feature",
        "properties": {"code": code, "name": name, "village_code": code[:12], **props},
        "geometry": geometry,
    }


def collection(*features: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": list(features), **extra}
