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

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from django.conf import settings

from zongzhi.core.crypto import blind_index, current_key_id, decrypt, encrypt

from .gcm import encrypt_many, hmac_sm3_many
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
    tokens = encrypt_many(settings.ZZ_FIELD_KEYS[kid], [v.encode() for v in values], associated=_aad(purpose))
    if not index:
        return [(f"{kid}${base64.b64encode(t).decode()}", "") for t in tokens]
    digests = hmac_sm3_many(
        settings.ZZ_BLIND_INDEX_KEY, [f"{purpose}\x1f{v.strip().upper()}".encode() for v in values]
    )
    return [(f"{kid}${base64.b64encode(t).decode()}", d) for t, d in zip(tokens, digests, strict=True)]


def seal_many(values: Sequence[str], purpose: str, *, index: bool = True) -> list[Sealed]:
    """``seal`` of every value, computed for the whole list at once (same output format, each
    value with its own nonce): what the bulk import uses."""
    kid = current_key_id()
    done = iter(_seal_filled(kid, [v for v in values if v], purpose, index))
    return [Sealed(*next(done), kid) if v else Sealed("", "", kid) for v in values]


_SLOT = "\x00"  # never in a ciphertext (base64) or an index (hex)


SEALED_SUFFIXES = ("_enc", "_index")  # the columns that hold ciphertexts and blind indexes


class BatchSealer:
    """A ``Sealer`` that defers the work: each call returns placeholders, ``seal_pending`` seals
    every value collected since (one ``seal_many`` per purpose) and ``resolve`` swaps the
    placeholders in a column dict — in its columns named ``*_enc`` and ``*_index``, as every
    sealed column is — for the real ciphertexts and indexes."""

    def __init__(self) -> None:
        self._kid = current_key_id()
        self._pending: list[tuple[str, str, bool]] = []
        self._done: list[tuple[str, str]] = []  # (ciphertext, index) of each pending value
        self._names: dict[int, list[str]] = {}  # the sealed columns, by the dict's column count

    def __call__(self, value: str, purpose: str, *, index: bool = True) -> Sealed:
        kid = self._kid
        if not value:
            return Sealed("", "", kid)
        slot = len(self._pending)
        self._pending.append((value, purpose, index))
        return Sealed(f"{_SLOT}e{slot}", f"{_SLOT}i{slot}" if index else "", kid)

    def seal_pending(self) -> None:
        by_purpose: dict[tuple[str, bool], list[int]] = {}
        for slot, (_value, purpose, index) in enumerate(self._pending):
            by_purpose.setdefault((purpose, index), []).append(slot)
        done: list[tuple[str, str]] = [("", "")] * len(self._pending)
        for (purpose, index), slots in by_purpose.items():
            sealed = _seal_filled(self._kid, [self._pending[s][0] for s in slots], purpose, index)
            for slot, one in zip(slots, sealed, strict=True):
                done[slot] = one
        self._done = done

    def resolve(self, columns: dict[str, Any]) -> dict[str, Any]:
        """``columns`` with every placeholder replaced (call ``seal_pending`` first)."""
        names = self._names.get(len(columns))
        if names is None or any(name not in columns for name in names):
            names = self._names[len(columns)] = [n for n in columns if n.endswith(SEALED_SUFFIXES)]
        done = self._done
        for name in names:
            value = columns[name]
            if value and value[0] == _SLOT:
                columns[name] = done[int(value[2:])][0 if value[1] == "e" else 1]
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
