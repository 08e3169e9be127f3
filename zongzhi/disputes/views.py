"""Web pages of disputes: the register (台账), one-stop intake, the dispute page with its actions,
the agreement (A4 page and PDF), mediators, screening campaigns (with the grid worker's phone page)
and the monthly statistics table. Thin: forms shape input, services write, selectors read."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from zongzhi.cases.selectors import case_timeline
from zongzhi.cases.states import BY_ACTION, action_label
from zongzhi.cases.views import action_entries, submit_action
from zongzhi.core.audit import client_ip
from zongzhi.core.errors import DomainError
from zongzhi.orgs.models import Department, Region, RegionLevel
from zongzhi.orgs.paths import ancestors_or_self, subtree_q
from zongzhi.orgs.roles import Perm
from zongzhi.orgs.scoping import get_visible_or_404, user_can, user_can_anywhere, visible_to

from . import agreement as agreement_doc
from . import exports, selectors, services
from .forms import (
    CampaignForm,
    DisputeActionForm,
    DisputeIntakeForm,
    FromCaseForm,
    GridDisputeForm,
    MediatorForm,
    NoneFoundForm,
    PartyForm,
    RevealForm,
    party_formset,
    show_error,
)
from .models import (
    Dispute,
    DisputeType,
    MediationAgreement,
    Outcome,
    RiskLevel,
    Scale,
    ScreeningStatus,
)

PAGE_SIZE = 50
# generic loop actions offered on the dispute page (the others are on the case page)
PAGE_ACTIONS = set(DisputeActionForm.FIELDS)
PRIMARY = ("accept", "mediate", "mediation_session", "mediation_agree", "reply", "followup", "archive")


def _require_case_staff(request: HttpRequest) -> None:
    if not user_can_anywhere(request.user, Perm.CASE_VIEW):
        raise Http404


def _date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


# --- the register -------------------------------------------------------------------------------------------


@login_required
@require_GET
def dispute_list(request: HttpRequest) -> HttpResponse:
    _require_case_staff(request)
    g = request.GET
    f = selectors.DisputeFilters(
        region=g.get("region") or None,
        dispute_type=g.get("type") or None,
        risk_level=g.get("risk") or None,
        scale=g.get("scale") or None,
        stage=g.get("stage") or None,
        outcome=g.get("outcome") or None,
        created_from=_date(g.get("from")),
        created_to=_date(g.get("to")),
        text=g.get("q") or None,
    )
    page = Paginator(selectors.with_parties(selectors.dispute_list(request.user, f)), PAGE_SIZE).get_page(
        g.get("page")
    )
    rows = [(d, selectors.party_names(d, masked=True)) for d in page.object_list]
    context = {
        "page": page,
        "rows": rows,
        "filters": f,
        "types": DisputeType.objects.filter(is_active=True),
        "risks": RiskLevel.choices,
        "scales": Scale.choices,
        "stages": [(k, _(v)) for k, v in selectors.STAGES.items()],
        "outcomes": [("open", _("未结束")), *Outcome.choices],
        "query": g.copy(),
        "tab": "list",
    }
    return render(request, "disputes/dispute_list.html", context)


# --- one-stop intake ----------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def dispute_new(request: HttpRequest) -> HttpResponse:
    if not user_can_anywhere(request.user, Perm.CASE_REPORT):
        raise Http404
    form = DisputeIntakeForm(request.POST or None)
    formset = party_formset(request.POST or None)
    if request.method == "POST":
        form_ok = form.is_valid()
        parties_ok = formset.is_valid()
        if form_ok and parties_ok:
            d = form.cleaned_data
            data = services.DisputeInput(
                title=d["title"],
                description=d["description"],
                dispute_type=d["dispute_type"],
                region_code=d["region"],
                parties=formset.parties(),
                channel=d["channel"],
                people_count=d["people_count"],
                amount=d.get("amount"),
                risk_level=d["risk_level"],
                flags=list(d.get("flags") or []),
                risk_note=d.get("risk_note", ""),
                urgency=d.get("urgency") or "normal",
                address=d.get("address", ""),
                accept=bool(d.get("accept")),
            )
            try:
                result = services.dispute_intake(
                    actor=request.user,  # type: ignore[arg-type]
                    data=data,
                    idempotency_key=request.POST.get("idempotency_key") or None,
                    ip=client_ip(request),
                )
            except DomainError as exc:
                if not _party_error(formset, exc):
                    show_error(form, exc)
            else:
                if result.created:
                    messages.success(
                        request, _("已登记矛盾纠纷 %(number)s。") % {"number": result.dispute.case.number}
                    )
                return redirect("dispute-detail", dispute_id=result.dispute.pk)
    context = {
        "form": form,
        "formset": formset,
        "idempotency_key": uuid.uuid4().hex,
        "tab": "new",
    }
    return render(
        request, "disputes/dispute_new.html", context, status=422 if request.method == "POST" else 200
    )


def _party_error(formset: Any, exc: DomainError) -> bool:
    """A party's error (``parties.<i>.<field>``) on that party's row; ``parties`` on the formset."""
    name = getattr(exc, "field", "") or ""
    if name == "parties":
        formset._non_form_errors = formset.error_class([str(exc.message)])
        return True
    if not name.startswith("parties."):
        return False
    _p, index, field_name = ([*name.split("."), "", ""])[:3]
    filled = [f for f in formset.forms if f.has_changed() and f.cleaned_data.get("name")]
    if index.isdigit() and int(index) < len(filled):
        target = filled[int(index)]
        target.add_error(field_name if field_name in target.fields else None, str(exc.message))
        return True
    return False


# --- the dispute page ---------------------------------------------------------------------------------------


def _departments_for(case: Any) -> list[tuple[int, str]]:
    qs = Department.objects.filter(
        Q(region_path__in=ancestors_or_self(case.region_path)) | subtree_q("region_path", [case.owner_path]),
        is_active=True,
    ).order_by("region_path", "name")
    return [(d.pk, d.name) for d in qs[:300]]


def _action_form(
    request: HttpRequest, dispute: Dispute, action: str, data: Any = None, files: Any = None
) -> DisputeActionForm:
    case = dispute.case
    mediators = []
    if action == "mediate":
        mediators = [
            (m.pk, f"{m.name}（{m.body_name}）")
            for m in selectors.mediators_for_case(request.user, case)[:300]
        ]
    departments = _departments_for(case) if action in ("mediate", "transfer") else []
    agreements = (
        [(a.pk, a.number) for a in selectors.agreements(dispute)]
        if action in ("judicial_confirm", "followup")
        else []
    )
    initial: dict[str, Any] = {}
    if action == "assess_risk":
        initial = {
            "risk_level": dispute.risk_level,
            "flags": [f.flag_type.code for f in selectors.active_flags(dispute)],
        }
    if action == "mediation_session":
        initial = {"held_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M")}
    if action == "judicial_confirm":
        last = selectors.agreements(dispute).last()
        if last is not None:
            initial = {"court": last.judicial_court}
    return DisputeActionForm(
        data,
        files,
        prefix=action,
        mediators=mediators,
        departments=departments,
        agreements=agreements,
        initial=initial,
    )


def _detail_context(
    request: HttpRequest, dispute: Dispute, forms: dict[str, DisputeActionForm] | None = None
) -> dict[str, Any]:
    case = dispute.case
    allowed = selectors.dispute_actions_for(request.user, case)
    offered = [a for a in allowed if a in PAGE_ACTIONS]
    forms = forms or {}
    action_forms = action_entries(
        offered,
        PRIMARY,
        lambda action: forms.get(action) or _action_form(request, dispute, action),
        DisputeActionForm,
    )
    names_clear = selectors.names_clear_for(request.user, dispute)
    agreements = list(selectors.agreements(dispute))
    return {
        "dispute": dispute,
        "case": case,
        "parties": selectors.party_views(dispute, names_clear=names_clear),
        "flags": selectors.active_flags(dispute),
        "flag_history": selectors.flag_history(dispute),
        "assessments": selectors.assessments(dispute),
        "mediations": selectors.mediations(dispute),
        "session_files": selectors.session_attachments(dispute),
        "agreements": agreements,
        "escalations": selectors.escalations(dispute),
        "advice": selectors.escalation_advice(dispute),
        "level_labels": dict(RegionLevel.choices),
        "timeline": case_timeline(case),
        "related": selectors.related_disputes(request.user, dispute),
        "action_forms": action_forms,
        "more_actions": [action_label(a) for a in allowed if a not in PAGE_ACTIONS],
        "can_edit_parties": user_can(request.user, Perm.DISPUTE_MEDIATE, dispute.region_path)
        or user_can(request.user, Perm.CASE_ACCEPT, case.owner_path),
        "party_form": PartyForm(prefix="party"),
        "reveal_form": RevealForm(),
        "can_escalate": "escalate" in allowed,
        "now": timezone.now(),
    }


@login_required
@require_GET
def dispute_detail(request: HttpRequest, dispute_id: int) -> HttpResponse:
    dispute = selectors.dispute_detail(request.user, dispute_id)
    return render(request, "disputes/dispute_detail.html", _detail_context(request, dispute))


@login_required
@require_POST
def dispute_action(request: HttpRequest, dispute_id: int, action: str) -> HttpResponse:
    dispute = selectors.dispute_detail(request.user, dispute_id)
    if action not in BY_ACTION or action not in PAGE_ACTIONS:
        raise Http404
    form = _action_form(request, dispute, action, request.POST, request.FILES)
    if form.is_valid() and submit_action(
        request, form, case=dispute.case, action=action, show_error=show_error
    ):
        return redirect("dispute-detail", dispute_id=dispute.pk)
    dispute = selectors.dispute_detail(request.user, dispute_id)
    if action not in selectors.dispute_actions_for(request.user, dispute.case):
        # the action's panel is not on the page (any more): say why at the top
        for error in form.non_field_errors():
            messages.error(request, str(error))
    response = render(
        request, "disputes/dispute_detail.html", _detail_context(request, dispute, {action: form})
    )
    response.status_code = 422
    return response


@login_required
@require_POST
def party_add(request: HttpRequest, dispute_id: int) -> HttpResponse:
    dispute = selectors.dispute_detail(request.user, dispute_id)
    form = PartyForm(request.POST, prefix="party")
    if form.is_valid():
        try:
            services.party_add(actor=request.user, dispute_id=dispute.pk, party=form.to_input())  # type: ignore[arg-type]
        except DomainError as exc:
            if exc.status == 404:
                raise Http404 from exc
            messages.error(request, str(exc.message))
        else:
            messages.success(request, _("已添加当事人。"))
    else:
        messages.error(
            request,
            _("当事人信息不完整：%(e)s")
            % {"e": "；".join(str(e) for errs in form.errors.values() for e in errs)},
        )
    return redirect("dispute-detail", dispute_id=dispute.pk)


@login_required
@require_POST
def party_reveal(request: HttpRequest, dispute_id: int, party_id: int) -> HttpResponse:
    dispute = selectors.dispute_detail(request.user, dispute_id)
    if not dispute.parties.filter(pk=party_id).exists():
        raise Http404
    form = RevealForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("请填写查看完整信息的事由。"))
        return redirect("dispute-detail", dispute_id=dispute.pk)
    try:
        clear = services.party_reveal(
            actor=request.user,  # type: ignore[arg-type]
            party_id=party_id,
            reason=form.cleaned_data["reason"],
            ip=client_ip(request),
        )
    except DomainError as exc:
        if exc.status == 404:
            raise Http404 from exc
        messages.error(request, str(exc.message))
        return redirect("dispute-detail", dispute_id=dispute.pk)
    response = render(request, "disputes/party_reveal.html", {"dispute": dispute, "party": clear})
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_http_methods(["GET", "POST"])
def dispute_for_case(request: HttpRequest, case_id: int) -> HttpResponse:
    """The dispute record of a case of kind dispute: open it, or complete it (建档)."""
    from zongzhi.cases.selectors import case_detail

    case = case_detail(request.user, case_id)
    existing = Dispute.objects.filter(case=case).first()
    if existing is not None:
        return redirect("dispute-detail", dispute_id=existing.pk)
    if case.kind != "dispute":
        raise Http404
    form = FromCaseForm(request.POST or None)
    formset = party_formset(request.POST or None)
    if request.method == "POST" and form.is_valid() & formset.is_valid():
        d = form.cleaned_data
        try:
            dispute = services.dispute_create_for_case(
                actor=request.user,  # type: ignore[arg-type]
                case_id=case.pk,
                dispute_type=d["dispute_type"],
                parties=formset.parties(),
                people_count=d["people_count"],
                amount=d.get("amount"),
                risk_level=d["risk_level"],
                flags=list(d.get("flags") or []),
                risk_note=d.get("risk_note", ""),
            )
        except DomainError as exc:
            if exc.status == 404:
                raise Http404 from exc
            if not _party_error(formset, exc):
                show_error(form, exc)
        else:
            messages.success(request, _("已建立纠纷档案。"))
            return redirect("dispute-detail", dispute_id=dispute.pk)
    return render(
        request,
        "disputes/dispute_from_case.html",
        {"case": case, "form": form, "formset": formset, "tab": "list"},
        status=422 if request.method == "POST" else 200,
    )


# --- the agreement ------------------------------------------------------------------------------------------


def _agreement(request: HttpRequest, dispute_id: int, agreement_id: int) -> MediationAgreement:
    dispute = selectors.dispute_detail(request.user, dispute_id)
    return get_visible_or_404(
        request.user,
        MediationAgreement.objects.select_related("dispute__case"),
        pk=agreement_id,
        dispute_id=dispute.pk,
    )


@login_required
@require_GET
def agreement_page(request: HttpRequest, dispute_id: int, agreement_id: int) -> HttpResponse:
    """The agreement as a clean A4 page (print with the browser)."""
    agreement = _agreement(request, dispute_id, agreement_id)
    services.agreement_document_opened(
        actor=request.user,  # type: ignore[arg-type]
        agreement=agreement,
        fmt="html",
        ip=client_ip(request),
    )
    response = render(
        request,
        "disputes/agreement.html",
        {"doc": agreement_doc.document(agreement), "agreement": agreement, "dispute_id": dispute_id},
    )
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_GET
def agreement_pdf(request: HttpRequest, dispute_id: int, agreement_id: int) -> HttpResponse:
    agreement = _agreement(request, dispute_id, agreement_id)
    try:
        content = agreement_doc.agreement_pdf(agreement)
    except agreement_doc.PdfFontMissing as exc:
        return render(
            request,
            "disputes/pdf_unavailable.html",
            {"message": exc.message, "dispute_id": dispute_id},
            status=503,
        )
    services.agreement_document_opened(
        actor=request.user,  # type: ignore[arg-type]
        agreement=agreement,
        fmt="pdf",
        ip=client_ip(request),
    )
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="agreement-{agreement.pk}.pdf"'
    response["Cache-Control"] = "no-store"
    return response


# --- mediators ------------------------------------------------------------------------------------------------


def _mediator_departments(user: Any) -> list[tuple[int, str]]:
    return [
        (d.pk, d.name)
        for d in visible_to(user, Department, Perm.ORG_VIEW)
        .filter(is_active=True)
        .order_by("region_path", "name")[:300]
    ]


@login_required
@require_GET
def mediator_list(request: HttpRequest) -> HttpResponse:
    _require_case_staff(request)
    qs = selectors.mediator_list(
        request.user, region=request.GET.get("region") or None, text=request.GET.get("q") or None
    )
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [(m, selectors.mediator_success_rate(m)) for m in page.object_list]
    return render(
        request,
        "disputes/mediator_list.html",
        {
            "page": page,
            "rows": rows,
            "query": request.GET.copy(),
            "can_manage": user_can_anywhere(request.user, Perm.CASE_DISPATCH),
            "tab": "mediators",
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def mediator_new(request: HttpRequest) -> HttpResponse:
    if not user_can_anywhere(request.user, Perm.CASE_DISPATCH):
        raise Http404
    form = MediatorForm(
        request.POST or None, departments=_mediator_departments(request.user), initial={"is_active": True}
    )
    if request.method == "POST" and form.is_valid():
        try:
            mediator = services.mediator_create(actor=request.user, data=form.to_input())  # type: ignore[arg-type]
        except DomainError as exc:
            show_error(form, exc)
        else:
            messages.success(request, _("已登记调解员 %(name)s。") % {"name": mediator.name})
            return redirect("mediator-detail", mediator_id=mediator.pk)
    return render(
        request,
        "disputes/mediator_form.html",
        {"form": form, "tab": "mediators"},
        status=422 if request.method == "POST" else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def mediator_detail(request: HttpRequest, mediator_id: int) -> HttpResponse:
    mediator = selectors.mediator_detail(request.user, mediator_id)
    can_manage = user_can(request.user, Perm.CASE_DISPATCH, mediator.region_path)
    form = None
    if can_manage:
        initial = {
            "name": mediator.name,
            "body_kind": mediator.body_kind,
            "body_name": mediator.body_name,
            "region": f"{mediator.region.code} {mediator.region.name}",
            "department": mediator.department_id,
            "specialties": [t.code for t in mediator.specialties.all()],
            "specialty_note": mediator.specialty_note,
            "title": mediator.title,
            "phone": mediator.phone,
            "is_active": mediator.is_active,
        }
        form = MediatorForm(
            request.POST or None, departments=_mediator_departments(request.user), initial=initial
        )
        if request.method == "POST" and form.is_valid():
            try:
                services.mediator_update(actor=request.user, mediator_id=mediator.pk, data=form.to_input())  # type: ignore[arg-type]
            except DomainError as exc:
                show_error(form, exc)
            else:
                messages.success(request, _("已保存。"))
                return redirect("mediator-detail", mediator_id=mediator.pk)
    elif request.method == "POST":
        raise Http404
    return render(
        request,
        "disputes/mediator_detail.html",
        {
            "mediator": mediator,
            "success_rate": selectors.mediator_success_rate(mediator),
            "rounds": selectors.mediator_rounds(request.user, mediator),
            "form": form,
            "tab": "mediators",
        },
        status=422 if request.method == "POST" else 200,
    )


# --- screening ----------------------------------------------------------------------------------------------------


def _townships(user: Any) -> list[tuple[str, str]]:
    from zongzhi.orgs.scoping import scope_roots

    roots = scope_roots(user, Perm.SCREENING_MANAGE)
    if not roots:
        return []
    qs = Region.objects.filter(level=RegionLevel.TOWNSHIP)
    if roots != [""]:
        qs = qs.filter(subtree_q("path", roots))
    return [(r.code, r.name) for r in qs.order_by("path")[:500]]


@login_required
@require_http_methods(["GET", "POST"])
def screening_list(request: HttpRequest) -> HttpResponse:
    _require_case_staff(request)
    townships = _townships(request.user)
    today = timezone.localdate()
    monday = today - timedelta(days=today.weekday())
    form = CampaignForm(
        request.POST or None,
        townships=townships,
        initial={"period_start": monday, "period_end": monday + timedelta(days=6)},
    )
    if request.method == "POST":
        if not townships:
            raise Http404
        if form.is_valid():
            d = form.cleaned_data
            try:
                campaign = services.screening_open(
                    actor=request.user,  # type: ignore[arg-type]
                    region_code=d["region"],
                    period_start=d["period_start"],
                    period_end=d["period_end"],
                    title=d.get("title", ""),
                    note=d.get("note", ""),
                )
            except DomainError as exc:
                show_error(form, exc)
            else:
                messages.success(request, _("已发起排查：%(t)s") % {"t": campaign.title})
                return redirect("screening-detail", campaign_id=campaign.pk)
    page = Paginator(selectors.campaign_list(request.user), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "disputes/screening_list.html",
        {"page": page, "form": form if townships else None, "tab": "screenings"},
        status=422 if request.method == "POST" else 200,
    )


@login_required
@require_GET
def screening_detail(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = selectors.campaign_detail(request.user, campaign_id)
    reports = selectors.campaign_reports(request.user, campaign)
    return render(
        request,
        "disputes/screening_detail.html",
        {
            "campaign": campaign,
            "reports": reports,
            "completion": selectors.campaign_completion(reports),
            "villages": selectors.completion_by_village(reports),
            "can_close": campaign.is_open
            and user_can(request.user, Perm.SCREENING_MANAGE, campaign.region_path),
            "found": Dispute.objects.filter(
                screening_report__campaign=campaign,
                pk__in=selectors.visible_disputes(request.user).values("pk"),
            ).select_related("case", "dispute_type", "screening_report__grid"),
            "tab": "screenings",
        },
    )


@login_required
@require_POST
def screening_close(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = selectors.campaign_detail(request.user, campaign_id)
    try:
        services.screening_close(actor=request.user, campaign_id=campaign.pk)  # type: ignore[arg-type]
    except DomainError as exc:
        if exc.status == 404:
            raise Http404 from exc
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("排查已结束。"))
    return redirect("screening-detail", campaign_id=campaign.pk)


@login_required
@require_GET
def screening_mobile(request: HttpRequest) -> HttpResponse:
    """A grid worker's open screenings, grid by grid (phone)."""
    return render(
        request, "disputes/screening_mobile.html", {"reports": selectors.my_screening_reports(request.user)}
    )


@login_required
@require_http_methods(["GET", "POST"])
def screening_grid(request: HttpRequest, campaign_id: int, grid_id: int) -> HttpResponse:
    """One grid's screening on the phone: "no dispute found", or register each dispute found."""
    try:
        report = services.report_for(request.user, campaign_id, grid_id)
    except DomainError as exc:
        raise Http404 from exc
    none_form = NoneFoundForm(request.POST if request.POST.get("form") == "none" else None)
    found_form = GridDisputeForm(request.POST if request.POST.get("form") == "found" else None)
    status = 200
    if request.method == "POST":
        status = 422
        try:
            if request.POST.get("form") == "none" and none_form.is_valid():
                services.screening_report_none(
                    actor=request.user,  # type: ignore[arg-type]
                    campaign_id=campaign_id,
                    grid_id=grid_id,
                    note=none_form.cleaned_data.get("note", ""),
                )
                messages.success(request, _("已报送：本网格未发现矛盾纠纷。"))
                return redirect("screening-grid", campaign_id=campaign_id, grid_id=grid_id)
            if request.POST.get("form") == "found" and found_form.is_valid():
                d = found_form.cleaned_data
                result = services.dispute_intake(
                    actor=request.user,  # type: ignore[arg-type]
                    data=services.DisputeInput(
                        title=d["title"],
                        description=d["description"],
                        dispute_type=d["dispute_type"],
                        region_code=report.grid.village.code,
                        parties=found_form.parties(),
                        channel="patrol",
                        people_count=d["people_count"],
                        risk_level=d["risk_level"],
                        flags=list(d.get("flags") or []),
                        resolved_on_site=bool(d.get("resolved_on_site")),
                        result=d.get("result", ""),
                        screening_report_id=report.pk,
                    ),
                    idempotency_key=request.POST.get("idempotency_key") or None,
                    ip=client_ip(request),
                )
                messages.success(
                    request, _("已登记纠纷 %(number)s。") % {"number": result.dispute.case.number}
                )
                return redirect("screening-grid", campaign_id=campaign_id, grid_id=grid_id)
        except DomainError as exc:
            if exc.status == 404:
                raise Http404 from exc
            target = none_form if request.POST.get("form") == "none" else found_form
            show_error(target, exc)
        report = services.report_for(request.user, campaign_id, grid_id)
    found = (
        Dispute.objects.filter(screening_report=report)
        .select_related("case", "dispute_type")
        .order_by("-created_at")
    )
    return render(
        request,
        "disputes/screening_grid.html",
        {
            "report": report,
            "campaign": report.campaign,
            "none_form": none_form,
            "found_form": found_form,
            "found": found,
            "idempotency_key": uuid.uuid4().hex,
            "pending": report.status == ScreeningStatus.PENDING,
        },
        status=status,
    )


# --- statistics -----------------------------------------------------------------------------------------------


def _period(request: HttpRequest) -> tuple[int, int]:
    today = timezone.localdate()
    value = request.GET.get("month") or ""
    try:
        y, m = (int(x) for x in value.split("-"))
        if 2000 <= y <= 2100 and 1 <= m <= 12:
            return y, m
    except ValueError:
        pass
    return today.year, today.month


@login_required
@require_GET
def stats(request: HttpRequest) -> HttpResponse:
    _require_case_staff(request)
    region = selectors.stats_region(request.user, request.GET.get("region") or None)
    year, month = _period(request)
    table = selectors.monthly_table(request.user, region, year, month)
    return render(
        request,
        "disputes/stats.html",
        {
            "table": table,
            "month": f"{year}-{month:02d}",
            "regions": selectors.stats_regions(request.user)
            .exclude(level=RegionLevel.VILLAGE)
            .order_by("path")[:300],
            "children": region.children.exists(),
            "tab": "stats",
        },
    )


@login_required
@require_GET
def stats_export(request: HttpRequest) -> HttpResponse:
    _require_case_staff(request)
    region = selectors.stats_region(request.user, request.GET.get("region") or None)
    year, month = _period(request)
    table = selectors.monthly_table(request.user, region, year, month)
    from urllib.parse import quote

    response = HttpResponse(
        exports.monthly_xlsx(table),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(exports.monthly_filename(table))}"
    return response
