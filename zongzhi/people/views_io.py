"""Import and export pages for base data: upload a file (a background job with progress), download
the template and the error file; export with a stated purpose. Thin: the work is in
``people.imports`` and ``people.exports``."""

from __future__ import annotations

import io
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from zongzhi.core.audit import client_ip
from zongzhi.core.errors import DomainError, FieldError
from zongzhi.core.models import BackgroundJob
from zongzhi.orgs.roles import Perm
from zongzhi.orgs.scoping import user_can_anywhere

from . import exports, imports
from .models import HouseUse, OrganizationKind, PlaceKind, ResidentType

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
RECENT_JOBS = 10


def _require_anywhere(user: Any, perm: str) -> None:
    if not user_can_anywhere(user, perm):
        raise Http404


def _entities() -> list[tuple[str, str]]:
    return [(name, str(spec.label)) for name, spec in imports.ENTITIES.items()]


def _entity(value: str | None) -> str:
    return value if value in imports.ENTITIES else "resident"


def template_response(entity: str, fmt: str) -> FileResponse:
    """The import template of ``entity`` as .xlsx (default) or .csv."""
    spec = imports.entity_spec(entity)
    buf = io.BytesIO()
    if fmt == "csv":
        imports.template_csv(spec, buf)
        content_type, ext = "text/csv; charset=utf-8", "csv"
    else:
        imports.template_xlsx(spec, buf)
        content_type, ext = XLSX_TYPE, "xlsx"
    buf.seek(0)
    return FileResponse(
        buf, as_attachment=True, filename=f"{spec.sheet}导入模板.{ext}", content_type=content_type
    )


@login_required
@require_http_methods(["GET", "POST"])
def import_page(request: HttpRequest) -> HttpResponse:
    _require_anywhere(request.user, Perm.PERSON_IMPORT)
    entity = _entity(request.POST.get("entity") or request.GET.get("entity"))
    errors: dict[str, str] = {}
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
            errors["file"] = _("请选择要导入的文件（.xlsx 或 .csv）。")
        else:
            try:
                job = imports.import_start(
                    actor=request.user,  # type: ignore[arg-type]
                    entity=entity,
                    upload=upload,
                    filename=upload.name or "",
                )
            except FieldError as exc:
                errors[exc.field] = str(exc.message)
            except DomainError as exc:
                errors["file"] = str(exc.message)
            else:
                return redirect("people-import-job", job_id=job.pk)
    jobs = BackgroundJob.objects.filter(user_id=request.user.pk or 0, kind=imports.IMPORT_KIND).order_by(
        "-created_at"
    )[:RECENT_JOBS]
    spec = imports.entity_spec(entity)
    context = {
        "entity": entity,
        "entities": _entities(),
        "spec": spec,
        "required": [c.header for c in spec.columns if c.required],
        "errors": errors,
        "jobs": jobs,
        "labels": dict(_entities()),
    }
    return render(request, "people/import.html", context, status=422 if errors else 200)


@login_required
@require_GET
def import_template(request: HttpRequest) -> FileResponse:
    _require_anywhere(request.user, Perm.PERSON_IMPORT)
    return template_response(_entity(request.GET.get("entity")), request.GET.get("format", "xlsx"))


def _own_import(request: HttpRequest, job_id: int) -> BackgroundJob:
    return get_object_or_404(BackgroundJob, pk=job_id, user_id=request.user.pk, kind=imports.IMPORT_KIND)


@login_required
@require_GET
def import_job(request: HttpRequest, job_id: int) -> HttpResponse:
    job = _own_import(request, job_id)
    result = imports.job_result(job)
    context = {
        "job": job,
        "result": result,
        "errors": list(imports.iter_sample_errors(job)),
        "entity_label": dict(_entities()).get(str(job.params.get("entity", "")), ""),
        "filename": job.params.get("filename", ""),
    }
    template = "people/import_progress.html" if request.htmx else "people/import_job.html"  # type: ignore[attr-defined]
    return render(request, template, context)


@login_required
@require_GET
def import_errors(request: HttpRequest, job_id: int) -> HttpResponseBase:
    job = _own_import(request, job_id)
    if job.status != BackgroundJob.Status.DONE or not job.file:
        raise Http404
    ext = job.filename.rsplit(".", 1)[-1] if job.filename else "xlsx"
    content_type = XLSX_TYPE if ext == "xlsx" else "text/csv; charset=utf-8"
    return FileResponse(
        job.file.open("rb"),
        as_attachment=True,
        filename=job.filename or "errors.xlsx",
        content_type=content_type,
    )


def _filters(data: Any) -> exports.ExportFilters:
    return exports.ExportFilters(
        region_code=str(data.get("region_code", ""))[:12],
        grid_code=str(data.get("grid_code", ""))[:15],
        resident_type=data.get("resident_type", "")
        if data.get("resident_type") in ResidentType.values
        else "",
        kind=str(data.get("kind", ""))[:32],
    )


@login_required
@require_http_methods(["GET", "POST"])
def export_page(request: HttpRequest) -> HttpResponseBase:
    _require_anywhere(request.user, Perm.PERSON_EXPORT)
    data = request.POST if request.method == "POST" else request.GET
    entity = _entity(data.get("entity"))
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            plan, job = exports.export_start(
                actor=request.user,  # type: ignore[arg-type]
                entity=entity,
                filters=_filters(data),
                purpose=data.get("purpose", ""),
                clear=data.get("clear") == "1",
                ip=client_ip(request),
            )
        except FieldError as exc:
            errors[exc.field] = str(exc.message)
        except DomainError as exc:
            errors["purpose"] = str(exc.message)
        else:
            if job is not None:
                return redirect("export-job", job_id=job.pk)
            return exports.export_file(plan)
    kinds = {"house": HouseUse.choices, "place": PlaceKind.choices, "organization": OrganizationKind.choices}
    context = {
        "entity": entity,
        "entities": _entities(),
        "errors": errors,
        "query": {
            k: data.get(k, "") for k in ("region_code", "grid_code", "resident_type", "kind", "purpose")
        },
        "clear": data.get("clear") == "1",
        "may_unmask": user_can_anywhere(request.user, Perm.PERSON_UNMASK),
        "resident_types": ResidentType.choices,
        "kinds": kinds.get(entity, []),
    }
    return render(request, "people/export.html", context, status=422 if errors else 200)
