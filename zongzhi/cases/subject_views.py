"""Web pieces of case ↔ base-data links: the "linked cases" partial shown on the people pages
(rendered here because ``people`` may not import ``cases``), and linking/unlinking from a case."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from zongzhi.core.errors import DomainError
from zongzhi.orgs.roles import Perm
from zongzhi.orgs.scoping import get_visible_or_404, user_can, user_can_anywhere
from zongzhi.people.selectors import resident_by_id_number, resident_view

from . import selectors
from .models import CaseSubject
from .subjects import (
    SUBJECT_MODELS,
    case_link_subject,
    case_unlink_subject,
    cases_for_subject,
    subject_visible,
    subjects_of_case,
)

_KIND_LABELS = {
    "resident": _lazy("实有人口"),
    "house": _lazy("实有房屋"),
    "place": _lazy("场所"),
    "organization": _lazy("组织"),
}


def _label(request: HttpRequest, kind: str, subject: Any) -> str:
    if kind == "resident":
        view = resident_view(request.user, subject)
        return f"{view.name} {view.id_number}"
    return str(subject)


@login_required
@require_GET
def subject_cases(request: HttpRequest, kind: str, subject_id: int) -> HttpResponse:
    """The cases linked to a resident/house/place/organization, within the viewer's scope."""
    model = SUBJECT_MODELS.get(kind)
    if model is None:
        raise Http404
    subject = get_visible_or_404(request.user, model, pk=subject_id)
    cases = cases_for_subject(request.user, subject)[:50]  # type: ignore[arg-type]
    return render(request, "cases/partials/subject_cases.html", {"cases": cases, "now": timezone.now()})


@login_required
@require_http_methods(["GET", "POST"])
def case_subjects(request: HttpRequest, case_id: int) -> HttpResponse:
    """GET: the case's linked records (a partial for the case page; a record the viewer may not
    see is counted, not shown). POST: link the case to a record — a resident by exact ID number,
    or a house/place/organization by its number (shown on its page)."""
    case = selectors.case_detail(request.user, case_id)
    if request.method == "GET":
        links = subjects_of_case(request.user, case)
        shown = [
            (link, subject, _label(request, link.kind, subject))
            for link, subject in links
            if subject is not None
        ]
        return render(
            request,
            "cases/partials/case_subjects.html",
            {
                "case": case,
                "links": shown,
                "hidden": len(links) - len(shown),
                "can_link": user_can(request.user, Perm.CASE_REPORT, case)
                and user_can_anywhere(request.user, Perm.PERSON_VIEW),
                "kinds": [(k, _KIND_LABELS[k]) for k in SUBJECT_MODELS],
            },
        )
    kind = request.POST.get("kind", "")
    ref = (request.POST.get("ref") or "").strip()
    try:
        subject: Any = None
        if kind == "resident":
            subject = resident_by_id_number(request.user, ref) if ref else None
        elif kind in SUBJECT_MODELS and ref.isdigit():
            subject = subject_visible(request.user, kind, int(ref))
        if subject is None:
            messages.error(request, _("未找到要关联的对象（或不在您的管辖范围内）。"))
        else:
            case_link_subject(
                actor=request.user, case=case, subject=subject, note=request.POST.get("note", "")
            )
            messages.success(request, _("已关联。"))
    except DomainError as exc:
        messages.error(
            request,
            str(exc.message) if exc.status != 404 else _("未找到要关联的对象（或不在您的管辖范围内）。"),
        )
    return redirect("case-detail", case_id=case.pk)


@login_required
@require_POST
def case_subject_unlink(request: HttpRequest, case_id: int, link_id: int) -> HttpResponse:
    link = get_visible_or_404(
        request.user, CaseSubject.objects.select_related("case"), pk=link_id, case_id=case_id
    )
    try:
        case_unlink_subject(actor=request.user, link=link)
        messages.success(request, _("已取消关联。"))
    except DomainError as exc:
        if exc.status == 404:
            raise Http404 from exc
        messages.error(request, str(exc.message))
    return redirect("case-detail", case_id=case_id)
