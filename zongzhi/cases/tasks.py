"""Background work of the loop: the periodic deadline sweep (huey)."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

from .services import sla_sweep


@db_periodic_task(crontab(minute="*"))
@lock_task("zz-sla-sweep")
def periodic_sla_sweep() -> dict[str, int]:
    """Every minute; a lock keeps two consumers from sweeping at once (the sweep is idempotent
    anyway: compare-and-set updates and one notice per case, stage and level)."""
    r = sla_sweep()
    return {
        "examined": r.examined,
        "reminders": r.reminders,
        "supervisions": r.supervisions,
        "listed": r.listed,
    }
