"""Assigning located rows (cases, houses, places …) to the grid that contains them.

- ``assign_points(lons, lats)``: vectorised point → grid id (``-1`` for no grid). Same answers as
  ``GridIndex.lookup``: among the grids that *cover* a point (boundary included) the smallest grid
  code wins (the tie rule of ``zongzhi.geo.index``); a point in a hole is covered only by the grid
  filling the hole, if there is one.
- A registry of *targets*: apps above ``geo`` (which ``geo`` must not import) register the models
  that carry a location and a grid — ``register_target("cases.case", lon_field="lon", …)`` in their
  ``AppConfig.ready()``.
- ``reassign_enqueue(actor=…)``: after boundaries changed, re-assign every located row of every
  target as a background job with progress (``BackgroundJob`` kind ``reassign``; the work is
  ``zongzhi.geo.tasks.run_reassign``). Only rows whose grid changed are written, compare-and-set
  on the grid they had when read, so running it twice changes nothing the second time.
- ``unassigned(label, region_path)``: the located rows in a region subtree that no grid contains.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from django.apps import apps
from django.db import transaction
from django.db.models import Model, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from zongzhi.core.audit import audit_record
from zongzhi.core.errors import PermissionDeniedError
from zongzhi.core.models import BackgroundJob

from .index import GridIndex, current_index

NO_GRID = -1
REASSIGN_KIND = "reassign"
BATCH_SIZE = 2000


# --- the vectorised lookup -----------------------------------------------------------------------


def assign_points(
    lons: Sequence[float] | np.ndarray, lats: Sequence[float] | np.ndarray, index: GridIndex | None = None
) -> np.ndarray:
    """Grid id for each (lon, lat) in WGS-84 — an ``int64`` array, ``-1`` where no grid covers the
    point (or the coordinates are missing/not finite).

    One ``STRtree.query(points, predicate="intersects")`` gives every (point, grid) pair that
    touches; the tie rule keeps, per point, the grid of smallest code (its rank in code order)."""
    index = index if index is not None else current_index()
    x = np.asarray(lons, dtype=float).ravel()
    y = np.asarray(lats, dtype=float).ravel()
    if x.shape != y.shape:
        raise ValueError("lons and lats differ in length")
    out = np.full(len(x), NO_GRID, dtype=np.int64)
    if index.tree is None or len(x) == 0:
        return out
    ok = np.isfinite(x) & np.isfinite(y)
    where = None if ok.all() else np.flatnonzero(ok)
    points = shapely.points(x, y) if where is None else shapely.points(x[where], y[where])
    point_i, tree_i = index.tree.query(points, predicate="intersects")
    if len(point_i) == 0:
        return out
    rank = index.rank[tree_i]
    best = np.full(len(points), np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(best, point_i, rank)  # the tie rule: smallest code among the covering grids
    hit = np.flatnonzero(best != np.iinfo(np.int64).max)
    ids = index.id_by_rank[best[hit]]
    out[hit if where is None else where[hit]] = ids
    return out


def brute_force_assign(
    lons: Sequence[float] | np.ndarray,
    lats: Sequence[float] | np.ndarray,
    geometries: Sequence[Any],
    ids: Sequence[int],
    codes: Sequence[str],
) -> np.ndarray:
    """The reference answer without a spatial index: every polygon checks the points in its
    bounding box with ``covers``; the smallest code wins. For tests and benchmarks."""
    x = np.asarray(lons, dtype=float)
    y = np.asarray(lats, dtype=float)
    order = np.argsort(x, kind="stable")
    xs = x[order]
    best_code: list[str | None] = [None] * len(x)
    out = np.full(len(x), NO_GRID, dtype=np.int64)
    bounds = shapely.bounds(np.asarray(geometries, dtype=object))
    for geom, gid, code, (x0, y0, x1, y1) in zip(geometries, ids, codes, bounds, strict=True):
        lo, hi = np.searchsorted(xs, x0, side="left"), np.searchsorted(xs, x1, side="right")
        cand = order[lo:hi]
        cand = cand[(y[cand] >= y0) & (y[cand] <= y1)]
        if len(cand) == 0:
            continue
        inside = cand[shapely.covers(geom, shapely.points(x[cand], y[cand]))]
        for i in inside.tolist():
            current = best_code[i]
            if current is None or code < current:
                best_code[i] = code
                out[i] = gid
    return out


# --- the registry of located models --------------------------------------------------------------


@dataclass(frozen=True)
class AssignTarget:
    """A model whose rows carry a location and the grid containing it."""

    label: str  # "app_label.modelname", lower case
    lon_field: str
    lat_field: str
    grid_field: str  # a ForeignKey to orgs.Grid (null=True)
    path_field: str = "region_path"

    @property
    def model(self) -> type[Model]:
        return apps.get_model(self.label)

    @property
    def grid_attname(self) -> str:
        return str(self.model._meta.get_field(self.grid_field).attname)  # type: ignore[union-attr]

    def located(self) -> QuerySet[Any]:
        return self.model._default_manager.filter(
            **{f"{self.lon_field}__isnull": False, f"{self.lat_field}__isnull": False}
        )


_targets: dict[str, AssignTarget] = {}


def register_target(
    label: str,
    *,
    lon_field: str = "lon",
    lat_field: str = "lat",
    grid_field: str = "grid",
    path_field: str = "region_path",
) -> AssignTarget:
    """Register a located model (call from ``AppConfig.ready()``; registering again replaces)."""
    target = AssignTarget(label.lower(), lon_field, lat_field, grid_field, path_field)
    _targets[target.label] = target
    return target


def registered_targets() -> list[AssignTarget]:
    return [_targets[label] for label in sorted(_targets)]


def target_for(label: str) -> AssignTarget:
    try:
        return _targets[label.lower()]
    except KeyError:
        raise LookupError(f"no located model registered as {label!r}") from None


def unassigned(label: str, region_path: str) -> QuerySet[Any]:
    """Located rows of ``label`` in the subtree of ``region_path`` that no grid contains (flagged
    "unassigned"; listed for the grid administrators to draw or fix a boundary)."""
    from zongzhi.orgs.paths import subtree_q

    target = target_for(label)
    return (
        target.located()
        .filter(**{f"{target.grid_field}__isnull": True})
        .filter(subtree_q(target.path_field, [region_path]))
        .order_by("pk")
    )


# --- re-assignment -------------------------------------------------------------------------------


def reassign_enqueue(
    *, actor: Any, bbox: tuple[float, float, float, float] | None = None
) -> BackgroundJob | None:
    """Queue the re-assignment of every located row of every registered model (after grid
    boundaries changed). ``bbox`` (min lon, min lat, max lon, max lat) limits it to rows located
    there — pass the union of the old and new boundaries' boxes. Needs ``grid.manage`` somewhere;
    the computation itself is not scoped (a row's grid is a fact of geometry).

    Returns the ``BackgroundJob`` whose ``done``/``total`` show the progress, or ``None`` when
    ``actor`` is None (the installation's operator: the task runs without a progress record). The
    task is enqueued after commit; one ``geo.reassign`` audit row is written."""
    from zongzhi.orgs.roles import Perm
    from zongzhi.orgs.scoping import user_can_anywhere

    from .tasks import run_reassign

    if actor is not None and not user_can_anywhere(actor, Perm.GRID_MANAGE):
        raise PermissionDeniedError(_("无权执行此操作。"), code="forbidden", perm=Perm.GRID_MANAGE)
    params: dict[str, Any] = {"bbox": list(bbox) if bbox else None}
    with transaction.atomic():
        job = None
        if actor is not None:
            total = sum(_rows(t, bbox).count() for t in registered_targets())
            job = BackgroundJob.objects.create(user=actor, kind=REASSIGN_KIND, params=params, total=total)
        audit_record(
            actor=actor or "system",
            action="geo.reassign",
            object_type="core.backgroundjob" if job else "",
            object_id=str(job.pk) if job else "",
            data=params,
        )
    job_id = job.pk if job else None
    transaction.on_commit(lambda: run_reassign(job_id, bbox))
    return job


def _rows(target: AssignTarget, bbox: Sequence[float] | None) -> QuerySet[Any]:
    qs = target.located()
    if bbox:
        x0, y0, x1, y1 = bbox
        qs = qs.filter(
            Q(**{f"{target.lon_field}__gte": x0, f"{target.lon_field}__lte": x1})
            & Q(**{f"{target.lat_field}__gte": y0, f"{target.lat_field}__lte": y1})
        )
    return qs


@dataclass
class ReassignResult:
    seen: int = 0
    changed: int = 0
    unassigned: int = 0
    lost_races: int = 0  # rows changed by someone else between read and write


def reassign_rows(
    *,
    index: GridIndex | None = None,
    bbox: Sequence[float] | None = None,
    batch_size: int = BATCH_SIZE,
    progress: Any = None,
) -> dict[str, ReassignResult]:
    """The work of the re-assignment job (``tasks.run_reassign``), per registered model: walk the
    located rows by primary key in batches, compute their grids with ``assign_points`` and write
    only the changed ones, grouped by (old grid, new grid), each update guarded by the old value
    (compare-and-set). ``progress(done)`` is called after every batch."""
    index = index if index is not None else current_index()
    results: dict[str, ReassignResult] = {}
    done = 0
    for target in registered_targets():
        result = results[target.label] = ReassignResult()
        grid_col = target.grid_attname
        qs = _rows(target, bbox).order_by("pk")
        last_pk: Any = None
        while True:
            page = qs if last_pk is None else qs.filter(pk__gt=last_pk)
            rows = list(page.values_list("pk", target.lon_field, target.lat_field, grid_col)[:batch_size])
            if not rows:
                break
            last_pk = rows[-1][0]
            new = assign_points([r[1] for r in rows], [r[2] for r in rows], index)
            groups: dict[tuple[int | None, int | None], list[Any]] = defaultdict(list)
            for (pk, _lon, _lat, old), grid in zip(rows, new.tolist(), strict=True):
                grid_id = None if grid == NO_GRID else grid
                if grid_id != old:
                    groups[(old, grid_id)].append(pk)
            result.seen += len(rows)
            result.unassigned += int((new == NO_GRID).sum())
            with transaction.atomic():
                for (old, grid_id), pks in groups.items():
                    guard: dict[str, Any] = {f"{grid_col}__isnull": True} if old is None else {grid_col: old}
                    n = target.model._default_manager.filter(pk__in=pks, **guard).update(
                        **{grid_col: grid_id}
                    )
                    result.changed += n
                    result.lost_races += len(pks) - n
            done += len(rows)
            if progress is not None:
                progress(done)
    return results


def run_reassign_job(job_id: int | None, bbox: Sequence[float] | None = None) -> dict[str, ReassignResult]:
    """Run the re-assignment, keeping the job's status and progress up to date."""
    jobs = BackgroundJob.objects.filter(pk=job_id) if job_id is not None else BackgroundJob.objects.none()
    total = sum(_rows(t, bbox).count() for t in registered_targets())
    jobs.update(status=BackgroundJob.Status.RUNNING, total=total, done=0)
    try:
        results = reassign_rows(bbox=bbox, progress=lambda done: jobs.update(done=done))
    except Exception as exc:  # recorded for the user; the worker keeps running
        jobs.update(status=BackgroundJob.Status.FAILED, error=str(exc)[:2000], finished_at=timezone.now())
        raise
    summary = {label: vars(r) for label, r in results.items()}
    job = jobs.first()
    if job is not None:
        params = dict(job.params)
        params["result"] = summary
        seen = sum(r.seen for r in results.values())
        jobs.update(
            status=BackgroundJob.Status.DONE,
            done=seen,
            total=seen,
            params=params,
            finished_at=timezone.now(),
        )
    return results
