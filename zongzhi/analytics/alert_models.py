"""Early warning (研判预警): configurable rules and the alerts they raise.

An ``AlertRule`` watches one region subtree for one pattern (``kind``) with its parameters; the
scan (``analytics.alerts.alerts_scan``) raises an ``Alert`` once per pattern, with its evidence
(the cases, linked through ``AlertCase``, and the figures), a level and an owner (the region whose
center must look at it). What people did about it is on record in ``AlertAction`` rows.

Imported into ``analytics.models`` (``from .alert_models import *``) so Django finds the models.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from zongzhi.core.fields import PathField
from zongzhi.orgs.models import Department, Region

__all__ = [
    "Alert",
    "AlertAction",
    "AlertCase",
    "AlertKind",
    "AlertLevel",
    "AlertRule",
    "AlertStatus",
]


class AlertKind(models.TextChoices):
    REPEAT_REPORTER = "repeat_reporter", _("同一反映人重复反映")
    REPEAT_ADDRESS = "repeat_address", _("同一地址重复反映")
    CLUSTER = "cluster", _("同类事件时空聚集")
    DISPUTE_RISK = "dispute_risk", _("高风险纠纷久未化解")
    CATEGORY_SURGE = "category_surge", _("类别事件突增")
    OVERDUE_SURGE = "overdue_surge", _("部门超期激增")


class AlertLevel(models.TextChoices):
    """Four colours, as in the national emergency-warning scale (blue lowest, red highest)."""

    BLUE = "blue", _("蓝色（一般）")
    YELLOW = "yellow", _("黄色（较重）")
    ORANGE = "orange", _("橙色（严重）")
    RED = "red", _("红色（特别严重）")


LEVEL_ORDER = {AlertLevel.BLUE: 1, AlertLevel.YELLOW: 2, AlertLevel.ORANGE: 3, AlertLevel.RED: 4}


class AlertStatus(models.TextChoices):
    NEW = "new", _("待处置")
    ACKNOWLEDGED = "acknowledged", _("已确认")
    HANDLED = "handled", _("已处置")
    FALSE_ALARM = "false_alarm", _("误报")


OPEN_ALERT_STATUSES = (AlertStatus.NEW, AlertStatus.ACKNOWLEDGED)


class AlertRule(models.Model):
    """One configured warning rule: a pattern (``kind``) with its parameters, watched in the subtree
    of ``region``. Rules are switched off (``enabled``), never deleted: alerts keep pointing at the
    rule that raised them. ``params`` are validated by ``alerts.validate_params`` for the kind."""

    scope_perm = "alert.view"

    name = models.CharField(_("名称"), max_length=100)
    kind = models.CharField(_("预警类型"), max_length=20, choices=AlertKind.choices)
    level = models.CharField(
        _("预警等级"), max_length=8, choices=AlertLevel.choices, default=AlertLevel.YELLOW
    )
    params = models.JSONField(_("参数"), default=dict, blank=True)
    enabled = models.BooleanField(_("启用"), default=True)
    region = models.ForeignKey(Region, verbose_name=_("监测区域"), on_delete=models.PROTECT, related_name="+")
    region_path = PathField(_("区域路径"), db_index=True)
    note = models.CharField(_("说明"), max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("创建人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("创建时间"))
    updated_at = models.DateTimeField(_("更新时间"))
    last_scan_at = models.DateTimeField(_("最近扫描"), null=True, blank=True)

    class Meta:
        verbose_name = _("预警规则")
        verbose_name_plural = _("预警规则")
        ordering = ["region_path", "kind", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=AlertKind.values), name="alertrule_kind_valid"),
            models.CheckConstraint(condition=Q(level__in=AlertLevel.values), name="alertrule_level_valid"),
        ]

    def __str__(self) -> str:
        return self.name


class Alert(models.Model):
    """An early warning raised by a rule, once per pattern (``fingerprint`` is unique).

    ``region_path`` is the owner's path (the region whose center must deal with it): users see the
    alerts owned in their subtree. ``evidence`` holds the figures that made the rule fire and the
    ids of the cases behind it (the same cases are linked through ``AlertCase``)."""

    scope_perm = "alert.view"

    rule = models.ForeignKey(
        AlertRule, verbose_name=_("预警规则"), on_delete=models.PROTECT, related_name="alerts"
    )
    kind = models.CharField(_("预警类型"), max_length=20, choices=AlertKind.choices)
    level = models.CharField(_("预警等级"), max_length=8, choices=AlertLevel.choices)
    title = models.CharField(_("标题"), max_length=200)
    subject_key = models.CharField(_("对象标识"), max_length=120)
    fingerprint = models.CharField(_("指纹"), max_length=200, unique=True)
    owner_region = models.ForeignKey(
        Region, verbose_name=_("责任中心区域"), on_delete=models.PROTECT, related_name="+"
    )
    region_path = PathField(_("区域路径"), db_index=True)
    department = models.ForeignKey(
        Department,
        verbose_name=_("相关部门"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    evidence = models.JSONField(_("证据"), default=dict, blank=True)
    case_count = models.PositiveIntegerField(_("涉及案件数"), default=0)
    cases = models.ManyToManyField(  # type: ignore[var-annotated]
        "cases.Case", verbose_name=_("涉及案件"), through="AlertCase", related_name="alerts"
    )
    status = models.CharField(_("状态"), max_length=14, choices=AlertStatus.choices, default=AlertStatus.NEW)
    raised_at = models.DateTimeField(_("预警时间"))
    updated_at = models.DateTimeField(_("更新时间"))
    disposed_at = models.DateTimeField(_("处置时间"), null=True, blank=True)
    disposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("处置人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    disposition_note = models.TextField(_("处置说明"), blank=True)

    class Meta:
        verbose_name = _("预警")
        verbose_name_plural = _("预警")
        ordering = ["-raised_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=AlertStatus.values), name="alert_status_valid"),
            models.CheckConstraint(condition=Q(level__in=AlertLevel.values), name="alert_level_valid"),
            models.CheckConstraint(
                condition=Q(status="new") | Q(disposed_at__isnull=False), name="alert_disposed_has_time"
            ),
        ]
        indexes = [
            models.Index(fields=["region_path", "status", "raised_at"], name="alert_scope_idx"),
            models.Index(fields=["rule", "subject_key"], name="alert_rule_subject_idx"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_ALERT_STATUSES


class AlertCase(models.Model):
    """A case in an alert's evidence."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="links")
    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="alert_links")

    class Meta:
        verbose_name = _("预警案件")
        verbose_name_plural = _("预警案件")
        constraints = [models.UniqueConstraint(fields=["alert", "case"], name="alertcase_unique")]

    def __str__(self) -> str:
        return f"{self.alert_id}:{self.case_id}"


class AlertAction(models.Model):
    """One disposition step on record: who moved the alert to which status, when, and why."""

    scope_perm = "alert.view"

    alert = models.ForeignKey(Alert, verbose_name=_("预警"), on_delete=models.CASCADE, related_name="actions")
    action = models.CharField(_("处置动作"), max_length=14)
    from_status = models.CharField(_("原状态"), max_length=14, choices=AlertStatus.choices)
    to_status = models.CharField(_("新状态"), max_length=14, choices=AlertStatus.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("处置人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    actor_label = models.CharField(_("处置人"), max_length=120, blank=True)
    at = models.DateTimeField(_("时间"))
    note = models.TextField(_("说明"), blank=True)
    region_path = PathField(_("区域路径"))

    class Meta:
        verbose_name = _("预警处置记录")
        verbose_name_plural = _("预警处置记录")
        ordering = ["alert_id", "at", "id"]

    def __str__(self) -> str:
        return f"{self.alert_id} {self.action}"
