"""Background work of disputes: the performance follow-up sweep (回访提醒), periodic (huey)."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

from .services import dispute_followup_sweep


@db_periodic_task(crontab(minute="*/15"))
@lock_task("zz-dispute-followup-sweep")
def periodic_followup_sweep() -> dict[str, int]:
    """Every quarter of an hour: a follow-up notice for each agreement whose performance deadline has
    passed. A lock keeps two consumers from sweeping at once; the sweep is idempotent anyway (a
    compare-and-set per agreement)."""
    return {"notices": dispute_followup_sweep()}
