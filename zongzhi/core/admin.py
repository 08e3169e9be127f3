"""Admin presentation of the core models: the audit log (read-only) and the working calendar.

These classes are *not registered here*. ``zongzhi.core`` is the bottom layer and may not import
``zongzhi.orgs`` (import-linter contract), yet who may see the audit log and edit the calendar is
decided by role grants, which live in ``orgs``. So this module holds everything about *how* the
models are shown and how edits are recorded, and ``zongzhi.orgs.admin`` subclasses them with the
grant-based permission mixin and registers them on the admin site.

- ``AuditLogAdmin``: nobody adds, changes or deletes a row, whatever their role (the log is
  append-only; ``AuditLog.save``/``delete`` refuse as well). List with filters on action and
  date, search on actor and object.
- ``CalendarDayAdmin``: every add, change and delete writes an audit row in the same transaction.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest

from .audit import audit_record, client_ip
from .models import CalendarDay


class AuditLogAdmin(admin.ModelAdmin):
    list_display = ("at", "actor_username", "action", "object_type", "object_repr", "region_path", "ip")
    list_filter = ("action", "at")
    search_fields = ("actor_username", "action", "object_type", "object_id", "object_repr")
    date_hierarchy = "at"
    ordering = ("-id",)
    list_select_related = False
    show_full_result_count = False
    list_per_page = 100
    fields = (
        "at",
        "actor_username",
        "action",
        "object_type",
        "object_id",
        "object_repr",
        "region_path",
        "ip",
        "data",
        "prev_hash",
        "hash",
    )
    readonly_fields = fields
    actions = None

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def _calendar_data(day: CalendarDay) -> dict[str, Any]:
    return {"date": str(day.date), "is_workday": day.is_workday, "name": day.name}


class CalendarDayAdmin(admin.ModelAdmin):
    list_display = ("date", "is_workday", "name", "source", "updated_at")
    list_filter = ("is_workday", "source")
    search_fields = ("name", "date")
    date_hierarchy = "date"
    fields = ("date", "is_workday", "name", "source", "updated_at")
    readonly_fields = ("source", "updated_at")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        # The date is the primary key: change a date by deleting the row and adding another.
        return (*self.readonly_fields, "date") if obj is not None else self.readonly_fields

    def save_model(self, request: HttpRequest, obj: CalendarDay, form: Any, change: bool) -> None:
        obj.source = "manual"
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            audit_record(
                actor=request.user,
                action="admin.change" if change else "admin.add",
                obj=obj,
                ip=client_ip(request),
                data={**_calendar_data(obj), "fields": list(form.changed_data)},
            )

    def delete_model(self, request: HttpRequest, obj: CalendarDay) -> None:
        with transaction.atomic():
            audit_record(
                actor=request.user,
                action="admin.delete",
                obj=obj,
                ip=client_ip(request),
                data=_calendar_data(obj),
            )
            obj.delete()

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[CalendarDay]) -> None:
        for day in queryset:
            self.delete_model(request, day)
