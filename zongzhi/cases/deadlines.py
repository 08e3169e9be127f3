"""Deadline arithmetic. Pure: (start, policy, calendar) → due time. No database, no clock.

Rules (cited by the docs and the tests):
- Natural hours: due = start + N hours.
- Working days (工作日): counting starts the day after the start date; a day counts when the
  calendar says it is a working day (holidays off, 调休 make-up Saturdays/Sundays on); the case is due
  at the end (23:59:59, Asia/Shanghai) of the N-th counted day.
- Reminder (催办) at ``remind_ratio`` of the stage's time; listed supervision (挂牌督办) when
  ``listed_margin`` has passed after the due time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from .models import Stage, Urgency

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
END_OF_DAY = time(23, 59, 59)


@dataclass(frozen=True)
class StagePolicy:
    unit: str  # "h" natural hours, "wd" working days
    amount: int

    def encode(self) -> str:
        return f"{self.unit}:{self.amount}"

    @classmethod
    def decode(cls, text: str) -> StagePolicy | None:
        if not text:
            return None
        unit, _, amount = text.partition(":")
        if unit not in ("h", "wd") or not amount.isdigit():
            raise ValueError(f"bad stage policy {text!r}")
        return cls(unit, int(amount))


@dataclass(frozen=True)
class CategoryPolicy:
    """The deadline fields of a category (or the defaults when a case has none)."""

    accept_hours: int = 1
    dispatch_hours: int = 24
    urgent_dispatch_hours: int = 1
    acknowledge_hours: int = 24
    urgent_acknowledge_hours: int = 1
    handle_days: int = 7
    complex_handle_days: int = 15
    urgent_handle_hours: int = 24
    reply_hours: int = 24
    is_complex: bool = False


def stage_policy(stage: str, policy: CategoryPolicy, urgency: str, *, rating_days: int) -> StagePolicy | None:
    urgent = urgency == Urgency.URGENT
    if stage == Stage.ACCEPT:
        return StagePolicy("h", policy.accept_hours)
    if stage == Stage.DISPATCH:
        return StagePolicy("h", policy.urgent_dispatch_hours if urgent else policy.dispatch_hours)
    if stage == Stage.ACKNOWLEDGE:
        return StagePolicy("h", policy.urgent_acknowledge_hours if urgent else policy.acknowledge_hours)
    if stage == Stage.HANDLE:
        if urgent:
            return StagePolicy("h", policy.urgent_handle_hours)
        return StagePolicy("wd", policy.complex_handle_days if policy.is_complex else policy.handle_days)
    if stage == Stage.REPLY:
        return StagePolicy("h", policy.reply_hours)
    if stage == Stage.RATE:
        return StagePolicy("h", rating_days * 24)
    return None


def add_working_days(start: date, days: int, is_workday: Callable[[date], bool]) -> date:
    """The date of the ``days``-th working day after ``start`` (``start`` itself never counts)."""
    if days < 0:
        raise ValueError("days must be >= 0")
    current = start
    counted = 0
    while counted < days:
        current += timedelta(days=1)
        if is_workday(current):
            counted += 1
    return current


def due_at(start: datetime, policy: StagePolicy, is_workday: Callable[[date], bool]) -> datetime:
    if start.tzinfo is None:
        raise ValueError("start must be an aware datetime")
    if policy.unit == "h":
        return start + timedelta(hours=policy.amount)
    local_start = start.astimezone(LOCAL_TZ).date()
    if policy.amount == 0:
        return datetime.combine(local_start, END_OF_DAY, tzinfo=LOCAL_TZ)
    day = add_working_days(local_start, policy.amount, is_workday)
    return datetime.combine(day, END_OF_DAY, tzinfo=LOCAL_TZ)


def working_days_between(start: date, end: date, is_workday: Callable[[date], bool]) -> int:
    """Working days in (start, end] — the inverse of ``add_working_days``."""
    count = 0
    current = start
    while current < end:
        current += timedelta(days=1)
        if is_workday(current):
            count += 1
    return count


@dataclass(frozen=True)
class Thresholds:
    due_at: datetime
    remind_at: datetime
    list_at: datetime


def thresholds(
    start: datetime, due: datetime, *, remind_ratio: float, listed_margin: timedelta
) -> Thresholds:
    span = max(due - start, timedelta(0))
    # A stage can start after its fixed deadline (a late acknowledgement of a dispatch deadline):
    # the reminder is then due at once, never after the due time (remind ≤ due ≤ list).
    remind = min(start + span * remind_ratio, due)
    return Thresholds(due_at=due, remind_at=remind, list_at=due + listed_margin)


def sla_level_at(now: datetime, t: Thresholds) -> int:
    """0 fine, 1 due soon (reminder), 2 overdue (supervision), 3 overdue beyond the margin (listed)."""
    if now >= t.list_at:
        return 3
    if now >= t.due_at:
        return 2
    if now >= t.remind_at:
        return 1
    return 0


def next_check_at(level: int, t: Thresholds) -> datetime | None:
    """When the sweep must look at the case next, given the level already raised."""
    return {0: t.remind_at, 1: t.due_at, 2: t.list_at}.get(level)
