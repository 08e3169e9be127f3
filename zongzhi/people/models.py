"""Base data 人、地、事、物、组织: residents, houses, places, organizations, special-population
memberships, visit schedules, visits and missed visits.

Personal data is never stored in clear: ID numbers, names and phones of residents, the phones of
owners and contacts, and the group-specific (health, criminal) details of special-population
memberships and visit findings are SM4-GCM ciphertexts (``*_enc``, made by
``zongzhi.people.sealing``), each row's ``key_id`` naming the key they were sealed with
(``rotate_people_keys`` re-seals rows under the current key). Exact lookups go through HMAC-SM3
blind indexes (``*_index``).

Scoping: every row carries its region (``region`` + ``region_path``) and, when known, its grid.
Residents, houses, places and organizations need ``person.view`` in the region subtree; a
special-population membership (and a visit to one) also needs the group's permission
``special.<group>`` there (``scope_q``)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from zongzhi.core.fields import PathField
from zongzhi.orgs.models import Grid, Region
from zongzhi.orgs.paths import subtree_q

from .groups import SpecialGroup, group_perm


class IdType(models.TextChoices):
    ID_CARD = "id_card", _("居民身份证")
    PASSPORT = "passport", _("护照")
    HK_MACAO = "hk_macao", _("港澳居民来往内地通行证")
    TAIWAN = "taiwan", _("台湾居民来往大陆通行证")
    FOREIGN_PR = "foreign_pr", _("外国人永久居留身份证")
    OTHER = "other", _("其他证件")


class Sex(models.TextChoices):
    MALE = "male", _("男")
    FEMALE = "female", _("女")
    UNKNOWN = "unknown", _("未说明")


class ResidentType(models.TextChoices):
    REGISTERED = "registered", _("户籍人口")
    MIGRANT = "migrant", _("流动人口")
    OVERSEAS = "overseas", _("境外人员")
    LEFT_BEHIND = "left_behind", _("留守人员")


class HouseUse(models.TextChoices):
    OWN = "own", _("自住")
    RENT = "rent", _("出租")
    BUSINESS = "business", _("经营")
    VACANT = "vacant", _("空置")
    OTHER = "other", _("其他")


class PlaceKind(models.TextChoices):
    SCHOOL = "school", _("学校")
    MARKET = "market", _("市场")
    HOTEL = "hotel", _("旅馆")
    RENTAL_BLOCK = "rental_block", _("出租房集中区")
    ENTERTAINMENT = "entertainment", _("娱乐场所")
    INTERNET_CAFE = "internet_cafe", _("网吧")
    HOSPITAL = "hospital", _("医疗机构")
    RELIGIOUS = "religious", _("宗教活动场所")
    HAZARDOUS = "hazardous", _("危险品场所")
    OTHER = "other", _("其他")


class OrganizationKind(models.TextChoices):
    NON_PUBLIC_ENTERPRISE = "non_public_enterprise", _("非公有制经济组织")
    SOCIAL_ORGANIZATION = "social_organization", _("社会组织")
    OTHER = "other", _("其他组织")


class MembershipStatus(models.TextChoices):
    ACTIVE = "active", _("在管")
    CLOSED = "closed", _("已解除")


class AssistanceStatus(models.TextChoices):
    NOT_NEEDED = "not_needed", _("无需帮扶")
    PENDING = "pending", _("待帮扶")
    ASSISTING = "assisting", _("帮扶中")
    DONE = "done", _("已帮扶")


class VisitFrequency(models.TextChoices):
    WEEKLY = "weekly", _("每周")
    MONTHLY = "monthly", _("每月")
    QUARTERLY = "quarterly", _("每季度")


class Located(models.Model):
    """What every base-data row shares: its region (scoping), grid, audit times and key id.

    Every index costs each imported row (a county loads a million residents at a time), so the
    shared columns carry none of their own: each model declares the ones its lists and lookups read
    (scope by ``region_path``, a grid's rows), exact-match keys without ``LIKE`` pattern copies, and
    optional references only where they are set. ``key_id`` needs none: key rotation looks for rows
    *not* on the current key, which no B-tree index serves."""

    region = models.ForeignKey(
        Region, verbose_name=_("所属区域"), on_delete=models.PROTECT, related_name="+", db_index=False
    )
    region_path = PathField(_("区域路径"))
    grid = models.ForeignKey(
        Grid,
        verbose_name=_("网格"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    key_id = models.CharField(_("密钥标识"), max_length=16, blank=True)
    created_at = models.DateTimeField(_("登记时间"))
    updated_at = models.DateTimeField(_("更新时间"))
    # A loose reference (no database constraint). Every write that sets it (a service, an import)
    # also writes an audit row whose actor is the same user, and the audit log's own foreign key
    # keeps that user from being deleted, by the ORM or by SQL; should a user without one be
    # deleted, the ORM still sets this to NULL. A constraint here would cost every row of a bulk
    # import one more foreign-key check at commit: 0.4–0.5 s of database CPU per 100,000
    # residents, about a seventh of the database's share of an import.
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("登记人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )

    scope_perm = "person.view"

    class Meta:
        abstract = True


class House(Located):
    """实有房屋: a dwelling with its address (natural key ``address_key`` within the region)."""

    address = models.CharField(_("地址"), max_length=200)
    building = models.CharField(_("楼栋"), max_length=20, blank=True)
    unit = models.CharField(_("单元"), max_length=20, blank=True)
    room = models.CharField(_("房号"), max_length=20, blank=True)
    address_key = models.CharField(_("地址键"), max_length=255)
    use = models.CharField(_("房屋用途"), max_length=12, choices=HouseUse.choices, default=HouseUse.OWN)
    owner_name = models.CharField(_("房主"), max_length=60, blank=True)
    owner_phone_enc = models.TextField(_("房主电话（密文）"), blank=True)
    owner_phone_index = models.CharField(_("房主电话检索摘要"), max_length=64, blank=True)
    area_m2 = models.DecimalField(_("面积（平方米）"), max_digits=9, decimal_places=2, null=True, blank=True)
    lon = models.FloatField(_("经度"), null=True, blank=True)
    lat = models.FloatField(_("纬度"), null=True, blank=True)
    notes = models.TextField(_("备注"), blank=True)

    class Meta:
        verbose_name = _("实有房屋")
        verbose_name_plural = _("实有房屋")
        ordering = ["region_path", "address_key"]
        constraints = [
            models.UniqueConstraint(fields=["region", "address_key"], name="house_unique_address_in_region"),
            models.CheckConstraint(condition=Q(use__in=HouseUse.values), name="house_use_valid"),
        ]
        indexes = [
            models.Index(fields=["grid", "address_key"], name="house_grid_idx"),
            models.Index(fields=["region_path", "address_key"], name="house_region_idx"),
            models.Index(
                fields=["owner_phone_index"], name="house_owner_phone_idx", condition=~Q(owner_phone_index="")
            ),
        ]

    def __str__(self) -> str:
        return " ".join(p for p in (self.address, self.building, self.unit, self.room) if p)


class Resident(Located):
    """实有人口. Natural key: the blind index of the ID number (``id_number_index``).

    ``birth_date`` and ``sex`` are derived from an 18-digit citizen ID when there is one."""

    id_type = models.CharField(_("证件类型"), max_length=12, choices=IdType.choices, default=IdType.ID_CARD)
    id_number_enc = models.TextField(_("证件号码（密文）"))
    id_number_index = models.CharField(_("证件号码检索摘要"), max_length=64)
    name_enc = models.TextField(_("姓名（密文）"))
    name_index = models.CharField(_("姓名检索摘要"), max_length=64)
    sex = models.CharField(_("性别"), max_length=8, choices=Sex.choices, default=Sex.UNKNOWN)
    birth_date = models.DateField(_("出生日期"), null=True, blank=True)
    ethnicity = models.CharField(_("民族"), max_length=20, blank=True)
    phone_enc = models.TextField(_("联系电话（密文）"), blank=True)
    phone_index = models.CharField(_("电话检索摘要"), max_length=64, blank=True)
    household_address = models.CharField(_("户籍地址"), max_length=200, blank=True)
    current_address = models.CharField(_("现住地址"), max_length=200, blank=True)
    house = models.ForeignKey(
        House,
        verbose_name=_("居住房屋"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="residents",
        db_index=False,  # partial index in Meta
    )
    resident_type = models.CharField(
        _("人口类型"), max_length=12, choices=ResidentType.choices, default=ResidentType.REGISTERED
    )
    employment = models.CharField(_("就业情况/工作单位"), max_length=120, blank=True)
    notes = models.TextField(_("备注"), blank=True)

    class Meta:
        verbose_name = _("实有人口")
        verbose_name_plural = _("实有人口")
        ordering = ["region_path", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(id_type__in=IdType.values), name="resident_id_type_valid"),
            models.CheckConstraint(
                condition=Q(resident_type__in=ResidentType.values), name="resident_type_valid"
            ),
            models.CheckConstraint(condition=~Q(id_number_index=""), name="resident_has_id_index"),
            models.UniqueConstraint(fields=["id_number_index"], name="resident_unique_id_number"),
        ]
        indexes = [
            models.Index(fields=["region_path", "resident_type"], name="resident_region_type_idx"),
            models.Index(fields=["grid", "id"], name="resident_grid_idx"),
            models.Index(fields=["name_index"], name="resident_name_idx"),
            models.Index(fields=["phone_index"], name="resident_phone_idx", condition=~Q(phone_index="")),
            models.Index(fields=["house"], name="resident_house_idx", condition=Q(house__isnull=False)),
        ]

    def __str__(self) -> str:
        # Never the name or the number: str() ends up in logs and audit rows.
        return f"实有人口#{self.pk}"


class Place(Located):
    """重点场所. Natural key within the region: ``place_key`` (normalised name + address)."""

    name = models.CharField(_("场所名称"), max_length=120)
    kind = models.CharField(_("场所类型"), max_length=16, choices=PlaceKind.choices, default=PlaceKind.OTHER)
    address = models.CharField(_("地址"), max_length=200)
    place_key = models.CharField(_("场所键"), max_length=255)
    contact_name = models.CharField(_("负责人"), max_length=60, blank=True)
    contact_phone_enc = models.TextField(_("联系电话（密文）"), blank=True)
    contact_phone_index = models.CharField(_("电话检索摘要"), max_length=64, blank=True)
    is_key = models.BooleanField(_("重点场所"), default=True)
    lon = models.FloatField(_("经度"), null=True, blank=True)
    lat = models.FloatField(_("纬度"), null=True, blank=True)
    notes = models.TextField(_("备注"), blank=True)

    class Meta:
        verbose_name = _("场所")
        verbose_name_plural = _("场所")
        ordering = ["region_path", "name"]
        constraints = [
            models.UniqueConstraint(fields=["region", "place_key"], name="place_unique_key_in_region"),
            models.CheckConstraint(condition=Q(kind__in=PlaceKind.values), name="place_kind_valid"),
        ]
        indexes = [
            models.Index(fields=["region_path", "name"], name="place_region_idx"),
            models.Index(fields=["grid", "id"], name="place_grid_idx"),
            models.Index(
                fields=["contact_phone_index"], name="place_phone_idx", condition=~Q(contact_phone_index="")
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Organization(Located):
    """Non-public enterprises and social organizations. Natural key: ``credit_code`` (when given)."""

    name = models.CharField(_("组织名称"), max_length=150)
    kind = models.CharField(
        _("组织类型"), max_length=24, choices=OrganizationKind.choices, default=OrganizationKind.OTHER
    )
    credit_code = models.CharField(_("统一社会信用代码"), max_length=18, blank=True)
    legal_representative = models.CharField(_("法定代表人"), max_length=60, blank=True)
    contact_phone_enc = models.TextField(_("联系电话（密文）"), blank=True)
    contact_phone_index = models.CharField(_("电话检索摘要"), max_length=64, blank=True)
    address = models.CharField(_("地址"), max_length=200, blank=True)
    has_party_branch = models.BooleanField(_("建有党组织"), default=False)
    employees = models.PositiveIntegerField(_("从业人数"), null=True, blank=True)
    lon = models.FloatField(_("经度"), null=True, blank=True)
    lat = models.FloatField(_("纬度"), null=True, blank=True)
    notes = models.TextField(_("备注"), blank=True)

    class Meta:
        verbose_name = _("组织")
        verbose_name_plural = _("组织")
        ordering = ["region_path", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["credit_code"], condition=~Q(credit_code=""), name="organization_unique_credit_code"
            ),
            models.CheckConstraint(
                condition=Q(kind__in=OrganizationKind.values), name="organization_kind_valid"
            ),
        ]
        indexes = [
            models.Index(fields=["region_path", "name"], name="organization_region_idx"),
            models.Index(fields=["grid", "id"], name="organization_grid_idx"),
            models.Index(
                fields=["contact_phone_index"],
                name="organization_phone_idx",
                condition=~Q(contact_phone_index=""),
            ),
        ]

    def __str__(self) -> str:
        return self.name


def special_scope_q(grants: list, prefix: str = "") -> Q:  # type: ignore[type-arg]
    """Rows of special-population memberships a user sees: for each group, the subtrees where the
    user holds ``special.<group>`` (the grants given already carry ``special.view``)."""
    q = Q(pk__in=[])
    for group in SpecialGroup.values:
        roots = [g.path for g in grants if g.has(group_perm(group))]
        if roots:
            q |= Q(**{f"{prefix}group": group}) & subtree_q(f"{prefix}region_path", roots)
    return q


class SpecialGroupMembership(models.Model):
    """A resident's membership of one special group (特殊人群/重点人员), with its period, supervisor,
    risk level (0–5), risk assessment, assistance status, the group's own fields (encrypted JSON,
    see ``groups.GROUP_FIELDS``) and its visit clock.

    Visit clock: ``period_start``/``period_end`` is the current visit period (calendar week, month
    or quarter by the ``VisitSchedulePolicy`` for the group and risk level); ``due_at`` is its end
    plus the policy's grace days; ``period_visited`` says a visit was recorded in it. The sweep
    (``visit_sweep``) advances the clock and records a ``VisitMiss`` for an unvisited period."""

    scope_perm = "special.view"

    @classmethod
    def scope_q(cls, grants: list) -> Q:  # type: ignore[type-arg]
        return special_scope_q(grants)

    resident = models.ForeignKey(
        Resident, verbose_name=_("人员"), on_delete=models.PROTECT, related_name="memberships"
    )
    group = models.CharField(_("人群类别"), max_length=24, choices=SpecialGroup.choices)
    status = models.CharField(
        _("状态"), max_length=8, choices=MembershipStatus.choices, default=MembershipStatus.ACTIVE
    )
    region = models.ForeignKey(Region, verbose_name=_("所属区域"), on_delete=models.PROTECT, related_name="+")
    region_path = PathField(_("区域路径"), db_index=True)
    grid = models.ForeignKey(
        Grid, verbose_name=_("网格"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    starts_on = models.DateField(_("纳入管理日期"))
    ends_on = models.DateField(_("管理期满日期"), null=True, blank=True)
    supervisor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("责任网格员"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="supervised_memberships",
    )
    supervisor_names = models.CharField(_("帮教/管控责任人"), max_length=200, blank=True)
    risk_level = models.PositiveSmallIntegerField(_("风险等级"), default=0)
    risk_assessment_enc = models.TextField(_("风险评估（密文）"), blank=True)
    assessed_on = models.DateField(_("评估日期"), null=True, blank=True)
    assistance_status = models.CharField(
        _("帮扶状态"), max_length=12, choices=AssistanceStatus.choices, default=AssistanceStatus.NOT_NEEDED
    )
    details_enc = models.TextField(_("专项信息（密文）"), blank=True)
    key_id = models.CharField(_("密钥标识"), max_length=16, blank=True, db_index=True)
    # the visit clock
    frequency = models.CharField(_("走访频次"), max_length=10, choices=VisitFrequency.choices)
    grace_days = models.PositiveSmallIntegerField(_("宽限天数"), default=0)
    period_start = models.DateTimeField(_("本期开始"))
    period_end = models.DateTimeField(_("本期结束"))
    due_at = models.DateTimeField(_("本期走访截止"))
    period_visited = models.BooleanField(_("本期已走访"), default=False)
    last_visited_at = models.DateTimeField(_("最近走访"), null=True, blank=True)
    closed_at = models.DateTimeField(_("解除时间"), null=True, blank=True)
    close_reason = models.CharField(_("解除原因"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("登记时间"))
    updated_at = models.DateTimeField(_("更新时间"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("登记人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("特殊人群")
        verbose_name_plural = _("特殊人群")
        ordering = ["region_path", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["resident", "group"],
                condition=Q(status="active"),
                name="membership_one_active_per_group",
            ),
            models.CheckConstraint(condition=Q(group__in=SpecialGroup.values), name="membership_group_valid"),
            models.CheckConstraint(
                condition=Q(risk_level__gte=0) & Q(risk_level__lte=5), name="membership_risk_level_range"
            ),
            models.CheckConstraint(
                condition=~Q(status="closed") | Q(closed_at__isnull=False), name="membership_closed_has_time"
            ),
            models.CheckConstraint(
                condition=Q(period_end__gt=models.F("period_start")), name="membership_period"
            ),
        ]
        indexes = [
            models.Index(fields=["due_at"], name="membership_due_idx", condition=Q(status="active")),
            models.Index(fields=["group", "region_path"], name="membership_group_region_idx"),
            models.Index(fields=["supervisor", "status"], name="membership_supervisor_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_group_display()}#{self.pk}"


class VisitSchedulePolicy(models.Model):
    """How often members of a group must be visited: the row of the group with the highest
    ``min_risk_level`` not above the member's risk level applies (e.g. monthly from 0, weekly from
    3). Configured in the admin; without a row the built-in default is monthly (weekly from 3)."""

    group = models.CharField(_("人群类别"), max_length=24, choices=SpecialGroup.choices)
    min_risk_level = models.PositiveSmallIntegerField(_("起始风险等级"), default=0)
    frequency = models.CharField(_("走访频次"), max_length=10, choices=VisitFrequency.choices)
    grace_days = models.PositiveSmallIntegerField(_("宽限天数"), default=0)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("走访频次规则")
        verbose_name_plural = _("走访频次规则")
        ordering = ["group", "min_risk_level"]
        constraints = [
            models.UniqueConstraint(fields=["group", "min_risk_level"], name="visitpolicy_unique_level"),
            models.CheckConstraint(condition=Q(min_risk_level__lte=5), name="visitpolicy_level_range"),
            models.CheckConstraint(condition=Q(grace_days__lte=60), name="visitpolicy_grace_range"),
        ]

    def __str__(self) -> str:
        return f"{self.get_group_display()} ≥{self.min_risk_level}: {self.get_frequency_display()}"


def visit_scope_q(grants: list) -> Q:  # type: ignore[type-arg]
    """A visit to a special-population member needs the group's permission; other visits (to a
    resident, house or place) need ``person.view`` in the subtree."""
    plain = Q(membership__isnull=True) & subtree_q(
        "region_path", [g.path for g in grants if g.has("person.view")]
    )
    return plain | (Q(membership__isnull=False) & special_scope_q(grants, "membership__"))


class Visit(models.Model):
    """走访: a visit to a resident (optionally as a special-population member), a house or a place,
    with time, place, findings (encrypted), GPS and photos."""

    scope_perm = "person.view"

    @classmethod
    def scope_q(cls, grants: list) -> Q:  # type: ignore[type-arg]
        return visit_scope_q(grants)

    resident = models.ForeignKey(
        Resident,
        verbose_name=_("走访对象"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="visits",
    )
    membership = models.ForeignKey(
        SpecialGroupMembership,
        verbose_name=_("特殊人群记录"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="visits",
    )
    house = models.ForeignKey(
        House, verbose_name=_("房屋"), null=True, blank=True, on_delete=models.PROTECT, related_name="visits"
    )
    place = models.ForeignKey(
        Place, verbose_name=_("场所"), null=True, blank=True, on_delete=models.PROTECT, related_name="visits"
    )
    visitor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("走访人"),
        on_delete=models.PROTECT,
        related_name="people_visits",
    )
    visited_at = models.DateTimeField(_("走访时间"))
    location_text = models.CharField(_("走访地点"), max_length=200, blank=True)
    findings_enc = models.TextField(_("走访情况（密文）"))
    key_id = models.CharField(_("密钥标识"), max_length=16, blank=True, db_index=True)
    lon = models.FloatField(_("经度"), null=True, blank=True)
    lat = models.FloatField(_("纬度"), null=True, blank=True)
    gps_accuracy_m = models.FloatField(_("定位精度（米）"), null=True, blank=True)
    region = models.ForeignKey(Region, verbose_name=_("所属区域"), on_delete=models.PROTECT, related_name="+")
    region_path = PathField(_("区域路径"), db_index=True)
    grid = models.ForeignKey(
        Grid, verbose_name=_("网格"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("记录时间"))

    class Meta:
        verbose_name = _("走访记录")
        verbose_name_plural = _("走访记录")
        ordering = ["-visited_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(resident__isnull=False) | Q(house__isnull=False) | Q(place__isnull=False),
                name="visit_has_subject",
            ),
            models.CheckConstraint(
                condition=Q(membership__isnull=True) | Q(resident__isnull=False),
                name="visit_membership_has_resident",
            ),
        ]
        indexes = [
            models.Index(fields=["membership", "visited_at"], name="visit_membership_idx"),
            models.Index(fields=["visitor", "visited_at"], name="visit_visitor_idx"),
            models.Index(fields=["region_path", "visited_at"], name="visit_region_idx"),
        ]

    def __str__(self) -> str:
        return f"走访#{self.pk}"


class VisitPhoto(models.Model):
    scope_perm = "person.view"

    @classmethod
    def scope_q(cls, grants: list) -> Q:  # type: ignore[type-arg]
        return Q(visit__in=Visit.objects.filter(visit_scope_q(grants)))

    visit = models.ForeignKey(Visit, verbose_name=_("走访"), on_delete=models.CASCADE, related_name="photos")
    file = models.FileField(_("照片"), upload_to="visits/%Y/%m/")
    original_name = models.CharField(_("原文件名"), max_length=200)
    content_type = models.CharField(_("类型"), max_length=100)
    size = models.PositiveIntegerField(_("大小"))
    sha256 = models.CharField(_("校验值"), max_length=64)
    region_path = PathField(_("区域路径"))

    class Meta:
        verbose_name = _("走访照片")
        verbose_name_plural = _("走访照片")

    def __str__(self) -> str:
        return self.original_name


class VisitMiss(models.Model):
    """A missed visit: a period of a membership's schedule that ended (plus grace) without a visit.
    One row per (membership, period): the sweep creates it once and notifies once. A later visit
    resolves it (``resolved_at``); the assessment counts them."""

    scope_perm = "special.view"

    @classmethod
    def scope_q(cls, grants: list) -> Q:  # type: ignore[type-arg]
        return special_scope_q(grants, "membership__")

    membership = models.ForeignKey(
        SpecialGroupMembership,
        verbose_name=_("特殊人群记录"),
        on_delete=models.CASCADE,
        related_name="misses",
    )
    period_start = models.DateTimeField(_("周期开始"))
    period_end = models.DateTimeField(_("周期结束"))
    due_at = models.DateTimeField(_("走访截止"))
    region_path = PathField(_("区域路径"), db_index=True)
    supervisor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("责任网格员"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("发现时间"))
    resolved_at = models.DateTimeField(_("补访时间"), null=True, blank=True)
    resolved_by_visit = models.ForeignKey(
        Visit, verbose_name=_("补访记录"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("逾期未走访")
        verbose_name_plural = _("逾期未走访")
        ordering = ["-due_at"]
        constraints = [
            models.UniqueConstraint(fields=["membership", "period_start"], name="visitmiss_once_per_period")
        ]
        indexes = [models.Index(fields=["membership", "resolved_at"], name="visitmiss_open_idx")]

    def __str__(self) -> str:
        return f"{self.membership_id} {self.period_start:%Y-%m-%d}"


class UnmaskReason(models.TextChoices):
    VISIT = "visit", _("入户走访联系")
    CASE = "case", _("案件办理")
    VERIFY = "verify", _("信息核实")
    EMERGENCY = "emergency", _("应急处置")
    OTHER = "other", _("其他")
