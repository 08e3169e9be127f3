"""Exports of personal data: a role and a stated purpose, audited (who, filters, purpose, rows),
masked unless the exporter asked for clear values and may see them where the row lies; scoped;
large exports run as a background job kept for their owner."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.test import override_settings
from openpyxl import load_workbook

from tests.factories import make_grid, make_user
from zongzhi.core.errors import FieldError, PermissionDeniedError
from zongzhi.core.models import AuditLog, BackgroundJob
from zongzhi.orgs.roles import Role
from zongzhi.people.exports import ExportFilters, export_plan, export_rows

from .conftest import make_id

pytestmark = pytest.mark.django_db

ID_A = make_id("330106", "19900101", "123")
ID_B = make_id("330106", "19851231", "456")
ID_FAR = make_id("330106", "19700707", "789")


def _sheet(resp: Any) -> list[tuple[Any, ...]]:
    body = b"".join(resp.streaming_content)
    return list(load_workbook(io.BytesIO(body), read_only=True).worksheets[0].iter_rows(values_only=True))


@pytest.fixture
def people(world: Any) -> Any:
    world.resident(ID_A, name="欧阳秀兰", phone="13957123456")
    world.resident(ID_B, grid=world.sibling_grid, name="李四", phone="13800001111", resident_type="migrant")
    world.resident(ID_FAR, grid=make_grid(world.r["B1a"]), name="王五", phone="13700002222")
    return world


def test_a_purpose_is_required(people: Any) -> None:
    with pytest.raises(FieldError) as exc:
        export_plan(actor=people.operator, entity="resident", filters=ExportFilters(), purpose="  ")
    assert exc.value.field == "purpose"
    resp = people.client(people.operator).post("/people/export/", {"entity": "resident", "purpose": ""})
    assert resp.status_code == 422 and "请填写导出用途。" in resp.content.decode()
    api = people.api(people.operator, "post", "/people/export", {"entity": "resident", "purpose": ""})
    assert api.status_code == 422 and api.json()["detail"]["field"] == "purpose"
    assert not AuditLog.objects.filter(action="people.export").exists()


def test_the_export_is_audited_with_who_filters_purpose_and_rows(people: Any) -> None:
    c = people.client(people.operator)
    resp = c.post(
        "/people/export/",
        {
            "entity": "resident",
            "purpose": "疫苗接种摸排",
            "resident_type": "migrant",
            "region_code": people.r["A"].code,
        },
    )
    assert resp.status_code == 200
    rows = _sheet(resp)
    assert len(rows) == 2  # header + the one migrant in county A
    log = AuditLog.objects.get(action="people.export")
    assert log.actor_id == people.operator.pk and log.object_type == "people.resident"
    assert log.data["purpose"] == "疫苗接种摸排" and log.data["rows"] == 1
    assert log.data["filters"]["resident_type"] == "migrant"
    assert log.data["filters"]["region_code"] == people.r["A"].code
    assert log.data["clear"] is False


def test_values_are_masked_for_a_role_without_clear_access(people: Any) -> None:
    # the center operator may export but not unmask: even asking for clear values gives masks
    resp = people.client(people.operator).post(
        "/people/export/", {"entity": "resident", "purpose": "统计", "clear": "1"}
    )
    rows = _sheet(resp)
    assert rows[0][:3] == ("证件类型", "证件号码", "姓名")
    by_id = {r[1]: r for r in rows[1:]}
    masked = f"{ID_A[:4]}**********{ID_A[-4:]}"
    assert masked in by_id
    assert by_id[masked][2] == "欧***" and by_id[masked][6] == "139****3456" and by_id[masked][4] == "1990"
    text = repr(rows)
    for clear in (ID_A, ID_B, "欧阳秀兰", "13957123456"):
        assert clear not in text
    assert AuditLog.objects.get(action="people.export").data["clear_requested"] is True
    assert AuditLog.objects.get(action="people.export").data["clear"] is False


def test_clear_values_only_on_request_and_only_where_the_exporter_may_unmask(people: Any) -> None:
    director = people.client(people.director)
    masked = _sheet(director.post("/people/export/", {"entity": "resident", "purpose": "核对"}))
    assert ID_A not in repr(masked)
    clear = _sheet(director.post("/people/export/", {"entity": "resident", "purpose": "核对", "clear": "1"}))
    assert {r[1] for r in clear[1:]} == {ID_A, ID_B}
    assert any(r[2] == "欧阳秀兰" and r[6] == "13957123456" and r[4] == "1990-01-01" for r in clear[1:])

    # export scope city-wide, unmask only in village A1a: clear there, masked elsewhere
    mixed = make_user(Role.CENTER_OPERATOR, people.r["C"])
    from zongzhi.orgs import services as org_services

    org_services.role_grant(actor=None, user=mixed, role=Role.GRID_LEADER, region=people.r["A1a"])
    plan = export_plan(actor=mixed, entity="resident", filters=ExportFilters(), purpose="核对", clear=True)
    ids = {row[1] for row in export_rows(plan)}
    assert ID_A in ids and ID_B not in ids and ID_FAR not in ids and len(ids) == 3


def test_exports_need_the_permission_and_stay_in_scope(people: Any) -> None:
    with pytest.raises(PermissionDeniedError):
        export_plan(actor=people.worker, entity="resident", filters=ExportFilters(), purpose="x")
    assert people.client(people.worker).get("/people/export/").status_code == 404
    assert (
        people.api(
            people.worker, "post", "/people/export", {"entity": "resident", "purpose": "x"}
        ).status_code
        == 403
    )
    far = people.client(people.other_director).post(
        "/people/export/", {"entity": "resident", "purpose": "x", "clear": "1"}
    )
    assert [r[1] for r in _sheet(far)[1:]] == [ID_FAR]
    # a region outside the scope gives nothing, not someone else's rows
    none = people.client(people.other_director).post(
        "/people/export/", {"entity": "resident", "purpose": "x", "region_code": people.r["A"].code}
    )
    assert len(_sheet(none)) == 1


def test_houses_places_and_organizations_export_with_the_import_headers(people: Any) -> None:
    from zongzhi.people import services
    from zongzhi.people.records import HouseInput, OrganizationInput

    services.house_create(
        actor=people.director,
        data=HouseInput(address="文三路100号", owner_name="李四", owner_phone="13800001111"),
        grid=people.grid,
    )
    services.organization_create(
        actor=people.director,
        data=OrganizationInput(
            name="某科技公司", credit_code="91350100M000100Y43", legal_representative="钱七"
        ),
        region=people.r["A1a"],
    )
    c = people.client(people.operator)
    houses = _sheet(c.post("/people/export/", {"entity": "house", "purpose": "安全检查"}))
    assert (
        houses[0][0] == "地址"
        and houses[1][0] == "文三路100号"
        and houses[1][5] == "李*"
        and houses[1][6] == "138****1111"
    )
    orgs = _sheet(c.post("/people/export/", {"entity": "organization", "purpose": "党建统计"}))
    assert orgs[1][:4] == ("某科技公司", "其他组织", "91350100M000100Y43", "钱*")


def test_the_api_exports_with_a_purpose(people: Any) -> None:
    resp = people.api(
        people.director, "post", "/people/export", {"entity": "resident", "purpose": "核对", "clear": True}
    )
    assert resp.status_code == 200
    assert {r[1] for r in _sheet(resp)[1:]} == {ID_A, ID_B}
    assert AuditLog.objects.get(action="people.export").data["clear"] is True


@override_settings(ZZ_EXPORT_SYNC_LIMIT=1)
def test_large_exports_run_as_a_job_for_their_owner(
    people: Any, django_capture_on_commit_callbacks: Any
) -> None:
    c = people.client(people.operator)
    with django_capture_on_commit_callbacks(execute=True):
        resp = c.post("/people/export/", {"entity": "resident", "purpose": "年度统计"})
    job = BackgroundJob.objects.get(kind="people_export")
    assert resp.status_code == 302 and resp["Location"] == f"/exports/{job.pk}/"
    job.refresh_from_db()
    assert (job.status, job.total, job.purpose) == ("done", 2, "年度统计")
    download = c.get(f"/exports/{job.pk}/download/")
    rows = _sheet(download)
    assert len(rows) == 3 and ID_A not in repr(rows)
    assert people.client(people.director).get(f"/exports/{job.pk}/download/").status_code == 404
    api = people.api(people.operator, "get", f"/people/jobs/{job.pk}")
    assert api.json()["status"] == "done" and api.json()["file_url"].endswith("/file")
    with django_capture_on_commit_callbacks(execute=True):
        queued = people.api(
            people.operator, "post", "/people/export", {"entity": "resident", "purpose": "年度统计"}
        )
    assert queued.status_code == 202 and queued.json()["kind"] == "people_export"
