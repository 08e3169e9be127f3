"""The catalogue and responsibility list in the configuration admin."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.factories import make_user
from zongzhi.cases.models import Category, ResponsibilityRule
from zongzhi.orgs.roles import Role

pytestmark = pytest.mark.django_db


def test_system_admin_edits_catalogue_and_revises_a_rule(world):
    sysadmin = make_user(Role.SYSTEM_ADMIN, world.r["C"], username="sys_c")
    c = world.client(sysadmin)
    assert c.get("/admin/cases/category/").status_code == 200
    cat = Category.objects.get(code="0201")
    res = c.post(
        f"/admin/cases/category/{cat.pk}/change/",
        {
            "name": "邻里纠纷（含噪音）",
            "default_kind": "dispute",
            "keywords": cat.keywords,
            "sort_order": 1,
            "is_active": "on",
            "accept_hours": 1,
            "dispatch_hours": 12,
            "urgent_dispatch_hours": 1,
            "acknowledge_hours": 24,
            "urgent_acknowledge_hours": 1,
            "handle_days": 5,
            "complex_handle_days": 15,
            "urgent_handle_hours": 24,
            "reply_hours": 24,
        },
    )
    assert res.status_code == 302, res.content.decode()[:2000]
    cat.refresh_from_db()
    assert cat.name == "邻里纠纷（含噪音）" and cat.handle_days == 5 and cat.dispatch_hours == 12

    rule = ResponsibilityRule.objects.get()
    page = c.get(f"/admin/cases/responsibilityrule/{rule.pk}/change/")
    assert page.status_code == 200 and "版本历史" in page.content.decode()
    res = c.post(
        f"/admin/cases/responsibilityrule/{rule.pk}/change/",
        {
            "lead_department": world.housing.pk,
            "assisting_departments": [],
            "handling_level": "county",
            "legal_basis": "新依据",
            "new_effective_from": "2030-01-01",
        },
    )
    assert res.status_code == 302, res.content.decode()[:3000]
    versions = list(ResponsibilityRule.objects.filter(rule_key=rule.rule_key).order_by("version"))
    assert [v.version for v in versions] == [1, 2]
    assert versions[0].effective_to == dt.date(2030, 1, 1) and versions[0].lead_department == world.police
    assert versions[1].lead_department == world.housing


def test_operator_cannot_enter_and_sibling_admin_sees_no_rules(world):
    assert world.client(world.operator).get("/admin/cases/category/").status_code == 302
    other = make_user(Role.SYSTEM_ADMIN, world.r["B"], username="sys_b")
    c = world.client(other)
    assert "甲区公安分局" not in c.get("/admin/cases/responsibilityrule/").content.decode()
    rule = ResponsibilityRule.objects.get()
    assert c.get(f"/admin/cases/responsibilityrule/{rule.pk}/change/").status_code == 404
