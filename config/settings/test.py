"""Test settings: the database comes from DATABASE_URL (SQLite by default), tasks run inline."""

from .base import *  # noqa: F403

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *PASSWORD_HASHERS]  # noqa: F405
HUEY["immediate"] = True  # noqa: F405
HUEY.pop("filename", None)  # noqa: F405
HUEY["huey_class"] = "huey.MemoryHuey"  # noqa: F405
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
MEDIA_ROOT = BASE_DIR / "var" / "test-media"  # noqa: F405

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    # A file per test worker, not Django's shared in-memory database: the browser tests' live
    # server answers in threads, and with an in-memory database every thread shares the test's one
    # connection, which can deadlock inside SQLite when two threads use it at once (a request
    # thread stuck for good while the big screen polls). With a file each thread has its own
    # connection and SQLite's locking takes turns. Nothing is fsynced: the file is thrown away.
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / "var" / "test-db.sqlite3")}  # noqa: F405
    DATABASES["default"]["OPTIONS"]["init_command"] = (  # noqa: F405
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF; PRAGMA foreign_keys=ON; "
        "PRAGMA busy_timeout=20000; PRAGMA cache_size=-64000; PRAGMA temp_store=MEMORY;"
    )
