"""Background work of the early warnings: the periodic scan (huey)."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

from .alerts import alerts_scan


@db_periodic_task(crontab(minute="*/5"))
@lock_task("zz-alerts-scan")
def periodic_alerts_scan() -> dict[str, int]:
    """Every five minutes; a lock keeps two consumers from scanning at once (the scan is idempotent
    anyway: a pattern already raised is not raised again, and the fingerprint is unique)."""
    report = alerts_scan()
    return {
        "rules": report.rules,
        "candidates": report.candidates,
        "raised": report.raised,
        "updated": report.updated,
    }
