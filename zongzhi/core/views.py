"""Export jobs: progress and download, visible to their owner only."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from .models import BackgroundJob


def _own_job(request: HttpRequest, job_id: int) -> BackgroundJob:
    return get_object_or_404(BackgroundJob, pk=job_id, user_id=request.user.pk)


@login_required
@require_GET
def export_job(request: HttpRequest, job_id: int) -> HttpResponse:
    job = _own_job(request, job_id)
    template = "core/partials/export_progress.html" if request.htmx else "core/export_job.html"  # type: ignore[attr-defined]
    return render(request, template, {"job": job})


@login_required
@require_GET
def export_download(request: HttpRequest, job_id: int) -> HttpResponseBase:
    job = _own_job(request, job_id)
    if job.status != BackgroundJob.Status.DONE or not job.file:
        raise Http404
    return FileResponse(job.file.open("rb"), as_attachment=True, filename=job.filename or "export.xlsx")
