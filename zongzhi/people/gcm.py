"""SM4-GCM and HMAC-SM3 for many values at once (the bulk import seals hundreds of thousands).

One ``Cipher(...).encryptor()`` per value costs far more than the cipher itself, so ``encrypt_many``
(and ``encrypt_many_text``, which gives the stored text: key id, ``$``, base64) builds the counter
blocks of a whole batch (each value with its own random 96-bit nonce), runs them
through SM4 in one ECB call and finishes each value with GHASH (NIST SP 800-38D) computed here with
per-key 8-bit multiplication tables. The output is byte for byte what ``zongzhi.core.crypto.encrypt``
produces for the same nonce — ``nonce || ciphertext || tag`` — and decrypts with
``zongzhi.core.crypto.decrypt`` (tested against it). ``blind_indexes`` is HMAC-SM3 with the key's
inner and outer hash states computed once.
"""

from __future__ import annotations

import functools
import hashlib
import os
from collections.abc import Iterator, Sequence

import numpy as np
import numpy.typing as npt
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

NONCE_BYTES = 12
_R = 0xE1 << 120  # the GCM reduction polynomial, in the specification's bit order


def _gf_mult(x: int, y: int) -> int:
    """x · y in GF(2^128) as GCM defines it (algorithm 1 of SP 800-38D; the first bit is the MSB)."""
    z, v = 0, y
    for i in range(127, -1, -1):
        if (x >> i) & 1:
            z ^= v
        v = (v >> 1) ^ _R if v & 1 else v >> 1
    return z


class _GHash:
    """Multiplication by a fixed H: 16 tables (one per byte of the block) of 256 products."""

    def __init__(self, h: int) -> None:
        basis = [_gf_mult(1 << i, h) for i in range(128)]  # (bit i alone) · H
        self.tables: list[list[int]] = []
        for j in range(16):  # byte j of the block holds bits 127-8j … 120-8j
            shift = 120 - 8 * j
            table = [0] * 256
            for b in range(1, 256):
                low = b & -b
                table[b] = table[b ^ low] ^ basis[shift + low.bit_length() - 1]
            self.tables.append(table)

    def mul(self, x: int) -> int:
        t = self.tables
        b = x.to_bytes(16, "big")
        return (
            t[0][b[0]] ^ t[1][b[1]] ^ t[2][b[2]] ^ t[3][b[3]]
            ^ t[4][b[4]] ^ t[5][b[5]] ^ t[6][b[6]] ^ t[7][b[7]]
            ^ t[8][b[8]] ^ t[9][b[9]] ^ t[10][b[10]] ^ t[11][b[11]]
            ^ t[12][b[12]] ^ t[13][b[13]] ^ t[14][b[14]] ^ t[15][b[15]]
        )  # fmt: skip

    def absorb(self, y: int, data: bytes) -> int:
        """GHASH state ``y`` after ``data``, zero-padded to whole blocks."""
        for i in range(0, len(data), 16):
            y = self.mul(y ^ int.from_bytes(data[i : i + 16].ljust(16, b"\0"), "big"))
        return y


@functools.lru_cache(maxsize=8)
def _ghash_for(key: bytes) -> _GHash:
    h = Cipher(algorithms.SM4(key), modes.ECB()).encryptor().update(b"\0" * 16)  # noqa: S305 - H = E_K(0), the raw block function
    return _GHash(int.from_bytes(h, "big"))


@functools.lru_cache(maxsize=64)
def _aad_state(key: bytes, associated: bytes) -> int:
    return _ghash_for(key).absorb(0, associated)


def _tables(ghash: _GHash) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint64]]:
    """The multiplication tables as two (16, 256) arrays: the high and the low 64 bits."""
    found = getattr(ghash, "_arrays", None)
    if found is None:
        mask = (1 << 64) - 1
        hi = np.array([[v >> 64 for v in t] for t in ghash.tables], dtype=np.uint64)
        lo = np.array([[v & mask for v in t] for t in ghash.tables], dtype=np.uint64)
        found = ghash._arrays = (hi, lo)  # type: ignore[attr-defined]
    return found


_SHIFTS = np.arange(56, -8, -8, dtype=np.uint64)  # byte j of a 64-bit half sits at bit 56 - 8j


def _mul_many(
    tables: tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint64]],
    hi: npt.NDArray[np.uint64],
    lo: npt.NDArray[np.uint64],
) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint64]]:
    """``_GHash.mul`` of many blocks at once (each block as its high and low 64 bits)."""
    th, tl = tables
    index = np.arange(16)[:, None]
    octets = np.concatenate(
        [(hi[None, :] >> _SHIFTS[:, None]) & 0xFF, (lo[None, :] >> _SHIFTS[:, None]) & 0xFF]
    )
    octets = octets.astype(np.intp)
    return (
        np.bitwise_xor.reduce(th[index, octets], axis=0),
        np.bitwise_xor.reduce(tl[index, octets], axis=0),
    )


def _halves(blocks: npt.NDArray[np.uint8]) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint64]]:
    """(n, 16) bytes → the big-endian high and low 64 bits of each block."""
    words = np.ascontiguousarray(blocks).view(">u8").astype(np.uint64)
    return words[:, 0].copy(), words[:, 1].copy()


def _sealed_groups(
    key: bytes, plaintexts: Sequence[bytes], associated: bytes, nonces: bytes | None
) -> Iterator[tuple[list[int], npt.NDArray[np.uint8]]]:
    """For each length of plaintext: which plaintexts have it, and their ``nonce || ciphertext ||
    tag`` as the rows of one array (all of a length in lockstep: one SM4 call for the counter
    blocks of the group, GHASH as table look-ups over arrays)."""
    n = len(plaintexts)
    nonces = nonces if nonces is not None else os.urandom(NONCE_BYTES * n)
    if len(nonces) != NONCE_BYTES * n:
        raise ValueError("one 12-byte nonce per plaintext")
    nonce_rows = np.frombuffer(nonces, dtype=np.uint8).reshape(n, NONCE_BYTES)
    ghash = _ghash_for(key)
    tables = _tables(ghash)
    start = _aad_state(key, associated)
    start_hi, start_lo = np.uint64(start >> 64), np.uint64(start & ((1 << 64) - 1))
    aad_bits = np.uint64(len(associated) * 8)
    encryptor = Cipher(algorithms.SM4(key), modes.ECB()).encryptor()  # noqa: S305 - the counter blocks of GCM
    groups: dict[int, list[int]] = {}
    for i, text in enumerate(plaintexts):
        groups.setdefault(len(text), []).append(i)
    for size, members in groups.items():
        g = len(members)
        blocks = (size + 15) // 16
        width = 16 * blocks
        idx = np.array(members, dtype=np.intp)
        # counter blocks: J0 (masks the tag), then inc32(J0), … for the keystream
        counters = np.empty((g, blocks + 1, 16), dtype=np.uint8)
        counters[:, :, :NONCE_BYTES] = nonce_rows[idx][:, None, :]
        counters[:, :, NONCE_BYTES:] = (
            np.arange(1, blocks + 2, dtype=">u4").view(np.uint8).reshape(blocks + 1, 4)[None, :, :]
        )
        stream = np.frombuffer(encryptor.update(counters.tobytes()), dtype=np.uint8).reshape(
            g, blocks + 1, 16
        )
        texts = np.frombuffer(b"".join([plaintexts[i] for i in members]), dtype=np.uint8).reshape(g, size)
        body = np.zeros((g, width), dtype=np.uint8)  # GHASH sees the ciphertext zero-padded
        body[:, :size] = texts ^ stream[:, 1:, :].reshape(g, width)[:, :size]
        hi = np.full(g, start_hi, dtype=np.uint64)
        lo = np.full(g, start_lo, dtype=np.uint64)
        for b in range(blocks):
            x_hi, x_lo = _halves(body[:, 16 * b : 16 * b + 16])
            hi, lo = _mul_many(tables, hi ^ x_hi, lo ^ x_lo)
        hi, lo = _mul_many(tables, hi ^ aad_bits, lo ^ np.uint64(size * 8))
        m_hi, m_lo = _halves(stream[:, 0, :])
        out = np.empty((g, NONCE_BYTES + size + 16), dtype=np.uint8)
        out[:, :NONCE_BYTES] = nonce_rows[idx]
        out[:, NONCE_BYTES : NONCE_BYTES + size] = body[:, :size]
        out[:, NONCE_BYTES + size :] = np.stack([hi ^ m_hi, lo ^ m_lo], axis=1).astype(">u8").view(np.uint8)
        yield members, out


def encrypt_many(
    key: bytes, plaintexts: Sequence[bytes], *, associated: bytes = b"", nonces: bytes | None = None
) -> list[bytes]:
    """``nonce || ciphertext || tag`` of every plaintext under SM4-GCM with ``key``, each with its
    own random 96-bit nonce (``nonces``: 12 bytes per plaintext, for tests only)."""
    out: list[bytes] = [b""] * len(plaintexts)
    if not plaintexts:
        return out
    for members, rows in _sealed_groups(key, plaintexts, associated, nonces):
        data, width = rows.tobytes(), rows.shape[1]
        for j, i in enumerate(members):
            out[i] = data[width * j : width * (j + 1)]
    return out


_B64_ALPHABET = np.frombuffer(
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", dtype=np.uint8
)


def _base64_rows(rows: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """Standard base64 (with ``=`` padding) of every row of a (n, width) array, as ASCII codes."""
    g, width = rows.shape
    pad = -width % 3
    if pad:
        rows = np.concatenate([rows, np.zeros((g, pad), dtype=np.uint8)], axis=1)
    t = rows.reshape(g, -1, 3).astype(np.uint32)
    n = (t[:, :, 0] << 16) | (t[:, :, 1] << 8) | t[:, :, 2]
    sextets = np.stack([n >> 18, (n >> 12) & 63, (n >> 6) & 63, n & 63], axis=2).reshape(g, -1)
    out = _B64_ALPHABET[sextets]
    if pad:
        out[:, -pad:] = ord("=")
    return out


def encrypt_many_text(
    key: bytes,
    plaintexts: Sequence[bytes],
    *,
    associated: bytes = b"",
    prefix: str = "",
    nonces: bytes | None = None,
) -> list[str]:
    """``prefix + base64(nonce || ciphertext || tag)`` of every plaintext — ``encrypt_many`` as
    the text a sealed column stores, encoded for a whole group of same-length values at once."""
    out: list[str] = [""] * len(plaintexts)
    if not plaintexts:
        return out
    head = np.frombuffer(prefix.encode("ascii"), dtype=np.uint8)
    for members, rows in _sealed_groups(key, plaintexts, associated, nonces):
        encoded = _base64_rows(rows)
        lines = np.empty((len(members), len(head) + encoded.shape[1]), dtype=np.uint8)
        lines[:, : len(head)] = head
        lines[:, len(head) :] = encoded
        text, width = lines.tobytes().decode("ascii"), lines.shape[1]
        for j, i in enumerate(members):
            out[i] = text[width * j : width * (j + 1)]
    return out


class _Hmac:
    """HMAC-SM3 with ``key``: the padded-key hash states, computed once and copied per value."""

    def __init__(self, key: bytes) -> None:
        if len(key) > 64:
            key = hashlib.new("sm3", key).digest()
        key = key.ljust(64, b"\0")
        self.inner = hashlib.new("sm3", bytes(b ^ 0x36 for b in key))
        self.outer = hashlib.new("sm3", bytes(b ^ 0x5C for b in key))


@functools.lru_cache(maxsize=8)
def _hmac_for(key: bytes) -> _Hmac:
    return _Hmac(key)


def hmac_sm3_many(key: bytes, messages: Sequence[bytes]) -> list[str]:
    """HMAC-SM3 (hex) of every message under ``key``."""
    mac = _hmac_for(bytes(key))
    inner_copy, outer_copy = mac.inner.copy, mac.outer.copy
    out: list[str] = []
    append = out.append
    for m in messages:
        inner = inner_copy()
        inner.update(m)
        outer = outer_copy()
        outer.update(inner.digest())
        append(outer.hexdigest())
    return out
