"""Configuration of base data in the admin: the visit schedule policies (走访频次规则) per special
group and risk level. Personal data is never in the admin (三员分立: the administrators configure,
they do not see residents)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from zongzhi.orgs.admin import ScopedAdmin, _adopt, _service_call
from zongzhi.orgs.roles import Perm
from zongzhi.orgs.scoping import user_can_anywhere

from . import services
from .models import VisitSchedulePolicy


@admin.register(VisitSchedulePolicy)
class VisitSchedulePolicyAdmin(ScopedAdmin):
    admin_perms = (Perm.CATALOGUE_MANAGE,)
    manage_perm = Perm.CATALOGUE_MANAGE
    allow_delete = True
    list_display = ("group", "min_risk_level", "frequency", "grace_days", "updated_at")
    list_filter = ("group", "frequency")
    ordering = ("group", "min_risk_level")
    fields = ("group", "min_risk_level", "frequency", "grace_days")

    def scope_queryset(self, request: HttpRequest, qs: QuerySet[Any]) -> QuerySet[Any]:
        return qs if user_can_anywhere(request.user, Perm.CATALOGUE_MANAGE) else qs.none()

    def in_manage_scope(self, request: HttpRequest, obj: Any) -> bool:
        return user_can_anywhere(request.user, Perm.CATALOGUE_MANAGE)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return ("group", "min_risk_level") if obj is not None else ()

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        policy = _service_call(
            services.visit_policy_set,
            actor=request.user,
            group=obj.group,
            min_risk_level=obj.min_risk_level,
            frequency=form.cleaned_data["frequency"],
            grace_days=form.cleaned_data["grace_days"],
        )
        _adopt(obj, policy)

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        _service_call(services.visit_policy_delete, actor=request.user, policy=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for obj in queryset:
            self.delete_model(request, obj)
