"""One facade: ``notify`` → the in-app inbox (and, when configured, webhook/SMS adapters)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .models import Notification


def notify(*, recipients: Iterable[Any], kind: str, title: str, body: str = "", link: str = "") -> int:
    """Deliver one message to each recipient (users or user ids). Returns how many were written."""
    user_ids = sorted({getattr(r, "pk", r) for r in recipients})
    Notification.objects.bulk_create(
        [
            Notification(user_id=uid, kind=kind, title=title[:200], body=body, link=link[:200])
            for uid in user_ids
        ]
    )
    return len(user_ids)
