"""Pure checks and normalisations for base data: citizen ID numbers (GB 11643-1999), unified social
credit codes (GB 32100-2015), phone numbers and address keys. No database access.

Every ``validate_*`` returns the normalised value or raises ``ValidationProblem`` whose
``message`` is a Chinese message marked for translation (callers translate it when they report it,
as a ``FieldError``) and whose ``code`` is a stable machine code."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass

from django.utils.translation import gettext_noop as N_

# --- GB 11643: 18-digit citizen identity number ------------------------------------------------------

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"  # index: weighted sum mod 11
_ID_RE = re.compile(r"^[0-9]{17}[0-9X]$")


class ValidationProblem(ValueError):
    """A bad value: ``message`` (Chinese, for people) and ``code`` (for machines)."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def id_check_digit(first17: str) -> str:
    """The GB 11643 check character (``0``–``9`` or ``X``) for the first 17 digits.

    The weights are 2^(17-i) mod 11, and 13 ≡ 2 (mod 11), so the weighted sum is congruent to
    2 × (the digits read in base 13): one ``int`` call instead of 17 multiplications."""
    if len(first17) != 17 or not first17.isdigit() or not first17.isascii():
        raise ValueError("17 digits expected")
    return _ID_CHECK[2 * int(first17, 13) % 11]


@dataclass(slots=True)  # not frozen: an import builds one per row, and a frozen one is slow to build
class IdInfo:
    """What a valid 18-digit citizen ID number tells: the area code, birth date and sex."""

    number: str
    area_code: str
    birth_date: dt.date
    sex: str  # "male" | "female"


def _nfkc(value: str) -> str:
    # ASCII is its own NFKC form: the common case skips the Unicode tables
    return value if value.isascii() else unicodedata.normalize("NFKC", value)


def normalise_id_number(value: str) -> str:
    """Strip blanks, turn full-width digits into ASCII, upper-case the ``x``."""
    return _nfkc(value or "").strip().replace(" ", "").upper()


def parse_citizen_id(value: str, *, today: dt.date | None = None) -> IdInfo:
    """Validate an 18-digit citizen ID (GB 11643-1999) and derive birth date and sex.

    Checks the shape, the birth date (a real date, not in the future, not before 1800) and the
    check digit (ISO 7064 MOD 11-2). The 17th digit is odd for men and even for women."""
    number = normalise_id_number(value)
    if not _ID_RE.match(number):
        raise ValidationProblem(N_("身份证号码应为18位，前17位为数字，最后一位为数字或X。"), "id_format")
    try:
        birth = dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise ValidationProblem(N_("身份证号码中的出生日期无效。"), "id_birth_date") from None
    today = today or dt.date.today()
    if birth.year < 1800 or birth > today:
        raise ValidationProblem(N_("身份证号码中的出生日期无效。"), "id_birth_date")
    if id_check_digit(number[:17]) != number[17]:
        raise ValidationProblem(N_("身份证号码校验位错误。"), "id_check_digit")
    sex = "male" if int(number[16]) % 2 == 1 else "female"
    return IdInfo(number=number, area_code=number[:6], birth_date=birth, sex=sex)


def validate_id_number(id_type: str, value: str) -> str:
    """The normalised number for ``id_type``: citizen IDs (``id_card``) get the full GB 11643
    check; other certificates 4–30 letters, digits or ``-``/``(``/``)``."""
    number = normalise_id_number(value)
    if not number:
        raise ValidationProblem(N_("请填写证件号码。"), "required")
    if id_type == "id_card":
        return parse_citizen_id(number).number
    if not re.match(r"^[0-9A-Z()\-]{4,30}$", number):
        raise ValidationProblem(N_("证件号码格式不正确（4–30位字母、数字）。"), "id_format")
    return number


# --- GB 32100: 18-character unified social credit code ------------------------------------------------

_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # no I, O, Z, S, V
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_USCC_RE = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$")


def credit_code_check_char(first17: str) -> str:
    """The GB 32100 check character for the first 17 characters (weights 3^i mod 31)."""
    total = sum(_USCC_ALPHABET.index(c) * w for c, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return _USCC_ALPHABET[(31 - total % 31) % 31]


def validate_credit_code(value: str) -> str:
    """Validate a unified social credit code (统一社会信用代码, GB 32100-2015); returns it upper-cased.

    Shape: registration authority (1) + organisation type (1) + 6-digit area code + 9-character
    organisation code + check character, from the 31-character alphabet without I, O, Z, S, V."""
    code = unicodedata.normalize("NFKC", value or "").strip().replace(" ", "").upper()
    if not code:
        raise ValidationProblem(N_("请填写统一社会信用代码。"), "required")
    if len(code) != 18 or not _USCC_RE.match(code):
        raise ValidationProblem(
            N_("统一社会信用代码应为18位数字或大写字母（不含I、O、Z、S、V）。"), "credit_code_format"
        )
    if credit_code_check_char(code[:17]) != code[17]:
        raise ValidationProblem(N_("统一社会信用代码校验位错误。"), "credit_code_check_digit")
    return code


# --- phones -----------------------------------------------------------------------------------------------

_MOBILE_RE = re.compile(r"^1[3-9][0-9]{9}$")
_MOBILE_DASHED_RE = re.compile(r"^1[0-9-]+$")
_LANDLINE_RE = re.compile(r"^0[0-9]{2,3}-?[0-9]{7,8}(-[0-9]{1,6})?$")


def normalise_phone(value: str) -> str:
    """Drop blanks, dashes between digit groups of mobiles and a ``+86``/``86`` prefix."""
    phone = _nfkc(value or "").strip().replace(" ", "")
    if phone.startswith("+86"):
        phone = phone[3:]
    elif phone.startswith("86") and len(phone) == 13:
        phone = phone[2:]
    if "-" in phone and _MOBILE_DASHED_RE.match(phone):
        phone = phone.replace("-", "")
    return phone


def validate_phone(value: str) -> str:
    """A mainland mobile (11 digits, 1[3-9]…) or a landline with area code (0571-87654321)."""
    phone = normalise_phone(value)
    if not (_MOBILE_RE.match(phone) or _LANDLINE_RE.match(phone)):
        raise ValidationProblem(N_("电话号码格式不正确（11位手机号或带区号的固定电话）。"), "phone_format")
    return phone


# --- addresses ------------------------------------------------------------------------------------------

_ADDRESS_NOISE = re.compile(r"[\s,，.。、·\-—_()（）#＃]+")


def normalise_address_key(address: str, building: str = "", unit: str = "", room: str = "") -> str:
    """The natural key of a house within its region: the address and building/unit/room, NFKC
    normalised (full-width → ASCII), lower-cased, without blanks and punctuation, joined by ``|``.

    ``"文三路 100号", "3幢", "2单元", "501室"`` and ``"文三路100号", "3幢", "2单元", "501室"`` give the
    same key."""
    parts = [
        _ADDRESS_NOISE.sub("", unicodedata.normalize("NFKC", p or "")).lower()
        for p in (address, building, unit, room)
    ]
    return "|".join(parts)[:255]


def normalise_place_key(name: str, address: str) -> str:
    """The natural key of a place within its region: its normalised name and address."""
    return normalise_address_key(name, address)
