"""The closed loop: catalogue, responsibility list, cases, their timeline, assignments, supervision."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from zongzhi.core.fields import CoveringIndex, PathField
from zongzhi.orgs.models import Department, Grid, Region, RegionLevel
from zongzhi.orgs.paths import subtree_q


def case_scope_q(grants: list, prefix: str) -> Q:  # type: ignore[type-arg]
    """Cases a user sees: those located in the subtrees of their region grants, and — for grants
    tied to a department (department handlers) — only the cases ever assigned to that department."""
    region_roots = [g.path for g in grants if g.department_id is None]
    department_ids = sorted({g.department_id for g in grants if g.department_id is not None})
    q = subtree_q(f"{prefix}region_path", region_roots)
    if department_ids:
        # The lead department is always among the assigned ones; naming it first lets a department
        # queue (which filters on the lead department) use its own index and skip the semi-join.
        assigned = CaseAssignment.objects.filter(department_id__in=department_ids).values("case_id")
        q |= Q(**{f"{prefix}lead_department_id__in": department_ids})
        q |= Q(**{f"{prefix}pk__in" if prefix == "" else f"{prefix}id__in": assigned})
    return q


OPEN_STATES = ("reported", "accepted", "dispatched", "handling", "resolved", "replied")
# Open states whose stage clock can run late (a replied case only waits for its rating).
CLOCKED_STATES = ("reported", "accepted", "dispatched", "handling", "resolved")
# The columns the workbench queues test (``selectors.queue_filter``), plus the id and the owning
# center's path (the "my center" filter): carried by the covering index of the queue counts.
QUEUE_COLUMNS = (
    "id",
    "owner_path",
    "state",
    "is_returned",
    "extension_pending",
    "due_at",
    "remind_at",
    "sla_level",
    "open_supervisions",
    "rating",
)


class CaseState(models.TextChoices):
    REPORTED = "reported", _("待受理")
    ACCEPTED = "accepted", _("已受理")
    DISPATCHED = "dispatched", _("已派单")
    HANDLING = "handling", _("办理中")
    RESOLVED = "resolved", _("已办结")
    REPLIED = "replied", _("已反馈")
    ARCHIVED = "archived", _("已归档")
    DECLINED = "declined", _("不予受理")


class CaseKind(models.TextChoices):
    EVENT = "event", _("事件")
    APPEAL = "appeal", _("诉求")
    HAZARD = "hazard", _("隐患")
    DISPUTE = "dispute", _("矛盾纠纷")
    CONSULTATION = "consultation", _("咨询")
    COMPLAINT = "complaint", _("投诉")
    SUGGESTION = "suggestion", _("建议")
    HELP = "help", _("求助")


class Channel(models.TextChoices):
    WALK_IN = "walk_in", _("窗口来访")
    HOTLINE = "hotline", _("热线电话")
    WEB = "web", _("网站")
    WECHAT = "wechat", _("微信公众号/小程序")
    APP = "app", _("移动应用")
    PATROL = "patrol", _("网格巡查")
    VIDEO = "video", _("视频发现")
    UPPER = "upper", _("上级交办")


class Urgency(models.TextChoices):
    NORMAL = "normal", _("一般")
    URGENT = "urgent", _("紧急")


class Stage(models.TextChoices):
    ACCEPT = "accept", _("受理")
    DISPATCH = "dispatch", _("分流")
    ACKNOWLEDGE = "acknowledge", _("签收")
    HANDLE = "handle", _("办理")
    REPLY = "reply", _("反馈")
    RATE = "rate", _("评价")
    NONE = "none", _("无")


class Rating(models.TextChoices):
    SATISFIED = "satisfied", _("满意")
    BASICALLY_SATISFIED = "basically_satisfied", _("基本满意")
    UNSATISFIED = "unsatisfied", _("不满意")
    NOT_RATED = "not_rated", _("未评价")


class SlaLevel(models.IntegerChoices):
    NONE = 0, _("正常")
    REMINDED = 1, _("已催办")
    SUPERVISED = 2, _("已督办")
    LISTED = 3, _("挂牌督办")


class Category(models.Model):
    """The catalogue of case types (大类/小类) and each one's deadline policy.

    Stage clocks: accept, dispatch, acknowledge and reply in natural hours; handle in working days
    (``handle_days``, or ``complex_handle_days`` when ``is_complex``) or, for urgent cases, natural
    hours (``urgent_handle_hours``). A sub-category without its own values inherits nothing at run
    time: the loader copies the parent's policy so each row is complete."""

    scope_perm = None  # the catalogue is not scoped: every region uses it

    code = models.CharField(_("分类编码"), max_length=16, unique=True)
    name = models.CharField(_("名称"), max_length=60)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("大类"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    default_kind = models.CharField(
        _("默认类型"), max_length=16, choices=CaseKind.choices, default=CaseKind.EVENT
    )
    accept_hours = models.PositiveIntegerField(_("受理时限（小时）"), default=1)
    dispatch_hours = models.PositiveIntegerField(_("分流时限（小时）"), default=24)
    urgent_dispatch_hours = models.PositiveIntegerField(_("紧急分流时限（小时）"), default=1)
    acknowledge_hours = models.PositiveIntegerField(_("签收时限（小时）"), default=24)
    urgent_acknowledge_hours = models.PositiveIntegerField(_("紧急签收时限（小时）"), default=1)
    handle_days = models.PositiveIntegerField(_("办理时限（工作日）"), default=7)
    complex_handle_days = models.PositiveIntegerField(_("复杂事项办理时限（工作日）"), default=15)
    urgent_handle_hours = models.PositiveIntegerField(_("紧急办理时限（小时）"), default=24)
    reply_hours = models.PositiveIntegerField(_("反馈时限（小时）"), default=24)
    is_complex = models.BooleanField(_("复杂事项"), default=False)
    keywords = models.CharField(_("检索关键词"), max_length=200, blank=True)
    sort_order = models.PositiveIntegerField(_("排序"), default=0)
    is_active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("事项分类")
        verbose_name_plural = _("事项分类")
        ordering = ["sort_order", "code"]

    def __str__(self) -> str:
        return f"{self.parent.name}/{self.name}" if self.parent_id and self.parent else self.name


class ResponsibilityRule(models.Model):
    """权责清单: category × region (and below, unless a deeper rule overrides) → departments.

    Versioned: ``rule_key`` groups the versions of one rule; a revision closes the previous version
    (``effective_to``) and opens a new one, so the history stays readable and a dispatch can be
    traced to the exact version it used."""

    scope_perm = "case.view"

    rule_key = models.CharField(_("规则标识"), max_length=40, db_index=True)
    version = models.PositiveIntegerField(_("版本"), default=1)
    category = models.ForeignKey(
        Category, verbose_name=_("事项分类"), on_delete=models.PROTECT, related_name="rules"
    )
    region = models.ForeignKey(Region, verbose_name=_("适用区域"), on_delete=models.PROTECT, related_name="+")
    region_path = PathField(_("区域路径"), db_index=True)
    lead_department = models.ForeignKey(
        Department, verbose_name=_("牵头单位"), on_delete=models.PROTECT, related_name="lead_rules"
    )
    assisting_departments = models.ManyToManyField(
        Department, verbose_name=_("协办单位"), blank=True, related_name="assisting_rules"
    )
    handling_level = models.CharField(_("办理层级"), max_length=10, choices=RegionLevel.choices)
    legal_basis = models.TextField(_("法律依据"), blank=True)
    effective_from = models.DateField(_("生效日期"))
    effective_to = models.DateField(_("失效日期"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("创建人"), null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("权责清单")
        verbose_name_plural = _("权责清单")
        ordering = ["category_id", "region_path", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["rule_key", "version"], name="rule_unique_version"),
            models.CheckConstraint(
                condition=Q(effective_to__isnull=True) | Q(effective_to__gt=models.F("effective_from")),
                name="rule_effective_range",
            ),
        ]
        indexes = [models.Index(fields=["category", "region_path"], name="rule_lookup_idx")]

    def __str__(self) -> str:
        return f"{self.category} · {self.region.name} → {self.lead_department} (v{self.version})"


class Case(models.Model):
    """Anything reported to a center. ``state`` changes only through ``cases.workflow.case_transition``.

    ``region`` is where the matter is (scoping: ``region_path``); ``owner_region`` is the region
    whose center currently owns it (the region itself, or an ancestor after escalation): the
    permission to act is checked at ``owner_path``."""

    scope_perm = "case.view"

    @classmethod
    def scope_q(cls, grants: list) -> Q:  # type: ignore[type-arg]
        return case_scope_q(grants, "")

    number = models.CharField(_("编号"), max_length=20)
    tracking_digest = models.CharField(_("查询码摘要"), max_length=64, blank=True)
    kind = models.CharField(_("类型"), max_length=16, choices=CaseKind.choices, default=CaseKind.EVENT)
    channel = models.CharField(_("渠道"), max_length=16, choices=Channel.choices)
    title = models.CharField(_("标题"), max_length=120)
    description = models.TextField(_("内容"), max_length=5000)
    category = models.ForeignKey(
        Category,
        verbose_name=_("事项分类"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="cases",
    )
    urgency = models.CharField(_("紧急程度"), max_length=8, choices=Urgency.choices, default=Urgency.NORMAL)
    is_anonymous = models.BooleanField(_("匿名"), default=False)
    reporter_name_enc = models.TextField(_("反映人姓名（密文）"), blank=True)
    reporter_phone_enc = models.TextField(_("反映人电话（密文）"), blank=True)
    reporter_phone_index = models.CharField(_("电话检索摘要"), max_length=64, blank=True)
    reporter_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("登记人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="reported_cases",
        db_index=False,  # partial index in Meta
    )
    address = models.CharField(_("地址"), max_length=200, blank=True)
    lon = models.FloatField(_("经度"), null=True, blank=True)
    lat = models.FloatField(_("纬度"), null=True, blank=True)
    grid = models.ForeignKey(
        Grid, verbose_name=_("网格"), null=True, blank=True, on_delete=models.SET_NULL, related_name="cases"
    )
    # scoping reads ``region_path``/``owner_path``; the region keys need no index of their own
    region = models.ForeignKey(
        Region, verbose_name=_("所在区域"), on_delete=models.PROTECT, related_name="cases", db_index=False
    )
    region_path = PathField(_("区域路径"))
    owner_region = models.ForeignKey(
        Region,
        verbose_name=_("承办中心区域"),
        on_delete=models.PROTECT,
        related_name="owned_cases",
        db_index=False,
    )
    owner_path = PathField(_("承办中心路径"))
    external_ref = models.CharField(_("外部工单号"), max_length=40, blank=True)
    state = models.CharField(_("状态"), max_length=12, choices=CaseState.choices, default=CaseState.REPORTED)
    # assignment
    lead_department = models.ForeignKey(
        Department,
        verbose_name=_("牵头单位"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,  # case_department_idx leads with it
    )
    dispatch_rule = models.ForeignKey(
        ResponsibilityRule,
        verbose_name=_("派单依据"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,  # partial index in Meta
    )
    is_returned = models.BooleanField(_("被退回"), default=False)
    return_count = models.PositiveIntegerField(_("退回次数"), default=0)
    reopen_count = models.PositiveIntegerField(_("重办次数"), default=0)
    escalation_count = models.PositiveIntegerField(_("上报次数"), default=0)
    extension_pending = models.BooleanField(_("延期待批"), default=False)
    extension_requested_until = models.DateTimeField(_("申请延期至"), null=True, blank=True)
    master = models.ForeignKey(
        "self",
        verbose_name=_("主案件"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="duplicates",
        db_index=False,  # partial index in Meta
    )
    decline_reason = models.CharField(_("不予受理原因"), max_length=200, blank=True)
    result = models.TextField(_("办理结果"), blank=True)
    reply_text = models.TextField(_("答复内容"), blank=True)
    rating = models.CharField(_("评价"), max_length=20, choices=Rating.choices, blank=True)
    rating_comment = models.CharField(_("评价意见"), max_length=500, blank=True)
    resolved_on_site = models.BooleanField(_("自行处置"), default=False)
    handle_due_at = models.DateTimeField(_("办理期限"), null=True, blank=True)
    last_event_seq = models.PositiveIntegerField(_("记录数"), default=0)
    # stage clock (deadlines are data: computed by cases.deadlines, swept by cases.tasks)
    stage = models.CharField(_("当前环节"), max_length=12, choices=Stage.choices, default=Stage.ACCEPT)
    stage_seq = models.PositiveIntegerField(_("环节序号"), default=1)
    stage_started_at = models.DateTimeField(_("环节开始"))
    stage_policy = models.CharField(_("环节时限规则"), max_length=16, blank=True)
    due_at = models.DateTimeField(_("环节截止"), null=True, blank=True)
    remind_at = models.DateTimeField(_("催办时点"), null=True, blank=True)
    list_at = models.DateTimeField(_("挂牌时点"), null=True, blank=True)
    due_overridden = models.BooleanField(_("人工设定时限"), default=False)
    sla_level = models.PositiveSmallIntegerField(
        _("督办等级"), choices=SlaLevel.choices, default=SlaLevel.NONE
    )
    next_sla_at = models.DateTimeField(_("下次督办检查"), null=True, blank=True)
    # unreplied supervision notices (督办/挂牌督办, not reminders) of this case: kept by the services
    # that open and answer them, so the "督办中" queue is a column test, not a join
    open_supervisions = models.PositiveIntegerField(_("未回复督办数"), default=0)
    # milestones
    created_at = models.DateTimeField(_("登记时间"))
    accepted_at = models.DateTimeField(_("受理时间"), null=True, blank=True)
    dispatched_at = models.DateTimeField(_("派单时间"), null=True, blank=True)
    acknowledged_at = models.DateTimeField(_("签收时间"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("办结时间"), null=True, blank=True)
    replied_at = models.DateTimeField(_("反馈时间"), null=True, blank=True)
    rated_at = models.DateTimeField(_("评价时间"), null=True, blank=True)
    archived_at = models.DateTimeField(_("归档时间"), null=True, blank=True)
    updated_at = models.DateTimeField(_("更新时间"))

    class Meta:
        verbose_name = _("案件")
        verbose_name_plural = _("案件")
        ordering = ["-created_at"]
        indexes = [
            # a center's queue in the list's order (due first, newest first among equals): read in
            # index order, a page stops after 50 rows without a sort
            models.Index(fields=["owner_path", "state", "due_at", "-id"], name="case_queue_idx"),
            # …carrying ``due_at``: SQLite sorts a scope's list by it from the index (PostgreSQL walks
            # case_due_order_idx instead)
            CoveringIndex(
                fields=["region_path", "created_at"], include=["due_at"], name="case_region_created_idx"
            ),
            models.Index(fields=["lead_department", "state", "due_at"], name="case_department_idx"),
            models.Index(
                fields=["next_sla_at"], name="case_sla_sweep_idx", condition=Q(next_sla_at__isnull=False)
            ),
            models.Index(fields=["due_at"], name="case_open_due_idx", condition=Q(state__in=OPEN_STATES)),
            models.Index(fields=["state", "created_at"], name="case_state_created_idx"),
            # the workbench queues and their counts: a state (or a few) within a region subtree
            models.Index(fields=["state", "region_path", "due_at"], name="case_state_region_idx"),
            # "临期" (due soon): the remind time has passed, the due time has not; in the open stages
            # that have a clock the center is waiting on (a replied case waits for its rating). Read
            # from ``due_at >= now`` in the list's order, ``remind_at <= now`` checked on the index
            # entries themselves (no heap visit for a case not yet reminded).
            models.Index(
                fields=["owner_path", "due_at", "-id", "remind_at"],
                name="case_due_soon_idx",
                condition=Q(state__in=CLOCKED_STATES),
            ),
            # the list of all cases in scope, in its default order (due first, the newest first among
            # equals): walked in order and filtered by scope, it stops after a page of rows
            models.Index(fields=["due_at", "-id"], name="case_due_order_idx"),
            # the workbench's queue counts: one index-only pass over the open cases in scope that
            # carries every column a queue tests (INCLUDE on PostgreSQL, trailing key columns on SQLite)
            CoveringIndex(
                fields=["region_path"],
                include=QUEUE_COLUMNS,
                condition=Q(state__in=OPEN_STATES),
                name="case_open_cover_idx",
            ),
            # Every index costs each write of a case (the sweep rewrites thousands of rows a minute):
            # exact-match keys only (no ``LIKE`` pattern copies), and the optional references indexed
            # only where they are set.
            models.Index(
                fields=["reporter_phone_index"],
                name="case_reporter_phone_idx",
                condition=~Q(reporter_phone_index=""),
            ),
            models.Index(
                fields=["external_ref"], name="case_external_ref_idx", condition=~Q(external_ref="")
            ),
            models.Index(
                fields=["reporter_user"],
                name="case_reporter_user_idx",
                condition=Q(reporter_user__isnull=False),
            ),
            models.Index(fields=["master"], name="case_master_idx", condition=Q(master__isnull=False)),
            models.Index(
                fields=["dispatch_rule"],
                name="case_dispatch_rule_idx",
                condition=Q(dispatch_rule__isnull=False),
            ),
        ]
        constraints = [
            models.UniqueConstraint(fields=["number"], name="case_unique_number"),
            models.CheckConstraint(condition=Q(state__in=CaseState.values), name="case_state_valid"),
            models.CheckConstraint(
                condition=~Q(state="declined") | ~Q(decline_reason=""), name="case_declined_has_reason"
            ),
            models.CheckConstraint(
                condition=~Q(state__in=["dispatched", "handling", "resolved", "replied", "archived"])
                | Q(lead_department__isnull=False)
                | Q(resolved_on_site=True),
                name="case_assigned_has_department",
            ),
            models.CheckConstraint(
                condition=~Q(state__in=["resolved", "replied", "archived"]) | Q(resolved_at__isnull=False),
                name="case_resolved_has_time",
            ),
            models.CheckConstraint(
                condition=~Q(state="archived") | Q(archived_at__isnull=False), name="case_archived_has_time"
            ),
            models.CheckConstraint(
                condition=Q(sla_level__gte=0) & Q(sla_level__lte=3), name="case_sla_level_range"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES


class CaseEvent(models.Model):
    """The timeline: one append-only row per action (who, when, from-state, to-state, note, data)."""

    scope_perm = "case.view"

    @classmethod
    def scope_q(cls, grants: list) -> Q:  # type: ignore[type-arg]
        return case_scope_q(grants, "case__")

    case = models.ForeignKey(
        Case,
        verbose_name=_("案件"),
        on_delete=models.CASCADE,
        related_name="events",
        db_index=False,  # caseevent_unique_seq (case, seq) leads with it
    )
    seq = models.PositiveIntegerField(_("序号"))
    action = models.CharField(_("动作"), max_length=32)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("操作人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        db_index=False,  # partial index in Meta (system rows have no actor)
    )
    actor_label = models.CharField(_("操作人"), max_length=120, blank=True)
    department = models.ForeignKey(
        Department,
        verbose_name=_("操作部门"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,  # partial index in Meta
    )
    at = models.DateTimeField(_("时间"))
    from_state = models.CharField(_("原状态"), max_length=12, choices=CaseState.choices)
    to_state = models.CharField(_("新状态"), max_length=12, choices=CaseState.choices)
    note = models.TextField(_("说明"), blank=True)
    data = models.JSONField(_("数据"), default=dict, blank=True)
    region_path = PathField(_("区域路径"))

    class Meta:
        verbose_name = _("办理记录")
        verbose_name_plural = _("办理记录")
        ordering = ["case_id", "seq"]
        constraints = [models.UniqueConstraint(fields=["case", "seq"], name="caseevent_unique_seq")]
        indexes = [
            models.Index(fields=["action", "at"], name="caseevent_action_at_idx"),
            models.Index(fields=["actor"], name="caseevent_actor_idx", condition=Q(actor__isnull=False)),
            models.Index(
                fields=["department"], name="caseevent_department_idx", condition=Q(department__isnull=False)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.case_id}#{self.seq} {self.action}"

    def get_action_label(self) -> str:
        from .states import action_label

        return action_label(self.action)


class AssignmentRole(models.TextChoices):
    LEAD = "lead", _("牵头")
    ASSISTING = "assisting", _("协办")


class CaseAssignment(models.Model):
    """A department's part in a dispatched case (the lead, and each assisting department)."""

    scope_perm = "case.view"

    @classmethod
    def scope_q(cls, grants: list) -> Q:  # type: ignore[type-arg]
        return case_scope_q(grants, "case__")

    case = models.ForeignKey(
        Case, verbose_name=_("案件"), on_delete=models.CASCADE, related_name="assignments"
    )
    department = models.ForeignKey(
        Department, verbose_name=_("部门"), on_delete=models.PROTECT, related_name="+"
    )
    role = models.CharField(_("角色"), max_length=10, choices=AssignmentRole.choices)
    dispatch_seq = models.PositiveIntegerField(_("派单轮次"))
    is_current = models.BooleanField(_("当前有效"), default=True)
    acknowledged_at = models.DateTimeField(_("签收时间"), null=True, blank=True)
    part_result = models.TextField(_("协办结果"), blank=True)
    part_done_at = models.DateTimeField(_("协办完成时间"), null=True, blank=True)
    region_path = PathField(_("区域路径"))

    class Meta:
        verbose_name = _("派单对象")
        verbose_name_plural = _("派单对象")
        constraints = [
            models.UniqueConstraint(
                fields=["case", "department", "dispatch_seq"], name="assignment_unique_per_dispatch"
            )
        ]
        indexes = [models.Index(fields=["department", "is_current"], name="assignment_department_idx")]

    def __str__(self) -> str:
        return f"{self.case_id} {self.department} {self.role}"


class SupervisionKind(models.TextChoices):
    REMINDER = "reminder", _("催办")
    SUPERVISION = "supervision", _("督办")
    LISTED = "listed", _("挂牌督办")


class Supervision(models.Model):
    """A reminder or supervision notice on a case; raised by the sweep (once per stage and level)
    or opened by hand. It goes to the responsible unit and the supervising center and has its own
    reply deadline."""

    scope_perm = "case.view"

    @classmethod
    def scope_q(cls, grants: list) -> Q:  # type: ignore[type-arg]
        return case_scope_q(grants, "case__")

    case = models.ForeignKey(
        Case, verbose_name=_("案件"), on_delete=models.CASCADE, related_name="supervisions"
    )
    kind = models.CharField(_("类型"), max_length=12, choices=SupervisionKind.choices)
    stage = models.CharField(_("环节"), max_length=12, choices=Stage.choices)
    stage_seq = models.PositiveIntegerField(_("环节序号"))
    is_manual = models.BooleanField(_("人工发起"), default=False)
    department = models.ForeignKey(
        Department,
        verbose_name=_("责任单位"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,  # supervision_department_idx leads with it
    )
    supervising_region = models.ForeignKey(
        Region, verbose_name=_("督办中心区域"), on_delete=models.PROTECT, related_name="+"
    )
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("发起人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        db_index=False,  # partial index in Meta (the sweep's notices have no opener)
    )
    reason = models.CharField(_("督办事由"), max_length=300)
    created_at = models.DateTimeField(_("发起时间"))
    reply_due_at = models.DateTimeField(_("回复期限"))
    replied_at = models.DateTimeField(_("回复时间"), null=True, blank=True)
    reply_text = models.TextField(_("回复内容"), blank=True)
    replied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("回复人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,  # partial index in Meta
    )
    region_path = PathField(_("区域路径"), db_index=True)

    class Meta:
        verbose_name = _("督办")
        verbose_name_plural = _("督办")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["case", "stage_seq", "kind"],
                condition=Q(is_manual=False),
                name="supervision_once_per_stage_kind",
            )
        ]
        indexes = [
            models.Index(fields=["department", "replied_at"], name="supervision_department_idx"),
            models.Index(
                fields=["opened_by"], name="supervision_opened_by_idx", condition=Q(opened_by__isnull=False)
            ),
            models.Index(
                fields=["replied_by"],
                name="supervision_replied_by_idx",
                condition=Q(replied_by__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.case_id}"


class CaseAttachment(models.Model):
    scope_perm = "case.view"

    @classmethod
    def scope_q(cls, grants: list) -> Q:  # type: ignore[type-arg]
        return case_scope_q(grants, "case__")

    case = models.ForeignKey(
        Case, verbose_name=_("案件"), on_delete=models.CASCADE, related_name="attachments"
    )
    event_seq = models.PositiveIntegerField(_("所属记录"), null=True, blank=True)
    file = models.FileField(_("文件"), upload_to="cases/%Y/%m/")
    original_name = models.CharField(_("原文件名"), max_length=200)
    content_type = models.CharField(_("类型"), max_length=100)
    size = models.PositiveIntegerField(_("大小"))
    sha256 = models.CharField(_("校验值"), max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("上传人"), null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(_("上传时间"), auto_now_add=True)
    region_path = PathField(_("区域路径"))

    class Meta:
        verbose_name = _("附件")
        verbose_name_plural = _("附件")

    def __str__(self) -> str:
        return self.original_name


class CaseNumberCounter(models.Model):
    """Daily sequence for human-readable case numbers (ZZ + yyyymmdd + 5 digits)."""

    day = models.CharField(max_length=8, primary_key=True)
    last = models.PositiveIntegerField(default=0)


class IdempotencyRecord(models.Model):
    """A create request seen before: same key and body → the same case; a different body → 422."""

    scope = models.CharField(max_length=40)
    key = models.CharField(max_length=100)
    body_digest = models.CharField(max_length=64)
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["scope", "key"], name="idempotency_unique_key")]


class CaseSubject(models.Model):
    """A case's link to base data (人、地、事、物、组织): exactly one of a resident, a house, a place or
    an organization (a database constraint). Scoped as its case; the subject itself is shown only
    to users who may see it (``person.view``). Written by ``cases.subjects``."""

    scope_perm = "case.view"

    @classmethod
    def scope_q(cls, grants: list) -> Q:  # type: ignore[type-arg]
        return case_scope_q(grants, "case__")

    case = models.ForeignKey(Case, verbose_name=_("案件"), on_delete=models.CASCADE, related_name="subjects")
    resident = models.ForeignKey(
        "people.Resident",
        verbose_name=_("实有人口"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="case_links",
    )
    house = models.ForeignKey(
        "people.House",
        verbose_name=_("实有房屋"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="case_links",
    )
    place = models.ForeignKey(
        "people.Place",
        verbose_name=_("场所"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="case_links",
    )
    organization = models.ForeignKey(
        "people.Organization",
        verbose_name=_("组织"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="case_links",
    )
    note = models.CharField(_("关联说明"), max_length=100, blank=True)
    region_path = PathField(_("区域路径"), db_index=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("关联人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("关联时间"))

    class Meta:
        verbose_name = _("案件关联对象")
        verbose_name_plural = _("案件关联对象")
        ordering = ["case_id", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(
                        resident__isnull=False,
                        house__isnull=True,
                        place__isnull=True,
                        organization__isnull=True,
                    )
                    | Q(
                        resident__isnull=True,
                        house__isnull=False,
                        place__isnull=True,
                        organization__isnull=True,
                    )
                    | Q(
                        resident__isnull=True,
                        house__isnull=True,
                        place__isnull=False,
                        organization__isnull=True,
                    )
                    | Q(
                        resident__isnull=True,
                        house__isnull=True,
                        place__isnull=True,
                        organization__isnull=False,
                    )
                ),
                name="casesubject_exactly_one",
            ),
            models.UniqueConstraint(
                fields=["case", "resident"],
                condition=Q(resident__isnull=False),
                name="casesubject_unique_resident",
            ),
            models.UniqueConstraint(
                fields=["case", "house"], condition=Q(house__isnull=False), name="casesubject_unique_house"
            ),
            models.UniqueConstraint(
                fields=["case", "place"], condition=Q(place__isnull=False), name="casesubject_unique_place"
            ),
            models.UniqueConstraint(
                fields=["case", "organization"],
                condition=Q(organization__isnull=False),
                name="casesubject_unique_organization",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.case_id} → {self.kind}#{self.subject_id}"

    @property
    def kind(self) -> str:
        for name in ("resident", "house", "place", "organization"):
            if getattr(self, f"{name}_id") is not None:
                return name
        return ""

    @property
    def subject_id(self) -> int | None:
        return getattr(self, f"{self.kind}_id") if self.kind else None
