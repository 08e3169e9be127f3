"""Settings: strict parsing of the environment, and a clean `check --deploy` for production."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_hex_key, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent


# --- config/env.py ----------------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["ture", "2", "y", "enabled", "-"])
def test_malformed_boolean_names_the_variable(monkeypatch, raw):
    monkeypatch.setenv("ZZ_TEST_FLAG", raw)
    with pytest.raises(ImproperlyConfigured, match="ZZ_TEST_FLAG"):
        env_bool("ZZ_TEST_FLAG", False)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1", True),
        ("TRUE", True),
        (" yes ", True),
        ("on", True),
        ("0", False),
        ("False", False),
        ("off", False),
    ],
)
def test_boolean_spellings(monkeypatch, raw, expected):
    monkeypatch.setenv("ZZ_TEST_FLAG", raw)
    assert env_bool("ZZ_TEST_FLAG", not expected) is expected


def test_unset_or_empty_boolean_takes_the_default(monkeypatch):
    monkeypatch.delenv("ZZ_TEST_FLAG", raising=False)
    assert env_bool("ZZ_TEST_FLAG", True) is True
    monkeypatch.setenv("ZZ_TEST_FLAG", "")
    assert env_bool("ZZ_TEST_FLAG", False) is False


@pytest.mark.parametrize("raw", ["ten", "1.5", "5m", "0x10"])
def test_malformed_integer_names_the_variable(monkeypatch, raw):
    monkeypatch.setenv("ZZ_TEST_NUMBER", raw)
    with pytest.raises(ImproperlyConfigured, match="ZZ_TEST_NUMBER"):
        env_int("ZZ_TEST_NUMBER", 3)


def test_integer_bounds_name_the_variable(monkeypatch):
    monkeypatch.setenv("ZZ_TEST_NUMBER", "0")
    with pytest.raises(ImproperlyConfigured, match="ZZ_TEST_NUMBER"):
        env_int("ZZ_TEST_NUMBER", 3, minimum=1)
    monkeypatch.setenv("ZZ_TEST_NUMBER", "100")
    with pytest.raises(ImproperlyConfigured, match="ZZ_TEST_NUMBER"):
        env_int("ZZ_TEST_NUMBER", 3, maximum=10)
    monkeypatch.setenv("ZZ_TEST_NUMBER", " 7 ")
    assert env_int("ZZ_TEST_NUMBER", 3, minimum=1, maximum=10) == 7
    monkeypatch.delenv("ZZ_TEST_NUMBER")
    assert env_int("ZZ_TEST_NUMBER", 3) == 3


def test_required_string_names_the_variable(monkeypatch):
    monkeypatch.delenv("ZZ_TEST_TEXT", raising=False)
    with pytest.raises(ImproperlyConfigured, match="ZZ_TEST_TEXT"):
        env_str("ZZ_TEST_TEXT", required=True)
    assert env_str("ZZ_TEST_TEXT", "fallback") == "fallback"


def test_list(monkeypatch):
    monkeypatch.setenv("ZZ_TEST_LIST", " a.example , b.example,, ")
    assert env_list("ZZ_TEST_LIST", []) == ["a.example", "b.example"]
    monkeypatch.setenv("ZZ_TEST_LIST", " ")
    assert env_list("ZZ_TEST_LIST", ["x"]) == ["x"]


@pytest.mark.parametrize("raw", ["zz" * 16, "00112233", "00" * 17])
def test_malformed_hex_key_names_the_variable(monkeypatch, raw):
    monkeypatch.setenv("ZZ_TEST_KEY", raw)
    with pytest.raises(ImproperlyConfigured, match="ZZ_TEST_KEY"):
        env_hex_key("ZZ_TEST_KEY", None)


def test_missing_hex_key_without_default_names_the_variable(monkeypatch):
    monkeypatch.delenv("ZZ_TEST_KEY", raising=False)
    with pytest.raises(ImproperlyConfigured, match="ZZ_TEST_KEY"):
        env_hex_key("ZZ_TEST_KEY", None)
    assert env_hex_key("ZZ_TEST_KEY", "00" * 16) == bytes(16)


# --- the settings modules, in a fresh interpreter ------------------------------------------------


def _production_env(**overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "ZZ_", "DATABASE_URL"))}
    env.update(
        DJANGO_SECRET_KEY=secrets.token_urlsafe(64),
        DJANGO_ALLOWED_HOSTS="zongzhi.example.gov.cn",
        ZZ_FIELD_KEY=secrets.token_hex(16),
        ZZ_BLIND_INDEX_KEY=secrets.token_hex(16),
    )
    env.update(overrides)
    return env


def _manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_for_production():
    result = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        "--settings=config.settings.production",
        env=_production_env(),
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "WARNINGS" not in output
    assert "ERRORS" not in output


@pytest.mark.parametrize(
    "missing", ["DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS", "ZZ_FIELD_KEY", "ZZ_BLIND_INDEX_KEY"]
)
def test_production_refuses_to_start_without_its_secrets(missing):
    """No insecure defaults in production: the published development keys are never used."""
    env = _production_env()
    del env[missing]
    result = _manage("check", "--settings=config.settings.production", env=env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and missing in result.stderr


def test_malformed_setting_stops_start_up_naming_the_variable():
    env = _production_env(ZZ_LOGIN_MAX_FAILURES="five")
    result = _manage("check", "--settings=config.settings.production", env=env)
    assert result.returncode != 0
    assert "ZZ_LOGIN_MAX_FAILURES" in result.stderr
