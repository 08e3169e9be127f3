"""Forms survive bad input: a 422 page with a clear Chinese message naming the problem, the typed
values kept in the re-rendered form, and nothing saved (no case, no attachment, no file on disk).

Covers the operator's intake (/cases/new/), the grid worker's report (/m/report/), the citizens'
report (/public/report/) and the case action forms (/cases/<id>/actions/<action>/)."""

from __future__ import annotations

import html
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from tests.factories import make_grid
from zongzhi.cases.models import Case, CaseAttachment, CaseEvent, CaseState
from zongzhi.cases.tests.drive import drive_to
from zongzhi.orgs import services as org_services

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
MB = 1024 * 1024


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.ZZ_ATTACHMENT_MAX_MB = 10
    return settings.MEDIA_ROOT


def _files_on_disk(root: Path) -> list[Path]:
    return [p for p in Path(root).rglob("*") if p.is_file()] if Path(root).exists() else []


# --- the three intake forms -------------------------------------------------------------------------------------


def _intake(world):
    return (
        world.client(world.operator),
        "/cases/new/",
        {
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
        },
    )


def _mobile(world):
    grid = make_grid(world.r["A1a"], "一号网格")
    org_services.grid_member_add(actor=None, grid=grid, user=world.grid_worker)
    return (
        world.client(world.grid_worker),
        "/m/report/",
        {
            "kind": "event",
            "urgency": "normal",
            "title": "楼道堆物",
            "description": "楼道堆放杂物影响通行",
            "region": world.r["A1a"].code,
            "address": "甲一社区3幢",
        },
    )


def _public(world):
    return (
        Client(),
        "/public/report/",
        {
            "category": "0201",
            "title": "楼道堆物",
            "description": "楼道堆放杂物影响通行",
            "region": world.r["A1"].code,
            "address": "甲一社区3幢",
            "reporter_name": "李四",
            "reporter_phone": "13955556666",
            "consent": "on",
        },
    )


FORMS = {"intake": _intake, "mobile": _mobile, "public": _public}


def _post(client, path, data, **files):
    return client.post(path, {**data, **files})


def _assert_rejected(res, media, *messages: str, kept: dict[str, str] | None = None) -> str:
    assert res.status_code == 422, res.status_code
    page = res.content.decode()
    for message in messages:
        assert html.escape(message, quote=False) in page or message in page, (message, page[:3000])
    for name, value in (kept or {}).items():
        assert html.escape(value) in page, (name, value)
    assert Case.objects.count() == 0
    assert CaseAttachment.objects.count() == 0
    assert CaseEvent.objects.count() == 0
    assert _files_on_disk(media) == []
    return page


@pytest.mark.parametrize("form", FORMS)
def test_the_good_input_is_accepted(world, form, _media):
    client, path, data = FORMS[form](world)
    res = _post(client, path, data, attachments=SimpleUploadedFile("现场.png", PNG, "image/png"))
    assert res.status_code == 302, res.content.decode()[:3000]
    assert Case.objects.count() == 1 and CaseAttachment.objects.count() == 1
    assert len(_files_on_disk(_media)) == 1


@pytest.mark.parametrize("form", FORMS)
def test_missing_required_fields(world, form, _media):
    client, path, data = FORMS[form](world)
    res = _post(client, path, {**data, "title": "", "description": ""})
    page = _assert_rejected(
        res, _media, "请填写标题。", "请填写具体内容。", kept={"address": data["address"]}
    )
    assert "请修正" in page or "alert-danger" in page


@pytest.mark.parametrize("form", FORMS)
def test_an_11_mb_file_with_a_10_mb_limit(world, form, _media):
    client, path, data = FORMS[form](world)
    big = SimpleUploadedFile("现场.png", PNG + b"\x00" * (11 * MB), "image/png")
    res = _post(client, path, data, attachments=big)
    _assert_rejected(res, _media, "文件“现场.png”超过 10 MB。", kept={"title": data["title"]})


@pytest.mark.parametrize("form", FORMS)
def test_an_exe(world, form, _media):
    client, path, data = FORMS[form](world)
    exe = SimpleUploadedFile("setup.exe", b"MZ\x90\x00" + b"\x00" * 100, "application/octet-stream")
    res = _post(client, path, data, attachments=exe)
    _assert_rejected(res, _media, "不支持的文件类型“setup.exe”", kept={"description": data["description"]})


@pytest.mark.parametrize("form", FORMS)
def test_a_png_that_is_a_script(world, form, _media):
    client, path, data = FORMS[form](world)
    fake = SimpleUploadedFile("photo.png", b"<script>alert(1)</script>", "image/png")
    res = _post(client, path, data, attachments=fake)
    _assert_rejected(res, _media, "文件“photo.png”的内容与扩展名不符。", kept={"title": data["title"]})


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize(
    ("lon", "lat", "message"),
    [
        ("200", "30", "经度须为 73 到 136 之间的数字（中国境内）。"),
        ("120", "", "经度和纬度须同时填写。"),
        ("", "30", "经度和纬度须同时填写。"),
        ("东经120", "30", "经度须为 73 到 136 之间的数字（中国境内）。"),
        ("120", "north", "纬度须为 3 到 54 之间的数字（中国境内）。"),
        ("120", "-91", "纬度须为 3 到 54 之间的数字（中国境内）。"),
    ],
)
def test_bad_coordinates(world, form, lon, lat, message, _media):
    client, path, data = FORMS[form](world)
    res = _post(client, path, {**data, "lon": lon, "lat": lat})
    _assert_rejected(res, _media, message, kept={"title": data["title"], "address": data["address"]})


@pytest.mark.parametrize("form", FORMS)
def test_overlong_description(world, form, _media):
    client, path, data = FORMS[form](world)
    long_text = "很长的描述" * 1200  # 6,000 characters
    res = _post(client, path, {**data, "description": long_text})
    page = _assert_rejected(res, _media, "5000")
    assert long_text in page  # kept, so that the user can shorten it


@pytest.mark.parametrize("form", FORMS)
def test_script_tag_in_the_title(world, form, _media):
    client, path, data = FORMS[form](world)
    title = "<script>alert(1)</script>楼道"
    res = _post(client, path, {**data, "title": title})
    page = _assert_rejected(res, _media, "标题不能包含", kept={"title": title})
    assert "<script>alert(1)" not in page


def test_script_in_the_description_is_kept_as_text_only(world, _media):
    """Markup in free text is data: stored and shown escaped, never executed."""
    client, path, data = _intake(world)
    res = _post(client, path, {**data, "description": "<script>alert(1)</script>内容"})
    assert res.status_code == 302
    case = Case.objects.get()
    page = client.get(f"/cases/{case.pk}/").content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;内容" in page and "<script>alert(1)" not in page


# --- case action forms -------------------------------------------------------------------------------------------


@pytest.fixture
def handling(world):
    return drive_to(world, CaseState.HANDLING)


def _action_rejected(world, case, res, *messages: str, kept: dict[str, str] | None = None) -> None:
    assert res.status_code == 422, res.status_code
    page = res.content.decode()
    for message in messages:
        assert message in page, (message, page[:3000])
    for value in (kept or {}).values():
        assert html.escape(value) in page
    fresh = Case.objects.get(pk=case.pk)
    assert fresh.state == case.state and fresh.last_event_seq == case.last_event_seq
    assert CaseAttachment.objects.count() == 0


def test_action_missing_note(world):
    case = drive_to(world, CaseState.REPORTED)
    res = world.client(world.operator).post(f"/cases/{case.pk}/actions/decline/", {"decline-note": ""})
    _action_rejected(world, case, res, "请填写“不予受理”的说明。")


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (lambda: SimpleUploadedFile("big.pdf", b"%PDF-" + b"0" * (11 * MB), "application/pdf"), "超过 10 MB"),
        (
            lambda: SimpleUploadedFile("virus.exe", b"MZ" + b"\x00" * 10, "application/x-msdownload"),
            "不支持的文件类型",
        ),
        (
            lambda: SimpleUploadedFile("photo.png", b"<script>alert(1)</script>", "image/png"),
            "内容与扩展名不符",
        ),
    ],
)
def test_action_bad_files(world, handling, upload, message, _media):
    note = "已上门调解，双方达成一致"
    res = world.client(world.handler).post(
        f"/cases/{handling.pk}/actions/resolve/", {"resolve-note": note, "resolve-attachments": upload()}
    )
    _action_rejected(world, handling, res, message, kept={"note": note})
    assert _files_on_disk(_media) == []


def test_action_overlong_note_and_script(world, handling):
    note = "<script>alert(1)</script>" + "办" * 6000
    res = world.client(world.handler).post(f"/cases/{handling.pk}/actions/resolve/", {"resolve-note": note})
    _action_rejected(world, handling, res, "5000", kept={"note": note})
    assert "<script>alert(1)" not in res.content.decode()


def test_action_bad_datetime(world, handling):
    res = world.client(world.handler).post(
        f"/cases/{handling.pk}/actions/request_extension/",
        {"request_extension-until": "明天", "request_extension-note": "需要协调"},
    )
    _action_rejected(world, handling, res, "请按“年-月-日 时:分”填写时间。", kept={"note": "需要协调"})
