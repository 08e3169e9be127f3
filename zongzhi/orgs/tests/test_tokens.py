"""API tokens: issued and revoked by management commands, used through the HTTP API.

Also: session auth on the API requires CSRF on unsafe methods; bearer tokens do not."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
import time_machine
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import path
from django.utils import timezone
from ninja import NinjaAPI

import config.urls
from zongzhi.api.auth import AUTH
from zongzhi.core.audit import verify_audit_chain
from zongzhi.core.errors import Conflict, FieldError, PermissionDeniedError
from zongzhi.core.models import AuditLog
from zongzhi.orgs import services
from zongzhi.orgs.models import ApiToken, User
from zongzhi.orgs.roles import Role

pytestmark = pytest.mark.django_db

ME = "/api/v1/me"

# A probe endpoint with an unsafe method behind the API's real authentication, so the CSRF rule is
# tested independently of which write endpoints the API happens to have.
probe_api = NinjaAPI(urls_namespace="zz_auth_probe", auth=AUTH)


@probe_api.post("/write")
def _probe_write(request):  # type: ignore[no-untyped-def]
    return {"username": request.user.username}


urlpatterns = [path("probe/", probe_api.urls), *config.urls.urlpatterns]


def _create(username: str, name: str = "集成测试", days: int | None = None) -> tuple[str, str, str]:
    args = ["--user", username, "--name", name]
    if days is not None:
        args += ["--days", str(days)]
    out, err = StringIO(), StringIO()
    call_command("create_api_token", *args, stdout=out, stderr=err)
    [clear] = [line for line in out.getvalue().splitlines() if line.startswith("zz_")]
    return clear, out.getvalue(), err.getvalue()


def _revoke(*args: str) -> str:
    out = StringIO()
    call_command("revoke_api_token", *args, stdout=out)
    return out.getvalue()


def _bearer(clear: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {clear}"}


# --- issuing -------------------------------------------------------------------------------------


def test_create_command_prints_the_token_once_and_stores_only_its_digest(make_user):
    user = make_user(username="integration")
    clear, out, err = _create("integration", days=30)
    token = ApiToken.objects.get(user=user)
    assert clear.startswith("zz_") and len(clear) > 40
    assert token.prefix == clear[:10] and f"前缀={token.prefix}" in out
    assert "不会再次显示" in err and "not shown again" in err
    assert clear not in {token.digest, token.prefix, token.name}
    assert token.digest == services._token_digest(clear)
    assert token.expires_at is not None
    assert abs(token.expires_at - (timezone.now() + dt.timedelta(days=30))) < dt.timedelta(minutes=1)
    [row] = AuditLog.objects.filter(action="token.create")
    assert row.actor_username == "system" and row.data["user"] == "integration"
    assert row.data["prefix"] == token.prefix and clear not in str(row.data)
    assert verify_audit_chain().ok


def test_create_without_days_never_expires(make_user):
    make_user(username="forever")
    _create("forever")
    assert ApiToken.objects.get(user__username="forever").expires_at is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--user", "ghost", "--name", "x"], "用户不存在"),
        (["--user", "known", "--name", "x", "--days", "0"], "--days"),
        (["--user", "known", "--name", "  "], "用途"),
        (["--user", "known"], "--name"),
    ],
)
def test_create_command_errors(make_user, args, message):
    make_user(username="known")
    with pytest.raises(CommandError, match=message):
        call_command("create_api_token", *args, stdout=StringIO(), stderr=StringIO())
    assert not ApiToken.objects.exists()


def test_create_command_refuses_an_inactive_user(make_user):
    user = make_user(username="gone")
    User.objects.filter(pk=user.pk).update(is_active=False)
    with pytest.raises(CommandError, match="停用"):
        _create("gone")


# --- using a token through the API -----------------------------------------------------------------


def test_token_authenticates_as_its_user_only(make_user, tree, client):
    operator = make_user(Role.CENTER_OPERATOR, tree["A"], username="op-a")
    make_user(Role.CENTER_OPERATOR, tree["C"], username="op-city")
    clear, _, _ = _create("op-a")

    response = client.get(ME, headers=_bearer(clear))
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == operator.pk and body["username"] == "op-a"
    assert body["grants"] == [
        {"role": "center_operator", "region_path": tree["A"].path, "department_id": None}
    ]

    # Scoping applies to the token's user: own subtree visible, a sibling county does not exist.
    assert client.get(f"/api/v1/regions/{tree['A1'].code}", headers=_bearer(clear)).status_code == 200
    assert client.get(f"/api/v1/regions/{tree['B'].code}", headers=_bearer(clear)).status_code == 404
    assert client.get(f"/api/v1/regions/{tree['C'].code}", headers=_bearer(clear)).status_code == 404
    codes = {r["code"] for r in client.get("/api/v1/regions", headers=_bearer(clear)).json()["items"]}
    assert tree["A"].code in codes and tree["B"].code not in codes

    assert ApiToken.objects.get(user=operator).last_used_at is not None


def test_the_token_wins_over_a_browser_session(make_user, tree, client):
    make_user(Role.CENTER_OPERATOR, tree["A"], username="token-user")
    make_user(Role.CENTER_OPERATOR, tree["C"], username="session-user")
    clear, _, _ = _create("token-user")
    client.login(username="session-user", password="Zz-Test-Pass-2026!")
    assert client.get(ME).json()["username"] == "session-user"
    assert client.get(ME, headers=_bearer(clear)).json()["username"] == "token-user"


@pytest.mark.parametrize(
    "header",
    [
        None,
        "Bearer ",
        "Bearer zz_not-a-real-token",
        "Bearer not-even-prefixed",
        "Token zz_whatever",
        "Bearer " + "zz_" + "a" * 5000,
    ],
)
def test_missing_or_unknown_token_is_401(client, header):
    headers = {"Authorization": header} if header is not None else {}
    response = client.get(ME, headers=headers)
    assert response.status_code == 401
    assert response.json()["detail"]["code"] == "unauthenticated"


def test_revoked_token_is_401(make_user, client):
    make_user(username="revokee")
    clear, _, _ = _create("revokee")
    token = ApiToken.objects.get(user__username="revokee")
    assert client.get(ME, headers=_bearer(clear)).status_code == 200

    out = _revoke("--prefix", token.prefix)
    assert "已吊销" in out and token.prefix in out
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert client.get(ME, headers=_bearer(clear)).status_code == 401
    [row] = AuditLog.objects.filter(action="token.revoke")
    assert row.object_id == str(token.pk) and row.data["prefix"] == token.prefix

    with pytest.raises(CommandError, match="已被吊销"):
        _revoke("--prefix", token.prefix)
    with pytest.raises(CommandError, match="已被吊销"):
        _revoke("--id", str(token.pk))
    assert AuditLog.objects.filter(action="token.revoke").count() == 1


def test_revoke_by_id_leaves_other_tokens_working(make_user, client):
    make_user(username="two-tokens")
    first, _, _ = _create("two-tokens", name="甲系统")
    second, _, _ = _create("two-tokens", name="乙系统")
    token = ApiToken.objects.get(name="甲系统")
    _revoke("--id", str(token.pk))
    assert client.get(ME, headers=_bearer(first)).status_code == 401
    assert client.get(ME, headers=_bearer(second)).status_code == 200


def test_revoke_command_errors(make_user):
    make_user(username="amb")
    _create("amb", name="一")
    _create("amb", name="二")
    with pytest.raises(CommandError, match="找不到"):
        _revoke("--prefix", "zz_nothing")
    with pytest.raises(CommandError, match="找不到"):
        _revoke("--id", "999999")
    with pytest.raises(CommandError):
        call_command("revoke_api_token", stdout=StringIO(), stderr=StringIO())  # neither --prefix nor --id
    # Two active tokens sharing a prefix (possible, if unlikely): refuse to guess.
    ApiToken.objects.update(prefix="zz_same123")
    with pytest.raises(CommandError, match="--id"):
        _revoke("--prefix", "zz_same123")
    assert not ApiToken.objects.filter(revoked_at__isnull=False).exists()


def test_expired_token_is_401(make_user, client):
    make_user(username="shortlived")
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        clear, _, _ = _create("shortlived", days=1)
        clock.shift(dt.timedelta(hours=23, minutes=59))
        assert client.get(ME, headers=_bearer(clear)).status_code == 200
        clock.shift(dt.timedelta(minutes=2))
        assert client.get(ME, headers=_bearer(clear)).status_code == 401


def test_token_of_a_deactivated_user_is_401(make_user, client):
    user = make_user(username="leaver")
    clear, _, _ = _create("leaver")
    User.objects.filter(pk=user.pk).update(is_active=False)
    assert client.get(ME, headers=_bearer(clear)).status_code == 401


# --- the services' permission rules ------------------------------------------------------------------


def test_only_token_managers_over_the_users_scope_may_issue(make_user, tree):
    sec_a = make_user(Role.SECURITY_ADMIN, tree["A"], username="sec-a")
    plain = make_user(Role.CENTER_OPERATOR, tree["A"], username="plain")
    in_a = make_user(Role.CENTER_OPERATOR, tree["A1"], username="in-a")
    in_b = make_user(Role.CENTER_OPERATOR, tree["B"], username="in-b")
    city = make_user(Role.LEADER_VIEWER, tree["C"], username="city")

    token, clear = services.api_token_create(actor=sec_a, user=in_a, name="对接")
    assert token.created_by == sec_a and clear.startswith("zz_")
    # A token acts with all of its user's rights: no issuing beyond the issuer's own scope.
    for target in (in_b, city):
        with pytest.raises(PermissionDeniedError):
            services.api_token_create(actor=sec_a, user=target, name="越权")
    with pytest.raises(PermissionDeniedError):
        services.api_token_create(actor=plain, user=plain, name="自签")
    assert ApiToken.objects.count() == 1


def test_users_may_revoke_their_own_tokens(make_user, tree):
    owner = make_user(Role.CENTER_OPERATOR, tree["A"], username="owner")
    other = make_user(Role.CENTER_OPERATOR, tree["A"], username="other")
    token, _ = services.api_token_create(actor=None, user=owner, name="mine")
    with pytest.raises(PermissionDeniedError):
        services.api_token_revoke(actor=other, token=token)
    services.api_token_revoke(actor=owner, token=token)
    with pytest.raises(Conflict):
        services.api_token_revoke(actor=owner, token=token)


def test_expiry_in_the_past_is_refused(make_user):
    user = make_user()
    with pytest.raises(FieldError) as exc:
        services.api_token_create(actor=None, user=user, name="x", expires_at=timezone.now())
    assert exc.value.field == "expires_at"


# --- CSRF on the API -------------------------------------------------------------------------------------


@pytest.mark.urls(__name__)
def test_session_auth_requires_csrf_on_unsafe_methods(make_user):
    make_user(username="browser")
    client = Client(enforce_csrf_checks=True)
    assert client.login(username="browser", password="Zz-Test-Pass-2026!")

    # Safe methods need no token.
    assert client.get(ME).status_code == 200
    # An unsafe method with the session cookie but no CSRF token is refused ...
    response = client.post("/probe/write", content_type="application/json", data={})
    assert response.status_code == 403
    # ... and accepted with the token from the CSRF cookie.
    assert client.get("/").status_code == 200  # a page with a form ({% csrf_token %}) sets the cookie
    csrf = client.cookies[settings.CSRF_COOKIE_NAME].value
    response = client.post(
        "/probe/write", content_type="application/json", data={}, headers={"X-CSRFToken": csrf}
    )
    assert response.status_code == 200 and response.json() == {"username": "browser"}


@pytest.mark.urls(__name__)
def test_bearer_token_needs_no_csrf(make_user):
    make_user(username="machine")
    clear, _, _ = _create("machine")
    client = Client(enforce_csrf_checks=True)
    response = client.post("/probe/write", content_type="application/json", data={}, headers=_bearer(clear))
    assert response.status_code == 200 and response.json() == {"username": "machine"}


@pytest.mark.urls(__name__)
def test_unsafe_method_without_credentials_is_401_not_403():
    client = Client(enforce_csrf_checks=True)
    assert client.post("/probe/write", content_type="application/json", data={}).status_code == 401
    response = client.post(
        "/probe/write", content_type="application/json", data={}, headers=_bearer("zz_revoked-or-bogus")
    )
    assert response.status_code == 401
