"""Export of base data (residents, houses, places, organizations) to .xlsx.

Personal data leaves the system only through here, so every export:

* needs ``person.export``; the rows are those of the user's ``person.export`` scope
  (``visible_to(user, Model, Perm.PERSON_EXPORT)``) narrowed by the filters;
* needs a stated purpose (``FieldError('purpose')`` without one);
* is audited before any byte is produced — ``people.export`` with who, the entity, the filters,
  the purpose, the row count and whether clear values were asked for;
* is **masked** (ID number ``3301**********1234``, phone ``138****5678``, names ``张*``, birth
  dates reduced to the year) unless the user asked for clear values *and* holds ``person.unmask``
  where the row lies (rows outside their unmask scope stay masked).

The columns are the import template's (``people.imports``): a clear export can be fixed and
imported back. Small exports are streamed to the browser at once; above ``ZZ_EXPORT_SYNC_LIMIT``
rows they run as a ``BackgroundJob`` (kind ``people_export``) with progress, downloaded from the
job page by the user who asked for it (``core`` export-job views).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from typing import Any, cast

from django.conf import settings
from django.core.files import File
from django.db import transaction
from django.db.models import QuerySet
from django.http import FileResponse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from huey.contrib.djhuey import db_task

from zongzhi.core.audit import audit_record
from zongzhi.core.errors import FieldError, PermissionDeniedError
from zongzhi.core.masking import mask_id_number, mask_name, mask_phone
from zongzhi.core.models import BackgroundJob
from zongzhi.core.tabular import write_xlsx
from zongzhi.orgs.models import Grid, Region, User
from zongzhi.orgs.paths import is_within
from zongzhi.orgs.roles import Perm
from zongzhi.orgs.scoping import scope_roots, user_can_anywhere, visible_to

from .imports import ENTITIES, EntitySpec, entity_spec
from .models import Resident
from .sealing import ID_NUMBER, NAME, PHONE, unseal

EXPORT_KIND = "people_export"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PURPOSE_MAX = 200


def _sync_limit() -> int:
    return int(getattr(settings, "ZZ_EXPORT_SYNC_LIMIT", 5000))


@dataclass
class ExportFilters:
    region_code: str = ""  # a region in scope: its subtree
    grid_code: str = ""
    resident_type: str = ""  # residents only
    kind: str = ""  # place / organization kind, house use


@dataclass(frozen=True)
class ExportPlan:
    """What an export will produce: the rows (scoped and filtered), whether clear values may be
    written, and where."""

    spec: EntitySpec
    queryset: QuerySet[Any]
    total: int
    clear_roots: tuple[str, ...]  # where clear values are written (empty: everything masked)


def _headers(spec: EntitySpec) -> list[str]:
    return spec.headers


def _queryset(actor: Any, spec: EntitySpec, f: ExportFilters) -> QuerySet[Any]:
    qs = visible_to(actor, spec.model, Perm.PERSON_EXPORT).select_related("region", "grid")
    if f.region_code.strip():
        region = Region.objects.filter(code=f.region_code.strip()).first()
        if region is None:
            raise FieldError("region_code", _("区划代码不存在或不在您的管辖范围内。"), code="not_found")
        qs = qs.filter(region_path__gte=region.path, region_path__lt=region.path + "~")
    if f.grid_code.strip():
        grid = Grid.objects.filter(code=f.grid_code.strip()).first()
        if grid is None:
            raise FieldError("grid_code", _("网格编码不存在或不在您的管辖范围内。"), code="not_found")
        qs = qs.filter(grid_id=grid.pk)
    if f.resident_type and spec.model is Resident:
        qs = qs.filter(resident_type=f.resident_type)
    if f.kind:
        field = {"house": "use", "place": "kind", "organization": "kind"}.get(spec.name)
        if field:
            qs = qs.filter(**{field: f.kind})
    return qs.order_by("region_path", "id")


def export_plan(
    *,
    actor: Any,
    entity: str,
    filters: ExportFilters,
    purpose: str,
    clear: bool = False,
    ip: str | None = None,
) -> ExportPlan:
    """Check the request (permission, purpose, filters), count the rows and write the
    ``people.export`` audit row. Raises ``PermissionDeniedError`` without ``person.export``,
    ``FieldError`` on ``purpose`` (missing or too long) or on a filter."""
    spec = entity_spec(entity)
    if not user_can_anywhere(actor, Perm.PERSON_EXPORT):
        raise PermissionDeniedError(_("您没有导出基础数据的权限。"), code="forbidden")
    purpose = (purpose or "").strip()
    if not purpose:
        raise FieldError("purpose", _("请填写导出用途。"), code="required")
    if len(purpose) > PURPOSE_MAX:
        raise FieldError(
            "purpose", _("导出用途不能超过%(max)d个字。") % {"max": PURPOSE_MAX}, code="too_long"
        )
    qs = _queryset(actor, spec, filters)
    total = qs.count()
    clear_roots = tuple(scope_roots(actor, Perm.PERSON_UNMASK)) if clear else ()
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="people.export",
            object_type=spec.model._meta.label_lower,
            ip=ip,
            data={
                "entity": spec.name,
                "filters": asdict(filters),
                "purpose": purpose,
                "rows": total,
                "clear_requested": clear,
                "clear": bool(clear_roots),
            },
        )
    return ExportPlan(spec=spec, queryset=qs, total=total, clear_roots=clear_roots)


# --- rows --------------------------------------------------------------------------------------------


def _date(value: Any) -> str:
    return value.isoformat() if value else ""


def _label(choices: Any, value: str) -> str:
    with translation.override("zh-hans"):
        return str(dict(choices.choices).get(value, value))


def _yes(value: bool) -> str:
    return "是" if value else "否"


def _region_code(row: Any) -> str:
    return str(row.region.code) if row.region_id else ""


def _grid_code(row: Any) -> str:
    return str(row.grid.code) if row.grid_id else ""


def _row_values(spec: EntitySpec, row: Any, clear: bool) -> list[Any]:
    from .models import HouseUse, IdType, OrganizationKind, PlaceKind, ResidentType, Sex

    def phone(token: str) -> str:
        value = unseal(token, PHONE)
        return value if clear else mask_phone(value)

    if spec.name == "resident":
        id_number = unseal(row.id_number_enc, ID_NUMBER)
        name = unseal(row.name_enc, NAME)
        return [
            _label(IdType, row.id_type),
            id_number if clear else mask_id_number(id_number),
            name if clear else mask_name(name),
            _label(Sex, row.sex),
            _date(row.birth_date) if clear else (f"{row.birth_date.year}" if row.birth_date else ""),
            row.ethnicity,
            phone(row.phone_enc),
            row.household_address,
            row.current_address,
            _label(ResidentType, row.resident_type),
            row.employment,
            _grid_code(row),
            _region_code(row),
            row.notes,
        ]
    if spec.name == "house":
        return [
            row.address,
            row.building,
            row.unit,
            row.room,
            _label(HouseUse, row.use),
            row.owner_name if clear else mask_name(row.owner_name),
            phone(row.owner_phone_enc),
            row.area_m2 if row.area_m2 is not None else "",
            row.lon if row.lon is not None else "",
            row.lat if row.lat is not None else "",
            _grid_code(row),
            _region_code(row),
            row.notes,
        ]
    if spec.name == "place":
        return [
            row.name,
            _label(PlaceKind, row.kind),
            row.address,
            row.contact_name if clear else mask_name(row.contact_name),
            phone(row.contact_phone_enc),
            _yes(row.is_key),
            row.lon if row.lon is not None else "",
            row.lat if row.lat is not None else "",
            _grid_code(row),
            _region_code(row),
            row.notes,
        ]
    return [
        row.name,
        _label(OrganizationKind, row.kind),
        row.credit_code,
        row.legal_representative if clear else mask_name(row.legal_representative),
        phone(row.contact_phone_enc),
        row.address,
        _yes(row.has_party_branch),
        row.employees if row.employees is not None else "",
        row.lon if row.lon is not None else "",
        row.lat if row.lat is not None else "",
        _grid_code(row),
        _region_code(row),
        row.notes,
    ]


def export_rows(plan: ExportPlan) -> Iterator[list[Any]]:
    """The rows of ``plan``, clear where the plan allows, masked elsewhere (decrypted one chunk at
    a time, never all in memory)."""
    roots = plan.clear_roots
    for row in plan.queryset.iterator(chunk_size=2000):
        clear = bool(roots) and any(is_within(row.region_path, root) for root in roots)
        yield _row_values(plan.spec, row, clear)


def _write(plan: ExportPlan, target: Any, progress: Callable[[int], None] | None = None) -> int:
    return write_xlsx(
        target, sheet=plan.spec.sheet, headers=_headers(plan.spec), rows=export_rows(plan), progress=progress
    )


def _filename(spec: EntitySpec, job_id: int | None = None) -> str:
    stamp = f"{timezone.localtime():%Y%m%d-%H%M}"
    return f"{spec.name}s-{stamp}{f'-{job_id}' if job_id else ''}.xlsx"


def export_start(
    *,
    actor: User,
    entity: str,
    filters: ExportFilters,
    purpose: str,
    clear: bool = False,
    ip: str | None = None,
) -> tuple[ExportPlan, BackgroundJob | None]:
    """Plan and audit the export; for more than ``ZZ_EXPORT_SYNC_LIMIT`` rows queue a
    ``BackgroundJob`` (after commit) and return it, else ``None`` (write it with ``export_file``)."""
    plan = export_plan(actor=actor, entity=entity, filters=filters, purpose=purpose, clear=clear, ip=ip)
    if plan.total <= _sync_limit():
        return plan, None
    job = BackgroundJob.objects.create(
        user=actor,
        kind=EXPORT_KIND,
        params={"entity": plan.spec.name, "filters": asdict(filters), "clear": bool(plan.clear_roots)},
        purpose=purpose.strip()[:PURPOSE_MAX],
        total=plan.total,
    )
    transaction.on_commit(lambda: run_people_export(job.pk))
    return plan, job


def export_file(plan: ExportPlan) -> FileResponse:
    """The export as a download, written to a temporary file (constant memory)."""
    tmp = tempfile.TemporaryFile()  # noqa: SIM115 - FileResponse closes it
    _write(plan, tmp)
    tmp.seek(0)
    return FileResponse(tmp, as_attachment=True, filename=_filename(plan.spec), content_type=XLSX_TYPE)


@db_task()
def run_people_export(job_id: int) -> None:
    export_run(job_id)


def export_run(job_id: int) -> None:
    """The background export: re-applies the filters as the requesting user (scope and unmask
    rights as they are now), progress every 1,000 rows, the file kept for its owner."""
    job = BackgroundJob.objects.get(pk=job_id)
    if job.status != BackgroundJob.Status.PENDING:
        return
    user = User.objects.get(pk=job.user_id)
    BackgroundJob.objects.filter(pk=job_id).update(status=BackgroundJob.Status.RUNNING)
    try:
        spec = entity_spec(str(job.params["entity"]))
        filters = ExportFilters(**cast(dict[str, Any], job.params.get("filters", {})))
        clear = bool(job.params.get("clear"))
        qs = _queryset(user, spec, filters)
        plan = ExportPlan(
            spec=spec,
            queryset=qs,
            total=job.total,
            clear_roots=tuple(scope_roots(user, Perm.PERSON_UNMASK)) if clear else (),
        )
        with tempfile.TemporaryFile() as tmp:

            def progress(done: int) -> None:
                BackgroundJob.objects.filter(pk=job_id).update(done=done)

            n = _write(plan, tmp, progress=progress)
            tmp.seek(0)
            name = _filename(spec, job_id)
            job.file.save(name, File(tmp), save=False)
        BackgroundJob.objects.filter(pk=job_id).update(
            status=BackgroundJob.Status.DONE,
            done=n,
            total=n,
            file=job.file.name,
            filename=name,
            finished_at=timezone.now(),
        )
    except Exception as exc:  # recorded for the user; the worker keeps running
        BackgroundJob.objects.filter(pk=job_id).update(
            status=BackgroundJob.Status.FAILED, error=str(exc)[:2000], finished_at=timezone.now()
        )
        raise


__all__ = [
    "ENTITIES",
    "EXPORT_KIND",
    "ExportFilters",
    "ExportPlan",
    "export_file",
    "export_plan",
    "export_start",
]
