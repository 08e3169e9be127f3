"""Export a filtered case list to .xlsx: directly for small lists, as a background job for large
ones (progress shown, download link when done). Every export is audited; personal data is masked."""

from __future__ import annotations

import tempfile
from dataclasses import asdict
from datetime import date
from typing import Any, cast

from django.conf import settings
from django.core.files import File
from django.db import transaction
from django.http import FileResponse, HttpRequest
from django.http.response import HttpResponseBase
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.translation import gettext as _
from huey.contrib.djhuey import db_task

from zongzhi.core.audit import audit_record, client_ip
from zongzhi.core.crypto import decrypt
from zongzhi.core.masking import mask_name, mask_phone
from zongzhi.core.models import BackgroundJob
from zongzhi.core.tabular import write_xlsx
from zongzhi.orgs.models import User

from . import selectors

HEADERS = [
    "编号",
    "标题",
    "类型",
    "渠道",
    "分类",
    "紧急程度",
    "所在区域",
    "地址",
    "状态",
    "当前环节",
    "环节截止",
    "牵头单位",
    "反映人",
    "联系电话",
    "登记时间",
    "办结时间",
    "评价",
    "退回次数",
    "重办次数",
]


def _sync_limit() -> int:
    return int(getattr(settings, "ZZ_EXPORT_SYNC_LIMIT", 5000))


def _rows(qs: Any) -> Any:
    tz = timezone.get_current_timezone()
    for c in qs.iterator(chunk_size=2000):
        yield [
            c.number,
            c.title,
            c.get_kind_display(),
            c.get_channel_display(),
            str(c.category or ""),
            c.get_urgency_display(),
            c.region.name,
            c.address,
            c.get_state_display(),
            c.get_stage_display(),
            c.due_at.astimezone(tz).strftime("%Y-%m-%d %H:%M") if c.due_at else "",
            c.lead_department.name if c.lead_department else "",
            mask_name(decrypt(c.reporter_name_enc)) if c.reporter_name_enc else "",
            mask_phone(decrypt(c.reporter_phone_enc)) if c.reporter_phone_enc else "",
            c.created_at.astimezone(tz).strftime("%Y-%m-%d %H:%M"),
            c.resolved_at.astimezone(tz).strftime("%Y-%m-%d %H:%M") if c.resolved_at else "",
            c.get_rating_display() if c.rating else "",
            c.return_count,
            c.reopen_count,
        ]


def _filters_json(f: selectors.CaseFilters) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in asdict(f).items()}


def _filters_from_json(data: dict[str, Any]) -> selectors.CaseFilters:
    values = dict(data)
    for key in ("created_from", "created_to"):
        if values.get(key):
            values[key] = date.fromisoformat(values[key])
    return selectors.CaseFilters(**values)


def export_or_enqueue(request: HttpRequest, f: selectors.CaseFilters) -> HttpResponseBase:
    qs = selectors.case_list(request.user, f)
    total = qs.count()
    with transaction.atomic():
        audit_record(
            actor=request.user,
            action="export.cases",
            ip=client_ip(request),
            data={"filters": _filters_json(f), "rows": total},
        )
    if total <= _sync_limit():
        tmp = tempfile.TemporaryFile()  # noqa: SIM115 - FileResponse closes it
        write_xlsx(tmp, sheet="事件", headers=HEADERS, rows=_rows(qs))
        tmp.seek(0)
        name = f"cases-{timezone.localtime():%Y%m%d-%H%M}.xlsx"
        return FileResponse(
            tmp,
            as_attachment=True,
            filename=name,
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    job = BackgroundJob.objects.create(
        user=cast(User, request.user), kind="cases", params=_filters_json(f), total=total
    )
    transaction.on_commit(lambda: run_case_export(job.pk))
    return redirect("export-job", job_id=job.pk)


def _record_progress(job_id: int, done: int) -> None:
    BackgroundJob.objects.filter(pk=job_id).update(done=done)


@db_task()
def run_case_export(job_id: int) -> None:
    """The background export: re-applies the filters as the requesting user (scoping included)."""
    job = BackgroundJob.objects.get(pk=job_id)
    user = User.objects.get(pk=job.user_id)
    BackgroundJob.objects.filter(pk=job_id).update(status=BackgroundJob.Status.RUNNING)
    try:
        qs = selectors.case_list(user, _filters_from_json(job.params))
        with tempfile.TemporaryFile() as tmp:
            n = write_xlsx(
                tmp,
                sheet="事件",
                headers=HEADERS,
                rows=_rows(qs),
                progress=lambda done: _record_progress(job_id, done),
            )
            tmp.seek(0)
            name = f"cases-{timezone.localtime():%Y%m%d-%H%M}-{job_id}.xlsx"
            job.file.save(name, File(tmp), save=False)
        BackgroundJob.objects.filter(pk=job_id).update(
            status=BackgroundJob.Status.DONE,
            done=n,
            total=n,
            file=job.file.name,
            filename=name,
            finished_at=timezone.now(),
        )
    except Exception as exc:  # the job records its failure for the user; the worker keeps running
        BackgroundJob.objects.filter(pk=job_id).update(
            status=BackgroundJob.Status.FAILED, error=str(exc)[:2000], finished_at=timezone.now()
        )
        raise


def job_message(job: BackgroundJob) -> str:
    if job.status == BackgroundJob.Status.DONE:
        return _("导出完成")
    if job.status == BackgroundJob.Status.FAILED:
        return _("导出失败")
    return _("正在生成…")
