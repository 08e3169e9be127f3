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
    DISPUTE_MEDIATE = "dispute.mediate"  # mediation, risk assessment, agreements (zongzhi.disputes)
    SCREENING_MANAGE = "screening.manage"  # open and close dispute screening campaigns (排查)
    DASHBOARD_VIEW = "dashboard.view"
    ALERT_VIEW = "alert.view"  # early warnings (研判预警) in scope
    ALERT_HANDLE = "alert.handle"  # acknowledge / handle / mark a warning as a false alarm
    ALERT_MANAGE = "alert.manage"  # configure warning rules for a region
    ASSESSMENT_VIEW = "assessment.view"  # KPI scores, rankings, published bulletins
    ASSESSMENT_MANAGE = "assessment.manage"  # assessment plans, generating and publishing bulletins
    # base data 人地事物组织 (zongzhi.people); personal data is never shown to the 三员
    PERSON_VIEW = "person.view"  # residents, houses, places, organizations, visits (masked)
    PERSON_MANAGE = "person.manage"  # create and update them
    PERSON_UNMASK = "person.unmask"  # see one record's clear ID number/phone, audited, with a reason
    PERSON_EXPORT = "person.export"  # export personal data (masked unless PERSON_UNMASK too)
    PERSON_IMPORT = "person.import"  # bulk import files
    SPECIAL_VIEW = "special.view"  # special populations at all; each group needs special.<group> too
    SPECIAL_MANAGE = "special.manage"  # enrol, update and close memberships (of the groups one sees)
    VISIT_RECORD = "visit.record"  # record visits (走访)
    # one permission per special group (zongzhi.people.groups.group_perm)
    SPECIAL_COMMUNITY_CORRECTION = "special.community_correction"
    SPECIAL_RELEASED_PRISONER = "special.released_prisoner"
    SPECIAL_DRUG_USER = "special.drug_user"
    SPECIAL_MENTAL_DISORDER = "special.mental_disorder"
    SPECIAL_AIDS_RISK = "special.aids_risk"
    SPECIAL_KEY_YOUTH = "special.key_youth"


_CONFIG = {Perm.REGION_VIEW, Perm.ORG_VIEW, Perm.GRID_VIEW}
_CASE_STAFF = {Perm.CASE_VIEW, Perm.CASE_REPORT, Perm.DASHBOARD_VIEW} | _CONFIG
# Special groups a grid team sees; AIDS-risk records are for the center director only.
_GRID_GROUPS = {
    Perm.SPECIAL_COMMUNITY_CORRECTION,
    Perm.SPECIAL_RELEASED_PRISONER,
    Perm.SPECIAL_DRUG_USER,
    Perm.SPECIAL_MENTAL_DISORDER,
    Perm.SPECIAL_KEY_YOUTH,
}
_ALL_GROUPS = _GRID_GROUPS | {Perm.SPECIAL_AIDS_RISK}
_PEOPLE_STAFF = {Perm.PERSON_VIEW, Perm.PERSON_MANAGE}
# early warnings and assessment (zongzhi.analytics alerts, zongzhi.assessment); not for the 三员
_INSIGHT_STAFF = {Perm.ALERT_VIEW, Perm.ALERT_HANDLE, Perm.ASSESSMENT_VIEW}

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
        | _INSIGHT_STAFF
        | {Perm.ALERT_MANAGE, Perm.ASSESSMENT_MANAGE}
        | {Perm.DISPUTE_MEDIATE, Perm.SCREENING_MANAGE}
        | _PEOPLE_STAFF
        | _ALL_GROUPS
        | {
            Perm.PERSON_UNMASK,
            Perm.PERSON_EXPORT,
            Perm.PERSON_IMPORT,
            Perm.SPECIAL_VIEW,
            Perm.SPECIAL_MANAGE,
            Perm.VISIT_RECORD,
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
        | _INSIGHT_STAFF
        | _PEOPLE_STAFF
        | {Perm.PERSON_IMPORT, Perm.PERSON_EXPORT}  # exports masked: no PERSON_UNMASK
        | {Perm.DISPUTE_MEDIATE, Perm.SCREENING_MANAGE}
    ),
    Role.DEPARTMENT_HANDLER: frozenset(_CASE_STAFF | {Perm.CASE_HANDLE}),
    Role.GRID_LEADER: frozenset(
        _CASE_STAFF
        | {Perm.CASE_RESOLVE_ON_SITE}
        | _PEOPLE_STAFF
        | _GRID_GROUPS
        | {Perm.PERSON_UNMASK, Perm.PERSON_EXPORT, Perm.SPECIAL_VIEW, Perm.SPECIAL_MANAGE, Perm.VISIT_RECORD}
    ),
    Role.GRID_WORKER: frozenset(
        _CASE_STAFF
        | {Perm.CASE_RESOLVE_ON_SITE}
        | _PEOPLE_STAFF
        | _GRID_GROUPS
        | {Perm.SPECIAL_VIEW, Perm.VISIT_RECORD}
    ),
    Role.MEDIATOR: frozenset(_CASE_STAFF | {Perm.DISPUTE_MEDIATE, Perm.PERSON_VIEW}),
    Role.LEADER_VIEWER: frozenset(
        _CONFIG
        | {
            Perm.CASE_VIEW,
            Perm.DASHBOARD_VIEW,
            Perm.CASE_SUPERVISE,
            Perm.ALERT_VIEW,
            Perm.ASSESSMENT_VIEW,
        }
    ),
}

# Roles that may sign in to the configuration admin.
ADMIN_ROLES = frozenset({Role.SYSTEM_ADMIN, Role.SECURITY_ADMIN, Role.AUDITOR})


def role_has(role: str, perm: str) -> bool:
    return perm in ROLE_PERMISSIONS.get(role, frozenset())


def roles_with(perm: str) -> list[str]:
    return [role for role, perms in ROLE_PERMISSIONS.items() if perm in perms]
