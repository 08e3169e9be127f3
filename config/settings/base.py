"""Settings shared by every environment. Values come from the environment (see .env.example)."""

from __future__ import annotations

from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

from config.env import env_bool, env_hex_key, env_int, env_key_ring, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent.parent
SHARED_DATA_DIR = Path(env_str("ZZ_SHARED_DATA_DIR", str(BASE_DIR.parent / "shared" / "data")))

SECRET_KEY = env_str("DJANGO_SECRET_KEY", "dev-insecure-secret-key-change-me-0123456789abcdef")
DEBUG = env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "huey.contrib.djhuey",
    "ninja",
    "zongzhi.core",
    "zongzhi.orgs",
    "zongzhi.geo",
    "zongzhi.people",
    "zongzhi.notifications",
    "zongzhi.cases",
    "zongzhi.disputes",
    "zongzhi.analytics",
    "zongzhi.assessment",
    "zongzhi.api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "zongzhi.core.middleware.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "zongzhi.orgs.middleware.SessionIdleTimeoutMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "zongzhi" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "zongzhi.cases.context_processors.navigation",
            ],
        },
    }
]

# --- database -------------------------------------------------------------------------------
# Embedded default: SQLite in WAL mode. Production: DATABASE_URL=postgres://...
DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'var' / 'zongzhi.sqlite3'}")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60))}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": (
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; "
                "PRAGMA busy_timeout=20000; PRAGMA cache_size=-64000; PRAGMA temp_store=MEMORY;"
            ),
        }
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- cache and queue -----------------------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL", "")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
    HUEY = {
        "huey_class": "huey.RedisHuey",
        "name": "zongzhi",
        "url": REDIS_URL,
        "immediate": env_bool("HUEY_IMMEDIATE", False),
        "consumer": {"workers": env_int("HUEY_WORKERS", 4, minimum=1), "worker_type": "thread"},
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    HUEY = {
        "huey_class": "huey.SqliteHuey",
        "name": "zongzhi",
        "filename": str(BASE_DIR / "var" / "huey.sqlite3"),
        "immediate": env_bool("HUEY_IMMEDIATE", False),
        "consumer": {"workers": env_int("HUEY_WORKERS", 2, minimum=1), "worker_type": "thread"},
    }

# --- authentication --------------------------------------------------------------------------------
AUTH_USER_MODEL = "orgs.User"
AUTHENTICATION_BACKENDS = ["zongzhi.orgs.authn.LockoutModelBackend"]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "zongzhi.orgs.passwords.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "zongzhi.orgs.passwords.CharacterClassValidator", "OPTIONS": {"min_classes": 3}},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
# Lockout (等保: 登录失败处理): N failures within the window lock the account for LOCK minutes.
ZZ_LOGIN_MAX_FAILURES = env_int("ZZ_LOGIN_MAX_FAILURES", 5, minimum=1)
ZZ_LOGIN_LOCK_MINUTES = env_int("ZZ_LOGIN_LOCK_MINUTES", 15, minimum=1)
# Sessions: absolute lifetime and idle timeout.
SESSION_COOKIE_AGE = env_int("ZZ_SESSION_HOURS", 8, minimum=1) * 3600
ZZ_SESSION_IDLE_MINUTES = env_int("ZZ_SESSION_IDLE_MINUTES", 30, minimum=1)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"

# --- cryptography (国密) ---------------------------------------------------------------------------
# SM4 key for sensitive fields and HMAC-SM3 key for blind indexes, hex encoded, 16 bytes each.
ZZ_FIELD_KEY_ID = env_str("ZZ_FIELD_KEY_ID", "k1")
ZZ_FIELD_KEYS = {
    **env_key_ring("ZZ_FIELD_OLD_KEYS"),  # retired keys, for reading until `rotate_people_keys` ran
    ZZ_FIELD_KEY_ID: env_hex_key("ZZ_FIELD_KEY", "00112233445566778899aabbccddeeff"),
}
ZZ_BLIND_INDEX_KEY = env_hex_key("ZZ_BLIND_INDEX_KEY", "ffeeddccbbaa99887766554433221100")

# --- i18n and time ------------------------------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("简体中文")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "zongzhi" / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

# --- static and media -------------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "var" / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "zongzhi" / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env_str("ZZ_MEDIA_ROOT", str(BASE_DIR / "var" / "media")))
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# --- security headers -------------------------------------------------------------------------------------
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
ZZ_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; "
    "base-uri 'self'; object-src 'none'"
)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "WARNING")},
}

# The demo city loaded by `manage.py seed_demo` (statistical code of a city, 4 digits).
ZZ_DEMO_CITY_CODE = env_str("ZZ_DEMO_CITY_CODE", "3301")

# --- the closed loop ---------------------------------------------------------------------------------------
ZZ_REMIND_RATIO = float(env_int("ZZ_REMIND_PERCENT", 80, minimum=1, maximum=99)) / 100
ZZ_LISTED_MARGIN_HOURS = env_int("ZZ_LISTED_MARGIN_HOURS", 72, minimum=1)
ZZ_RATING_DAYS = env_int("ZZ_RATING_DAYS", 7, minimum=1)
ZZ_MAX_AUTO_REOPENS = env_int("ZZ_MAX_AUTO_REOPENS", 2, minimum=0)
ZZ_SUPERVISION_REPLY_HOURS = env_int("ZZ_SUPERVISION_REPLY_HOURS", 24, minimum=1)
ZZ_ATTACHMENT_MAX_MB = env_int("ZZ_ATTACHMENT_MAX_MB", 20, minimum=1)
ZZ_SWEEP_MINUTES = env_int("ZZ_SWEEP_MINUTES", 1, minimum=1)
ZZ_EXPORT_SYNC_LIMIT = env_int("ZZ_EXPORT_SYNC_LIMIT", 5000, minimum=0)

# --- maps and grid geometry (zongzhi.geo) -------------------------------------------------------------------
# Tile source: a URL template ({z}/{x}/{y}, optional {s}), the coordinate system of its tiles (wgs84 for
# 天地图/OSM, gcj02 for Amap/Tencent, bd09 for Baidu) and its attribution. Default none: the map shows
# grids and points on a plain background (offline intranets).
ZZ_MAP_TILE_URL = env_str("ZZ_MAP_TILE_URL", "")
ZZ_MAP_TILE_CRS = env_str("ZZ_MAP_TILE_CRS", "wgs84").lower()
if ZZ_MAP_TILE_CRS not in ("wgs84", "gcj02", "bd09"):
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured("ZZ_MAP_TILE_CRS must be wgs84, gcj02 or bd09")
ZZ_MAP_ATTRIBUTION = env_str("ZZ_MAP_ATTRIBUTION", "")
ZZ_MAP_CASES_MAX = env_int("ZZ_MAP_CASES_MAX", 5000, minimum=1)
# Population per grid: rural grids (村) at most, urban grids (社区) between min and max.
ZZ_GRID_POP_RURAL_MAX = env_int("ZZ_GRID_POP_RURAL_MAX", 500, minimum=1)
ZZ_GRID_POP_URBAN_MIN = env_int("ZZ_GRID_POP_URBAN_MIN", 1000, minimum=0)
ZZ_GRID_POP_URBAN_MAX = env_int("ZZ_GRID_POP_URBAN_MAX", 2000, minimum=1)
# Coverage check: overlaps (and parts outside the village) and gaps smaller than these are ignored.
ZZ_COVERAGE_MIN_OVERLAP_M2 = env_int("ZZ_COVERAGE_MIN_OVERLAP_M2", 1, minimum=0)
ZZ_COVERAGE_MIN_GAP_M2 = env_int("ZZ_COVERAGE_MIN_GAP_M2", 10, minimum=0)
if ZZ_MAP_TILE_URL:
    # Let the browser load the configured tiles (and nothing else from that host).
    from urllib.parse import urlsplit

    _tiles = urlsplit(ZZ_MAP_TILE_URL.replace("{s}", "tiles"))
    _tile_host = ZZ_MAP_TILE_URL.split("//", 1)[-1].split("/", 1)[0].replace("{s}", "*")
    if _tiles.scheme in ("http", "https") and _tiles.netloc:
        ZZ_CSP = ZZ_CSP.replace(
            "img-src 'self' data: blob:", f"img-src 'self' data: blob: {_tiles.scheme}://{_tile_host}"
        )
