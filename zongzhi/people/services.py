"""Writes on base data: residents, houses, places, organizations, special-population memberships,
visits, audited unmasking, and the missed-visit sweep.

Rules (ARCHITECTURE.md): keyword-only arguments with a required ``actor`` (``None`` only for the
system: seeding, the sweep), one transaction, an audit row in that transaction
(``people.<entity>.<verb>``, never with clear personal data in it), outside effects (notices) with
``transaction.on_commit``. Permissions are checked at the row's region: the caller has already
found the row through ``orgs.scoping`` (404 outside scope); a visible row the actor may not change
is ``PermissionDeniedError`` (403)."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from zongzhi.core.audit import audit_record
from zongzhi.core.errors import Conflict, FieldError, PermissionDeniedError
from zongzhi.orgs.models import Grid, GridMembership, GridRole, Region, User
from zongzhi.orgs.roles import Perm
from zongzhi.orgs.scoping import user_can, users_who_can

from . import schedules
from .groups import SpecialGroup, clean_details, group_perm
from .location import Location, resolve_location
from .models import (
    AssistanceStatus,
    House,
    MembershipStatus,
    Organization,
    Place,
    Resident,
    SpecialGroupMembership,
    UnmaskReason,
    Visit,
    VisitMiss,
    VisitPhoto,
    VisitSchedulePolicy,
)
from .records import (
    HouseInput,
    OrganizationInput,
    PlaceInput,
    ResidentInput,
    clean_house,
    clean_organization,
    clean_place,
    clean_resident,
)
from .sealing import (
    DETAILS,
    FINDINGS,
    ID_NUMBER,
    NAME,
    PHONE,
    RISK_ASSESSMENT,
    seal_json,
    seal_text,
    unseal,
)

VISIT_OVERDUE_KIND = "visit_overdue"


@dataclass(frozen=True)
class VisitNotice:
    """A notice for the inbox (``people`` may not import ``notifications``: the caller of
    ``visit_sweep`` delivers these, e.g. through ``notifications.services.notify_many``)."""

    recipients: tuple[int, ...]
    kind: str
    title: str
    body: str = ""
    link: str = ""


NoticeSink = Callable[[list[VisitNotice]], object]


def _deny() -> PermissionDeniedError:
    return PermissionDeniedError(_("无权执行此操作。"), code="forbidden")


def _require(actor: Any, perm: str, target: Any) -> None:
    if actor is not None and not user_can(actor, perm, target):
        raise _deny()


def _require_region(actor: Any, perm: str, region: Region) -> None:
    """A region outside the actor's scope does not exist for them: a field error, not a 403."""
    if actor is not None and not user_can(actor, perm, region):
        raise FieldError("region", _("所属区域不存在或不在您的管辖范围内。"), code="out_of_scope")


def _actor(actor: Any) -> Any:
    return actor if actor is not None else "system"


def _locate(
    actor: Any,
    *,
    region: Region | None,
    grid: Grid | None,
    lon: float | None = None,
    lat: float | None = None,
) -> Location:
    location = resolve_location(region=region, grid=grid, lon=lon, lat=lat)
    _require_region(actor, Perm.PERSON_MANAGE, location.region)
    return location


def _changed(obj: Any, values: dict[str, Any]) -> list[str]:
    """Set ``values`` on ``obj``; the names of the fields whose value changed (ciphertexts always
    differ, so an ``_enc`` field counts as changed when its blind index or clear value did)."""
    names = []
    for name, value in values.items():
        if getattr(obj, name) != value:
            names.append(name)
        setattr(obj, name, value)
    return [n for n in names if not n.endswith("_enc")]


def _location_values(location: Location) -> dict[str, Any]:
    return {"region": location.region, "region_path": location.region.path, "grid": location.grid}


_Record = TypeVar("_Record", Resident, House, Place, Organization)


@dataclass(frozen=True)
class _Unique:
    """The natural key a record may not share with another: the lookup (``None``: nothing to
    check) and the field and message of the ``duplicate`` error."""

    lookup: dict[str, Any] | None
    field: str
    message: str

    def error(self) -> FieldError:
        return FieldError(self.field, self.message, code="duplicate")

    def check(self, model: type[_Record], *, exclude: _Record | None = None) -> None:
        if self.lookup is None:
            return
        rows = model.objects.filter(**self.lookup)
        if exclude is not None:
            rows = rows.exclude(pk=exclude.pk)
        if rows.exists():
            raise self.error()


def _record_create(
    model: type[_Record],
    *,
    actor: User | None,
    kind: str,
    values: dict[str, Any],
    location: Location,
    unique: _Unique,
    now: dt.datetime,
) -> _Record:
    """Create a base-data record at ``location`` after the duplicate check (a race that slips
    past it is the same ``duplicate`` error); audit ``people.<kind>.create``."""
    unique.check(model)
    try:
        with transaction.atomic():
            record = model.objects.create(
                **values, **_location_values(location), created_at=now, updated_at=now, created_by=actor
            )
            audit_record(actor=_actor(actor), action=f"people.{kind}.create", obj=record)
    except IntegrityError:
        raise unique.error() from None
    return record


def _record_update(
    record: _Record,
    *,
    actor: User | None,
    kind: str,
    values: dict[str, Any],
    location: Location,
    unique: _Unique,
    now: dt.datetime,
    after_save: Callable[[_Record, str, list[str]], None] | None = None,
) -> _Record:
    """Replace a record's fields under a row lock after the duplicate check; ``after_save``
    (record, old region path, changed fields) runs in the same transaction. Audit
    ``people.<kind>.update`` with the names of the changed fields (never their values)."""
    model = type(record)
    unique.check(model, exclude=record)
    with transaction.atomic():
        locked = model.objects.select_for_update().get(pk=record.pk)
        old_path = locked.region_path
        changed = _changed(locked, {**values, **_location_values(location)})
        locked.updated_at = now
        locked.save()
        if after_save is not None:
            after_save(locked, old_path, changed)
        audit_record(
            actor=_actor(actor), action=f"people.{kind}.update", obj=locked, data={"fields": changed}
        )
    return locked


# --- residents -------------------------------------------------------------------------------------------


def _check_house(actor: Any, house: House | None) -> None:
    if house is not None and actor is not None and not user_can(actor, Perm.PERSON_VIEW, house):
        raise FieldError("house", _("所选房屋不存在或不在您的管辖范围内。"), code="out_of_scope")


def _resident_location(
    actor: Any, *, region: Region | None, grid: Grid | None, house: House | None
) -> Location:
    if grid is None and region is None and house is not None:
        return _locate(actor, region=house.region, grid=house.grid)
    return _locate(actor, region=region, grid=grid)


def _resident_unique(values: dict[str, Any]) -> _Unique:
    return _Unique({"id_number_index": values["id_number_index"]}, "id_number", _("该证件号码已登记。"))


def _memberships_follow(resident: Resident, old_path: str, changed: list[str]) -> None:
    """Memberships follow their resident's region and grid."""
    if resident.region_path != old_path or "grid" in changed:
        SpecialGroupMembership.objects.filter(resident=resident).update(
            region=resident.region, region_path=resident.region_path, grid=resident.grid
        )


def resident_create(
    *,
    actor: User | None,
    data: ResidentInput,
    region: Region | None = None,
    grid: Grid | None = None,
    house: House | None = None,
    now: dt.datetime | None = None,
) -> Resident:
    """Register a resident (实有人口). The ID number is validated (GB 11643 for citizen IDs), birth
    date and sex derived; ID number, name and phone are stored sealed. Region and grid come from
    the grid, else the region, else the house. A registered ID number is a ``FieldError``
    (``duplicate``) on ``id_number``. Audit: ``people.resident.create``."""
    now = now or timezone.now()
    _check_house(actor, house)
    location = _resident_location(actor, region=region, grid=grid, house=house)
    values = clean_resident(data, today=timezone.localdate(now))
    return _record_create(
        Resident,
        actor=actor,
        kind="resident",
        values={**values, "house": house},
        location=location,
        unique=_resident_unique(values),
        now=now,
    )


def resident_update(
    *,
    actor: User | None,
    resident: Resident,
    data: ResidentInput,
    region: Region | None = None,
    grid: Grid | None = None,
    house: House | None = None,
    now: dt.datetime | None = None,
) -> Resident:
    """Replace a resident's fields (the same checks as ``resident_create``). Audit:
    ``people.resident.update`` with the names of the changed fields (never their values)."""
    now = now or timezone.now()
    _require(actor, Perm.PERSON_MANAGE, resident)
    _check_house(actor, house)
    location = _resident_location(actor, region=region, grid=grid, house=house)
    values = clean_resident(data, today=timezone.localdate(now))
    return _record_update(
        resident,
        actor=actor,
        kind="resident",
        values={**values, "house": house},
        location=location,
        unique=_resident_unique(values),
        now=now,
        after_save=_memberships_follow,
    )


# --- houses, places, organizations -------------------------------------------------------------------


def _house_unique(location: Location, values: dict[str, Any]) -> _Unique:
    lookup = {"region": location.region, "address_key": values["address_key"]}
    return _Unique(lookup, "address", _("该地址的房屋已登记。"))


def _place_unique(location: Location, values: dict[str, Any]) -> _Unique:
    return _Unique({"region": location.region, "place_key": values["place_key"]}, "name", _("该场所已登记。"))


def _organization_unique(location: Location, values: dict[str, Any]) -> _Unique:
    lookup = {"credit_code": values["credit_code"]} if values["credit_code"] else None
    return _Unique(lookup, "credit_code", _("该统一社会信用代码已登记。"))


@dataclass(frozen=True)
class _LocatedKind:
    """A house, place or organization: the audit name, the input check and the natural key."""

    kind: str
    clean: Callable[[Any], dict[str, Any]]
    unique: Callable[[Location, dict[str, Any]], _Unique]


_LOCATED: dict[type[Any], _LocatedKind] = {
    House: _LocatedKind("house", clean_house, _house_unique),
    Place: _LocatedKind("place", clean_place, _place_unique),
    Organization: _LocatedKind("organization", clean_organization, _organization_unique),
}


def _located_create(
    model: type[_Record],
    *,
    actor: User | None,
    data: HouseInput | PlaceInput | OrganizationInput,
    region: Region | None,
    grid: Grid | None,
    now: dt.datetime | None,
) -> _Record:
    spec = _LOCATED[model]
    values = spec.clean(data)
    location = _locate(actor, region=region, grid=grid, lon=data.lon, lat=data.lat)
    return _record_create(
        model,
        actor=actor,
        kind=spec.kind,
        values=values,
        location=location,
        unique=spec.unique(location, values),
        now=now or timezone.now(),
    )


def _located_update(
    record: _Record,
    *,
    actor: User | None,
    data: HouseInput | PlaceInput | OrganizationInput,
    region: Region | None,
    grid: Grid | None,
    now: dt.datetime | None,
) -> _Record:
    _require(actor, Perm.PERSON_MANAGE, record)
    spec = _LOCATED[type(record)]
    values = spec.clean(data)
    location = _locate(actor, region=region, grid=grid, lon=data.lon, lat=data.lat)
    return _record_update(
        record,
        actor=actor,
        kind=spec.kind,
        values=values,
        location=location,
        unique=spec.unique(location, values),
        now=now or timezone.now(),
    )


def house_create(
    *,
    actor: User | None,
    data: HouseInput,
    region: Region | None = None,
    grid: Grid | None = None,
    now: dt.datetime | None = None,
) -> House:
    """Register a house (实有房屋); its grid comes from the grid given or its location. The address
    key must be new in the region (``FieldError('address', code='duplicate')``)."""
    return _located_create(House, actor=actor, data=data, region=region, grid=grid, now=now)


def house_update(
    *,
    actor: User | None,
    house: House,
    data: HouseInput,
    region: Region | None = None,
    grid: Grid | None = None,
    now: dt.datetime | None = None,
) -> House:
    return _located_update(house, actor=actor, data=data, region=region, grid=grid, now=now)


def place_create(
    *,
    actor: User | None,
    data: PlaceInput,
    region: Region | None = None,
    grid: Grid | None = None,
    now: dt.datetime | None = None,
) -> Place:
    return _located_create(Place, actor=actor, data=data, region=region, grid=grid, now=now)


def place_update(
    *,
    actor: User | None,
    place: Place,
    data: PlaceInput,
    region: Region | None = None,
    grid: Grid | None = None,
    now: dt.datetime | None = None,
) -> Place:
    return _located_update(place, actor=actor, data=data, region=region, grid=grid, now=now)


def organization_create(
    *,
    actor: User | None,
    data: OrganizationInput,
    region: Region | None = None,
    grid: Grid | None = None,
    now: dt.datetime | None = None,
) -> Organization:
    """Register an organization; a credit code is checked (GB 32100) and must be new."""
    return _located_create(Organization, actor=actor, data=data, region=region, grid=grid, now=now)


def organization_update(
    *,
    actor: User | None,
    organization: Organization,
    data: OrganizationInput,
    region: Region | None = None,
    grid: Grid | None = None,
    now: dt.datetime | None = None,
) -> Organization:
    return _located_update(organization, actor=actor, data=data, region=region, grid=grid, now=now)


# --- audited unmasking ----------------------------------------------------------------------------------

# the sealed fields each record shows in clear when unmasked: field label → (column, purpose)
UNMASK_FIELDS: dict[type[Any], dict[str, tuple[str, str]]] = {
    Resident: {
        "id_number": ("id_number_enc", ID_NUMBER),
        "name": ("name_enc", NAME),
        "phone": ("phone_enc", PHONE),
    },
    House: {"owner_phone": ("owner_phone_enc", PHONE)},
    Place: {"contact_phone": ("contact_phone_enc", PHONE)},
    Organization: {"contact_phone": ("contact_phone_enc", PHONE)},
}


def record_unmask(
    *,
    actor: User,
    record: Resident | House | Place | Organization,
    reason: str,
    note: str = "",
    ip: str | None = None,
) -> dict[str, str]:
    """Show one record's sealed fields in clear — an explicit action for roles holding
    ``person.unmask`` at the record's region, with a stated reason (one of ``UnmaskReason``; a
    note is required for "other"). Writes the audit row ``people.unmask`` (who, when, which
    record, why — not the values) before returning the clear values.

    The caller found ``record`` through scoping (404 outside scope); without the permission this
    is ``PermissionDeniedError``."""
    if not user_can(actor, Perm.PERSON_UNMASK, record):
        raise _deny()
    if reason not in UnmaskReason.values:
        raise FieldError("reason", _("请选择查看原因。"), code="required")
    note = (note or "").strip()
    if reason == UnmaskReason.OTHER and len(note) < 2:
        raise FieldError("note", _("选择“其他”时请说明查看原因。"), code="required")
    if len(note) > 200:
        raise FieldError("note", _("说明不能超过200个字。"), code="too_long")
    fields = UNMASK_FIELDS[type(record)]
    clear = {label: unseal(getattr(record, column), purpose) for label, (column, purpose) in fields.items()}
    audit_record(
        actor=actor,
        action="people.unmask",
        obj=record,
        ip=ip,
        data={
            "reason": reason,
            "reason_label": str(UnmaskReason(reason).label),
            "note": note,
            "fields": sorted(fields),
        },
    )
    return clear


# --- special populations ------------------------------------------------------------------------------


def _policy(group: str, risk_level: int) -> schedules.Policy:
    rows = [
        schedules.PolicyRow(p.group, p.min_risk_level, p.frequency, p.grace_days)
        for p in VisitSchedulePolicy.objects.filter(group=group)
    ]
    return schedules.policy_for(rows, group, risk_level)


@dataclass
class MembershipInput:
    starts_on: dt.date
    ends_on: dt.date | None = None
    risk_level: int = 0
    supervisor: User | None = None
    supervisor_names: str = ""
    risk_assessment: str = ""
    assessed_on: dt.date | None = None
    assistance_status: str = AssistanceStatus.NOT_NEEDED
    details: dict[str, Any] = field(default_factory=dict)


def _clean_membership(group: str, data: MembershipInput, region_path: str) -> dict[str, Any]:
    if data.starts_on is None:
        raise FieldError("starts_on", _("请填写纳入管理日期。"), code="required")
    if data.ends_on is not None and data.ends_on < data.starts_on:
        raise FieldError("ends_on", _("管理期满日期不能早于纳入管理日期。"), code="out_of_range")
    if not 0 <= int(data.risk_level) <= 5:
        raise FieldError("risk_level", _("风险等级应在0到5之间。"), code="out_of_range")
    if data.assistance_status not in AssistanceStatus.values:
        raise FieldError("assistance_status", _("帮扶状态的取值无效。"), code="invalid_choice")
    if data.supervisor is not None and not user_can(data.supervisor, group_perm(group), region_path):
        raise FieldError("supervisor", _("责任网格员须在该区域有此类人群的管理权限。"), code="out_of_scope")
    if len(data.supervisor_names or "") > 200:
        raise FieldError("supervisor_names", _("帮教/管控责任人不能超过200个字。"), code="too_long")
    details, errors = clean_details(group, data.details)
    if errors:
        name, message = next(iter(errors.items()))
        raise FieldError(f"details.{name}", message, code="invalid", errors=errors)
    sealed_details = seal_json(details, DETAILS)
    sealed_risk = seal_text(data.risk_assessment or "", RISK_ASSESSMENT)
    return {
        "starts_on": data.starts_on,
        "ends_on": data.ends_on,
        "risk_level": int(data.risk_level),
        "supervisor": data.supervisor,
        "supervisor_names": (data.supervisor_names or "").strip(),
        "risk_assessment_enc": sealed_risk.enc,
        "assessed_on": data.assessed_on,
        "assistance_status": data.assistance_status,
        "details_enc": sealed_details.enc,
        "key_id": sealed_details.key_id,
    }


def _clock_from(policy: schedules.Policy, at: dt.datetime) -> dict[str, Any]:
    period = schedules.period_at(policy, at)
    return {
        "frequency": policy.frequency,
        "grace_days": policy.grace_days,
        "period_start": period.start,
        "period_end": period.end,
        "due_at": period.due_at,
    }


def _visited_in(membership_id: int, start: dt.datetime, due: dt.datetime) -> bool:
    return Visit.objects.filter(
        membership_id=membership_id, visited_at__gte=start, visited_at__lt=due
    ).exists()


def membership_enrol(
    *,
    actor: User | None,
    resident: Resident,
    group: str,
    data: MembershipInput,
    now: dt.datetime | None = None,
) -> SpecialGroupMembership:
    """Enrol a resident in a special group (纳入管理). Needs ``special.manage`` and the group's
    ``special.<group>`` at the resident's region. One active membership per group
    (``Conflict``). The visit clock starts at the period containing now (or the start date when
    it lies ahead), by the policy for the group and risk level. Group details and the risk
    assessment are stored sealed. Audit: ``people.membership.enrol``."""
    now = now or timezone.now()
    if group not in SpecialGroup.values:
        raise FieldError("group", _("人群类别的取值无效。"), code="invalid_choice")
    _require(actor, Perm.SPECIAL_MANAGE, resident)
    _require(actor, group_perm(group), resident)
    values = _clean_membership(group, data, resident.region_path)
    start_at = max(now, schedules.local_midnight(data.starts_on))
    clock = _clock_from(_policy(group, values["risk_level"]), start_at)
    try:
        with transaction.atomic():
            membership = SpecialGroupMembership.objects.create(
                resident=resident,
                group=group,
                region=resident.region,
                region_path=resident.region_path,
                grid=resident.grid,
                created_at=now,
                updated_at=now,
                created_by=actor,
                **values,
                **clock,
            )
            audit_record(
                actor=_actor(actor),
                action="people.membership.enrol",
                obj=membership,
                data={"group": group, "resident": resident.pk, "risk_level": values["risk_level"]},
            )
    except IntegrityError:
        raise Conflict(_("该人员已在此类人群中管理。"), code="already_enrolled") from None
    return membership


def membership_update(
    *,
    actor: User | None,
    membership: SpecialGroupMembership,
    data: MembershipInput,
    now: dt.datetime | None = None,
) -> SpecialGroupMembership:
    """Update a membership's period, supervisor, risk level and assessment, assistance status and
    group details. A risk level that changes the visit policy restarts the clock at the period
    containing now (an unvisited current period is not counted as missed: the new schedule
    applies from now). Audit: ``people.membership.update`` (field names, risk levels)."""
    now = now or timezone.now()
    _require(actor, Perm.SPECIAL_MANAGE, membership)
    if membership.status != MembershipStatus.ACTIVE:
        raise Conflict(_("该记录已解除管理，不能修改。"), code="closed")
    values = _clean_membership(membership.group, data, membership.region_path)
    with transaction.atomic():
        locked = SpecialGroupMembership.objects.select_for_update().get(pk=membership.pk)
        old_level = locked.risk_level
        changed = _changed(locked, values)
        policy = _policy(locked.group, locked.risk_level)
        if (policy.frequency, policy.grace_days) != (locked.frequency, locked.grace_days):
            clock = _clock_from(policy, now)
            _changed(locked, clock)
            locked.period_visited = _visited_in(locked.pk, clock["period_start"], clock["due_at"])
            changed.append("frequency")
        locked.updated_at = now
        locked.save()
        audit_record(
            actor=_actor(actor),
            action="people.membership.update",
            obj=locked,
            data={"fields": changed, "risk_level": [old_level, locked.risk_level]},
        )
    return locked


def membership_close(
    *,
    actor: User | None,
    membership: SpecialGroupMembership,
    reason: str,
    now: dt.datetime | None = None,
) -> SpecialGroupMembership:
    """End a membership (解除管理: term ended, moved away, deceased …) with a reason. Its open
    missed visits stay as they are (history); no more visits are due. Closing twice is a
    ``Conflict``. Audit: ``people.membership.close``."""
    now = now or timezone.now()
    _require(actor, Perm.SPECIAL_MANAGE, membership)
    reason = (reason or "").strip()
    if not reason:
        raise FieldError("reason", _("请填写解除原因。"), code="required")
    if len(reason) > 200:
        raise FieldError("reason", _("解除原因不能超过200个字。"), code="too_long")
    with transaction.atomic():
        updated = SpecialGroupMembership.objects.filter(
            pk=membership.pk, status=MembershipStatus.ACTIVE
        ).update(status=MembershipStatus.CLOSED, closed_at=now, close_reason=reason, updated_at=now)
        if not updated:
            raise Conflict(_("该记录已解除管理。"), code="closed")
        membership.refresh_from_db()
        audit_record(
            actor=_actor(actor), action="people.membership.close", obj=membership, data={"reason": reason}
        )
    return membership


# --- visits -------------------------------------------------------------------------------------------

PHOTO_TYPES: dict[str, tuple[str, tuple[bytes, ...]]] = {
    ".jpg": ("image/jpeg", (b"\xff\xd8\xff",)),
    ".jpeg": ("image/jpeg", (b"\xff\xd8\xff",)),
    ".png": ("image/png", (b"\x89PNG\r\n\x1a\n",)),
    ".webp": ("image/webp", (b"RIFF",)),
}
MAX_PHOTOS = 9
MAX_PHOTO_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True)
class Photo:
    name: str
    content: bytes


def _check_photos(photos: Sequence[Photo]) -> list[tuple[Photo, str]]:
    if len(photos) > MAX_PHOTOS:
        raise FieldError("photos", _("最多上传{n}张照片。").format(n=MAX_PHOTOS), code="too_many")
    checked = []
    for photo in photos:
        ext = photo.name[photo.name.rfind(".") :].lower() if "." in photo.name else ""
        if ext not in PHOTO_TYPES:
            raise FieldError(
                "photos", _("照片“{name}”不是JPG、PNG或WEBP图片。").format(name=photo.name), code="bad_type"
            )
        if not photo.content:
            raise FieldError("photos", _("照片“{name}”为空。").format(name=photo.name), code="empty")
        if len(photo.content) > MAX_PHOTO_BYTES:
            raise FieldError("photos", _("照片“{name}”超过10 MB。").format(name=photo.name), code="too_large")
        content_type, magics = PHOTO_TYPES[ext]
        ok = (
            photo.content[:4] == b"RIFF" and photo.content[8:12] == b"WEBP"
            if ext == ".webp"
            else any(photo.content.startswith(m) for m in magics)
        )
        if not ok:
            raise FieldError(
                "photos",
                _("照片“{name}”的内容与扩展名不符。").format(name=photo.name),
                code="content_mismatch",
            )
        checked.append((photo, content_type))
    return checked


@dataclass
class VisitInput:
    visited_at: dt.datetime
    findings: str
    location_text: str = ""
    lon: float | None = None
    lat: float | None = None
    gps_accuracy_m: float | None = None
    photos: Sequence[Photo] = ()


def visit_record(
    *,
    actor: User,
    data: VisitInput,
    membership: SpecialGroupMembership | None = None,
    resident: Resident | None = None,
    house: House | None = None,
    place: Place | None = None,
    now: dt.datetime | None = None,
) -> Visit:
    """Record a visit (走访) with time, place, findings (sealed), GPS and photos. Needs
    ``visit.record`` at the subject's region (and the group's permission for a member).

    For a member: a visit inside the current period (before its due time) marks the period
    visited; any visit resolves the member's open missed visits whose period began before it
    (补访). The visit time may not lie in the future (5 minutes' clock skew allowed). Audit:
    ``people.visit.record``."""
    now = now or timezone.now()
    if membership is not None:
        resident = membership.resident
    subject: Any = membership or resident or house or place
    if subject is None:
        raise FieldError("subject", _("请选择走访对象。"), code="required")
    _require(actor, Perm.VISIT_RECORD, subject)
    if membership is not None:
        _require(actor, group_perm(membership.group), membership)
        if membership.status != MembershipStatus.ACTIVE:
            raise Conflict(_("该记录已解除管理，不能再登记走访。"), code="closed")
    if data.visited_at is None:
        raise FieldError("visited_at", _("请填写走访时间。"), code="required")
    if timezone.is_naive(data.visited_at):
        raise FieldError("visited_at", _("走访时间须带时区。"), code="naive_datetime")
    if data.visited_at > now + dt.timedelta(minutes=5):
        raise FieldError("visited_at", _("走访时间不能晚于当前时间。"), code="in_future")
    findings = (data.findings or "").strip()
    if not findings:
        raise FieldError("findings", _("请填写走访情况。"), code="required")
    if len(findings) > 5000:
        raise FieldError("findings", _("走访情况不能超过5000个字。"), code="too_long")
    location_text = (data.location_text or "").strip()
    if len(location_text) > 200:
        raise FieldError("location_text", _("走访地点不能超过200个字。"), code="too_long")
    if (data.lon is None) != (data.lat is None):
        raise FieldError("lat" if data.lat is None else "lon", _("经度和纬度须同时填写。"), code="required")
    if data.lon is not None and not (-180 <= data.lon <= 180):
        raise FieldError("lon", _("经度应在-180到180之间。"), code="out_of_range")
    if data.lat is not None and not (-90 <= data.lat <= 90):
        raise FieldError("lat", _("纬度应在-90到90之间。"), code="out_of_range")
    if data.gps_accuracy_m is not None and data.gps_accuracy_m < 0:
        raise FieldError("gps_accuracy_m", _("定位精度不能为负数。"), code="out_of_range")
    photos = _check_photos(list(data.photos))
    sealed = seal_text(findings, FINDINGS)
    with transaction.atomic():
        visit = Visit.objects.create(
            resident=resident,
            membership=membership,
            house=house,
            place=place,
            visitor=actor,
            visited_at=data.visited_at,
            location_text=location_text,
            findings_enc=sealed.enc,
            key_id=sealed.key_id,
            lon=data.lon,
            lat=data.lat,
            gps_accuracy_m=data.gps_accuracy_m,
            region_id=subject.region_id,
            region_path=subject.region_path,
            grid_id=subject.grid_id,
            created_at=now,
        )
        for photo, content_type in photos:
            digest = hashlib.sha256(photo.content).hexdigest()
            VisitPhoto.objects.create(
                visit=visit,
                file=ContentFile(
                    photo.content, name=f"{digest[:16]}{photo.name[photo.name.rfind('.') :].lower()}"
                ),
                original_name=photo.name[:200],
                content_type=content_type,
                size=len(photo.content),
                sha256=digest,
                region_path=visit.region_path,
            )
        if membership is not None:
            _visit_counts(membership, visit)
        audit_record(
            actor=actor,
            action="people.visit.record",
            obj=visit,
            data={"membership": membership.pk if membership else None, "photos": len(photos)},
        )
    return visit


def _visit_counts(membership: SpecialGroupMembership, visit: Visit) -> None:
    locked = SpecialGroupMembership.objects.select_for_update().get(pk=membership.pk)
    updates: dict[str, Any] = {}
    if locked.last_visited_at is None or visit.visited_at > locked.last_visited_at:
        updates["last_visited_at"] = visit.visited_at
    if locked.period_start <= visit.visited_at < locked.due_at and not locked.period_visited:
        updates["period_visited"] = True
    if updates:
        SpecialGroupMembership.objects.filter(pk=locked.pk).update(**updates)
        for name, value in updates.items():
            setattr(membership, name, value)
    VisitMiss.objects.filter(
        membership_id=locked.pk, resolved_at__isnull=True, period_start__lte=visit.visited_at
    ).update(resolved_at=visit.created_at, resolved_by_visit=visit)


# --- the missed-visit sweep ---------------------------------------------------------------------------


@dataclass
class VisitSweepReport:
    checked: int = 0
    advanced: int = 0
    misses: int = 0
    notices: int = 0
    miss_ids: list[int] = field(default_factory=list)


MAX_CATCH_UP = 400  # periods per membership per run (a weekly clock left alone for ~8 years)


def visit_sweep(
    *, now: dt.datetime | None = None, deliver: NoticeSink | None = None, batch_size: int = 500
) -> VisitSweepReport:
    """Advance every active membership's visit clock whose due time has passed.

    For each period that ended (plus grace) without a visit, one ``VisitMiss`` row is created —
    at most once per (membership, period), guarded by a unique constraint and a compare-and-set on
    the clock (``due_at`` as read) — and one notice (``visit_overdue``) goes to the member's
    supervisor and the grid's leader (else the managers of the group at the region): ``deliver``
    receives the notices after commit (the periodic task passes ``notifications.notify_many``;
    ``people`` may not import ``notifications``). Running it twice creates nothing twice. The next period's ``period_visited`` is computed from
    the visits already recorded in it. Called by the periodic task."""
    now = now or timezone.now()
    report = VisitSweepReport()
    policies = [
        schedules.PolicyRow(p.group, p.min_risk_level, p.frequency, p.grace_days)
        for p in VisitSchedulePolicy.objects.all()
    ]
    last_id = 0
    while True:
        ids = list(
            SpecialGroupMembership.objects.filter(
                status=MembershipStatus.ACTIVE, due_at__lte=now, pk__gt=last_id
            )
            .order_by("pk")
            .values_list("pk", flat=True)[:batch_size]
        )
        if not ids:
            break
        last_id = ids[-1]
        for membership_id in ids:
            _sweep_one(membership_id, now, policies, report, deliver)
    return report


def _sweep_one(
    membership_id: int,
    now: dt.datetime,
    policies: list[schedules.PolicyRow],
    report: VisitSweepReport,
    deliver: NoticeSink | None,
) -> None:
    created: list[VisitMiss] = []
    with transaction.atomic():
        m = (
            SpecialGroupMembership.objects.select_for_update()
            .filter(pk=membership_id, status=MembershipStatus.ACTIVE, due_at__lte=now)
            .first()
        )
        if m is None:
            return  # another worker got there first, or it was closed
        report.checked += 1
        read_due = m.due_at
        policy = schedules.policy_for(policies, m.group, m.risk_level)
        start, end, due, visited = m.period_start, m.period_end, m.due_at, m.period_visited
        steps = 0
        while due <= now and steps < MAX_CATCH_UP:
            steps += 1
            if not visited and not _visited_in(m.pk, start, due):
                miss, was_created = VisitMiss.objects.get_or_create(
                    membership=m,
                    period_start=start,
                    defaults={
                        "period_end": end,
                        "due_at": due,
                        "region_path": m.region_path,
                        "supervisor": m.supervisor,
                        "created_at": now,
                    },
                )
                if was_created:
                    late = (
                        Visit.objects.filter(membership_id=m.pk, visited_at__gte=end)
                        .order_by("visited_at", "pk")
                        .first()
                    )
                    if late is not None:
                        # made up already (补访 recorded before the sweep saw the miss): no notice
                        VisitMiss.objects.filter(pk=miss.pk).update(
                            resolved_at=late.created_at, resolved_by_visit=late
                        )
                        report.misses += 1
                        report.miss_ids.append(miss.pk)
                    else:
                        created.append(miss)
            nxt = schedules.next_period(policy, end)
            start, end, due = nxt.start, nxt.end, nxt.due_at
            visited = _visited_in(m.pk, start, due)
        updated = SpecialGroupMembership.objects.filter(pk=m.pk, due_at=read_due).update(
            frequency=policy.frequency,
            grace_days=policy.grace_days,
            period_start=start,
            period_end=end,
            due_at=due,
            period_visited=visited,
        )
        if not updated:
            transaction.set_rollback(True)
            return
        report.advanced += 1
        report.misses += len(created)
        report.miss_ids.extend(miss.pk for miss in created)
        if created:
            recipients = _miss_recipients(m)
            notices = [_miss_notice(m, miss, recipients) for miss in created]
            report.notices += sum(len(n.recipients) for n in notices)
            if deliver is not None:
                sink = deliver
                transaction.on_commit(lambda: sink(notices))


def _miss_recipients(m: SpecialGroupMembership) -> tuple[int, ...]:
    ids: set[int] = set()
    if m.supervisor_id:
        ids.add(m.supervisor_id)
    if m.grid_id:
        ids.update(
            GridMembership.objects.filter(
                grid_id=m.grid_id, role=GridRole.LEADER, user__is_active=True
            ).values_list("user_id", flat=True)
        )
    if not ids:
        managers = users_who_can(Perm.SPECIAL_MANAGE, m.region_path).values_list("pk", flat=True)
        with_group = set(users_who_can(group_perm(m.group), m.region_path).values_list("pk", flat=True))
        ids.update(pk for pk in managers if pk in with_group)
    return tuple(sorted(ids))


def _miss_notice(m: SpecialGroupMembership, miss: VisitMiss, recipients: tuple[int, ...]) -> VisitNotice:
    local_start = timezone.localtime(miss.period_start)
    # No personal data in a notice: the group and the record number only.
    title = _("走访逾期：{group}记录#{id}（{start}起的周期）").format(
        group=m.get_group_display(), id=m.pk, start=f"{local_start:%Y-%m-%d}"
    )
    body = _("该周期应于{due}前完成走访，尚无走访记录。").format(
        due=f"{timezone.localtime(miss.due_at):%Y-%m-%d %H:%M}"
    )
    return VisitNotice(
        recipients=recipients,
        kind=VISIT_OVERDUE_KIND,
        title=title,
        body=body,
        link=reverse("membership-detail", args=[m.pk]),
    )


def membership_policy_refresh(*, actor: User | None, now: dt.datetime | None = None) -> int:
    """After the visit policies were edited: move every active membership whose policy changed to
    the new schedule from the period containing now. Returns how many changed. Audit:
    ``people.visit_policy.apply``."""
    now = now or timezone.now()
    policies = [
        schedules.PolicyRow(p.group, p.min_risk_level, p.frequency, p.grace_days)
        for p in VisitSchedulePolicy.objects.all()
    ]
    changed = 0
    with transaction.atomic():
        for m in SpecialGroupMembership.objects.select_for_update().filter(status=MembershipStatus.ACTIVE):
            policy = schedules.policy_for(policies, m.group, m.risk_level)
            if (policy.frequency, policy.grace_days) == (m.frequency, m.grace_days):
                continue
            clock = _clock_from(policy, now)
            SpecialGroupMembership.objects.filter(pk=m.pk).update(
                **clock, period_visited=_visited_in(m.pk, clock["period_start"], clock["due_at"])
            )
            changed += 1
        audit_record(actor=_actor(actor), action="people.visit_policy.apply", data={"changed": changed})
    return changed


# --- visit policies (configuration) -------------------------------------------------------------------


def _require_policy_manager(actor: Any) -> None:
    from zongzhi.orgs.scoping import user_can_anywhere

    if actor is not None and not user_can_anywhere(actor, Perm.CATALOGUE_MANAGE):
        raise _deny()


def visit_policy_set(
    *,
    actor: User | None,
    group: str,
    min_risk_level: int,
    frequency: str,
    grace_days: int = 0,
    now: dt.datetime | None = None,
) -> VisitSchedulePolicy:
    """Create or change the visit policy of a group from a risk level (configuration, held by
    ``catalogue.manage``), then move the affected memberships to the new schedule from the period
    containing now (``membership_policy_refresh``). Audit: ``people.visit_policy.set``."""
    _require_policy_manager(actor)
    if group not in SpecialGroup.values:
        raise FieldError("group", _("人群类别的取值无效。"), code="invalid_choice")
    if not 0 <= int(min_risk_level) <= 5:
        raise FieldError("min_risk_level", _("风险等级应在0到5之间。"), code="out_of_range")
    if frequency not in (schedules.WEEKLY, schedules.MONTHLY, schedules.QUARTERLY):
        raise FieldError("frequency", _("走访频次的取值无效。"), code="invalid_choice")
    if not 0 <= int(grace_days) <= 60:
        raise FieldError("grace_days", _("宽限天数应在0到60之间。"), code="out_of_range")
    with transaction.atomic():
        policy, _created = VisitSchedulePolicy.objects.update_or_create(
            group=group,
            min_risk_level=int(min_risk_level),
            defaults={"frequency": frequency, "grace_days": int(grace_days)},
        )
        audit_record(
            actor=_actor(actor),
            action="people.visit_policy.set",
            obj=policy,
            data={
                "group": group,
                "min_risk_level": min_risk_level,
                "frequency": frequency,
                "grace_days": grace_days,
            },
        )
        membership_policy_refresh(actor=actor, now=now)
    return policy


def visit_policy_delete(
    *, actor: User | None, policy: VisitSchedulePolicy, now: dt.datetime | None = None
) -> None:
    """Remove a policy row (the next lower row of the group, or the default, applies)."""
    _require_policy_manager(actor)
    with transaction.atomic():
        audit_record(
            actor=_actor(actor),
            action="people.visit_policy.delete",
            obj=policy,
            data={"group": policy.group, "min_risk_level": policy.min_risk_level},
        )
        policy.delete()
        membership_policy_refresh(actor=actor, now=now)
