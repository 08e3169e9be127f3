"""Web security: a Content-Security-Policy that allows only our own assets on every HTML page,
templates that need no inline script or style, CSRF on every form post, and TLS-only cookies and
HSTS in production."""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from zongzhi.cases.models import Case, CaseState
from zongzhi.cases.tests.conftest import world  # noqa: F401 - the fixture
from zongzhi.cases.tests.drive import report

BASE_DIR = Path(__file__).resolve().parent.parent
TEMPLATES = sorted(
    p
    for p in (BASE_DIR / "zongzhi").rglob("*.html")
    if "templates" in p.parts and "admin" not in p.relative_to(BASE_DIR / "zongzhi").parts[2:3]
)


def _directives(csp: str) -> dict[str, list[str]]:
    out = {}
    for part in csp.split(";"):
        words = part.split()
        if words:
            out[words[0]] = words[1:]
    return out


# --- CSP ------------------------------------------------------------------------------------------


def test_the_policy_allows_only_our_own_assets():
    d = _directives(settings.ZZ_CSP)
    assert d["default-src"] == ["'self'"]
    assert d["script-src"] == ["'self'"]
    assert d["style-src"] == ["'self'"]
    assert d["object-src"] == ["'none'"] and d["frame-ancestors"] == ["'none'"]
    for values in d.values():
        assert not any(v.startswith(("http:", "https:")) or v == "*" for v in values), values
        assert "'unsafe-eval'" not in values


@pytest.mark.django_db
def test_every_html_page_carries_the_policy(world):  # noqa: F811
    case = report(world)
    staff = {
        world.operator: [
            "/workbench/",
            "/workbench/?queue=overdue",
            "/cases/new/",
            f"/cases/{case.pk}/",
            "/grids/",
        ],
        world.handler: ["/desk/"],
        world.grid_worker: ["/m/", "/m/report/"],
    }
    public = ["/accounts/login/", "/public/report/", "/public/track/", "/public/track/?number=X&code=Y"]
    responses = []
    for user, paths in staff.items():
        c = world.client(user)
        responses += [(p, c.get(p)) for p in paths]
    anon = Client()
    responses += [(p, anon.get(p)) for p in public]
    responses.append(("/cases/new/ (422)", world.client(world.operator).post("/cases/new/", {})))
    responses.append(("/public/report/ (422)", anon.post("/public/report/", {"title": "x"})))
    responses.append(("404", world.client(world.sibling_operator).get(f"/cases/{case.pk}/")))
    for path, res in responses:
        assert res.status_code in (200, 404, 422), (path, res.status_code)
        assert res["Content-Security-Policy"] == settings.ZZ_CSP, path
        assert "'unsafe-inline'" not in res["Content-Security-Policy"], path
        assert res["X-Frame-Options"] == "DENY" and res["X-Content-Type-Options"] == "nosniff", path


@pytest.mark.django_db
def test_only_the_api_docs_may_run_inline_script():
    res = Client().get("/api/v1/docs")
    assert res.status_code == 200
    d = _directives(res["Content-Security-Policy"])
    assert "'unsafe-inline'" in d["script-src"] and d["default-src"] == ["'self'"]
    api = Client().get("/api/v1/openapi.json")
    assert "'unsafe-inline'" not in api["Content-Security-Policy"]


# --- templates -------------------------------------------------------------------------------------------

INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc=)[^>]*>|<script\b[^>]*>\s*[^<\s]", re.I)
STYLE_ATTR = re.compile(r"\sstyle\s*=", re.I)
STYLE_TAG = re.compile(r"<style\b", re.I)
HANDLER_ATTR = re.compile(r"\son[a-z]+\s*=", re.I)
JS_URL = re.compile(r"""(href|src|action)\s*=\s*["']\s*javascript:""", re.I)


def test_templates_are_found():
    names = {p.name for p in TEMPLATES}
    assert {"base.html", "workbench.html", "case_detail.html", "login.html"} <= names


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: str(p.relative_to(BASE_DIR)))
def test_no_inline_script_style_or_handler_in_templates(path):
    text = path.read_text(encoding="utf-8")
    problems = []
    for name, pattern in [
        ("inline <script>", INLINE_SCRIPT),
        ("style= attribute", STYLE_ATTR),
        ("<style> element", STYLE_TAG),
        ("on*= handler attribute", HANDLER_ATTR),
        ("javascript: URL", JS_URL),
    ]:
        for m in pattern.finditer(text):
            line = text.count("\n", 0, m.start()) + 1
            problems.append(f"{path.name}:{line}: {name}: {m.group(0)[:60]!r}")
    assert problems == []


# --- CSRF ----------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_posts_without_the_token_are_rejected(world):  # noqa: F811
    case = report(world)
    c = Client(enforce_csrf_checks=True)
    c.force_login(world.operator)
    data = {
        "channel": "hotline",
        "kind": "dispute",
        "title": "楼道堆物",
        "description": "楼道堆放杂物影响通行",
        "region": world.r["A1a"].code,
        "reporter_phone": "13955556666",
    }
    assert c.post("/cases/new/", data).status_code == 403
    assert c.post(f"/cases/{case.pk}/actions/accept/", {}).status_code == 403
    assert Case.objects.count() == 1 and Case.objects.get().state == CaseState.REPORTED
    assert Client(enforce_csrf_checks=True).post("/public/report/", {"title": "x"}).status_code == 403
    assert Client(enforce_csrf_checks=True).post("/accounts/login/", {"username": "a"}).status_code == 403
    # with the token from the page, the same post goes through
    c.get(f"/cases/{case.pk}/")
    token = c.cookies[settings.CSRF_COOKIE_NAME].value
    res = c.post(f"/cases/{case.pk}/actions/accept/", {"csrfmiddlewaretoken": token})
    assert res.status_code == 302
    assert Case.objects.get().state == CaseState.ACCEPTED


def test_every_post_form_in_the_templates_has_the_token():
    for path in TEMPLATES:
        text = path.read_text(encoding="utf-8")
        for m in re.finditer(r"<form\b[^>]*>", text, re.I):
            if re.search(r"method\s*=\s*[\"']post", m.group(0), re.I):
                rest = text[m.end() : text.find("</form>", m.end())]
                assert "{% csrf_token %}" in rest, f"{path.name}: {m.group(0)[:80]}"


# --- production settings ----------------------------------------------------------------------------------

_PRINT = """
import json
from django.conf import settings
print(json.dumps({k: getattr(settings, k, None) for k in [
    "DEBUG", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SESSION_COOKIE_HTTPONLY",
    "SECURE_HSTS_SECONDS", "SECURE_HSTS_INCLUDE_SUBDOMAINS", "SECURE_SSL_REDIRECT",
    "SECURE_CONTENT_TYPE_NOSNIFF", "X_FRAME_OPTIONS", "SESSION_COOKIE_SAMESITE", "CSRF_COOKIE_SAMESITE",
    "ZZ_CSP",
]}))
"""


def test_production_settings_are_tls_only():
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "zz.example.gov.cn",
        "ZZ_FIELD_KEY": secrets.token_hex(16),
        "ZZ_BLIND_INDEX_KEY": secrets.token_hex(16),
        "DATABASE_URL": "postgres://zongzhi@127.0.0.1:5432/zongzhi",
    }
    for key in ("DJANGO_SECURE_SSL_REDIRECT", "DJANGO_HSTS_SECONDS"):
        env.pop(key, None)
    out = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()\n" + _PRINT],
        env=env,
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    values = json.loads(out.stdout.strip().splitlines()[-1])
    print(values)
    assert values["DEBUG"] is False
    assert values["SESSION_COOKIE_SECURE"] is True and values["CSRF_COOKIE_SECURE"] is True
    assert values["SESSION_COOKIE_HTTPONLY"] is True
    assert values["SECURE_HSTS_SECONDS"] >= 31536000 and values["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True
    assert values["SECURE_SSL_REDIRECT"] is True
    assert values["SECURE_CONTENT_TYPE_NOSNIFF"] is True and values["X_FRAME_OPTIONS"] == "DENY"
    assert values["ZZ_CSP"] == settings.ZZ_CSP
