"""Base data through the API: CRUD, exact lookup, field errors (422 naming the field), visits."""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from zongzhi.core.models import AuditLog
from zongzhi.people.models import House, Organization, Place, Resident, Visit, VisitPhoto

from .conftest import make_id

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def _create_resident(world: Any, **over: Any) -> Any:
    body = {
        "id_number": make_id(seq="611"),
        "name": "王芳",
        "phone": "13900001111",
        "grid_code": world.grid.code,
    }
    body.update(over)
    return world.api(world.worker, "post", "/residents", body)


def test_resident_crud_and_derived_fields(world: Any) -> None:
    res = _create_resident(world, ethnicity="汉族", resident_type="migrant")
    assert res.status_code == 201, res.content
    body = res.json()
    assert body["birth_date"] == "1990-01-01" and body["sex"] == "male"
    assert body["region_code"] == world.r["A1a"].code and body["grid_code"] == world.grid.code
    rid = body["id"]
    assert AuditLog.objects.filter(action="people.resident.create", object_id=str(rid)).exists()
    # read
    got = world.api(world.worker, "get", f"/residents/{rid}").json()
    assert got["name"] == "王芳" and got["resident_type"] == "migrant"
    # update: an empty id_number and a null phone keep the stored values
    res = world.api(
        world.worker,
        "put",
        f"/residents/{rid}",
        {"id_number": "", "phone": None, "name": "王芳芳", "grid_code": world.grid.code, "notes": "已核实"},
    )
    assert res.status_code == 200, res.content
    r = Resident.objects.get(pk=rid)
    assert res.json()["name"] == "王芳芳" and res.json()["phone"] == "139****1111"
    assert r.notes == "已核实"
    row = AuditLog.objects.filter(action="people.resident.update", object_id=str(rid)).get()
    assert "name_index" in row.data["fields"] and "phone_index" not in row.data["fields"]
    # list and exact lookups
    assert [i["id"] for i in world.api(world.worker, "get", "/residents").json()["items"]] == [rid]
    assert world.api(world.worker, "get", "/residents?phone=139 0000 1111").json()["count"] == 1
    assert world.api(world.worker, "get", "/residents?name=王芳芳").json()["count"] == 1
    assert world.api(world.worker, "get", "/residents?name=王芳").json()["count"] == 0


@pytest.mark.parametrize(
    ("over", "field", "code"),
    [
        ({"id_number": "110105194912310021"}, "id_number", "id_check_digit"),
        ({"id_number": "110105194902300023"}, "id_number", "id_birth_date"),
        ({"phone": "12345"}, "phone", "phone_format"),
        ({"birth_date": "1991-01-01"}, "birth_date", "id_mismatch"),
        ({"sex": "female"}, "sex", "id_mismatch"),
        ({"grid_code": "999999999999999"}, "grid_code", "out_of_scope"),
        ({"grid_code": None}, "region", "required"),
        ({"resident_type": "alien"}, "resident_type", "enum"),
        ({"name": ""}, "name", "string_too_short"),
        ({"house_id": 99999}, "house_id", "out_of_scope"),
    ],
)
def test_bad_resident_input_is_422_naming_the_field(
    world: Any, over: dict[str, Any], field: str, code: str
) -> None:
    res = _create_resident(world, **over)
    assert res.status_code == 422, res.content
    detail = res.json()["detail"]
    if "errors" in detail:  # schema validation
        assert detail["errors"][0]["field"] == field
        assert detail["errors"][0]["code"] == code
    else:
        assert (detail["field"], detail["code"]) == (field, code)
        assert detail["message"]  # a Chinese reason
    assert not Resident.objects.exists()


def test_sibling_grid_is_out_of_scope_for_writes(world: Any) -> None:
    res = _create_resident(world, grid_code=world.sibling_grid.code)
    assert res.status_code == 422 and res.json()["detail"]["field"] == "grid_code"
    res = world.api(
        world.worker,
        "post",
        "/residents",
        {"id_number": make_id(), "name": "x", "region_code": world.r["B1a"].code},
    )
    assert res.status_code == 422 and res.json()["detail"]["field"] == "region_code"


def test_house_place_organization_crud(world: Any) -> None:
    res = world.api(
        world.worker,
        "post",
        "/houses",
        {
            "address": "文三路100号",
            "building": "3幢",
            "room": "501",
            "use": "rent",
            "grid_code": world.grid.code,
        },
    )
    assert res.status_code == 201, res.content
    hid = res.json()["id"]
    dup = world.api(
        world.worker,
        "post",
        "/houses",
        {"address": "文三路 100 号", "building": "3幢", "room": "501", "grid_code": world.grid.code},
    )
    assert dup.status_code == 422 and dup.json()["detail"]["field"] == "address"
    assert dup.json()["detail"]["code"] == "duplicate"
    res = world.api(
        world.worker,
        "put",
        f"/houses/{hid}",
        {
            "address": "文三路100号",
            "building": "3幢",
            "room": "502",
            "use": "own",
            "grid_code": world.grid.code,
        },
    )
    assert res.status_code == 200 and res.json()["data"]["room"] == "502"
    assert House.objects.get(pk=hid).use == "own"

    res = world.api(
        world.worker,
        "post",
        "/places",
        {"name": "东方网吧", "address": "古墩路1号", "kind": "internet_cafe", "grid_code": world.grid.code},
    )
    assert res.status_code == 201
    assert Place.objects.get(pk=res.json()["id"]).kind == "internet_cafe"

    res = world.api(
        world.worker,
        "post",
        "/organizations",
        {"name": "某科技公司", "credit_code": "91350100M000100Y44", "grid_code": world.grid.code},
    )
    assert res.status_code == 422
    assert (
        res.json()["detail"]["field"] == "credit_code"
        and res.json()["detail"]["code"] == "credit_code_check_digit"
    )
    res = world.api(
        world.worker,
        "post",
        "/organizations",
        {
            "name": "某科技公司",
            "credit_code": "91350100m000100y43",
            "grid_code": world.grid.code,
            "has_party_branch": True,
        },
    )
    assert res.status_code == 201
    org = Organization.objects.get()
    assert org.credit_code == "91350100M000100Y43" and org.has_party_branch
    res = world.api(
        world.worker,
        "post",
        "/organizations",
        {"name": "另一公司", "credit_code": "91350100M000100Y43", "grid_code": world.grid.code},
    )
    assert res.status_code == 422 and res.json()["detail"]["code"] == "duplicate"
    assert (
        world.api(world.worker, "get", "/organizations?credit_code=91350100M000100Y43").json()["count"] == 1
    )


def test_membership_and_visit_through_the_api(world: Any) -> None:
    rid = _create_resident(world).json()["id"]
    res = world.api(
        world.leader,
        "post",
        f"/residents/{rid}/memberships",
        {
            "group": "community_correction",
            "starts_on": "2026-01-05",
            "risk_level": 2,
            "details": {"crime": "盗窃罪"},
        },
    )
    assert res.status_code == 422
    assert res.json()["detail"]["field"] == "details.correction_type"
    res = world.api(
        world.leader,
        "post",
        f"/residents/{rid}/memberships",
        {
            "group": "community_correction",
            "starts_on": "2026-01-05",
            "ends_on": "2026-12-31",
            "risk_level": 2,
            "supervisor_id": world.worker.pk,
            "details": {"crime": "盗窃罪", "correction_type": "probation"},
        },
    )
    assert res.status_code == 201, res.content
    mid = res.json()["id"]
    assert res.json()["details"]["correction_type"] == "probation"
    again = world.api(
        world.leader,
        "post",
        f"/residents/{rid}/memberships",
        {
            "group": "community_correction",
            "starts_on": "2026-01-05",
            "details": {"crime": "x", "correction_type": "parole"},
        },
    )
    assert again.status_code == 409
    # a grid worker may record visits but not enrol
    res = world.api(
        world.worker,
        "post",
        f"/residents/{rid}/memberships",
        {
            "group": "key_youth",
            "starts_on": "2026-01-05",
            "details": {"youth_type": "dropout", "guardian_name": "王"},
        },
    )
    assert res.status_code == 403
    now = timezone.now()
    res = world.api(
        world.worker,
        "post",
        "/visits",
        {
            "membership_id": mid,
            "visited_at": now.isoformat(),
            "findings": "本人在家，按时报到",
            "location_text": "家中",
            "lon": 120.1,
            "lat": 30.2,
            "gps_accuracy_m": 15,
            "photos": [{"name": "p.png", "content_base64": base64.b64encode(PNG).decode()}],
        },
    )
    assert res.status_code == 201, res.content
    assert res.json()["findings"] == "本人在家，按时报到" and len(res.json()["photos"]) == 1
    assert VisitPhoto.objects.count() == 1
    m = world.api(world.worker, "get", f"/memberships/{mid}").json()
    assert m["period_visited"] is True and m["overdue"] is False
    # visit errors
    bad = world.api(
        world.worker,
        "post",
        "/visits",
        {"membership_id": mid, "house_id": 1, "visited_at": now.isoformat(), "findings": "x"},
    )
    assert bad.status_code == 422 and bad.json()["detail"]["code"] == "one_subject"
    future = (now + dt.timedelta(days=1)).isoformat()
    bad = world.api(
        world.worker, "post", "/visits", {"membership_id": mid, "visited_at": future, "findings": "x"}
    )
    assert bad.status_code == 422 and bad.json()["detail"]["field"] == "visited_at"
    bad = world.api(
        world.worker,
        "post",
        "/visits",
        {"membership_id": mid, "visited_at": now.isoformat(), "findings": "x", "lon": 120.1},
    )
    assert bad.status_code == 422 and bad.json()["detail"]["field"] == "lat"
    bad = world.api(
        world.worker,
        "post",
        "/visits",
        {
            "membership_id": mid,
            "visited_at": now.isoformat(),
            "findings": "x",
            "photos": [{"name": "a.png", "content_base64": base64.b64encode(b"GIF89a").decode()}],
        },
    )
    assert bad.status_code == 422 and bad.json()["detail"]["code"] == "content_mismatch"
    assert Visit.objects.count() == 1
    # close
    res = world.api(world.leader, "post", f"/memberships/{mid}/close", {"reason": "矫正期满"})
    assert res.status_code == 200 and res.json()["status"] == "closed"
    assert world.api(world.leader, "post", f"/memberships/{mid}/close", {"reason": "再次"}).status_code == 409
    assert world.api(world.worker, "get", "/memberships?status=closed").json()["count"] == 1
    assert world.api(world.worker, "get", "/memberships/due").status_code == 200
