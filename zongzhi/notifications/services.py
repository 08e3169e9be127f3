"""One facade: ``notify`` → the in-app inbox (and, when configured, webhook/SMS adapters)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .models import Notification


@dataclass(frozen=True)
class Message:
    """One message to a set of users (ids)."""

    recipients: tuple[int, ...]
    kind: str
    title: str
    body: str = ""
    link: str = ""


def notify(*, recipients: Iterable[Any], kind: str, title: str, body: str = "", link: str = "") -> int:
    """Deliver one message to each recipient (users or user ids). Returns how many were written."""
    user_ids = tuple(sorted({getattr(r, "pk", r) for r in recipients}))
    return notify_many([Message(recipients=user_ids, kind=kind, title=title, body=body, link=link)])


def notify_many(messages: Iterable[Message], *, batch_size: int = 2000) -> int:
    """Deliver many messages at once (one insert per ``batch_size`` rows; a user named twice in one
    message gets it once). Returns how many inbox rows were written."""
    rows = [
        Notification(user_id=uid, kind=m.kind, title=m.title[:200], body=m.body, link=m.link[:200])
        for m in messages
        for uid in sorted(set(m.recipients))
    ]
    Notification.objects.bulk_create(rows, batch_size=batch_size)
    return len(rows)
