"""The organisation: region tree, centers, departments, users, role grants, grids, API tokens."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from zongzhi.core.fields import PathField

from .paths import subtree_q
from .roles import Role


class RegionLevel(models.TextChoices):
    PROVINCE = "province", _("省")
    CITY = "city", _("市")
    COUNTY = "county", _("县（市、区）")
    TOWNSHIP = "township", _("乡镇（街道）")
    VILLAGE = "village", _("村（社区）")


LEVEL_DEPTH = {
    RegionLevel.PROVINCE: 0,
    RegionLevel.CITY: 1,
    RegionLevel.COUNTY: 2,
    RegionLevel.TOWNSHIP: 3,
    RegionLevel.VILLAGE: 4,
}


class Region(models.Model):
    """A node of the administrative tree, keyed by its 12-digit statistical division code."""

    scope_field = "path"
    scope_perm = "region.view"

    code = models.CharField(_("统计用区划代码"), max_length=12, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    level = models.CharField(_("层级"), max_length=10, choices=RegionLevel.choices, db_index=True)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("上级区域"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    path = PathField(_("区域路径"), unique=True)
    boundary_geojson = models.TextField(_("边界（GeoJSON）"), blank=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("行政区划")
        verbose_name_plural = _("行政区划")
        ordering = ["path"]

    def __str__(self) -> str:
        return f"{self.name}（{self.code}）"

    @property
    def region_path(self) -> str:
        return self.path


class CenterKind(models.TextChoices):
    CENTER = "center", _("综治中心")
    WORK_STATION = "work_station", _("综治工作站")


class Center(models.Model):
    """The comprehensive-governance center of one region (village level: a work station)."""

    scope_perm = "org.view"

    region = models.OneToOneField(
        Region, verbose_name=_("所属区域"), on_delete=models.PROTECT, related_name="center"
    )
    name = models.CharField(_("名称"), max_length=120)
    kind = models.CharField(_("类型"), max_length=16, choices=CenterKind.choices, default=CenterKind.CENTER)
    region_path = PathField(_("区域路径"), db_index=True)
    phone = models.CharField(_("值班电话"), max_length=32, blank=True)
    address = models.CharField(_("地址"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("综治中心")
        verbose_name_plural = _("综治中心")
        ordering = ["region_path"]

    def __str__(self) -> str:
        return self.name


class DepartmentKind(models.TextChoices):
    PUBLIC_SECURITY = "public_security", _("公安")
    JUSTICE = "justice", _("司法行政")
    COURT = "court", _("法院")
    PROCURATORATE = "procuratorate", _("检察")
    PETITION = "petition", _("信访")
    HOUSING = "housing", _("住房城乡建设")
    URBAN_MANAGEMENT = "urban_management", _("城市管理")
    MARKET = "market", _("市场监管")
    ENVIRONMENT = "environment", _("生态环境")
    HUMAN_RESOURCES = "human_resources", _("人力资源社会保障")
    CIVIL_AFFAIRS = "civil_affairs", _("民政")
    HEALTH = "health", _("卫生健康")
    EDUCATION = "education", _("教育")
    TRANSPORT = "transport", _("交通运输")
    NATURAL_RESOURCES = "natural_resources", _("自然资源")
    EMERGENCY = "emergency", _("应急管理")
    AGRICULTURE = "agriculture", _("农业农村")
    WATER = "water", _("水利")
    GOVERNMENT = "government", _("乡镇（街道）办事处")
    VILLAGE_COMMITTEE = "village_committee", _("村（居）委会")
    OTHER = "other", _("其他")


class Department(models.Model):
    """A unit that handles cases, attached to a region; may post staff into that region's center."""

    scope_perm = "org.view"

    region = models.ForeignKey(
        Region, verbose_name=_("所属区域"), on_delete=models.PROTECT, related_name="departments"
    )
    region_path = PathField(_("区域路径"), db_index=True)
    name = models.CharField(_("名称"), max_length=120)
    short_name = models.CharField(_("简称"), max_length=40, blank=True)
    kind = models.CharField(
        _("类别"), max_length=32, choices=DepartmentKind.choices, default=DepartmentKind.OTHER
    )
    posted_to_center = models.BooleanField(_("派驻综治中心"), default=False)
    phone = models.CharField(_("联系电话"), max_length=32, blank=True)
    is_active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("职能部门")
        verbose_name_plural = _("职能部门")
        ordering = ["region_path", "name"]
        constraints = [
            models.UniqueConstraint(fields=["region", "name"], name="department_unique_name_in_region")
        ]

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    """A person who signs in. What they may see and do comes only from their ``RoleGrant`` rows."""

    display_name = models.CharField(_("姓名"), max_length=60, blank=True)
    phone = models.CharField(_("手机号"), max_length=20, blank=True)
    department = models.ForeignKey(
        Department,
        verbose_name=_("所属部门"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="staff",
    )
    failed_login_count = models.PositiveIntegerField(_("连续登录失败次数"), default=0)
    locked_until = models.DateTimeField(_("锁定至"), null=True, blank=True)
    password_changed_at = models.DateTimeField(_("密码修改时间"), null=True, blank=True)

    scope_perm = "user.view"

    class Meta:
        verbose_name = _("用户")
        verbose_name_plural = _("用户")

    @classmethod
    def scope_q(cls, grants: list) -> Q:  # type: ignore[type-arg]
        """A user is visible where they hold a grant or belong to a department."""
        roots = [g.path for g in grants]
        return Q(pk__in=RoleGrant.objects.filter(subtree_q("region_path", roots)).values("user_id")) | Q(
            pk__in=User.objects.filter(subtree_q("department__region_path", roots)).values("pk")
        )

    def __str__(self) -> str:
        return self.display_name or self.username


class RoleGrant(models.Model):
    """``user`` holds ``role`` in ``region`` and every region below it."""

    scope_perm = "user.view"

    user = models.ForeignKey(User, verbose_name=_("用户"), on_delete=models.CASCADE, related_name="grants")
    role = models.CharField(_("角色"), max_length=32, choices=Role.choices)
    region = models.ForeignKey(
        Region, verbose_name=_("区域"), on_delete=models.PROTECT, related_name="grants"
    )
    region_path = PathField(_("区域路径"), db_index=True)
    department = models.ForeignKey(
        Department,
        verbose_name=_("部门"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="grants",
    )
    granted_by = models.ForeignKey(
        User, verbose_name=_("授权人"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("授权时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("角色授权")
        verbose_name_plural = _("角色授权")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "role", "region"], name="rolegrant_unique_user_role_region"
            ),
            models.CheckConstraint(
                condition=~Q(role=Role.DEPARTMENT_HANDLER) | Q(department__isnull=False),
                name="rolegrant_handler_has_department",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.get_role_display()} · {self.region.name}"


class Grid(models.Model):
    """The basic management unit under a village/community.

    ``code`` = the village's 12-digit code + a 3-digit sequence. The polygon is GeoJSON text with
    its bounding box in columns (the geometry index lives in ``zongzhi.geo``)."""

    scope_perm = "grid.view"

    code = models.CharField(_("网格编码"), max_length=15, unique=True)
    name = models.CharField(_("网格名称"), max_length=100)
    village = models.ForeignKey(
        Region, verbose_name=_("所属村（社区）"), on_delete=models.PROTECT, related_name="grids"
    )
    region_path = PathField(_("区域路径"), db_index=True)
    polygon_geojson = models.TextField(_("边界（GeoJSON）"), blank=True)
    min_lon = models.FloatField(null=True, blank=True)
    min_lat = models.FloatField(null=True, blank=True)
    max_lon = models.FloatField(null=True, blank=True)
    max_lat = models.FloatField(null=True, blank=True)
    population = models.PositiveIntegerField(_("人口数"), default=0)
    households = models.PositiveIntegerField(_("户数"), default=0)
    is_active = models.BooleanField(_("启用"), default=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("网格")
        verbose_name_plural = _("网格")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(condition=Q(code__regex=r"^[0-9]{15}$"), name="grid_code_15_digits"),
        ]

    def __str__(self) -> str:
        return f"{self.name}（{self.code}）"


class GridRole(models.TextChoices):
    LEADER = "leader", _("网格长")
    WORKER = "worker", _("网格员")


class Employment(models.TextChoices):
    FULL_TIME = "full_time", _("专职")
    PART_TIME = "part_time", _("兼职")
    DEPLOYED_CADRE = "deployed_cadre", _("下沉干部")


class GridMembership(models.Model):
    scope_perm = "grid.view"

    grid = models.ForeignKey(
        Grid, verbose_name=_("网格"), on_delete=models.CASCADE, related_name="memberships"
    )
    user = models.ForeignKey(
        User, verbose_name=_("人员"), on_delete=models.CASCADE, related_name="grid_memberships"
    )
    region_path = PathField(_("区域路径"), db_index=True)
    role = models.CharField(_("网格角色"), max_length=16, choices=GridRole.choices, default=GridRole.WORKER)
    employment = models.CharField(
        _("用工形式"), max_length=16, choices=Employment.choices, default=Employment.FULL_TIME
    )
    agency = models.CharField(_("派出单位"), max_length=120, blank=True)
    since = models.DateField(_("入格日期"), null=True, blank=True)

    class Meta:
        verbose_name = _("网格人员")
        verbose_name_plural = _("网格人员")
        constraints = [
            models.UniqueConstraint(fields=["grid", "user"], name="gridmembership_unique"),
            models.UniqueConstraint(
                fields=["grid"], condition=Q(role="leader"), name="gridmembership_one_leader_per_grid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.grid.name} · {self.user} · {self.get_role_display()}"


class ApiToken(models.Model):
    """A bearer token for integrations. Only its SM3 digest is stored; the clear token is shown once."""

    user = models.ForeignKey(
        User, verbose_name=_("所属用户"), on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(_("用途"), max_length=100)
    prefix = models.CharField(_("前缀"), max_length=12, db_index=True)
    digest = models.CharField(_("摘要"), max_length=64, unique=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    created_by = models.ForeignKey(
        User, verbose_name=_("创建人"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    expires_at = models.DateTimeField(_("过期时间"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("最近使用"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("吊销时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("接口令牌")
        verbose_name_plural = _("接口令牌")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"
