"""Disputes (矛盾纠纷) on top of cases: a ``Dispute`` is the record of a case of kind ``dispute``.

It adds what mediation needs — parties, type, scale, risk and its flags, mediation rounds with
their sessions and agreements, the mediators' registry and the screening campaigns (排查). The
state of the matter stays the case's state, changed only by ``cases.services.case_transition``
(the dispute actions are rows of the one workflow table, their handlers in ``workflow.py``).

Personal data of the parties (name, ID number, phone, address) is stored SM4-GCM encrypted
(``core.crypto``); ID number, phone and name also carry an HMAC-SM3 blind index for exact lookups.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from zongzhi.cases.models import Case, case_scope_q
from zongzhi.core.fields import PathField
from zongzhi.orgs.models import Department, Grid, Region, RegionLevel
from zongzhi.orgs.paths import ancestors_or_self, subtree_q

# --- configuration ----------------------------------------------------------------------------------


class DisputeType(models.Model):
    """The configurable list of dispute types (纠纷类型); the defaults are loaded by a migration."""

    scope_perm = None  # configuration shared by every region

    code = models.CharField(_("编码"), max_length=24, unique=True)
    name = models.CharField(_("名称"), max_length=40)
    # the catalogue sub-category a dispute of this type is registered under (its deadlines and
    # responsibility rules); blank: none
    category_code = models.CharField(_("对应事项分类编码"), max_length=16, blank=True)
    sort_order = models.PositiveIntegerField(_("排序"), default=0)
    is_active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("纠纷类型")
        verbose_name_plural = _("纠纷类型")
        ordering = ["sort_order", "code"]

    def __str__(self) -> str:
        return self.name


class RiskFlagType(models.Model):
    """The configurable list of escalation-risk signals (民转刑风险信号)."""

    scope_perm = None

    code = models.CharField(_("编码"), max_length=24, unique=True)
    name = models.CharField(_("名称"), max_length=40)
    description = models.CharField(_("说明"), max_length=200, blank=True)
    sort_order = models.PositiveIntegerField(_("排序"), default=0)
    is_active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("民转刑风险信号")
        verbose_name_plural = _("民转刑风险信号")
        ordering = ["sort_order", "code"]

    def __str__(self) -> str:
        return self.name


class DisputeSettings(models.Model):
    """One row (pk 1) of settings administrators may change: the scale thresholds."""

    group_min_people = models.PositiveIntegerField(_("群体性纠纷最少人数"), default=5)
    mass_min_people = models.PositiveIntegerField(_("重大群体性纠纷最少人数"), default=30)

    class Meta:
        verbose_name = _("矛盾纠纷设置")
        verbose_name_plural = _("矛盾纠纷设置")
        constraints = [
            models.CheckConstraint(
                condition=Q(group_min_people__gte=2) & Q(mass_min_people__gt=models.F("group_min_people")),
                name="dispute_settings_thresholds",
            )
        ]

    def __str__(self) -> str:
        return str(_("矛盾纠纷设置"))


# --- choices ----------------------------------------------------------------------------------------


class Scale(models.TextChoices):
    INDIVIDUAL = "individual", _("个体性")
    GROUP = "group", _("群体性")
    MASS = "mass", _("重大群体性")


class RiskLevel(models.TextChoices):
    LOW = "low", _("低")
    MEDIUM = "medium", _("中")
    HIGH = "high", _("高")
    MAJOR = "major", _("重大")


class Outcome(models.TextChoices):
    """How a dispute ended (blank while it is open)."""

    AGREEMENT = "agreement", _("调解成功")
    ON_SITE = "on_site", _("当场化解")
    TRANSFERRED = "transferred", _("依法移交")
    WITHDRAWN = "withdrawn", _("撤回")


RESOLVED_OUTCOMES = (Outcome.AGREEMENT, Outcome.ON_SITE)
LOCAL_LEVELS = (RegionLevel.VILLAGE, RegionLevel.TOWNSHIP)


class TransferTarget(models.TextChoices):
    LITIGATION = "litigation", _("诉讼（人民法院）")
    ARBITRATION = "arbitration", _("仲裁")
    POLICE = "police", _("公安机关")
    DEPARTMENT = "department", _("行政主管部门")


class MediationType(models.TextChoices):
    """七调联动."""

    PETITION = "petition", _("访调")
    ADMINISTRATIVE = "administrative", _("行调")
    PROFESSIONAL = "professional", _("专调")
    POLICE = "police", _("警调")
    PROCURATORATE = "procuratorate", _("检调")
    ELDERS = "elders", _("贤调")
    COURT = "court", _("诉调")


class MediationOutcome(models.TextChoices):
    AGREEMENT = "agreement", _("达成协议")
    PARTIAL = "partial", _("部分达成")
    FAILED = "failed", _("调解不成")
    WITHDRAWN = "withdrawn", _("撤回")


class JudicialStatus(models.TextChoices):
    NONE = "none", _("未申请")
    APPLIED = "applied", _("已申请")
    CONFIRMED = "confirmed", _("已确认")
    REJECTED = "rejected", _("不予确认")


class Performance(models.TextChoices):
    PENDING = "pending", _("待履行")
    PERFORMED = "performed", _("已履行")
    PARTIAL = "partially_performed", _("部分履行")
    NOT_PERFORMED = "not_performed", _("未履行")


class PartyRole(models.TextChoices):
    APPLICANT = "applicant", _("申请人")
    RESPONDENT = "respondent", _("被申请人")


class PartyKind(models.TextChoices):
    PERSON = "person", _("自然人")
    ORGANIZATION = "organization", _("法人或其他组织")


class IdType(models.TextChoices):
    ID_CARD = "id_card", _("居民身份证")
    CREDIT_CODE = "credit_code", _("统一社会信用代码")
    PASSPORT = "passport", _("护照")
    OTHER = "other", _("其他证件")


class Gender(models.TextChoices):
    MALE = "male", _("男")
    FEMALE = "female", _("女")


class MediatorBody(models.TextChoices):
    """The kind of body a mediator comes from."""

    PEOPLES_COMMITTEE = "peoples_committee", _("人民调解委员会")
    JUDICIAL_OFFICE = "judicial_office", _("司法所")
    POLICE_STATION = "police_station", _("公安派出所")
    COURT = "court", _("人民法院")
    PROCURATORATE = "procuratorate", _("人民检察院")
    PETITION = "petition", _("信访部门")
    INDUSTRY = "industry", _("行业性专业性调解组织")
    ADMINISTRATIVE = "administrative", _("行政机关")
    ELDER = "elder", _("乡贤能人（金牌调解员）")
    LAWYER = "lawyer", _("律师")
    OTHER = "other", _("其他")


def _dispute_scope(prefix: str):  # type: ignore[no-untyped-def]
    def scope_q(cls, grants: list) -> Q:  # type: ignore[no-untyped-def,type-arg]
        return case_scope_q(grants, prefix)

    return classmethod(scope_q)


# --- the dispute record -----------------------------------------------------------------------------------


class Dispute(models.Model):
    """The dispute record of one case of kind ``dispute``. Scoped exactly as its case."""

    scope_perm = "case.view"
    scope_q = _dispute_scope("case__")

    case = models.OneToOneField(
        Case, verbose_name=_("案件"), on_delete=models.PROTECT, related_name="dispute"
    )
    dispute_type = models.ForeignKey(
        DisputeType, verbose_name=_("纠纷类型"), on_delete=models.PROTECT, related_name="disputes"
    )
    amount = models.DecimalField(_("涉及金额（元）"), max_digits=14, decimal_places=2, null=True, blank=True)
    people_count = models.PositiveIntegerField(_("涉及人数"), default=2)
    scale = models.CharField(_("规模"), max_length=12, choices=Scale.choices, default=Scale.INDIVIDUAL)
    risk_level = models.CharField(
        _("风险等级"), max_length=8, choices=RiskLevel.choices, default=RiskLevel.LOW
    )
    outcome = models.CharField(_("化解结果"), max_length=12, choices=Outcome.choices, blank=True)
    outcome_at = models.DateTimeField(_("结果时间"), null=True, blank=True)
    resolved_level = models.CharField(
        _("结果层级"), max_length=10, choices=RegionLevel.choices, blank=True
    )  # the level of the center that owned the dispute when the outcome was reached
    transfer_to = models.CharField(_("移交去向"), max_length=12, choices=TransferTarget.choices, blank=True)
    receiving_body = models.CharField(_("接收单位"), max_length=120, blank=True)
    transfer_ref = models.CharField(_("接收文号/案号"), max_length=60, blank=True)
    screening_report = models.ForeignKey(
        "ScreeningReport",
        verbose_name=_("排查记录"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="disputes",
    )
    region_path = PathField(_("区域路径"))
    intake_digest = models.CharField(_("登记内容摘要"), max_length=64, blank=True)  # idempotent retries
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("登记人"), null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(_("登记时间"))
    updated_at = models.DateTimeField(_("更新时间"))

    class Meta:
        verbose_name = _("矛盾纠纷")
        verbose_name_plural = _("矛盾纠纷")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["region_path", "created_at"], name="dispute_region_created_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(outcome="") | Q(outcome_at__isnull=False), name="dispute_outcome_has_time"
            ),
            models.CheckConstraint(
                condition=~Q(outcome="transferred") | ~Q(receiving_body=""),
                name="dispute_transfer_has_body",
            ),
            models.CheckConstraint(
                condition=Q(amount__isnull=True) | Q(amount__gte=0), name="dispute_amount_gte_0"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.case.number} {self.case.title}"

    @property
    def is_resolved(self) -> bool:
        return self.outcome in RESOLVED_OUTCOMES


class Party(models.Model):
    """A party (当事人): a person or an organization, applicant or respondent."""

    scope_perm = "case.view"
    scope_q = _dispute_scope("dispute__case__")

    dispute = models.ForeignKey(
        Dispute, verbose_name=_("纠纷"), on_delete=models.CASCADE, related_name="parties"
    )
    role = models.CharField(_("身份"), max_length=12, choices=PartyRole.choices)
    kind = models.CharField(_("类别"), max_length=12, choices=PartyKind.choices, default=PartyKind.PERSON)
    name_enc = models.TextField(_("姓名/名称（密文）"))
    name_index = models.CharField(_("姓名检索摘要"), max_length=64, db_index=True)
    gender = models.CharField(_("性别"), max_length=8, choices=Gender.choices, blank=True)
    ethnicity = models.CharField(_("民族"), max_length=20, blank=True)
    id_type = models.CharField(_("证件类型"), max_length=12, choices=IdType.choices, blank=True)
    id_number_enc = models.TextField(_("证件号码（密文）"), blank=True)
    id_number_index = models.CharField(_("证件号检索摘要"), max_length=64, blank=True, db_index=True)
    phone_enc = models.TextField(_("联系电话（密文）"), blank=True)
    phone_index = models.CharField(_("电话检索摘要"), max_length=64, blank=True, db_index=True)
    address_enc = models.TextField(_("住址（密文）"), blank=True)
    representative = models.CharField(_("法定代表人/代理人"), max_length=50, blank=True)
    sort_order = models.PositiveIntegerField(_("排序"), default=0)
    region_path = PathField(_("区域路径"))

    class Meta:
        verbose_name = _("当事人")
        verbose_name_plural = _("当事人")
        ordering = ["dispute_id", "role", "sort_order", "id"]

    def __str__(self) -> str:
        return f"{self.get_role_display()} #{self.pk}"


class RiskAssessment(models.Model):
    """One risk assessment: the level and the flags set at that moment (history, append-only)."""

    scope_perm = "case.view"
    scope_q = _dispute_scope("dispute__case__")

    dispute = models.ForeignKey(
        Dispute, verbose_name=_("纠纷"), on_delete=models.CASCADE, related_name="assessments"
    )
    risk_level = models.CharField(_("风险等级"), max_length=8, choices=RiskLevel.choices)
    flags = models.JSONField(_("风险信号"), default=list, blank=True)
    note = models.TextField(_("说明"), blank=True)
    assessed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("评估人"), null=True, blank=True, on_delete=models.SET_NULL
    )
    assessed_by_label = models.CharField(_("评估人"), max_length=120, blank=True)
    assessed_at = models.DateTimeField(_("评估时间"))
    region_path = PathField(_("区域路径"))

    class Meta:
        verbose_name = _("风险评估")
        verbose_name_plural = _("风险评估")
        ordering = ["dispute_id", "-assessed_at", "-id"]

    def __str__(self) -> str:
        return f"{self.dispute_id} {self.risk_level}"


class DisputeFlag(models.Model):
    """One escalation-risk flag on a dispute: raised by whom and when, cleared by whom and when.
    A cleared flag stays (history); at most one uncleared flag per type and dispute."""

    scope_perm = "case.view"
    scope_q = _dispute_scope("dispute__case__")

    dispute = models.ForeignKey(
        Dispute, verbose_name=_("纠纷"), on_delete=models.CASCADE, related_name="flags"
    )
    flag_type = models.ForeignKey(
        RiskFlagType, verbose_name=_("风险信号"), on_delete=models.PROTECT, related_name="+"
    )
    raised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("评估人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    raised_by_label = models.CharField(_("评估人"), max_length=120, blank=True)
    raised_at = models.DateTimeField(_("评估时间"))
    cleared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("解除人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    cleared_by_label = models.CharField(_("解除人"), max_length=120, blank=True)
    cleared_at = models.DateTimeField(_("解除时间"), null=True, blank=True)
    region_path = PathField(_("区域路径"))

    class Meta:
        verbose_name = _("风险信号记录")
        verbose_name_plural = _("风险信号记录")
        ordering = ["dispute_id", "raised_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["dispute", "flag_type"],
                condition=Q(cleared_at__isnull=True),
                name="disputeflag_one_active_per_type",
            )
        ]

    def __str__(self) -> str:
        return f"{self.dispute_id} {self.flag_type_id}"


# --- mediators and mediation ------------------------------------------------------------------------------


def _up_and_down_scope(cls, grants: list) -> Q:  # type: ignore[no-untyped-def,type-arg]
    """Rows of a region are seen by whoever sees the region (grants at or above it) and by those
    working inside it (grants below it): a village's staff see the mediators of the bodies above
    them that may join a mediation (七调联动)."""
    roots = [g.path for g in grants]
    ancestors = sorted({p for root in roots for p in ancestors_or_self(root)})
    return subtree_q("region_path", roots) | Q(region_path__in=ancestors)


class Mediator(models.Model):
    """The mediators' registry: who mediates, from which body, with what specialty, where."""

    scope_perm = "case.view"
    scope_q = classmethod(_up_and_down_scope)

    name = models.CharField(_("姓名"), max_length=50)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("系统账号"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="mediator",
    )
    body_kind = models.CharField(_("所属组织类别"), max_length=24, choices=MediatorBody.choices)
    body_name = models.CharField(_("所属组织"), max_length=120)
    department = models.ForeignKey(
        Department,
        verbose_name=_("关联单位"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="mediators",
    )
    specialties = models.ManyToManyField(
        DisputeType, verbose_name=_("擅长纠纷类型"), blank=True, related_name="mediators"
    )
    specialty_note = models.CharField(_("专长说明"), max_length=200, blank=True)
    title = models.CharField(_("称号"), max_length=40, blank=True)  # e.g. 金牌调解员
    phone = models.CharField(_("工作电话"), max_length=20, blank=True)
    region = models.ForeignKey(Region, verbose_name=_("所在区域"), on_delete=models.PROTECT, related_name="+")
    region_path = PathField(_("区域路径"), db_index=True)
    is_active = models.BooleanField(_("在册"), default=True)
    created_at = models.DateTimeField(_("登记时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("调解员")
        verbose_name_plural = _("调解员")
        ordering = ["region_path", "name"]

    def __str__(self) -> str:
        return f"{self.name}（{self.body_name}）"


class Mediation(models.Model):
    """One mediation round on a dispute: its type, lead and participating mediators, the mediating
    unit (the case's lead department for the round), sessions and outcome."""

    scope_perm = "case.view"
    scope_q = _dispute_scope("dispute__case__")

    dispute = models.ForeignKey(
        Dispute, verbose_name=_("纠纷"), on_delete=models.CASCADE, related_name="mediations"
    )
    round = models.PositiveIntegerField(_("轮次"))
    mediation_type = models.CharField(_("调解类型"), max_length=16, choices=MediationType.choices)
    lead_mediator = models.ForeignKey(
        Mediator, verbose_name=_("主持调解员"), on_delete=models.PROTECT, related_name="led_mediations"
    )
    participants = models.ManyToManyField(
        Mediator, verbose_name=_("参与调解员"), blank=True, related_name="joined_mediations"
    )
    department = models.ForeignKey(
        Department, verbose_name=_("调解组织"), on_delete=models.PROTECT, related_name="+"
    )
    started_at = models.DateTimeField(_("开始时间"))
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("组织人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    ended_at = models.DateTimeField(_("结束时间"), null=True, blank=True)
    outcome = models.CharField(_("调解结果"), max_length=12, choices=MediationOutcome.choices, blank=True)
    outcome_note = models.TextField(_("结果说明"), blank=True)
    region_path = PathField(_("区域路径"))

    class Meta:
        verbose_name = _("调解")
        verbose_name_plural = _("调解")
        ordering = ["dispute_id", "round"]
        constraints = [
            models.UniqueConstraint(fields=["dispute", "round"], name="mediation_unique_round"),
            models.UniqueConstraint(
                fields=["dispute"], condition=Q(ended_at__isnull=True), name="mediation_one_open_round"
            ),
            models.CheckConstraint(
                condition=Q(ended_at__isnull=True, outcome="") | (Q(ended_at__isnull=False) & ~Q(outcome="")),
                name="mediation_ended_has_outcome",
            ),
        ]
        indexes = [models.Index(fields=["lead_mediator", "ended_at"], name="mediation_lead_idx")]

    def __str__(self) -> str:
        return f"{self.dispute_id} #{self.round} {self.get_mediation_type_display()}"


class MediationSession(models.Model):
    """A mediation session (调解会): when, where, who attended, the minutes; its attachments are
    the case attachments of the timeline row ``event_seq``."""

    scope_perm = "case.view"
    scope_q = _dispute_scope("mediation__dispute__case__")

    mediation = models.ForeignKey(
        Mediation, verbose_name=_("调解"), on_delete=models.CASCADE, related_name="sessions"
    )
    held_at = models.DateTimeField(_("调解时间"))
    place = models.CharField(_("调解地点"), max_length=120)
    attendees = models.TextField(_("参加人员"), max_length=1000)
    minutes = models.TextField(_("调解笔录"))
    event_seq = models.PositiveIntegerField(_("所属记录"))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("记录人"), null=True, blank=True, on_delete=models.SET_NULL
    )
    region_path = PathField(_("区域路径"))

    class Meta:
        verbose_name = _("调解记录")
        verbose_name_plural = _("调解记录")
        ordering = ["mediation_id", "held_at", "id"]

    def __str__(self) -> str:
        return f"{self.mediation_id} {self.held_at:%Y-%m-%d}"


class MediationAgreement(models.Model):
    """调解协议书: issued when a round reaches (part of) an agreement. The parties as they were at
    signing are kept in ``parties_enc`` (encrypted JSON), so the document never changes later."""

    scope_perm = "case.view"
    scope_q = _dispute_scope("dispute__case__")

    mediation = models.OneToOneField(
        Mediation, verbose_name=_("调解"), on_delete=models.PROTECT, related_name="agreement"
    )
    dispute = models.ForeignKey(
        Dispute, verbose_name=_("纠纷"), on_delete=models.CASCADE, related_name="agreements"
    )
    number = models.CharField(_("协议书编号"), max_length=60, unique=True)
    is_partial = models.BooleanField(_("部分协议"), default=False)
    facts = models.TextField(_("纠纷主要事实、争议事项"))
    terms = models.TextField(_("协议内容"))
    performance_method = models.CharField(_("履行方式"), max_length=200, blank=True)
    performance_deadline = models.DateField(_("履行期限"), null=True, blank=True)
    parties_enc = models.TextField(_("当事人信息（密文）"))
    mediator_names = models.CharField(_("调解员"), max_length=300)
    organization_name = models.CharField(_("调解组织"), max_length=120)
    signed_at = models.DateTimeField(_("签订时间"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("制作人"), null=True, blank=True, on_delete=models.SET_NULL
    )
    judicial_status = models.CharField(
        _("司法确认"), max_length=12, choices=JudicialStatus.choices, default=JudicialStatus.NONE
    )
    judicial_court = models.CharField(_("确认法院"), max_length=120, blank=True)
    judicial_ref = models.CharField(_("司法确认文书号"), max_length=60, blank=True)
    judicial_at = models.DateTimeField(_("司法确认更新时间"), null=True, blank=True)
    performance = models.CharField(
        _("履行情况"), max_length=20, choices=Performance.choices, default=Performance.PENDING
    )
    followup_due_at = models.DateTimeField(_("回访时间"), null=True, blank=True)
    followup_notified_at = models.DateTimeField(_("回访提醒时间"), null=True, blank=True)
    followed_up_at = models.DateTimeField(_("最近回访"), null=True, blank=True)
    followed_up_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("回访人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    followup_note = models.TextField(_("回访情况"), blank=True)
    region_path = PathField(_("区域路径"))

    class Meta:
        verbose_name = _("调解协议书")
        verbose_name_plural = _("调解协议书")
        ordering = ["-signed_at"]
        indexes = [
            models.Index(
                fields=["followup_due_at"],
                name="agreement_followup_idx",
                condition=Q(followup_notified_at__isnull=True),
            )
        ]

    def __str__(self) -> str:
        return self.number


class AgreementCounter(models.Model):
    """Yearly sequence of agreement numbers per short name of the mediating region (（2026）某某调字第001号)."""

    key = models.CharField(max_length=24, primary_key=True)  # "<year>:<short name>"
    last = models.PositiveIntegerField(default=0)


# --- screening (排查) --------------------------------------------------------------------------------------


def _campaign_scope(cls, grants: list) -> Q:  # type: ignore[no-untyped-def,type-arg]
    """A campaign is seen by whoever sees its township (grants at or above it) and by those working
    below it whose scope holds one of its grids: a village's staff see the township's campaign their
    grids report to, the neighbouring village's staff do not."""
    roots = [g.path for g in grants]
    grids = ScreeningReport.objects.filter(subtree_q("region_path", roots)).values("campaign_id")
    return subtree_q("region_path", roots) | Q(pk__in=grids)


class ScreeningCampaign(models.Model):
    """A screening campaign (排查) opened by a township for a period (e.g. one week): each grid of the
    township reports "no dispute found" or the disputes it found."""

    scope_perm = "case.view"
    scope_q = classmethod(_campaign_scope)

    region = models.ForeignKey(
        Region, verbose_name=_("乡镇（街道）"), on_delete=models.PROTECT, related_name="+"
    )
    region_path = PathField(_("区域路径"), db_index=True)
    title = models.CharField(_("名称"), max_length=100)
    period_start = models.DateField(_("开始日期"))
    period_end = models.DateField(_("结束日期"))
    note = models.TextField(_("排查要求"), blank=True)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("发起人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    opened_at = models.DateTimeField(_("发起时间"))
    closed_at = models.DateTimeField(_("结束时间"), null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("结束人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("排查")
        verbose_name_plural = _("排查")
        ordering = ["-period_start", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(period_end__gte=models.F("period_start")), name="screening_period_order"
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_open(self) -> bool:
        return self.closed_at is None


class ScreeningStatus(models.TextChoices):
    PENDING = "pending", _("未报")
    NONE_FOUND = "none_found", _("无纠纷")
    FOUND = "found", _("发现纠纷")


class ScreeningReport(models.Model):
    """One grid's part of a campaign (the grids of the township when it was opened)."""

    scope_perm = "case.view"

    campaign = models.ForeignKey(
        ScreeningCampaign, verbose_name=_("排查"), on_delete=models.CASCADE, related_name="reports"
    )
    grid = models.ForeignKey(Grid, verbose_name=_("网格"), on_delete=models.PROTECT, related_name="+")
    region_path = PathField(_("区域路径"), db_index=True)
    status = models.CharField(
        _("状态"), max_length=12, choices=ScreeningStatus.choices, default=ScreeningStatus.PENDING
    )
    found_count = models.PositiveIntegerField(_("发现纠纷数"), default=0)
    note = models.TextField(_("情况说明"), blank=True)
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("填报人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    reported_at = models.DateTimeField(_("填报时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("网格排查")
        verbose_name_plural = _("网格排查")
        ordering = ["campaign_id", "grid__code"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "grid"], name="screeningreport_unique_grid"),
            models.CheckConstraint(
                condition=Q(status="pending") | Q(reported_at__isnull=False),
                name="screeningreport_reported_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id} {self.grid_id} {self.status}"
