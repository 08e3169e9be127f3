"""Web pages of base data: lists with exact lookups, detail pages (visits, and the cases linked to
the record, rendered by the cases app), forms, audited unmasking, special populations, and the
grid worker's "my visits due" and visit form. Thin: forms shape input, services write, selectors
read; every object comes through ``orgs.scoping`` (404 outside scope)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Model
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from zongzhi.core.audit import client_ip
from zongzhi.core.errors import DomainError, FieldError
from zongzhi.orgs.models import GridMembership, Region
from zongzhi.orgs.roles import Perm
from zongzhi.orgs.scoping import get_visible_or_404, user_can, user_can_anywhere, visible_to

from . import selectors, services
from .forms import (
    CloseForm,
    HouseForm,
    MembershipForm,
    OrganizationForm,
    PlaceForm,
    ResidentForm,
    UnmaskForm,
    VisitForm,
    apply_error,
)
from .groups import SpecialGroup, group_perm
from .models import (
    House,
    HouseUse,
    Organization,
    OrganizationKind,
    Place,
    PlaceKind,
    Resident,
    ResidentType,
    SpecialGroupMembership,
    VisitPhoto,
)
from .records import HouseInput, OrganizationInput, PlaceInput, ResidentInput
from .sealing import ID_NUMBER, PHONE, unseal

PAGE_SIZE = 50


def _require_anywhere(user: Any, perm: str) -> None:
    if not user_can_anywhere(user, perm):
        raise Http404


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


def _page(request: HttpRequest, qs: Any) -> Any:
    return Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))


def _fail(exc: DomainError) -> None:
    if exc.status == 404:
        raise Http404 from exc


def _common(request: HttpRequest, obj: Model | None = None) -> dict[str, Any]:
    user = request.user
    return {
        "can_manage": obj is not None and user_can(user, Perm.PERSON_MANAGE, obj),
        "can_unmask": obj is not None and user_can(user, Perm.PERSON_UNMASK, obj),
        "can_visit": obj is not None and user_can(user, Perm.VISIT_RECORD, obj),
        "now": timezone.now(),
    }


# --- residents ------------------------------------------------------------------------------------------


@login_required
@require_GET
def resident_list(request: HttpRequest) -> HttpResponse:
    """Residents in scope. Exact lookup by ID number or phone goes through the blind index: a
    person outside the viewer's scope is not found, whatever is typed."""
    _require_anywhere(request.user, Perm.PERSON_VIEW)
    g = request.GET
    f = selectors.ResidentFilter(
        id_number=g.get("id_number", "")[:30],
        phone=g.get("phone", "")[:20],
        name=g.get("name", "")[:60],
        grid_id=_int(g.get("grid")),
        resident_type=g.get("type", "") if g.get("type") in ResidentType.values else "",
    )
    page = _page(request, selectors.residents(request.user, f))
    rows = selectors.resident_views(request.user, page.object_list)
    context = {
        "page": page,
        "rows": rows,
        "filters": f,
        "types": ResidentType.choices,
        "grids": visible_to(request.user, _grid_model(), Perm.PERSON_VIEW).order_by("code")[:300],
        "query": request.GET.copy(),
        "can_create": user_can_anywhere(request.user, Perm.PERSON_MANAGE),
        "tab": "residents",
    }
    return render(request, "people/resident_list.html", context)


def _grid_model() -> Any:
    from zongzhi.orgs.models import Grid

    return Grid


def _resident_context(request: HttpRequest, resident: Resident, **extra: Any) -> dict[str, Any]:
    user = request.user
    view = selectors.resident_view(user, resident)
    return {
        **_common(request, resident),
        "r": view,
        "resident": resident,
        "memberships": selectors.membership_views(
            user, selectors.memberships(user, resident_id=resident.pk, status="")
        ),
        "visits": [(v, selectors.visit_findings(v)) for v in selectors.visits(user, resident=resident)[:50]],
        "can_enrol": user_can(user, Perm.SPECIAL_MANAGE, resident)
        and any(user_can(user, group_perm(gr), resident) for gr in SpecialGroup.values),
        "unmask_form": extra.pop("unmask_form", None) or UnmaskForm(),
        "subject_kind": "resident",
        "obj_pk": resident.pk,
        "tab": "residents",
        **extra,
    }


@login_required
@require_GET
def resident_detail(request: HttpRequest, resident_id: int) -> HttpResponse:
    resident = get_visible_or_404(
        request.user, Resident.objects.select_related("region", "grid", "house"), pk=resident_id
    )
    return render(request, "people/resident_detail.html", _resident_context(request, resident))


def _resident_input(d: dict[str, Any], existing: Resident | None) -> ResidentInput:
    id_number = d.get("id_number") or ""
    phone = d.get("phone") or ""
    if existing is not None:
        # an edit leaves the ID number/phone empty to keep them (they are never sent to the page)
        id_number = id_number or unseal(existing.id_number_enc, ID_NUMBER)
        if not phone and not d.get("clear_phone"):
            phone = unseal(existing.phone_enc, PHONE)
    return ResidentInput(
        id_type=d["id_type"],
        id_number=id_number,
        name=d["name"],
        resident_type=d["resident_type"],
        sex=d.get("sex") or "",
        birth_date=d.get("birth_date"),
        ethnicity=d.get("ethnicity", ""),
        phone=phone,
        household_address=d.get("household_address", ""),
        current_address=d.get("current_address", ""),
        employment=d.get("employment", ""),
        notes=d.get("notes", ""),
    )


def _house_choice(user: Any, house_id: int | None) -> House | None:
    if not house_id:
        return None
    house = visible_to(user, House).filter(pk=house_id).first()
    if house is None:
        raise FieldError("house", _("所选房屋不存在或不在您的管辖范围内。"), code="out_of_scope")
    return house


@login_required
@require_http_methods(["GET", "POST"])
def resident_new(request: HttpRequest) -> HttpResponse:
    _require_anywhere(request.user, Perm.PERSON_MANAGE)
    form = ResidentForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        done = _save_resident(request, form, None, _("已登记实有人口。"))
        if done is not None:
            return done
    return _form_page(request, form, _("登记实有人口"), "residents")


def _save_resident(
    request: HttpRequest, form: ResidentForm, resident: Resident | None, done_message: str
) -> HttpResponse | None:
    """Register (``resident`` None) or change a resident from a valid form: the redirect to the
    resident's page, or ``None`` with the service's error on the form."""
    d = form.cleaned_data
    fields = {
        "data": _resident_input(d, resident),
        "region": d.get("region"),
        "grid": d.get("grid"),
        "house": _house_choice(request.user, d.get("house")),
    }
    try:
        if resident is None:
            resident = services.resident_create(actor=request.user, **fields)  # type: ignore[arg-type]
        else:
            services.resident_update(actor=request.user, resident=resident, **fields)  # type: ignore[arg-type]
    except DomainError as exc:
        _fail(exc)
        apply_error(form, exc)
        return None
    messages.success(request, done_message)
    return redirect("resident-detail", resident_id=resident.pk)


def _form_page(request: HttpRequest, form: Any, title: str, tab: str, obj: Any = None) -> HttpResponse:
    status = 422 if request.method == "POST" else 200
    return render(
        request,
        "people/record_form.html",
        {"form": form, "title": title, "tab": tab, "obj": obj},
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def resident_edit(request: HttpRequest, resident_id: int) -> HttpResponse:
    resident = get_visible_or_404(
        request.user, Resident.objects.select_related("region", "grid"), pk=resident_id
    )
    if not user_can(request.user, Perm.PERSON_MANAGE, resident):
        raise Http404
    view = selectors.resident_view(request.user, resident)
    initial = {
        "id_type": resident.id_type,
        "name": view.name,
        "sex": resident.sex,
        "birth_date": resident.birth_date,
        "ethnicity": resident.ethnicity,
        "resident_type": resident.resident_type,
        "household_address": resident.household_address,
        "current_address": resident.current_address,
        "house": resident.house_id,
        "employment": resident.employment,
        "notes": resident.notes,
        "region": resident.region_id,
        "grid": resident.grid_id,
    }
    form = ResidentForm(
        request.POST or None,
        initial=initial,
        user=request.user,
        editing=True,
        masked={"id_number": view.id_number, "phone": view.phone},
    )
    if request.method == "POST" and form.is_valid():
        done = _save_resident(request, form, resident, _("已保存。"))
        if done is not None:
            return done
    return _form_page(request, form, _("修改实有人口"), "residents", resident)


# --- audited unmasking -------------------------------------------------------------------------------------

_UNMASK_MODELS: dict[str, type[Model]] = {
    "resident": Resident,
    "house": House,
    "place": Place,
    "organization": Organization,
}


@login_required
@require_POST
def record_unmask(request: HttpRequest, kind: str, record_id: int) -> HttpResponse:
    """Show one record's clear ID number/phone after the viewer states why (audited). The page
    is rendered directly (no redirect), so the values never appear in a URL or a cached GET."""
    model = _UNMASK_MODELS.get(kind)
    if model is None:
        raise Http404
    record: Any = get_visible_or_404(request.user, model, pk=record_id)
    form = UnmaskForm(request.POST)
    clear: dict[str, str] | None = None
    if form.is_valid():
        try:
            clear = services.record_unmask(
                actor=request.user,  # type: ignore[arg-type]
                record=record,
                reason=form.cleaned_data["reason"],
                note=form.cleaned_data.get("note", ""),
                ip=client_ip(request),
            )
        except DomainError as exc:
            _fail(exc)
            if exc.status == 403:
                raise Http404 from exc  # the button is not offered; a forged request learns nothing
            apply_error(form, exc)
    status = 200 if clear is not None else 422
    if kind == "resident":
        response = render(
            request,
            "people/resident_detail.html",
            _resident_context(request, record, clear=clear, unmask_form=form),
        )
    else:
        response = render(
            request,
            "people/record_detail.html",
            _record_context(request, kind, record, clear=clear, unmask_form=form),
        )
    response.status_code = status
    response["Cache-Control"] = "no-store"
    return response


# --- houses, places, organizations ------------------------------------------------------------------------


def _record_context(request: HttpRequest, kind: str, obj: Any, **extra: Any) -> dict[str, Any]:
    user = request.user
    context: dict[str, Any] = {
        **_common(request, obj),
        "kind": kind,
        "obj": obj,
        "unmask_form": extra.pop("unmask_form", None) or UnmaskForm(),
        "subject_kind": kind,
        "obj_pk": obj.pk,
        "tab": f"{kind}s",
        **extra,
    }
    if kind == "house":
        context["phone"] = selectors.masked_phone(obj.owner_phone_enc)
        context["residents"] = selectors.resident_views(
            user, selectors.residents(user, selectors.ResidentFilter(house_id=obj.pk))[:100]
        )
        context["visits"] = [(v, selectors.visit_findings(v)) for v in selectors.visits(user, house=obj)[:50]]
    elif kind == "place":
        context["phone"] = selectors.masked_phone(obj.contact_phone_enc)
        context["visits"] = [(v, selectors.visit_findings(v)) for v in selectors.visits(user, place=obj)[:50]]
    else:
        context["phone"] = selectors.masked_phone(obj.contact_phone_enc)
        context["visits"] = []
    return context


@login_required
@require_GET
def house_list(request: HttpRequest) -> HttpResponse:
    _require_anywhere(request.user, Perm.PERSON_VIEW)
    g = request.GET
    qs = selectors.houses(
        request.user,
        address=g.get("address", "")[:100],
        grid_id=_int(g.get("grid")),
        use=g.get("use", "") if g.get("use") in HouseUse.values else "",
        owner_phone=g.get("owner_phone", "")[:20],
    )
    return _list_page(request, "house", qs, {"uses": HouseUse.choices})


@login_required
@require_GET
def place_list(request: HttpRequest) -> HttpResponse:
    _require_anywhere(request.user, Perm.PERSON_VIEW)
    g = request.GET
    qs = selectors.places(
        request.user,
        name=g.get("name", "")[:100],
        kind=g.get("kind", "") if g.get("kind") in PlaceKind.values else "",
        grid_id=_int(g.get("grid")),
    )
    return _list_page(request, "place", qs, {"kinds": PlaceKind.choices})


@login_required
@require_GET
def organization_list(request: HttpRequest) -> HttpResponse:
    _require_anywhere(request.user, Perm.PERSON_VIEW)
    g = request.GET
    qs = selectors.organizations(
        request.user,
        name=g.get("name", "")[:100],
        credit_code=g.get("credit_code", "")[:18],
        kind=g.get("kind", "") if g.get("kind") in OrganizationKind.values else "",
        grid_id=_int(g.get("grid")),
    )
    return _list_page(request, "organization", qs, {"kinds": OrganizationKind.choices})


def _list_page(request: HttpRequest, kind: str, qs: Any, extra: dict[str, Any]) -> HttpResponse:
    page = _page(request, qs)
    context = {
        "page": page,
        "kind": kind,
        "tab": f"{kind}s",
        "query": request.GET.copy(),
        "grids": visible_to(request.user, _grid_model(), Perm.PERSON_VIEW).order_by("code")[:300],
        "can_create": user_can_anywhere(request.user, Perm.PERSON_MANAGE),
        **extra,
    }
    return render(request, "people/record_list.html", context)


_RECORDS: dict[str, tuple[type[Model], type[Any], str, str]] = {
    "house": (House, HouseForm, "house_id", "house-detail"),
    "place": (Place, PlaceForm, "place_id", "place-detail"),
    "organization": (Organization, OrganizationForm, "organization_id", "organization-detail"),
}


def _record_detail(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    model = _RECORDS[kind][0]
    obj = get_visible_or_404(request.user, model.objects.select_related("region", "grid"), pk=pk)  # type: ignore[attr-defined]
    return render(request, "people/record_detail.html", _record_context(request, kind, obj))


@login_required
@require_GET
def record_detail(request: HttpRequest, kind: str, **ids: int) -> HttpResponse:
    """A house, place or organization; ``kind`` comes from the URL pattern, the id under its own
    name (``house_id``…)."""
    return _record_detail(request, kind, ids[_RECORDS[kind][2]])


def _phone_or_keep(d: dict[str, Any], field: str, existing: Any, column: str) -> str:
    value: str = d.get(field) or ""
    if existing is not None and not value:
        return unseal(getattr(existing, column), PHONE)
    return value


def _record_input(kind: str, d: dict[str, Any], existing: Any) -> Any:
    if kind == "house":
        return HouseInput(
            address=d["address"],
            building=d.get("building", ""),
            unit=d.get("unit", ""),
            room=d.get("room", ""),
            use=d["use"],
            owner_name=d.get("owner_name", ""),
            owner_phone=_phone_or_keep(d, "owner_phone", existing, "owner_phone_enc"),
            area_m2=d.get("area_m2"),
            lon=d.get("lon"),
            lat=d.get("lat"),
            notes=d.get("notes", ""),
        )
    if kind == "place":
        return PlaceInput(
            name=d["name"],
            address=d["address"],
            kind=d["kind"],
            contact_name=d.get("contact_name", ""),
            contact_phone=_phone_or_keep(d, "contact_phone", existing, "contact_phone_enc"),
            is_key=d.get("is_key", False),
            lon=d.get("lon"),
            lat=d.get("lat"),
            notes=d.get("notes", ""),
        )
    return OrganizationInput(
        name=d["name"],
        kind=d["kind"],
        credit_code=d.get("credit_code", ""),
        legal_representative=d.get("legal_representative", ""),
        contact_phone=_phone_or_keep(d, "contact_phone", existing, "contact_phone_enc"),
        address=d.get("address", ""),
        has_party_branch=d.get("has_party_branch", False),
        employees=d.get("employees"),
        lon=d.get("lon"),
        lat=d.get("lat"),
        notes=d.get("notes", ""),
    )


_TITLES = {
    "house": (_("登记房屋"), _("修改房屋")),
    "place": (_("登记场所"), _("修改场所")),
    "organization": (_("登记组织"), _("修改组织")),
}
_PHONE_FIELD = {"house": "owner_phone", "place": "contact_phone", "organization": "contact_phone"}


def _record_form(request: HttpRequest, kind: str, pk: int | None) -> HttpResponse:
    model, form_class, arg, detail = _RECORDS[kind]
    obj: Any = None
    initial: dict[str, Any] = {}
    if pk is not None:
        obj = get_visible_or_404(request.user, model, pk=pk)
        if not user_can(request.user, Perm.PERSON_MANAGE, obj):
            raise Http404
        initial = {
            f: getattr(obj, f) for f in form_class.base_fields if hasattr(obj, f) and not f.endswith("phone")
        }
        initial["region"], initial["grid"] = obj.region_id, obj.grid_id
    else:
        _require_anywhere(request.user, Perm.PERSON_MANAGE)
    form = form_class(request.POST or None, initial=initial, user=request.user)
    if obj is not None:
        phone = _PHONE_FIELD[kind]
        form.fields[phone].help_text = _("留空表示不修改")
        form.fields[phone].widget.attrs["placeholder"] = selectors.masked_phone(getattr(obj, f"{phone}_enc"))
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        data = _record_input(kind, d, obj)
        try:
            if obj is None:
                create = getattr(services, f"{kind}_create")
                obj = create(actor=request.user, data=data, region=d.get("region"), grid=d.get("grid"))
            else:
                update = getattr(services, f"{kind}_update")
                update(
                    actor=request.user, **{kind: obj}, data=data, region=d.get("region"), grid=d.get("grid")
                )
        except DomainError as exc:
            _fail(exc)
            apply_error(form, exc)
        else:
            messages.success(request, _("已保存。"))
            return redirect(detail, **{arg: obj.pk})
    return _form_page(request, form, str(_TITLES[kind][0 if pk is None else 1]), f"{kind}s", obj)


@login_required
@require_http_methods(["GET", "POST"])
def record_form(request: HttpRequest, kind: str, **ids: int) -> HttpResponse:
    """Register (no id in the URL) or change a house, place or organization."""
    return _record_form(request, kind, ids.get(_RECORDS[kind][2]))


# --- special populations -----------------------------------------------------------------------------------


def _groups_of(user: Any, target: Any = None) -> list[str]:
    if target is None:
        return [g for g in SpecialGroup.values if user_can_anywhere(user, group_perm(g))]
    return [g for g in SpecialGroup.values if user_can(user, group_perm(g), target)]


@login_required
@require_GET
def membership_list(request: HttpRequest) -> HttpResponse:
    _require_anywhere(request.user, Perm.SPECIAL_VIEW)
    groups = _groups_of(request.user)
    if not groups:
        raise Http404
    group = request.GET.get("group", "")
    group = group if group in groups else ""
    overdue = request.GET.get("overdue") == "1"
    status = request.GET.get("status", "active")
    status = status if status in ("active", "closed", "") else "active"
    qs = selectors.memberships(request.user, group=group, status=status, overdue=overdue)
    page = _page(request, qs)
    context = {
        "page": page,
        "rows": selectors.membership_views(request.user, page.object_list),
        "groups": [(g, SpecialGroup(g).label) for g in groups],
        "group": group,
        "overdue": overdue,
        "status": status,
        "query": request.GET.copy(),
        "tab": "special",
        "now": timezone.now(),
    }
    return render(request, "people/membership_list.html", context)


def _membership_context(request: HttpRequest, m: SpecialGroupMembership, **extra: Any) -> dict[str, Any]:
    user = request.user
    return {
        **_common(request, m),
        "mv": selectors.membership_view(user, m),
        "m": m,
        "visits": [(v, selectors.visit_findings(v)) for v in selectors.visits(user, membership=m)[:50]],
        "misses": selectors.misses(user, membership=m)[:50],
        "can_change": user_can(user, Perm.SPECIAL_MANAGE, m) and m.status == "active",
        "close_form": extra.pop("close_form", None) or CloseForm(),
        "tab": "special",
        **extra,
    }


def _membership(request: HttpRequest, membership_id: int) -> SpecialGroupMembership:
    return get_visible_or_404(
        request.user,
        selectors.memberships(request.user, status=""),
        pk=membership_id,
    )


@login_required
@require_GET
def membership_detail(request: HttpRequest, membership_id: int) -> HttpResponse:
    m = _membership(request, membership_id)
    return render(request, "people/membership_detail.html", _membership_context(request, m))


def _membership_input(form: MembershipForm) -> services.MembershipInput:
    d = form.cleaned_data
    return services.MembershipInput(
        starts_on=d["starts_on"],
        ends_on=d.get("ends_on"),
        risk_level=d["risk_level"],
        supervisor=d.get("supervisor"),
        supervisor_names=d.get("supervisor_names", ""),
        risk_assessment=d.get("risk_assessment", ""),
        assessed_on=d.get("assessed_on"),
        assistance_status=d["assistance_status"],
        details=form.details(),
    )


@login_required
@require_http_methods(["GET", "POST"])
def membership_new(request: HttpRequest, resident_id: int) -> HttpResponse:
    resident = get_visible_or_404(request.user, Resident, pk=resident_id)
    groups = _groups_of(request.user, resident)
    if not groups or not user_can(request.user, Perm.SPECIAL_MANAGE, resident):
        raise Http404
    group = request.GET.get("group", "")
    group = group if group in groups else groups[0]
    form = MembershipForm(
        request.POST or None,
        user=request.user,
        group=group,
        region_path=resident.region_path,
        initial={"starts_on": timezone.localdate()},
    )
    if request.method == "POST" and form.is_valid():
        try:
            m = services.membership_enrol(
                actor=request.user,  # type: ignore[arg-type]
                resident=resident,
                group=group,
                data=_membership_input(form),
            )
        except DomainError as exc:
            _fail(exc)
            apply_error(form, exc)
        else:
            messages.success(request, _("已纳入管理。"))
            return redirect("membership-detail", membership_id=m.pk)
    view = selectors.resident_view(request.user, resident)
    status = 422 if request.method == "POST" else 200
    return render(
        request,
        "people/membership_form.html",
        {
            "form": form,
            "resident": view,
            "title": _("纳入特殊人群管理"),
            "tab": "special",
            "groups": [(g, SpecialGroup(g).label) for g in groups],
            "group": group,
            "resident_id": resident.pk,
        },
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def membership_edit(request: HttpRequest, membership_id: int) -> HttpResponse:
    m = _membership(request, membership_id)
    if not user_can(request.user, Perm.SPECIAL_MANAGE, m):
        raise Http404
    mv = selectors.membership_view(request.user, m)
    initial = {
        "starts_on": m.starts_on,
        "ends_on": m.ends_on,
        "risk_level": m.risk_level,
        "supervisor": m.supervisor_id,
        "supervisor_names": m.supervisor_names,
        "risk_assessment": mv.risk_assessment,
        "assessed_on": m.assessed_on,
        "assistance_status": m.assistance_status,
        **{f"d_{k}": v for k, v in selectors.membership_details(m).items()},
    }
    form = MembershipForm(
        request.POST or None, initial=initial, user=request.user, group=m.group, region_path=m.region_path
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.membership_update(
                actor=request.user,  # type: ignore[arg-type]
                membership=m,
                data=_membership_input(form),
            )
        except DomainError as exc:
            _fail(exc)
            apply_error(form, exc)
        else:
            messages.success(request, _("已保存。"))
            return redirect("membership-detail", membership_id=m.pk)
    status = 422 if request.method == "POST" else 200
    return render(
        request,
        "people/membership_form.html",
        {"form": form, "resident": mv.resident, "m": m, "title": _("修改特殊人群信息"), "tab": "special"},
        status=status,
    )


@login_required
@require_POST
def membership_close(request: HttpRequest, membership_id: int) -> HttpResponse:
    m = _membership(request, membership_id)
    if not user_can(request.user, Perm.SPECIAL_MANAGE, m):
        raise Http404
    form = CloseForm(request.POST)
    if form.is_valid():
        try:
            services.membership_close(
                actor=request.user,  # type: ignore[arg-type]
                membership=m,
                reason=form.cleaned_data["reason"],
            )
        except DomainError as exc:
            _fail(exc)
            apply_error(form, exc)
        else:
            messages.success(request, _("已解除管理。"))
            return redirect("membership-detail", membership_id=m.pk)
    response = render(
        request, "people/membership_detail.html", _membership_context(request, m, close_form=form)
    )
    response.status_code = 422
    return response


# --- visits (the grid worker's phone) --------------------------------------------------------------------


@login_required
@require_GET
def visits_due(request: HttpRequest) -> HttpResponse:
    """ "My visits due": the members this grid worker supervises or who live in their grids."""
    _require_anywhere(request.user, Perm.VISIT_RECORD)
    now = timezone.now()
    rows = selectors.membership_views(
        request.user, selectors.visits_due(request.user, now=now)[:200], now=now
    )
    recent = selectors.visits(request.user, visitor_id=request.user.pk)[:20]
    grids = GridMembership.objects.filter(user_id=int(request.user.pk or 0)).select_related(
        "grid", "grid__village"
    )
    return render(
        request,
        "people/visits_due.html",
        {"rows": rows, "recent": recent, "now": now, "grids": grids},
    )


_VISIT_SUBJECTS: dict[str, type[Model]] = {
    "special": SpecialGroupMembership,
    "resident": Resident,
    "house": House,
    "place": Place,
}


@login_required
@require_http_methods(["GET", "POST"])
def visit_new(request: HttpRequest, kind: str, record_id: int) -> HttpResponse:
    model = _VISIT_SUBJECTS.get(kind)
    if model is None:
        raise Http404
    subject: Any
    if kind == "special":
        subject = _membership(request, record_id)
    else:
        subject = get_visible_or_404(request.user, model, pk=record_id)
    if not user_can(request.user, Perm.VISIT_RECORD, subject):
        raise Http404
    form = VisitForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        photos = [services.Photo(name=f.name or "photo.jpg", content=f.read()) for f in d.get("photos") or []]
        try:
            services.visit_record(
                actor=request.user,  # type: ignore[arg-type]
                data=services.VisitInput(
                    visited_at=d["visited_at"],
                    findings=d["findings"],
                    location_text=d.get("location_text", ""),
                    lon=d.get("lon"),
                    lat=d.get("lat"),
                    gps_accuracy_m=d.get("gps_accuracy_m"),
                    photos=photos,
                ),
                **{"membership" if kind == "special" else kind: subject},
            )
        except DomainError as exc:
            _fail(exc)
            apply_error(form, exc)
        else:
            messages.success(request, _("走访已记录。"))
            return redirect("visits-due")
    label = _subject_label(request, kind, subject)
    status = 422 if request.method == "POST" else 200
    return render(
        request,
        "people/visit_form.html",
        {"form": form, "label": label, "kind": kind, "subject": subject},
        status=status,
    )


def _subject_label(request: HttpRequest, kind: str, subject: Any) -> str:
    if kind == "special":
        view = selectors.resident_view(request.user, subject.resident)
        return f"{subject.get_group_display()} · {view.name}"
    if kind == "resident":
        return selectors.resident_view(request.user, subject).name
    return str(subject)


@login_required
@require_GET
def visit_photo(request: HttpRequest, visit_id: int, photo_id: int) -> HttpResponseBase:
    """Photos are served only through the scoping layer (a member's visit needs the group's
    permission), never from a public media URL."""
    photo = get_visible_or_404(request.user, VisitPhoto, pk=photo_id, visit_id=visit_id)
    response = FileResponse(
        photo.file.open("rb"), content_type=photo.content_type, filename=photo.original_name
    )
    response["Cache-Control"] = "private, max-age=300"
    return response


def region_name(region: Region | None) -> str:
    return region.name if region else ""
