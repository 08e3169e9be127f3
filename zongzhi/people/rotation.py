"""Key rotation for sealed base data: re-encrypt every row whose ``key_id`` is not the current key
(``ZZ_FIELD_KEY_ID``), in batches, each batch in one transaction with its rows locked. Idempotent:
a second run finds nothing to do. The retired keys must still be configured
(``ZZ_FIELD_OLD_KEYS``) until the run finished. Blind indexes do not change (their key is separate)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.db.models import Model

from zongzhi.core.audit import audit_record
from zongzhi.core.crypto import current_key_id, key_id_of

from .models import House, Organization, Place, Resident, SpecialGroupMembership, Visit
from .sealing import DETAILS, FINDINGS, ID_NUMBER, NAME, PHONE, RISK_ASSESSMENT, reseal

SEALED_FIELDS: dict[type[Model], tuple[tuple[str, str], ...]] = {
    Resident: (("id_number_enc", ID_NUMBER), ("name_enc", NAME), ("phone_enc", PHONE)),
    House: (("owner_phone_enc", PHONE),),
    Place: (("contact_phone_enc", PHONE),),
    Organization: (("contact_phone_enc", PHONE),),
    SpecialGroupMembership: (("details_enc", DETAILS), ("risk_assessment_enc", RISK_ASSESSMENT)),
    Visit: (("findings_enc", FINDINGS),),
}


def pending(model: type[Model]) -> int:
    return model._default_manager.exclude(key_id=current_key_id()).count()


def rotate_keys(
    *, actor: Any = None, batch_size: int = 1000, progress: Callable[[str, int], None] | None = None
) -> dict[str, int]:
    """Re-seal every row not under the current key. Returns rows re-sealed per model label;
    writes one ``people.keys.rotate`` audit row."""
    kid = current_key_id()
    counts: dict[str, int] = {}
    for model, fields in SEALED_FIELDS.items():
        label = model._meta.label_lower
        counts[label] = 0
        names = [name for name, _purpose in fields]
        while True:
            with transaction.atomic():
                rows = list(
                    model._default_manager.select_for_update()
                    .exclude(key_id=kid)
                    .order_by("pk")
                    .only("pk", "key_id", *names)[:batch_size]
                )
                if not rows:
                    break
                for row in rows:
                    for name, purpose in fields:
                        token = getattr(row, name)
                        if token and key_id_of(token) != kid:
                            setattr(row, name, reseal(token, purpose))
                    row.key_id = kid  # type: ignore[attr-defined]
                model._default_manager.bulk_update(rows, [*names, "key_id"])
            counts[label] += len(rows)
            if progress is not None:
                progress(label, counts[label])
    audit_record(actor=actor or "system", action="people.keys.rotate", data={"key_id": kid, "rows": counts})
    return counts
