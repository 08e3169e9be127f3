"""Visit schedules of special-population members. Pure functions: no database access.

A schedule is a calendar frequency (weekly: Monday–Sunday; monthly; quarterly: Jan/Apr/Jul/Oct)
in local time (``TIME_ZONE``, Asia/Shanghai), plus grace days. Each period needs one visit; a
visit at ``t`` counts for a period when ``period_start <= t < period_end + grace``. A period whose
``due_at`` (= end + grace) has passed without a visit is a missed visit.

The policy for a member: among the rows of the member's group, the one with the highest
``min_risk_level`` not above the member's risk level; without rows, ``DEFAULT_POLICY``
(monthly, weekly from risk level 3)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.conf import settings

WEEKLY = "weekly"
MONTHLY = "monthly"
QUARTERLY = "quarterly"


@dataclass(frozen=True)
class Policy:
    frequency: str
    grace_days: int = 0


@dataclass(frozen=True)
class PolicyRow:
    group: str
    min_risk_level: int
    frequency: str
    grace_days: int = 0


HIGH_RISK_LEVEL = 3


def default_policy(risk_level: int) -> Policy:
    return Policy(WEEKLY if risk_level >= HIGH_RISK_LEVEL else MONTHLY, 0)


def policy_for(rows: Iterable[PolicyRow], group: str, risk_level: int) -> Policy:
    best: PolicyRow | None = None
    for row in rows:
        if row.group != group or row.min_risk_level > risk_level:
            continue
        if best is None or row.min_risk_level > best.min_risk_level:
            best = row
    if best is None:
        return default_policy(risk_level)
    return Policy(best.frequency, best.grace_days)


def _tz() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def local_midnight(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=_tz())


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def period_bounds(frequency: str, at: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """The calendar period of ``frequency`` containing ``at``: ``[start, end)`` as aware local
    datetimes."""
    if at.tzinfo is None:
        raise ValueError("aware datetimes only")
    day = at.astimezone(_tz()).date()
    if frequency == WEEKLY:
        start = day - dt.timedelta(days=day.weekday())
        return local_midnight(start), local_midnight(start + dt.timedelta(days=7))
    if frequency == MONTHLY:
        start = day.replace(day=1)
        return local_midnight(start), local_midnight(_add_months(start, 1))
    if frequency == QUARTERLY:
        start = dt.date(day.year, (day.month - 1) // 3 * 3 + 1, 1)
        return local_midnight(start), local_midnight(_add_months(start, 3))
    raise ValueError(f"unknown frequency {frequency!r}")


@dataclass(frozen=True)
class Period:
    start: dt.datetime
    end: dt.datetime
    due_at: dt.datetime

    def counts(self, visited_at: dt.datetime) -> bool:
        """Does a visit at ``visited_at`` satisfy this period?"""
        return self.start <= visited_at < self.due_at


def period_at(policy: Policy, at: dt.datetime) -> Period:
    start, end = period_bounds(policy.frequency, at)
    return Period(start, end, end + dt.timedelta(days=policy.grace_days))


def next_period(policy: Policy, current_end: dt.datetime) -> Period:
    """The period that follows one ending at ``current_end`` (under ``policy``, which may differ
    from the one the current period was made with)."""
    return period_at(policy, current_end)


def is_overdue(period: Period, visited: bool, now: dt.datetime) -> bool:
    return not visited and now >= period.due_at
