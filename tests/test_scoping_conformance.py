"""Scoping conformance: every URL that names an object hides it outside the user's scope.

The test walks the whole URL configuration (web pages and the ninja API) and, for every route that
takes a parameter, builds an object in a village of the test tree and checks:

* a user granted the route's permission in that village          → 200
* a user granted it at an ancestor region (township, province)    → 200
* a user granted it in a sibling village and in a cousin county   → 404 (never 403)
* a user holding a role *without* the permission in that village  → 404
* anonymous                                                       → redirect to login (web) / 401 (API)

A route with a parameter that is in neither ``ROUTES`` nor ``NOT_REGION_SCOPED`` below makes the
test fail.

HOW TO ADD A ROUTE
------------------
Add one entry to ``ROUTES``. The key is the full URL pattern exactly as printed by the failing test
(e.g. ``"cases/<int:case_id>/"`` or ``"api/v1/cases/<case_id>"``). The value is ``Route(perm=...,
build=...)``:

* ``perm``  — the permission the view needs to see the object (``Perm.CASE_VIEW`` …). The test
  grants a role that carries it (or ``role=`` if you need a particular one).
* ``build`` — ``build(village) -> dict`` creates the object in region ``village`` (a village-level
  ``Region``; a builder may use its parents) and returns the URL keyword arguments that address it,
  e.g. ``lambda v: {"case_id": make_case(v).pk}``. Use the real services / ``tests.factories``.
* ``method`` / ``body`` / ``ok`` — for routes that are not ``GET`` → 200 (e.g. a POST action:
  ``method="post", body={...}, ok=200``). The body must be valid, or validation answers before
  scoping does.

A route that is deliberately not region-scoped (the public portal, the shared catalogue) goes into
``NOT_REGION_SCOPED`` with the reason instead.

Only the admin site (tested on its own), i18n and static/media routes are skipped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.urls import NoReverseMatch, URLPattern, URLResolver, get_resolver, reverse

from tests.factories import make_department, make_grid, make_tree, make_user
from zongzhi.orgs.models import Region
from zongzhi.orgs.roles import ROLE_PERMISSIONS, Perm, Role, roles_with


@dataclass(frozen=True)
class Route:
    perm: str  # the permission the view needs to see the object
    build: Callable[[Region], dict[str, Any]]  # object in this village -> URL kwargs
    role: str | None = None  # default: the first role that carries ``perm``
    method: str = "get"
    body: dict[str, Any] | None = None  # sent as JSON to the API, as form data to web pages
    ok: int = 200
    fresh: bool = False  # build a new object for every request (for actions that work only once)


# ---- Builders: create one object in ``village`` and return the URL kwargs. ----------------------


def _case(village: Region) -> Any:
    from zongzhi.cases import services as case_services

    report = case_services.ReportInput(
        channel="web",
        title="噪声扰民",
        description="楼下夜间施工",
        region_code=village.code,
        reporter_name="张三",
        reporter_phone="13800000000",
    )
    return case_services.case_report(actor=None, data=report).case


def _rule(village: Region) -> Any:
    import datetime as dt

    from zongzhi.cases import services as case_services
    from zongzhi.cases.models import Category

    case_services.catalogue_load_defaults(actor=None)
    return case_services.rule_create(
        actor=None,
        category=Category.objects.filter(parent__isnull=True).order_by("code").first(),
        region=village,
        lead_department=make_department(village),
        assisting_departments=[],
        handling_level="village",
        legal_basis="",
        effective_from=dt.date(2020, 1, 1),
    )


def _supervision(village: Region) -> Any:
    from zongzhi.cases import services as case_services

    case = _case(village)
    case_services.case_transition(actor=None, case_id=case.pk, action="supervise", note="请加快办理")
    return case.supervisions.get()


def _attachment(village: Region) -> dict[str, Any]:
    from zongzhi.cases import services as case_services
    from zongzhi.cases.attachments import UploadedFile

    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    report = case_services.ReportInput(
        channel="web",
        title="井盖缺失",
        description="路口井盖缺失",
        region_code=village.code,
        is_anonymous=True,
        attachments=[UploadedFile(name="photo.png", content=png)],
    )
    case = case_services.case_report(actor=None, data=report).case
    return {"case_id": case.pk, "attachment_id": case.attachments.get().pk}


_SQUARE = {
    "type": "Polygon",
    "coordinates": [
        [[120.15, 30.27], [120.154, 30.27], [120.154, 30.274], [120.15, 30.274], [120.15, 30.27]]
    ],
}


# ---- THE REGISTRY: one entry per URL pattern with a parameter. Keep it sorted by key. ----------
ROUTES: dict[str, Route] = {
    # API (django-ninja, mounted at api/v1/)
    "api/v1/cases/<case_id>": Route(perm=Perm.CASE_VIEW, build=lambda v: {"case_id": _case(v).pk}),
    "api/v1/cases/<case_id>/actions/<action>": Route(
        perm=Perm.CASE_SUPERVISE,
        role=Role.LEADER_VIEWER,
        build=lambda v: {"case_id": _case(v).pk, "action": "supervise"},
        method="post",
        body={"note": "请加快办理", "data": {"kind": "supervision"}},
    ),
    "api/v1/grids/<grid_id>": Route(perm=Perm.GRID_VIEW, build=lambda v: {"grid_id": make_grid(v).pk}),
    "api/v1/grids/<grid_id>/boundary": Route(
        perm=Perm.GRID_MANAGE,
        role=Role.SYSTEM_ADMIN,
        build=lambda v: {"grid_id": make_grid(v).pk},
        method="put",
        body={"geometry": _SQUARE, "crs": "wgs84"},
    ),
    "api/v1/regions/<code>": Route(perm=Perm.REGION_VIEW, build=lambda v: {"code": v.code}),
    # rules are seen by case staff and by catalogue managers; the check uses the latter
    "api/v1/rules/<rule_id>": Route(
        perm=Perm.CATALOGUE_MANAGE, role=Role.SYSTEM_ADMIN, build=lambda v: {"rule_id": _rule(v).pk}
    ),
    "api/v1/rules/<rule_id>/revise": Route(
        perm=Perm.CATALOGUE_MANAGE,
        role=Role.SYSTEM_ADMIN,
        build=lambda v: {"rule_id": _rule(v).pk},
        method="post",
        body={"effective_from": "2031-01-01"},
        ok=201,
        fresh=True,
    ),
    "api/v1/rules/<rule_id>/versions": Route(
        perm=Perm.CATALOGUE_MANAGE, role=Role.SYSTEM_ADMIN, build=lambda v: {"rule_id": _rule(v).pk}
    ),
    "api/v1/supervisions/<supervision_id>/reply": Route(
        perm=Perm.CASE_DISPATCH,
        role=Role.CENTER_OPERATOR,
        build=lambda v: {"supervision_id": _supervision(v).pk},
        method="post",
        body={"text": "已督促责任单位"},
        fresh=True,
    ),
    # Web pages
    "cases/<int:case_id>/": Route(perm=Perm.CASE_VIEW, build=lambda v: {"case_id": _case(v).pk}),
    "cases/<int:case_id>/actions/<str:action>/": Route(
        perm=Perm.CASE_SUPERVISE,
        role=Role.LEADER_VIEWER,
        build=lambda v: {"case_id": _case(v).pk, "action": "supervise"},
        method="post",
        body={"supervise-note": "请加快办理", "supervise-kind": "supervision"},
        ok=302,
    ),
    "cases/<int:case_id>/attachments/<int:attachment_id>/": Route(perm=Perm.CASE_VIEW, build=_attachment),
    "grids/<int:grid_id>/": Route(perm=Perm.GRID_VIEW, build=lambda v: {"grid_id": make_grid(v).pk}),
    # the boundary editor exists only for those who may edit the grid
    "grids/<int:grid_id>/boundary/": Route(
        perm=Perm.GRID_MANAGE, role=Role.SYSTEM_ADMIN, build=lambda v: {"grid_id": make_grid(v).pk}
    ),
    "regions/<str:code>/": Route(perm=Perm.REGION_VIEW, build=lambda v: {"code": v.code}),
    "supervisions/<int:supervision_id>/reply/": Route(
        perm=Perm.CASE_DISPATCH,
        role=Role.CENTER_OPERATOR,
        build=lambda v: {"supervision_id": _supervision(v).pk},
        method="post",
        body={"text": "已督促责任单位"},
        ok=302,
        fresh=True,
    ),
}

# Routes with a parameter that are deliberately NOT region-scoped. Every entry needs a reason, and
# should have its own tests for whatever guards it instead.
NOT_REGION_SCOPED: dict[str, str] = {
    "api/v1/categories/<code>": "the case catalogue is shared by every region (Category.scope_perm = None)",
    "api/v1/public/cases/<number>": "public portal: a citizen looks a case up by number + tracking code",
    "api/v1/public/cases/<number>/rating": "public portal: a citizen rates a case with its tracking code",
    "exports/<int:job_id>/": "an export job belongs to the user who asked for it (404 for anyone else, "
    "tested in zongzhi/cases/tests/test_web.py); its rows were scoped as that user when it ran",
    "exports/<int:job_id>/download/": "as exports/<int:job_id>/: owner only",
}
# -------------------------------------------------------------------------------------------------

SKIPPED_PREFIXES = ("admin/", "i18n/", settings.STATIC_URL.lstrip("/"), settings.MEDIA_URL.lstrip("/"))
API_PREFIX = "api/"


@dataclass(frozen=True)
class Found:
    key: str  # the full pattern, e.g. "grids/<int:grid_id>/"
    name: str | None  # the qualified URL name, e.g. "grid-detail" or "api:get_grid"
    params: tuple[str, ...]

    @property
    def is_api(self) -> bool:
        return self.key.startswith(API_PREFIX)


def walk(patterns: list[Any], prefix: str = "", namespace: str = "") -> Iterator[Found]:
    for entry in patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            ns = ":".join(filter(None, [namespace, entry.namespace or ""]))
            yield from walk(entry.url_patterns, route, ns)
        elif isinstance(entry, URLPattern):
            name = ":".join(filter(None, [namespace, entry.name or ""])) if entry.name else None
            # ``regex.groupindex`` holds the parameters of path() and re_path() patterns alike.
            yield Found(key=route, name=name, params=tuple(entry.pattern.regex.groupindex))


def routes_with_parameters() -> list[Found]:
    found = [
        f
        for f in walk(get_resolver().url_patterns)
        if f.params and not any(p and f.key.startswith(p) for p in SKIPPED_PREFIXES)
    ]
    return sorted(found, key=lambda f: f.key)


FOUND = routes_with_parameters()


def test_every_route_with_a_parameter_has_a_builder():
    missing = [f for f in FOUND if f.key not in ROUTES and f.key not in NOT_REGION_SCOPED]
    assert not missing, (
        "These URL patterns take an object parameter but tests/test_scoping_conformance.py does not "
        "know how to build an object for them. Add an entry to ROUTES (or, with a reason, to "
        "NOT_REGION_SCOPED) — see the module docstring:\n"
        + "\n".join(f"  {f.key!r}  (name={f.name!r}, params={list(f.params)})" for f in missing)
    )


def test_registry_has_no_stale_entries():
    stale = sorted((set(ROUTES) | set(NOT_REGION_SCOPED)) - {f.key for f in FOUND})
    assert not stale, (
        f"ROUTES / NOT_REGION_SCOPED name patterns that no longer exist; remove or rename them: {stale}"
    )


def test_walker_sees_web_and_api_routes():
    keys = {f.key for f in FOUND}
    assert {"grids/<int:grid_id>/", "regions/<str:code>/"} <= keys
    assert not any(k.startswith("admin/") for k in keys)
    assert {"api/v1/grids/<grid_id>", "api/v1/regions/<code>"} <= keys


def _role_for(route: Route) -> str:
    if route.role is not None:
        assert route.perm in ROLE_PERMISSIONS[route.role], f"{route.role} does not carry {route.perm}"
        return route.role
    roles = roles_with(route.perm)
    assert roles, f"no role carries {route.perm}"
    return roles[0]


def _role_without(perm: str) -> str | None:
    return next((r for r in Role.values if perm not in ROLE_PERMISSIONS[r]), None)


def _url(found: Found, kwargs: dict[str, Any]) -> str:
    """The URL of ``found`` for ``kwargs``: reversed by name, else filled into the pattern."""
    if found.name:
        try:
            return reverse(found.name, kwargs=kwargs)
        except NoReverseMatch:  # e.g. a name shared by several patterns: fill the pattern instead
            pass
    url = found.key
    for param in found.params:
        value = str(kwargs[param])
        for token in (
            f"<{param}>",
            *(f"<{conv}:{param}>" for conv in ("int", "str", "slug", "uuid", "path")),
        ):
            url = url.replace(token, value)
    return "/" + url


def _request(client: Client, route: Route, url: str) -> Any:
    send = getattr(client, route.method)
    if route.body is None:
        return send(url)
    if url.startswith("/" + API_PREFIX):
        return send(url, route.body, content_type="application/json")
    return send(url, route.body)


def _client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.django_db
@pytest.mark.parametrize("found", [f for f in FOUND if f.key in ROUTES], ids=lambda f: f.key)
def test_route_hides_objects_outside_the_users_scope(found: Found) -> None:
    route = ROUTES[found.key]
    tree = make_tree()
    own = tree["A1a"]  # village 甲一社区; A1b is its sibling, B1a a cousin under another county
    url = _url(found, route.build(own))
    role = _role_for(route)

    def status_for(region: Region, role: str = role) -> int:
        department = None
        if role == Role.DEPARTMENT_HANDLER:
            department = make_department(region)
        user = make_user(role, region, department=department)
        target = _url(found, route.build(own)) if route.fresh else url
        return _request(_client_for(user), route, target).status_code

    expectations = {
        "granted in own village": (own, route.ok),
        "granted at parent township": (tree["A1"], route.ok),
        "granted at the root province": (tree["P"], route.ok),
        "granted in sibling village": (tree["A1b"], 404),
        "granted in cousin county": (tree["B"], 404),
    }
    got = {label: status_for(region) for label, (region, _) in expectations.items()}
    assert got == {label: status for label, (_, status) in expectations.items()}, f"{found.key} as {role}"

    other = _role_without(route.perm)
    if other is not None:
        assert status_for(own, other) == 404, f"{found.key}: {other} lacks {route.perm} yet saw the object"

    response = _request(Client(), route, url)
    if found.is_api:
        assert response.status_code == 401, (
            f"{found.key} answered {response.status_code} to an anonymous caller"
        )
    else:
        assert response.status_code == 302, (
            f"{found.key} answered {response.status_code} to an anonymous caller"
        )
        assert response["Location"].startswith(reverse(settings.LOGIN_URL)), response["Location"]
