"""Local development and the README's run command: SQLite, demo data, DEBUG on."""

from config.env import env_bool

from .base import *  # noqa: F403

DEBUG = env_bool("DJANGO_DEBUG", True)
HUEY["immediate"] = env_bool("HUEY_IMMEDIATE", True)  # noqa: F405
