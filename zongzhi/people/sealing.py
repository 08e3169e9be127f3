"""Sealing personal values: SM4-GCM ciphertext + HMAC-SM3 blind index (``zongzhi.core.crypto``).

Every ciphertext is bound to its purpose (the GCM associated data), so a ciphertext copied into
another column does not decrypt. Blind-index purposes are shared with the rest of the system
(``"phone"`` is also the purpose of the case reporter's phone index, so a phone found on a case
matches a resident's).

Use:

    sealed = seal_id_number("330106199001011234")      # validated by the caller first
    Resident(id_number_enc=sealed.enc, id_number_index=sealed.index, key_id=sealed.key_id, ...)
    Resident.objects.filter(id_number_index=id_number_lookup("330106199001011234"))
    unseal(resident.id_number_enc, ID_NUMBER)          # clear value (audited callers only)
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from django.conf import settings

from zongzhi.core.crypto import blind_index, current_key_id, decrypt, encrypt

from .gcm import encrypt_many_text, hmac_sm3_many
from .validators import normalise_id_number, normalise_phone

# purposes (associated data of the ciphertext, and the blind-index space)
ID_NUMBER = "id_number"
NAME = "name"
PHONE = "phone"
DETAILS = "special_details"
RISK_ASSESSMENT = "risk_assessment"
FINDINGS = "visit_findings"


@dataclass(slots=True)  # not frozen: a frozen dataclass is slow to build, and an import builds many
class Sealed:
    enc: str  # "<key id>$<base64(nonce||ciphertext||tag)>", "" for an empty value
    index: str  # HMAC-SM3 hex, "" for an empty value or an unindexed purpose
    key_id: str


def _aad(purpose: str) -> bytes:
    return f"zongzhi.people.{purpose}".encode()


def seal(value: str, purpose: str, *, index: bool = True) -> Sealed:
    """Encrypt ``value`` under the current key and (when ``index``) compute its blind index."""
    kid = current_key_id()
    if not value:
        return Sealed("", "", kid)
    return Sealed(
        enc=encrypt(value, key_id=kid, associated=_aad(purpose)),
        index=blind_index(value, purpose=purpose) if index else "",
        key_id=kid,
    )


class Sealer(Protocol):
    def __call__(self, value: str, purpose: str, *, index: bool = True) -> Sealed: ...


def _seal_filled(kid: str, values: Sequence[str], purpose: str, index: bool) -> list[tuple[str, str]]:
    """(ciphertext, blind index) of every value (none of them empty), all at once."""
    tokens = encrypt_many_text(
        settings.ZZ_FIELD_KEYS[kid], [v.encode() for v in values], associated=_aad(purpose), prefix=f"{kid}$"
    )
    if not index:
        return [(t, "") for t in tokens]
    head = f"{purpose}\x1f"
    digests = hmac_sm3_many(
        settings.ZZ_BLIND_INDEX_KEY, [(head + v.strip().upper()).encode() for v in values]
    )
    return list(zip(tokens, digests, strict=True))


def seal_many(values: Sequence[str], purpose: str, *, index: bool = True) -> list[Sealed]:
    """``seal`` of every value, computed for the whole list at once (same output format, each
    value with its own nonce): what the bulk import uses."""
    kid = current_key_id()
    done = iter(_seal_filled(kid, [v for v in values if v], purpose, index))
    return [Sealed(*next(done), kid) if v else Sealed("", "", kid) for v in values]


_SLOT = "\x00"  # never in a ciphertext (base64) or an index (hex)

SEALED_SUFFIXES = ("_enc", "_index")  # the columns that hold ciphertexts and blind indexes

# _MARKS[n] holds the two placeholders of slot n: the ciphertext's and the index's. They are made
# once and shared by every sealer. _MARK_SLOT maps each placeholder back to its slot, and to 0 for
# the ciphertext or 1 for the index.
_MARKS: list[tuple[str, str]] = []
_MARK_SLOT: dict[str, tuple[int, int]] = {}
_MARKS_LOCK = threading.Lock()


def _grow_marks(slot: int) -> None:
    with _MARKS_LOCK:
        while len(_MARKS) <= slot:
            n = len(_MARKS)
            enc, idx = f"{_SLOT}e{n}", f"{_SLOT}i{n}"
            _MARK_SLOT[enc], _MARK_SLOT[idx] = (n, 0), (n, 1)
            _MARKS.append((enc, idx))


class BatchSealer:
    """A ``Sealer`` that defers the work. Each call returns placeholders. ``seal_pending`` then
    seals every value collected since, with one ``encrypt_many_text`` and one ``hmac_sm3_many``
    call per purpose. ``resolve`` replaces the placeholders in a column dict with the real
    ciphertexts and indexes; it looks only at the columns named ``*_enc`` and ``*_index``, which
    is how every sealed column is named."""

    def __init__(self) -> None:
        self._kid = current_key_id()
        self._values: list[str] = []
        self._slots: dict[tuple[str, bool], list[int]] = {}  # the slots of each purpose
        self._done: list[tuple[str, str]] = []  # (ciphertext, index) of each slot
        self._names: dict[int, list[str]] = {}  # the sealed columns, by the dict's column count

    def __call__(self, value: str, purpose: str, *, index: bool = True) -> Sealed:
        if not value:
            return Sealed("", "", self._kid)
        slot = len(self._values)
        self._values.append(value)
        slots = self._slots.get((purpose, index))
        if slots is None:
            slots = self._slots[(purpose, index)] = []
        slots.append(slot)
        if slot >= len(_MARKS):
            _grow_marks(slot)
        enc, idx = _MARKS[slot]
        return Sealed(enc, idx if index else "", self._kid)

    def seal_pending(self) -> None:
        values = self._values
        done: list[tuple[str, str]] = [("", "")] * len(values)
        for (purpose, index), slots in self._slots.items():
            sealed = _seal_filled(self._kid, [values[s] for s in slots], purpose, index)
            for slot, one in zip(slots, sealed, strict=True):
                done[slot] = one
        self._done = done

    def resolve(self, columns: dict[str, Any]) -> dict[str, Any]:
        """``columns`` with every placeholder replaced (call ``seal_pending`` first)."""
        names = self._names.get(len(columns))
        if names is None or any(name not in columns for name in names):
            names = self._names[len(columns)] = [n for n in columns if n.endswith(SEALED_SUFFIXES)]
        done, marks = self._done, _MARK_SLOT
        for name in names:
            value = columns[name]
            if value and value[0] == _SLOT:
                slot, which = marks[value]
                columns[name] = done[slot][which]
        return columns


def unseal(token: str, purpose: str) -> str:
    """The clear value of a ciphertext made by ``seal`` for ``purpose`` ("" for "")."""
    return decrypt(token, associated=_aad(purpose)) if token else ""


def reseal(token: str, purpose: str) -> str:
    """The same value encrypted under the current key (rotation); "" stays ""."""
    return encrypt(unseal(token, purpose), associated=_aad(purpose)) if token else ""


def seal_id_number(value: str, sealer: Sealer = seal) -> Sealed:
    return sealer(normalise_id_number(value), ID_NUMBER)


def seal_name(value: str, sealer: Sealer = seal) -> Sealed:
    return sealer(value.strip(), NAME)


def seal_phone(value: str, sealer: Sealer = seal) -> Sealed:
    return sealer(normalise_phone(value), PHONE)


def seal_json(data: dict[str, Any], purpose: str) -> Sealed:
    """A JSON document (group details), encrypted, not indexed; {} seals to ""."""
    if not data:
        return Sealed("", "", current_key_id())
    return seal(json.dumps(data, ensure_ascii=False, sort_keys=True), purpose, index=False)


def unseal_json(token: str, purpose: str) -> dict[str, Any]:
    text = unseal(token, purpose)
    return json.loads(text) if text else {}


def seal_text(value: str, purpose: str) -> Sealed:
    """Free text (risk assessment, findings), encrypted, not indexed."""
    return seal(value.strip(), purpose, index=False)


def id_number_lookup(value: str) -> str:
    """The blind index to look a resident up by ID number (any certificate type)."""
    return blind_index(normalise_id_number(value), purpose=ID_NUMBER)


def phone_lookup(value: str) -> str:
    return blind_index(normalise_phone(value), purpose=PHONE)


def name_lookup(value: str) -> str:
    return blind_index(value.strip(), purpose=NAME)
