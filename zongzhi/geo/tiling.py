"""Plausible polygons that tile an area exactly: a jittered lattice whose shared edges are the *same*
coordinate sequences on both sides (used by the demo city and by ``bench/bench_geo.py``).

The lattice has ``(nx + 1) × (ny + 1)`` vertices, each moved by up to ``jitter`` of a cell, and every
lattice edge carries ``k`` intermediate points pushed sideways by up to ``wiggle`` of a cell, so the
edges look hand-drawn. A *block* is a rectangle of cells ``[i0, i1) × [j0, j1)``; its ring walks the
lattice edges around it, so neighbouring blocks — at any level (township, village, grid) — share
their common boundary vertex for vertex: no gaps, no overlaps, and the union of the blocks that
split a block is that block.

Pure numpy/shapely; no Django.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry import Polygon


@dataclass(frozen=True)
class Lattice:
    vertices: np.ndarray  # (nx + 1, ny + 1, 2)
    h_mid: np.ndarray  # (nx, ny + 1, k, 2): points of the edge v[i, j] → v[i + 1, j]
    v_mid: np.ndarray  # (nx + 1, ny, k, 2): points of the edge v[i, j] → v[i, j + 1]

    @property
    def nx(self) -> int:
        return int(self.vertices.shape[0]) - 1

    @property
    def ny(self) -> int:
        return int(self.vertices.shape[1]) - 1


def make_lattice(
    *,
    x0: float,
    y0: float,
    dx: float,
    dy: float,
    nx: int,
    ny: int,
    k: int = 2,
    jitter: float = 0.22,
    wiggle: float = 0.08,
    seed: int = 0,
) -> Lattice:
    """A jittered lattice of ``nx × ny`` cells of ``dx × dy`` starting at ``(x0, y0)``.

    ``jitter`` ≤ 0.25 and ``wiggle`` ≤ 0.1 keep every block a valid simple polygon."""
    rng = np.random.default_rng(seed)
    ii, jj = np.meshgrid(np.arange(nx + 1), np.arange(ny + 1), indexing="ij")
    base = np.stack([x0 + ii * dx, y0 + jj * dy], axis=-1).astype(float)
    vertices = base + rng.uniform(-jitter, jitter, size=base.shape) * np.array([dx, dy])
    t = (np.arange(1, k + 1) / (k + 1))[None, None, :, None]  # (1, 1, k, 1)
    a, b = vertices[:-1, :, None, :], vertices[1:, :, None, :]
    h_mid = a + (b - a) * t
    h_mid[..., 1] += rng.uniform(-wiggle, wiggle, size=h_mid.shape[:3]) * dy
    a, b = vertices[:, :-1, None, :], vertices[:, 1:, None, :]
    v_mid = a + (b - a) * t
    v_mid[..., 0] += rng.uniform(-wiggle, wiggle, size=v_mid.shape[:3]) * dx
    return Lattice(vertices=vertices, h_mid=h_mid, v_mid=v_mid)


def block_ring(lat: Lattice, i0: int, j0: int, i1: int, j1: int) -> np.ndarray:
    """The closed counter-clockwise ring around cells ``[i0, i1) × [j0, j1)`` (shape ``(m, 2)``)."""
    if not (0 <= i0 < i1 <= lat.nx and 0 <= j0 < j1 <= lat.ny):
        raise ValueError(f"block out of the lattice: {(i0, j0, i1, j1)}")
    v, h, w = lat.vertices, lat.h_mid, lat.v_mid
    parts: list[np.ndarray] = []
    for i in range(i0, i1):  # bottom, left → right
        parts += [v[i, j0][None], h[i, j0]]
    for j in range(j0, j1):  # right, bottom → top
        parts += [v[i1, j][None], w[i1, j]]
    for i in range(i1, i0, -1):  # top, right → left
        parts += [v[i, j1][None], h[i - 1, j1][::-1]]
    for j in range(j1, j0, -1):  # left, top → bottom
        parts += [v[i0, j][None], w[i0, j - 1][::-1]]
    parts.append(v[i0, j0][None])
    return np.concatenate(parts)


def block_polygon(lat: Lattice, i0: int, j0: int, i1: int, j1: int) -> Polygon:
    return Polygon(block_ring(lat, i0, j0, i1, j1))


def cell_polygons(lat: Lattice) -> np.ndarray:
    """Every unit cell as a polygon, vectorised; cell ``(i, j)`` is at index ``i * ny + j``."""
    v, h, w = lat.vertices, lat.h_mid, lat.v_mid
    k = h.shape[2]
    nx, ny = lat.nx, lat.ny
    parts = [
        v[:-1, :-1, None],  # bottom-left
        h[:, :-1],  # bottom
        v[1:, :-1, None],  # bottom-right
        w[1:, :, :],  # right
        v[1:, 1:, None],  # top-right
        h[:, 1:, ::-1],  # top, reversed
        v[:-1, 1:, None],  # top-left
        w[:-1, :, ::-1],  # left, reversed
        v[:-1, :-1, None],  # close
    ]
    rings = np.concatenate(parts, axis=2).reshape(nx * ny, 4 * (k + 1) + 1, 2)
    return shapely.polygons(rings)


def split_points(total: int, parts: int, rng: np.random.Generator, min_size: int = 1) -> list[int]:
    """Cut ``range(total)`` into ``parts`` consecutive runs of at least ``min_size``: the cut offsets
    ``[0, c1, …, total]``, roughly even with some randomness."""
    if parts * min_size > total:
        raise ValueError("too many parts")
    cuts = [0]
    for p in range(1, parts):
        ideal = round(total * p / parts)
        lo = max(cuts[-1] + min_size, ideal - 1)
        hi = min(total - (parts - p) * min_size, ideal + 1)
        cuts.append(int(rng.integers(lo, hi + 1)) if hi >= lo else cuts[-1] + min_size)
    cuts.append(total)
    return cuts
