"""Turning input into unsaved base-data rows: validation, derivation and sealing, no database
writes. The services (``people.services``) save what these build, one row at a time with an audit
row; the bulk import builds rows the same way and saves them in batches, so a row means the same
whichever door it came in by.

Every function raises ``FieldError(field, message)`` on bad input (Chinese message, stable code)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from zongzhi.core.errors import FieldError

from .location import Location
from .models import (
    House,
    HouseUse,
    IdType,
    Organization,
    OrganizationKind,
    Place,
    PlaceKind,
    Resident,
    ResidentType,
    Sex,
)
from .sealing import ID_NUMBER, NAME, PHONE, Sealer, seal, seal_phone
from .validators import (
    ValidationProblem,
    normalise_address_key,
    normalise_place_key,
    parse_citizen_id,
    validate_credit_code,
    validate_id_number,
    validate_phone,
)


def _problem(field: str, exc: ValidationProblem) -> FieldError:
    return FieldError(field, _(exc.message), code=exc.code)


_VALUES: dict[Any, frozenset[str]] = {}


def _values_of(choices: Any) -> frozenset[str]:
    values = _VALUES.get(choices)
    if values is None:
        values = _VALUES[choices] = frozenset(choices.values)
    return values


def _choice(field: str, value: str, choices: type[Any], label: Any) -> str:
    if value not in _values_of(choices):
        raise FieldError(field, _("{label}的取值无效。").format(label=label), code="invalid_choice")
    return value


def _text(field: str, value: str | None, max_length: int, label: Any, *, required: bool = False) -> str:
    text = (value or "").strip()
    if required and not text:
        raise FieldError(field, _("请填写{label}。").format(label=label), code="required")
    if len(text) > max_length:
        raise FieldError(
            field,
            _("{label}不能超过{max}个字。").format(label=label, max=max_length),
            code="too_long",
        )
    return text


@dataclass
class ResidentInput:
    id_type: str
    id_number: str
    name: str
    resident_type: str = ResidentType.REGISTERED
    sex: str = ""  # "" = derive from the citizen ID (else "unknown")
    birth_date: dt.date | None = None  # None = derive from the citizen ID
    ethnicity: str = ""
    phone: str = ""
    household_address: str = ""
    current_address: str = ""
    employment: str = ""
    notes: str = ""


# field labels of the messages, made once (a lazy string per call and field adds up in an import)
_L_ID_TYPE = gettext_lazy("证件类型")
_L_NAME = gettext_lazy("姓名")
_L_SEX = gettext_lazy("性别")
_L_RESIDENT_TYPE = gettext_lazy("人口类型")
_L_ETHNICITY = gettext_lazy("民族")
_L_HOUSEHOLD_ADDRESS = gettext_lazy("户籍地址")
_L_CURRENT_ADDRESS = gettext_lazy("现住地址")
_L_EMPLOYMENT = gettext_lazy("就业情况")
_L_NOTES = gettext_lazy("备注")
# the choice values as plain strings (an enum member is slower to fetch and compare, per row)
_ID_CARD = str(IdType.ID_CARD.value)
_SEX_UNKNOWN = str(Sex.UNKNOWN.value)
_REGISTERED = str(ResidentType.REGISTERED.value)


def clean_resident(
    data: ResidentInput, *, today: dt.date | None = None, sealer: Sealer = seal
) -> dict[str, Any]:
    """Validated, derived and sealed column values of a resident (without location and times).

    A citizen ID (``id_card``) is checked against GB 11643 (shape, birth date, check digit); birth
    date and sex come from it, and a birth date or sex given that contradicts it is an error."""
    id_type = _choice("id_type", data.id_type or _ID_CARD, IdType, _L_ID_TYPE)
    info = None
    try:
        if id_type == _ID_CARD and (data.id_number or "").strip():
            # the GB 11643 check once, as ``validate_id_number`` would make it
            info = parse_citizen_id(data.id_number, today=today)
            number = info.number
        else:
            number = validate_id_number(id_type, data.id_number)
    except ValidationProblem as exc:
        raise _problem("id_number", exc) from None
    name = _text("name", data.name, 60, _L_NAME, required=True)
    sex = data.sex or ""
    birth = data.birth_date
    if id_type == _ID_CARD:
        info = info or parse_citizen_id(number, today=today)
        if birth is not None and birth != info.birth_date:
            raise FieldError("birth_date", _("出生日期与身份证号码不一致。"), code="id_mismatch")
        if sex and sex != _SEX_UNKNOWN and sex != info.sex:
            raise FieldError("sex", _("性别与身份证号码不一致。"), code="id_mismatch")
        sex, birth = info.sex, info.birth_date  # "male" / "female"
    else:
        sex = _choice("sex", sex or _SEX_UNKNOWN, Sex, _L_SEX)
    resident_type = _choice(
        "resident_type", data.resident_type or _REGISTERED, ResidentType, _L_RESIDENT_TYPE
    )
    phone = ""
    if (data.phone or "").strip():
        try:
            phone = validate_phone(data.phone)
        except ValidationProblem as exc:
            raise _problem("phone", exc) from None
    # the values are normalised already (as seal_id_number / seal_name / seal_phone would)
    sealed_id = sealer(number, ID_NUMBER)
    sealed_name = sealer(name, NAME)
    sealed_phone = sealer(phone, PHONE)
    return {
        "id_type": id_type,
        "id_number_enc": sealed_id.enc,
        "id_number_index": sealed_id.index,
        "name_enc": sealed_name.enc,
        "name_index": sealed_name.index,
        "sex": sex,
        "birth_date": birth,
        "ethnicity": _text("ethnicity", data.ethnicity, 20, _L_ETHNICITY),
        "phone_enc": sealed_phone.enc,
        "phone_index": sealed_phone.index,
        "household_address": _text("household_address", data.household_address, 200, _L_HOUSEHOLD_ADDRESS),
        "current_address": _text("current_address", data.current_address, 200, _L_CURRENT_ADDRESS),
        "resident_type": resident_type,
        "employment": _text("employment", data.employment, 120, _L_EMPLOYMENT),
        "notes": _text("notes", data.notes, 2000, _L_NOTES),
        "key_id": sealed_id.key_id,
    }


def _located(location: Location, now: dt.datetime, actor: Any) -> dict[str, Any]:
    return {
        "region": location.region,
        "region_path": location.region.path,
        "grid": location.grid,
        "created_at": now,
        "updated_at": now,
        "created_by": actor if getattr(actor, "pk", None) else None,
    }


def prepare_resident(
    data: ResidentInput,
    *,
    location: Location,
    now: dt.datetime,
    actor: Any = None,
    house: House | None = None,
) -> Resident:
    """An unsaved ``Resident`` (natural key: ``id_number_index``)."""
    return Resident(**clean_resident(data, today=now.date()), house=house, **_located(location, now, actor))


@dataclass
class HouseInput:
    address: str
    building: str = ""
    unit: str = ""
    room: str = ""
    use: str = HouseUse.OWN
    owner_name: str = ""
    owner_phone: str = ""
    area_m2: Decimal | None = None
    lon: float | None = None
    lat: float | None = None
    notes: str = ""


def clean_house(data: HouseInput, *, sealer: Sealer = seal) -> dict[str, Any]:
    address = _text("address", data.address, 200, gettext_lazy("地址"), required=True)
    building = _text("building", data.building, 20, gettext_lazy("楼栋"))
    unit = _text("unit", data.unit, 20, gettext_lazy("单元"))
    room = _text("room", data.room, 20, gettext_lazy("房号"))
    phone = ""
    if (data.owner_phone or "").strip():
        try:
            phone = validate_phone(data.owner_phone)
        except ValidationProblem as exc:
            raise _problem("owner_phone", exc) from None
    if data.area_m2 is not None and data.area_m2 < 0:
        raise FieldError("area_m2", _("面积不能为负数。"), code="out_of_range")
    sealed = seal_phone(phone, sealer)
    return {
        "address": address,
        "building": building,
        "unit": unit,
        "room": room,
        "address_key": normalise_address_key(address, building, unit, room),
        "use": _choice("use", data.use or HouseUse.OWN, HouseUse, gettext_lazy("房屋用途")),
        "owner_name": _text("owner_name", data.owner_name, 60, gettext_lazy("房主")),
        "owner_phone_enc": sealed.enc,
        "owner_phone_index": sealed.index,
        "area_m2": data.area_m2,
        "lon": data.lon,
        "lat": data.lat,
        "notes": _text("notes", data.notes, 2000, gettext_lazy("备注")),
        "key_id": sealed.key_id,
    }


def prepare_house(data: HouseInput, *, location: Location, now: dt.datetime, actor: Any = None) -> House:
    """An unsaved ``House`` (natural key: ``(region, address_key)``)."""
    return House(**clean_house(data), **_located(location, now, actor))


@dataclass
class PlaceInput:
    name: str
    address: str
    kind: str = PlaceKind.OTHER
    contact_name: str = ""
    contact_phone: str = ""
    is_key: bool = True
    lon: float | None = None
    lat: float | None = None
    notes: str = ""


def clean_place(data: PlaceInput, *, sealer: Sealer = seal) -> dict[str, Any]:
    name = _text("name", data.name, 120, gettext_lazy("场所名称"), required=True)
    address = _text("address", data.address, 200, gettext_lazy("地址"), required=True)
    phone = ""
    if (data.contact_phone or "").strip():
        try:
            phone = validate_phone(data.contact_phone)
        except ValidationProblem as exc:
            raise _problem("contact_phone", exc) from None
    sealed = seal_phone(phone, sealer)
    return {
        "name": name,
        "address": address,
        "place_key": normalise_place_key(name, address),
        "kind": _choice("kind", data.kind or PlaceKind.OTHER, PlaceKind, gettext_lazy("场所类型")),
        "contact_name": _text("contact_name", data.contact_name, 60, gettext_lazy("负责人")),
        "contact_phone_enc": sealed.enc,
        "contact_phone_index": sealed.index,
        "is_key": bool(data.is_key),
        "lon": data.lon,
        "lat": data.lat,
        "notes": _text("notes", data.notes, 2000, gettext_lazy("备注")),
        "key_id": sealed.key_id,
    }


def prepare_place(data: PlaceInput, *, location: Location, now: dt.datetime, actor: Any = None) -> Place:
    """An unsaved ``Place`` (natural key: ``(region, place_key)``)."""
    return Place(**clean_place(data), **_located(location, now, actor))


@dataclass
class OrganizationInput:
    name: str
    kind: str = OrganizationKind.OTHER
    credit_code: str = ""
    legal_representative: str = ""
    contact_phone: str = ""
    address: str = ""
    has_party_branch: bool = False
    employees: int | None = None
    lon: float | None = None
    lat: float | None = None
    notes: str = ""


def clean_organization(data: OrganizationInput, *, sealer: Sealer = seal) -> dict[str, Any]:
    name = _text("name", data.name, 150, gettext_lazy("组织名称"), required=True)
    code = ""
    if (data.credit_code or "").strip():
        try:
            code = validate_credit_code(data.credit_code)
        except ValidationProblem as exc:
            raise _problem("credit_code", exc) from None
    phone = ""
    if (data.contact_phone or "").strip():
        try:
            phone = validate_phone(data.contact_phone)
        except ValidationProblem as exc:
            raise _problem("contact_phone", exc) from None
    if data.employees is not None and data.employees < 0:
        raise FieldError("employees", _("从业人数不能为负数。"), code="out_of_range")
    sealed = seal_phone(phone, sealer)
    return {
        "name": name,
        "kind": _choice(
            "kind", data.kind or OrganizationKind.OTHER, OrganizationKind, gettext_lazy("组织类型")
        ),
        "credit_code": code,
        "legal_representative": _text(
            "legal_representative", data.legal_representative, 60, gettext_lazy("法定代表人")
        ),
        "contact_phone_enc": sealed.enc,
        "contact_phone_index": sealed.index,
        "address": _text("address", data.address, 200, gettext_lazy("地址")),
        "has_party_branch": bool(data.has_party_branch),
        "employees": data.employees,
        "lon": data.lon,
        "lat": data.lat,
        "notes": _text("notes", data.notes, 2000, gettext_lazy("备注")),
        "key_id": sealed.key_id,
    }


def prepare_organization(
    data: OrganizationInput, *, location: Location, now: dt.datetime, actor: Any = None
) -> Organization:
    """An unsaved ``Organization`` (natural key: ``credit_code`` when not empty)."""
    return Organization(**clean_organization(data), **_located(location, now, actor))
