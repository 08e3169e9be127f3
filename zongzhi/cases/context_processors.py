"""What the navigation offers: only the pages the signed-in user's roles can open."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from zongzhi.orgs.roles import ADMIN_ROLES, Perm, Role
from zongzhi.orgs.scoping import grants_of


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav": {}}
    grants = grants_of(user)  # loaded once per request, shared with the views
    roles = {g.role for g in grants}
    perms = {
        perm
        for g in grants
        for perm in (
            Perm.CASE_VIEW,
            Perm.CASE_REPORT,
            Perm.CASE_HANDLE,
            Perm.GRID_VIEW,
            Perm.PERSON_VIEW,
            Perm.SPECIAL_VIEW,
            Perm.VISIT_RECORD,
            Perm.PERSON_IMPORT,
            Perm.PERSON_EXPORT,
            Perm.ALERT_VIEW,
            Perm.ASSESSMENT_VIEW,
            Perm.DASHBOARD_VIEW,
        )
        if g.has(perm)
    }
    root = bool(user.is_superuser)
    return {
        "nav": {
            "workbench": root
            or bool(roles & {Role.CENTER_OPERATOR, Role.CENTER_DIRECTOR, Role.LEADER_VIEWER, Role.MEDIATOR}),
            "new_case": root
            or (Perm.CASE_REPORT in perms and bool(roles - {Role.GRID_WORKER, Role.GRID_LEADER})),
            "desk": any(g.department_id is not None and g.has(Perm.CASE_HANDLE) for g in grants),
            "mobile": bool(roles & {Role.GRID_WORKER, Role.GRID_LEADER}),
            "grids": root or Perm.GRID_VIEW in perms,
            "map": root or Perm.GRID_VIEW in perms,
            "admin": root or bool(roles & ADMIN_ROLES),
            "dashboard": root or Perm.DASHBOARD_VIEW in perms,
            "alerts": root or Perm.ALERT_VIEW in perms,
            "assessment": root or Perm.ASSESSMENT_VIEW in perms,
            "people": root or Perm.PERSON_VIEW in perms,
            "special": root or Perm.SPECIAL_VIEW in perms,
            "visits": Perm.VISIT_RECORD in perms and bool(roles & {Role.GRID_WORKER, Role.GRID_LEADER}),
            "people_import": root or Perm.PERSON_IMPORT in perms,
            "people_export": root or Perm.PERSON_EXPORT in perms,
            "disputes": root
            or bool(roles & {Role.CENTER_OPERATOR, Role.CENTER_DIRECTOR, Role.LEADER_VIEWER, Role.MEDIATOR}),
            "screening": bool(roles & {Role.GRID_WORKER, Role.GRID_LEADER}),
        }
    }
