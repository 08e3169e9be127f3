"""The English locale works: pages in English carry no Chinese UI text (only Chinese data), and the
compiled catalogue in the repository matches its .po source (a fresh machine needs no gettext)."""

from __future__ import annotations

import ast
import gettext
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from zongzhi.cases.models import Case, CaseEvent, Category, Supervision
from zongzhi.core.crypto import decrypt
from zongzhi.core.masking import mask_name
from zongzhi.orgs.models import Department, Grid, Region, User

pytestmark = pytest.mark.django_db

HAN = re.compile(r"[\u4e00-\u9fff]+")
LOCALE_DIR = Path(settings.LOCALE_PATHS[0]) / "en" / "LC_MESSAGES"
# Language names are shown in their own language on purpose.
ALLOWED_UI = ["简体中文"]


def _new_case(world, client):
    return client.post(
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
        HTTP_ACCEPT_LANGUAGE="en",
    )


def _data_strings() -> list[str]:
    """Everything that is data (typed by people or loaded), which stays Chinese in any language."""
    values: list[str] = list(ALLOWED_UI)
    values += [n for n in Region.objects.values_list("name", flat=True)]
    values += [n for n in Department.objects.values_list("name", flat=True)]
    values += [n for n in Grid.objects.values_list("name", flat=True)]
    values += [str(c) for c in Category.objects.select_related("parent")]
    values += [c.name for c in Category.objects.all()]
    values += [str(u) for u in User.objects.all()]
    for c in Case.objects.all():
        values += [c.title, c.description, c.address, c.result, c.reply_text, c.decline_reason]
        if c.reporter_name_enc:
            values.append(mask_name(decrypt(c.reporter_name_enc)))
    for e in CaseEvent.objects.all():
        values += [e.actor_label, e.note]
    values += list(Supervision.objects.values_list("reason", flat=True))
    return sorted({v for v in values if v}, key=len, reverse=True)


def _leftover_chinese(html: str) -> list[str]:
    for value in _data_strings():
        html = html.replace(value, "")
        html = html.replace(value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"), "")
    return HAN.findall(html)


def _en(client: Client, path: str) -> str:
    res = client.get(path, HTTP_ACCEPT_LANGUAGE="en")
    assert res.status_code == 200, (path, res.status_code)
    return res.content.decode()


def test_pages_in_english_by_accept_language(world):
    op = world.client(world.operator)
    assert _new_case(world, op).status_code == 302
    case = Case.objects.get()
    pages = {
        "/workbench/": ["Workbench", "To accept", "Register a case", "Search", "Sign out"],
        "/workbench/?queue=overdue&scope=all": ["Overdue", "Export to Excel"],
        f"/cases/{case.pk}/": ["Case information", "Accept", "Reporter", "History", "Registered at"],
        "/cases/new/": ["Register a case", "Title", "Longitude", "Contact phone"],
        "/grids/": ["Grid code", "Population"],
    }
    for path, labels in pages.items():
        html = _en(op, path)
        for label in labels:
            assert label in html, (path, label)
        assert '<html lang="en">' in html
        assert _leftover_chinese(html) == [], (path, _leftover_chinese(html))
    desk = _en(world.client(world.handler), "/desk/")
    assert "Department desk" in desk and "To acknowledge" in desk
    assert _leftover_chinese(desk) == []
    mobile = _en(world.client(world.grid_worker), "/m/")
    assert "My reports" in mobile and _leftover_chinese(mobile) == []
    form = _en(world.client(world.grid_worker), "/m/report/")
    assert "Report a case" in form and _leftover_chinese(form) == []


def test_anonymous_pages_in_english(world):
    c = Client()
    login = _en(c, "/accounts/login/")
    assert "Sign in" in login and "Password" in login and "User name" in login
    assert _leftover_chinese(login) == []
    report = _en(c, "/public/report/")
    assert "Report a concern" in report and "Personal Information Notice" in report
    assert _leftover_chinese(report) == []
    track = _en(c, "/public/track/")
    assert "Track progress" in track and _leftover_chinese(track) == []


def test_english_error_messages_on_a_bad_form(world):
    c = Client()
    res = c.post("/public/report/", {"title": "", "lon": "200"}, HTTP_ACCEPT_LANGUAGE="en")
    assert res.status_code == 422
    html = res.content.decode()
    assert "Please correct the fields marked in red" in html
    assert "Please read and agree to the Personal Information Notice." in html
    assert _leftover_chinese(html) == []


def test_set_language_switches_the_session_to_english_and_back(world):
    op = world.client(world.operator)
    res = op.post("/i18n/setlang/", {"language": "en", "next": "/workbench/"})
    assert res.status_code == 302 and res["Location"] == "/workbench/"
    html = op.get("/workbench/").content.decode()
    assert "Workbench" in html and "工作台" not in html
    op.post("/i18n/setlang/", {"language": "zh-hans", "next": "/workbench/"})
    html = op.get("/workbench/").content.decode()
    assert "工作台" in html and "Workbench" not in html


def test_chinese_stays_the_default(world):
    html = world.client(world.operator).get("/workbench/").content.decode()
    assert '<html lang="zh-hans">' in html and "待受理" in html and "To accept" not in html


# --- the catalogue ------------------------------------------------------------------------------------


def _po_entries(path: Path) -> list[dict[str, object]]:
    """A small .po reader (msgctxt, msgid, msgid_plural, msgstr, msgstr[n], flags, continuation lines)."""
    entries: list[dict[str, object]] = []
    current: dict[str, object] = {}
    key: str | None = None
    for raw in [*path.read_text(encoding="utf-8").splitlines(), ""]:
        line = raw.strip()
        if not line:
            if current:
                entries.append(current)
            current, key = {}, None
            continue
        if line.startswith("#,"):
            current["flags"] = line[2:].strip()
            continue
        if line.startswith("#"):
            continue
        m = re.match(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[\d+\])?)\s+(".*")$', line)
        if m:
            key = m.group(1)
            current[key] = ast.literal_eval(m.group(2))
        elif line.startswith('"') and key:
            current[key] = str(current[key]) + ast.literal_eval(line)
    return [e for e in entries if "msgid" in e]


def test_every_message_is_translated_and_the_mo_is_up_to_date():
    po, mo = LOCALE_DIR / "django.po", LOCALE_DIR / "django.mo"
    assert po.exists() and mo.exists(), "zongzhi/locale/en: run makemessages -l en and compilemessages"
    with mo.open("rb") as fh:
        catalog = gettext.GNUTranslations(fh)
    entries = [e for e in _po_entries(po) if e["msgid"]]
    assert len(entries) > 300
    problems = []
    for e in entries:
        msgid = str(e["msgid"])
        if "fuzzy" in str(e.get("flags", "")):
            problems.append(f"fuzzy: {msgid}")
        if "msgid_plural" in e:
            forms = [str(e.get(f"msgstr[{i}]", "")) for i in (0, 1)]
            if not all(forms):
                problems.append(f"untranslated: {msgid}")
            elif [catalog.ngettext(msgid, str(e["msgid_plural"]), n) for n in (1, 2)] != forms:
                problems.append(f"stale .mo: {msgid}")
            continue
        msgstr = str(e.get("msgstr", ""))
        if not msgstr:
            problems.append(f"untranslated: {msgid}")
            continue
        got = catalog.pgettext(str(e["msgctxt"]), msgid) if "msgctxt" in e else catalog.gettext(msgid)
        if got != msgstr:
            problems.append(f"stale .mo: {msgid}")
        if sorted(re.findall(r"%\(\w+\)[sd]", msgid)) != sorted(re.findall(r"%\(\w+\)[sd]", msgstr)):
            problems.append(f"placeholders differ: {msgid}")
    assert problems == [], "\n".join(problems[:30])
