"""Background work of insight (huey): keep the facts and rollups current.

huey's periodic tasks run at most once a minute; to show new activity within 60 s the minute task
refreshes at once and schedules one more refresh 30 s later, so the figures are refreshed every
30 s (a case event shows after at most 30 s plus the refresh time)."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task, lock_task

from .rollups import analytics_refresh

HALF_MINUTE = 30


@db_task()
@lock_task("zz-analytics-refresh")
def refresh_analytics() -> dict[str, int]:
    """One incremental refresh (a lock keeps two consumers from refreshing at once)."""
    return analytics_refresh()


@db_periodic_task(crontab(minute="*"))
def periodic_analytics_refresh() -> None:
    refresh_analytics()
    refresh_analytics.schedule(delay=HALF_MINUTE)


# the early-warning scan lives in its own module; importing it here lets huey's autodiscovery find it
from . import alert_tasks  # noqa: E402, F401
