"""Configuration of the loop in the admin: the catalogue and the responsibility list (权责清单).

The catalogue is one for the installation: it is seen and edited with ``catalogue.manage``. Rules are
scoped by region. A rule is never edited in place: saving a change creates its next version from a
new effective date (``services.rule_revise``); the versions are listed on the rule's page.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html_join
from django.utils.translation import gettext_lazy as _

from zongzhi.orgs.admin import ScopedAdmin, _adopt, _service_call
from zongzhi.orgs.roles import Perm
from zongzhi.orgs.scoping import user_can_anywhere

from . import services
from .models import Category, ResponsibilityRule

_POLICY_FIELDS = (
    "accept_hours",
    "dispatch_hours",
    "urgent_dispatch_hours",
    "acknowledge_hours",
    "urgent_acknowledge_hours",
    "handle_days",
    "complex_handle_days",
    "urgent_handle_hours",
    "reply_hours",
    "is_complex",
)


@admin.register(Category)
class CategoryAdmin(ScopedAdmin):
    admin_perms = (Perm.CATALOGUE_MANAGE,)
    manage_perm = Perm.CATALOGUE_MANAGE
    list_display = ("code", "name", "parent", "default_kind", "handle_days", "is_complex", "is_active")
    list_filter = ("parent", "default_kind", "is_complex", "is_active")
    search_fields = ("code", "name", "keywords")
    ordering = ("sort_order", "code")
    fieldsets = (
        (None, {"fields": ("code", "name", "parent", "default_kind", "keywords", "sort_order", "is_active")}),
        (_("时限规则"), {"fields": _POLICY_FIELDS}),
    )

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return ("code", "parent") if obj is not None else ()

    def scope_queryset(self, request: HttpRequest, qs: QuerySet[Any]) -> QuerySet[Any]:
        return qs if user_can_anywhere(request.user, Perm.CATALOGUE_MANAGE) else qs.none()

    def in_manage_scope(self, request: HttpRequest, obj: Any) -> bool:
        return user_can_anywhere(request.user, Perm.CATALOGUE_MANAGE)

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "parent":
            kwargs["queryset"] = Category.objects.filter(parent__isnull=True)
        return admin.ModelAdmin.formfield_for_foreignkey(self, db_field, request, **kwargs)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if not change:
            fields = {
                k: form.cleaned_data[k] for k in form.cleaned_data if k not in ("code", "name", "parent")
            }
            created = _service_call(
                services.category_create,
                actor=request.user,
                code=form.cleaned_data["code"],
                name=form.cleaned_data["name"],
                parent_code=form.cleaned_data["parent"].code if form.cleaned_data.get("parent") else None,
                **fields,
            )
            _adopt(obj, created)
            return
        changes = {k: form.cleaned_data[k] for k in form.changed_data}
        _adopt(
            obj, _service_call(services.category_update, actor=request.user, category=obj, changes=changes)
        )


class RuleForm(forms.ModelForm):
    new_effective_from = forms.DateField(
        label=_("新版本生效日期"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("修改已有规则时必填：保存后生成新版本，旧版本于该日失效，历史保留。"),
    )

    class Meta:
        model = ResponsibilityRule
        fields = (
            "category",
            "region",
            "lead_department",
            "assisting_departments",
            "handling_level",
            "legal_basis",
            "effective_from",
            "effective_to",
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.instance.pk and not data.get("new_effective_from"):
            self.add_error("new_effective_from", _("请填写新版本的生效日期。"))
        return data


@admin.register(ResponsibilityRule)
class ResponsibilityRuleAdmin(ScopedAdmin):
    admin_perms = (Perm.CATALOGUE_MANAGE,)
    manage_perm = Perm.CATALOGUE_MANAGE
    form = RuleForm
    list_display = (
        "category",
        "region",
        "lead_department",
        "handling_level",
        "version",
        "effective_from",
        "effective_to",
        "in_force",
    )
    list_filter = ("handling_level", "category__parent")
    search_fields = ("category__name", "category__code", "region__name", "lead_department__name", "rule_key")
    autocomplete_fields = ("region",)
    filter_horizontal = ("assisting_departments",)
    readonly_fields = ("rule_key", "version", "history")

    @admin.display(description=_("现行"), boolean=True)
    def in_force(self, obj: ResponsibilityRule) -> bool:
        today = timezone.localdate()
        return obj.effective_from <= today and (obj.effective_to is None or obj.effective_to > today)

    @admin.display(description=_("版本历史"))
    def history(self, obj: ResponsibilityRule) -> Any:
        if not obj.pk:
            return "—"
        versions = ResponsibilityRule.objects.filter(rule_key=obj.rule_key).select_related("lead_department")
        return format_html_join(
            "",
            "<div>v{} · {} → {} · {} {}</div>",
            (
                (
                    v.version,
                    v.effective_from,
                    v.effective_to or "…",
                    v.lead_department.name,
                    v.legal_basis[:40],
                )
                for v in versions.order_by("version")
            ),
        )

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        base = [
            "category",
            "region",
            "lead_department",
            "assisting_departments",
            "handling_level",
            "legal_basis",
        ]
        if obj is None:
            return [*base, "effective_from", "effective_to"]
        return [
            "rule_key",
            "version",
            *base,
            "effective_from",
            "effective_to",
            "new_effective_from",
            "history",
        ]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        if obj is None:
            return ()
        return ("rule_key", "version", "history", "category", "region", "effective_from", "effective_to")

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        d = form.cleaned_data
        if not change:
            rule = _service_call(
                services.rule_create,
                actor=request.user,
                category=d["category"],
                region=d["region"],
                lead_department=d["lead_department"],
                assisting_departments=list(d["assisting_departments"]),
                handling_level=d["handling_level"],
                legal_basis=d["legal_basis"],
                effective_from=d["effective_from"],
                effective_to=d.get("effective_to"),
            )
        else:
            current = ResponsibilityRule.objects.get(pk=obj.pk)
            rule = _service_call(
                services.rule_revise,
                actor=request.user,
                rule=current,
                effective_from=d["new_effective_from"],
                lead_department=d["lead_department"],
                assisting_departments=list(d["assisting_departments"]),
                handling_level=d["handling_level"],
                legal_basis=d["legal_basis"],
            )
        _adopt(obj, rule)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        """The services already stored the departments; the old version stays as it was."""
