"""Writes on geometry: importing grid polygons and region boundaries, editing one grid's boundary.

Every service takes keyword-only arguments with a required ``actor`` (``None`` only for the
installation's operator, i.e. management commands), runs in one transaction, writes its audit row
in that transaction, and after commit tells every process to rebuild its grid index
(``index.grids_changed``) and asks for the located rows to be re-assigned to grids
(``assign.reassign_enqueue``, a background job with progress) — ARCHITECTURE.md rule 1.

Validation is ``geojson.py``'s (geometry type, coordinate order, CRS, repair, properties); here we
add what needs the database: the village exists, is a village, and the actor may manage grids
there (``grid.manage``); a village the actor cannot see is reported exactly like a missing one.
Bad features are reported with their index and reason; good ones are kept (rule 6).
"""

from __future__ import annotations

import importlib
import inspect
import logging
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from zongzhi.core.audit import audit_record
from zongzhi.core.errors import FieldError, PermissionDeniedError
from zongzhi.orgs.models import Grid, Region, RegionLevel, User
from zongzhi.orgs.roles import Perm
from zongzhi.orgs.scoping import user_can
from zongzhi.orgs.services import grid_create

from . import index
from .geojson import (
    GeometryError,
    Issue,
    ParsedGrid,
    bbox,
    geometry_text,
    parse_boundary_collection,
    parse_geometry,
    parse_grid_collection,
)

log = logging.getLogger(__name__)

_AUDIT_CODES_MAX = 200


@dataclass
class ImportReport:
    """What an import did (or, with ``dry_run``, would do)."""

    crs: str
    dry_run: bool
    total: int = 0
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)
    job_id: int | None = None  # the re-assignment job (progress), when one was started

    @property
    def ok(self) -> bool:
        return not self.errors

    def as_dict(self) -> dict[str, Any]:
        return {
            "crs": self.crs,
            "dry_run": self.dry_run,
            "total": self.total,
            "created": self.created,
            "updated": self.updated,
            "errors": [e.as_dict() for e in self.errors],
            "warnings": [w.as_dict() for w in self.warnings],
            "job_id": self.job_id,
        }


def _sees(actor: User | None, perm: str, target: Any) -> bool:
    return actor is None or user_can(actor, perm, target)


def _after_grids_changed(
    actor: User | None, bbox: tuple[float, float, float, float] | None = None
) -> int | None:
    """Inside the writing transaction: after commit, bump the index version (every process
    rebuilds its STRtree), then re-assign the located rows. ``assign.reassign_enqueue`` records the
    ``BackgroundJob`` (progress) in this transaction and defers the work itself to after commit,
    so the job exists exactly when the change does. Returns the job id (None without a job)."""
    transaction.on_commit(index.grids_changed)
    try:
        assign = importlib.import_module("zongzhi.geo.assign")
    except ImportError:
        return None
    enqueue = getattr(assign, "reassign_enqueue", None)
    if enqueue is None:
        return None
    kwargs: dict[str, Any] = {"actor": actor}
    if bbox is not None and "bbox" in inspect.signature(enqueue).parameters:
        kwargs["bbox"] = bbox
    job = enqueue(**kwargs)
    return getattr(job, "pk", None)


def _union_bbox(
    a: tuple[float | None, ...], b: tuple[float, float, float, float]
) -> tuple[float, float, float, float]:
    old = [v for v in a if v is not None]
    if len(old) != 4:
        return b
    return (min(old[0], b[0]), min(old[1], b[1]), max(old[2], b[2]), max(old[3], b[3]))


def _village_for(
    actor: User | None, code: str, villages: dict[str, Region], issue_index: int
) -> Region | Issue:
    village = villages.get(code)
    if village is None or village.level != RegionLevel.VILLAGE or not _sees(actor, Perm.REGION_VIEW, village):
        return Issue(
            issue_index,
            "village_not_found",
            _("所属村（社区）%(code)s 不存在。") % {"code": code},
            "village_code",
        )
    if not _sees(actor, Perm.GRID_MANAGE, village):
        return Issue(
            issue_index,
            "forbidden",
            _("无权管理村（社区）%(code)s 的网格。") % {"code": code},
            "village_code",
        )
    return village


def grids_import(
    *, actor: User | None, data: Any, crs: str | None = "wgs84", dry_run: bool = False
) -> ImportReport:
    """Import grid polygons from a GeoJSON FeatureCollection (dict, text or bytes).

    Upsert by ``code``: a new code creates the grid through ``orgs.services.grid_create``; an
    existing one gets its polygon, bbox, name, population and households replaced. Every bad
    feature is reported (index + reason) and the good ones are written; ``dry_run`` validates
    everything and writes nothing. One ``grids.import`` audit row (plus ``grid.create`` rows for
    the new grids). Raises ``FieldError`` when the file as a whole is unusable.
    ``crs`` ``None`` means: what the file declares, else WGS-84."""
    parsed = parse_grid_collection(data, crs=crs if crs else None)
    report = ImportReport(
        crs=parsed.crs,
        dry_run=dry_run,
        total=len(parsed.grids) + len(parsed.errors),
        errors=list(parsed.errors),
        warnings=parsed.warnings,
    )
    villages = {r.code: r for r in Region.objects.filter(code__in={g.village_code for g in parsed.grids})}
    existing = {
        g.code: g
        for g in Grid.objects.select_related("village").filter(code__in=[p.code for p in parsed.grids])
    }
    good: list[tuple[ParsedGrid, Region]] = []
    for item in parsed.grids:
        village = _village_for(actor, item.village_code, villages, item.index)
        if isinstance(village, Issue):
            report.errors.append(village)
            continue
        current = existing.get(item.code)
        if current is not None and current.village_id != village.pk:
            report.errors.append(
                Issue(item.index, "code_village_mismatch", _("网格编码已属于其他村（社区）。"), "code")
            )
            continue
        good.append((item, village))
    report.errors.sort(key=lambda e: e.index)
    if dry_run:
        for item, _village in good:
            (report.updated if item.code in existing else report.created).append(item.code)
        return report
    with transaction.atomic():
        for item, village in good:
            text = geometry_text(item.geometry)
            box = bbox(item.geometry)
            current = existing.get(item.code)
            if current is None:
                grid_create(
                    actor=actor,
                    village=village,
                    name=item.name,
                    code=item.code,
                    population=item.population,
                    households=item.households,
                    polygon_geojson=text,
                    bbox=box,
                )
                report.created.append(item.code)
            else:
                _write_polygon(current, text, box)
                current.name = item.name
                current.population = item.population
                current.households = item.households
                current.save(
                    update_fields=[
                        "name",
                        "population",
                        "households",
                        "polygon_geojson",
                        "min_lon",
                        "min_lat",
                        "max_lon",
                        "max_lat",
                        "updated_at",
                    ]
                )
                report.updated.append(item.code)
        audit_record(
            actor=actor or "system",
            action="grids.import",
            object_type="orgs.grid",
            data={
                "crs": report.crs,
                "total": report.total,
                "created": len(report.created),
                "updated": len(report.updated),
                "errors": len(report.errors),
                "codes": (report.created + report.updated)[:_AUDIT_CODES_MAX],
            },
        )
        if report.created or report.updated:
            report.job_id = _after_grids_changed(actor)
    return report


def _write_polygon(grid: Grid, text: str, box: tuple[float, float, float, float]) -> None:
    grid.polygon_geojson = text
    grid.min_lon, grid.min_lat, grid.max_lon, grid.max_lat = box


@dataclass
class BoundaryResult:
    grid: Grid
    warnings: list[Issue]
    job_id: int | None = None  # the re-assignment job (progress)


def grid_boundary_set(*, actor: User | None, grid: Grid, geojson: Any, crs: str = "wgs84") -> BoundaryResult:
    """Replace one grid's boundary (the browser editor, ``PUT /grids/{id}/boundary``). Same checks
    as the import; returns the grid, the warnings (e.g. repaired, swapped) and the id of the
    re-assignment job, which covers the union of the old and new bounding boxes. Raises ``FieldError`` (field ``geometry``,
    the reason's code) when the shape cannot be accepted, ``PermissionDeniedError`` without
    ``grid.manage`` on the grid. Audited as ``grid.boundary_set``."""
    if actor is not None and not user_can(actor, Perm.GRID_MANAGE, grid):
        raise PermissionDeniedError(_("无权修改该网格的边界。"), code="forbidden", perm=Perm.GRID_MANAGE)
    try:
        geom, warnings = parse_geometry(geojson, crs=crs)
    except GeometryError as exc:
        raise FieldError(exc.issue.field or "geometry", exc.issue.message, code=exc.issue.code) from exc
    text = geometry_text(geom)
    box = bbox(geom)
    with transaction.atomic():
        locked = Grid.objects.select_for_update().get(pk=grid.pk)
        previous_bbox = [locked.min_lon, locked.min_lat, locked.max_lon, locked.max_lat]
        _write_polygon(locked, text, box)
        locked.save(
            update_fields=["polygon_geojson", "min_lon", "min_lat", "max_lon", "max_lat", "updated_at"]
        )
        audit_record(
            actor=actor or "system",
            action="grid.boundary_set",
            obj=locked,
            data={
                "crs": crs,
                "bbox": list(box),
                "previous_bbox": previous_bbox,
                "warnings": [w.code for w in warnings],
            },
        )
        job_id = _after_grids_changed(actor, _union_bbox(tuple(previous_bbox), box))
    _write_polygon(grid, text, box)
    grid.updated_at = locked.updated_at
    return BoundaryResult(grid, warnings, job_id)


def regions_boundary_import(
    *, actor: User | None, data: Any, crs: str | None = "wgs84", dry_run: bool = False
) -> ImportReport:
    """Set ``Region.boundary_geojson`` of villages/townships (any level) from a FeatureCollection
    whose features carry ``region_code``. Needs ``region.manage`` over each region; a region the
    actor cannot see is reported as missing. One ``regions.boundary_import`` audit row."""
    parsed = parse_boundary_collection(data, crs=crs if crs else None)
    report = ImportReport(
        crs=parsed.crs,
        dry_run=dry_run,
        total=len(parsed.boundaries) + len(parsed.errors),
        errors=list(parsed.errors),
        warnings=parsed.warnings,
    )
    regions = {r.code: r for r in Region.objects.filter(code__in=[b.region_code for b in parsed.boundaries])}
    good = []
    for item in parsed.boundaries:
        region = regions.get(item.region_code)
        if region is None or not _sees(actor, Perm.REGION_VIEW, region):
            report.errors.append(
                Issue(
                    item.index,
                    "region_not_found",
                    _("区划 %(code)s 不存在。") % {"code": item.region_code},
                    "region_code",
                )
            )
            continue
        if not _sees(actor, Perm.REGION_MANAGE, region):
            report.errors.append(
                Issue(
                    item.index,
                    "forbidden",
                    _("无权修改区划 %(code)s 的边界。") % {"code": item.region_code},
                    "region_code",
                )
            )
            continue
        good.append((item, region))
    report.errors.sort(key=lambda e: e.index)
    report.updated = [item.region_code for item, _region in good]
    if dry_run or not good:
        return report
    with transaction.atomic():
        for item, region in good:
            region.boundary_geojson = geometry_text(item.geometry)
            region.save(update_fields=["boundary_geojson", "updated_at"])
        audit_record(
            actor=actor or "system",
            action="regions.boundary_import",
            object_type="orgs.region",
            data={
                "crs": report.crs,
                "updated": report.updated[:_AUDIT_CODES_MAX],
                "errors": len(report.errors),
            },
        )
    return report
