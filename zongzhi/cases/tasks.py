"""Background work of the loop: the periodic deadline sweep and the missed-visit sweep (huey)."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

from zongzhi.notifications.services import Message, notify_many
from zongzhi.people.services import VisitNotice, visit_sweep

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


def deliver_visit_notices(notices: list[VisitNotice]) -> int:
    """The inbox delivery of the missed-visit sweep (``people`` does not know ``notifications``)."""
    return notify_many(
        Message(recipients=n.recipients, kind=n.kind, title=n.title, body=n.body, link=n.link)
        for n in notices
    )


@db_periodic_task(crontab(minute="*/10"))
@lock_task("zz-visit-sweep")
def periodic_visit_sweep() -> dict[str, int]:
    """Every ten minutes: advance the visit clocks of special-population members whose due time
    has passed, record each missed visit once (``VisitMiss``, read by the overdue lists and the
    assessment) and notify the supervisor and the grid leader once per miss."""
    r = visit_sweep(deliver=deliver_visit_notices)
    return {"checked": r.checked, "advanced": r.advanced, "misses": r.misses, "notices": r.notices}
