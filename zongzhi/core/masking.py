"""Masking of personal data for display (GB/T 35273 去标识化 in lists)."""

from __future__ import annotations


def mask_middle(value: str, keep_start: int, keep_end: int, char: str = "*") -> str:
    if not value:
        return value
    if len(value) <= keep_start + keep_end:
        return value[:1] + char * (len(value) - 1)
    return value[:keep_start] + char * (len(value) - keep_start - keep_end) + value[len(value) - keep_end :]


def mask_phone(value: str) -> str:
    """138****5678"""
    return mask_middle(value, 3, 4)


def mask_id_number(value: str) -> str:
    """3301**********1234"""
    return mask_middle(value, 4, 4)


def mask_name(value: str) -> str:
    """张*, 欧阳** — keep the family name's first character."""
    if not value:
        return value
    return value[0] + "*" * max(1, len(value) - 1)
