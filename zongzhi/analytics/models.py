"""Read models for insight: one fact row per case, derived from its timeline, and rollups of the facts.

Nothing here is a source of truth: ``CaseFact`` rows are derived from ``cases.CaseEvent`` by
``analytics.facts`` and the ``Rollup`` cells from the facts by ``analytics.rollups``; both can be
rebuilt from scratch (``manage.py rebuild_facts``). See ``docs/analytics.md``.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from zongzhi.core.fields import PathField
from zongzhi.orgs.paths import subtree_q
from zongzhi.orgs.roles import Perm

from .alert_models import *  # noqa: F403


def _dimension(to: str, verbose: Any) -> models.ForeignKey:  # type: ignore[type-arg]
    # Dimensions of derived rows: no database constraint (the facts are rebuilt, never edited, and
    # bulk loads stay fast); the row keeps its id when the referenced row goes away.
    return models.ForeignKey(
        to,
        verbose_name=verbose,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )


class CaseFact(models.Model):
    """One row per case: its dimensions, milestones, stage deadlines and on-time flags, and counts,
    all derived from the case's timeline (``facts.fact_for_case``).

    Milestones are the *first* time each happened. A stage's on-time flag judges that first ending
    against the deadline in force at that moment (``at <= due`` is on time); it is ``None`` while
    the stage has not ended and for stages the case never went through.

    Scoping (``Perm.DASHBOARD_VIEW``): the owner's path — the figures of a center are the cases its
    subtree's centers own. A grant tied to a department sees the facts of that department's cases."""

    scope_perm = Perm.DASHBOARD_VIEW
    scope_field = "owner_path"

    @classmethod
    def scope_q(cls, grants: list) -> Q:  # type: ignore[type-arg]
        return fact_scope_q(grants, "")

    case = models.OneToOneField(
        "cases.Case", verbose_name=_("案件"), primary_key=True, on_delete=models.CASCADE, related_name="fact"
    )
    # dimensions (copied from the case at refresh time)
    owner_path = PathField(_("承办中心路径"))
    region_path = PathField(_("所在区域路径"))
    region = _dimension("orgs.Region", _("所在区域"))
    owner_region = _dimension("orgs.Region", _("承办中心区域"))
    # the owner region at the rollup grains (the owner itself when it sits above the grain):
    # township for the ``total`` cells, county for the dimension cells (``rollups.GRAINS``)
    rollup_region = _dimension("orgs.Region", _("汇总区域（乡镇级）"))
    rollup_county = _dimension("orgs.Region", _("汇总区域（县级）"))
    grid = _dimension("orgs.Grid", _("网格"))
    reporter_user = _dimension("orgs.User", _("登记人"))
    lead_department = _dimension("orgs.Department", _("牵头单位"))
    category = _dimension("cases.Category", _("事项分类"))
    category_parent = _dimension("cases.Category", _("事项大类"))
    kind = models.CharField(_("类型"), max_length=16)
    channel = models.CharField(_("渠道"), max_length=16)
    urgency = models.CharField(_("紧急程度"), max_length=8)
    state = models.CharField(_("状态"), max_length=12)
    created_date = models.DateField(_("登记日期"))
    # milestones: the first time each happened
    created_at = models.DateTimeField(_("登记时间"))
    accepted_at = models.DateTimeField(_("受理时间"), null=True, blank=True)
    declined_at = models.DateTimeField(_("不予受理时间"), null=True, blank=True)
    dispatched_at = models.DateTimeField(_("派单时间"), null=True, blank=True)
    acknowledged_at = models.DateTimeField(_("签收时间"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("办结时间"), null=True, blank=True)
    replied_at = models.DateTimeField(_("反馈时间"), null=True, blank=True)
    rated_at = models.DateTimeField(_("评价时间"), null=True, blank=True)
    archived_at = models.DateTimeField(_("归档时间"), null=True, blank=True)
    resolved_date = models.DateField(_("办结日期"), null=True, blank=True)
    # deadlines in force when the stage ended (or now, while it is open)
    accept_due_at = models.DateTimeField(_("受理期限"), null=True, blank=True)
    dispatch_due_at = models.DateTimeField(_("分流期限"), null=True, blank=True)
    acknowledge_due_at = models.DateTimeField(_("签收期限"), null=True, blank=True)
    handle_due_at = models.DateTimeField(_("办理期限"), null=True, blank=True)
    reply_due_at = models.DateTimeField(_("反馈期限"), null=True, blank=True)
    accept_on_time = models.BooleanField(_("按时受理"), null=True, blank=True)
    dispatch_on_time = models.BooleanField(_("按时分流"), null=True, blank=True)
    acknowledge_on_time = models.BooleanField(_("按时签收"), null=True, blank=True)
    resolve_on_time = models.BooleanField(_("按期办结"), null=True, blank=True)
    reply_on_time = models.BooleanField(_("按时反馈"), null=True, blank=True)
    # seconds from registration to each first milestone (None: not reached)
    accept_seconds = models.BigIntegerField(_("受理用时（秒）"), null=True, blank=True)
    dispatch_seconds = models.BigIntegerField(_("分流用时（秒）"), null=True, blank=True)
    acknowledge_seconds = models.BigIntegerField(_("签收用时（秒）"), null=True, blank=True)
    resolve_seconds = models.BigIntegerField(_("办结用时（秒）"), null=True, blank=True)
    reply_seconds = models.BigIntegerField(_("反馈用时（秒）"), null=True, blank=True)
    # counts from the timeline
    dispatch_count = models.PositiveIntegerField(_("派单次数"), default=0)
    return_count = models.PositiveIntegerField(_("退回次数"), default=0)
    extension_count = models.PositiveIntegerField(_("延期次数"), default=0)
    escalation_count = models.PositiveIntegerField(_("上报次数"), default=0)
    reopen_count = models.PositiveIntegerField(_("重办次数"), default=0)
    reminder_count = models.PositiveIntegerField(_("催办次数"), default=0)
    supervision_count = models.PositiveIntegerField(_("督办次数"), default=0)
    listed_supervision_count = models.PositiveIntegerField(_("挂牌督办次数"), default=0)
    rating = models.CharField(_("评价"), max_length=20, blank=True)
    resolved_on_site = models.BooleanField(_("自行处置"), default=False)
    resolved_level = models.CharField(_("办结层级"), max_length=10, blank=True)
    max_escalated_level = models.CharField(_("最高上报层级"), max_length=10, blank=True)
    is_dispute = models.BooleanField(_("矛盾纠纷"), default=False)
    # the case now (at refresh time)
    is_open = models.BooleanField(_("未结"), default=True)
    is_overdue = models.BooleanField(_("超期"), default=False)
    due_at = models.DateTimeField(_("当前环节期限"), null=True, blank=True)
    event_seq = models.PositiveIntegerField(_("已计入记录数"), default=0)
    refreshed_at = models.DateTimeField(_("刷新时间"))

    class Meta:
        verbose_name = _("案件事实")
        verbose_name_plural = _("案件事实")
        indexes = [
            # scoped lists and the small-scope dashboards: a subtree, a period
            models.Index(fields=["owner_path", "created_date"], name="fact_scope_idx"),
            # rollup cells: one day, a subtree (cohort by registration; flow by resolution)
            models.Index(fields=["created_date", "owner_path"], name="fact_day_idx"),
            models.Index(fields=["resolved_date", "owner_path"], name="fact_resolved_day_idx"),
        ]

    def __str__(self) -> str:
        return f"fact {self.case_id}"


def fact_scope_q(grants: list, prefix: str) -> Q:  # type: ignore[type-arg]
    """Facts a user may count: the owner path in a region grant's subtree, or (grants tied to a
    department) the facts whose lead department is theirs."""
    region_roots = [g.path for g in grants if g.department_id is None]
    department_ids = sorted({g.department_id for g in grants if g.department_id is not None})
    q = subtree_q(f"{prefix}owner_path", region_roots)
    if department_ids:
        q |= Q(**{f"{prefix}lead_department_id__in": department_ids})
    return q


class RollupDim(models.TextChoices):
    TOTAL = "total", _("合计")
    CATEGORY = "category", _("事项分类")
    CHANNEL = "channel", _("渠道")
    DEPARTMENT = "department", _("牵头单位")


class RollupMeasures(models.Model):
    """The measures of a rollup cell (defined once, with their exact definitions, in
    ``rollups.MEASURES``)."""

    # cohort: cases registered in the cell's day (month)
    reported = models.PositiveIntegerField(_("登记"), default=0)
    declined = models.PositiveIntegerField(_("不予受理"), default=0)
    accepted = models.PositiveIntegerField(_("已受理"), default=0)
    dispatched = models.PositiveIntegerField(_("已派单"), default=0)
    acknowledged = models.PositiveIntegerField(_("已签收"), default=0)
    resolved = models.PositiveIntegerField(_("已办结"), default=0)
    replied = models.PositiveIntegerField(_("已反馈"), default=0)
    archived = models.PositiveIntegerField(_("已归档"), default=0)
    open = models.PositiveIntegerField(_("未结"), default=0)
    overdue = models.PositiveIntegerField(_("超期未结"), default=0)
    urgent = models.PositiveIntegerField(_("紧急"), default=0)
    accept_closed = models.PositiveIntegerField(_("受理环节已结"), default=0)
    accept_on_time = models.PositiveIntegerField(_("按时受理"), default=0)
    dispatch_closed = models.PositiveIntegerField(_("分流环节已结"), default=0)
    dispatch_on_time = models.PositiveIntegerField(_("按时分流"), default=0)
    acknowledge_closed = models.PositiveIntegerField(_("签收环节已结"), default=0)
    acknowledge_on_time = models.PositiveIntegerField(_("按时签收"), default=0)
    resolve_closed = models.PositiveIntegerField(_("办理环节已结"), default=0)
    resolve_on_time = models.PositiveIntegerField(_("按期办结"), default=0)
    reply_closed = models.PositiveIntegerField(_("反馈环节已结"), default=0)
    reply_on_time = models.PositiveIntegerField(_("按时反馈"), default=0)
    returned = models.PositiveIntegerField(_("被退回案件"), default=0)
    returns = models.PositiveIntegerField(_("退回次数"), default=0)
    reopened = models.PositiveIntegerField(_("重办案件"), default=0)
    reopens = models.PositiveIntegerField(_("重办次数"), default=0)
    escalated = models.PositiveIntegerField(_("上报案件"), default=0)
    extended = models.PositiveIntegerField(_("延期案件"), default=0)
    supervised = models.PositiveIntegerField(_("督办案件"), default=0)
    supervisions = models.PositiveIntegerField(_("督办次数"), default=0)
    listed = models.PositiveIntegerField(_("挂牌督办案件"), default=0)
    rated = models.PositiveIntegerField(_("已评价"), default=0)
    satisfied = models.PositiveIntegerField(_("满意"), default=0)
    basically_satisfied = models.PositiveIntegerField(_("基本满意"), default=0)
    unsatisfied = models.PositiveIntegerField(_("不满意"), default=0)
    not_rated = models.PositiveIntegerField(_("归档未评价"), default=0)
    resolved_on_site = models.PositiveIntegerField(_("自行处置"), default=0)
    disputes = models.PositiveIntegerField(_("矛盾纠纷"), default=0)
    disputes_resolved = models.PositiveIntegerField(_("纠纷已化解"), default=0)
    resolve_seconds = models.BigIntegerField(_("办结用时合计（秒）"), default=0)
    # flow: cases first resolved in the cell's day (month)
    resolved_flow = models.PositiveIntegerField(_("当日办结"), default=0)

    class Meta:
        abstract = True


class Rollup(RollupMeasures):
    """A cell of the rollup cube: one day × one region × one value of one dimension.

    ``dim="total"`` rows (``key=""``) are kept per township (cases owned by a village work station
    count in its township); the ``category`` / ``channel`` / ``department`` rows per county. A
    grain cell (``tree=False``) counts the cases whose owner's ancestor at that grain is the region
    (or the owner itself, when it sits above the grain); a tree cell (``tree=True``, kept for the
    regions above the grain) counts every case owned in the region's subtree — the sum of the grain
    cells under it — so any scope reads one cell per day and key. Cohort measures count the cases
    registered on ``day``; ``resolved_flow`` counts those first resolved on ``day``. The measures
    are listed once, with their exact definitions, in ``rollups.MEASURES``."""

    scope_perm = Perm.DASHBOARD_VIEW

    dim = models.CharField(_("维度"), max_length=10, choices=RollupDim.choices)
    day = models.DateField(_("日期"))
    region = _dimension("orgs.Region", _("区域"))
    region_path = PathField(_("区域路径"))
    key = models.CharField(_("维度值"), max_length=32, blank=True)
    tree = models.BooleanField(_("含下级"), default=False)

    class Meta:
        verbose_name = _("统计汇总")
        verbose_name_plural = _("统计汇总")
        constraints = [
            # also the index of every read: one dimension and kind, a few regions, a period
            models.UniqueConstraint(
                fields=["dim", "tree", "region_path", "day", "key"], name="rollup_unique_cell"
            ),
            models.CheckConstraint(condition=Q(dim__in=RollupDim.values), name="rollup_dim_valid"),
        ]
        # the tree cells' sums: the grain cells of one day in a subtree (a path range)
        indexes = [models.Index(fields=["dim", "tree", "day", "region_path"], name="rollup_day_idx")]

    def __str__(self) -> str:
        return f"{self.dim} {self.day} {self.region_path} {self.key}"


class RollupMonth(RollupMeasures):
    """The day cells of ``Rollup`` summed per calendar month (``month`` = its first day): the same
    dimensions, regions, kinds (``tree``) and measures. Periods covering whole months read these (a
    year is twelve cells per region and key instead of 365); kept in step with the day cells by the
    refresh."""

    scope_perm = Perm.DASHBOARD_VIEW

    dim = models.CharField(_("维度"), max_length=10, choices=RollupDim.choices)
    month = models.DateField(_("月份"))
    region = _dimension("orgs.Region", _("区域"))
    region_path = PathField(_("区域路径"))
    key = models.CharField(_("维度值"), max_length=32, blank=True)
    tree = models.BooleanField(_("含下级"), default=False)

    class Meta:
        verbose_name = _("月度统计汇总")
        verbose_name_plural = _("月度统计汇总")
        constraints = [
            models.UniqueConstraint(
                fields=["dim", "tree", "region_path", "month", "key"], name="rollupmonth_unique_cell"
            ),
            models.CheckConstraint(condition=Q(dim__in=RollupDim.values), name="rollupmonth_dim_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.dim} {self.month:%Y-%m} {self.region_path} {self.key}"


class RollupDirty(models.Model):
    """A rollup slice (one day × one region at a grain) whose facts changed since it was computed.
    Written by the facts refresh in the same transaction as the facts; consumed by the rollup refresh."""

    grain = models.CharField(_("粒度"), max_length=10)
    day = models.DateField(_("日期"))
    region_path = PathField(_("区域路径"))
    # set anew at every marking: the rollup refresh clears a slice only if nobody marked it again
    # while it was recomputing it
    token = models.CharField(_("标记"), max_length=32)

    class Meta:
        verbose_name = _("待重算汇总")
        verbose_name_plural = _("待重算汇总")
        constraints = [
            models.UniqueConstraint(fields=["grain", "day", "region_path"], name="rollupdirty_unique")
        ]

    def __str__(self) -> str:
        return f"{self.grain} {self.day} {self.region_path}"


class RefreshState(models.Model):
    """The facts watermark: the highest timeline row id taken into account, and when."""

    name = models.CharField(max_length=20, primary_key=True)
    last_event_id = models.BigIntegerField(default=0)
    refreshed_at = models.DateTimeField(null=True, blank=True)
    rebuilt_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("刷新水位")
        verbose_name_plural = _("刷新水位")

    def __str__(self) -> str:
        return f"{self.name} @{self.last_event_id}"
