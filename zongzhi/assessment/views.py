"""Web pages of the assessment (考核): scores and rankings, drill-down to the rows behind a figure,
plan configuration (考评清单), bulletins (通报: generate, publish, print, export .xlsx).
Thin: selectors read, services write."""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from zongzhi.cases.models import CaseState
from zongzhi.core.errors import DomainError, FieldError
from zongzhi.disputes.models import Outcome
from zongzhi.orgs.models import Region, RegionLevel, User
from zongzhi.orgs.roles import Perm
from zongzhi.orgs.scoping import scope_roots, user_can, user_can_anywhere

from . import exports, formulas, selectors, services
from .formulas import CURVES, INDICATORS, Period
from .models import (
    AssessmentPlan,
    Bulletin,
    BulletinStatus,
    Curve,
    PeriodKind,
    PlanIndicator,
    SubjectKind,
)


def _require_view(request: HttpRequest) -> None:
    if not user_can_anywhere(request.user, Perm.ASSESSMENT_VIEW):
        raise Http404


# --- periods from the query string ---------------------------------------------------------------------------


@dataclass
class PeriodChoice:
    kind: str
    year: int
    number: int  # month or quarter
    start: dt.date | None = None
    end: dt.date | None = None

    def period(self) -> Period:
        if self.kind == PeriodKind.QUARTER:
            return formulas.quarter_period(self.year, self.number)
        if self.kind == PeriodKind.YEAR:
            return formulas.year_period(self.year)
        if self.kind == PeriodKind.CUSTOM and self.start and self.end:
            return Period(self.start, self.end)
        return formulas.month_period(self.year, self.number)

    def query(self) -> str:
        q = QueryDict(mutable=True)
        q.update({"period": self.kind, "year": str(self.year), "n": str(self.number)})
        if self.kind == PeriodKind.CUSTOM and self.start and self.end:
            q.update({"start": self.start.isoformat(), "end": self.end.isoformat()})
        return q.urlencode()


def _int(value: str | None, default: int, low: int, high: int) -> int:
    try:
        number = int(value or "")
    except ValueError:
        return default
    return number if low <= number <= high else default


def _date(value: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None


def period_from(g: QueryDict, default_kind: str) -> PeriodChoice:
    """The period asked for; by default the last complete month / quarter / year."""
    today = timezone.localdate()
    kind = g.get("period") or default_kind
    if kind not in PeriodKind.values:
        kind = PeriodKind.MONTH
    if kind == PeriodKind.YEAR:
        return PeriodChoice(kind, _int(g.get("year"), today.year - 1, 2000, 2100), 1)
    if kind == PeriodKind.QUARTER:
        last_q = (today.month - 1) // 3  # the quarter before the current one (0 = last year's Q4)
        year, quarter = (today.year, last_q) if last_q else (today.year - 1, 4)
        return PeriodChoice(kind, _int(g.get("year"), year, 2000, 2100), _int(g.get("n"), quarter, 1, 4))
    if kind == PeriodKind.CUSTOM:
        start, end = _date(g.get("start")), _date(g.get("end"))
        if start and end and start <= end:
            return PeriodChoice(kind, start.year, 1, start, end)
        kind = PeriodKind.MONTH
    first = today.replace(day=1) - dt.timedelta(days=1)  # a day of the previous month
    return PeriodChoice(
        PeriodKind.MONTH, _int(g.get("year"), first.year, 2000, 2100), _int(g.get("n"), first.month, 1, 12)
    )


# --- display ---------------------------------------------------------------------------------------------------


def fmt_value(value: formulas.Value, is_rate: bool) -> str:
    if value.value is None:
        return "—"
    if is_rate:
        return f"{value.value * 100:.1f}%"
    return str(int(value.value))


def fmt_score(score: float | None) -> str:
    return "—" if score is None else f"{score:.2f}"


def _card_rows(card: selectors.Scorecard, period_query: str) -> list[dict[str, Any]]:
    rows = []
    for row in card.rows:
        cells = []
        for pi in card.indicators:
            value = row.values[pi.pk]
            cells.append(
                {
                    "value": fmt_value(value, pi.indicator.is_rate),
                    "fraction": f"{value.numerator}/{value.denominator}"
                    if value.denominator is not None
                    else "",
                    "score": fmt_score(row.scores[pi.pk]),
                    "link": reverse("assessment-drill", args=[card.plan.pk, pi.pk])
                    + f"?subject={row.subject.key}&{period_query}",
                }
            )
        rows.append({"subject": row.subject, "rank": row.rank, "total": fmt_score(row.total), "cells": cells})
    return rows


@login_required
@require_GET
def scores(request: HttpRequest) -> HttpResponse:
    """Scores and ranking of one plan for one period."""
    _require_view(request)
    plans = list(selectors.plan_list(request.user).filter(is_active=True)[:200])
    plan = None
    wanted = request.GET.get("plan", "")
    if wanted.isdigit():
        plan = next((p for p in plans if p.pk == int(wanted)), None) or selectors.plan_get(
            request.user, int(wanted)
        )
    elif plans:
        plan = plans[0]
    context: dict[str, Any] = {"plans": plans, "plan": plan, "period_kinds": PeriodKind.choices}
    if plan is not None:
        choice = period_from(request.GET, plan.period_kind)
        period = choice.period()
        card = selectors.scorecard(plan, period, as_of=timezone.now())
        context.update(
            {
                "choice": choice,
                "period": period,
                "card": card,
                "rows": _card_rows(card, choice.query()),
                "can_manage": selectors.can_manage(request.user, plan),
                "months": range(1, 13),
                "quarters": range(1, 5),
            }
        )
    return render(request, "assessment/scores.html", context)


@login_required
@require_GET
def drill(request: HttpRequest, plan_id: int, indicator_id: int) -> HttpResponse:
    """The rows behind one figure (one indicator, one subject, one period): they add up to it."""
    plan = selectors.plan_get(request.user, plan_id)
    pi = PlanIndicator.objects.filter(plan=plan, pk=indicator_id).first()
    if pi is None or pi.code not in INDICATORS:
        raise Http404
    subjects = selectors.subjects_of(plan)
    wanted = request.GET.get("subject", "")
    subject = (
        next((s for s in subjects if s.key == wanted), None)
        if wanted
        else (subjects[0] if subjects else None)
    )
    if subject is None and wanted:
        raise Http404
    choice = period_from(request.GET, plan.period_kind)
    period = choice.period()
    result = (
        selectors.drill_down(pi, plan, subject, period, as_of=timezone.now())
        if subject is not None
        else selectors.DrillDown(pi.indicator.source, [], 0, None, formulas.NOT_APPLICABLE)
    )
    labels = dict(CaseState.choices)
    outcomes = dict(Outcome.choices)
    levels = dict(RegionLevel.choices)
    for r in result.rows:
        if "state" in r:
            r["state_label"] = labels.get(r["state"], r["state"])
        if "outcome" in r:
            r["outcome_label"] = outcomes.get(r["outcome"], r["outcome"])
            r["level_label"] = levels.get(r["resolved_level"], r["resolved_level"])
    page = Paginator(result.rows, 100).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "assessment/drill.html",
        {
            "plan": plan,
            "pi": pi,
            "indicator": pi.indicator,
            "cohort": formulas.COHORTS[pi.indicator.cohort],
            "subject": subject,
            "subjects": subjects,
            "period": period,
            "result": result,
            "value": fmt_value(result.value, pi.indicator.is_rate),
            "page": page,
            "query": query.urlencode(),
            "back": f"{reverse('assessment-scores')}?plan={plan.pk}&{choice.query()}",
        },
    )


# --- plans ------------------------------------------------------------------------------------------------------


def _manageable_regions(user: Any) -> list[Region]:
    roots = scope_roots(user, Perm.ASSESSMENT_MANAGE)
    if roots == [""]:
        return list(Region.objects.filter(level__in=("city", "county", "township")).order_by("path")[:300])
    return list(Region.objects.filter(path__in=roots).order_by("path"))


class PlanForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("方案名称"), max_length=100)
    region = forms.ChoiceField(label=gettext_lazy("考核单位"), choices=())
    subject_kind = forms.ChoiceField(label=gettext_lazy("考核对象"), choices=SubjectKind.choices)
    period_kind = forms.ChoiceField(label=gettext_lazy("考核周期"), choices=PeriodKind.choices)
    with_defaults = forms.BooleanField(
        label=gettext_lazy("套用默认考评清单（适用指标等权重，合计100分）"), required=False, initial=True
    )
    note = forms.CharField(
        label=gettext_lazy("说明"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args: Any, regions: list[Region], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _choices(self, "region", [(r.code, r.name) for r in regions])
        _style(self)


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)  # login_required
    return request.user


def _choices(form: forms.Form, name: str, choices: list[tuple[Any, Any]]) -> None:
    field = form.fields[name]
    assert isinstance(field, forms.ChoiceField)
    field.choices = choices


def _style(form: forms.Form) -> None:
    for f in form.fields.values():
        if isinstance(f.widget, forms.CheckboxInput):
            f.widget.attrs["class"] = "form-check-input"
        elif isinstance(f.widget, forms.Select):
            f.widget.attrs["class"] = "form-select form-select-sm"
        else:
            f.widget.attrs["class"] = "form-control form-control-sm"


def _apply_error(form: forms.Form, exc: FieldError) -> None:
    name = exc.field.split(".")[0]
    form.add_error(name if name in form.fields else None, str(exc.message))


@login_required
@require_http_methods(["GET", "POST"])
def plan_list(request: HttpRequest) -> HttpResponse:
    _require_view(request)
    can_manage = user_can_anywhere(request.user, Perm.ASSESSMENT_MANAGE)
    form = PlanForm(request.POST or None, regions=_manageable_regions(request.user)) if can_manage else None
    status = 200
    if request.method == "POST":
        if form is None:
            raise Http404
        if form.is_valid():
            region = Region.objects.filter(code=form.cleaned_data["region"]).first()
            try:
                if region is None:
                    raise FieldError("region", _("未知的区域。"))
                plan = services.plan_create(
                    actor=request.user,  # type: ignore[arg-type]
                    region=region,
                    name=form.cleaned_data["name"],
                    subject_kind=form.cleaned_data["subject_kind"],
                    period_kind=form.cleaned_data["period_kind"],
                    note=form.cleaned_data["note"],
                    indicators=services.default_indicators(form.cleaned_data["subject_kind"])
                    if form.cleaned_data["with_defaults"]
                    else [],
                )
            except FieldError as exc:
                _apply_error(form, exc)
            else:
                messages.success(request, _("已创建考核方案。"))
                return redirect("assessment-plan", plan.pk)
        status = 422
    plans = selectors.plan_list(request.user)
    return render(request, "assessment/plans.html", {"plans": plans, "form": form}, status=status)


class IndicatorForm(forms.Form):
    code = forms.ChoiceField(label=gettext_lazy("指标"), choices=())
    weight = forms.FloatField(label=gettext_lazy("权重（分值）"), min_value=0.01, max_value=1000)
    target = forms.FloatField(label=gettext_lazy("目标值（比率填小数，如0.95）"), required=False)
    curve = forms.ChoiceField(label=gettext_lazy("计分方式"), choices=Curve.choices)
    zero_at = forms.FloatField(label=gettext_lazy("零分值（线性计分，可空）"), required=False)
    level = forms.ChoiceField(
        label=gettext_lazy("上交层级（上交率）"),
        required=False,
        choices=[
            ("", "—"),
            ("city", gettext_lazy("市级")),
            ("county", gettext_lazy("县级")),
            ("township", gettext_lazy("乡镇级")),
        ],
    )

    def __init__(self, *args: Any, plan: AssessmentPlan, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _choices(
            self,
            "code",
            [(code, ind.name) for code, ind in INDICATORS.items() if plan.subject_kind in ind.subjects],
        )
        _style(self)


@login_required
@require_http_methods(["GET", "POST"])
def plan_detail(request: HttpRequest, plan_id: int) -> HttpResponse:
    """A plan's assessment list (考评清单) with every KPI's definition; managers edit it here."""
    plan = selectors.plan_get(request.user, plan_id)
    can_manage = selectors.can_manage(request.user, plan)
    form = IndicatorForm(request.POST or None, plan=plan) if can_manage else None
    status = 200
    if request.method == "POST":
        if form is None:
            raise Http404
        if request.POST.get("remove"):
            try:
                services.plan_indicator_remove(
                    actor=_user(request), plan_id=plan.pk, code=request.POST["remove"]
                )
            except DomainError as exc:
                messages.error(request, str(exc.message))
            return redirect("assessment-plan", plan.pk)
        if request.POST.get("toggle"):
            services.plan_update(actor=request.user, plan_id=plan.pk, is_active=not plan.is_active)  # type: ignore[arg-type]
            return redirect("assessment-plan", plan.pk)
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.plan_indicator_save(
                    actor=request.user,  # type: ignore[arg-type]
                    plan_id=plan.pk,
                    data=services.IndicatorInput(
                        code=data["code"],
                        weight=data["weight"],
                        target=data["target"],
                        curve=data["curve"],
                        zero_at=data["zero_at"],
                        params={"level": data["level"]}
                        if data["code"] == "escalation_rate" and data["level"]
                        else None,
                    ),
                )
            except FieldError as exc:
                _apply_error(form, exc)
            else:
                messages.success(request, _("已保存指标。"))
                return redirect("assessment-plan", plan.pk)
        status = 422
    items = []
    for pi in selectors.plan_indicators(plan):
        ind = pi.indicator
        items.append(
            {
                "pi": pi,
                "ind": ind,
                "cohort": formulas.COHORTS[ind.cohort],
                "target": f"{pi.target * 100:g}%" if ind.is_rate else f"{pi.target:g}",
                "curve": CURVES[pi.curve],
                "direction": _("越高越好") if ind.higher_is_better else _("越低越好"),
            }
        )
    return render(
        request,
        "assessment/plan_detail.html",
        {
            "plan": plan,
            "items": items,
            "form": form,
            "can_manage": can_manage,
            "total_weight": sum(i["pi"].weight for i in items),
        },
        status=status,
    )


# --- bulletins ------------------------------------------------------------------------------------------------


class BulletinForm(forms.Form):
    plan = forms.ChoiceField(label=gettext_lazy("考核方案"), choices=())
    period = forms.ChoiceField(label=gettext_lazy("周期"), choices=PeriodKind.choices)
    year = forms.IntegerField(label=gettext_lazy("年份"), min_value=2000, max_value=2100)
    n = forms.IntegerField(label=gettext_lazy("月份/季度"), min_value=1, max_value=12, required=False)
    start = forms.DateField(
        label=gettext_lazy("起始日期（自定义）"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    end = forms.DateField(
        label=gettext_lazy("截止日期（自定义）"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    note = forms.CharField(
        label=gettext_lazy("通报说明"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args: Any, plans: list[AssessmentPlan], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _choices(self, "plan", [(p.pk, f"{p.name}（{p.region.name}）") for p in plans])
        _style(self)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        kind, n = data.get("period"), data.get("n")
        if kind == PeriodKind.MONTH and not n:
            self.add_error("n", _("请填写月份。"))
        if kind == PeriodKind.QUARTER and not (n and 1 <= n <= 4):
            self.add_error("n", _("季度须为1到4。"))
        if kind == PeriodKind.CUSTOM:
            if not data.get("start") or not data.get("end"):
                self.add_error("start", _("自定义周期须填写起止日期。"))
            elif data["end"] < data["start"]:
                self.add_error("end", _("截止日期不能早于起始日期。"))
        return data

    def chosen_period(self) -> Period:
        d = self.cleaned_data
        return PeriodChoice(d["period"], d["year"], d.get("n") or 1, d.get("start"), d.get("end")).period()


@login_required
@require_http_methods(["GET", "POST"])
def bulletin_list(request: HttpRequest) -> HttpResponse:
    _require_view(request)
    managed_plans = [
        p
        for p in selectors.plan_list(request.user).filter(is_active=True)[:200]
        if selectors.can_manage(request.user, p)
    ]
    last_month = timezone.localdate().replace(day=1) - dt.timedelta(days=1)
    form = (
        BulletinForm(
            request.POST or None,
            plans=managed_plans,
            initial={"period": "month", "year": last_month.year, "n": last_month.month},
        )
        if managed_plans
        else None
    )
    status = 200
    if request.method == "POST":
        if form is None:
            raise Http404
        if form.is_valid():
            try:
                bulletin = services.bulletin_generate(
                    actor=request.user,  # type: ignore[arg-type]
                    plan_id=int(form.cleaned_data["plan"]),
                    period_kind=form.cleaned_data["period"],
                    period=form.chosen_period(),
                    note=form.cleaned_data["note"],
                )
            except FieldError as exc:
                _apply_error(form, exc)
            except DomainError as exc:
                form.add_error(None, str(exc.message))
            else:
                messages.success(request, _("通报正在后台生成，完成后为草稿，核对后请发布。"))
                return redirect("assessment-bulletin", bulletin.pk)
        status = 422
    page = Paginator(selectors.bulletin_list(request.user), 50).get_page(request.GET.get("page"))
    return render(request, "assessment/bulletins.html", {"page": page, "form": form}, status=status)


def _bulletin_context(bulletin: Bulletin) -> dict[str, Any]:
    snap = bulletin.snapshot
    indicators = snap.get("indicators", [])
    rows = []
    for row in snap.get("rows", []):
        cells = []
        for ind in indicators:
            v = row["values"].get(str(ind["id"]), {})
            value = formulas.Value(v.get("numerator"), v.get("denominator"), v.get("value"))
            cells.append({"value": fmt_value(value, ind["is_rate"]), "score": fmt_score(v.get("score"))})
        rows.append(
            {"name": row["name"], "rank": row["rank"], "total": fmt_score(row["total"]), "cells": cells}
        )
    chart = {
        "names": [r["name"] for r in snap.get("rows", []) if r["total"] is not None],
        "totals": [r["total"] for r in snap.get("rows", []) if r["total"] is not None],
        "full_marks": snap.get("full_marks"),
        "label": _("总分"),
    }
    return {
        "bulletin": bulletin,
        "indicators": indicators,
        "rows": rows,
        "full_marks": snap.get("full_marks"),
        "chart": chart,
        "ready": bulletin.status in (BulletinStatus.DRAFT, BulletinStatus.PUBLISHED),
    }


@login_required
@require_GET
def bulletin_detail(request: HttpRequest, bulletin_id: int) -> HttpResponse:
    bulletin = selectors.bulletin_get(request.user, bulletin_id)
    context = _bulletin_context(bulletin)
    context["can_manage"] = user_can(request.user, Perm.ASSESSMENT_MANAGE, bulletin)
    printable = request.GET.get("print") and context["ready"]
    template = "assessment/bulletin_print.html" if printable else "assessment/bulletin_detail.html"
    return render(request, template, context)


@login_required
@require_POST
def bulletin_retry(request: HttpRequest, bulletin_id: int) -> HttpResponse:
    bulletin = selectors.bulletin_get(request.user, bulletin_id)
    if not user_can(request.user, Perm.ASSESSMENT_MANAGE, bulletin):
        raise Http404
    try:
        services.bulletin_retry(actor=_user(request), bulletin_id=bulletin.pk)
    except DomainError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("已重新提交生成。"))
    return redirect("assessment-bulletin", bulletin.pk)


@login_required
@require_POST
def bulletin_publish(request: HttpRequest, bulletin_id: int) -> HttpResponse:
    bulletin = selectors.bulletin_get(request.user, bulletin_id)
    if not user_can(request.user, Perm.ASSESSMENT_MANAGE, bulletin):
        raise Http404
    try:
        services.bulletin_publish(actor=request.user, bulletin_id=bulletin.pk)  # type: ignore[arg-type]
    except DomainError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("通报已发布。"))
    return redirect("assessment-bulletin", bulletin.pk)


XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def bulletin_file(bulletin: Bulletin, kind: str) -> tuple[bytes, str, str]:
    """The kept file of a built bulletin (``xlsx`` or ``pdf``): content, file name, content type.
    Rendered from the snapshot when the file is missing (a bulletin kept before the files were)."""
    if bulletin.status not in (BulletinStatus.DRAFT, BulletinStatus.PUBLISHED):
        raise Http404
    stored = bulletin.xlsx_file if kind == "xlsx" else bulletin.pdf_file
    content: bytes | None = None
    if stored and stored.storage.exists(stored.name):
        with stored.open("rb") as fh:
            content = fh.read()
    if content is None:
        if kind == "xlsx":
            buffer = io.BytesIO()
            exports.bulletin_xlsx(bulletin, buffer)
            content = buffer.getvalue()
        else:
            content = exports.bulletin_pdf(bulletin)
    content_type = XLSX_TYPE if kind == "xlsx" else "application/pdf"
    return content, f"bulletin-{bulletin.pk}.{kind}", content_type


@login_required
@require_GET
def bulletin_export(request: HttpRequest, bulletin_id: int, kind: str = "xlsx") -> HttpResponse:
    bulletin = selectors.bulletin_get(request.user, bulletin_id)
    content, name, content_type = bulletin_file(bulletin, kind)
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
