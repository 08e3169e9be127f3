"""One facade: ``notify`` → the in-app inbox (and, when configured, webhook/SMS adapters)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from zongzhi.core.bulk import RowInserter

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
    now = timezone.now()
    rows = [
        (uid, str(m.kind), str(m.title)[:200], str(m.body), str(m.link)[:200], now, None)
        for m in messages
        for uid in sorted(set(m.recipients))
    ]
    inserter = RowInserter(
        Notification, ("user_id", "kind", "title", "body", "link", "created_at", "read_at")
    )
    for start in range(0, len(rows), batch_size):
        inserter.insert(rows[start : start + batch_size])
    return len(rows)
