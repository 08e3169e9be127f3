"""The append-only audit log: writing rows (inside the caller's transaction) and verifying the chain."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from .crypto import sm3_hex
from .models import AuditChainHead, AuditLog


def _row_digest(prev_hash: str, fields: dict[str, Any]) -> str:
    payload = json.dumps(fields, sort_keys=True, ensure_ascii=False, default=str, separators=(",", ":"))
    return sm3_hex(f"{prev_hash}|{payload}".encode())


def _fields(row: AuditLog) -> dict[str, Any]:
    return {
        "at": row.at.isoformat(),
        "actor": row.actor_id,
        "actor_username": row.actor_username,
        "action": row.action,
        "object_type": row.object_type,
        "object_id": row.object_id,
        "region_path": row.region_path,
        "ip": row.ip,
        "data": row.data,
    }


def audit_record(
    *,
    actor: Any,
    action: str,
    obj: Any = None,
    object_type: str = "",
    object_id: str = "",
    region_path: str = "",
    ip: str | None = None,
    data: dict[str, Any] | None = None,
) -> AuditLog:
    """Append one audit row. Runs inside the caller's transaction (or its own), so the row is
    committed together with the change it describes or not at all."""
    actor_obj = actor if getattr(actor, "pk", None) else None
    username = getattr(actor, "username", "") or (str(actor) if isinstance(actor, str) else "")
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
        region_path = region_path or getattr(obj, "region_path", "") or getattr(obj, "path", "")
    with transaction.atomic():
        head, _ = AuditChainHead.objects.select_for_update().get_or_create(id=1)
        row = AuditLog(
            at=timezone.now(),
            actor=actor_obj,
            actor_username=username[:150],
            action=action,
            object_type=object_type,
            object_id=object_id[:64],
            object_repr=(str(obj)[:200] if obj is not None else ""),
            region_path=region_path,
            ip=ip or None,
            data=data or {},
            prev_hash=head.last_hash,
        )
        row.hash = _row_digest(head.last_hash, _fields(row))
        row.save()
        AuditChainHead.objects.filter(id=1).update(last_hash=row.hash)
    return row


@dataclass(frozen=True)
class ChainReport:
    checked: int
    first_bad_id: int | None

    @property
    def ok(self) -> bool:
        return self.first_bad_id is None


def verify_audit_chain() -> ChainReport:
    """Recompute every digest in order; report the first row that does not match."""
    prev = "0" * 64
    checked = 0
    for row in AuditLog.objects.order_by("id").iterator(chunk_size=2000):
        # JSON round-trips through the database; normalise the timestamp the same way.
        if row.prev_hash != prev or _row_digest(prev, _fields(row)) != row.hash:
            return ChainReport(checked=checked, first_bad_id=row.id)
        prev = row.hash
        checked += 1
    return ChainReport(checked=checked, first_bad_id=None)


def client_ip(request: Any) -> str | None:
    """The client's address as seen by the application (REMOTE_ADDR; a trusted proxy sets it)."""
    return request.META.get("REMOTE_ADDR") if request is not None else None
