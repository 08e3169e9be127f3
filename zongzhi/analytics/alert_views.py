"""Web pages of the early warnings (研判预警): the alert list, an alert with its evidence and its
disposition, and the rule configuration. Thin: selectors read, ``alerts`` services write."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from zongzhi.core.errors import DomainError, FieldError
from zongzhi.orgs.models import Region
from zongzhi.orgs.roles import Perm
from zongzhi.orgs.scoping import user_can, user_can_anywhere

from . import alert_selectors as sel
from . import alerts
from .alert_models import AlertKind, AlertLevel, AlertStatus

PAGE_SIZE = 50


def _require_view(request: HttpRequest) -> None:
    if not user_can_anywhere(request.user, Perm.ALERT_VIEW):
        raise Http404


@login_required
@require_GET
def alert_list(request: HttpRequest) -> HttpResponse:
    _require_view(request)
    g = request.GET
    status = g.get("status", "open")
    f = sel.AlertFilters(
        status=status if status in ({"open"} | set(AlertStatus.values)) else None,
        level=g.get("level") if g.get("level") in AlertLevel.values else None,
        kind=g.get("kind") if g.get("kind") in AlertKind.values else None,
        region=g.get("region") or None,
    )
    page = Paginator(sel.alert_list(request.user, f), PAGE_SIZE).get_page(g.get("page"))
    counts = sel.alert_counts(request.user)
    query = g.copy()
    query.pop("page", None)
    return render(
        request,
        "analytics/alerts.html",
        {
            "page": page,
            "filters": f,
            "level_counts": [(v, label, counts.get(v, 0)) for v, label in AlertLevel.choices],
            "levels": AlertLevel.choices,
            "kinds": AlertKind.choices,
            "statuses": AlertStatus.choices,
            "query": query.urlencode(),
            "can_manage": user_can_anywhere(request.user, Perm.ALERT_MANAGE),
        },
    )


class DispositionForm(forms.Form):
    action = forms.ChoiceField(
        label=gettext_lazy("处置"),
        choices=[(k, gettext_lazy(v)) for k, v in alerts.DISPOSITION_LABELS.items()],
    )
    note = forms.CharField(
        label=gettext_lazy("处置说明"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3, "class": "form-control"}),
    )


def _detail(
    request: HttpRequest, alert_id: int, form: DispositionForm | None = None, status: int = 200
) -> HttpResponse:
    alert = sel.alert_get(request.user, alert_id)
    cases, total = sel.alert_cases(request.user, alert)
    actions = alerts.alert_actions_for(request.user, alert)
    return render(
        request,
        "analytics/alerts_detail.html",
        {
            "alert": alert,
            "figures": alert.evidence.get("figures", {}),
            "cases": cases,
            "case_total": total,
            "history": sel.alert_actions(alert),
            "actions": [(a, _(alerts.DISPOSITION_LABELS[a])) for a in actions],
            "form": form or DispositionForm(),
        },
        status=status,
    )


@login_required
@require_GET
def alert_detail(request: HttpRequest, alert_id: int) -> HttpResponse:
    return _detail(request, alert_id)


@login_required
@require_POST
def alert_dispose(request: HttpRequest, alert_id: int) -> HttpResponse:
    sel.alert_get(request.user, alert_id)  # 404 outside the scope, before anything else
    form = DispositionForm(request.POST)
    if not form.is_valid():
        return _detail(request, alert_id, form, status=422)
    try:
        alerts.alert_dispose(
            actor=request.user,  # type: ignore[arg-type]
            alert_id=alert_id,
            action=form.cleaned_data["action"],
            note=form.cleaned_data["note"],
        )
    except FieldError as exc:
        form.add_error(exc.field if exc.field in form.fields else None, str(exc.message))
        return _detail(request, alert_id, form, status=422)
    except DomainError as exc:
        messages.error(request, str(exc.message))
        return redirect("alert-detail", alert_id)
    messages.success(request, _("已记录处置。"))
    return redirect("alert-detail", alert_id)


# --- rules -----------------------------------------------------------------------------------------------------


class RuleForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("名称"), max_length=100)
    kind = forms.ChoiceField(label=gettext_lazy("预警类型"), choices=AlertKind.choices)
    region = forms.ChoiceField(label=gettext_lazy("监测区域"), choices=())
    level = forms.ChoiceField(
        label=gettext_lazy("预警等级"), choices=AlertLevel.choices, initial=AlertLevel.YELLOW
    )
    enabled = forms.BooleanField(label=gettext_lazy("启用"), required=False, initial=True)
    note = forms.CharField(label=gettext_lazy("说明"), max_length=300, required=False)

    def __init__(
        self, *args: Any, regions: list[Region], kind: str, editing: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        region_field = self.fields["region"]
        assert isinstance(region_field, forms.ChoiceField)
        region_field.choices = [(r.code, f"{r.name}（{r.get_level_display()}）") for r in regions]
        for name, spec in alerts.PARAM_SPECS[kind].items():
            field: forms.Field
            if spec.choices:
                field = forms.ChoiceField(
                    label=spec.label, choices=[(c, _param_choice(c)) for c in spec.choices]
                )
            elif spec.kind is int:
                field = forms.IntegerField(
                    label=spec.label,
                    min_value=None if spec.minimum is None else int(spec.minimum),
                    max_value=None if spec.maximum is None else int(spec.maximum),
                )
            else:
                field = forms.FloatField(label=spec.label, min_value=spec.minimum, max_value=spec.maximum)
            field.initial = spec.default
            self.fields[f"p_{name}"] = field
        if editing:
            for locked in ("kind", "region"):
                self.fields[locked].disabled = True
                self.fields[locked].required = False
        for f in self.fields.values():
            if isinstance(f.widget, forms.CheckboxInput):
                f.widget.attrs["class"] = "form-check-input"
            elif isinstance(f.widget, forms.Select):
                f.widget.attrs["class"] = "form-select form-select-sm"
            else:
                f.widget.attrs["class"] = "form-control form-control-sm"

    def params(self) -> dict[str, Any]:
        return {k[2:]: v for k, v in self.cleaned_data.items() if k.startswith("p_")}


_PARAM_CHOICES = {
    "leaf": gettext_lazy("小类"),
    "parent": gettext_lazy("大类"),
    "county": gettext_lazy("县（市、区）"),
    "township": gettext_lazy("乡镇（街道）"),
    "village": gettext_lazy("村（社区）"),
}


def _param_choice(value: str) -> Any:
    return _PARAM_CHOICES.get(value, value)


def _require_manage(request: HttpRequest) -> None:
    if not user_can_anywhere(request.user, Perm.ALERT_MANAGE):
        raise Http404


@login_required
@require_http_methods(["GET", "POST"])
def rule_list(request: HttpRequest) -> HttpResponse:
    _require_view(request)
    can_manage = user_can_anywhere(request.user, Perm.ALERT_MANAGE)
    kind = request.POST.get("kind") or request.GET.get("kind") or AlertKind.REPEAT_REPORTER
    if kind not in AlertKind.values:
        kind = AlertKind.REPEAT_REPORTER
    regions = sel.manageable_regions(request.user) if can_manage else []
    form = None
    status = 200
    if can_manage:
        form = RuleForm(request.POST or None, regions=regions, kind=kind, initial={"kind": kind})
        if request.method == "POST":
            if form.is_valid():
                region = Region.objects.filter(code=form.cleaned_data["region"]).first()
                try:
                    if region is None:
                        raise FieldError("region", _("未知的区域。"))
                    rule = alerts.alert_rule_create(
                        actor=request.user,  # type: ignore[arg-type]
                        region=region,
                        kind=kind,
                        name=form.cleaned_data["name"],
                        level=form.cleaned_data["level"],
                        params=form.params(),
                        enabled=form.cleaned_data["enabled"],
                        note=form.cleaned_data["note"],
                    )
                except FieldError as exc:
                    _field_error(form, exc)
                else:
                    messages.success(request, _("已添加预警规则“%(name)s”。") % {"name": rule.name})
                    return redirect("alert-rules")
            status = 422
    elif request.method == "POST":
        raise Http404
    return render(
        request,
        "analytics/alerts_rules.html",
        {
            "rules": sel.rule_list(request.user)[:500],
            "form": form,
            "kind": kind,
            "kinds": AlertKind.choices,
            "specs": alerts.PARAM_SPECS,
        },
        status=status,
    )


def _field_error(form: forms.Form, exc: FieldError) -> None:
    name = exc.field
    if name.startswith("params."):
        name = "p_" + name.split(".", 1)[1]
    form.add_error(name if name in form.fields else None, str(exc.message))


@login_required
@require_http_methods(["GET", "POST"])
def rule_edit(request: HttpRequest, rule_id: int) -> HttpResponse:
    rule = sel.rule_get(request.user, rule_id)
    if not user_can(request.user, Perm.ALERT_MANAGE, rule.region_path):
        raise Http404
    initial = {
        "name": rule.name,
        "kind": rule.kind,
        "region": rule.region.code,
        "level": rule.level,
        "enabled": rule.enabled,
        "note": rule.note,
        **{f"p_{k}": v for k, v in rule.params.items()},
    }
    form = RuleForm(
        request.POST or None, regions=[rule.region], kind=rule.kind, editing=True, initial=initial
    )
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                alerts.alert_rule_update(
                    actor=request.user,  # type: ignore[arg-type]
                    rule_id=rule.pk,
                    name=form.cleaned_data["name"],
                    level=form.cleaned_data["level"],
                    params=form.params(),
                    enabled=form.cleaned_data["enabled"],
                    note=form.cleaned_data["note"],
                )
            except FieldError as exc:
                _field_error(form, exc)
            else:
                messages.success(request, _("已保存预警规则。"))
                return redirect("alert-rules")
        status = 422
    return render(request, "analytics/alerts_rule_edit.html", {"rule": rule, "form": form}, status=status)
