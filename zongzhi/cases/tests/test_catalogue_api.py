"""The catalogue (事项分类) and the responsibility list (权责清单) through the API: who may change them,
versioning of rules, scoping of rules by region, and validation errors that name the field."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from tests.factories import make_user
from zongzhi.cases.models import Category, ResponsibilityRule
from zongzhi.core.models import AuditLog
from zongzhi.orgs.roles import Role

pytestmark = pytest.mark.django_db


@pytest.fixture
def admins(world):
    return {
        "A": make_user(Role.SYSTEM_ADMIN, world.r["A"], username="admin_a"),
        "B": make_user(Role.SYSTEM_ADMIN, world.r["B"], username="admin_b"),
    }


def _field(res: Any) -> str:
    assert res.status_code == 422, res.content
    detail = res.json()["detail"]
    return detail.get("field") or ",".join(e["field"] for e in detail["errors"])


# --- categories ----------------------------------------------------------------------------------------------


def test_categories_list_for_any_signed_in_user(world):
    res = world.api(world.handler, "get", "/categories")
    assert res.status_code == 200
    by_code = {c["code"]: c for c in res.json()}
    assert by_code["0201"]["parent_code"] == "02" and by_code["02"]["parent_code"] is None
    assert by_code["0201"]["name"] == "邻里纠纷"
    res = world.api(world.handler, "get", "/categories?q=漏水")
    assert [c["code"] for c in res.json()] == ["0201"]  # found by keyword
    assert world.api(None, "get", "/categories").status_code == 401


def test_create_category_admin_only(world, admins):
    body = {"code": "0213", "name": "宠物纠纷", "parent_code": "02", "handle_days": 5}
    for user in (world.operator, world.director, world.city_leader):
        assert world.api(user, "post", "/categories", body).status_code == 403
    assert not Category.objects.filter(code="0213").exists()
    res = world.api(admins["A"], "post", "/categories", body)
    assert res.status_code == 201, res.content
    out = res.json()
    assert out["parent_code"] == "02" and out["handle_days"] == 5
    parent = Category.objects.get(code="02")
    assert out["default_kind"] == parent.default_kind  # inherited from the parent
    assert out["reply_hours"] == parent.reply_hours
    assert AuditLog.objects.filter(action="category.create").exists()
    # fields not given come from the parent (治安安全: urgent handling in 12 h)
    res = world.api(
        admins["A"], "post", "/categories", {"code": "0107", "name": "电信诈骗", "parent_code": "01"}
    )
    assert res.status_code == 201, res.content
    assert res.json()["urgent_handle_hours"] == 12 == Category.objects.get(code="01").urgent_handle_hours
    # a top-level category too
    res = world.api(
        admins["A"], "post", "/categories", {"code": "50", "name": "应急事件", "default_kind": "event"}
    )
    assert res.status_code == 201 and res.json()["parent_code"] is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"code": "0201", "name": "重复"}, "code"),
        ({"code": "02 01", "name": "空格"}, "code"),
        ({"code": "", "name": "空"}, "code"),
        ({"code": "0299X", "name": "三级", "parent_code": "0201"}, "parent_code"),
        ({"code": "0298", "name": "无父", "parent_code": "77"}, "parent_code"),
        ({"code": "0297", "name": ""}, "name"),
        ({"code": "0296", "name": "   "}, "name"),
        ({"code": "0295", "name": "零天", "handle_days": 0}, "handle_days"),
        ({"code": "0294", "name": "类型", "default_kind": "alien"}, "default_kind"),
        ({"code": "0293", "name": "x" * 61}, "name"),
    ],
)
def test_create_category_validation_names_the_field(world, admins, body, field):
    before = Category.objects.count()
    assert _field(world.api(admins["A"], "post", "/categories", body)) == field
    assert Category.objects.count() == before


def test_patch_category(world, admins):
    assert world.api(world.operator, "patch", "/categories/0201", {"handle_days": 9}).status_code == 403
    res = world.api(admins["B"], "patch", "/categories/0201", {"handle_days": 9, "keywords": "漏水 噪音"})
    assert res.status_code == 200, res.content
    assert res.json()["handle_days"] == 9
    assert Category.objects.get(code="0201").handle_days == 9
    assert _field(world.api(admins["A"], "patch", "/categories/0201", {"handle_days": 0})) == "handle_days"
    assert _field(world.api(admins["A"], "patch", "/categories/0201", {"name": ""})) == "name"
    assert world.api(admins["A"], "patch", "/categories/nope", {"handle_days": 3}).status_code == 404
    # deactivated: gone from the default list and from intake
    assert world.api(admins["A"], "patch", "/categories/0201", {"is_active": False}).status_code == 200
    codes = {c["code"] for c in world.api(world.operator, "get", "/categories").json()}
    assert "0201" not in codes
    res = world.api(world.operator, "get", "/categories?include_inactive=true")
    assert "0201" in {c["code"] for c in res.json()}
    res = world.api(
        world.operator,
        "post",
        "/cases",
        {
            "channel": "hotline",
            "title": "t",
            "description": "d",
            "category_code": "0201",
            "region_code": world.r["A1a"].code,
        },
    )
    assert _field(res) == "category_code"


# --- responsibility rules --------------------------------------------------------------------------------------


def _rule_body(world, **over: Any) -> dict[str, Any]:
    body = {
        "category_code": "0301",
        "region_code": world.r["A"].code,
        "lead_department_id": world.housing.pk,
        "assisting_department_ids": [world.police.pk],
        "handling_level": "county",
        "legal_basis": "《城市市容和环境卫生管理条例》",
        "effective_from": "2024-01-01",
    }
    body.update(over)
    return body


def test_rule_create_list_get_revise_versions(world, admins):
    res = world.api(admins["A"], "post", "/rules", _rule_body(world))
    assert res.status_code == 201, res.content
    v1 = res.json()
    assert v1["version"] == 1 and v1["assisting_department_ids"] == [world.police.pk]
    assert v1["effective_to"] is None and v1["lead_department_name"] == world.housing.name
    listed = world.api(admins["A"], "get", "/rules?category=0301").json()
    assert [r["id"] for r in listed["items"]] == [v1["id"]]
    assert world.api(admins["A"], "get", f"/rules/{v1['id']}").json() == v1
    # case staff in the region see it too (they dispatch by it)
    assert world.api(world.operator, "get", f"/rules/{v1['id']}").status_code == 200
    res = world.api(
        admins["A"],
        "post",
        f"/rules/{v1['id']}/revise",
        {"effective_from": "2025-07-01", "assisting_department_ids": []},
    )
    assert res.status_code == 201, res.content
    v2 = res.json()
    assert (v2["rule_key"], v2["version"]) == (v1["rule_key"], 2)
    assert v2["lead_department_id"] == world.housing.pk and v2["assisting_department_ids"] == []
    assert v2["legal_basis"] == v1["legal_basis"]  # kept when not given
    versions = world.api(admins["A"], "get", f"/rules/{v2['id']}/versions").json()
    assert [(v["version"], v["effective_from"], v["effective_to"]) for v in versions] == [
        (1, "2024-01-01", "2025-07-01"),
        (2, "2025-07-01", None),
    ]
    current = world.api(admins["A"], "get", "/rules?category=0301&current=true").json()
    assert [r["version"] for r in current["items"]] == [2]
    # a revision must start later than the version in force
    res = world.api(admins["A"], "post", f"/rules/{v1['id']}/revise", {"effective_from": "2025-07-01"})
    assert _field(res) == "effective_from"
    assert ResponsibilityRule.objects.filter(rule_key=v1["rule_key"]).count() == 2


def test_rules_are_scoped_by_region(world, admins):
    rule_a = world.api(admins["A"], "post", "/rules", _rule_body(world)).json()
    rule_b = world.api(
        admins["B"],
        "post",
        "/rules",
        _rule_body(
            world,
            region_code=world.r["B"].code,
            lead_department_id=world.other_police.pk,
            assisting_department_ids=[],
        ),
    )
    assert rule_b.status_code == 201, rule_b.content
    rule_b = rule_b.json()
    for path in (f"/rules/{rule_a['id']}", f"/rules/{rule_a['id']}/versions"):
        assert world.api(admins["B"], "get", path).status_code == 404
        assert world.api(world.sibling_operator, "get", path).status_code == 404
    res = world.api(admins["B"], "post", f"/rules/{rule_a['id']}/revise", {"effective_from": "2030-01-01"})
    assert res.status_code == 404
    ids_b = {r["id"] for r in world.api(admins["B"], "get", "/rules").json()["items"]}
    assert rule_a["id"] not in ids_b and rule_b["id"] in ids_b
    ids_a = {r["id"] for r in world.api(admins["A"], "get", "/rules").json()["items"]}
    assert rule_b["id"] not in ids_a and rule_a["id"] in ids_a
    # the city sees both
    city_admin = make_user(Role.SYSTEM_ADMIN, world.r["C"], username="admin_c")
    ids_c = {r["id"] for r in world.api(city_admin, "get", "/rules").json()["items"]}
    assert {rule_a["id"], rule_b["id"]} <= ids_c
    # B cannot write a rule for A's region nor name A's departments
    assert _field(world.api(admins["B"], "post", "/rules", _rule_body(world))) == "region_code"
    res = world.api(admins["B"], "post", "/rules", _rule_body(world, region_code=world.r["B"].code))
    assert _field(res) == "lead_department_id"


def test_rule_write_needs_catalogue_manage(world, admins):
    res = world.api(world.operator, "post", "/rules", _rule_body(world))
    assert res.status_code == 403
    rule = ResponsibilityRule.objects.get()
    res = world.api(world.operator, "post", f"/rules/{rule.pk}/revise", {"effective_from": "2030-01-01"})
    assert res.status_code == 403
    assert ResponsibilityRule.objects.count() == 1


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"category_code": "9999"}, "category_code"),
        ({"region_code": "999999999999"}, "region_code"),
        ({"lead_department_id": 999999}, "lead_department_id"),
        ({"assisting_department_ids": [999999]}, "assisting_department_ids"),
        ({"handling_level": "galaxy"}, "handling_level"),
        ({"effective_to": "2023-12-31"}, "effective_to"),
        ({"effective_from": "not a date"}, "effective_from"),
        ({"lead_department_id": None}, "lead_department_id"),
    ],
)
def test_rule_validation_names_the_field(world, admins, over, field):
    before = ResponsibilityRule.objects.count()
    assert _field(world.api(admins["A"], "post", "/rules", _rule_body(world, **over))) == field
    assert ResponsibilityRule.objects.count() == before


def test_rule_for_a_township_may_name_county_departments_but_not_another_townships(world, admins):
    from tests.factories import make_department

    a2_office = make_department(world.r["A2"], "甲二街道办事处", "government")
    body = _rule_body(
        world,
        region_code=world.r["A1"].code,
        lead_department_id=world.township_office.pk,
        assisting_department_ids=[world.police.pk],
        handling_level="township",
    )
    res = world.api(admins["A"], "post", "/rules", body)
    assert res.status_code == 201, res.content
    body["assisting_department_ids"] = [a2_office.pk]
    assert _field(world.api(admins["A"], "post", "/rules", body)) == "assisting_department_ids"
    assert dt.date.fromisoformat(res.json()["effective_from"]) == dt.date(2024, 1, 1)
