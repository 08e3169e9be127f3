"""The working calendar: statutory holidays and make-up workdays (调休) over the Monday–Friday rule.

The table (``CalendarDay``) is the truth; it is seeded from the ``chinesecalendar`` package for the
years it knows and edited by administrators. Each process keeps the table in memory and reloads it
when the cached version number changes (bumped by ``calendar_day_set``).
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.core.cache import cache
from django.db import transaction

from .audit import audit_record
from .models import CalendarDay

_VERSION_KEY = "zz:calendar:version"
_lock = threading.Lock()


@dataclass(frozen=True)
class WorkCalendar:
    """Answers "is this date a working day?" from a set of overrides. Pure; no database."""

    overrides: dict[date, bool] = field(default_factory=dict)
    names: dict[date, str] = field(default_factory=dict)

    def is_workday(self, day: date) -> bool:
        override = self.overrides.get(day)
        if override is not None:
            return override
        return day.weekday() < 5

    def name_of(self, day: date) -> str:
        return self.names.get(day, "")


_cached: tuple[Any, WorkCalendar] | None = None


def _version() -> Any:
    version = cache.get(_VERSION_KEY)
    if version is None:
        cache.add(_VERSION_KEY, secrets.randbelow(1 << 40) + 2, timeout=None)
        version = cache.get(_VERSION_KEY, 1)
    return version


def current_calendar() -> WorkCalendar:
    """The calendar as the table holds it (reloaded when an administrator changed it)."""
    global _cached
    version = _version()
    cached = _cached
    if cached is not None and cached[0] == version:
        return cached[1]
    with _lock:
        rows = list(CalendarDay.objects.values_list("date", "is_workday", "name"))
        calendar = WorkCalendar(overrides={d: w for d, w, _ in rows}, names={d: n for d, _, n in rows if n})
        _cached = (version, calendar)
    return calendar


def calendar_changed() -> None:
    """Tell every process to reload the calendar (after any write to the table)."""
    try:
        cache.incr(_VERSION_KEY)
    except ValueError:
        cache.set(_VERSION_KEY, 2, timeout=None)
    global _cached
    _cached = None


def calendar_day_set(
    *, actor: Any, day: date, is_workday: bool, name: str = "", ip: str | None = None
) -> CalendarDay:
    """Mark ``day`` as a working day or a day off. Recorded in the audit log. Deadlines already
    computed do not move until ``recompute_deadlines`` runs (administrators decide when)."""
    with transaction.atomic():
        row, _ = CalendarDay.objects.update_or_create(
            date=day, defaults={"is_workday": is_workday, "name": name, "source": "manual"}
        )
        audit_record(
            actor=actor,
            action="calendar.set",
            object_type="core.calendarday",
            object_id=day.isoformat(),
            ip=ip,
            data={"is_workday": is_workday, "name": name},
        )
    transaction.on_commit(calendar_changed)
    return row


def calendar_day_clear(*, actor: Any, day: date, ip: str | None = None) -> None:
    """Return ``day`` to the weekly rule."""
    with transaction.atomic():
        CalendarDay.objects.filter(date=day).delete()
        audit_record(
            actor=actor,
            action="calendar.clear",
            object_type="core.calendarday",
            object_id=day.isoformat(),
            ip=ip,
        )
    transaction.on_commit(calendar_changed)


def calendar_seed(days: Iterable[tuple[date, bool, str]]) -> int:
    """Load (date, is_workday, name) rows as seed data; manual edits are kept. Returns rows written."""
    existing_manual = set(CalendarDay.objects.filter(source="manual").values_list("date", flat=True))
    rows = [
        CalendarDay(date=d, is_workday=w, name=n, source="seed")
        for d, w, n in days
        if d not in existing_manual
    ]
    with transaction.atomic():
        CalendarDay.objects.filter(source="seed").delete()
        CalendarDay.objects.bulk_create(rows, batch_size=1000)
    transaction.on_commit(calendar_changed)
    return len(rows)


HOLIDAY_NAMES_ZH = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节",
    "Anti-Fascist 70th Day": "抗战胜利70周年纪念日",
}


def chinesecalendar_days() -> list[tuple[date, bool, str]]:
    """Holidays and make-up workdays from the ``chinesecalendar`` package."""
    import chinese_calendar

    days: list[tuple[date, bool, str]] = []
    for day, name in chinese_calendar.holidays.items():
        days.append((day, False, HOLIDAY_NAMES_ZH.get(str(name), str(name))))
    for day, name in chinese_calendar.workdays.items():
        days.append((day, True, f"{HOLIDAY_NAMES_ZH.get(str(name), str(name))}调休"))
    return sorted(days)
