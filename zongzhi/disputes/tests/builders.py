"""A small world for the dispute tests (and the scoping conformance builders): regions, the bodies
that mediate, staff in each role, mediators, grids. Everything through the real services."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.test import Client
from django.utils import timezone

from tests.factories import make_department, make_grid, make_tree, make_user
from zongzhi.cases import services as case_services
from zongzhi.disputes import services
from zongzhi.disputes.models import Dispute, Mediator
from zongzhi.orgs.models import Department, Grid, Region, User
from zongzhi.orgs.roles import Role
from zongzhi.orgs.services import grid_member_add

# valid GB 11643 numbers (check digits computed)
ID_ZHANG = "110101199003074477"  # 张三
ID_LI = "11010119850215002X"  # 李四
PHONE_ZHANG = "13812345678"
PHONE_LI = "13987654321"


def citizen_id(first17: str) -> str:
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return first17 + "10X98765432"[sum(int(c) * w for c, w in zip(first17, weights, strict=True)) % 11]


@dataclass
class World:
    r: dict[str, Region]
    committee: Department  # 甲一社区人民调解委员会 (village A1a)
    judicial_office: Department  # 甲一街道司法所 (township A1)
    court: Department  # 甲区人民法院 (county A)
    village_op: User  # work station of A1a
    village_director: User
    township_op: User  # center of A1
    county_op: User  # center of A
    mediator_user: User  # mediator of A1a (has an account)
    mediator: Mediator  # linked to mediator_user
    elder: Mediator  # 贤调: an elder without an account (A1a)
    township_mediator: Mediator  # 司法所 (A1)
    sibling_op: User  # village A1b
    cousin_op: User  # county B
    leader: User  # city leader (viewer)
    grid_worker: User  # A1a, member of ``grid``
    grid: Grid
    grid2: Grid
    grid_b: Grid  # in A1b

    def client(self, user: User | None) -> Client:
        c = Client()
        if user is not None:
            c.force_login(user)
        return c

    def api(self, user: User | None, method: str, path: str, body: Any = None, **headers: Any) -> Any:
        fn = getattr(self.client(user), method)
        if body is None:
            return fn(f"/api/v1{path}", **headers)
        return fn(f"/api/v1{path}", body, content_type="application/json", **headers)


def make_mediator(
    region: Region,
    name: str,
    department: Department | None,
    body: str = "peoples_committee",
    user: User | None = None,
) -> Mediator:
    return services.mediator_create(
        actor=None,
        data=services.MediatorInput(
            name=name,
            body_kind=body,
            body_name=department.name if department else f"{region.name}乡贤调解工作室",
            region_code=region.code,
            department_id=department.pk if department else None,
            user_id=user.pk if user else None,
            specialty_codes=["neighbour", "family"],
        ),
    )


def make_world() -> World:
    r = make_tree()
    case_services.catalogue_load_defaults(actor=None)
    services.load_defaults()
    committee = make_department(r["A1a"], "甲一社区人民调解委员会", "village_committee")
    judicial = make_department(r["A1"], "甲一街道司法所", "justice")
    court = make_department(r["A"], "甲区人民法院", "court")
    mediator_user = make_user(Role.MEDIATOR, r["A1a"], username="med_a1a", display_name="王调解")
    grid = make_grid(r["A1a"], "甲一社区第一网格")
    grid2 = make_grid(r["A1a"], "甲一社区第二网格")
    grid_b = make_grid(r["A1b"], "甲一村第一网格")
    grid_worker = make_user(Role.GRID_WORKER, r["A1a"], username="gw_a1a")
    grid_member_add(actor=None, grid=grid, user=grid_worker, role="worker")
    return World(
        r=r,
        committee=committee,
        judicial_office=judicial,
        court=court,
        village_op=make_user(Role.CENTER_OPERATOR, r["A1a"], username="op_a1a"),
        village_director=make_user(Role.CENTER_DIRECTOR, r["A1a"], username="dir_a1a"),
        township_op=make_user(Role.CENTER_OPERATOR, r["A1"], username="op_a1"),
        county_op=make_user(Role.CENTER_OPERATOR, r["A"], username="op_a"),
        mediator_user=mediator_user,
        mediator=make_mediator(r["A1a"], "王调解", committee, user=mediator_user),
        elder=make_mediator(r["A1a"], "李乡贤", committee, body="elder"),
        township_mediator=make_mediator(r["A1"], "赵司法", judicial, body="judicial_office"),
        sibling_op=make_user(Role.CENTER_OPERATOR, r["A1b"], username="op_a1b"),
        cousin_op=make_user(Role.CENTER_OPERATOR, r["B"], username="op_b"),
        leader=make_user(Role.LEADER_VIEWER, r["C"], username="leader_c"),
        grid_worker=grid_worker,
        grid=grid,
        grid2=grid2,
        grid_b=grid_b,
    )


def parties(applicant: str = "张三", respondent: str = "李四") -> list[services.PartyInput]:
    return [
        services.PartyInput(
            role="applicant",
            name=applicant,
            gender="male",
            ethnicity="汉族",
            id_type="id_card",
            id_number=ID_ZHANG,
            phone=PHONE_ZHANG,
            address="甲一社区3幢201室",
        ),
        services.PartyInput(
            role="respondent",
            name=respondent,
            gender="female",
            ethnicity="汉族",
            id_number=ID_LI,
            phone=PHONE_LI,
            address="甲一社区3幢301室",
        ),
    ]


def dispute_input(village: Region, **over: Any) -> services.DisputeInput:
    values: dict[str, Any] = {
        "title": "楼上漏水纠纷",
        "description": "楼上卫生间漏水至楼下，双方协商未果，楼下要求赔偿维修费用。",
        "dispute_type": "neighbour",
        "region_code": village.code,
        "parties": parties(),
        "people_count": 2,
        "amount": "3000",
    }
    values.update(over)
    return services.DisputeInput(**values)


def intake(actor: Any, village: Region, **over: Any) -> Dispute:
    """A dispute registered (and accepted) by ``actor`` in ``village``."""
    return services.dispute_intake(actor=actor, data=dispute_input(village, **over)).dispute


def act(actor: Any, dispute: Dispute, action: str, note: str = "", **data: Any) -> Any:
    return case_services.case_transition(
        actor=actor, case_id=dispute.case_id, action=action, note=note, data=data
    )


def agreed(world: World, *, deadline: dt.date | None = None, village: Region | None = None) -> Dispute:
    """A dispute mediated in its village up to an agreement (performance deadline ``deadline``)."""
    village = village or world.r["A1a"]
    op = world.village_op
    dispute = intake(op, village)
    mediator = (
        world.mediator
        if village == world.r["A1a"]
        else make_mediator(
            village, "调解员", make_department(village, f"{village.name}人民调解委员会", "village_committee")
        )
    )
    act(op, dispute, "mediate", mediation_type="elders", lead_mediator_id=mediator.pk, mediator_ids=[])
    act(
        op,
        dispute,
        "mediation_session",
        "双方陈述意见，调解员释法说理。",
        held_at=timezone.now().isoformat(),
        place="甲一社区调解室",
        attendees="张三、李四、王调解",
    )
    act(
        op,
        dispute,
        "mediation_agree",
        "双方达成协议",
        facts="楼上卫生间漏水至楼下。",
        terms="李四于期限内赔偿张三维修费人民币3000元。",
        performance_deadline=(deadline or (timezone.localdate() + dt.timedelta(days=10))).isoformat(),
    )
    return Dispute.objects.get(pk=dispute.pk)
