"""Test settings: the database comes from DATABASE_URL (SQLite by default), tasks run inline."""

from .base import *  # noqa: F403

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *PASSWORD_HASHERS]  # noqa: F405
HUEY["immediate"] = True  # noqa: F405
HUEY.pop("filename", None)  # noqa: F405
HUEY["huey_class"] = "huey.MemoryHuey"  # noqa: F405
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
MEDIA_ROOT = BASE_DIR / "var" / "test-media"  # noqa: F405
