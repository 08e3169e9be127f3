"""Writes on the organisation: users, grants, tokens, departments, grids, sign-in bookkeeping.

Every service takes keyword-only arguments with a required ``actor``, runs in one transaction and
writes its audit row in that transaction (ARCHITECTURE.md, rule 1).
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from zongzhi.core.audit import audit_record
from zongzhi.core.crypto import sm3_hex
from zongzhi.core.errors import Conflict, FieldError, PermissionDeniedError

from .models import (
    ApiToken,
    Center,
    CenterKind,
    Department,
    Employment,
    Grid,
    GridMembership,
    GridRole,
    Region,
    RegionLevel,
    RoleGrant,
    User,
)
from .roles import Perm, Role
from .scoping import forget_grants, grants_of, user_can, user_can_anywhere

TOKEN_PREFIX = "zz_"


def _require(actor: Any, perm: str, target: Any) -> None:
    if not user_can(actor, perm, target):
        raise PermissionDeniedError(_("无权执行此操作。"), code="forbidden", perm=perm)


# --- sign-in ----------------------------------------------------------------------------------


def user_login_failed(*, username: str, ip: str | None) -> User | None:
    """Count a failed sign-in; lock the account after ZZ_LOGIN_MAX_FAILURES (等保 登录失败处理)."""
    with transaction.atomic():
        user = User.objects.select_for_update().filter(username=username).first()
        data: dict[str, Any] = {"username": username[:150]}
        if user is not None:
            user.failed_login_count += 1
            fields = ["failed_login_count"]
            if user.failed_login_count >= settings.ZZ_LOGIN_MAX_FAILURES:
                user.locked_until = timezone.now() + timedelta(minutes=settings.ZZ_LOGIN_LOCK_MINUTES)
                user.failed_login_count = 0
                fields.append("locked_until")
                data["locked_until"] = user.locked_until.isoformat()
            user.save(update_fields=fields)
        audit_record(actor=user or username, action="login.failed", ip=ip, data=data)
    return user


def user_login_blocked(*, user: User, ip: str | None) -> None:
    with transaction.atomic():
        audit_record(actor=user, action="login.locked", ip=ip, data={"locked_until": str(user.locked_until)})


def user_login_succeeded(*, user: User, ip: str | None) -> None:
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(
            failed_login_count=0, locked_until=None, last_login=timezone.now()
        )
        audit_record(actor=user, action="login.succeeded", ip=ip)


def user_logged_out(*, user: User, ip: str | None, reason: str = "user") -> None:
    """Record a sign-out; ``reason`` is ``user`` (logout button), ``idle`` or ``expired``."""
    with transaction.atomic():
        audit_record(actor=user, action="logout", ip=ip, data={"reason": reason})


def user_unlock(*, actor: User, user: User, ip: str | None = None) -> None:
    if not user_can_anywhere(actor, Perm.USER_MANAGE):
        raise PermissionDeniedError(_("无权解锁账号。"))
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(failed_login_count=0, locked_until=None)
        audit_record(actor=actor, action="user.unlock", obj=user, ip=ip)


# --- users and grants ---------------------------------------------------------------------------


def user_create(
    *,
    actor: User | None,
    username: str,
    password: str,
    display_name: str = "",
    phone: str = "",
    department: Department | None = None,
    ip: str | None = None,
    validate: bool = True,
) -> User:
    """Create a user. ``actor=None`` only from management commands run by the operator of the
    installation (recorded as "system")."""
    if actor is not None:
        if department is not None:
            _require(actor, Perm.USER_MANAGE, department.region_path)
        elif not user_can_anywhere(actor, Perm.USER_MANAGE):
            raise PermissionDeniedError(_("无权创建用户。"))
    username = username.strip()
    if not username:
        raise FieldError("username", _("请填写账号。"), code="required")
    if User.objects.filter(username=username).exists():
        raise FieldError("username", _("账号已存在。"), code="duplicate")
    user = User(username=username, display_name=display_name, phone=phone, department=department)
    if validate:
        try:
            validate_password(password, user)
        except ValidationError as exc:
            raise FieldError("password", " ".join(exc.messages), code="weak_password") from exc
    user.set_password(password)
    user.password_changed_at = timezone.now()
    with transaction.atomic():
        user.save()
        audit_record(actor=actor or "system", action="user.create", obj=user, ip=ip)
    return user


def role_grant(
    *,
    actor: User | None,
    user: User,
    role: str,
    region: Region,
    department: Department | None = None,
    ip: str | None = None,
) -> RoleGrant:
    """Grant ``role`` over ``region`` (and below). Only a security administrator whose scope covers
    the region may grant, never to themself (三员分立); ``actor=None`` is the installation's operator."""
    if role not in Role.values:
        raise FieldError("role", _("未知角色。"), code="invalid_choice")
    if actor is not None:
        _require(actor, Perm.GRANT_MANAGE, region)
        if actor.pk == user.pk:
            raise PermissionDeniedError(_("不能给自己授权。"), code="self_grant")
    if role == Role.DEPARTMENT_HANDLER:
        department = department or user.department
        if department is None:
            raise FieldError("department", _("部门承办人必须指定所属部门。"), code="required")
    if (
        department is not None
        and not region.path.startswith(department.region_path)
        and not (department.region_path.startswith(region.path))
    ):
        raise FieldError("department", _("部门不在授权区域内。"), code="out_of_scope")
    with transaction.atomic():
        try:
            with transaction.atomic():
                grant = RoleGrant.objects.create(
                    user=user,
                    role=role,
                    region=region,
                    region_path=region.path,
                    department=department,
                    granted_by=actor,
                )
        except IntegrityError as exc:
            raise Conflict(_("该用户在此区域已有此角色。"), code="duplicate_grant") from exc
        audit_record(
            actor=actor or "system",
            action="grant.create",
            obj=grant,
            ip=ip,
            data={"user": user.username, "role": role, "region": region.code},
        )
    forget_grants(user)
    return grant


def role_revoke(*, actor: User | None, grant: RoleGrant, ip: str | None = None) -> None:
    if actor is not None:
        _require(actor, Perm.GRANT_MANAGE, grant.region_path)
    with transaction.atomic():
        audit_record(
            actor=actor or "system",
            action="grant.revoke",
            obj=grant,
            ip=ip,
            data={"user": grant.user.username, "role": grant.role, "region": grant.region.code},
        )
        grant.delete()
    forget_grants(grant.user)


# --- API tokens -------------------------------------------------------------------------------------

TOKEN_PREFIX_CHARS = 10  # "zz_" + 7 random characters, shown in listings and used to revoke


def _token_digest(clear: str) -> str:
    return sm3_hex(clear.encode())


def _require_token_manage_over(actor: User, user: User) -> None:
    """A token acts with all of its user's rights, so only someone who manages tokens over every
    region the user holds a grant in may issue one for them (no privilege escalation by token)."""
    if not user_can_anywhere(actor, Perm.TOKEN_MANAGE):
        raise PermissionDeniedError(_("无权管理接口令牌。"), code="forbidden", perm=Perm.TOKEN_MANAGE)
    if actor.pk == user.pk:
        return
    if user.is_superuser and not actor.is_superuser:
        raise PermissionDeniedError(_("无权为该用户管理接口令牌。"), code="forbidden", perm=Perm.TOKEN_MANAGE)
    if not all(user_can(actor, Perm.TOKEN_MANAGE, g.path) for g in grants_of(user)):
        raise PermissionDeniedError(_("无权为该用户管理接口令牌。"), code="forbidden", perm=Perm.TOKEN_MANAGE)


def api_token_create(
    *,
    actor: User | None,
    user: User,
    name: str,
    expires_at: datetime | None = None,
    ip: str | None = None,
) -> tuple[ApiToken, str]:
    """Create a bearer token for ``user``; returns it with its clear value, which is never stored
    (only its SM3 digest). The token authenticates as ``user`` and nothing more: scoping applies.
    ``actor=None`` is the installation's operator (management command). Audited as ``token.create``."""
    if actor is not None:
        _require_token_manage_over(actor, user)
    name = name.strip()
    if not name:
        raise FieldError("name", _("请填写令牌用途。"), code="required")
    if len(name) > ApiToken._meta.get_field("name").max_length:  # type: ignore[operator]
        raise FieldError("name", _("令牌用途过长。"), code="too_long")
    if expires_at is not None and expires_at <= timezone.now():
        raise FieldError("expires_at", _("过期时间必须晚于当前时间。"), code="in_past")
    clear = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=user,
            name=name,
            prefix=clear[:TOKEN_PREFIX_CHARS],
            digest=_token_digest(clear),
            created_by=actor,
            expires_at=expires_at,
        )
        audit_record(
            actor=actor or "system",
            action="token.create",
            obj=token,
            ip=ip,
            data={
                "user": user.username,
                "prefix": token.prefix,
                "expires_at": expires_at.isoformat() if expires_at else None,
            },
        )
    return token, clear


def api_token_revoke(*, actor: User | None, token: ApiToken, ip: str | None = None) -> ApiToken:
    """Revoke ``token`` at once (its next request gets 401). Users may revoke their own tokens;
    others need ``token.manage`` over the token user's scope. Raises ``Conflict`` when the token
    was already revoked. Audited as ``token.revoke``."""
    if actor is not None and actor.pk != token.user_id:
        _require_token_manage_over(actor, token.user)
    with transaction.atomic():
        now = timezone.now()
        changed = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=now)
        if not changed:
            raise Conflict(_("该令牌已被吊销。"), code="already_revoked")
        token.revoked_at = now
        audit_record(
            actor=actor or "system",
            action="token.revoke",
            obj=token,
            ip=ip,
            data={"user": token.user.username, "prefix": token.prefix},
        )
    return token


def api_token_authenticate(clear: str) -> User | None:
    """The active user behind a clear token, or None when the token is unknown, revoked or
    expired or its user is inactive. Records the last use (at most once a minute)."""
    if not clear or not clear.startswith(TOKEN_PREFIX) or len(clear) > 200:
        return None
    token = (
        ApiToken.objects.select_related("user")
        .filter(digest=_token_digest(clear), revoked_at__isnull=True)
        .first()
    )
    now = timezone.now()
    if token is None or (token.expires_at and token.expires_at <= now) or not token.user.is_active:
        return None
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user


# --- centers, departments, grids ------------------------------------------------------------------------


def center_ensure(*, actor: User | None, region: Region) -> Center:
    """The region's center, created when missing (village level: a work station)."""
    kind = CenterKind.WORK_STATION if region.level == RegionLevel.VILLAGE else CenterKind.CENTER
    suffix = _("综治工作站") if kind == CenterKind.WORK_STATION else _("综治中心")
    center, created = Center.objects.get_or_create(
        region=region, defaults={"name": f"{region.name}{suffix}", "kind": kind, "region_path": region.path}
    )
    if created and actor is not None:
        audit_record(actor=actor, action="center.create", obj=center)
    return center


def department_create(
    *,
    actor: User | None,
    region: Region,
    name: str,
    kind: str = "other",
    short_name: str = "",
    posted_to_center: bool = False,
    phone: str = "",
) -> Department:
    if actor is not None:
        _require(actor, Perm.ORG_MANAGE, region)
    if not name.strip():
        raise FieldError("name", _("请填写部门名称。"), code="required")
    if Department.objects.filter(region=region, name=name.strip()).exists():
        raise FieldError("name", _("该区域已有同名部门。"), code="duplicate")
    with transaction.atomic():
        dept = Department.objects.create(
            region=region,
            region_path=region.path,
            name=name.strip(),
            kind=kind,
            short_name=short_name,
            posted_to_center=posted_to_center,
            phone=phone,
        )
        audit_record(actor=actor or "system", action="department.create", obj=dept)
    return dept


def grid_next_code(village: Region) -> str:
    last = Grid.objects.filter(village=village).order_by("-code").values_list("code", flat=True).first()
    seq = int(last[-3:]) + 1 if last else 1
    if seq > 999:
        raise FieldError("code", _("该村（社区）网格编号已用尽。"), code="exhausted")
    return f"{village.code}{seq:03d}"


def grid_create(
    *,
    actor: User | None,
    village: Region,
    name: str,
    code: str | None = None,
    population: int = 0,
    households: int = 0,
    polygon_geojson: str = "",
    bbox: tuple[float, float, float, float] | None = None,
) -> Grid:
    """Create a grid under a village/community. Its code is the village code + a 3-digit sequence."""
    if actor is not None:
        _require(actor, Perm.GRID_MANAGE, village)
    if village.level != RegionLevel.VILLAGE:
        raise FieldError("village", _("网格只能建在村（社区）下。"), code="not_village")
    if not name.strip():
        raise FieldError("name", _("请填写网格名称。"), code="required")
    code = code or grid_next_code(village)
    if len(code) != 15 or not code.isdigit() or not code.startswith(village.code):
        raise FieldError("code", _("网格编码须为所属村（社区）12位代码加3位序号。"), code="bad_code")
    if Grid.objects.filter(code=code).exists():
        raise FieldError("code", _("网格编码已存在。"), code="duplicate")
    min_lon = min_lat = max_lon = max_lat = None
    if bbox is not None:
        min_lon, min_lat, max_lon, max_lat = bbox
    with transaction.atomic():
        grid = Grid.objects.create(
            code=code,
            name=name.strip(),
            village=village,
            region_path=village.path,
            population=population,
            households=households,
            polygon_geojson=polygon_geojson,
            min_lon=min_lon,
            min_lat=min_lat,
            max_lon=max_lon,
            max_lat=max_lat,
        )
        audit_record(actor=actor or "system", action="grid.create", obj=grid)
    return grid


def grid_member_add(
    *,
    actor: User | None,
    grid: Grid,
    user: User,
    role: str = GridRole.WORKER,
    employment: str = Employment.FULL_TIME,
    agency: str = "",
) -> GridMembership:
    if actor is not None:
        _require(actor, Perm.GRID_MANAGE, grid)
    if role == GridRole.LEADER and GridMembership.objects.filter(grid=grid, role=GridRole.LEADER).exists():
        raise Conflict(_("该网格已有网格长。"), code="leader_exists")
    if GridMembership.objects.filter(grid=grid, user=user).exists():
        raise Conflict(_("该人员已在此网格。"), code="duplicate_member")
    with transaction.atomic():
        membership = GridMembership.objects.create(
            grid=grid,
            user=user,
            region_path=grid.region_path,
            role=role,
            employment=employment,
            agency=agency,
            since=timezone.localdate(),
        )
        audit_record(
            actor=actor or "system",
            action="grid.member_add",
            obj=grid,
            data={"user": user.username, "role": role, "employment": employment},
        )
    return membership


def region_paths_rewrite(*, old_prefix: str, new_prefix: str) -> int:
    """After a region moved or was re-coded: rewrite every materialised path under ``old_prefix``.

    Rewrites ``Region.path`` (stamping ``updated_at``) and every region-path column of every
    installed model — a column named ``region_path`` or ``*_path`` (e.g. ``Case.owner_path``) —
    so scoped rows follow their region. The audit log is history and keeps the path it recorded.
    Runs inside the caller's transaction (the region import). Returns the number of regions
    whose path was rewritten."""
    from django.apps import apps
    from django.db.models import CharField, TextField
    from django.db.models.functions import Concat, Substr

    from .paths import subtree_q

    if not old_prefix or old_prefix == new_prefix:
        return 0
    cut = len(old_prefix) + 1
    moved = Region.objects.filter(subtree_q("path", [old_prefix])).update(
        path=Concat(_value(new_prefix), Substr(F("path"), cut)), updated_at=timezone.now()
    )
    for model in apps.get_models():
        if model is Region or model._meta.label_lower in _PATH_HISTORY_MODELS or model._meta.proxy:
            continue
        for fld in model._meta.concrete_fields:
            if isinstance(fld, CharField | TextField) and fld.name.endswith("_path"):
                model._default_manager.filter(subtree_q(fld.name, [old_prefix])).update(
                    **{fld.name: Concat(_value(new_prefix), Substr(F(fld.name), cut))}
                )
    return moved


# Rows that record history: they keep the region path they were written with.
_PATH_HISTORY_MODELS = frozenset({"core.auditlog"})


def _value(text: str) -> Any:
    from django.db.models import CharField, Value

    return Value(text, output_field=CharField())
