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
from dataclasses import dataclass
from typing import Any

from zongzhi.core.crypto import blind_index, current_key_id, decrypt, encrypt

from .validators import normalise_id_number, normalise_phone

# purposes (associated data of the ciphertext, and the blind-index space)
ID_NUMBER = "id_number"
NAME = "name"
PHONE = "phone"
DETAILS = "special_details"
RISK_ASSESSMENT = "risk_assessment"
FINDINGS = "visit_findings"


@dataclass(frozen=True)
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


def unseal(token: str, purpose: str) -> str:
    """The clear value of a ciphertext made by ``seal`` for ``purpose`` ("" for "")."""
    return decrypt(token, associated=_aad(purpose)) if token else ""


def reseal(token: str, purpose: str) -> str:
    """The same value encrypted under the current key (rotation); "" stays ""."""
    return encrypt(unseal(token, purpose), associated=_aad(purpose)) if token else ""


def seal_id_number(value: str) -> Sealed:
    return seal(normalise_id_number(value), ID_NUMBER)


def seal_name(value: str) -> Sealed:
    return seal(value.strip(), NAME)


def seal_phone(value: str) -> Sealed:
    return seal(normalise_phone(value), PHONE)


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
