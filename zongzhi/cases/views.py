"""Web pages of the loop: operator workbench, case detail and actions, intake, department desk,
grid-worker mobile pages, citizen portal. Thin: forms shape input, services write, selectors read."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from zongzhi.core.audit import client_ip
from zongzhi.core.crypto import decrypt
from zongzhi.core.errors import DomainError, NotFound
from zongzhi.core.masking import mask_name, mask_phone
from zongzhi.core.paging import ListPaginator
from zongzhi.orgs.models import Department, GridMembership, Region, RegionLevel
from zongzhi.orgs.paths import subtree_q
from zongzhi.orgs.roles import Perm, Role
from zongzhi.orgs.scoping import get_visible_or_404, grants_of, user_can_anywhere, visible_to

from . import selectors, services
from .forms import (
    ActionForm,
    FeedbackActionForm,
    IntakeForm,
    MobileReportForm,
    PublicRatingForm,
    PublicReportForm,
    SupervisionReplyForm,
    TrackForm,
    apply_error,
    to_uploads,
)
from .models import Case, CaseAttachment, CaseState, Category, Supervision
from .states import BY_ACTION, action_label

PAGE_SIZE = 50


def _masked(case: Case) -> tuple[str, str]:
    name = mask_name(decrypt(case.reporter_name_enc)) if case.reporter_name_enc else ""
    phone = mask_phone(decrypt(case.reporter_phone_enc)) if case.reporter_phone_enc else ""
    return name, phone


def _filters_from(request: HttpRequest, *, default_queue: str | None) -> selectors.CaseFilters:
    g = request.GET
    queue = g.get("queue", default_queue or "") or None
    if queue is not None and queue not in selectors.QUEUES:
        queue = None
    order = g.get("order", "due")
    return selectors.CaseFilters(
        queue=queue,
        state=g.get("state") or None,
        category=g.get("category") or None,
        region=g.get("region") or None,
        department=int(g["department"]) if g.get("department", "").isdigit() else None,
        channel=g.get("channel") or None,
        urgency=g.get("urgency") or None,
        created_from=_date(g.get("from")),
        created_to=_date(g.get("to")),
        text=g.get("q") or None,
        mine=g.get("scope", "mine") == "mine",
        order=order if order in selectors.ORDERINGS else "due",
    )


def _date(value: str | None) -> Any:
    from datetime import date

    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def home(request: HttpRequest) -> HttpResponse:
    """Send each user to the page of their work."""
    if not request.user.is_authenticated:
        return redirect("login")
    roles = {g.role for g in grants_of(request.user)}
    if roles & {Role.CENTER_OPERATOR, Role.CENTER_DIRECTOR}:
        return redirect("workbench")
    if Role.DEPARTMENT_HANDLER in roles:
        return redirect("desk")
    if roles & {Role.GRID_WORKER, Role.GRID_LEADER}:
        return redirect("mobile-home")
    if roles & {Role.LEADER_VIEWER, Role.MEDIATOR}:
        return redirect("workbench")
    return render(request, "orgs/home.html", {"grants": grants_of(request.user)})


# --- operator workbench ----------------------------------------------------------------------------------


@login_required
@require_GET
def workbench(request: HttpRequest) -> HttpResponse:
    if not user_can_anywhere(request.user, Perm.CASE_VIEW):
        raise Http404
    f = _filters_from(request, default_queue="to_accept")
    now = timezone.now()
    counts = selectors.queue_counts(request.user, mine=f.mine, now=now)
    rows = selectors.for_list(selectors.case_list(request.user, f, now=now))
    known = counts[f.queue] if f.queue and selectors.queue_only(f) else None  # the tab's number: no COUNT(*)
    page = ListPaginator(rows, PAGE_SIZE, count=known).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "filters": f,
        "queues": [(key, _(label), counts[key]) for key, label in selectors.QUEUES.items()],
        "query": request.GET.copy(),
        "now": now,
        "departments": visible_to(request.user, Department, Perm.ORG_VIEW).only("pk", "name")[:300],
        "categories": Category.objects.filter(parent__isnull=True, is_active=True).order_by("sort_order"),
        "states": CaseState.choices,
    }
    template = "cases/partials/case_table.html" if request.htmx else "cases/workbench.html"  # type: ignore[attr-defined]
    return render(request, template, context)


@login_required
@require_GET
def export_cases(request: HttpRequest) -> HttpResponseBase:
    from .exports import export_or_enqueue

    if not user_can_anywhere(request.user, Perm.CASE_EXPORT):
        raise Http404
    f = _filters_from(request, default_queue=None)
    return export_or_enqueue(request, f)


# --- case detail and actions -----------------------------------------------------------------------------------


def _department_choices(user: Any, case: Case) -> list[tuple[int, str]]:
    qs = Department.objects.filter(subtree_q("region_path", [case.owner_path]), is_active=True)
    return [(d.pk, d.name) for d in qs.order_by("region_path", "name")[:500]]


PRIMARY_ACTIONS = ("accept", "dispatch", "acknowledge", "resolve", "reply", "approve_extension", "rate")


def action_entries(
    allowed: Sequence[str],
    primary_order: Sequence[str],
    form_for: Callable[[str], FeedbackActionForm],
    form_class: type[FeedbackActionForm],
) -> list[dict[str, Any]]:
    """The action panels of a detail page. The step that moves the case forward comes first and is
    the highlighted button (hotkey 1); side actions (退回, 合并, 上报, 督办 …) follow in the
    workflow table's order. Each panel shows the fields its action lists, in that order."""
    primary = next((a for a in primary_order if a in allowed), None)
    ordered = ([primary] if primary else []) + [a for a in allowed if a != primary]
    entries = []
    for action in ordered:
        form = form_for(action)
        names = form_class.fields_for(action)
        entries.append(
            {
                "action": action,
                "label": action_label(action),
                "form": form,
                "fields": names,
                "bound_fields": [form[n] for n in names],
                "note_required": BY_ACTION[action].note_required,
                "note_label": form_class.NOTE_LABELS.get(action),
                "primary": action == primary,
            }
        )
    return entries


def submit_action(
    request: HttpRequest,
    form: FeedbackActionForm,
    *,
    case: Case,
    action: str,
    show_error: Callable[[Any, DomainError], None] = apply_error,
) -> bool:
    """Run ``action`` on ``case`` with a valid action form's note, data and attachments. Done: a
    success message is queued, ``True``. Refused: the service's error is on the form, ``False``
    (a 404 from the service is ``Http404``)."""
    try:
        services.case_transition(
            actor=request.user,  # type: ignore[arg-type]
            case_id=case.pk,
            action=action,
            note=form.cleaned_data.get("note", ""),
            data=form.service_data(action),  # type: ignore[attr-defined]
            attachments=to_uploads(form.cleaned_data.get("attachments") or []),
            ip=client_ip(request),
        )
    except DomainError as exc:
        if exc.status == 404:
            raise Http404 from exc
        show_error(form, exc)
        return False
    messages.success(
        request, _("已%(action)s：%(number)s") % {"action": action_label(action), "number": case.number}
    )
    return True


def _detail_context(
    request: HttpRequest, case: Case, forms: dict[str, ActionForm] | None = None
) -> dict[str, Any]:
    allowed = selectors.actions_for(request.user, case)
    departments = _department_choices(request.user, case) if "dispatch" in allowed else []
    forms = forms or {}
    action_forms = action_entries(
        allowed,
        PRIMARY_ACTIONS,
        lambda action: forms.get(action) or ActionForm(prefix=action, departments=departments),
        ActionForm,
    )
    suggestion = None
    if "dispatch" in allowed:
        suggestion = services.rule_in_force(case.category, case.region_path, timezone.localdate())
    name, phone = _masked(case)
    similar = selectors.similar_cases(request.user, case)
    return {
        "case": case,
        "reporter_name": name,
        "reporter_phone": phone,
        "timeline": selectors.case_timeline(case),
        "assignments": selectors.case_assignments(case),
        "supervisions": selectors.case_supervisions(case),
        "attachments": case.attachments.order_by("id"),
        "action_forms": action_forms,
        "suggestion": suggestion,
        "similar": similar,
        "now": timezone.now(),
        "reply_form": SupervisionReplyForm(),
    }


@login_required
@require_GET
def case_detail(request: HttpRequest, case_id: int) -> HttpResponse:
    case = selectors.case_detail(request.user, case_id)
    return render(request, "cases/case_detail.html", _detail_context(request, case))


@login_required
@require_POST
def case_action(request: HttpRequest, case_id: int, action: str) -> HttpResponse:
    case = selectors.case_detail(request.user, case_id)
    if action not in BY_ACTION:
        raise Http404
    form = ActionForm(
        request.POST, request.FILES, prefix=action, departments=_department_choices(request.user, case)
    )
    if form.is_valid() and submit_action(request, form, case=case, action=action):
        return redirect("case-detail", case_id=case.pk)
    case = selectors.case_detail(request.user, case_id)
    response = render(request, "cases/case_detail.html", _detail_context(request, case, {action: form}))
    response.status_code = 422
    return response


@login_required
@require_POST
def supervision_reply(request: HttpRequest, supervision_id: int) -> HttpResponse:
    notice = get_visible_or_404(request.user, Supervision.objects.select_related("case"), pk=supervision_id)
    form = SupervisionReplyForm(request.POST)
    if form.is_valid():
        try:
            services.supervision_reply(
                actor=request.user,  # type: ignore[arg-type]
                supervision_id=notice.pk,
                text=form.cleaned_data["text"],
                ip=client_ip(request),
            )
            messages.success(request, _("督办已回复。"))
        except DomainError as exc:
            if exc.status == 404:
                raise Http404 from exc
            messages.error(request, str(exc.message))
    else:
        messages.error(request, _("请填写督办回复。"))
    return redirect("case-detail", case_id=notice.case_id)


@login_required
@require_GET
def attachment_download(request: HttpRequest, case_id: int, attachment_id: int) -> HttpResponseBase:
    """Attachments are served only through the scoping layer, never from a public media URL."""
    attachment = get_visible_or_404(request.user, CaseAttachment, pk=attachment_id, case_id=case_id)
    inline = attachment.content_type.startswith("image/") or attachment.content_type == "application/pdf"
    response = FileResponse(
        attachment.file.open("rb"),
        content_type=attachment.content_type,
        as_attachment=not inline,
        filename=attachment.original_name,
    )
    response["Cache-Control"] = "private, max-age=300"
    return response


# --- intake ------------------------------------------------------------------------------------------------------


def _report_input(d: dict[str, Any], **fixed: Any) -> services.ReportInput:
    """The service's input from a cleaned intake form (staff, grid worker or citizen); ``fixed``
    sets what the page decides rather than the user (channel, kind, anonymity)."""
    values: dict[str, Any] = {
        "channel": d.get("channel"),
        "kind": d.get("kind"),
        "title": d["title"],
        "description": d["description"],
        "category_code": d.get("category") or None,
        "urgency": d.get("urgency") or "normal",
        "region_code": d["region"],
        "reporter_name": d.get("reporter_name", ""),
        "reporter_phone": d.get("reporter_phone", ""),
        "is_anonymous": d.get("is_anonymous", False),
        "address": d.get("address", ""),
        "lon": d.get("lon"),
        "lat": d.get("lat"),
        "external_ref": d.get("external_ref", ""),
        "resolved_on_site": d.get("resolved_on_site", False),
        "result": d.get("result", ""),
        "attachments": to_uploads(d.get("attachments") or []),
    }
    values.update(fixed)
    return services.ReportInput(**values)


@login_required
@require_http_methods(["GET", "POST"])
def case_new(request: HttpRequest) -> HttpResponse:
    if not user_can_anywhere(request.user, Perm.CASE_REPORT):
        raise Http404
    form = IntakeForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            result = services.case_report(
                actor=request.user,  # type: ignore[arg-type]
                data=_report_input(d),
                idempotency_key=request.POST.get("idempotency_key") or None,
                ip=client_ip(request),
            )
        except DomainError as exc:
            apply_error(form, exc)
        else:
            if result.created:
                messages.success(
                    request,
                    _("已登记 %(number)s，查询码 %(code)s（请告知反映人）。")
                    % {"number": result.case.number, "code": result.tracking_code},
                )
            return redirect("case-detail", case_id=result.case.pk)
    status = 422 if request.method == "POST" else 200
    import uuid

    return render(
        request, "cases/case_new.html", {"form": form, "idempotency_key": uuid.uuid4().hex}, status=status
    )


@login_required
@require_GET
def suggest_categories(request: HttpRequest) -> HttpResponse:
    items = selectors.categories_matching(request.GET.get("q") or request.GET.get("category"), limit=30)
    return render(request, "cases/partials/category_options.html", {"items": items})


@login_required
@require_GET
def suggest_regions(request: HttpRequest) -> HttpResponse:
    text = (request.GET.get("q") or request.GET.get("region") or "").strip()
    qs = visible_to(request.user, Region, Perm.CASE_REPORT).filter(
        level__in=[RegionLevel.COUNTY, RegionLevel.TOWNSHIP, RegionLevel.VILLAGE]
    )
    if text:
        qs = qs.filter(Q(name__contains=text) | Q(code__startswith=text))
    return render(request, "cases/partials/region_options.html", {"items": qs.order_by("path")[:30]})


@login_required
@require_GET
def similar_hints(request: HttpRequest) -> HttpResponse:
    """Duplicate hints while registering: open cases nearby or with a similar title."""
    g = request.GET
    items = selectors.similar_open_cases(
        request.user,
        title=(g.get("title") or "").strip(),
        region_code=(g.get("region") or "").split(" ")[0],
        lon=_float(g.get("lon")),
        lat=_float(g.get("lat")),
        category_code=(g.get("category") or "").split(" ")[0],
    )
    return render(request, "cases/partials/similar.html", {"items": items})


def _float(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None


# --- department desk -----------------------------------------------------------------------------------------------


@login_required
@require_GET
def desk(request: HttpRequest) -> HttpResponse:
    if not selectors.department_ids_of(request.user):
        raise Http404
    queue = request.GET.get("queue", "to_acknowledge")
    if queue not in selectors.DEPARTMENT_QUEUES:
        queue = "to_acknowledge"
    now = timezone.now()
    counts = selectors.department_queue_counts(request.user, now=now)
    rows = selectors.for_list(selectors.department_queue(request.user, queue, now=now))
    page = ListPaginator(rows, PAGE_SIZE, count=counts[queue]).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "queue": queue,
        "queues": [(k, _(label), counts[k]) for k, label in selectors.DEPARTMENT_QUEUES.items()],
        "now": now,
        "departments": Department.objects.filter(pk__in=selectors.department_ids_of(request.user)),
        "query": request.GET.copy(),
    }
    return render(request, "cases/desk.html", context)


# --- grid worker (phone) ---------------------------------------------------------------------------------------------


def _my_grids(user: Any) -> Any:
    return GridMembership.objects.filter(user=user).select_related("grid", "grid__village")


@login_required
@require_GET
def mobile_home(request: HttpRequest) -> HttpResponse:
    grids = list(_my_grids(request.user))
    mine = (
        Case.objects.filter(reporter_user_id=request.user.pk)
        .select_related("category")
        .order_by("-created_at")[:20]
    )
    grid_ids = [m.grid_id for m in grids]
    open_in_grid = (
        visible_to(request.user, Case)
        .filter(grid_id__in=grid_ids, state__in=["reported", "accepted", "dispatched", "handling"])
        .select_related("category")
        .order_by("due_at")[:30]
    )
    return render(
        request,
        "cases/mobile_home.html",
        {"grids": grids, "mine": mine, "open_in_grid": open_in_grid, "now": timezone.now()},
    )


@login_required
@require_http_methods(["GET", "POST"])
def mobile_report(request: HttpRequest) -> HttpResponse:
    if not user_can_anywhere(request.user, Perm.CASE_REPORT):
        raise Http404
    grids = list(_my_grids(request.user))
    initial = {"channel": "patrol", "region": grids[0].grid.village.code if grids else ""}
    form = MobileReportForm(request.POST or None, request.FILES or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            result = services.case_report(
                actor=request.user,  # type: ignore[arg-type]
                data=_report_input(d, channel="patrol", is_anonymous=True),
                idempotency_key=request.POST.get("idempotency_key") or None,
                ip=client_ip(request),
            )
        except DomainError as exc:
            apply_error(form, exc)
        else:
            messages.success(request, _("已上报 %(number)s") % {"number": result.case.number})
            return redirect("mobile-home")
    import uuid

    return render(
        request,
        "cases/mobile_report.html",
        {"form": form, "grids": grids, "idempotency_key": uuid.uuid4().hex},
        status=422 if request.method == "POST" else 200,
    )


# --- citizens (no account) ----------------------------------------------------------------------------------------------


def _public_regions() -> Any:
    from django.conf import settings

    city = getattr(settings, "ZZ_DEMO_CITY_CODE", "")
    qs = Region.objects.filter(level=RegionLevel.TOWNSHIP)
    if city:
        qs = qs.filter(code__startswith=city)
    return qs.select_related("parent").order_by("path")[:2000]


def _public_form(data: Any = None, files: Any = None) -> PublicReportForm:
    form = PublicReportForm(data, files)
    form.fields["category"].widget.choices = [("", _("请选择（可不选）"))] + [  # type: ignore[attr-defined]
        (c.code, str(c))
        for c in Category.objects.filter(is_active=True, parent__isnull=False)
        .select_related("parent")
        .order_by("sort_order")
    ]
    form.fields["region"].widget.choices = [("", _("请选择"))] + [  # type: ignore[attr-defined]
        (r.code, f"{r.parent.name if r.parent else ''} {r.name}") for r in _public_regions()
    ]
    return form


@require_http_methods(["GET", "POST"])
def public_report(request: HttpRequest) -> HttpResponse:
    form = _public_form(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            result = services.case_report(
                actor=None,
                data=_report_input(d, channel="web", kind="appeal"),
                ip=client_ip(request),
            )
        except DomainError as exc:
            apply_error(form, exc)
        else:
            request.session["zz_public_receipt"] = {
                "number": result.case.number,
                "code": result.tracking_code,
            }
            return redirect("public-done")
    return render(
        request, "cases/public_report.html", {"form": form}, status=422 if request.method == "POST" else 200
    )


@require_GET
def public_done(request: HttpRequest) -> HttpResponse:
    receipt = request.session.pop("zz_public_receipt", None)
    if receipt is None:
        return redirect("public-track")
    return render(request, "cases/public_done.html", {"receipt": receipt})


@require_http_methods(["GET", "POST"])
def public_track(request: HttpRequest) -> HttpResponse:
    form = TrackForm(request.GET or None)
    context: dict[str, Any] = {"form": form}
    if form.is_valid():
        try:
            case = services.public_case(form.cleaned_data["number"], form.cleaned_data["code"])
        except NotFound:
            form.add_error(None, _("编号或查询码不正确。"))
        else:
            context["case"] = selectors.public_case_view(case)
            rating_form = PublicRatingForm(request.POST or None)
            if request.method == "POST" and rating_form.is_valid():
                try:
                    services.case_rate_public(
                        number=case.number,
                        code=form.cleaned_data["code"],
                        rating=rating_form.cleaned_data["rating"],
                        comment=rating_form.cleaned_data["comment"],
                        ip=client_ip(request),
                    )
                except DomainError as exc:
                    rating_form.add_error(None, str(exc.message))
                else:
                    messages.success(request, _("感谢您的评价。"))
                    return redirect(f"{reverse('public-track')}?{request.GET.urlencode()}")
            context["rating_form"] = rating_form
    status = 422 if request.method == "POST" else 200
    return render(request, "cases/public_track.html", context, status=status)
