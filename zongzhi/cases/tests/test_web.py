"""The web pages of the loop through the Django test client (real services, real database)."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from zongzhi.cases.models import Case, CaseState

pytestmark = pytest.mark.django_db


def _new_case(world, client=None, **over):
    c = client or world.client(world.operator)
    data = {
        "channel": "hotline",
        "kind": "dispute",
        "category": "0201",
        "urgency": "normal",
        "title": "楼道堆物",
        "description": "楼道堆放杂物影响通行",
        "region": world.r["A1a"].code,
        "address": "甲一社区3幢",
        "reporter_name": "李四",
        "reporter_phone": "13955556666",
    }
    data.update(over)
    return c.post("/cases/new/", data)


def test_operator_registers_accepts_and_dispatches_from_the_browser(world):
    c = world.client(world.operator)
    assert c.get("/").status_code == 302
    res = c.get("/workbench/")
    assert res.status_code == 200
    assert "待受理" in res.content.decode()
    res = _new_case(world, c)
    assert res.status_code == 302, res.content.decode()[:2000]
    case = Case.objects.get()
    page = c.get(f"/cases/{case.pk}/").content.decode()
    assert case.number in page and "受理" in page and "139****6666" in page and "13955556666" not in page
    assert c.post(f"/cases/{case.pk}/actions/accept/", {}).status_code == 302
    res = c.post(f"/cases/{case.pk}/actions/dispatch/", {"dispatch-note": ""})
    assert res.status_code == 302
    case.refresh_from_db()
    assert case.state == CaseState.DISPATCHED and case.lead_department == world.police
    listing = c.get("/workbench/", {"queue": "", "scope": "all"}).content.decode()
    assert case.number in listing


def test_bad_input_keeps_what_was_typed(world):
    res = _new_case(world, title="", description="<script>alert(1)</script>内容", lon="200", lat="30")
    assert res.status_code == 422
    html = res.content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;内容" in html
    assert "<script>alert(1)" not in html
    assert "甲一社区3幢" in html
    assert Case.objects.count() == 0


def test_action_error_shows_on_the_form(world):
    c = world.client(world.operator)
    _new_case(world, c)
    case = Case.objects.get()
    res = c.post(f"/cases/{case.pk}/actions/decline/", {"decline-note": ""})
    assert res.status_code == 422
    assert "请填写" in res.content.decode()
    assert Case.objects.get().state == CaseState.REPORTED


def test_sibling_gets_404_on_pages(world):
    _new_case(world)
    case = Case.objects.get()
    c = world.client(world.sibling_operator)
    assert c.get(f"/cases/{case.pk}/").status_code == 404
    assert c.post(f"/cases/{case.pk}/actions/accept/", {}).status_code == 404


def test_export_xlsx_masks_personal_data(world):
    c = world.client(world.operator)
    _new_case(world, c)
    res = c.get("/cases/export/", {"scope": "all"})
    assert res.status_code == 200
    wb = load_workbook(io.BytesIO(b"".join(res.streaming_content)))
    rows = list(wb.active.iter_rows(values_only=True))
    assert rows[0][0] == "编号" and len(rows) == 2
    assert "139****6666" in rows[1] and "13955556666" not in rows[1]


def test_large_export_runs_as_job(world, settings, django_capture_on_commit_callbacks):
    settings.ZZ_EXPORT_SYNC_LIMIT = 0
    c = world.client(world.operator)
    _new_case(world, c)
    with django_capture_on_commit_callbacks(execute=True):
        res = c.get("/cases/export/", {"scope": "all"})
    assert res.status_code == 302
    job_page = c.get(res["Location"])
    assert job_page.status_code == 200
    assert 'data-status="done"' in job_page.content.decode()
    download = c.get(res["Location"] + "download/")
    assert download.status_code == 200
    assert world.client(world.sibling_operator).get(res["Location"]).status_code == 404


def test_public_report_track_rate_pages(world):
    c = world.client(None)
    assert c.get("/public/report/").status_code == 200
    res = c.post(
        "/public/report/",
        {
            "title": "路灯坏",
            "description": "三天不亮",
            "region": world.r["A1"].code,
            "reporter_phone": "13700001111",
            "consent": "on",
        },
    )
    assert res.status_code == 302, res.content.decode()[:3000]
    done = c.get("/public/done/").content.decode()
    case = Case.objects.get()
    assert case.number in done
    missing = c.post("/public/report/", {"title": "x", "description": "y", "region": world.r["A1"].code})
    assert missing.status_code == 422 and "请阅读并同意" in missing.content.decode()


def test_mobile_report_resolved_on_site(world):
    from tests.factories import make_grid
    from zongzhi.orgs import services as org_services

    grid = make_grid(world.r["A1a"])
    org_services.grid_member_add(actor=None, grid=grid, user=world.grid_worker)
    c = world.client(world.grid_worker)
    assert c.get("/m/").status_code == 200
    assert c.get("/m/report/").status_code == 200
    res = c.post(
        "/m/report/",
        {
            "region": world.r["A1a"].code,
            "kind": "event",
            "urgency": "normal",
            "title": "井盖松动",
            "description": "已固定",
            "resolved_on_site": "on",
            "result": "现场固定",
        },
    )
    assert res.status_code == 302, res.content.decode()[:2000]
    case = Case.objects.get()
    assert case.state == CaseState.RESOLVED and case.resolved_on_site


def test_department_desk(world):
    c = world.client(world.operator)
    _new_case(world, c)
    case = Case.objects.get()
    c.post(f"/cases/{case.pk}/actions/accept/", {})
    c.post(f"/cases/{case.pk}/actions/dispatch/", {})
    h = world.client(world.handler)
    page = h.get("/desk/").content.decode()
    assert case.number in page
    assert h.post(f"/cases/{case.pk}/actions/acknowledge/", {}).status_code == 302


def test_duplicate_hints_need_the_same_subject_nearby(world):
    from zongzhi.cases import selectors

    c = world.client(world.operator)
    _new_case(world, c, lon="120.1500", lat="30.2900")  # 0201 楼道堆物
    _new_case(
        world, c, title="路灯不亮", description="路口路灯坏", category="0304", lon="120.1501", lat="30.2901"
    )
    hits = selectors.similar_open_cases(
        world.operator, title="楼上漏水", region_code="", lon=120.1502, lat=30.2902, category_code="0202"
    )
    assert [h.title for h in hits] == ["楼道堆物"]  # same top category 02 nearby; the street light is not
    page = c.get("/cases/similar/", {"title": "路灯坏了", "region": world.r["A1a"].code}).content.decode()
    assert "路灯不亮" in page and "楼道堆物" not in page


def test_friendly_404_page(world, settings):
    settings.DEBUG = False
    res = world.client(world.operator).get("/cases/999999/")
    assert res.status_code == 404
    assert "页面不存在" in res.content.decode() and "返回首页" in res.content.decode()
