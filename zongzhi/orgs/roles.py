"""Roles and the permissions each one carries. Pure data: no database access.

Three-way separation of administrative duties (等保 三员分立): the system administrator configures
the platform, the security administrator grants roles, the auditor reads the audit log; none of
the three sees case or personal data by virtue of that role.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    SYSTEM_ADMIN = "system_admin", _("系统管理员")
    SECURITY_ADMIN = "security_admin", _("安全管理员")
    AUDITOR = "auditor", _("安全审计员")
    CENTER_DIRECTOR = "center_director", _("中心主任")
    CENTER_OPERATOR = "center_operator", _("中心坐席")
    DEPARTMENT_HANDLER = "department_handler", _("部门承办人")
    GRID_LEADER = "grid_leader", _("网格长")
    GRID_WORKER = "grid_worker", _("网格员")
    MEDIATOR = "mediator", _("调解员")
    LEADER_VIEWER = "leader_viewer", _("领导（查看）")


class Perm:
    """Permission names. ``<object>.<verb>``; checked in a region subtree by ``user_can``."""

    REGION_VIEW = "region.view"
    REGION_MANAGE = "region.manage"
    ORG_VIEW = "org.view"  # centers and departments
    ORG_MANAGE = "org.manage"
    USER_VIEW = "user.view"
    USER_MANAGE = "user.manage"
    GRANT_MANAGE = "grant.manage"
    TOKEN_MANAGE = "token.manage"
    AUDIT_VIEW = "audit.view"
    CALENDAR_MANAGE = "calendar.manage"
    CATALOGUE_MANAGE = "catalogue.manage"
    GRID_VIEW = "grid.view"
    GRID_MANAGE = "grid.manage"
    CASE_VIEW = "case.view"
    CASE_REPORT = "case.report"
    CASE_ACCEPT = "case.accept"
    CASE_DISPATCH = "case.dispatch"
    CASE_HANDLE = "case.handle"
    CASE_REPLY = "case.reply"
    CASE_CALLBACK = "case.callback"
    CASE_ARCHIVE = "case.archive"
    CASE_SUPERVISE = "case.supervise"
    CASE_APPROVE_EXTENSION = "case.approve_extension"
    CASE_RESOLVE_ON_SITE = "case.resolve_on_site"
    CASE_EXPORT = "case.export"
    DISPUTE_MEDIATE = "dispute.mediate"
    DASHBOARD_VIEW = "dashboard.view"


_CONFIG = {Perm.REGION_VIEW, Perm.ORG_VIEW, Perm.GRID_VIEW}
_CASE_STAFF = {Perm.CASE_VIEW, Perm.CASE_REPORT, Perm.DASHBOARD_VIEW} | _CONFIG

ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    Role.SYSTEM_ADMIN: frozenset(
        _CONFIG
        | {
            Perm.REGION_MANAGE,
            Perm.ORG_MANAGE,
            Perm.USER_VIEW,
            Perm.USER_MANAGE,
            Perm.CALENDAR_MANAGE,
            Perm.CATALOGUE_MANAGE,
            Perm.GRID_MANAGE,
        }
    ),
    Role.SECURITY_ADMIN: frozenset(_CONFIG | {Perm.USER_VIEW, Perm.GRANT_MANAGE, Perm.TOKEN_MANAGE}),
    Role.AUDITOR: frozenset({Perm.REGION_VIEW, Perm.USER_VIEW, Perm.AUDIT_VIEW}),
    Role.CENTER_DIRECTOR: frozenset(
        _CASE_STAFF
        | {
            Perm.CASE_ACCEPT,
            Perm.CASE_DISPATCH,
            Perm.CASE_REPLY,
            Perm.CASE_CALLBACK,
            Perm.CASE_ARCHIVE,
            Perm.CASE_SUPERVISE,
            Perm.CASE_APPROVE_EXTENSION,
            Perm.CASE_EXPORT,
            Perm.USER_VIEW,
        }
    ),
    Role.CENTER_OPERATOR: frozenset(
        _CASE_STAFF
        | {
            Perm.CASE_ACCEPT,
            Perm.CASE_DISPATCH,
            Perm.CASE_REPLY,
            Perm.CASE_CALLBACK,
            Perm.CASE_ARCHIVE,
            Perm.CASE_EXPORT,
        }
    ),
    Role.DEPARTMENT_HANDLER: frozenset(_CASE_STAFF | {Perm.CASE_HANDLE}),
    Role.GRID_LEADER: frozenset(_CASE_STAFF | {Perm.CASE_RESOLVE_ON_SITE}),
    Role.GRID_WORKER: frozenset(_CASE_STAFF | {Perm.CASE_RESOLVE_ON_SITE}),
    Role.MEDIATOR: frozenset(_CASE_STAFF | {Perm.DISPUTE_MEDIATE}),
    Role.LEADER_VIEWER: frozenset(_CONFIG | {Perm.CASE_VIEW, Perm.DASHBOARD_VIEW, Perm.CASE_SUPERVISE}),
}

# Roles that may sign in to the configuration admin.
ADMIN_ROLES = frozenset({Role.SYSTEM_ADMIN, Role.SECURITY_ADMIN, Role.AUDITOR})


def role_has(role: str, perm: str) -> bool:
    return perm in ROLE_PERMISSIONS.get(role, frozenset())


def roles_with(perm: str) -> list[str]:
    return [role for role, perms in ROLE_PERMISSIONS.items() if perm in perms]
