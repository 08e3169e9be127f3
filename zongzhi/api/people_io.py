"""Base-data import and export through the API: templates, uploads (a background job), job status
and files, exports with a stated purpose. The same services as the web pages
(``people.imports``, ``people.exports``)."""

from __future__ import annotations

from typing import Any, Literal

from django.http import FileResponse, Http404, HttpRequest
from django.shortcuts import get_object_or_404
from ninja import File, Form, Router, Schema, Status
from ninja import UploadedFile as NinjaUploadedFile
from ninja.errors import HttpError

from zongzhi.core.audit import client_ip
from zongzhi.core.models import BackgroundJob
from zongzhi.orgs.roles import Perm
from zongzhi.orgs.scoping import user_can_anywhere
from zongzhi.people import exports, imports
from zongzhi.people.views_io import XLSX_TYPE, template_response

router = Router(tags=["people import/export"])

Entity = Literal["resident", "house", "place", "organization"]
_KINDS = (imports.IMPORT_KIND, exports.EXPORT_KIND)


class RowErrorOut(Schema):
    row: int
    column: str
    reason: str


class JobOut(Schema):
    id: int
    kind: str
    status: str
    percent: int
    entity: str
    filename: str
    created: int | None = None
    updated: int | None = None
    bad: int | None = None
    rows: int | None = None
    errors: list[RowErrorOut] = []
    error: str = ""
    file_url: str | None = None


class ExportIn(Schema):
    entity: Entity
    purpose: str
    region_code: str = ""
    grid_code: str = ""
    resident_type: str = ""
    kind: str = ""
    clear: bool = False


def _job_out(job: BackgroundJob) -> dict[str, Any]:
    result = imports.job_result(job) if job.kind == imports.IMPORT_KIND else {}
    has_file = job.status == BackgroundJob.Status.DONE and bool(job.file)
    return {
        "id": job.pk,
        "kind": job.kind,
        "status": job.status,
        "percent": job.percent,
        "entity": str(job.params.get("entity", "")),
        "filename": str(job.params.get("filename", "")) or job.filename,
        "created": result.get("created"),
        "updated": result.get("updated"),
        "bad": result.get("bad"),
        "rows": result.get("rows"),
        "errors": [
            {"row": e.row, "column": e.column, "reason": e.reason} for e in imports.iter_sample_errors(job)
        ],
        "error": job.error,
        "file_url": f"/api/v1/people/jobs/{job.pk}/file" if has_file else None,
    }


@router.get("/people/import/template", response={200: None})
def import_template(
    request: HttpRequest, entity: Entity = "resident", format: Literal["xlsx", "csv"] = "xlsx"
) -> FileResponse:
    """The import template (Chinese headers; required columns marked *) as .xlsx or .csv."""
    if not user_can_anywhere(request.user, Perm.PERSON_IMPORT):
        raise HttpError(403, "无权导入基础数据")
    return template_response(entity, format)


@router.post("/people/import", response={202: JobOut})
def import_upload(request: HttpRequest, entity: Form[Entity], file: File[NinjaUploadedFile]) -> Any:
    """Upload a .xlsx/.csv file (multipart ``file``) of ``entity`` rows: checked at once (format,
    encoding, header row → 422 on ``file``), then imported as a background job. Poll
    ``GET /people/jobs/{id}``; bad rows are listed there (first 200) and in the job's file."""
    job = imports.import_start(
        actor=request.user,  # type: ignore[arg-type]
        entity=entity,
        upload=file,
        filename=file.name or "",
    )
    job.refresh_from_db()
    return Status(202, _job_out(job))


def _own_job(request: HttpRequest, job_id: int) -> BackgroundJob:
    return get_object_or_404(BackgroundJob, pk=job_id, user_id=request.user.pk, kind__in=_KINDS)


@router.get("/people/jobs/{job_id}", response=JobOut)
def job_status(request: HttpRequest, job_id: int) -> dict[str, Any]:
    """An import or export job of the requesting user (404 for anyone else)."""
    return _job_out(_own_job(request, job_id))


@router.get("/people/jobs/{job_id}/file", response={200: None})
def job_file(request: HttpRequest, job_id: int) -> FileResponse:
    """The job's file: the error rows of an import, the workbook of an export."""
    job = _own_job(request, job_id)
    if job.status != BackgroundJob.Status.DONE or not job.file:
        raise Http404
    content_type = XLSX_TYPE if job.filename.endswith(".xlsx") else "text/csv; charset=utf-8"
    return FileResponse(
        job.file.open("rb"), as_attachment=True, filename=job.filename, content_type=content_type
    )


@router.post("/people/export", response={200: None, 202: JobOut})
def export(request: HttpRequest, payload: ExportIn) -> Any:
    """Export ``entity`` rows of the caller's ``person.export`` scope as .xlsx. ``purpose`` is
    required (422 on ``purpose``) and audited with the filters and the row count; values are masked
    unless ``clear`` is asked for and the caller holds ``person.unmask`` where the row lies. Large
    exports answer 202 with a job to poll."""
    plan, job = exports.export_start(
        actor=request.user,  # type: ignore[arg-type]
        entity=payload.entity,
        filters=exports.ExportFilters(
            region_code=payload.region_code[:12],
            grid_code=payload.grid_code[:15],
            resident_type=payload.resident_type[:16],
            kind=payload.kind[:32],
        ),
        purpose=payload.purpose,
        clear=payload.clear,
        ip=client_ip(request),
    )
    if job is not None:
        return Status(202, _job_out(job))
    return exports.export_file(plan)
