"""Base data through the API: residents, houses, places, organizations (CRUD, exact lookup,
audited unmask), special-population memberships and visits. The same services and selectors as
the web pages; personal data is masked in every response except the unmask action's."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, get_type_hints

from django.db.models import Model
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status
from ninja.pagination import LimitOffsetPagination, paginate

from zongzhi.api.pagination import MappedQuerySet
from zongzhi.core.audit import client_ip
from zongzhi.core.errors import FieldError, NotFound, PermissionDeniedError
from zongzhi.orgs.models import Grid, Region
from zongzhi.orgs.roles import Perm
from zongzhi.orgs.scoping import get_visible_or_404, user_can_anywhere, visible_to
from zongzhi.people import selectors, services
from zongzhi.people.groups import SpecialGroup
from zongzhi.people.models import (
    AssistanceStatus,
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
    SpecialGroupMembership,
    UnmaskReason,
    Visit,
)
from zongzhi.people.records import HouseInput, OrganizationInput, PlaceInput, ResidentInput
from zongzhi.people.sealing import ID_NUMBER, PHONE, unseal

router = Router(tags=["people"])


def _resolved_hints(fn: Any) -> Any:
    fn.__annotations__ = get_type_hints(fn)
    return fn


def _need(user: Any, perm: str) -> None:
    if not user_can_anywhere(user, perm):
        raise PermissionDeniedError(_("无权执行此操作。"), code="forbidden", perm=perm)


# --- schemas ---------------------------------------------------------------------------------------------


class LocationIn(Schema):
    region_code: str | None = Field(None, max_length=12, description="12-digit division code")
    grid_code: str | None = Field(None, max_length=15)


class ResidentIn(LocationIn):
    id_type: IdType = IdType.ID_CARD
    id_number: str = Field(..., min_length=1, max_length=30)
    name: str = Field(..., min_length=1, max_length=60)
    resident_type: ResidentType = ResidentType.REGISTERED
    sex: Sex | None = None
    birth_date: date | None = None
    ethnicity: str = Field("", max_length=20)
    phone: str = Field("", max_length=20)
    household_address: str = Field("", max_length=200)
    current_address: str = Field("", max_length=200)
    house_id: int | None = None
    employment: str = Field("", max_length=120)
    notes: str = Field("", max_length=2000)


class ResidentUpdateIn(ResidentIn):
    id_number: str = Field("", max_length=30, description="empty keeps the stored number")  # type: ignore[assignment]
    phone: str | None = Field(None, max_length=20, description='null keeps the stored phone; "" clears it')  # type: ignore[assignment]


class ResidentOut(Schema):
    id: int
    id_type: str
    id_number: str  # masked
    name: str  # clear or masked by role
    sex: str
    birth_date: date | None
    age: int | None
    ethnicity: str
    phone: str  # masked
    resident_type: str
    household_address: str
    current_address: str
    house_id: int | None
    employment: str
    notes: str
    region_code: str
    region_name: str
    grid_code: str | None
    created_at: datetime
    updated_at: datetime


class HouseIn(LocationIn):
    address: str = Field(..., min_length=1, max_length=200)
    building: str = Field("", max_length=20)
    unit: str = Field("", max_length=20)
    room: str = Field("", max_length=20)
    use: HouseUse = HouseUse.OWN
    owner_name: str = Field("", max_length=60)
    owner_phone: str | None = Field(None, max_length=20)
    area_m2: Decimal | None = Field(None, ge=0, max_digits=9, decimal_places=2)
    lon: float | None = Field(None, ge=-180, le=180)
    lat: float | None = Field(None, ge=-90, le=90)
    notes: str = Field("", max_length=2000)


class PlaceIn(LocationIn):
    name: str = Field(..., min_length=1, max_length=120)
    address: str = Field(..., min_length=1, max_length=200)
    kind: PlaceKind = PlaceKind.OTHER
    contact_name: str = Field("", max_length=60)
    contact_phone: str | None = Field(None, max_length=20)
    is_key: bool = True
    lon: float | None = Field(None, ge=-180, le=180)
    lat: float | None = Field(None, ge=-90, le=90)
    notes: str = Field("", max_length=2000)


class OrganizationIn(LocationIn):
    name: str = Field(..., min_length=1, max_length=150)
    kind: OrganizationKind = OrganizationKind.OTHER
    credit_code: str = Field("", max_length=18)
    legal_representative: str = Field("", max_length=60)
    contact_phone: str | None = Field(None, max_length=20)
    address: str = Field("", max_length=200)
    has_party_branch: bool = False
    employees: int | None = Field(None, ge=0)
    lon: float | None = Field(None, ge=-180, le=180)
    lat: float | None = Field(None, ge=-90, le=90)
    notes: str = Field("", max_length=2000)


class RecordOut(Schema):
    id: int
    kind: str
    name: str
    address: str
    phone: str  # masked
    region_code: str
    region_name: str
    grid_code: str | None
    lon: float | None
    lat: float | None
    data: dict[str, Any]
    updated_at: datetime


class UnmaskIn(Schema):
    reason: UnmaskReason
    note: str = Field("", max_length=200)


class MembershipIn(Schema):
    starts_on: date
    ends_on: date | None = None
    risk_level: int = Field(0, ge=0, le=5)
    supervisor_id: int | None = None
    supervisor_names: str = Field("", max_length=200)
    risk_assessment: str = Field("", max_length=2000)
    assessed_on: date | None = None
    assistance_status: AssistanceStatus = AssistanceStatus.NOT_NEEDED
    details: dict[str, Any] = Field(default_factory=dict)


class EnrolIn(MembershipIn):
    group: SpecialGroup


class CloseIn(Schema):
    reason: str = Field(..., min_length=1, max_length=200)


class MembershipOut(Schema):
    id: int
    resident_id: int
    resident_name: str
    resident_id_number: str  # masked
    group: str
    group_label: str
    status: str
    starts_on: date
    ends_on: date | None
    risk_level: int
    supervisor_id: int | None
    supervisor_names: str
    risk_assessment: str
    assessed_on: date | None
    assistance_status: str
    details: dict[str, Any]
    frequency: str
    period_start: datetime
    period_end: datetime
    due_at: datetime
    period_visited: bool
    last_visited_at: datetime | None
    overdue: bool
    closed_at: datetime | None
    close_reason: str


class PhotoIn(Schema):
    name: str = Field(..., max_length=200)
    content_base64: str


class VisitIn(Schema):
    membership_id: int | None = None
    resident_id: int | None = None
    house_id: int | None = None
    place_id: int | None = None
    visited_at: datetime
    findings: str = Field(..., min_length=1, max_length=5000)
    location_text: str = Field("", max_length=200)
    lon: float | None = Field(None, ge=-180, le=180)
    lat: float | None = Field(None, ge=-90, le=90)
    gps_accuracy_m: float | None = Field(None, ge=0)
    photos: list[PhotoIn] = Field(default_factory=list, max_length=9)


class VisitOut(Schema):
    id: int
    membership_id: int | None
    resident_id: int | None
    house_id: int | None
    place_id: int | None
    visitor: str
    visited_at: datetime
    location_text: str
    findings: str
    lon: float | None
    lat: float | None
    gps_accuracy_m: float | None
    photos: list[int]


# --- shaping ----------------------------------------------------------------------------------------------


def _resident_out(view: selectors.ResidentView) -> dict[str, Any]:
    r = view.resident
    return {
        "id": r.pk,
        "id_type": r.id_type,
        "id_number": view.id_number,
        "name": view.name,
        "sex": r.sex,
        "birth_date": r.birth_date,
        "age": view.age,
        "ethnicity": r.ethnicity,
        "phone": view.phone,
        "resident_type": r.resident_type,
        "household_address": r.household_address,
        "current_address": r.current_address,
        "house_id": r.house_id,
        "employment": r.employment,
        "notes": r.notes,
        "region_code": r.region.code,
        "region_name": r.region.name,
        "grid_code": r.grid.code if r.grid else None,
        "created_at": r.created_at,
        "updated_at": r.updated_at,
    }


def _record_out(kind: str, o: Any) -> dict[str, Any]:
    common = {
        "id": o.pk,
        "kind": kind,
        "region_code": o.region.code,
        "region_name": o.region.name,
        "grid_code": o.grid.code if o.grid else None,
        "lon": o.lon,
        "lat": o.lat,
        "updated_at": o.updated_at,
    }
    if kind == "house":
        return {
            **common,
            "name": str(o),
            "address": o.address,
            "phone": selectors.masked_phone(o.owner_phone_enc),
            "data": {
                "building": o.building,
                "unit": o.unit,
                "room": o.room,
                "use": o.use,
                "owner_name": o.owner_name,
                "area_m2": str(o.area_m2) if o.area_m2 is not None else None,
                "notes": o.notes,
            },
        }
    if kind == "place":
        return {
            **common,
            "name": o.name,
            "address": o.address,
            "phone": selectors.masked_phone(o.contact_phone_enc),
            "data": {"kind": o.kind, "contact_name": o.contact_name, "is_key": o.is_key, "notes": o.notes},
        }
    return {
        **common,
        "name": o.name,
        "address": o.address,
        "phone": selectors.masked_phone(o.contact_phone_enc),
        "data": {
            "kind": o.kind,
            "credit_code": o.credit_code,
            "legal_representative": o.legal_representative,
            "has_party_branch": o.has_party_branch,
            "employees": o.employees,
            "notes": o.notes,
        },
    }


def _membership_out(user: Any, m: SpecialGroupMembership, now: datetime | None = None) -> dict[str, Any]:
    mv = selectors.membership_view(user, m, now=now)
    return {
        "id": m.pk,
        "resident_id": m.resident_id,
        "resident_name": mv.resident.name,
        "resident_id_number": mv.resident.id_number,
        "group": m.group,
        "group_label": str(SpecialGroup(m.group).label),
        "status": m.status,
        "starts_on": m.starts_on,
        "ends_on": m.ends_on,
        "risk_level": m.risk_level,
        "supervisor_id": m.supervisor_id,
        "supervisor_names": m.supervisor_names,
        "risk_assessment": mv.risk_assessment,
        "assessed_on": m.assessed_on,
        "assistance_status": m.assistance_status,
        "details": selectors.membership_details(m),
        "frequency": m.frequency,
        "period_start": m.period_start,
        "period_end": m.period_end,
        "due_at": m.due_at,
        "period_visited": m.period_visited,
        "last_visited_at": m.last_visited_at,
        "overdue": mv.overdue,
        "closed_at": m.closed_at,
        "close_reason": m.close_reason,
    }


def _visit_out(v: Visit) -> dict[str, Any]:
    return {
        "id": v.pk,
        "membership_id": v.membership_id,
        "resident_id": v.resident_id,
        "house_id": v.house_id,
        "place_id": v.place_id,
        "visitor": str(v.visitor),
        "visited_at": v.visited_at,
        "location_text": v.location_text,
        "findings": selectors.visit_findings(v),
        "lon": v.lon,
        "lat": v.lat,
        "gps_accuracy_m": v.gps_accuracy_m,
        "photos": [p.pk for p in v.photos.all()],
    }


def _location(user: Any, payload: LocationIn) -> tuple[Region | None, Grid | None]:
    region = grid = None
    if payload.region_code:
        region = visible_to(user, Region, Perm.PERSON_MANAGE).filter(code=payload.region_code).first()
        if region is None:
            raise FieldError("region_code", _("区域不存在或不在您的管辖范围内。"), code="out_of_scope")
    if payload.grid_code:
        grid = (
            visible_to(user, Grid, Perm.PERSON_MANAGE)
            .select_related("village")
            .filter(code=payload.grid_code)
            .first()
        )
        if grid is None:
            raise FieldError("grid_code", _("网格不存在或不在您的管辖范围内。"), code="out_of_scope")
    return region, grid


def _house_of(user: Any, house_id: int | None) -> House | None:
    if house_id is None:
        return None
    house = visible_to(user, House).filter(pk=house_id).first()
    if house is None:
        raise FieldError("house_id", _("房屋不存在或不在您的管辖范围内。"), code="out_of_scope")
    return house


def _resident_input(payload: ResidentIn, existing: Resident | None = None) -> ResidentInput:
    id_number = payload.id_number
    phone = payload.phone
    if existing is not None:
        id_number = id_number or unseal(existing.id_number_enc, ID_NUMBER)
        if phone is None:
            phone = unseal(existing.phone_enc, PHONE)
    return ResidentInput(
        id_type=payload.id_type,
        id_number=id_number,
        name=payload.name,
        resident_type=payload.resident_type,
        sex=payload.sex or "",
        birth_date=payload.birth_date,
        ethnicity=payload.ethnicity,
        phone=phone or "",
        household_address=payload.household_address,
        current_address=payload.current_address,
        employment=payload.employment,
        notes=payload.notes,
    )


# --- residents --------------------------------------------------------------------------------------------


@router.get("/residents", response=list[ResidentOut])
@paginate(LimitOffsetPagination)
@_resolved_hints
def list_residents(  # type: ignore[no-untyped-def]
    request: HttpRequest,
    id_number: str | None = None,
    phone: str | None = None,
    name: str | None = None,
    grid_code: str | None = None,
    resident_type: ResidentType | None = None,
    house_id: int | None = None,
):
    """Residents in scope, masked. ``id_number``/``phone``/``name`` are exact lookups through the
    blind indexes (a person outside the caller's scope is not found)."""
    _need(request.user, Perm.PERSON_VIEW)
    grid_id = None
    if grid_code:
        grid_id = Grid.objects.filter(code=grid_code).values_list("pk", flat=True).first() or -1
    f = selectors.ResidentFilter(
        id_number=id_number or "",
        phone=phone or "",
        name=name or "",
        grid_id=grid_id,
        resident_type=resident_type or "",
        house_id=house_id,
    )
    ctx = selectors.MaskingContext(request.user)
    return MappedQuerySet(
        selectors.residents(request.user, f),
        lambda r: _resident_out(selectors.resident_view(request.user, r, ctx)),
    )


@router.get("/residents/lookup", response=ResidentOut)
def lookup_resident(request: HttpRequest, id_number: str) -> dict[str, Any]:
    """The resident with this ID number — 404 when absent or outside the caller's scope."""
    _need(request.user, Perm.PERSON_VIEW)
    resident = selectors.resident_by_id_number(request.user, id_number)
    if resident is None:
        raise NotFound(_("未找到"))
    return _resident_out(selectors.resident_view(request.user, resident))


@router.post("/residents", response={201: ResidentOut})
def create_resident(request: HttpRequest, payload: ResidentIn) -> Status[dict[str, Any]]:
    _need(request.user, Perm.PERSON_MANAGE)
    region, grid = _location(request.user, payload)
    resident = services.resident_create(
        actor=request.user,  # type: ignore[arg-type]
        data=_resident_input(payload),
        region=region,
        grid=grid,
        house=_house_of(request.user, payload.house_id),
    )
    resident = Resident.objects.select_related("region", "grid").get(pk=resident.pk)
    return Status(201, _resident_out(selectors.resident_view(request.user, resident)))


def _resident(request: HttpRequest, resident_id: int) -> Resident:
    return get_visible_or_404(request.user, Resident.objects.select_related("region", "grid"), pk=resident_id)


@router.get("/residents/{resident_id}", response=ResidentOut)
def get_resident(request: HttpRequest, resident_id: int) -> dict[str, Any]:
    return _resident_out(selectors.resident_view(request.user, _resident(request, resident_id)))


@router.put("/residents/{resident_id}", response=ResidentOut)
def update_resident(request: HttpRequest, resident_id: int, payload: ResidentUpdateIn) -> dict[str, Any]:
    resident = _resident(request, resident_id)
    region, grid = _location(request.user, payload)
    services.resident_update(
        actor=request.user,  # type: ignore[arg-type]
        resident=resident,
        data=_resident_input(payload, resident),
        region=region,
        grid=grid,
        house=_house_of(request.user, payload.house_id),
    )
    return _resident_out(selectors.resident_view(request.user, _resident(request, resident_id)))


class UnmaskOut(Schema):
    values: dict[str, str]


def _unmask(request: HttpRequest, model: type[Model], record_id: int, payload: UnmaskIn) -> dict[str, Any]:
    record: Any = get_visible_or_404(request.user, model, pk=record_id)
    values = services.record_unmask(
        actor=request.user,  # type: ignore[arg-type]
        record=record,
        reason=payload.reason,
        note=payload.note,
        ip=client_ip(request),
    )
    return {"values": values}


@router.post("/residents/{resident_id}/unmask", response=UnmaskOut)
def unmask_resident(request: HttpRequest, resident_id: int, payload: UnmaskIn) -> dict[str, Any]:
    """The clear ID number, name and phone of one resident — audited with the stated reason;
    403 without ``person.unmask``, 404 outside scope."""
    return _unmask(request, Resident, resident_id, payload)


# --- houses, places, organizations --------------------------------------------------------------------------


def _keep_phone(value: str | None, existing: Any, column: str) -> str:
    if value is None:
        return unseal(getattr(existing, column), PHONE) if existing is not None else ""
    return value


def _house_input(p: HouseIn, existing: House | None = None) -> HouseInput:
    return HouseInput(
        address=p.address,
        building=p.building,
        unit=p.unit,
        room=p.room,
        use=p.use,
        owner_name=p.owner_name,
        owner_phone=_keep_phone(p.owner_phone, existing, "owner_phone_enc"),
        area_m2=p.area_m2,
        lon=p.lon,
        lat=p.lat,
        notes=p.notes,
    )


def _place_input(p: PlaceIn, existing: Place | None = None) -> PlaceInput:
    return PlaceInput(
        name=p.name,
        address=p.address,
        kind=p.kind,
        contact_name=p.contact_name,
        contact_phone=_keep_phone(p.contact_phone, existing, "contact_phone_enc"),
        is_key=p.is_key,
        lon=p.lon,
        lat=p.lat,
        notes=p.notes,
    )


def _organization_input(p: OrganizationIn, existing: Organization | None = None) -> OrganizationInput:
    return OrganizationInput(
        name=p.name,
        kind=p.kind,
        credit_code=p.credit_code,
        legal_representative=p.legal_representative,
        contact_phone=_keep_phone(p.contact_phone, existing, "contact_phone_enc"),
        address=p.address,
        has_party_branch=p.has_party_branch,
        employees=p.employees,
        lon=p.lon,
        lat=p.lat,
        notes=p.notes,
    )


def _get(request: HttpRequest, model: type[Model], pk: int) -> Any:
    return get_visible_or_404(request.user, model.objects.select_related("region", "grid"), pk=pk)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class _RecordKind:
    """One kind of located record (house, place, organization): its model, the payload → input
    mapping and its create and update services (``update`` takes the record as ``kind=``)."""

    kind: str
    model: type[Model]
    to_input: Callable[[Any, Any], Any]
    create: Callable[..., Any]
    update: Callable[..., Any]


_HOUSE = _RecordKind("house", House, _house_input, services.house_create, services.house_update)
_PLACE = _RecordKind("place", Place, _place_input, services.place_create, services.place_update)
_ORGANIZATION = _RecordKind(
    "organization",
    Organization,
    _organization_input,
    services.organization_create,
    services.organization_update,
)


def _create_record(request: HttpRequest, rk: _RecordKind, payload: Any) -> Status[dict[str, Any]]:
    _need(request.user, Perm.PERSON_MANAGE)
    region, grid = _location(request.user, payload)
    record = rk.create(actor=request.user, data=rk.to_input(payload, None), region=region, grid=grid)
    return Status(201, _record_out(rk.kind, _get(request, rk.model, record.pk)))


def _get_record(request: HttpRequest, rk: _RecordKind, pk: int) -> dict[str, Any]:
    return _record_out(rk.kind, _get(request, rk.model, pk))


def _update_record(request: HttpRequest, rk: _RecordKind, pk: int, payload: Any) -> dict[str, Any]:
    record = _get(request, rk.model, pk)
    region, grid = _location(request.user, payload)
    rk.update(
        actor=request.user,
        **{rk.kind: record},
        data=rk.to_input(payload, record),
        region=region,
        grid=grid,
    )
    return _get_record(request, rk, pk)


@router.get("/houses", response=list[RecordOut])
@paginate(LimitOffsetPagination)
def list_houses(request: HttpRequest, address: str = "", owner_phone: str = "") -> Any:
    _need(request.user, Perm.PERSON_VIEW)
    return MappedQuerySet(
        selectors.houses(request.user, address=address, owner_phone=owner_phone),
        lambda o: _record_out("house", o),
    )


@router.post("/houses", response={201: RecordOut})
def create_house(request: HttpRequest, payload: HouseIn) -> Status[dict[str, Any]]:
    return _create_record(request, _HOUSE, payload)


@router.get("/houses/{house_id}", response=RecordOut)
def get_house(request: HttpRequest, house_id: int) -> dict[str, Any]:
    return _get_record(request, _HOUSE, house_id)


@router.put("/houses/{house_id}", response=RecordOut)
def update_house(request: HttpRequest, house_id: int, payload: HouseIn) -> dict[str, Any]:
    return _update_record(request, _HOUSE, house_id, payload)


@router.post("/houses/{house_id}/unmask", response=UnmaskOut)
def unmask_house(request: HttpRequest, house_id: int, payload: UnmaskIn) -> dict[str, Any]:
    return _unmask(request, House, house_id, payload)


@router.get("/places", response=list[RecordOut])
@paginate(LimitOffsetPagination)
def list_places(request: HttpRequest, name: str = "") -> Any:
    _need(request.user, Perm.PERSON_VIEW)
    return MappedQuerySet(selectors.places(request.user, name=name), lambda o: _record_out("place", o))


@router.post("/places", response={201: RecordOut})
def create_place(request: HttpRequest, payload: PlaceIn) -> Status[dict[str, Any]]:
    return _create_record(request, _PLACE, payload)


@router.get("/places/{place_id}", response=RecordOut)
def get_place(request: HttpRequest, place_id: int) -> dict[str, Any]:
    return _get_record(request, _PLACE, place_id)


@router.put("/places/{place_id}", response=RecordOut)
def update_place(request: HttpRequest, place_id: int, payload: PlaceIn) -> dict[str, Any]:
    return _update_record(request, _PLACE, place_id, payload)


@router.post("/places/{place_id}/unmask", response=UnmaskOut)
def unmask_place(request: HttpRequest, place_id: int, payload: UnmaskIn) -> dict[str, Any]:
    return _unmask(request, Place, place_id, payload)


@router.get("/organizations", response=list[RecordOut])
@paginate(LimitOffsetPagination)
def list_organizations(request: HttpRequest, name: str = "", credit_code: str = "") -> Any:
    _need(request.user, Perm.PERSON_VIEW)
    return MappedQuerySet(
        selectors.organizations(request.user, name=name, credit_code=credit_code),
        lambda o: _record_out("organization", o),
    )


@router.post("/organizations", response={201: RecordOut})
def create_organization(request: HttpRequest, payload: OrganizationIn) -> Status[dict[str, Any]]:
    return _create_record(request, _ORGANIZATION, payload)


@router.get("/organizations/{organization_id}", response=RecordOut)
def get_organization(request: HttpRequest, organization_id: int) -> dict[str, Any]:
    return _get_record(request, _ORGANIZATION, organization_id)


@router.put("/organizations/{organization_id}", response=RecordOut)
def update_organization(
    request: HttpRequest, organization_id: int, payload: OrganizationIn
) -> dict[str, Any]:
    return _update_record(request, _ORGANIZATION, organization_id, payload)


@router.post("/organizations/{organization_id}/unmask", response=UnmaskOut)
def unmask_organization(request: HttpRequest, organization_id: int, payload: UnmaskIn) -> dict[str, Any]:
    return _unmask(request, Organization, organization_id, payload)


# --- special populations ----------------------------------------------------------------------------------


def _membership_data(user: Any, p: MembershipIn, region_path: str) -> services.MembershipInput:
    supervisor = None
    if p.supervisor_id is not None:
        from zongzhi.orgs.models import User

        supervisor = User.objects.filter(pk=p.supervisor_id, is_active=True).first()
        if supervisor is None:
            raise FieldError("supervisor_id", _("责任网格员不存在。"), code="not_found")
    return services.MembershipInput(
        starts_on=p.starts_on,
        ends_on=p.ends_on,
        risk_level=p.risk_level,
        supervisor=supervisor,
        supervisor_names=p.supervisor_names,
        risk_assessment=p.risk_assessment,
        assessed_on=p.assessed_on,
        assistance_status=p.assistance_status,
        details=p.details,
    )


def _membership(request: HttpRequest, membership_id: int) -> SpecialGroupMembership:
    return get_visible_or_404(request.user, selectors.memberships(request.user, status=""), pk=membership_id)


@router.get("/memberships", response=list[MembershipOut])
@paginate(LimitOffsetPagination)
@_resolved_hints
def list_memberships(  # type: ignore[no-untyped-def]
    request: HttpRequest,
    group: SpecialGroup | None = None,
    status: str = "active",
    overdue: bool = False,
    resident_id: int | None = None,
):
    """Memberships of the groups the caller may see, in scope. ``overdue=true``: visits overdue."""
    _need(request.user, Perm.SPECIAL_VIEW)
    if status not in ("active", "closed", ""):
        raise FieldError("status", _("状态应为 active、closed 或空。"), code="invalid_choice")
    now = timezone.now()
    qs = selectors.memberships(
        request.user, group=group or "", status=status, overdue=overdue, resident_id=resident_id, now=now
    )
    return MappedQuerySet(qs, lambda m: _membership_out(request.user, m, now))


@router.get("/memberships/due", response=list[MembershipOut])
def my_visits_due(request: HttpRequest, horizon_days: int = 7) -> list[dict[str, Any]]:
    """The caller's visits due within ``horizon_days`` (and overdue ones)."""
    _need(request.user, Perm.VISIT_RECORD)
    now = timezone.now()
    qs = selectors.visits_due(request.user, now=now, horizon_days=max(0, min(horizon_days, 92)))[:200]
    return [_membership_out(request.user, m, now) for m in qs]


@router.post("/residents/{resident_id}/memberships", response={201: MembershipOut})
def enrol(request: HttpRequest, resident_id: int, payload: EnrolIn) -> Status[dict[str, Any]]:
    resident = _resident(request, resident_id)
    m = services.membership_enrol(
        actor=request.user,  # type: ignore[arg-type]
        resident=resident,
        group=payload.group,
        data=_membership_data(request.user, payload, resident.region_path),
    )
    return Status(201, _membership_out(request.user, _membership(request, m.pk)))


@router.get("/memberships/{membership_id}", response=MembershipOut)
def get_membership(request: HttpRequest, membership_id: int) -> dict[str, Any]:
    return _membership_out(request.user, _membership(request, membership_id))


@router.put("/memberships/{membership_id}", response=MembershipOut)
def update_membership(request: HttpRequest, membership_id: int, payload: MembershipIn) -> dict[str, Any]:
    m = _membership(request, membership_id)
    services.membership_update(
        actor=request.user,  # type: ignore[arg-type]
        membership=m,
        data=_membership_data(request.user, payload, m.region_path),
    )
    return _membership_out(request.user, _membership(request, membership_id))


@router.post("/memberships/{membership_id}/close", response=MembershipOut)
def close_membership(request: HttpRequest, membership_id: int, payload: CloseIn) -> dict[str, Any]:
    m = _membership(request, membership_id)
    services.membership_close(actor=request.user, membership=m, reason=payload.reason)  # type: ignore[arg-type]
    return _membership_out(request.user, _membership(request, membership_id))


# --- visits ----------------------------------------------------------------------------------------------


def _photos(items: list[PhotoIn]) -> list[services.Photo]:
    photos = []
    for i, item in enumerate(items):
        try:
            content = base64.b64decode(item.content_base64, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise FieldError(
                f"photos.{i}.content_base64", _("不是有效的 Base64 内容"), code="invalid"
            ) from exc
        photos.append(services.Photo(name=item.name, content=content))
    return photos


@router.post("/visits", response={201: VisitOut})
def record_visit(request: HttpRequest, payload: VisitIn) -> Status[dict[str, Any]]:
    """Record a visit to exactly one of a membership, a resident, a house or a place."""
    given = [
        (name, value)
        for name, value in (
            ("membership_id", payload.membership_id),
            ("resident_id", payload.resident_id),
            ("house_id", payload.house_id),
            ("place_id", payload.place_id),
        )
        if value is not None
    ]
    if len(given) != 1:
        raise FieldError("membership_id", _("请指定且只指定一个走访对象。"), code="one_subject")
    name, pk = given[0]
    subject: dict[str, Any]
    if name == "membership_id":
        subject = {"membership": _membership(request, pk)}
    else:
        model = {"resident_id": Resident, "house_id": House, "place_id": Place}[name]
        subject = {name[:-3]: get_visible_or_404(request.user, model, pk=pk)}
    if timezone.is_naive(payload.visited_at):
        raise FieldError("visited_at", _("走访时间须带时区。"), code="naive_datetime")
    visit = services.visit_record(
        actor=request.user,  # type: ignore[arg-type]
        data=services.VisitInput(
            visited_at=payload.visited_at,
            findings=payload.findings,
            location_text=payload.location_text,
            lon=payload.lon,
            lat=payload.lat,
            gps_accuracy_m=payload.gps_accuracy_m,
            photos=_photos(payload.photos),
        ),
        **subject,
    )
    return Status(201, _visit_out(Visit.objects.select_related("visitor").get(pk=visit.pk)))


@router.get("/visits", response=list[VisitOut])
@paginate(LimitOffsetPagination)
def list_visits(
    request: HttpRequest,
    membership_id: int | None = None,
    resident_id: int | None = None,
    house_id: int | None = None,
    place_id: int | None = None,
) -> Any:
    """Visits the caller may see (visits to members need the group's permission)."""
    _need(request.user, Perm.PERSON_VIEW)
    qs = visible_to(request.user, Visit).select_related("visitor").prefetch_related("photos")
    for field, value in (
        ("membership_id", membership_id),
        ("resident_id", resident_id),
        ("house_id", house_id),
        ("place_id", place_id),
    ):
        if value is not None:
            qs = qs.filter(**{field: value})
    return MappedQuerySet(qs.order_by("-visited_at", "-id"), _visit_out)


@router.get("/visits/{visit_id}", response=VisitOut)
def get_visit(request: HttpRequest, visit_id: int) -> dict[str, Any]:
    visit = get_visible_or_404(
        request.user, Visit.objects.select_related("visitor").prefetch_related("photos"), pk=visit_id
    )
    return _visit_out(visit)
