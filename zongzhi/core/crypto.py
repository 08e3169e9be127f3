"""国密 primitives: SM3 hashing, HMAC-SM3 blind indexes and SM4-GCM field encryption.

Ciphertexts are text: ``<key id>$<base64(nonce 12 bytes || ciphertext || tag 16 bytes)>`` so the key
used is known at decryption time and keys can be rotated (re-encrypt under the current key id).
"""

from __future__ import annotations

import base64
import os

from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from django.conf import settings

NONCE_BYTES = 12
TAG_BYTES = 16


def sm3_hex(data: bytes) -> str:
    digest = hashes.Hash(hashes.SM3())
    digest.update(data)
    return digest.finalize().hex()


def hmac_sm3_hex(key: bytes, data: bytes) -> str:
    mac = hmac.HMAC(key, hashes.SM3())
    mac.update(data)
    return mac.finalize().hex()


def blind_index(value: str, *, purpose: str) -> str:
    """Deterministic keyed digest for exact lookups of an encrypted value.

    ``purpose`` separates the index spaces (an ID number and a phone never collide).
    """
    normalized = value.strip().upper()
    return hmac_sm3_hex(settings.ZZ_BLIND_INDEX_KEY, f"{purpose}\x1f{normalized}".encode())


def current_key_id() -> str:
    return str(settings.ZZ_FIELD_KEY_ID)


def encrypt(plaintext: str, *, key_id: str | None = None, associated: bytes = b"") -> str:
    kid = key_id or current_key_id()
    key = settings.ZZ_FIELD_KEYS[kid]
    nonce = os.urandom(NONCE_BYTES)
    encryptor = Cipher(algorithms.SM4(key), modes.GCM(nonce)).encryptor()
    if associated:
        encryptor.authenticate_additional_data(associated)
    body = encryptor.update(plaintext.encode()) + encryptor.finalize()
    return f"{kid}${base64.b64encode(nonce + body + encryptor.tag).decode()}"


def decrypt(token: str, *, associated: bytes = b"") -> str:
    kid, _, payload = token.partition("$")
    key = settings.ZZ_FIELD_KEYS[kid]
    raw = base64.b64decode(payload)
    nonce, body, tag = raw[:NONCE_BYTES], raw[NONCE_BYTES:-TAG_BYTES], raw[-TAG_BYTES:]
    decryptor = Cipher(algorithms.SM4(key), modes.GCM(nonce, tag)).decryptor()
    if associated:
        decryptor.authenticate_additional_data(associated)
    return (decryptor.update(body) + decryptor.finalize()).decode()


def key_id_of(token: str) -> str:
    return token.partition("$")[0]
