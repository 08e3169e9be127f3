"""Who sees what: scoping (a sibling-scope user cannot find a person even by exact ID number),
masking by role, audited unmasking, special-population visibility by group grant, and the 三员
who see no personal data at all."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from zongzhi.core.models import AuditLog
from zongzhi.people import selectors, services
from zongzhi.people.models import SpecialGroupMembership

from .conftest import make_id

pytestmark = pytest.mark.django_db

ID = make_id("330106", "19780302", "215")
PHONE = "13812345678"


# --- a sibling cannot find a person, even by exact ID -------------------------------------------------


def test_sibling_scope_user_cannot_find_person_by_exact_id_web(world: Any) -> None:
    resident = world.resident(ID, phone=PHONE)
    own = world.client(world.worker).get("/people/residents/", {"id_number": ID})
    assert own.status_code == 200
    assert f'data-resident="{resident.pk}"' in own.content.decode()
    for user in (world.sibling_worker, world.other_director):
        c = world.client(user)
        res = c.get("/people/residents/", {"id_number": ID})
        assert res.status_code == 200
        assert f'data-resident="{resident.pk}"' not in res.content.decode()
        assert c.get("/people/residents/", {"phone": PHONE}).content.decode().count("data-resident=") == 0
        assert c.get(f"/people/residents/{resident.pk}/").status_code == 404


def test_sibling_scope_user_cannot_find_person_by_exact_id_api(world: Any) -> None:
    resident = world.resident(ID, phone=PHONE)
    res = world.api(world.worker, "get", f"/residents/lookup?id_number={ID}")
    assert res.status_code == 200 and res.json()["id"] == resident.pk
    for user in (world.sibling_worker, world.other_director):
        assert world.api(user, "get", f"/residents/lookup?id_number={ID}").status_code == 404
        listing = world.api(user, "get", f"/residents?id_number={ID}")
        assert listing.status_code == 200 and listing.json()["items"] == []
        assert world.api(user, "get", f"/residents?phone={PHONE}").json()["items"] == []
        assert world.api(user, "get", f"/residents/{resident.pk}").status_code == 404
    # an ancestor (the county director) finds them
    assert world.api(world.director, "get", f"/residents/lookup?id_number={ID}").status_code == 200


def test_registering_an_id_known_elsewhere_says_duplicate_but_reveals_nothing(world: Any) -> None:
    world.resident(ID, region=world.r["B1a"], grid=None)
    res = world.api(
        world.worker, "post", "/residents", {"id_number": ID, "name": "李四", "grid_code": world.grid.code}
    )
    assert res.status_code == 422
    detail = res.json()["detail"]
    assert detail["field"] == "id_number" and detail["code"] == "duplicate"
    assert "B" not in detail["message"] and "乙" not in detail["message"]


# --- masking by role ----------------------------------------------------------------------------------


def test_lists_mask_id_and_phone_for_every_role_and_names_for_view_only_roles(world: Any) -> None:
    world.resident(ID, name="欧阳秀兰", phone=PHONE)
    masked_id = ID[:4] + "*" * 10 + ID[-4:]
    for user, name_shown in (
        (world.worker, "欧阳秀兰"),
        (world.leader, "欧阳秀兰"),
        (world.director, "欧阳秀兰"),
        (world.operator, "欧阳秀兰"),
        (world.mediator, "欧***"),  # view-only role: name masked too
    ):
        html = world.client(user).get("/people/residents/").content.decode()
        assert masked_id in html, user
        assert "138****5678" in html
        assert ID not in html and PHONE not in html
        assert name_shown in html, (user, name_shown)
        if name_shown != "欧阳秀兰":
            assert "欧阳秀兰" not in html
        items = world.api(user, "get", "/residents").json()["items"]
        assert items[0]["id_number"] == masked_id and items[0]["phone"] == "138****5678"
        assert items[0]["name"] == name_shown


@pytest.mark.parametrize("role_user", ["sysadmin", "secadmin", "auditor", "handler"])
def test_admins_auditor_and_department_handlers_see_no_personal_data(world: Any, role_user: str) -> None:
    resident = world.resident(ID)
    user = getattr(world, role_user)
    c = world.client(user)
    assert c.get("/people/residents/").status_code == 404
    assert c.get(f"/people/residents/{resident.pk}/").status_code == 404
    assert world.api(user, "get", f"/residents/{resident.pk}").status_code == 404
    assert world.api(user, "get", "/residents").status_code == 403
    assert not selectors.residents(user).exists()


# --- audited unmasking --------------------------------------------------------------------------------


def test_unmask_shows_clear_values_and_writes_who_when_which_why(world: Any) -> None:
    resident = world.resident(ID, name="欧阳秀兰", phone=PHONE)
    c = world.client(world.leader)
    page = c.get(f"/people/residents/{resident.pk}/").content.decode()
    assert ID not in page and "说明原因并查看" in page
    res = c.post(f"/people/unmask/resident/{resident.pk}/", {"reason": "visit", "note": "入户核实"})
    assert res.status_code == 200
    html = res.content.decode()
    assert ID in html and PHONE in html
    assert res["Cache-Control"] == "no-store"
    row = AuditLog.objects.filter(action="people.unmask").get()
    assert row.actor_id == world.leader.pk
    assert row.object_type == "people.resident" and row.object_id == str(resident.pk)
    assert row.data["reason"] == "visit" and row.data["note"] == "入户核实"
    assert sorted(row.data["fields"]) == ["id_number", "name", "phone"]
    assert row.at is not None and row.region_path == resident.region_path
    assert ID not in str(row.data) and PHONE not in str(row.data)  # the values are not logged


def test_unmask_needs_a_reason(world: Any) -> None:
    resident = world.resident(ID)
    c = world.client(world.leader)
    res = c.post(f"/people/unmask/resident/{resident.pk}/", {"reason": ""})
    assert res.status_code == 422
    assert "请选择查看原因" in res.content.decode()
    res = c.post(f"/people/unmask/resident/{resident.pk}/", {"reason": "other", "note": ""})
    assert res.status_code == 422
    assert "请说明查看原因" in res.content.decode()
    assert ID not in res.content.decode()
    assert not AuditLog.objects.filter(action="people.unmask").exists()
    api = world.api(world.leader, "post", f"/residents/{resident.pk}/unmask", {"reason": "other"})
    assert api.status_code == 422 and api.json()["detail"]["field"] == "note"


def test_unmask_refused_without_the_permission_and_404_outside_scope(world: Any) -> None:
    resident = world.resident(ID)
    # a grid worker sees the record but may not unmask: no button, 404 on a forged post, 403 in the API
    page = world.client(world.worker).get(f"/people/residents/{resident.pk}/").content.decode()
    assert "说明原因并查看" not in page
    assert (
        world.client(world.worker)
        .post(f"/people/unmask/resident/{resident.pk}/", {"reason": "visit"})
        .status_code
        == 404
    )
    res = world.api(world.worker, "post", f"/residents/{resident.pk}/unmask", {"reason": "visit"})
    assert res.status_code == 403
    # outside the scope the record does not exist, even for a role that may unmask
    assert (
        world.api(
            world.other_director, "post", f"/residents/{resident.pk}/unmask", {"reason": "visit"}
        ).status_code
        == 404
    )
    assert (
        world.client(world.other_director)
        .post(f"/people/unmask/resident/{resident.pk}/", {"reason": "visit"})
        .status_code
        == 404
    )
    assert not AuditLog.objects.filter(action="people.unmask").exists()
    ok = world.api(
        world.director, "post", f"/residents/{resident.pk}/unmask", {"reason": "case", "note": "案件核实"}
    )
    assert ok.status_code == 200 and ok.json()["values"]["id_number"] == ID


# --- special populations: visible only with the group's grant ----------------------------------------


def _member(
    world: Any, group: str, details: dict[str, str], id_number: str | None = None
) -> SpecialGroupMembership:
    resident = world.resident(id_number or make_id(seq=str(100 + len(group))))
    return services.membership_enrol(
        actor=None,
        resident=resident,
        group=group,
        data=services.MembershipInput(starts_on=dt.date(2026, 1, 5), details=details),
    )


def test_special_groups_visible_only_to_roles_granted_for_the_group(world: Any) -> None:
    mental = _member(world, "mental_disorder", {"diagnosis": "抑郁症", "guardian_name": "家属"})
    aids = _member(world, "aids_risk", {"risk_behaviour": "多性伴"})
    # the grid worker sees mental disorder members but not AIDS-risk ones
    assert set(selectors.memberships(world.worker).values_list("pk", flat=True)) == {mental.pk}
    assert world.client(world.worker).get(f"/people/special/{mental.pk}/").status_code == 200
    assert world.client(world.worker).get(f"/people/special/{aids.pk}/").status_code == 404
    assert world.api(world.worker, "get", f"/memberships/{aids.pk}").status_code == 404
    # the director (all groups) sees both
    assert set(selectors.memberships(world.director).values_list("pk", flat=True)) == {mental.pk, aids.pk}
    detail = world.api(world.director, "get", f"/memberships/{aids.pk}")
    assert detail.status_code == 200 and detail.json()["details"] == {"risk_behaviour": "多性伴"}
    # the operator sees residents but no special group at all
    assert not selectors.memberships(world.operator).exists()
    assert world.client(world.operator).get(f"/people/special/{mental.pk}/").status_code == 404
    assert world.client(world.operator).get("/people/special/").status_code == 404
    # and the resident's page does not reveal the membership to the operator
    page = world.client(world.operator).get(f"/people/residents/{mental.resident_id}/").content.decode()
    assert "严重精神障碍" not in page and "抑郁症" not in page
    page = world.client(world.worker).get(f"/people/residents/{mental.resident_id}/").content.decode()
    assert "严重精神障碍患者" in page
    # sibling scope: nothing
    assert not selectors.memberships(world.sibling_worker).exists()
    assert world.client(world.sibling_worker).get(f"/people/special/{mental.pk}/").status_code == 404


def test_visits_to_members_follow_the_group_grant(world: Any) -> None:
    from django.utils import timezone

    aids = _member(world, "aids_risk", {"risk_behaviour": "静脉吸毒"})
    visit = services.visit_record(
        actor=world.director,
        membership=aids,
        data=services.VisitInput(visited_at=timezone.now(), findings="随访正常"),
    )
    assert not selectors.visits(world.worker).filter(pk=visit.pk).exists()
    assert world.api(world.worker, "get", f"/visits/{visit.pk}").status_code == 404
    assert world.api(world.director, "get", f"/visits/{visit.pk}").json()["findings"] == "随访正常"
    # a worker may not record a visit to a group they cannot see
    with pytest.raises(services.PermissionDeniedError):
        services.visit_record(
            actor=world.worker,
            membership=aids,
            data=services.VisitInput(visited_at=timezone.now(), findings="x"),
        )
