"""Masking of personal data for display."""

from __future__ import annotations

import pytest

from zongzhi.core.masking import mask_id_number, mask_middle, mask_name, mask_phone


def test_id_number_keeps_region_prefix_and_last_four():
    assert mask_id_number("330102199001011234") == "3301**********1234"
    assert mask_id_number("33010219900101123X") == "3301**********123X"


def test_phone_keeps_carrier_prefix_and_last_four():
    assert mask_phone("13812345678") == "138****5678"


@pytest.mark.parametrize(("name", "masked"), [("张三", "张*"), ("王小明", "王**"), ("李", "李*")])
def test_name_keeps_the_first_character(name, masked):
    assert mask_name(name) == masked


@pytest.mark.parametrize("func", [mask_phone, mask_id_number, mask_name])
def test_empty_stays_empty(func):
    assert func("") == ""


def test_short_values_never_leak_more_than_the_first_character():
    assert mask_phone("12345") == "1****"
    assert mask_id_number("1234") == "1***"
    assert mask_middle("abcdef", 2, 2) == "ab**ef"
