"""The configuration admin (Django admin, in Chinese), driven by role grants.

Decisions
---------
* **Who may enter.** Access comes from ``RoleGrant`` rows, never from Django's ``is_staff`` or model
  permissions (``Group`` is unregistered; ``is_staff`` is not set and not read anywhere). The
  default ``admin.site`` gets its ``has_permission`` replaced: an active user may enter when they
  are a superuser (bootstrap only) or hold a grant of one of ``roles.ADMIN_ROLES`` (system
  administrator, security administrator, auditor). The admin's login form is replaced likewise
  (``AdminLoginForm``: same lockout-aware backend, the admin-role check instead of ``is_staff``),
  and its logout writes the same ``logout`` audit row as the main site. We patch the default site
  instead of installing an ``AdminSite`` subclass so that neither ``INSTALLED_APPS`` nor
  ``config/urls.py`` has to change.
* **Separation of duties (三员分立).** Each ``ModelAdmin`` names the permissions (``orgs.roles.Perm``)
  that let a user see it (``admin_perms``) and the one that lets them write (``manage_perm``):

  ============================  =====================================  ==========================
  model                         visible with                           written with
  ============================  =====================================  ==========================
  Region / Department           region.manage / org.manage,            region.manage / org.manage
                                grant.manage (pick them in a grant)
  Center                        org.manage                             org.manage
  Grid (+ members inline)       grid.manage                            grid.manage
  User                          user.manage, grant.manage, token.manage user.manage
  RoleGrant                     grant.manage                           grant.manage (add/revoke)
  ApiToken                      token.manage                           token.manage (add/revoke)
  CalendarDay                   calendar.manage                        calendar.manage at city
                                                                       level or above
  AuditLog                      audit.view                             nobody
  ============================  =====================================  ==========================

  So the system administrator configures regions, centers, departments, grids, users and the
  calendar; the security administrator grants roles and issues/revokes API tokens (and sees users,
  regions and departments read-only so as to pick them); the auditor sees only the audit log.
  A system administrator may not edit their own account nor that of anyone holding an admin role
  (those accounts belong to the installation's operator), and a token may not be issued for a
  holder of an admin role (a token acts as its user, which would cross the separation).
* **Scope.** Every ``get_queryset`` is ``scoping.visible_to(user, qs, perm)`` for the admin perms the
  user holds; foreign-key choices are ``visible_to`` with the writing perm; object pages outside
  scope answer 404, exactly as for absent rows. Regions are picked with scoped autocomplete (there
  can be 665k regions; a ``<select>`` of them is never rendered) and a grid's village picker offers
  villages only.
* **Writes go through the services.** New users → ``user_create`` (password rules shown as form
  errors), departments → ``department_create``, grids → ``grid_create``, grid members →
  ``grid_member_add``, grants → ``role_grant``/``role_revoke``, tokens →
  ``api_token_create``/``api_token_revoke``, unlocking → ``user_unlock``. Forms check the same
  rules first so the user gets a field error; should a service still refuse (a race), the request
  fails with 403 and nothing is written. Plain field edits of existing rows are saved by the admin
  and recorded with ``audit_record(action="admin.change")`` in the same transaction.
* **Not editable here.** Regions are not added or deleted (they come from ``import_regions``);
  departments and grids are switched off (``is_active``), not deleted; grants are not changed
  (revoke and grant again); grid boundaries come from the geometry import.
* **API tokens** are created here by the security administrator; the clear token is shown once in a
  message on the next page and never stored.
* **New users need a department** when created by a non-superuser: a user's visibility follows
  their grants or their department (``User.scope_q``), so a user with neither would vanish from
  every scoped administrator's view.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from zongzhi.core import admin as core_admin
from zongzhi.core.audit import audit_record, client_ip
from zongzhi.core.errors import DomainError
from zongzhi.core.models import AuditLog, CalendarDay

from . import services
from .models import (
    ApiToken,
    Center,
    Department,
    Grid,
    GridMembership,
    GridRole,
    Region,
    RegionLevel,
    RoleGrant,
    User,
)
from .paths import is_within
from .roles import ADMIN_ROLES, Perm, Role
from .scoping import grants_of, grants_with, user_can, user_can_anywhere, visible_to

site = admin.site

# --- the site: who may enter ----------------------------------------------------------------------


def is_admin_user(user: Any) -> bool:
    """Active and either a superuser or the holder of a system/security admin or auditor grant."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return bool(user.is_superuser) or any(g.role in ADMIN_ROLES for g in grants_of(user))


def _site_has_permission(request: HttpRequest) -> bool:
    return is_admin_user(request.user)


class AdminLoginForm(AdminAuthenticationForm):
    """The admin's sign-in: the lockout-aware backend, then an admin-role check (not ``is_staff``)."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "no_admin_role": _("此账号没有配置管理权限：需要系统管理员、安全管理员或安全审计员角色。"),
    }

    def confirm_login_allowed(self, user: Any) -> None:
        AuthenticationForm.confirm_login_allowed(self, user)
        if not is_admin_user(user):
            raise ValidationError(self.error_messages["no_admin_role"], code="no_admin_role")


_default_logout = site.logout


def _site_logout(request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
    if request.method == "POST" and request.user.is_authenticated:
        services.user_logged_out(user=request.user, ip=client_ip(request))  # type: ignore[arg-type]
    return _default_logout(request, extra_context)


site.has_permission = _site_has_permission  # type: ignore[method-assign]
site.login_form = AdminLoginForm
site.logout = _site_logout  # type: ignore[method-assign,assignment]
if site.is_registered(Group):
    site.unregister(Group)


# --- the grant-based ModelAdmin ---------------------------------------------------------------------------


def _service_call(fn: Any, **kwargs: Any) -> Any:
    """Run a service; a refusal that the form did not foresee (a race) becomes a 403."""
    try:
        return fn(**kwargs)
    except DomainError as exc:
        raise PermissionDenied(str(exc.message)) from exc


def _adopt(target: Model, source: Model) -> None:
    """Make the admin's unsaved instance ``target`` the row the service created (``source``)."""
    target.__dict__.update(source.__dict__)


def _holds_at_top(user: Any, perm: str) -> bool:
    """``perm`` granted at city level or above (the whole installation) — or a superuser."""
    if getattr(user, "is_superuser", False) and user.is_active:
        return True
    return any(len([p for p in g.path.split("/") if p]) <= 2 for g in grants_with(user, perm))


class ScopedAdmin(admin.ModelAdmin):
    """Permissions from role grants; rows, choices and object pages limited to the user's scope."""

    admin_perms: tuple[str, ...] = ()
    manage_perm: str | None = None
    allow_add = True
    allow_change = True
    allow_delete = False
    show_full_result_count = False
    list_per_page = 50

    # permissions --------------------------------------------------------------------------------
    def held_perms(self, request: HttpRequest) -> list[str]:
        return [p for p in self.admin_perms if user_can_anywhere(request.user, p)]

    def can_manage(self, request: HttpRequest, obj: Any = None) -> bool:
        if self.manage_perm is None or not user_can_anywhere(request.user, self.manage_perm):
            return False
        return obj is None or self.in_manage_scope(request, obj)

    def in_manage_scope(self, request: HttpRequest, obj: Any) -> bool:
        assert self.manage_perm is not None
        path = getattr(obj, "region_path", None)
        if path is not None:
            return user_can(request.user, self.manage_perm, path)
        return visible_to(request.user, type(obj), self.manage_perm).filter(pk=obj.pk).exists()

    def has_module_permission(self, request: HttpRequest) -> bool:
        return bool(self.held_perms(request))

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(self.held_perms(request))

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return self.allow_add and self.can_manage(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.allow_change and self.can_manage(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.allow_delete and self.can_manage(request, obj)

    # rows -------------------------------------------------------------------------------------------
    def scope_queryset(self, request: HttpRequest, qs: QuerySet[Any]) -> QuerySet[Any]:
        perms = self.held_perms(request)
        if not perms:
            return qs.none()
        result = visible_to(request.user, qs, perms[0])
        for perm in perms[1:]:
            result = result | visible_to(request.user, qs, perm)
        return result

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return self.scope_queryset(request, super().get_queryset(request))

    def _get_obj_does_not_exist_redirect(
        self, request: HttpRequest, opts: Any, object_id: str
    ) -> HttpResponse:
        # Outside the scope an object does not exist: the same 404 as for an absent one.
        raise Http404

    # choices ----------------------------------------------------------------------------------------
    def fk_perm(self) -> str:
        return self.manage_perm or self.admin_perms[0]

    def fk_queryset(self, request: HttpRequest, db_field: Any, qs: QuerySet[Any]) -> QuerySet[Any]:
        return qs

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        remote = db_field.remote_field.model
        if remote in (Region, Department, User, Grid):
            qs = visible_to(request.user, remote._default_manager.all(), self.fk_perm())
            kwargs["queryset"] = self.fk_queryset(request, db_field, qs)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)
        form.actor = request.user  # type: ignore[attr-defined]  # forms check the services' rules first
        return form

    # writes -----------------------------------------------------------------------------------------
    def create_via_service(self, request: HttpRequest, obj: Any, form: Any) -> Model:
        raise PermissionDenied

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if not change:
            _adopt(obj, self.create_via_service(request, obj, form))
            return
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            audit_record(
                actor=request.user,
                action="admin.change",
                obj=obj,
                ip=client_ip(request),
                data={"fields": list(form.changed_data)},
            )


class ActorForm(forms.ModelForm):
    actor: Any = None


# --- regions and centers -------------------------------------------------------------------------------


@admin.register(Region)
class RegionAdmin(ScopedAdmin):
    admin_perms = (Perm.REGION_MANAGE, Perm.ORG_MANAGE, Perm.GRID_MANAGE, Perm.GRANT_MANAGE)
    manage_perm = Perm.REGION_MANAGE
    allow_add = False
    list_display = ("code", "name", "level", "parent")
    list_filter = ("level",)
    search_fields = ("^code", "name")
    list_select_related = ("parent",)
    fields = ("code", "name", "level", "parent", "path", "boundary_geojson", "updated_at")
    readonly_fields = ("code", "level", "parent", "path", "updated_at")

    def get_search_results(self, request: HttpRequest, queryset: QuerySet[Any], search_term: str) -> Any:
        qs, distinct = super().get_search_results(request, queryset, search_term)
        # Autocomplete of a grid's village offers villages only.
        if request.GET.get("model_name") == "grid" and request.GET.get("field_name") == "village":
            qs = qs.filter(level=RegionLevel.VILLAGE)
        return qs, distinct


@admin.register(Center)
class CenterAdmin(ScopedAdmin):
    admin_perms = (Perm.ORG_MANAGE,)
    manage_perm = Perm.ORG_MANAGE
    allow_add = False
    list_display = ("name", "region", "kind", "phone")
    list_filter = ("kind",)
    search_fields = ("name", "^region__code")
    list_select_related = ("region",)
    fields = ("region", "kind", "name", "phone", "address")
    readonly_fields = ("region", "kind")


# --- departments --------------------------------------------------------------------------------------


class DepartmentAddForm(ActorForm):
    class Meta:
        model = Department
        fields = ("region", "name", "short_name", "kind", "posted_to_center", "phone")

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        region, name = data.get("region"), (data.get("name") or "").strip()
        if region and name and Department.objects.filter(region=region, name=name).exists():
            self.add_error("name", _("该区域已有同名部门。"))
        return data


@admin.register(Department)
class DepartmentAdmin(ScopedAdmin):
    admin_perms = (Perm.ORG_MANAGE, Perm.USER_MANAGE, Perm.GRANT_MANAGE)
    manage_perm = Perm.ORG_MANAGE
    list_display = ("name", "region", "kind", "posted_to_center", "phone", "is_active")
    list_filter = ("kind", "region__level", "posted_to_center", "is_active")
    search_fields = ("name", "short_name", "^region__code", "region__name")
    list_select_related = ("region",)
    autocomplete_fields = ("region",)
    add_fields = ("region", "name", "short_name", "kind", "posted_to_center", "phone")
    change_fields = ("region", "name", "short_name", "kind", "posted_to_center", "phone", "is_active")

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.add_fields if obj is None else self.change_fields

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return () if obj is None else ("region",)

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        if obj is None:
            kwargs["form"] = DepartmentAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def create_via_service(self, request: HttpRequest, obj: Any, form: Any) -> Model:
        d = form.cleaned_data
        return _service_call(
            services.department_create,
            actor=request.user,
            region=d["region"],
            name=d["name"],
            kind=d["kind"],
            short_name=d.get("short_name", ""),
            posted_to_center=d.get("posted_to_center", False),
            phone=d.get("phone", ""),
        )


# --- grids and their members ----------------------------------------------------------------------------


class GridAddForm(ActorForm):
    code = forms.CharField(
        label=_("网格编码"),
        required=False,
        max_length=15,
        help_text=_("留空则按所属村（社区）代码自动编号。"),
    )

    class Meta:
        model = Grid
        fields = ("village", "name", "code", "population", "households")

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        village, code = data.get("village"), (data.get("code") or "").strip()
        if village is None:
            return data
        if village.level != RegionLevel.VILLAGE:
            self.add_error("village", _("网格只能建在村（社区）下。"))
            return data
        if not code:
            code = services.grid_next_code(village)
        elif len(code) != 15 or not code.isdigit() or not code.startswith(village.code):
            self.add_error("code", _("网格编码须为所属村（社区）12位代码加3位序号。"))
        data["code"] = code
        return data


class GridMembershipInline(admin.TabularInline):
    model = GridMembership
    extra = 0
    fields = ("user", "role", "employment", "agency", "since")
    readonly_fields = ("since",)
    autocomplete_fields = ("user",)

    def _can(self, request: HttpRequest, obj: Any) -> bool:
        return obj is not None and user_can(request.user, Perm.GRID_MANAGE, obj)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return user_can_anywhere(request.user, Perm.GRID_MANAGE)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._can(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._can(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._can(request, obj)

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "user":
            kwargs["queryset"] = visible_to(request.user, User.objects.all(), Perm.GRID_MANAGE)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(Grid)
class GridAdmin(ScopedAdmin):
    admin_perms = (Perm.GRID_MANAGE,)
    manage_perm = Perm.GRID_MANAGE
    list_display = ("code", "name", "village", "population", "households", "is_active")
    list_filter = ("is_active",)
    search_fields = ("^code", "name", "village__name")
    list_select_related = ("village",)
    autocomplete_fields = ("village",)
    inlines = (GridMembershipInline,)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return ("village", "name", "code", "population", "households")
        return ("code", "village", "name", "population", "households", "is_active", "updated_at")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return () if obj is None else ("code", "village", "updated_at")

    def get_inlines(self, request: HttpRequest, obj: Any) -> Any:
        return self.inlines if obj is not None else ()

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        if obj is None:
            kwargs["form"] = GridAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def fk_queryset(self, request: HttpRequest, db_field: Any, qs: QuerySet[Any]) -> QuerySet[Any]:
        return qs.filter(level=RegionLevel.VILLAGE) if db_field.name == "village" else qs

    def create_via_service(self, request: HttpRequest, obj: Any, form: Any) -> Model:
        d = form.cleaned_data
        return _service_call(
            services.grid_create,
            actor=request.user,
            village=d["village"],
            name=d["name"],
            code=d["code"],
            population=d.get("population") or 0,
            households=d.get("households") or 0,
        )

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        if formset.model is not GridMembership:
            return super().save_formset(request, form, formset, change)
        grid = form.instance
        ip = client_ip(request)
        # What the admin's change message reads (formset.save() is not called: the service writes).
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for sub in formset.forms:
            if not hasattr(sub, "cleaned_data") or not sub.cleaned_data:
                continue
            member = sub.instance
            if formset.can_delete and formset._should_delete_form(sub):
                if member.pk:
                    audit_record(
                        actor=request.user,
                        action="grid.member_remove",
                        obj=grid,
                        ip=ip,
                        data={"user": member.user.username},
                    )
                    member.delete()
                    formset.deleted_objects.append(member)
            elif member.pk is None:
                d = sub.cleaned_data
                created = _service_call(
                    services.grid_member_add,
                    actor=request.user,
                    grid=grid,
                    user=d["user"],
                    role=d.get("role") or GridRole.WORKER,
                    employment=d["employment"],
                    agency=d.get("agency", ""),
                )
                formset.new_objects.append(created)
            elif sub.has_changed():
                member.save()
                audit_record(
                    actor=request.user,
                    action="admin.change",
                    obj=member,
                    ip=ip,
                    data={"fields": list(sub.changed_data)},
                )
                formset.changed_objects.append((member, sub.changed_data))
        return None


# --- users -------------------------------------------------------------------------------------------------


class UserAddForm(ActorForm):
    password1 = forms.CharField(
        label=_("密码"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
    )
    password2 = forms.CharField(
        label=_("确认密码"), strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )

    class Meta:
        model = User
        fields = ("username", "display_name", "phone", "department")
        help_texts = {"department": _("账号按所属部门确定可见范围；授权前只有该区域的管理员能看到此账号。")}

    def clean_department(self) -> Department | None:
        department = self.cleaned_data.get("department")
        if department is None and not getattr(self.actor, "is_superuser", False):
            raise ValidationError(_("请选择所属部门。"), code="required")
        return department

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        p1, p2 = data.get("password1"), data.get("password2")
        if p1 and p2 and p1 != p2:
            self.add_error("password2", _("两次输入的密码不一致。"))
        elif p1:
            probe = User(username=data.get("username") or "", display_name=data.get("display_name") or "")
            try:
                password_validation.validate_password(p1, probe)
            except ValidationError as exc:
                self.add_error("password1", exc)
        return data


class UserChangeForm(ActorForm):
    new_password1 = forms.CharField(
        label=_("重置密码"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("留空则不修改密码。"),
    )
    new_password2 = forms.CharField(
        label=_("确认新密码"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    class Meta:
        model = User
        fields = ("display_name", "phone", "email", "department", "is_active")

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        p1, p2 = data.get("new_password1"), data.get("new_password2")
        if p1 or p2:
            if p1 != p2:
                self.add_error("new_password2", _("两次输入的密码不一致。"))
            else:
                try:
                    password_validation.validate_password(str(p1), self.instance)
                except ValidationError as exc:
                    self.add_error("new_password1", exc)
        return data


@admin.register(User)
class UserAdmin(ScopedAdmin):
    admin_perms = (Perm.USER_MANAGE, Perm.GRANT_MANAGE, Perm.TOKEN_MANAGE, Perm.GRID_MANAGE)
    manage_perm = Perm.USER_MANAGE
    list_display = ("username", "display_name", "department", "is_active", "locked_until", "last_login")
    list_filter = ("is_active", "department__kind")
    search_fields = ("username", "display_name", "phone")
    list_select_related = ("department",)
    autocomplete_fields = ("department",)
    ordering = ("username",)
    actions = ("unlock_users",)
    add_fieldsets = (
        (None, {"fields": ("username", "display_name", "phone", "department", "password1", "password2")}),
    )
    change_fieldsets = (
        (None, {"fields": ("username", "display_name", "phone", "email", "department", "is_active")}),
        (
            _("登录状态"),
            {"fields": ("last_login", "failed_login_count", "locked_until", "password_changed_at")},
        ),
        (_("重置密码"), {"fields": ("new_password1", "new_password2")}),
        (_("角色授权"), {"fields": ("grant_list",)}),
    )

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.add_fieldsets if obj is None else self.change_fieldsets

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return ()
        return (
            "username",
            "last_login",
            "failed_login_count",
            "locked_until",
            "password_changed_at",
            "grant_list",
        )

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        kwargs["form"] = UserAddForm if obj is None else UserChangeForm
        return super().get_form(request, obj, change=change, **kwargs)

    @admin.display(description=_("角色授权"))
    def grant_list(self, obj: User) -> str:
        rows = obj.grants.select_related("region").order_by("region__path", "role")
        return "；".join(f"{g.get_role_display()} @ {g.region.name}" for g in rows) or "-"

    def in_manage_scope(self, request: HttpRequest, obj: Any) -> bool:
        user = request.user
        if getattr(user, "is_superuser", False):
            return True
        # Not one's own account, nor an administrator's (三员分立: the installation's operator manages those).
        if obj.pk == user.pk or RoleGrant.objects.filter(user=obj, role__in=ADMIN_ROLES).exists():
            return False
        return super().in_manage_scope(request, obj)

    def create_via_service(self, request: HttpRequest, obj: Any, form: Any) -> Model:
        d = form.cleaned_data
        return _service_call(
            services.user_create,
            actor=request.user,
            username=d["username"],
            password=d["password1"],
            display_name=d.get("display_name", ""),
            phone=d.get("phone", ""),
            department=d.get("department"),
            ip=client_ip(request),
        )

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if not change:
            return super().save_model(request, obj, form, change)
        password = form.cleaned_data.get("new_password1")
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            if password:
                obj.set_password(password)
                obj.password_changed_at = timezone.now()
                obj.save(update_fields=["password", "password_changed_at"])
                audit_record(actor=request.user, action="user.password_reset", obj=obj, ip=client_ip(request))
        return None

    @admin.action(description=_("解锁所选账号"))
    def unlock_users(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        done = 0
        for user in queryset:
            if self.can_manage(request, user):
                _service_call(services.user_unlock, actor=request.user, user=user, ip=client_ip(request))
                done += 1
        self.message_user(request, _("已解锁 %(n)d 个账号。") % {"n": done}, messages.SUCCESS)


# --- role grants ---------------------------------------------------------------------------------------------


class RoleGrantAddForm(ActorForm):
    class Meta:
        model = RoleGrant
        fields = ("user", "role", "region", "department")
        help_texts = {"department": _("部门承办人必填；留空则取该用户的所属部门。")}

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        user, role, region = data.get("user"), data.get("role"), data.get("region")
        department = data.get("department")
        if user is not None and self.actor is not None and user.pk == self.actor.pk:
            self.add_error("user", _("不能给自己授权。"))
        if region is not None and not user_can(self.actor, Perm.GRANT_MANAGE, region):
            self.add_error("region", _("该区域不在您的管理范围内。"))
        if role == Role.DEPARTMENT_HANDLER and department is None and user is not None:
            department = user.department
            if department is None:
                self.add_error("department", _("部门承办人必须指定所属部门。"))
        if (
            department is not None
            and region is not None
            and not (
                is_within(region.path, department.region_path)
                or is_within(department.region_path, region.path)
            )
        ):
            self.add_error("department", _("部门不在授权区域内。"))
        if (
            user is not None
            and role
            and region is not None
            and RoleGrant.objects.filter(user=user, role=role, region=region).exists()
        ):
            self.add_error(None, _("该用户在此区域已有此角色。"))
        return data

    def validate_unique(self) -> None:
        # Checked in clean() with a Chinese message; the service is the authority.
        return None


@admin.register(RoleGrant)
class RoleGrantAdmin(ScopedAdmin):
    admin_perms = (Perm.GRANT_MANAGE,)
    manage_perm = Perm.GRANT_MANAGE
    allow_change = False
    allow_delete = True
    form = RoleGrantAddForm
    list_display = ("user", "role", "region", "department", "granted_by", "created_at")
    list_filter = ("role",)
    search_fields = ("user__username", "user__display_name", "^region__code", "region__name")
    list_select_related = ("user", "region", "department", "granted_by")
    autocomplete_fields = ("user", "region", "department")
    fields = ("user", "role", "region", "department")

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.fields if obj is None else (*self.fields, "granted_by", "created_at")

    def create_via_service(self, request: HttpRequest, obj: Any, form: Any) -> Model:
        d = form.cleaned_data
        return _service_call(
            services.role_grant,
            actor=request.user,
            user=d["user"],
            role=d["role"],
            region=d["region"],
            department=d.get("department"),
            ip=client_ip(request),
        )

    def delete_model(self, request: HttpRequest, obj: RoleGrant) -> None:
        _service_call(services.role_revoke, actor=request.user, grant=obj, ip=client_ip(request))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[RoleGrant]) -> None:
        for grant in queryset.select_related("user", "region"):
            if self.can_manage(request, grant):
                self.delete_model(request, grant)


# --- API tokens --------------------------------------------------------------------------------------------


class ApiTokenAddForm(ActorForm):
    class Meta:
        model = ApiToken
        fields = ("user", "name", "expires_at")

    def clean_user(self) -> User:
        user = self.cleaned_data["user"]
        if RoleGrant.objects.filter(user=user, role__in=ADMIN_ROLES).exists():
            raise ValidationError(_("不能为管理员账号签发接口令牌。"))
        if not getattr(self.actor, "is_superuser", False):
            roots = [g.path for g in grants_with(self.actor, Perm.TOKEN_MANAGE)]
            paths = RoleGrant.objects.filter(user=user).values_list("region_path", flat=True)
            if any(not any(is_within(p, r) for r in roots) for p in paths):
                raise ValidationError(_("该用户有超出您管理范围的授权，不能为其签发令牌。"))
        return user


@admin.register(ApiToken)
class ApiTokenAdmin(ScopedAdmin):
    admin_perms = (Perm.TOKEN_MANAGE,)
    manage_perm = Perm.TOKEN_MANAGE
    allow_change = False
    form = ApiTokenAddForm
    list_display = (
        "user",
        "name",
        "prefix",
        "created_at",
        "created_by",
        "expires_at",
        "last_used_at",
        "revoked_at",
    )
    list_filter = (("revoked_at", admin.EmptyFieldListFilter),)
    search_fields = ("user__username", "user__display_name", "name", "^prefix")
    list_select_related = ("user", "created_by")
    autocomplete_fields = ("user",)
    actions = ("revoke_tokens",)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return ("user", "name", "expires_at")
        return (
            "user",
            "name",
            "prefix",
            "created_at",
            "created_by",
            "expires_at",
            "last_used_at",
            "revoked_at",
        )

    def scope_queryset(self, request: HttpRequest, qs: QuerySet[Any]) -> QuerySet[Any]:
        if not self.held_perms(request):
            return qs.none()
        return qs.filter(user__in=visible_to(request.user, User.objects.all(), Perm.TOKEN_MANAGE))

    def in_manage_scope(self, request: HttpRequest, obj: Any) -> bool:
        return self.scope_queryset(request, ApiToken.objects.filter(pk=obj.pk)).exists()

    def create_via_service(self, request: HttpRequest, obj: Any, form: Any) -> Model:
        d = form.cleaned_data
        token, clear = _service_call(
            services.api_token_create,
            actor=request.user,
            user=d["user"],
            name=d["name"],
            expires_at=d.get("expires_at"),
            ip=client_ip(request),
        )
        self.message_user(
            request,
            _("接口令牌明文只显示这一次，请立即复制并妥善保存：%(token)s") % {"token": clear},
            messages.WARNING,
        )
        return token  # type: ignore[no-any-return]

    @admin.action(description=_("吊销所选令牌"))
    def revoke_tokens(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        done = 0
        for token in queryset.filter(revoked_at__isnull=True):
            _service_call(services.api_token_revoke, actor=request.user, token=token, ip=client_ip(request))
            done += 1
        self.message_user(request, _("已吊销 %(n)d 个令牌。") % {"n": done}, messages.SUCCESS)

    def get_actions(self, request: HttpRequest) -> Any:
        actions = super().get_actions(request)
        if not self.can_manage(request):
            actions.pop("revoke_tokens", None)
        return actions


# --- core models: the audit log and the working calendar ---------------------------------------------------


@admin.register(AuditLog)
class AuditLogAdmin(ScopedAdmin, core_admin.AuditLogAdmin):
    """Read-only for everyone. An auditor sees rows located in their subtree, rows without a region
    whose actor is a user in their subtree (sign-ins), and — at city level or above — the rest."""

    admin_perms = (Perm.AUDIT_VIEW,)
    manage_perm = None
    allow_add = allow_change = allow_delete = False

    def scope_queryset(self, request: HttpRequest, qs: QuerySet[Any]) -> QuerySet[Any]:
        user = request.user
        if not self.held_perms(request):
            return qs.none()
        located = visible_to(user, qs, Perm.AUDIT_VIEW)
        if _holds_at_top(user, Perm.AUDIT_VIEW):
            return located | qs.filter(region_path="")
        actors = visible_to(user, User.objects.all(), Perm.AUDIT_VIEW)
        return located | qs.filter(region_path="", actor__in=actors)


@admin.register(CalendarDay)
class CalendarDayAdmin(ScopedAdmin, core_admin.CalendarDayAdmin):
    """The calendar is one for the whole installation: seen by any holder of calendar.manage, edited
    only by those holding it at city level or above."""

    admin_perms = (Perm.CALENDAR_MANAGE,)
    manage_perm = Perm.CALENDAR_MANAGE
    allow_delete = True

    def scope_queryset(self, request: HttpRequest, qs: QuerySet[Any]) -> QuerySet[Any]:
        return qs if self.held_perms(request) else qs.none()

    def can_manage(self, request: HttpRequest, obj: Any = None) -> bool:
        return _holds_at_top(request.user, Perm.CALENDAR_MANAGE)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        core_admin.CalendarDayAdmin.save_model(self, request, obj, form, change)
