"""Intake and lists through the HTTP API: idempotency, attachments, personal data at rest and in lists,
case numbers, anonymous and hostile input, every list filter (exact result sets) and pagination."""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test import override_settings

from zongzhi.cases import services
from zongzhi.cases.models import Case, CaseAttachment, IdempotencyRecord
from zongzhi.core.crypto import blind_index, decrypt

from .drive import act, race, report

pytestmark = pytest.mark.django_db

TZ = dt.timezone(dt.timedelta(hours=8))
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 64


def _body(world, **over: Any) -> dict[str, Any]:
    body = {
        "channel": "hotline",
        "kind": "dispute",
        "title": "楼上漏水纠纷",
        "description": "楼上住户漏水，协商未果",
        "category_code": "0201",
        "region_code": world.r["A1a"].code,
        "reporter_name": "张三丰",
        "reporter_phone": "13812345678",
    }
    body.update(over)
    return body


def _post(world, body: dict[str, Any], user: Any = None, **headers: Any) -> Any:
    return world.api(user or world.operator, "post", "/cases", body, **headers)


def _field(res: Any) -> str:
    assert res.status_code == 422, res.content
    detail = res.json()["detail"]
    return detail.get("field") or ",".join(e["field"] for e in detail["errors"])


def _b64(content: bytes) -> str:
    return base64.b64encode(content).decode()


# --- idempotency ---------------------------------------------------------------------------------------------


def test_idempotency_same_key_same_body_returns_the_same_case(world):
    h = {"HTTP_IDEMPOTENCY_KEY": "k-1"}
    first = _post(world, _body(world), **h)
    again = _post(world, _body(world), **h)
    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["id"] == first.json()["id"] and again.json()["created"] is False
    assert first.json()["tracking_code"] and again.json()["tracking_code"] is None
    res = _post(world, _body(world, description="另一件事"), **h)
    assert _field(res) == "Idempotency-Key"
    assert res.json()["detail"]["code"] == "idempotency_key_reused"
    # keys are per user: another operator with the same key creates their own case
    other = _post(world, _body(world), user=world.director, **h)
    assert other.status_code == 201 and other.json()["id"] != first.json()["id"]
    assert Case.objects.count() == 2 and IdempotencyRecord.objects.count() == 2
    assert _field(_post(world, _body(world), HTTP_IDEMPOTENCY_KEY="x" * 101)) == "Idempotency-Key"


def test_public_retry_with_the_same_key_creates_nothing(world):
    c = world.client(None)
    body = {
        "title": "路灯不亮",
        "description": "坏了三天",
        "region_code": world.r["A1"].code,
        "reporter_phone": "13900001111",
        "consent": True,
    }
    h = {"HTTP_IDEMPOTENCY_KEY": "pub-1"}
    first = c.post("/api/v1/public/cases", body, content_type="application/json", **h)
    assert first.status_code == 201
    again = c.post("/api/v1/public/cases", body, content_type="application/json", **h)
    assert again.status_code == 422 and again.json()["detail"]["code"] == "already_submitted"
    assert Case.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_with_the_same_key_create_one_case(world):
    data = services.ReportInput(
        channel="hotline", title="噪音", description="夜间施工", region_code=world.r["A1a"].code
    )
    results = race(
        *[
            lambda: services.case_report(actor=world.operator, data=data, idempotency_key="same")
            for _ in range(3)
        ]
    )
    assert all(isinstance(r, services.ReportResult) for r in results), results
    assert len({r.case.pk for r in results}) == 1
    assert sorted(r.created for r in results) == [False, False, True]
    assert Case.objects.count() == 1 and IdempotencyRecord.objects.count() == 1


# --- attachments -------------------------------------------------------------------------------------------------


def test_png_attachment_is_stored(world):
    res = _post(world, _body(world, attachments=[{"name": "现场.PNG", "content_base64": _b64(PNG)}]))
    assert res.status_code == 201, res.content
    att = CaseAttachment.objects.get()
    assert att.case_id == res.json()["id"] and att.event_seq == 1
    assert (att.original_name, att.content_type, att.size) == ("现场.PNG", "image/png", len(PNG))
    assert att.file.name.endswith(".png")
    with att.file.open("rb") as f:
        assert f.read() == PNG


@pytest.mark.parametrize(
    ("name", "content", "field", "code"),
    [
        ("setup.exe", b"MZ\x90\x00" + b"\x00" * 32, "attachments", "bad_type"),
        ("photo.png", b"GIF89a not a png at all", "attachments", "content_mismatch"),
        ("noext", PNG, "attachments", "bad_type"),
        ("empty.png", b"", "attachments", "empty"),
    ],
)
def test_bad_attachments_are_refused(world, name, content, field, code):
    res = _post(world, _body(world, attachments=[{"name": name, "content_base64": _b64(content)}]))
    assert _field(res) == field and res.json()["detail"]["code"] == code
    assert Case.objects.count() == 0 and CaseAttachment.objects.count() == 0


def test_invalid_base64_names_the_item(world):
    ok = {"name": "a.png", "content_base64": _b64(PNG)}
    res = _post(world, _body(world, attachments=[ok, {"name": "b.png", "content_base64": "not base64!!"}]))
    assert _field(res) == "attachments.1.content_base64"
    assert Case.objects.count() == 0


@override_settings(ZZ_ATTACHMENT_MAX_MB=1)
def test_oversized_attachment_is_refused(world):
    big = PNG + b"\x00" * (1536 * 1024 - len(PNG))  # 1.5 MB
    res = _post(world, _body(world, attachments=[{"name": "big.png", "content_base64": _b64(big)}]))
    assert _field(res) == "attachments" and res.json()["detail"]["code"] == "too_large"
    small = PNG + b"\x00" * (900 * 1024)
    res = _post(world, _body(world, attachments=[{"name": "ok.png", "content_base64": _b64(small)}]))
    assert res.status_code == 201
    assert Case.objects.count() == 1


def test_too_many_attachments(world):
    items = [{"name": f"{i}.png", "content_base64": _b64(PNG)} for i in range(10)]
    assert _field(_post(world, _body(world, attachments=items))) == "attachments"


# --- personal data -----------------------------------------------------------------------------------------------


def test_reporter_name_and_phone_are_encrypted_at_rest_and_masked_in_lists(world):
    res = _post(world, _body(world))
    case = Case.objects.get(pk=res.json()["id"])
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {Case._meta.db_table} WHERE id = %s", [case.pk])
        row = dict(zip([c[0] for c in cursor.description], cursor.fetchone(), strict=True))
    # the text columns (times and numbers can hold "5678" by chance; so can a random ciphertext)
    text = {name: v for name, v in row.items() if isinstance(v, str)}
    raw = " ".join(text.values())
    assert "13812345678" not in raw and "张三丰" not in raw
    assert not [name for name, v in text.items() if "5678" in v and not name.endswith("_enc")]
    assert decrypt(case.reporter_phone_enc) == "13812345678" and decrypt(case.reporter_name_enc) == "张三丰"
    assert case.reporter_phone_index == blind_index("13812345678", purpose="phone")
    assert Case.objects.filter(reporter_phone_index=blind_index("13812345678", purpose="phone")).get() == case
    assert not Case.objects.filter(reporter_phone_index=blind_index("13812345679", purpose="phone")).exists()
    listed = world.api(world.operator, "get", "/cases").json()["items"][0]
    assert (listed["reporter_phone"], listed["reporter_name"]) == ("138****5678", "张**")
    detail = world.api(world.operator, "get", f"/cases/{case.pk}").json()
    assert detail["reporter_phone"] == "138****5678"


def test_anonymous_public_report(world):
    c = world.client(None)
    base = {
        "title": "有人聚众赌博",
        "description": "夜里在仓库",
        "region_code": world.r["A"].code,
        "consent": True,
    }
    res = c.post("/api/v1/public/cases", base, content_type="application/json")
    assert _field(res) == "reporter_phone"  # not anonymous: a phone is needed
    res = c.post("/api/v1/public/cases", {**base, "is_anonymous": True}, content_type="application/json")
    assert res.status_code == 201, res.content
    case = Case.objects.get(number=res.json()["number"])
    assert case.is_anonymous and case.reporter_phone_enc == "" and case.reporter_phone_index == ""
    assert case.reporter_user_id is None and case.state == "reported"
    listed = world.api(world.operator, "get", f"/cases/{case.pk}").json()
    assert listed["reporter_phone"] == "" and listed["reporter_name"] == ""
    res = c.post("/api/v1/public/cases", {**base, "consent": False}, content_type="application/json")
    assert _field(res) == "consent"


# --- numbers ---------------------------------------------------------------------------------------------------


def test_case_numbers_are_unique_and_sequential_per_local_day(world):
    with time_machine.travel(dt.datetime(2026, 3, 10, 23, 59, 0, tzinfo=TZ), tick=False):
        day1 = [report(world).number for _ in range(3)]
    # 00:00:30 on the 11th in Shanghai is still the 10th in UTC: the local day counts
    with time_machine.travel(dt.datetime(2026, 3, 11, 0, 0, 30, tzinfo=TZ), tick=False):
        day2 = [report(world).number for _ in range(2)]
    assert day1 == ["ZZ2026031000001", "ZZ2026031000002", "ZZ2026031000003"]
    assert day2 == ["ZZ2026031100001", "ZZ2026031100002"]


# --- hostile and overlong input -------------------------------------------------------------------------------


def test_overlong_and_markup_input(world):
    assert _field(_post(world, _body(world, title="长" * 121))) == "title"
    assert _field(_post(world, _body(world, description="长" * 5001))) == "description"
    assert _field(_post(world, _body(world, reporter_phone="12345abc"))) == "reporter_phone"
    assert _field(_post(world, _body(world, category_code="9999"))) == "category_code"
    assert _field(_post(world, _body(world, region_code="999999999999"))) == "region_code"
    assert _field(_post(world, _body(world, region_code=world.r["B1a"].code))) == "region_code"
    assert _field(_post(world, _body(world, channel="pigeon"))) == "channel"
    assert Case.objects.count() == 0
    script = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    res = _post(world, _body(world, title=script[:120], description=script, address="&lt;b&gt;"))
    assert res.status_code == 201
    detail = world.api(world.operator, "get", f"/cases/{res.json()['id']}")
    assert detail["Content-Type"].startswith("application/json")
    body = detail.json()
    assert body["title"] == script[:120] and body["description"] == script and body["address"] == "&lt;b&gt;"
    assert Case.objects.get().title == script[:120]


# --- list filters ----------------------------------------------------------------------------------------------

NOW = dt.datetime(2026, 3, 10, 10, 0, tzinfo=TZ)


@pytest.fixture
def listing(world):
    """Cases made at known times (see each one's comment), seen from NOW."""

    def at(when: dt.datetime):
        return time_machine.travel(when, tick=False)

    with at(NOW - dt.timedelta(days=2)):  # accept clock long over: overdue
        old = report(world, title="老旧漏水", channel="hotline", category_code="0201", external_ref="EXT-7")
    with at(NOW - dt.timedelta(minutes=50)):  # accept clock 1 h, reminder at 48 min: due soon
        soon = report(
            world, title="井盖缺失", channel="web", category_code="0304", region_code=world.r["A2a"].code
        )
    with at(NOW - dt.timedelta(minutes=5)):
        fresh = report(
            world, title="婚姻家庭", channel="walk_in", category_code="0202", region_code=world.r["A1b"].code
        )
        act(world, "operator", fresh, "accept")
    with at(NOW - dt.timedelta(hours=19)):  # 2026-03-09 15:00
        disp = report(
            world, title="邻里噪音", channel="hotline", category_code="0201", region_code=world.r["A2a"].code
        )
        act(world, "operator", disp, "accept")
        act(
            world,
            "operator",
            disp,
            "dispatch",
            lead_department_id=world.housing.pk,
            assisting_department_ids=[],
        )
    with at(NOW - dt.timedelta(hours=1)):
        other = report(world, actor="sibling_operator", title="乙区事件", region_code=world.r["B1a"].code)
    return {"old": old, "soon": soon, "fresh": fresh, "disp": disp, "other": other}


def _list(world, user=None, **params: Any) -> tuple[set[int], dict[str, Any]]:
    with time_machine.travel(NOW, tick=False):
        res = (world.client(user or world.operator)).get("/api/v1/cases", params)
    assert res.status_code == 200, res.content
    body = res.json()
    return {c["id"] for c in body["items"]}, body


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, {"old", "soon", "fresh", "disp"}),
        ({"state": "reported"}, {"old", "soon"}),
        ({"state": "dispatched"}, {"disp"}),
        ({"category": "02"}, {"old", "fresh", "disp"}),
        ({"category": "0201"}, {"old", "disp"}),
        ({"category": "03"}, {"soon"}),
        ({"region": "A1"}, {"old", "fresh"}),
        ({"region": "A1a"}, {"old"}),
        ({"region": "A2"}, {"soon", "disp"}),
        ({"region": "B"}, set()),
        ({"department": "housing"}, {"disp"}),
        ({"department": "police"}, set()),
        ({"channel": "web"}, {"soon"}),
        ({"channel": "hotline"}, {"old", "disp"}),
        ({"overdue": "true"}, {"old"}),
        ({"due_soon": "true"}, {"soon"}),
        ({"created_from": "2026-03-09", "created_to": "2026-03-09"}, {"disp"}),
        ({"created_from": "2026-03-10"}, {"soon", "fresh"}),
        ({"created_to": "2026-03-08"}, {"old"}),
        ({"q": "漏水"}, {"old"}),
        ({"q": "EXT-7"}, {"old"}),
        ({"state": "reported", "channel": "hotline"}, {"old"}),
        ({"queue": "to_accept"}, {"old", "soon"}),
        ({"queue": "to_dispatch"}, {"fresh"}),
    ],
    ids=lambda v: "&".join(f"{k}={w}" for k, w in v.items()) if isinstance(v, dict) else None,
)
def test_list_filters(world, listing, params, expected):
    resolved = dict(params)
    if "region" in resolved:
        resolved["region"] = world.r[resolved["region"]].code
    if "department" in resolved:
        resolved["department"] = getattr(world, resolved["department"]).pk
    ids, body = _list(world, **resolved)
    assert ids == {listing[k].pk for k in expected}
    assert body["count"] == len(expected)


def test_list_search_by_number_and_scoping(world, listing):
    number = listing["disp"].number
    ids, _ = _list(world, q=number.lower())
    assert ids == {listing["disp"].pk}
    ids, _ = _list(world, world.sibling_operator)
    assert ids == {listing["other"].pk}
    ids, _ = _list(world, world.city_leader)
    assert ids == {c.pk for c in listing.values()}


def test_list_pagination(world, listing):
    seen = []
    for offset in (0, 2, 4):
        _, body = _list(world, limit=2, offset=offset, order="created")
        assert body["count"] == 4
        seen.append([c["id"] for c in body["items"]])
    order = [listing[k].pk for k in ("old", "disp", "soon", "fresh")]  # by creation time
    assert seen == [order[:2], order[2:], []]


def test_list_overdue_flag_and_unknown_queue(world, listing):
    _, body = _list(world, order="created")
    flags = {c["id"]: c["overdue"] for c in body["items"]}
    assert flags == {
        listing["old"].pk: True,
        listing["disp"].pk: False,
        listing["soon"].pk: False,
        listing["fresh"].pk: False,
    }
    with time_machine.travel(NOW, tick=False):
        c = world.client(world.operator)
        res = c.get("/api/v1/cases", {"queue": "nonsense"})
        assert _field(res) == "queue"
        assert _field(c.get("/api/v1/cases", {"order": "sideways"})) == "order"
        assert _field(c.get("/api/v1/cases", {"state": "limbo"})) == "state"
        assert _field(c.get("/api/v1/cases", {"created_from": "yesterday"})) == "created_from"
