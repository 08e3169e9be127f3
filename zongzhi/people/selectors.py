"""Reads on base data, always through ``orgs.scoping``; the masked views of personal data.

Masking by role (GB/T 35273 去标识化) — the same for web pages, the API and exports:

* ID numbers and phones are masked everywhere (``3301**********1234``, ``138****5678``); the clear
  values come only from the audited ``services.record_unmask``.
* Names are clear for roles that maintain base data (``person.manage`` at the row's region: grid
  workers, grid leaders, center staff) and masked (``张*``) for view-only roles (mediators).
* Special-population memberships, their details and visits to members are seen only with the
  group's permission ``special.<group>`` in scope (``SpecialGroupMembership.scope_q``)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from zongzhi.core.masking import mask_id_number, mask_name, mask_phone
from zongzhi.orgs.models import GridMembership
from zongzhi.orgs.paths import is_within
from zongzhi.orgs.roles import Perm
from zongzhi.orgs.scoping import grants_with, user_can, visible_to

from .groups import detail_display, detail_label
from .models import (
    House,
    MembershipStatus,
    Organization,
    Place,
    Resident,
    SpecialGroupMembership,
    Visit,
    VisitMiss,
    VisitSchedulePolicy,
)
from .sealing import (
    DETAILS,
    FINDINGS,
    ID_NUMBER,
    NAME,
    PHONE,
    RISK_ASSESSMENT,
    id_number_lookup,
    name_lookup,
    phone_lookup,
    unseal,
    unseal_json,
)
from .validators import normalise_id_number, normalise_phone

# --- lists and lookups ------------------------------------------------------------------------------


@dataclass
class ResidentFilter:
    id_number: str = ""  # exact, through the blind index
    phone: str = ""  # exact, through the blind index
    name: str = ""  # exact, through the blind index
    region_id: int | None = None
    grid_id: int | None = None
    resident_type: str = ""
    house_id: int | None = None


def visible_residents(user: Any) -> QuerySet[Resident]:
    return visible_to(user, Resident)


def residents(user: Any, f: ResidentFilter | None = None) -> QuerySet[Resident]:
    """Residents ``user`` may see, filtered. Exact ID number / phone / name lookups use the blind
    indexes: outside the user's scope a matching person is simply not found."""
    f = f or ResidentFilter()
    qs = visible_to(user, Resident).select_related("region", "grid", "house")
    if f.id_number.strip():
        qs = qs.filter(id_number_index=id_number_lookup(normalise_id_number(f.id_number)))
    if f.phone.strip():
        qs = qs.filter(phone_index=phone_lookup(normalise_phone(f.phone)))
    if f.name.strip():
        qs = qs.filter(name_index=name_lookup(f.name))
    if f.region_id:
        qs = qs.filter(region_id=f.region_id)
    if f.grid_id:
        qs = qs.filter(grid_id=f.grid_id)
    if f.resident_type:
        qs = qs.filter(resident_type=f.resident_type)
    if f.house_id:
        qs = qs.filter(house_id=f.house_id)
    return qs.order_by("region_path", "id")


def resident_by_id_number(user: Any, id_number: str) -> Resident | None:
    """The visible resident with this ID number, or None (also when they exist out of scope)."""
    return residents(user, ResidentFilter(id_number=id_number)).first()


def houses(
    user: Any, *, address: str = "", grid_id: int | None = None, use: str = "", owner_phone: str = ""
) -> QuerySet[House]:
    qs = visible_to(user, House).select_related("region", "grid")
    if address.strip():
        qs = qs.filter(address__icontains=address.strip())
    if grid_id:
        qs = qs.filter(grid_id=grid_id)
    if use:
        qs = qs.filter(use=use)
    if owner_phone.strip():
        qs = qs.filter(owner_phone_index=phone_lookup(owner_phone))
    return qs.order_by("region_path", "address_key")


def places(user: Any, *, name: str = "", kind: str = "", grid_id: int | None = None) -> QuerySet[Place]:
    qs = visible_to(user, Place).select_related("region", "grid")
    if name.strip():
        qs = qs.filter(name__icontains=name.strip())
    if kind:
        qs = qs.filter(kind=kind)
    if grid_id:
        qs = qs.filter(grid_id=grid_id)
    return qs.order_by("region_path", "name")


def organizations(
    user: Any, *, name: str = "", credit_code: str = "", kind: str = "", grid_id: int | None = None
) -> QuerySet[Organization]:
    qs = visible_to(user, Organization).select_related("region", "grid")
    if name.strip():
        qs = qs.filter(name__icontains=name.strip())
    if credit_code.strip():
        qs = qs.filter(credit_code=credit_code.strip().upper())
    if kind:
        qs = qs.filter(kind=kind)
    if grid_id:
        qs = qs.filter(grid_id=grid_id)
    return qs.order_by("region_path", "name")


# --- special populations and visits ------------------------------------------------------------------


def _open_miss() -> Exists:
    return Exists(VisitMiss.objects.filter(membership_id=OuterRef("pk"), resolved_at__isnull=True))


def overdue_q(now: dt.datetime) -> Q:
    """An active membership is overdue when its current period's due time passed without a visit
    (before the sweep ran) or a missed visit of an earlier period is still not made up."""
    return Q(status=MembershipStatus.ACTIVE) & (
        (Q(due_at__lte=now) & Q(period_visited=False)) | Q(has_open_miss=True)
    )


def memberships(
    user: Any,
    *,
    group: str = "",
    status: str = MembershipStatus.ACTIVE,
    overdue: bool = False,
    resident_id: int | None = None,
    now: dt.datetime | None = None,
) -> QuerySet[SpecialGroupMembership]:
    """Memberships ``user`` may see (their groups, in scope), annotated ``has_open_miss``."""
    qs = (
        visible_to(user, SpecialGroupMembership)
        .select_related("resident", "region", "grid", "supervisor")
        .annotate(has_open_miss=_open_miss())
    )
    if group:
        qs = qs.filter(group=group)
    if status:
        qs = qs.filter(status=status)
    if resident_id:
        qs = qs.filter(resident_id=resident_id)
    if overdue:
        qs = qs.filter(overdue_q(now or timezone.now()))
    return qs.order_by("due_at", "id")


def overdue_memberships(user: Any, *, now: dt.datetime | None = None) -> QuerySet[SpecialGroupMembership]:
    """Visible active memberships whose visits are overdue (see ``overdue_q``)."""
    return memberships(user, overdue=True, now=now)


def visits_due(
    user: Any, *, now: dt.datetime | None = None, horizon_days: int = 7
) -> QuerySet[SpecialGroupMembership]:
    """ "My visits due": visible active memberships the user supervises or that lie in a grid the
    user belongs to, whose current period is not yet visited and is due within ``horizon_days``
    (overdue ones first), plus those with missed visits not made up."""
    now = now or timezone.now()
    my_grids = GridMembership.objects.filter(user=user).values("grid_id")
    return (
        memberships(user, now=now)
        .filter(Q(supervisor=user) | Q(grid_id__in=my_grids))
        .filter(
            (Q(period_visited=False) & Q(due_at__lte=now + dt.timedelta(days=horizon_days)))
            | Q(has_open_miss=True)
        )
        .order_by("due_at", "id")
    )


def visits(
    user: Any,
    *,
    resident: Resident | None = None,
    house: House | None = None,
    place: Place | None = None,
    membership: SpecialGroupMembership | None = None,
    visitor_id: int | None = None,
) -> QuerySet[Visit]:
    """Visits ``user`` may see (visits to members need the group's permission)."""
    qs = visible_to(user, Visit).select_related("visitor", "membership").prefetch_related("photos")
    if resident is not None:
        qs = qs.filter(resident=resident)
    if house is not None:
        qs = qs.filter(house=house)
    if place is not None:
        qs = qs.filter(place=place)
    if membership is not None:
        qs = qs.filter(membership=membership)
    if visitor_id:
        qs = qs.filter(visitor_id=visitor_id)
    return qs.order_by("-visited_at", "-id")


def misses(
    user: Any, *, membership: SpecialGroupMembership | None = None, open_only: bool = False
) -> QuerySet[VisitMiss]:
    qs = visible_to(user, VisitMiss).select_related("membership")
    if membership is not None:
        qs = qs.filter(membership=membership)
    if open_only:
        qs = qs.filter(resolved_at__isnull=True)
    return qs.order_by("-due_at")


def visit_policies() -> QuerySet[VisitSchedulePolicy]:
    return VisitSchedulePolicy.objects.order_by("group", "min_risk_level")


# --- masked presentation ---------------------------------------------------------------------------


def may_see_names(user: Any, row: Any) -> bool:
    return user_can(user, Perm.PERSON_MANAGE, row)


def may_unmask(user: Any, row: Any) -> bool:
    return user_can(user, Perm.PERSON_UNMASK, row)


@dataclass(frozen=True)
class ResidentView:
    """A resident as a viewer may see them: ID number and phone masked; the name clear or masked
    by role (``may_see_names``)."""

    resident: Resident
    name: str
    id_number: str
    phone: str
    age: int | None

    @property
    def pk(self) -> int:
        return int(self.resident.pk)


class MaskingContext:
    """Per-request cache of "may this viewer see names here?" by region path."""

    def __init__(self, user: Any) -> None:
        self.user = user
        self._name_roots = [g.path for g in grants_with(user, Perm.PERSON_MANAGE)]
        self._root = bool(getattr(user, "is_superuser", False))

    def names_clear(self, path: str) -> bool:
        return self._root or any(is_within(path, root) for root in self._name_roots)


def _age(birth: dt.date | None, today: dt.date) -> int | None:
    if birth is None:
        return None
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


def resident_view(user: Any, r: Resident, ctx: MaskingContext | None = None) -> ResidentView:
    ctx = ctx or MaskingContext(user)
    name = unseal(r.name_enc, NAME)
    return ResidentView(
        resident=r,
        name=name if ctx.names_clear(r.region_path) else mask_name(name),
        id_number=mask_id_number(unseal(r.id_number_enc, ID_NUMBER)),
        phone=mask_phone(unseal(r.phone_enc, PHONE)),
        age=_age(r.birth_date, timezone.localdate()),
    )


def resident_views(user: Any, rows: Any) -> list[ResidentView]:
    ctx = MaskingContext(user)
    return [resident_view(user, r, ctx) for r in rows]


def masked_phone(token: str) -> str:
    return mask_phone(unseal(token, PHONE))


@dataclass(frozen=True)
class MembershipView:
    membership: SpecialGroupMembership
    resident: ResidentView
    details: list[tuple[str, str]]  # (label, value)
    risk_assessment: str
    overdue: bool


def membership_view(
    user: Any, m: SpecialGroupMembership, *, now: dt.datetime | None = None, ctx: MaskingContext | None = None
) -> MembershipView:
    """A visible membership with its decrypted group details and risk assessment (the caller got
    ``m`` through scoping, so the viewer holds the group's permission)."""
    now = now or timezone.now()
    details = unseal_json(m.details_enc, DETAILS)
    has_open = bool(getattr(m, "has_open_miss", False))
    return MembershipView(
        membership=m,
        resident=resident_view(user, m.resident, ctx),
        details=[(detail_label(m.group, k), detail_display(m.group, k, v)) for k, v in details.items()],
        risk_assessment=unseal(m.risk_assessment_enc, RISK_ASSESSMENT),
        overdue=m.status == MembershipStatus.ACTIVE
        and ((m.due_at <= now and not m.period_visited) or has_open),
    )


def membership_views(user: Any, rows: Any, *, now: dt.datetime | None = None) -> list[MembershipView]:
    ctx = MaskingContext(user)
    return [membership_view(user, m, now=now, ctx=ctx) for m in rows]


def membership_details(m: SpecialGroupMembership) -> dict[str, Any]:
    """The raw group details (for edit forms and the API)."""
    return unseal_json(m.details_enc, DETAILS)


def visit_findings(v: Visit) -> str:
    return unseal(v.findings_enc, FINDINGS)
