"""国密 primitives: SM4-GCM field encryption, HMAC-SM3 blind indexes, SM3."""

from __future__ import annotations

import base64

import pytest
from cryptography.exceptions import InvalidTag
from django.test import override_settings

from zongzhi.core import crypto

ID_NUMBER = "330102199001011234"
OTHER_KEY = bytes.fromhex("0f1e2d3c4b5a69788796a5b4c3d2e1f0")


@pytest.mark.parametrize("plaintext", ["", "张三", ID_NUMBER, "x" * 5000, "混合 text ✓ 123"])
def test_sm4_gcm_round_trip(plaintext):
    token = crypto.encrypt(plaintext)
    assert crypto.decrypt(token) == plaintext
    if plaintext:
        assert plaintext not in token


def test_ciphertext_is_randomised():
    assert crypto.encrypt(ID_NUMBER) != crypto.encrypt(ID_NUMBER)


def test_ciphertext_carries_the_key_id(settings):
    token = crypto.encrypt(ID_NUMBER)
    assert token.startswith(f"{settings.ZZ_FIELD_KEY_ID}$")
    assert crypto.key_id_of(token) == settings.ZZ_FIELD_KEY_ID == crypto.current_key_id()
    raw = base64.b64decode(token.split("$", 1)[1])
    assert len(raw) == crypto.NONCE_BYTES + len(ID_NUMBER.encode()) + crypto.TAG_BYTES


def test_old_key_still_decrypts_after_rotation(settings):
    """Rotation: new writes use the current key id; rows under the old id still decrypt."""
    old = crypto.encrypt(ID_NUMBER)
    old_kid = crypto.key_id_of(old)
    with override_settings(ZZ_FIELD_KEY_ID="k2", ZZ_FIELD_KEYS={**settings.ZZ_FIELD_KEYS, "k2": OTHER_KEY}):
        new = crypto.encrypt(ID_NUMBER)
        assert crypto.key_id_of(new) == "k2"
        assert crypto.decrypt(old) == crypto.decrypt(new) == ID_NUMBER
        assert crypto.key_id_of(old) == old_kid


def _flip(token: str, index: int) -> str:
    kid, payload = token.split("$", 1)
    raw = bytearray(base64.b64decode(payload))
    raw[index] ^= 0x01
    return f"{kid}${base64.b64encode(bytes(raw)).decode()}"


@pytest.mark.parametrize("where", ["nonce", "body", "tag"])
def test_tampered_ciphertext_fails(where):
    token = crypto.encrypt(ID_NUMBER)
    index = {"nonce": 0, "body": crypto.NONCE_BYTES + 3, "tag": -1}[where]
    with pytest.raises(InvalidTag):
        crypto.decrypt(_flip(token, index))


def test_wrong_key_fails(settings):
    token = crypto.encrypt(ID_NUMBER)
    kid = crypto.key_id_of(token)
    with override_settings(ZZ_FIELD_KEYS={kid: OTHER_KEY}), pytest.raises(InvalidTag):
        crypto.decrypt(token)


def test_unknown_key_id_fails():
    token = crypto.encrypt(ID_NUMBER)
    with pytest.raises(KeyError):
        crypto.decrypt("nokey$" + token.split("$", 1)[1])


def test_associated_data_binds_the_ciphertext():
    token = crypto.encrypt(ID_NUMBER, associated=b"people.resident:1")
    assert crypto.decrypt(token, associated=b"people.resident:1") == ID_NUMBER
    with pytest.raises(InvalidTag):
        crypto.decrypt(token, associated=b"people.resident:2")
    with pytest.raises(InvalidTag):
        crypto.decrypt(token)


def test_blind_index_is_deterministic_and_normalised():
    first = crypto.blind_index(ID_NUMBER, purpose="id_number")
    assert first == crypto.blind_index(ID_NUMBER, purpose="id_number")
    assert len(first) == 64 and int(first, 16) >= 0
    # Surrounding space and the case of the check letter X do not matter.
    assert crypto.blind_index(" 33010219900101123x ", purpose="id_number") == crypto.blind_index(
        "33010219900101123X", purpose="id_number"
    )
    assert first != crypto.blind_index("330102199001011235", purpose="id_number")


def test_blind_index_is_separated_by_purpose():
    value = "13812345678"
    assert crypto.blind_index(value, purpose="phone") != crypto.blind_index(value, purpose="id_number")


def test_blind_index_depends_on_the_key():
    before = crypto.blind_index(ID_NUMBER, purpose="id_number")
    with override_settings(ZZ_BLIND_INDEX_KEY=OTHER_KEY):
        assert crypto.blind_index(ID_NUMBER, purpose="id_number") != before
    # Not a plain (unkeyed) SM3 of the value.
    assert before != crypto.sm3_hex(f"id_number\x1f{ID_NUMBER}".encode())


def test_sm3_known_answer():
    # GB/T 32905-2016 example 1: SM3("abc").
    assert crypto.sm3_hex(b"abc") == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
