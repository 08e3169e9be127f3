"""The CPU-heavy step of a bulk import — validating and sealing rows with ``people.records.clean_*``
(SM4-GCM, HMAC-SM3, GB 11643) — run in worker processes.

Kept apart from ``people.imports`` so a fresh worker process (``forkserver``) can unpickle the
initializer before Django is set up: nothing here imports a model at module level.
"""

from __future__ import annotations

import datetime as dt
from typing import Any


def init() -> None:
    """Worker start-up: set Django up (settings come from the environment, as in the parent)."""
    import django

    django.setup()


def clean_rows(entity: str, today: dt.date, inputs: list[Any]) -> list[Any]:
    """``clean_*`` of every input (``None`` stays ``None``): the column values, or ``(field,
    message)`` when the row is bad. The values of the whole list are sealed at once at the end
    (``sealing.BatchSealer``)."""
    from zongzhi.core.errors import FieldError

    from .imports import entity_spec
    from .sealing import BatchSealer

    spec = entity_spec(entity)
    clean = spec.clean
    resident = entity == "resident"
    sealer = BatchSealer()
    out: list[Any] = []
    for data in inputs:
        if data is None:
            out.append(None)
            continue
        try:
            out.append(clean(data, today=today, sealer=sealer) if resident else clean(data, sealer=sealer))
        except FieldError as exc:
            out.append((exc.field, str(exc.message)))
    sealer.seal_pending()
    return [sealer.resolve(r) if isinstance(r, dict) else r for r in out]
