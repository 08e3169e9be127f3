"""The configuration admin: entry by admin-role grants, separation of duties, scope, service writes."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from tests.factories import PASSWORD, make_department, make_grid, make_user
from zongzhi.core.audit import audit_record, verify_audit_chain
from zongzhi.core.models import AuditLog, CalendarDay
from zongzhi.orgs.models import ApiToken, Department, Grid, GridMembership, RoleGrant, User
from zongzhi.orgs.roles import Role

pytestmark = pytest.mark.django_db


def url(name: str, *args) -> str:
    return reverse(f"admin:{name}", args=args)


@pytest.fixture
def org(tree):
    """Departments and grids in counties A and B; the three administrators of county A."""
    d = {
        "dept_a": make_department(tree["A"], "甲区公安分局", kind="public_security"),
        "dept_a1": make_department(tree["A1"], "甲一派出所", kind="public_security"),
        "dept_b": make_department(tree["B"], "乙区公安分局", kind="public_security"),
        "grid_a": make_grid(tree["A1a"], "甲一社区第一网格"),
        "grid_b": make_grid(tree["B1a"], "乙一村第一网格"),
    }
    d["sysadmin"] = make_user(Role.SYSTEM_ADMIN, tree["A"], username="sys_a")
    d["secadmin"] = make_user(Role.SECURITY_ADMIN, tree["A"], username="sec_a")
    d["auditor"] = make_user(Role.AUDITOR, tree["A"], username="aud_a")
    d["clerk_a"] = make_user(None, None, username="clerk_a", department=d["dept_a1"])
    d["clerk_b"] = make_user(None, None, username="clerk_b", department=d["dept_b"])
    return d


def login(client, user):
    client.force_login(user)
    return client


# --- entry -------------------------------------------------------------------------------------


def test_operator_cannot_enter_admin(client, tree):
    operator = make_user(Role.CENTER_OPERATOR, tree["A"], username="op_a")
    login(client, operator)
    response = client.get(url("index"))
    assert response.status_code == 302
    assert response["Location"].startswith(url("login"))
    assert client.get(url("orgs_department_changelist")).status_code == 302


def test_operator_is_refused_by_admin_login_form(client, tree):
    make_user(Role.CENTER_OPERATOR, tree["A"], username="op_a")
    response = client.post(url("login"), {"username": "op_a", "password": PASSWORD, "next": url("index")})
    assert response.status_code == 200
    assert "没有配置管理权限" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_admin_role_signs_in_without_is_staff(client, org):
    assert not org["sysadmin"].is_staff
    response = client.post(url("login"), {"username": "sys_a", "password": PASSWORD, "next": url("index")})
    assert response.status_code == 302
    assert client.get(url("index")).status_code == 200


def test_index_lists_only_the_role_s_models(client, org):
    def models_on_index(user):
        client.logout()
        page = login(client, user).get(url("index")).content.decode()
        names = ("region", "center", "department", "grid", "user", "rolegrant", "apitoken")
        found = {n for n in names if url(f"orgs_{n}_changelist") in page}
        return found | {n for n in ("auditlog", "calendarday") if url(f"core_{n}_changelist") in page}

    # API tokens belong to the security administrator alone (三员分立).
    assert models_on_index(org["sysadmin"]) == {
        "region",
        "center",
        "department",
        "grid",
        "user",
        "calendarday",
    }
    assert models_on_index(org["secadmin"]) == {"region", "department", "user", "rolegrant", "apitoken"}
    assert models_on_index(org["auditor"]) == {"auditlog"}


def test_admin_logout_is_audited(client, org):
    login(client, org["auditor"])
    assert client.post(url("logout")).status_code in (200, 302)
    assert AuditLog.objects.filter(action="logout", actor=org["auditor"]).exists()
    assert client.get(url("index")).status_code == 302


# --- system administrator: scope --------------------------------------------------------------------


def test_system_admin_sees_only_their_county(client, org, tree):
    login(client, org["sysadmin"])
    page = client.get(url("orgs_department_changelist")).content.decode()
    assert "甲区公安分局" in page and "甲一派出所" in page
    assert "乙区公安分局" not in page
    page = client.get(url("orgs_grid_changelist")).content.decode()
    assert "甲一社区第一网格" in page and "乙一村第一网格" not in page
    page = client.get(url("orgs_region_changelist")).content.decode()
    assert "甲一街道" in page and "乙一镇" not in page and "乙区" not in page
    page = client.get(url("orgs_user_changelist")).content.decode()
    assert "clerk_a" in page and "clerk_b" not in page

    assert client.get(url("orgs_department_change", org["dept_a"].pk)).status_code == 200
    assert client.get(url("orgs_department_change", org["dept_b"].pk)).status_code == 404
    assert client.get(url("orgs_grid_change", org["grid_b"].pk)).status_code == 404
    assert client.get(url("orgs_region_change", tree["B"].pk)).status_code == 404
    assert client.get(url("orgs_user_change", org["clerk_b"].pk)).status_code == 404


def test_region_autocomplete_is_scoped(client, org):
    login(client, org["sysadmin"])
    params = {"app_label": "orgs", "model_name": "department", "field_name": "region", "term": "区"}
    names = [r["text"] for r in client.get(url("autocomplete"), params).json()["results"]]
    assert any("甲区" in n for n in names)
    assert not any("乙区" in n for n in names)
    params = {"app_label": "orgs", "model_name": "grid", "field_name": "village", "term": ""}
    names = [r["text"] for r in client.get(url("autocomplete"), params).json()["results"]]
    assert names and all("社区" in n or "村" in n for n in names)
    assert not any("乙一村" in n for n in names)


def test_department_created_through_service_in_scope_only(client, org, tree):
    login(client, org["sysadmin"])
    data = {"region": tree["A2"].pk, "name": "甲二司法所", "short_name": "", "kind": "justice", "phone": ""}
    response = client.post(url("orgs_department_add"), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    dept = Department.objects.get(name="甲二司法所")
    assert dept.region_path == tree["A2"].path
    assert AuditLog.objects.filter(action="department.create", object_id=str(dept.pk)).exists()

    data = {**data, "region": tree["B1"].pk, "name": "乙一司法所"}
    response = client.post(url("orgs_department_add"), data)
    assert response.status_code == 200
    assert not Department.objects.filter(name="乙一司法所").exists()


def test_simple_change_is_audited(client, org):
    login(client, org["sysadmin"])
    dept = org["dept_a"]
    data = {"name": dept.name, "short_name": "公安", "kind": dept.kind, "phone": "0571-1", "is_active": "on"}
    response = client.post(url("orgs_department_change", dept.pk), data)
    assert response.status_code == 302
    dept.refresh_from_db()
    assert dept.short_name == "公安"
    row = AuditLog.objects.get(action="admin.change", object_id=str(dept.pk), object_type="orgs.department")
    assert set(row.data["fields"]) == {"short_name", "phone"}
    assert row.actor_id == org["sysadmin"].pk
    assert verify_audit_chain().ok


def test_grid_created_with_next_code(client, org, tree):
    login(client, org["sysadmin"])
    response = client.post(
        url("orgs_grid_add"),
        {"village": tree["A1a"].pk, "name": "第二网格", "population": 900, "households": 300},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    grid = Grid.objects.get(name="第二网格")
    assert grid.code == tree["A1a"].code + "002"
    assert AuditLog.objects.filter(action="grid.create", object_id=str(grid.pk)).exists()
    # A township is not a village; a village in county B is not offered.
    response = client.post(
        url("orgs_grid_add"), {"village": tree["A1"].pk, "name": "x", "population": 0, "households": 0}
    )
    assert response.status_code == 200
    response = client.post(
        url("orgs_grid_add"), {"village": tree["B1a"].pk, "name": "x", "population": 0, "households": 0}
    )
    assert response.status_code == 200
    assert not Grid.objects.filter(name="x").exists()


def test_grid_member_added_through_service(client, org):
    login(client, org["sysadmin"])
    grid = org["grid_a"]
    worker = make_user(Role.GRID_WORKER, grid.village, username="worker_a")
    data = {
        "name": grid.name,
        "population": 0,
        "households": 0,
        "is_active": "on",
        "memberships-TOTAL_FORMS": 1,
        "memberships-INITIAL_FORMS": 0,
        "memberships-MIN_NUM_FORMS": 0,
        "memberships-MAX_NUM_FORMS": 1000,
        "memberships-0-user": worker.pk,
        "memberships-0-role": "worker",
        "memberships-0-employment": "part_time",
        "memberships-0-agency": "",
    }
    response = client.post(url("orgs_grid_change", grid.pk), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    membership = GridMembership.objects.get(grid=grid, user=worker)
    assert membership.employment == "part_time"
    assert AuditLog.objects.filter(action="grid.member_add", object_id=str(grid.pk)).exists()


def test_user_created_through_service_with_password_rules(client, org):
    login(client, org["sysadmin"])
    data = {
        "username": "new_clerk",
        "display_name": "新同事",
        "phone": "",
        "department": org["dept_a1"].pk,
        "password1": "short",
        "password2": "short",
    }
    response = client.post(url("orgs_user_add"), data)
    assert response.status_code == 200
    assert "密码" in response.content.decode()
    assert not User.objects.filter(username="new_clerk").exists()

    data |= {"password1": "Gd-Pass-2026x", "password2": "Gd-Pass-2026x"}
    response = client.post(url("orgs_user_add"), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    user = User.objects.get(username="new_clerk")
    assert user.check_password("Gd-Pass-2026x") and user.department == org["dept_a1"]
    assert AuditLog.objects.filter(
        action="user.create", object_id=str(user.pk), actor=org["sysadmin"]
    ).exists()

    # Without a department a new user would be invisible to every scoped administrator.
    data |= {"username": "floating", "department": ""}
    assert client.post(url("orgs_user_add"), data).status_code == 200
    assert not User.objects.filter(username="floating").exists()


def test_system_admin_cannot_grant_nor_edit_admin_accounts(client, org):
    login(client, org["sysadmin"])
    assert client.get(url("orgs_rolegrant_changelist")).status_code == 403
    assert client.get(url("core_auditlog_changelist")).status_code == 403
    # The security administrator's account is visible but read-only for the system administrator.
    response = client.post(
        url("orgs_user_change", org["secadmin"].pk), {"display_name": "x", "is_active": ""}
    )
    assert response.status_code == 403
    org["secadmin"].refresh_from_db()
    assert org["secadmin"].is_active


def test_county_system_admin_cannot_edit_the_calendar(client, org, tree):
    CalendarDay.objects.create(date="2026-10-01", is_workday=False, name="国庆节")
    login(client, org["sysadmin"])
    assert client.get(url("core_calendarday_changelist")).status_code == 200
    response = client.post(
        url("core_calendarday_add"), {"date": "2026-10-10", "is_workday": "on", "name": "调休"}
    )
    assert response.status_code == 403
    client.logout()
    city_admin = make_user(Role.SYSTEM_ADMIN, tree["C"], username="sys_c")
    login(client, city_admin)
    response = client.post(
        url("core_calendarday_add"), {"date": "2026-10-10", "is_workday": "on", "name": "调休"}
    )
    assert response.status_code == 302
    assert CalendarDay.objects.get(date="2026-10-10").source == "manual"
    assert AuditLog.objects.filter(action="admin.add", object_type="core.calendarday").exists()


# --- security administrator ---------------------------------------------------------------------------


def test_security_admin_grants_in_scope_with_audit(client, org, tree):
    login(client, org["secadmin"])
    data = {
        "user": org["clerk_a"].pk,
        "role": Role.CENTER_OPERATOR,
        "region": tree["A1"].pk,
        "department": "",
    }
    response = client.post(url("orgs_rolegrant_add"), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    grant = RoleGrant.objects.get(user=org["clerk_a"], role=Role.CENTER_OPERATOR)
    assert grant.granted_by == org["secadmin"] and grant.region_path == tree["A1"].path
    row = AuditLog.objects.get(action="grant.create", object_id=str(grant.pk))
    assert row.actor == org["secadmin"]
    page = client.get(url("orgs_rolegrant_changelist")).content.decode()
    assert "clerk_a" in page or org["clerk_a"].username in page

    # Revoking goes through role_revoke.
    response = client.post(url("orgs_rolegrant_delete", grant.pk), {"post": "yes"})
    assert response.status_code == 302
    assert not RoleGrant.objects.filter(pk=grant.pk).exists()
    assert AuditLog.objects.filter(action="grant.revoke", object_id=str(grant.pk)).exists()


def test_security_admin_cannot_grant_outside_scope_or_to_self(client, org, tree):
    login(client, org["secadmin"])
    before = RoleGrant.objects.count()
    response = client.post(
        url("orgs_rolegrant_add"),
        {"user": org["clerk_a"].pk, "role": Role.CENTER_OPERATOR, "region": tree["B1"].pk, "department": ""},
    )
    assert response.status_code == 200
    response = client.post(
        url("orgs_rolegrant_add"),
        {"user": org["clerk_b"].pk, "role": Role.CENTER_OPERATOR, "region": tree["A1"].pk, "department": ""},
    )
    assert response.status_code == 200
    response = client.post(
        url("orgs_rolegrant_add"),
        {"user": org["secadmin"].pk, "role": Role.CENTER_OPERATOR, "region": tree["A1"].pk, "department": ""},
    )
    assert response.status_code == 200
    assert "不能给自己授权" in response.content.decode()
    response = client.post(
        url("orgs_rolegrant_add"),
        {
            "user": org["clerk_a"].pk,
            "role": Role.DEPARTMENT_HANDLER,
            "region": tree["A2"].pk,
            "department": org["dept_a1"].pk,
        },
    )
    assert response.status_code == 200
    assert "部门不在授权区域内" in response.content.decode()  # 甲一派出所 lies in 甲一街道, not 甲二街道
    assert RoleGrant.objects.count() == before
    assert not RoleGrant.objects.filter(region=tree["B1"]).exists()
    assert not RoleGrant.objects.filter(user=org["secadmin"], role=Role.CENTER_OPERATOR).exists()


def test_security_admin_cannot_manage_config(client, org, tree):
    login(client, org["secadmin"])
    assert client.get(url("orgs_department_changelist")).status_code == 200  # read-only, to pick departments
    assert client.get(url("orgs_department_add")).status_code == 403
    assert client.get(url("orgs_grid_changelist")).status_code == 403
    assert client.get(url("core_calendarday_changelist")).status_code == 403
    assert client.get(url("core_auditlog_changelist")).status_code == 403


def test_token_issued_once_and_revoked(client, org, tree):
    login(client, org["secadmin"])
    response = client.post(url("orgs_apitoken_add"), {"user": org["clerk_a"].pk, "name": "对接热线"})
    assert response.status_code == 302, response.content.decode()[:3000]
    token = ApiToken.objects.get(name="对接热线")
    shown = [str(m) for m in get_messages(response.wsgi_request)]
    assert any("zz_" in m and token.prefix in m for m in shown)
    # Not for an administrator.
    response = client.post(url("orgs_apitoken_add"), {"user": org["sysadmin"].pk, "name": "x"})
    assert response.status_code == 200
    response = client.post(
        url("orgs_apitoken_changelist"), {"action": "revoke_tokens", "_selected_action": [token.pk]}
    )
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert AuditLog.objects.filter(action="token.revoke", object_id=str(token.pk)).exists()


# --- auditor --------------------------------------------------------------------------------------------


def test_auditor_reads_audit_log_only(client, org, tree):
    in_a = audit_record(actor=org["sysadmin"], action="demo.in_a", region_path=tree["A1"].path)
    in_b = audit_record(actor=None, action="demo.in_b", region_path=tree["B1"].path)
    login(client, org["auditor"])
    page = client.get(url("core_auditlog_changelist")).content.decode()
    assert "demo.in_a" in page and "demo.in_b" not in page
    assert client.get(url("core_auditlog_changelist"), {"action": "demo.in_a"}).status_code == 200
    assert client.get(url("core_auditlog_changelist"), {"q": "sys_a"}).status_code == 200
    assert client.get(url("core_auditlog_change", in_a.pk)).status_code == 200
    assert client.get(url("core_auditlog_change", in_b.pk)).status_code == 404
    response = client.post(url("core_auditlog_change", in_a.pk), {"action": "tampered"})
    assert response.status_code == 403
    assert client.get(url("core_auditlog_add")).status_code == 403
    assert client.post(url("core_auditlog_delete", in_a.pk), {"post": "yes"}).status_code == 403
    in_a.refresh_from_db()
    assert in_a.action == "demo.in_a"
    assert client.get(url("orgs_department_changelist")).status_code == 403
    assert client.get(url("orgs_user_changelist")).status_code == 403


# --- every page renders --------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["sysadmin", "secadmin", "auditor", "superuser"])
def test_every_admin_page_renders(client, org, tree, who):
    CalendarDay.objects.create(date="2026-10-01", is_workday=False, name="国庆节")
    ApiToken.objects.all().delete()
    from zongzhi.orgs import services

    services.api_token_create(actor=None, user=org["clerk_a"], name="热线")
    services.grid_member_add(actor=None, grid=org["grid_a"], user=org["clerk_a"])
    user = User.objects.create_superuser("root", password=PASSWORD) if who == "superuser" else org[who]
    login(client, user)
    objects = {
        "orgs_region": tree["A1"],
        "orgs_center": services.center_ensure(actor=None, region=tree["A1"]),
        "orgs_department": org["dept_a"],
        "orgs_grid": org["grid_a"],
        "orgs_user": org["clerk_a"],
        "orgs_rolegrant": RoleGrant.objects.get(user=org["sysadmin"]),
        "orgs_apitoken": ApiToken.objects.get(),
        "core_auditlog": AuditLog.objects.filter(region_path__startswith=tree["A"].path).first(),
        "core_calendarday": CalendarDay.objects.get(),
    }
    seen = 0
    for prefix, obj in objects.items():
        for response in (
            client.get(url(f"{prefix}_changelist")),
            client.get(url(f"{prefix}_add")),
            client.get(url(f"{prefix}_change", obj.pk)),
            client.get(url(f"{prefix}_changelist"), {"q": "甲"}),
        ):
            assert response.status_code in (200, 403), (prefix, response.status_code)
            seen += response.status_code == 200
    assert seen >= 3
