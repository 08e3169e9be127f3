"""GB 11643 citizen ID numbers, GB 32100 unified social credit codes, phones, address keys."""

from __future__ import annotations

import datetime as dt

import pytest

from zongzhi.people.validators import (
    ValidationProblem,
    credit_code_check_char,
    id_check_digit,
    normalise_address_key,
    normalise_phone,
    parse_citizen_id,
    validate_credit_code,
    validate_id_number,
    validate_phone,
)


@pytest.mark.parametrize(
    ("number", "birth", "sex"),
    [
        ("11010519491231002X", dt.date(1949, 12, 31), "female"),  # the standard's own example
        ("440524188001010014", dt.date(1880, 1, 1), "male"),  # the standard's own example
        ("11010519491231002x", dt.date(1949, 12, 31), "female"),  # lower-case x accepted
        (" 110105 19491231002X ", dt.date(1949, 12, 31), "female"),  # blanks dropped
        ("１１０１０５１９４９１２３１００２Ｘ", dt.date(1949, 12, 31), "female"),  # full-width
    ],
)
def test_real_citizen_ids_parse_with_birth_date_and_sex(number: str, birth: dt.date, sex: str) -> None:
    info = parse_citizen_id(number)
    assert info.birth_date == birth
    assert info.sex == sex
    assert info.number == info.number.upper() and len(info.number) == 18


def test_check_digit_is_iso_7064_mod_11_2() -> None:
    assert id_check_digit("11010519491231002") == "X"
    assert id_check_digit("44052418800101001") == "4"


@pytest.mark.parametrize(
    ("number", "code"),
    [
        ("110105194912310021", "id_check_digit"),  # X expected
        ("440524188001010015", "id_check_digit"),  # 4 expected
        ("11010519491231002", "id_format"),  # 17 characters
        ("1101051949123100X2", "id_format"),  # X not last
        ("110105194902300023", "id_birth_date"),  # 30 February
        ("110105299901010011", "id_birth_date"),  # in the future
        ("", "id_format"),
    ],
)
def test_wrong_citizen_ids_are_refused_with_a_reason(number: str, code: str) -> None:
    with pytest.raises(ValidationProblem) as exc:
        parse_citizen_id(number, today=dt.date(2026, 6, 1))
    assert exc.value.code == code
    assert "身份证" in exc.value.message


def test_every_wrong_check_digit_is_caught() -> None:
    good = "11010519491231002X"
    for c in "0123456789":
        with pytest.raises(ValidationProblem):
            parse_citizen_id(good[:17] + c)


def test_other_certificates_are_checked_for_shape_only() -> None:
    assert validate_id_number("passport", " e12345678 ") == "E12345678"
    with pytest.raises(ValidationProblem) as exc:
        validate_id_number("passport", "12")
    assert exc.value.code == "id_format"
    with pytest.raises(ValidationProblem) as exc:
        validate_id_number("id_card", "110105194912310021")
    assert exc.value.code == "id_check_digit"


@pytest.mark.parametrize(
    "code",
    [
        "91350100M000100Y43",  # the standard's example
        "914403001922038216",  # 华为技术有限公司
        "91330100716105852F",  # 阿里巴巴（中国）有限公司
        "9144030071526726XG",  # 深圳市腾讯计算机系统有限公司
        "91330100716105852f",  # lower case accepted, upper-cased
    ],
)
def test_real_credit_codes_pass(code: str) -> None:
    assert validate_credit_code(code) == code.upper()


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("91350100M000100Y44", "credit_code_check_digit"),
        ("914403001922038217", "credit_code_check_digit"),
        ("91330100716105852G", "credit_code_check_digit"),
        ("91350100M000100Y4", "credit_code_format"),  # 17 characters
        ("91350100I000100Y43", "credit_code_format"),  # I is not in the alphabet
        ("913501O0M000100Y43", "credit_code_format"),  # letter in the area code
    ],
)
def test_wrong_credit_codes_are_refused(code: str, reason: str) -> None:
    with pytest.raises(ValidationProblem) as exc:
        validate_credit_code(code)
    assert exc.value.code == reason


def test_credit_code_check_char_matches_the_example() -> None:
    assert credit_code_check_char("91350100M000100Y4") == "3"


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("13812345678", "13812345678"),
        ("138 1234 5678", "13812345678"),
        ("+8613812345678", "13812345678"),
        ("138-1234-5678", "13812345678"),
        ("0571-87654321", "0571-87654321"),
    ],
)
def test_phones_are_normalised(raw: str, clean: str) -> None:
    assert validate_phone(raw) == clean == normalise_phone(clean)


@pytest.mark.parametrize("raw", ["12812345678", "1381234567", "abc", "87654321"])
def test_bad_phones_are_refused(raw: str) -> None:
    with pytest.raises(ValidationProblem) as exc:
        validate_phone(raw)
    assert exc.value.code == "phone_format"


def test_address_key_ignores_blanks_width_and_punctuation() -> None:
    a = normalise_address_key("文三路 100号", "3幢", "2单元", "501室")
    b = normalise_address_key("文三路１００号", " 3幢", "2单元", "501室")
    c = normalise_address_key("文三路100号", "3幢", "2单元", "502室")
    assert a == b
    assert a != c
