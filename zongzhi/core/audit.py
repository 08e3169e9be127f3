"""The append-only audit log: writing rows (inside the caller's transaction) and verifying the chain."""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from .crypto import sm3_hex
from .models import AuditChainHead, AuditLog

GENESIS_HASH = "0" * 64


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
        "object_repr": row.object_repr,
        "region_path": row.region_path,
        "ip": row.ip,
        "data": row.data,
    }


def _normalise_ip(ip: str | None) -> str | None:
    """The address as the database gives it back (so the digest survives the round trip); a
    value that is not an IP address is dropped rather than failing the audited action."""
    if not ip:
        return None
    try:
        addr = ipaddress.ip_address(ip.strip())
    except ValueError:
        return None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return str(addr.ipv4_mapped)
    return str(addr)


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
    committed together with the change it describes or not at all.

    The chain head row is locked for the append, so rows are chained in ``id`` order even under
    concurrent writers; each row's ``hash`` is SM3 over the previous hash and the row's fields."""
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
            ip=_normalise_ip(ip),
            # Stored exactly as hashed: what JSON cannot carry (dates, decimals) becomes text.
            data=json.loads(json.dumps(data or {}, ensure_ascii=False, default=str)),
            prev_hash=head.last_hash,
        )
        row.hash = _row_digest(head.last_hash, _fields(row))
        row.save()
        AuditChainHead.objects.filter(id=1).update(last_hash=row.hash)
    return row


@dataclass(frozen=True)
class ChainReport:
    """The outcome of ``verify_audit_chain``: rows checked before the first problem, the id of the
    first bad row (None when the rows are sound) and a reason when anything is wrong."""

    checked: int
    first_bad_id: int | None
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.first_bad_id is None and not self.reason


def verify_audit_chain() -> ChainReport:
    """Recompute every digest in ``id`` order; report the first row that does not match.

    A row whose fields were edited fails its own digest; a removed row breaks the next row's
    ``prev_hash``; rows removed from the end are found by comparing with the chain head."""
    prev = GENESIS_HASH
    checked = 0
    for row in AuditLog.objects.order_by("id").iterator(chunk_size=2000):
        if row.prev_hash != prev:
            return ChainReport(checked, row.id, "prev_hash does not match the previous row (row missing?)")
        if _row_digest(prev, _fields(row)) != row.hash:
            return ChainReport(checked, row.id, "digest mismatch (row modified)")
        prev = row.hash
        checked += 1
    head = AuditChainHead.objects.filter(id=1).values_list("last_hash", flat=True).first()
    if (head or GENESIS_HASH) != prev:
        return ChainReport(checked, None, "chain head does not match the last row (rows removed at the end?)")
    return ChainReport(checked=checked, first_bad_id=None)


def client_ip(request: Any) -> str | None:
    """The client's address as seen by the application (REMOTE_ADDR; a trusted proxy sets it)."""
    return request.META.get("REMOTE_ADDR") if request is not None else None
