"""A small world for base data: the test tree, grids, users in every relevant role."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from tests.factories import make_department, make_grid, make_tree, make_user
from zongzhi.orgs import services as org_services
from zongzhi.orgs.models import Grid, Region, User
from zongzhi.orgs.roles import Role
from zongzhi.people import services
from zongzhi.people.models import Resident
from zongzhi.people.records import ResidentInput
from zongzhi.people.validators import id_check_digit

# real-shaped examples: GB 11643's own sample numbers and made-up ones with correct check digits
ID_A = "11010519491231002X"  # GB 11643-1999 example (female, 1949-12-31)
ID_B = "440524188001010014"  # GB 11643-1999 example (male, 1880-01-01)


def make_id(area: str = "330106", birth: str = "19900101", seq: str = "123") -> str:
    first17 = f"{area}{birth}{seq}"
    return first17 + id_check_digit(first17)


@dataclass
class World:
    r: dict[str, Region]
    grid: Grid  # in village A1a
    sibling_grid: Grid  # in village A1b (sibling)
    worker: User  # grid worker, A1a
    leader: User  # grid leader, A1a
    sibling_worker: User  # grid worker, A1b
    director: User  # center director, county A
    operator: User  # center operator, county A
    mediator: User  # township A1
    handler: User  # department handler, county A
    sysadmin: User  # city
    secadmin: User
    auditor: User
    other_director: User  # county B

    def client(self, user: User | None) -> Client:
        c = Client()
        if user is not None:
            c.force_login(user)
        return c

    def api(self, user: User | None, method: str, path: str, body: Any = None) -> Any:
        c = self.client(user)
        fn = getattr(c, method)
        if body is None:
            return fn(f"/api/v1{path}")
        return fn(f"/api/v1{path}", body, content_type="application/json")

    def resident(
        self,
        id_number: str | None = None,
        *,
        region: Region | None = None,
        grid: Grid | None = None,
        name: str = "张三",
        phone: str = "13812345678",
        house: Any = None,
        **over: Any,
    ) -> Resident:
        return services.resident_create(
            actor=None,
            data=ResidentInput(
                id_type=over.pop("id_type", "id_card"),
                id_number=id_number or make_id(),
                name=name,
                phone=phone,
                **over,
            ),
            region=region,
            grid=grid if grid is not None or region is not None else self.grid,
            house=house,
        )


@pytest.fixture
def world(db) -> World:  # type: ignore[no-untyped-def]
    r = make_tree()
    grid = make_grid(r["A1a"], "甲一社区第一网格")
    sibling_grid = make_grid(r["A1b"], "甲一村第一网格")
    worker = make_user(Role.GRID_WORKER, r["A1a"], username="worker_a1a", display_name="网格员甲")
    leader = make_user(Role.GRID_LEADER, r["A1a"], username="leader_a1a")
    sibling_worker = make_user(Role.GRID_WORKER, r["A1b"], username="worker_a1b")
    org_services.grid_member_add(actor=None, grid=grid, user=worker, role="worker")
    org_services.grid_member_add(actor=None, grid=grid, user=leader, role="leader")
    org_services.grid_member_add(actor=None, grid=sibling_grid, user=sibling_worker, role="worker")
    police = make_department(r["A"], "甲区公安分局", "public_security")
    return World(
        r=r,
        grid=grid,
        sibling_grid=sibling_grid,
        worker=worker,
        leader=leader,
        sibling_worker=sibling_worker,
        director=make_user(Role.CENTER_DIRECTOR, r["A"], username="director_a"),
        operator=make_user(Role.CENTER_OPERATOR, r["A"], username="operator_a"),
        mediator=make_user(Role.MEDIATOR, r["A1"], username="mediator_a1"),
        handler=make_user(Role.DEPARTMENT_HANDLER, r["A"], department=police, username="handler_a"),
        sysadmin=make_user(Role.SYSTEM_ADMIN, r["C"], username="sysadmin"),
        secadmin=make_user(Role.SECURITY_ADMIN, r["C"], username="secadmin"),
        auditor=make_user(Role.AUDITOR, r["C"], username="auditor"),
        other_director=make_user(Role.CENTER_DIRECTOR, r["B"], username="director_b"),
    )


def at(y: int, m: int, d: int, hh: int = 12, mm: int = 0) -> dt.datetime:
    """An aware local (Asia/Shanghai) datetime."""
    return timezone.make_aware(dt.datetime(y, m, d, hh, mm))
