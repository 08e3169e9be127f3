"""Domain-free base models: the audit log and the working calendar."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from .fields import PathField


class AppendOnlyError(RuntimeError):
    pass


class AppendOnlyQuerySet(models.QuerySet["AuditLog"]):
    """Bulk ``update()``/``delete()`` would bypass the row-level guards below."""

    def update(self, **kwargs: Any) -> int:
        raise AppendOnlyError("audit log rows are append-only")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("audit log rows are append-only")


class AuditLog(models.Model):
    """One row per security-relevant event, chained with SM3 so that a removed or edited row is
    detectable (``verify_audit_chain``). Rows are never updated or deleted by the application; on
    PostgreSQL a trigger enforces the same in the database."""

    at = models.DateTimeField(_("时间"), db_index=True)
    # PROTECT: the actor is part of the hashed row, so a user who appears in the log is deactivated,
    # never deleted (SET_NULL would rewrite audit rows and break the chain).
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("操作人"), null=True, blank=True, on_delete=models.PROTECT
    )
    actor_username = models.CharField(_("操作人账号"), max_length=150, blank=True)
    action = models.CharField(_("操作"), max_length=64, db_index=True)
    object_type = models.CharField(_("对象类型"), max_length=64, blank=True)
    object_id = models.CharField(_("对象标识"), max_length=64, blank=True)
    object_repr = models.CharField(_("对象"), max_length=200, blank=True)
    region_path = PathField(_("区域路径"), blank=True, db_index=True)
    ip = models.GenericIPAddressField(_("来源地址"), null=True, blank=True)
    data = models.JSONField(_("详情"), default=dict, blank=True)
    prev_hash = models.CharField(_("前一条摘要"), max_length=64)
    hash = models.CharField(_("摘要"), max_length=64, unique=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        verbose_name = _("审计日志")
        verbose_name_plural = _("审计日志")
        ordering = ["-id"]
        indexes = [models.Index(fields=["object_type", "object_id"], name="audit_object_idx")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor_username} {self.action}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise AppendOnlyError("audit log rows are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise AppendOnlyError("audit log rows are append-only")


class AuditChainHead(models.Model):
    """A single row locked while appending, so the chain stays linear under concurrency."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    last_hash = models.CharField(max_length=64, default="0" * 64)

    class Meta:
        verbose_name = _("审计链头")
        verbose_name_plural = _("审计链头")


class CalendarDay(models.Model):
    """The working calendar: one row per date that differs from the weekly rule.

    A weekday listed with ``is_workday=False`` is a holiday; a weekend day listed with
    ``is_workday=True`` is a make-up workday (调休). Dates not listed follow Monday–Friday.
    """

    date = models.DateField(_("日期"), primary_key=True)
    is_workday = models.BooleanField(_("是否工作日"))
    name = models.CharField(_("名称"), max_length=64, blank=True)
    source = models.CharField(
        _("来源"), max_length=16, default="manual", choices=[("seed", _("内置")), ("manual", _("人工维护"))]
    )
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("工作日历")
        verbose_name_plural = _("工作日历")
        ordering = ["date"]

    def __str__(self) -> str:
        kind = _("工作日") if self.is_workday else _("休息日")
        return f"{self.date} {kind} {self.name}"


class BackgroundJob(models.Model):
    """Work run in the background for one user (an export, an import, a re-assignment), with its
    progress and, when it produces one, a file kept for its owner."""

    class Status(models.TextChoices):
        PENDING = "pending", _("排队中")
        RUNNING = "running", _("生成中")
        DONE = "done", _("已完成")
        FAILED = "failed", _("失败")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("申请人"), on_delete=models.CASCADE)
    kind = models.CharField(_("类型"), max_length=32)
    params = models.JSONField(_("条件"), default=dict)
    purpose = models.CharField(_("用途"), max_length=200, blank=True)
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.PENDING)
    total = models.PositiveIntegerField(_("总行数"), default=0)
    done = models.PositiveIntegerField(_("已处理"), default=0)
    file = models.FileField(_("文件"), upload_to="exports/%Y/%m/", blank=True)
    filename = models.CharField(_("文件名"), max_length=120, blank=True)
    error = models.TextField(_("错误"), blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("后台任务")
        verbose_name_plural = _("后台任务")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.kind} {self.created_at:%Y-%m-%d %H:%M}"

    @property
    def percent(self) -> int:
        return int(self.done * 100 / self.total) if self.total else (100 if self.status == "done" else 0)
