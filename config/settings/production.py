"""Production: PostgreSQL and Redis from the environment, TLS-only cookies, HSTS.

Everything that would be insecure with a default must be given explicitly: the secret key, the
host names and the two 国密 keys (the defaults in ``base`` are published in the repository).
"""

from config.env import env_bool, env_hex_key, env_int, env_key_ring, env_list, env_str

from .base import *  # noqa: F403

DEBUG = False
SECRET_KEY = env_str("DJANGO_SECRET_KEY", required=True)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", [])
if not ALLOWED_HOSTS:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(
        "环境变量 DJANGO_ALLOWED_HOSTS 必须设置 (environment variable DJANGO_ALLOWED_HOSTS is required)"
    )

# Field encryption and blind-index keys: no default in production.
ZZ_FIELD_KEYS = {**env_key_ring("ZZ_FIELD_OLD_KEYS"), ZZ_FIELD_KEY_ID: env_hex_key("ZZ_FIELD_KEY", None)}  # noqa: F405
ZZ_BLIND_INDEX_KEY = env_hex_key("ZZ_BLIND_INDEX_KEY", None)

SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 31536000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", False)
if not SECURE_HSTS_PRELOAD:
    # Government intranet host names cannot be submitted to the browsers' HSTS preload list, so
    # preloading is opt-in (DJANGO_HSTS_PRELOAD=true for an internet-facing domain) and its
    # reminder is silenced rather than left as noise in `check --deploy`.
    SILENCED_SYSTEM_CHECKS = ["security.W021"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"},
}
