"""Sign-in security: argon2, password rules, lockout (web and admin), session lifetime, audit."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.hashers import check_password, identify_hasher
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone, translation

from config.settings import base as base_settings
from tests.factories import PASSWORD
from zongzhi.core.audit import verify_audit_chain
from zongzhi.core.errors import FieldError
from zongzhi.core.models import AuditLog
from zongzhi.orgs import services
from zongzhi.orgs.models import User
from zongzhi.orgs.roles import Role

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"
ADMIN_LOGIN = "/admin/login/"
START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def _login(client: Client, username: str, password: str, url: str = LOGIN):
    return client.post(url, {"username": username, "password": password, "next": ""})


def _signed_in(client: Client) -> bool:
    return SESSION_KEY in client.session


def _audit(action: str, username: str) -> list[AuditLog]:
    return list(AuditLog.objects.filter(action=action, actor_username=username).order_by("id"))


# --- hashing and password rules --------------------------------------------------------------


def test_argon2_is_the_password_hasher_outside_tests():
    assert base_settings.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"
    with override_settings(PASSWORD_HASHERS=base_settings.PASSWORD_HASHERS):
        user = services.user_create(actor=None, username="argon", password="Gx7#pLm2qRw")
        assert identify_hasher(user.password).algorithm == "argon2"
        assert user.password.startswith("argon2$argon2id$")
        assert check_password("Gx7#pLm2qRw", user.password)
        assert user.password_changed_at is not None


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("Ab1!xyz", "至少需要 10 个字符"),  # too short
        ("abcdefghijkl", "至少 3 类"),  # one class
        ("abcdefgh1234", "至少 3 类"),  # two classes
        ("ABCDEFGH!!!!", "至少 3 类"),  # two classes
        ("9081726354019", "只包含数字"),  # numeric (Django's, in Chinese)
    ],
)
def test_weak_passwords_are_refused_in_chinese(password, message):
    with translation.override("zh-hans"), pytest.raises(FieldError) as exc:
        services.user_create(actor=None, username="weak", password=password)
    assert exc.value.field == "password"
    assert exc.value.code == "weak_password"
    assert message in exc.value.message
    assert not User.objects.filter(username="weak").exists()


@pytest.mark.parametrize("password", ["Gx7#pLm2qR", "gx7#plm2qrzz", "GX7PLM2QRZZ#", "Gx7pLm2qRzzz"])
def test_three_of_four_classes_and_ten_characters_pass(password):
    user = services.user_create(actor=None, username="strong", password=password)
    assert user.check_password(password)


# --- the login page ---------------------------------------------------------------------------------


def test_login_and_logout_are_audited_with_ip(make_user):
    user = make_user(username="alice")
    client = Client(REMOTE_ADDR="10.20.30.40")
    response = _login(client, "alice", PASSWORD)
    assert response.status_code == 302 and response["Location"] == reverse("home")
    assert _signed_in(client)
    [row] = _audit("login.succeeded", "alice")
    assert row.ip == "10.20.30.40" and row.actor_id == user.pk

    assert client.get(reverse("logout")).status_code == 405  # logout is POST only (CSRF-protected)
    response = client.post(reverse("logout"))
    assert response.status_code == 302 and response["Location"] == reverse("login")
    assert not _signed_in(client)
    [row] = _audit("logout", "alice")
    assert row.ip == "10.20.30.40" and row.data == {"reason": "user"}
    assert verify_audit_chain().ok


def test_failed_login_is_counted_and_audited(make_user):
    make_user(username="bob")
    client = Client(REMOTE_ADDR="10.0.0.9")
    response = _login(client, "bob", "Wrong-Pass-123")
    assert response.status_code == 200
    assert "账号或密码错误" in response.content.decode()
    assert not _signed_in(client)
    assert User.objects.get(username="bob").failed_login_count == 1
    [row] = _audit("login.failed", "bob")
    assert row.ip == "10.0.0.9"


def test_unknown_account_failure_is_audited_without_actor(make_user):
    _login(Client(), "nobody-here", "Wrong-Pass-123")
    [row] = _audit("login.failed", "nobody-here")
    assert row.actor_id is None and row.data == {"username": "nobody-here"}


def test_lockout_after_max_failures_and_release_after_lock_time(make_user):
    make_user(username="carol")
    client = Client()
    with time_machine.travel(START, tick=False) as clock:
        for _ in range(settings.ZZ_LOGIN_MAX_FAILURES):
            _login(client, "carol", "Wrong-Pass-123")
        user = User.objects.get(username="carol")
        assert user.locked_until == START + dt.timedelta(minutes=settings.ZZ_LOGIN_LOCK_MINUTES)
        assert "locked_until" in _audit("login.failed", "carol")[-1].data

        # The right password is refused while locked, and the attempt is audited.
        response = _login(client, "carol", PASSWORD)
        assert response.status_code == 200 and not _signed_in(client)
        assert len(_audit("login.locked", "carol")) == 1

        clock.shift(dt.timedelta(minutes=settings.ZZ_LOGIN_LOCK_MINUTES - 1))
        _login(client, "carol", PASSWORD)
        assert not _signed_in(client)

        clock.shift(dt.timedelta(minutes=1, seconds=1))
        response = _login(client, "carol", PASSWORD)
        assert response.status_code == 302 and _signed_in(client)
    user.refresh_from_db()
    assert user.locked_until is None and user.failed_login_count == 0


def test_success_resets_the_failure_count(make_user):
    make_user(username="dave")
    client = Client()
    for _ in range(settings.ZZ_LOGIN_MAX_FAILURES - 1):
        _login(client, "dave", "Wrong-Pass-123")
    _login(client, "dave", PASSWORD)
    assert _signed_in(client)
    client.post(reverse("logout"))
    for _ in range(settings.ZZ_LOGIN_MAX_FAILURES - 1):
        _login(client, "dave", "Wrong-Pass-123")
    user = User.objects.get(username="dave")
    assert user.locked_until is None
    assert user.failed_login_count == settings.ZZ_LOGIN_MAX_FAILURES - 1


@override_settings(ZZ_LOGIN_MAX_FAILURES=3, ZZ_LOGIN_LOCK_MINUTES=5)
def test_lockout_follows_the_settings(make_user):
    make_user(username="erin")
    with time_machine.travel(START, tick=False):
        for _ in range(3):
            _login(Client(), "erin", "Wrong-Pass-123")
    assert User.objects.get(username="erin").locked_until == START + dt.timedelta(minutes=5)


def test_the_lock_applies_to_the_admin_login(make_user, tree):
    make_user(Role.SECURITY_ADMIN, tree["C"], username="sec-admin")
    client = Client(REMOTE_ADDR="192.0.2.1")
    assert client.get(ADMIN_LOGIN).status_code == 200
    with time_machine.travel(START, tick=False) as clock:
        for _ in range(settings.ZZ_LOGIN_MAX_FAILURES):
            response = _login(client, "sec-admin", "Wrong-Pass-123", ADMIN_LOGIN)
            assert response.status_code == 200
        assert User.objects.get(username="sec-admin").locked_until is not None
        assert len(_audit("login.failed", "sec-admin")) == settings.ZZ_LOGIN_MAX_FAILURES

        response = _login(client, "sec-admin", PASSWORD, ADMIN_LOGIN)
        assert response.status_code == 200 and not _signed_in(client)
        [row] = _audit("login.locked", "sec-admin")
        assert row.ip == "192.0.2.1"
        # ... and the same lock holds on the ordinary login page.
        _login(client, "sec-admin", PASSWORD)
        assert not _signed_in(client)

        clock.shift(dt.timedelta(minutes=settings.ZZ_LOGIN_LOCK_MINUTES, seconds=1))
        response = _login(client, "sec-admin", PASSWORD, ADMIN_LOGIN)
        assert response.status_code == 302 and _signed_in(client)


def test_failures_on_the_web_login_lock_the_admin_login(make_user, tree):
    make_user(Role.SYSTEM_ADMIN, tree["C"], username="sys-admin")
    client = Client()
    for _ in range(settings.ZZ_LOGIN_MAX_FAILURES):
        _login(client, "sys-admin", "Wrong-Pass-123")
    _login(client, "sys-admin", PASSWORD, ADMIN_LOGIN)
    assert not _signed_in(client)
    assert _audit("login.locked", "sys-admin")


def test_inactive_user_cannot_sign_in(make_user):
    user = make_user(username="frank")
    User.objects.filter(pk=user.pk).update(is_active=False)
    client = Client()
    _login(client, "frank", PASSWORD)
    assert not _signed_in(client)
    assert _audit("login.failed", "frank")


# --- session lifetime ----------------------------------------------------------------------------


def test_session_lifetime_settings():
    assert settings.SESSION_COOKIE_AGE == 8 * 3600
    assert settings.ZZ_SESSION_IDLE_MINUTES == 30
    assert settings.SESSION_COOKIE_HTTPONLY
    assert "zongzhi.orgs.middleware.SessionIdleTimeoutMiddleware" in settings.MIDDLEWARE


def test_idle_session_is_ended_and_audited(make_user):
    make_user(username="gina")
    client = Client(REMOTE_ADDR="10.9.8.7")
    home = reverse("home")
    with time_machine.travel(START, tick=False) as clock:
        _login(client, "gina", PASSWORD)
        assert client.get(home).status_code == 200
        # Activity keeps the session alive ...
        for _ in range(3):
            clock.shift(dt.timedelta(minutes=settings.ZZ_SESSION_IDLE_MINUTES - 5))
            assert client.get(home).status_code == 200
        # ... idleness ends it.
        clock.shift(dt.timedelta(minutes=settings.ZZ_SESSION_IDLE_MINUTES, seconds=1))
        response = client.get(home)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    assert not _signed_in(client)
    [row] = _audit("logout", "gina")
    assert row.data == {"reason": "idle"} and row.ip == "10.9.8.7"


@override_settings(SESSION_COOKIE_AGE=3600, ZZ_SESSION_IDLE_MINUTES=30)
def test_session_has_an_absolute_lifetime_despite_activity(make_user):
    make_user(username="hank")
    client = Client()
    home = reverse("home")
    with time_machine.travel(START, tick=False) as clock:
        _login(client, "hank", PASSWORD)
        assert client.get(home).status_code == 200
        for _ in range(3):  # active every 20 minutes: never idle
            clock.shift(dt.timedelta(minutes=20))
            assert client.get(home).status_code == 200
        clock.shift(dt.timedelta(minutes=20, seconds=1))  # 80 minutes after sign-in
        response = client.get(home)
    assert response.status_code == 302
    assert not _signed_in(client)
    [row] = _audit("logout", "hank")
    assert row.data == {"reason": "expired"}


def test_a_new_sign_in_starts_a_new_lifetime(make_user):
    make_user(username="iris")
    client = Client()
    home = reverse("home")
    with time_machine.travel(START, tick=False) as clock:
        _login(client, "iris", PASSWORD)
        client.get(home)
        clock.shift(dt.timedelta(hours=2))
        assert client.get(home).status_code == 302  # idle
        _login(client, "iris", PASSWORD)
        assert client.get(home).status_code == 200
        clock.shift(dt.timedelta(minutes=10))
        assert client.get(home).status_code == 200
    assert timezone.now() > START
