"""The mediators' registry (body, specialty, region; load and results) and the configuration of
disputes: the types and the escalation-risk signals are lists an administrator edits, the scale
thresholds are settings."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from tests.factories import make_user
from zongzhi.core.models import AuditLog
from zongzhi.disputes import selectors, services
from zongzhi.disputes.models import DisputeSettings, DisputeType, Mediator
from zongzhi.orgs.roles import Role

from .builders import World, act, agreed, intake

pytestmark = pytest.mark.django_db


def mediate(world: World, lead: Mediator, participants: list[Mediator] = ()) -> Any:  # type: ignore[assignment]
    d = intake(world.village_op, world.r["A1a"])
    act(
        world.village_op,
        d,
        "mediate",
        mediation_type="elders",
        lead_mediator_id=lead.pk,
        mediator_ids=[m.pk for m in participants],
    )
    return d


def session(world: World, d: Any) -> None:
    act(
        world.village_op,
        d,
        "mediation_session",
        "调解",
        held_at=timezone.now().isoformat(),
        place="调解室",
        attendees="双方",
    )


# --- the registry --------------------------------------------------------------------------------------------


def test_register_a_mediator_on_the_page_and_list_it(world):
    c = world.client(world.township_op)
    assert c.get("/mediators/new/").status_code == 200
    res = c.post(
        "/mediators/new/",
        {
            "name": "周金牌",
            "body_kind": "elder",
            "body_name": "甲一街道乡贤调解工作室",
            "region": f"{world.r['A1'].code} 甲一街道",
            "department": str(world.judicial_office.pk),
            "specialties": ["land_forest", "family"],
            "specialty_note": "擅长宅基地、赡养纠纷",
            "title": "金牌调解员",
            "phone": "0571-88886666",
            "is_active": "on",
        },
    )
    assert res.status_code == 302, res.content.decode()[:2000]
    m = Mediator.objects.get(name="周金牌")
    assert (m.body_kind, m.region, m.department, m.title) == (
        "elder",
        world.r["A1"],
        world.judicial_office,
        "金牌调解员",
    )
    assert sorted(m.specialties.values_list("code", flat=True)) == ["family", "land_forest"]
    assert AuditLog.objects.filter(action="disputes.mediator_create").exists()
    # the village sees the township's mediators (they may join its mediations); the neighbour county does not
    assert "周金牌" in world.client(world.village_op).get("/mediators/").content.decode()
    assert world.client(world.cousin_op).get(f"/mediators/{m.pk}/").status_code == 404
    # bad input names the field
    res = world.api(
        world.township_op,
        "post",
        "/mediators",
        {"name": "x", "body_kind": "nonsense", "body_name": "y", "region_code": world.r["A1"].code},
    )
    assert res.status_code == 422 and res.json()["detail"]["field"] == "body_kind"
    res = world.api(
        world.township_op,
        "post",
        "/mediators",
        {"name": "x", "body_kind": "lawyer", "body_name": "y", "region_code": world.r["B1"].code},
    )
    assert res.status_code == 422 and res.json()["detail"]["code"] == "out_of_scope"


def test_load_and_results(world):
    lead, elder = world.mediator, world.elder
    # 1: agreement led by ``lead``; 2: failed; 3: withdrawn; 4: open, led; 5: open, joined
    agreed(world)
    d = mediate(world, lead)
    session(world, d)
    act(world.mediator_user, d, "mediation_fail", "一方拒绝")
    d = mediate(world, lead)
    act(world.mediator_user, d, "withdraw", "申请人撤回")
    mediate(world, lead, [elder])
    mediate(world, world.township_mediator, [lead])
    body = world.api(world.village_op, "get", f"/mediators/{lead.pk}").json()
    assert (
        body["open_rounds"],
        body["rounds_led"],
        body["agreements"],
        body["failed"],
        body["withdrawn"],
        body["partial"],
    ) == (
        2,
        3,
        1,
        1,
        1,
        0,
    )
    assert Decimal(str(body["success_rate"])) == Decimal("50.0")  # 1 / (1 + 1): withdrawals not counted
    elder_row = world.api(world.village_op, "get", f"/mediators/{elder.pk}").json()
    assert (elder_row["open_rounds"], elder_row["rounds_led"], elder_row["success_rate"]) == (1, 0, None)
    # the register shows the same, and the mediator's page lists their rounds
    html = world.client(world.village_op).get("/mediators/").content.decode()
    assert f'<tr data-mediator="{lead.pk}">' in html and "50.0%" in html
    page = world.client(world.village_op).get(f"/mediators/{lead.pk}/").content.decode()
    assert page.count("data-round=") == 5
    listed = {m.pk: m for m in selectors.mediator_list(world.village_op)}
    assert listed[lead.pk].open_led == 1 and listed[lead.pk].open_joined == 1


# --- configuration ---------------------------------------------------------------------------------------------


def test_types_signals_and_thresholds_are_configured_in_the_admin(world):
    sysadmin = make_user(Role.SYSTEM_ADMIN, world.r["C"], username="sys_c")
    c = world.client(sysadmin)
    assert c.get("/admin/disputes/disputetype/").status_code == 200
    res = c.post(
        "/admin/disputes/disputetype/add/",
        {"code": "rental", "name": "房屋租赁纠纷", "category_code": "", "sort_order": 125, "is_active": "on"},
    )
    assert res.status_code == 302, res.content.decode()[:3000]
    rental = DisputeType.objects.get(code="rental")
    assert rental.name == "房屋租赁纠纷"
    res = c.post(
        "/admin/disputes/riskflagtype/add/",
        {
            "code": "debt_collection",
            "name": "暴力催收苗头",
            "description": "",
            "sort_order": 70,
            "is_active": "on",
        },
    )
    assert res.status_code == 302, res.content.decode()[:3000]

    settings_row = DisputeSettings.objects.get(pk=1)
    res = c.post(
        f"/admin/disputes/disputesettings/{settings_row.pk}/change/",
        {"group_min_people": 3, "mass_min_people": 20},
    )
    assert res.status_code == 302, res.content.decode()[:3000]
    assert AuditLog.objects.filter(action="disputes.thresholds_update").exists()
    # the new type, the new signal and the new thresholds are used at once
    d = intake(
        world.village_op, world.r["A1a"], dispute_type="rental", people_count=3, flags=["debt_collection"]
    )
    assert (d.dispute_type.code, d.scale) == ("rental", "group")
    assert intake(world.village_op, world.r["A1a"], people_count=20).scale == "mass"
    assert intake(world.village_op, world.r["A1a"], people_count=2).scale == "individual"
    table = selectors.monthly_table(
        world.village_op, world.r["A1"], timezone.localdate().year, timezone.localdate().month
    )
    labels = [label for group, _gl, cols in table.columns if group == "type" for _k, label in cols]
    assert "房屋租赁纠纷" in labels and table.total.counts[f"type:{rental.pk}"] == 1
    # thresholds that do not make sense are refused, naming the field
    res = c.post(
        f"/admin/disputes/disputesettings/{settings_row.pk}/change/",
        {"group_min_people": 10, "mass_min_people": 10},
    )
    assert res.status_code == 200 and DisputeSettings.objects.get(pk=1).mass_min_people == 20
    # a deactivated type is no longer offered for new disputes
    res = c.post(
        f"/admin/disputes/disputetype/{rental.pk}/change/",
        {"name": "房屋租赁纠纷", "category_code": "", "sort_order": 125},
    )
    assert res.status_code == 302
    res = world.api(world.village_op, "get", "/dispute-types")
    assert "rental" not in [t["code"] for t in res.json()]
    with pytest.raises(services.FieldError) as exc:
        intake(world.village_op, world.r["A1a"], dispute_type="rental")
    assert exc.value.field == "dispute_type"


def test_configuration_services_refuse_bad_input_and_other_users(world):
    from zongzhi.core.errors import PermissionDeniedError

    with pytest.raises(services.FieldError) as exc:
        services.thresholds_update(actor=None, group_min_people=1, mass_min_people=30)
    assert exc.value.field == "group_min_people"
    with pytest.raises(services.FieldError) as exc:
        services.config_type_create(actor=None, model=DisputeType, code="Bad Code", values={"name": "x"})
    assert exc.value.field == "code"
    with pytest.raises(services.FieldError) as exc:
        services.config_type_create(actor=None, model=DisputeType, code="neighbour", values={"name": "x"})
    assert exc.value.code == "duplicate"
    with pytest.raises(services.FieldError) as exc:
        services.config_type_create(
            actor=None, model=DisputeType, code="rental", values={"name": "x", "category_code": "9999"}
        )
    assert exc.value.field == "category_code"
    with pytest.raises(PermissionDeniedError):
        services.thresholds_update(actor=world.village_op, group_min_people=3, mass_min_people=20)
    assert world.client(world.village_op).get("/admin/disputes/disputetype/").status_code in (302, 403)
