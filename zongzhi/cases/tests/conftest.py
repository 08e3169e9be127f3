"""A small world for the loop: regions, departments, staff in every role, the catalogue, a rule."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client

from tests.factories import PASSWORD, make_department, make_tree, make_user
from zongzhi.cases import services
from zongzhi.cases.models import Category
from zongzhi.orgs.models import Department, Region, User
from zongzhi.orgs.roles import Role


@dataclass
class World:
    r: dict[str, Region]
    police: Department  # county A
    housing: Department  # county A
    township_office: Department  # township A1
    other_police: Department  # county B
    operator: User  # center operator, county A
    township_operator: User  # township A1
    director: User  # county A director (approves extensions, supervises)
    handler: User  # police handler
    housing_handler: User
    other_handler: User  # county B police
    sibling_operator: User  # county B operator
    city_leader: User
    grid_worker: User  # village A1a
    category: Category

    def client(self, user: User | None) -> Client:
        c = Client()
        if user is not None:
            c.force_login(user)
        return c

    def api(self, user: User | None, method: str, path: str, body: Any = None, **headers: Any) -> Any:
        c = self.client(user)
        fn = getattr(c, method)
        if body is None:
            return fn(f"/api/v1{path}", **headers)
        return fn(f"/api/v1{path}", body, content_type="application/json", **headers)


@pytest.fixture
def world(db) -> World:  # type: ignore[no-untyped-def]
    r = make_tree()
    services.catalogue_load_defaults(actor=None)
    police = make_department(r["A"], "甲区公安分局", "public_security")
    housing = make_department(r["A"], "甲区住建局", "housing")
    office = make_department(r["A1"], "甲一街道办事处", "government")
    other_police = make_department(r["B"], "乙区公安分局", "public_security")
    category = Category.objects.get(code="0201")
    services.rule_create(
        actor=None,
        category=Category.objects.get(code="02"),
        region=r["A"],
        lead_department=police,
        assisting_departments=[office],
        handling_level="county",
        legal_basis="《人民调解法》",
        effective_from=dt.date(2020, 1, 1),
    )
    return World(
        r=r,
        police=police,
        housing=housing,
        township_office=office,
        other_police=other_police,
        operator=make_user(Role.CENTER_OPERATOR, r["A"], username="op_a"),
        township_operator=make_user(Role.CENTER_OPERATOR, r["A1"], username="op_a1"),
        director=make_user(Role.CENTER_DIRECTOR, r["A"], username="dir_a"),
        handler=make_user(Role.DEPARTMENT_HANDLER, r["A"], department=police, username="police_a"),
        housing_handler=make_user(Role.DEPARTMENT_HANDLER, r["A"], department=housing, username="housing_a"),
        other_handler=make_user(
            Role.DEPARTMENT_HANDLER, r["B"], department=other_police, username="police_b"
        ),
        sibling_operator=make_user(Role.CENTER_OPERATOR, r["B"], username="op_b"),
        city_leader=make_user(Role.LEADER_VIEWER, r["C"], username="leader_c"),
        grid_worker=make_user(Role.GRID_WORKER, r["A1a"], username="gw_a1a"),
        category=category,
    )


__all__ = ["PASSWORD", "World", "world"]
