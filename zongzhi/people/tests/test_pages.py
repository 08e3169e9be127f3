"""The web pages: who can open them, Chinese validation errors, nothing half-saved, the grid
worker's visit form with GPS and a photo."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from zongzhi.people import services
from zongzhi.people.models import House, Organization, Place, Resident, SpecialGroupMembership, Visit
from zongzhi.people.records import HouseInput, OrganizationInput, PlaceInput
from zongzhi.people.sealing import ID_NUMBER, PHONE, unseal

from .conftest import make_id

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def _records(world: Any) -> dict[str, Any]:
    house = services.house_create(actor=None, data=HouseInput(address="文三路1号"), grid=world.grid)
    resident = world.resident(make_id(seq="701"), house=house)
    place = services.place_create(
        actor=None, data=PlaceInput(name="东方网吧", address="古墩路2号"), grid=world.grid
    )
    org = services.organization_create(actor=None, data=OrganizationInput(name="某协会"), grid=world.grid)
    m = services.membership_enrol(
        actor=None,
        resident=resident,
        group="key_youth",
        data=services.MembershipInput(
            starts_on=dt.date(2026, 1, 5), details={"youth_type": "dropout", "guardian_name": "祖母"}
        ),
    )
    return {"house": house, "resident": resident, "place": place, "org": org, "m": m}


def test_pages_render_for_the_grid_worker(world: Any) -> None:
    o = _records(world)
    c = world.client(world.worker)
    for url in (
        "/people/residents/",
        "/people/houses/",
        "/people/places/",
        "/people/organizations/",
        "/people/special/",
        f"/people/residents/{o['resident'].pk}/",
        f"/people/houses/{o['house'].pk}/",
        f"/people/places/{o['place'].pk}/",
        f"/people/organizations/{o['org'].pk}/",
        f"/people/special/{o['m'].pk}/",
        "/people/residents/new/",
        f"/people/residents/{o['resident'].pk}/edit/",
        "/people/houses/new/",
        f"/m/visits/special/{o['m'].pk}/",
        f"/m/visits/house/{o['house'].pk}/",
        "/m/visits/",
    ):
        res = c.get(url)
        assert res.status_code == 200, url
        html = res.content.decode()
        assert "zz-nav" in html, url  # the base template
        # the menu: the desktop one offers base data, the phone one the visits
        assert ("/m/visits/" in html) if url.startswith("/m/") else ("基础数据" in html), url
    # the house page lists its resident; the worker may not enrol (no special.manage)
    assert (
        f"/people/residents/{o['resident'].pk}/" in c.get(f"/people/houses/{o['house'].pk}/").content.decode()
    )
    assert c.get(f"/people/residents/{o['resident'].pk}/enrol/").status_code == 404


def test_navigation_shows_base_data_only_to_roles_that_have_it(world: Any) -> None:
    assert "基础数据" in world.client(world.operator).get("/people/residents/").content.decode()
    home = world.client(world.handler).get("/desk/").content.decode()
    assert "基础数据" not in home
    assert world.client(world.handler).get("/people/residents/").status_code == 404
    assert world.client(world.sysadmin).get("/people/special/").status_code == 404


def test_resident_form_shows_chinese_errors_and_saves_nothing(world: Any) -> None:
    c = world.client(world.worker)
    res = c.post(
        "/people/residents/new/",
        {
            "id_type": "id_card",
            "id_number": "110105194912310021",
            "name": "张三",
            "resident_type": "registered",
            "grid": world.grid.pk,
        },
    )
    assert res.status_code == 422
    html = res.content.decode()
    assert "身份证号码校验位错误" in html
    assert 'value="张三"' in html  # what was typed is kept
    res = c.post(
        "/people/residents/new/",
        {"id_type": "id_card", "id_number": "", "name": "", "resident_type": "registered"},
    )
    html = res.content.decode()
    assert "请填写证件号码" in html and "请填写姓名" in html and "请选择所属区域或网格" in html
    res = c.post(
        "/people/residents/new/",
        {
            "id_type": "id_card",
            "id_number": make_id(seq="702"),
            "name": "张三",
            "phone": "123",
            "resident_type": "registered",
            "grid": world.grid.pk,
        },
    )
    assert "电话号码格式不正确" in res.content.decode()
    # a grid outside the user's scope is not even a choice
    res = c.post(
        "/people/residents/new/",
        {
            "id_type": "id_card",
            "id_number": make_id(seq="702"),
            "name": "张三",
            "resident_type": "registered",
            "grid": world.sibling_grid.pk,
        },
    )
    assert res.status_code == 422
    assert "有效" in res.content.decode()  # Django's Chinese "选择一个有效的选项" on the grid field
    assert not Resident.objects.exists()
    res = c.post(
        "/people/residents/new/",
        {
            "id_type": "id_card",
            "id_number": make_id(seq="702"),
            "name": "张三",
            "phone": "13800001234",
            "resident_type": "registered",
            "grid": world.grid.pk,
        },
    )
    assert res.status_code == 302
    assert Resident.objects.get().grid == world.grid


def test_edit_form_never_sends_clear_values_and_keeps_them(world: Any) -> None:
    number = make_id(seq="703")
    r = world.resident(number, phone="13800001234")
    c = world.client(world.worker)
    html = c.get(f"/people/residents/{r.pk}/edit/").content.decode()
    assert number not in html and "13800001234" not in html
    assert number[:4] + "**********" + number[-4:] in html  # shown as a placeholder
    res = c.post(
        f"/people/residents/{r.pk}/edit/",
        {
            "id_type": "id_card",
            "id_number": "",
            "name": "张三丰",
            "phone": "",
            "resident_type": "migrant",
            "grid": world.grid.pk,
        },
    )
    assert res.status_code == 302
    r.refresh_from_db()
    assert unseal(r.id_number_enc, ID_NUMBER) == number and unseal(r.phone_enc, PHONE) == "13800001234"
    assert r.resident_type == "migrant"


def test_house_place_organization_forms(world: Any) -> None:
    c = world.client(world.worker)
    res = c.post("/people/houses/new/", {"address": "", "use": "own", "grid": world.grid.pk})
    assert res.status_code == 422 and "请填写地址" in res.content.decode()
    res = c.post(
        "/people/houses/new/", {"address": "文三路9号", "use": "rent", "lon": "200", "grid": world.grid.pk}
    )
    assert "经度须为-180到180之间的数字" in res.content.decode()
    res = c.post(
        "/people/houses/new/",
        {"address": "文三路9号", "use": "rent", "grid": world.grid.pk, "owner_phone": "13800009999"},
    )
    assert res.status_code == 302
    house = House.objects.get()
    res = c.post(
        f"/people/houses/{house.pk}/edit/",
        {"address": "文三路9号", "use": "own", "grid": world.grid.pk, "owner_phone": ""},
    )
    assert res.status_code == 302
    house.refresh_from_db()
    assert house.use == "own" and unseal(house.owner_phone_enc, PHONE) == "13800009999"
    res = c.post(
        "/people/organizations/new/",
        {"name": "某公司", "kind": "other", "credit_code": "91350100M000100Y44", "grid": world.grid.pk},
    )
    assert "统一社会信用代码校验位错误" in res.content.decode()
    assert not Organization.objects.exists()
    res = c.post(
        "/people/places/new/",
        {
            "name": "网吧",
            "kind": "internet_cafe",
            "address": "古墩路3号",
            "grid": world.grid.pk,
            "is_key": "on",
        },
    )
    assert res.status_code == 302 and Place.objects.get().is_key


def test_enrol_edit_and_close_through_the_pages(world: Any) -> None:
    r = world.resident(make_id(seq="704"))
    c = world.client(world.leader)
    page = c.get(f"/people/residents/{r.pk}/enrol/?group=mental_disorder")
    assert page.status_code == 200 and "诊断" in page.content.decode()
    res = c.post(
        f"/people/residents/{r.pk}/enrol/?group=mental_disorder",
        {"starts_on": "2026-01-05", "risk_level": "3", "assistance_status": "assisting", "d_diagnosis": ""},
    )
    assert res.status_code == 422
    assert "请填写诊断" in res.content.decode() and "请填写监护人" in res.content.decode()
    res = c.post(
        f"/people/residents/{r.pk}/enrol/?group=mental_disorder",
        {
            "starts_on": "2026-01-05",
            "ends_on": "2025-01-01",
            "risk_level": "3",
            "assistance_status": "assisting",
            "d_diagnosis": "抑郁症",
            "d_guardian_name": "家属",
        },
    )
    assert "管理期满日期不能早于纳入管理日期" in res.content.decode()
    res = c.post(
        f"/people/residents/{r.pk}/enrol/?group=mental_disorder",
        {
            "starts_on": "2026-01-05",
            "risk_level": "3",
            "assistance_status": "assisting",
            "d_diagnosis": "抑郁症",
            "d_guardian_name": "家属",
            "supervisor": world.worker.pk,
        },
    )
    assert res.status_code == 302, res.content.decode()[:2000]
    m = SpecialGroupMembership.objects.get()
    assert m.frequency == "weekly" and m.supervisor == world.worker
    detail = c.get(f"/people/special/{m.pk}/").content.decode()
    assert "抑郁症" in detail and "每周" in detail
    res = c.post(
        f"/people/special/{m.pk}/edit/",
        {
            "starts_on": "2026-01-05",
            "risk_level": "1",
            "assistance_status": "done",
            "d_diagnosis": "抑郁症",
            "d_guardian_name": "家属",
        },
    )
    assert res.status_code == 302
    m.refresh_from_db()
    assert m.frequency == "monthly" and m.assistance_status == "done"
    assert c.post(f"/people/special/{m.pk}/close/", {"reason": ""}).status_code == 422
    assert c.post(f"/people/special/{m.pk}/close/", {"reason": "迁出本辖区"}).status_code == 302
    m.refresh_from_db()
    assert m.status == "closed" and m.close_reason == "迁出本辖区"


def test_visit_form_with_gps_and_photo(world: Any) -> None:
    o = _records(world)
    c = world.client(world.worker)
    page = c.get(f"/m/visits/special/{o['m'].pk}/").content.decode()
    assert "data-geolocate" in page and 'capture="environment"' in page
    when = timezone.localtime().strftime("%Y-%m-%dT%H:%M")
    res = c.post(f"/m/visits/special/{o['m'].pk}/", {"visited_at": when, "findings": ""})
    assert res.status_code == 422 and "请填写走访情况" in res.content.decode()
    res = c.post(f"/m/visits/special/{o['m'].pk}/", {"visited_at": when, "findings": "在家", "lon": "120.1"})
    assert "经度和纬度须同时填写" in res.content.decode()
    bad = SimpleUploadedFile("p.png", b"not a png", content_type="image/png")
    res = c.post(f"/m/visits/special/{o['m'].pk}/", {"visited_at": when, "findings": "在家", "photos": [bad]})
    assert res.status_code == 422 and "内容与扩展名不符" in res.content.decode()
    assert not Visit.objects.exists()
    photo = SimpleUploadedFile("p.png", PNG, content_type="image/png")
    res = c.post(
        f"/m/visits/special/{o['m'].pk}/",
        {
            "visited_at": when,
            "findings": "在家，情绪稳定",
            "location_text": "家中",
            "lon": "120.123456",
            "lat": "30.27",
            "gps_accuracy_m": "8",
            "photos": [photo],
        },
    )
    assert res.status_code == 302
    v = Visit.objects.get()
    assert (v.lon, v.lat, v.gps_accuracy_m, v.membership_id) == (120.123456, 30.27, 8.0, o["m"].pk)
    p = v.photos.get()
    assert c.get(f"/people/visits/{v.pk}/photos/{p.pk}/").status_code == 200
    assert world.client(world.sibling_worker).get(f"/people/visits/{v.pk}/photos/{p.pk}/").status_code == 404
    assert (
        world.client(world.operator).get(f"/people/visits/{v.pk}/photos/{p.pk}/").status_code == 404
    )  # no group grant
    detail = c.get(f"/people/special/{o['m'].pk}/").content.decode()
    assert "在家，情绪稳定" in detail and "本期走访" in detail
