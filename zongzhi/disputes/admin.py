"""Configuration of disputes in the admin: the dispute types, the escalation-risk signals (民转刑风险信号)
and the scale thresholds. One list for the installation, edited with ``catalogue.manage``; every
write goes through ``services`` (audited)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from zongzhi.orgs.admin import ScopedAdmin, _adopt, _service_call
from zongzhi.orgs.roles import Perm
from zongzhi.orgs.scoping import user_can_anywhere

from . import services
from .models import DisputeSettings, DisputeType, RiskFlagType


class _ConfigAdmin(ScopedAdmin):
    admin_perms = (Perm.CATALOGUE_MANAGE,)
    manage_perm = Perm.CATALOGUE_MANAGE

    def scope_queryset(self, request: HttpRequest, qs: QuerySet[Any]) -> QuerySet[Any]:
        return qs if user_can_anywhere(request.user, Perm.CATALOGUE_MANAGE) else qs.none()

    def in_manage_scope(self, request: HttpRequest, obj: Any) -> bool:
        return user_can_anywhere(request.user, Perm.CATALOGUE_MANAGE)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return ("code",) if obj is not None else ()

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        values = {k: form.cleaned_data[k] for k in form.cleaned_data if k != "code"}
        if not change:
            row = _service_call(
                services.config_type_create,
                actor=request.user,
                model=type(obj),
                code=form.cleaned_data["code"],
                values=values,
            )
        else:
            changes = {k: form.cleaned_data[k] for k in form.changed_data}
            row = _service_call(services.config_type_update, actor=request.user, row=obj, changes=changes)
        _adopt(obj, row)


@admin.register(DisputeType)
class DisputeTypeAdmin(_ConfigAdmin):
    list_display = ("code", "name", "category_code", "sort_order", "is_active")
    ordering = ("sort_order", "code")
    search_fields = ("code", "name")
    list_filter = ("is_active",)
    fields = ("code", "name", "category_code", "sort_order", "is_active")


@admin.register(RiskFlagType)
class RiskFlagTypeAdmin(_ConfigAdmin):
    list_display = ("code", "name", "sort_order", "is_active")
    ordering = ("sort_order", "code")
    search_fields = ("code", "name")
    list_filter = ("is_active",)
    fields = ("code", "name", "description", "sort_order", "is_active")


@admin.register(DisputeSettings)
class DisputeSettingsAdmin(_ConfigAdmin):
    allow_add = False  # one row, created by the migration
    list_display = ("__str__", "group_min_people", "mass_min_people")
    fields = ("group_min_people", "mass_min_people")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return ()

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        row = _service_call(
            services.thresholds_update,
            actor=request.user,
            group_min_people=form.cleaned_data["group_min_people"],
            mass_min_people=form.cleaned_data["mass_min_people"],
        )
        _adopt(obj, row)
