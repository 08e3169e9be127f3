"""Strict parsing of settings from the environment.

Every getter raises ``ImproperlyConfigured`` naming the variable and the reason when a value is
present but malformed, so a typo in a deployment fails at start-up instead of silently falling back.
"""

from __future__ import annotations

import os

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def env_str(name: str, default: str | None = None, *, required: bool = False) -> str:
    value = os.environ.get(name)
    if value is None or value == "":
        if required:
            raise ImproperlyConfigured(f"环境变量 {name} 必须设置 (environment variable {name} is required)")
        return default if default is not None else ""
    return value


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    lowered = raw.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r}: expected one of true/false/1/0/yes/no/on/off")


def env_int(name: str, default: int, *, minimum: int | None = None, maximum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name}={raw!r}: expected an integer") from exc
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name}={value}: must be >= {minimum}")
    if maximum is not None and value > maximum:
        raise ImproperlyConfigured(f"{name}={value}: must be <= {maximum}")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return list(default)
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_hex_key(name: str, default: str | None, *, length: int = 16) -> bytes:
    """A symmetric key given as hex (``length`` bytes)."""
    raw = os.environ.get(name) or default
    if raw is None:
        raise ImproperlyConfigured(f"环境变量 {name} 必须设置 (environment variable {name} is required)")
    try:
        key = bytes.fromhex(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name}: expected {length * 2} hex characters") from exc
    if len(key) != length:
        raise ImproperlyConfigured(f"{name}: expected {length * 2} hex characters, got {len(raw)}")
    return key


def env_key_ring(name: str, *, length: int = 16) -> dict[str, bytes]:
    """Retired keys kept for decryption during a rotation: ``id:hex,id:hex`` (may be empty)."""
    raw = os.environ.get(name, "").strip()
    ring: dict[str, bytes] = {}
    for item in filter(None, (part.strip() for part in raw.split(","))):
        kid, sep, hexkey = item.partition(":")
        if not sep or not kid.strip():
            raise ImproperlyConfigured(f"{name}: expected id:hex pairs separated by commas")
        try:
            key = bytes.fromhex(hexkey.strip())
        except ValueError as exc:
            raise ImproperlyConfigured(f"{name}: key {kid!r} is not hex") from exc
        if len(key) != length:
            raise ImproperlyConfigured(f"{name}: key {kid!r} must be {length * 2} hex characters")
        ring[kid.strip()] = key
    return ring
