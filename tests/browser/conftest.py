"""Browser tests: pytest-django's live server driven by Playwright in Debian's Chromium.

Playwright's own browser download does not work on our machines, so the tests launch
``/usr/bin/chromium`` (``make browser-deps`` installs it). Without it the whole suite skips and
says why. Every page a test opens is watched: a 4xx/5xx answer for a ``/static/`` URL, a console
error (Chromium reports CSP violations there), an uncaught script error or a CSP violation event
fails the test. Screenshots go to ``test-output/screenshots/<test>-<step>.png`` (git-ignored).
"""

from __future__ import annotations

import datetime
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from tests.factories import PASSWORD, make_department, make_grid, make_user
from zongzhi.cases.tests.conftest import World, world  # noqa: F401  (the `world` fixture)

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(settings.BASE_DIR) / "test-output" / "screenshots"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1440, "height": 900}
# Hangzhou: where the demo city lies.
HANGZHOU = {"longitude": 120.15, "latitude": 30.28}

# Reported by the page itself before any of our scripts run: CSP violations of every kind.
_CSP_WATCH = """
document.addEventListener('securitypolicyviolation', function (e) {
  (window.__zzCsp = window.__zzCsp || []).push(e.violatedDirective + ' ' + e.blockedURI);
  console.error('CSP violation: ' + e.violatedDirective + ' blocked ' + e.blockedURI);
});
"""


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip the whole browser suite, with the reason, when Chromium or Playwright is missing."""
    here = Path(__file__).parent
    browser_items = [i for i in items if Path(str(i.path)).is_relative_to(here)]
    if not browser_items:
        return
    reason = None
    if not CHROMIUM.exists():
        reason = (
            f"{CHROMIUM} is missing: run `make browser-deps` (apt-get install chromium) for the browser tests"
        )
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            reason = "the playwright Python package is not installed (pip install -e '.[dev]')"
    if reason:
        for item in browser_items:
            item.add_marker(pytest.mark.skip(reason=reason))


# --- the browser ----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an asyncio loop running in this thread; Django's ORM would then
    # refuse synchronous queries from the test body ("you cannot call this from an async context").
    # The guard protects real async code, of which a test has none.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    pw = sync_playwright().start()
    try:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()
    finally:
        pw.stop()
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@dataclass
class Problems:
    """What went wrong in the pages of one test, collected from Playwright's events."""

    items: list[str] = field(default_factory=list)

    def watch(self, page: Any) -> None:
        def on_response(response: Any) -> None:
            if "/static/" in response.url and response.status >= 400:
                self.items.append(f"HTTP {response.status} for {response.url}")

        def on_console(msg: Any) -> None:
            if msg.type != "error":
                return
            source = (msg.location or {}).get("url", "")
            # A form answered 422 (Unprocessable Entity) on purpose: Chromium still logs it.
            if "status of 422" in msg.text and "/static/" not in source:
                return
            self.items.append(f"console error on {page.url}: {msg.text} ({source})")

        def on_failed(request: Any) -> None:
            # ERR_ABORTED: the browser cancelled the request itself (the page navigated on while,
            # say, its favicon was loading) — not a missing or broken asset, which answers >= 400
            if "/static/" in request.url and "ERR_ABORTED" not in str(request.failure):
                self.items.append(f"request failed: {request.url} {request.failure}")

        page.on("response", on_response)
        page.on("console", on_console)
        page.on("pageerror", lambda exc: self.items.append(f"script error on {page.url}: {exc}"))
        page.on("requestfailed", on_failed)


@dataclass
class Site:
    """One test's view of the live server: browser contexts, logins and screenshots."""

    url: str
    browser: Any
    test_name: str
    problems: Problems = field(default_factory=Problems)
    contexts: list[Any] = field(default_factory=list)
    shots: list[Path] = field(default_factory=list)

    def page(self, viewport: dict[str, int] = DESKTOP, **context_options: Any) -> Any:
        """A fresh page in its own context (own cookies): one per person in a journey."""
        context_options.setdefault("locale", "zh-CN")
        context_options.setdefault("timezone_id", "Asia/Shanghai")
        context = self.browser.new_context(
            viewport=viewport, base_url=self.url, accept_downloads=True, **context_options
        )
        context.set_default_timeout(10_000)
        context.add_init_script(_CSP_WATCH)
        self.contexts.append(context)
        page = context.new_page()
        self.problems.watch(page)
        return page

    def login(self, page: Any, username: str, password: str = PASSWORD) -> None:
        """Sign in through the real login form."""
        page.goto("/accounts/login/")
        page.get_by_label("账号").fill(username)
        page.get_by_label("密码").fill(password)
        with page.expect_navigation():
            page.get_by_role("button", name="登录").click()
        assert "/accounts/login/" not in page.url, f"login as {username} failed: {page.url}"

    def shot(self, page: Any, step: str, *, full_page: bool = True) -> Path:
        safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{self.test_name}-{step}")
        path = SCREENSHOTS / f"{safe}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(path), full_page=full_page)
        self.shots.append(path)
        return path

    def assert_no_problems(self) -> None:
        if self.problems.items:
            found, self.problems.items = self.problems.items, []
            pytest.fail("browser problems:\n  " + "\n  ".join(found))

    def close(self) -> None:
        for context in self.contexts:
            context.close()
        self.contexts.clear()


@pytest.fixture
def site(request: pytest.FixtureRequest, browser: Any, live_server: Any) -> Iterator[Site]:
    """The live server (static files served by the finders, like runserver) and a browser on it."""
    s = Site(url=live_server.url, browser=browser, test_name=request.node.name)
    try:
        yield s
        s.assert_no_problems()
    finally:
        s.close()


# --- data ------------------------------------------------------------------------------------------------


@dataclass
class BrowserWorld:
    """The shared test world plus what the journeys need: a township rule and handler, a grid."""

    w: World
    office_handler: Any  # handler of 甲一街道办事处 (township A1)
    grid: Any

    def __getattr__(self, name: str) -> Any:
        return getattr(self.w, name)


@pytest.fixture
def bworld(world: World) -> BrowserWorld:  # noqa: F811
    from zongzhi.cases import services
    from zongzhi.cases.models import Category
    from zongzhi.orgs import services as org_services
    from zongzhi.orgs.roles import Role

    # 小事不出村: neighbourhood disputes in 甲一街道 go to the street office first.
    services.rule_create(
        actor=None,
        category=Category.objects.get(code="02"),
        region=world.r["A1"],
        lead_department=world.township_office,
        handling_level="township",
        legal_basis="《人民调解法》",
        effective_from=datetime.date(2020, 1, 1),
    )
    office_handler = make_user(
        Role.DEPARTMENT_HANDLER,
        world.r["A1"],
        department=world.township_office,
        username="office_a1",
        display_name="王街道",
    )
    grid = make_grid(world.r["A1a"], "甲一社区第1网格")
    org_services.grid_member_add(actor=None, grid=grid, user=world.grid_worker)
    return BrowserWorld(w=world, office_handler=office_handler, grid=grid)


@pytest.fixture
def png_bytes() -> Callable[[int, int], bytes]:
    """A small real PNG (a photo stand-in) made with the standard library."""
    import struct
    import zlib

    def make(width: int = 64, height: int = 48) -> bytes:
        rows = b"".join(
            b"\x00" + b"".join(bytes((40 + x * 3 % 200, 120, 200 - y * 3 % 180)) for x in range(width))
            for y in range(height)
        )

        def chunk(kind: bytes, data: bytes) -> bytes:
            return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

        header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
        return (
            b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(rows))
            + chunk(b"IEND", b"")
        )

    return make


__all__ = ["DESKTOP", "HANGZHOU", "PHONE", "BrowserWorld", "Site", "make_department"]
