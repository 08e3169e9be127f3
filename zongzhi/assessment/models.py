"""Assessment (考核): plans with their indicators (weight, target, scoring curve), and bulletins (通报).

Scores are not stored: they are computed from the facts when asked (``assessment.selectors``),
except in a bulletin, which keeps the snapshot it was generated from so that a published ranking
never changes afterwards.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from zongzhi.core.fields import PathField
from zongzhi.orgs.models import Region

from .formulas import CURVES, INDICATORS


class SubjectKind(models.TextChoices):
    REGION = "region", _("下级区域")
    DEPARTMENT = "department", _("职能部门")
    GRID = "grid", _("网格")
    GRID_WORKER = "grid_worker", _("网格员")


class PeriodKind(models.TextChoices):
    MONTH = "month", _("月度")
    QUARTER = "quarter", _("季度")
    YEAR = "year", _("年度")
    CUSTOM = "custom", _("自定义")


class Curve(models.TextChoices):
    LINEAR = "linear", _("线性")
    STEP = "step", _("达标制")
    PROPORTIONAL = "proportional", _("比例制")


INDICATOR_CHOICES = [(code, ind.name) for code, ind in INDICATORS.items()]
assert set(Curve.values) == set(CURVES)


class AssessmentPlan(models.Model):
    """An assessment plan (考核方案) of one region's center: whom it assesses (the region's
    sub-regions, its departments, its grids or its grid workers) on which indicators."""

    scope_perm = "assessment.view"

    name = models.CharField(_("方案名称"), max_length=100)
    region = models.ForeignKey(
        Region, verbose_name=_("考核单位区域"), on_delete=models.PROTECT, related_name="+"
    )
    region_path = PathField(_("区域路径"), db_index=True)
    subject_kind = models.CharField(_("考核对象"), max_length=12, choices=SubjectKind.choices)
    period_kind = models.CharField(
        _("考核周期"), max_length=8, choices=PeriodKind.choices, default=PeriodKind.MONTH
    )
    is_active = models.BooleanField(_("启用"), default=True)
    note = models.TextField(_("说明"), blank=True)
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

    class Meta:
        verbose_name = _("考核方案")
        verbose_name_plural = _("考核方案")
        ordering = ["region_path", "name"]
        constraints = [
            models.UniqueConstraint(fields=["region", "name"], name="plan_unique_name_in_region"),
            models.CheckConstraint(
                condition=Q(subject_kind__in=SubjectKind.values), name="plan_subject_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class PlanIndicator(models.Model):
    """One KPI of a plan (考评清单 item) with its weight, target and scoring curve.

    ``target`` and ``zero_at`` are fractions for rates (0.95 = 95 %) and counts for counts;
    ``zero_at`` is the value scoring 0 on the linear curve (empty: ``formulas.default_zero_at``)."""

    scope_perm = "assessment.view"
    scope_field = "plan__region_path"

    plan = models.ForeignKey(
        AssessmentPlan, verbose_name=_("考核方案"), on_delete=models.CASCADE, related_name="indicators"
    )
    code = models.CharField(_("指标"), max_length=32, choices=INDICATOR_CHOICES)
    weight = models.FloatField(_("权重（分值）"))
    target = models.FloatField(_("目标值"))
    curve = models.CharField(_("计分方式"), max_length=12, choices=Curve.choices, default=Curve.LINEAR)
    zero_at = models.FloatField(_("零分值"), null=True, blank=True)
    params = models.JSONField(_("参数"), default=dict, blank=True)
    sort_order = models.PositiveIntegerField(_("排序"), default=0)

    class Meta:
        verbose_name = _("考核指标")
        verbose_name_plural = _("考核指标")
        ordering = ["plan_id", "sort_order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "code"], name="planindicator_unique_code"),
            models.CheckConstraint(condition=Q(weight__gt=0), name="planindicator_weight_positive"),
        ]

    def __str__(self) -> str:
        return str(INDICATORS[self.code].name) if self.code in INDICATORS else self.code

    @property
    def indicator(self):  # type: ignore[no-untyped-def]
        return INDICATORS[self.code]


class BulletinStatus(models.TextChoices):
    QUEUED = "queued", _("生成中")
    DRAFT = "draft", _("草稿")
    PUBLISHED = "published", _("已发布")
    FAILED = "failed", _("生成失败")


class Bulletin(models.Model):
    """A bulletin (通报): the ranking of a plan for one period, generated once (a snapshot of the
    figures, the scores and the ranks as of ``generated_at``), then published. Drafts are seen by
    those who manage assessment; published ones by everyone with ``assessment.view`` in scope.

    It is requested (``requested_at``, ``generated_by``) and then built by a background job
    (``queued`` → ``draft``, or ``failed`` with the error), which keeps the scorecard as
    ``snapshot`` and renders it once into the kept files ``xlsx_file`` and ``pdf_file``."""

    scope_perm = "assessment.view"

    plan = models.ForeignKey(
        AssessmentPlan, verbose_name=_("考核方案"), on_delete=models.PROTECT, related_name="bulletins"
    )
    region_path = PathField(_("区域路径"), db_index=True)
    title = models.CharField(_("标题"), max_length=150)
    period_kind = models.CharField(_("周期"), max_length=8, choices=PeriodKind.choices)
    period_start = models.DateField(_("起始日期"))
    period_end = models.DateField(_("截止日期"))
    status = models.CharField(
        _("状态"), max_length=10, choices=BulletinStatus.choices, default=BulletinStatus.DRAFT
    )
    snapshot = models.JSONField(_("数据快照"), default=dict)
    note = models.TextField(_("通报说明"), blank=True)
    requested_at = models.DateTimeField(_("申请时间"))
    generated_at = models.DateTimeField(_("生成时间"), null=True, blank=True)
    generated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("生成人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    xlsx_file = models.FileField(_("Excel 文件"), upload_to="bulletins/%Y/%m/", blank=True)
    pdf_file = models.FileField(_("PDF 文件"), upload_to="bulletins/%Y/%m/", blank=True)
    error = models.TextField(_("错误"), blank=True)
    published_at = models.DateTimeField(_("发布时间"), null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("发布人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("通报")
        verbose_name_plural = _("通报")
        ordering = ["-period_start", "-requested_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(period_end__gte=models.F("period_start")), name="bulletin_period"
            ),
            models.CheckConstraint(
                condition=~Q(status="published") | Q(published_at__isnull=False),
                name="bulletin_published_has_time",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["queued", "failed"]) | Q(generated_at__isnull=False),
                name="bulletin_generated_has_time",
            ),
        ]

    def __str__(self) -> str:
        return self.title
