"""Pure tests of the deadline arithmetic (``zongzhi.cases.deadlines``). No database, no clock.

The oracle is deliberately naive: it lists every date after the start, keeps those that are
working days, and picks the n-th. For the real calendar the oracle asks ``chinese_calendar``
directly, while the code under test uses the ``WorkCalendar`` built from the seed rows
(``chinesecalendar_days``), so the seed conversion is checked as well. Random calendars draw their
own holiday and make-up (调休) sets.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from datetime import timezone as dt_timezone
from functools import cache

import chinese_calendar
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zongzhi.cases import deadlines
from zongzhi.cases.deadlines import (
    CategoryPolicy,
    StagePolicy,
    Thresholds,
    add_working_days,
    due_at,
    next_check_at,
    sla_level_at,
    stage_policy,
    thresholds,
    working_days_between,
)
from zongzhi.cases.models import Stage, Urgency
from zongzhi.core.calendar import WorkCalendar, chinesecalendar_days

SHANGHAI = dt_timezone(timedelta(hours=8))  # no DST since 1991: a fixed offset is the truth
LAST_KNOWN = date(2026, 12, 31)  # the chinesecalendar data used here ends with 2026
FIRST_KNOWN = date(2004, 1, 1)
FAST = settings(max_examples=200, deadline=None)


@cache
def real_calendar() -> WorkCalendar:
    rows = chinesecalendar_days()
    return WorkCalendar(overrides={d: w for d, w, _ in rows}, names={d: n for d, _, n in rows})


def all_dates(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def oracle_add(start: date, n: int, is_workday, dates: list[date]) -> date:  # type: ignore[no-untyped-def]
    """The n-th working day after ``start``: walk the list of all dates from ``start`` on, one day at
    a time, counting the working ones."""
    i = dates.index(start)
    counted = 0
    while counted < n:
        i += 1
        if is_workday(dates[i]):
            counted += 1
    return dates[i]


def oracle_between(start: date, end: date, is_workday, dates: list[date]) -> int:  # type: ignore[no-untyped-def]
    return sum(1 for d in dates[dates.index(start) + 1 : dates.index(end) + 1] if is_workday(d))


REAL_DATES = all_dates(FIRST_KNOWN, LAST_KNOWN)


def oracle_real_is_workday(day: date) -> bool:
    return chinese_calendar.is_workday(day)


def local(y: int, m: int, d: int, hh: int = 0, mm: int = 0, ss: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, ss, tzinfo=deadlines.LOCAL_TZ)


WD = StagePolicy("wd", 7)


# --- the real calendar --------------------------------------------------------------------------------


def test_real_calendar_agrees_with_chinesecalendar_every_day():
    cal = real_calendar()
    day = FIRST_KNOWN
    while day <= LAST_KNOWN:
        assert cal.is_workday(day) == chinese_calendar.is_workday(day), day
        day += timedelta(days=1)


@FAST
@given(
    start=st.dates(min_value=FIRST_KNOWN, max_value=date(2026, 10, 15)),
    n=st.integers(min_value=0, max_value=40),
)
def test_add_working_days_matches_oracle_on_the_real_calendar(start, n):
    cal = real_calendar()
    got = add_working_days(start, n, cal.is_workday)
    assert got == oracle_add(start, n, oracle_real_is_workday, REAL_DATES)
    if n:
        assert oracle_real_is_workday(got)
    assert working_days_between(start, got, cal.is_workday) == n


@FAST
@given(
    start=st.datetimes(
        min_value=datetime(2004, 1, 2), max_value=datetime(2026, 10, 15), timezones=st.just(UTC)
    ),
    n=st.integers(min_value=0, max_value=30),
)
def test_due_at_matches_oracle_on_the_real_calendar(start, n):
    """The count starts from the start's date in Asia/Shanghai (a UTC evening is the next local
    day) and the case is due at 23:59:59 local time of the n-th counted day."""
    cal = real_calendar()
    local_day = start.astimezone(SHANGHAI).date()
    expected_day = oracle_add(local_day, n, oracle_real_is_workday, REAL_DATES)
    got = due_at(start, StagePolicy("wd", n), cal.is_workday)
    assert got == datetime.combine(expected_day, time(23, 59, 59), tzinfo=SHANGHAI)
    assert got.tzinfo is not None
    assert got >= start


# --- random calendars ----------------------------------------------------------------------------------

WINDOW_START = date(2030, 1, 1)
WINDOW_DAYS = 120
RANDOM_DATES = all_dates(WINDOW_START - timedelta(days=30), WINDOW_START + timedelta(days=WINDOW_DAYS + 400))
window_dates = st.integers(min_value=0, max_value=WINDOW_DAYS).map(lambda i: WINDOW_START + timedelta(days=i))


@st.composite
def random_calendars(draw):  # type: ignore[no-untyped-def]
    holidays = draw(st.sets(window_dates, max_size=40))
    # a long holiday block now and then (Spring Festival style)
    if draw(st.booleans()):
        first = draw(window_dates)
        holidays |= {first + timedelta(days=i) for i in range(draw(st.integers(3, 12)))}
    makeups = draw(st.sets(window_dates, max_size=10))
    overrides = {d: False for d in holidays} | {d: True for d in makeups}

    def oracle(day: date) -> bool:
        if day in makeups:
            return True
        if day in holidays:
            return False
        return day.isoweekday() <= 5

    return WorkCalendar(overrides=overrides), oracle


@FAST
@given(
    cal=random_calendars(),
    start=st.integers(-10, WINDOW_DAYS).map(lambda i: WINDOW_START + timedelta(days=i)),
    n=st.integers(min_value=0, max_value=45),
)
def test_add_working_days_matches_oracle_on_random_calendars(cal, start, n):
    calendar, oracle = cal
    got = add_working_days(start, n, calendar.is_workday)
    assert got == oracle_add(start, n, oracle, RANDOM_DATES)
    if n:
        assert got > start
        assert add_working_days(start, n - 1, calendar.is_workday) < got
    assert working_days_between(start, got, calendar.is_workday) == n


@FAST
@given(
    cal=random_calendars(),
    a=st.integers(-10, WINDOW_DAYS + 10),
    b=st.integers(-10, WINDOW_DAYS + 10),
)
def test_working_days_between_matches_oracle_and_inverts(cal, a, b):
    calendar, oracle = cal
    start, end = sorted([WINDOW_START + timedelta(days=a), WINDOW_START + timedelta(days=b)])
    n = working_days_between(start, end, calendar.is_workday)
    assert n == oracle_between(start, end, oracle, RANDOM_DATES)
    # adding the count back never overshoots ``end``, and lands on it when ``end`` is a working day
    back = add_working_days(start, n, calendar.is_workday)
    assert back <= end
    if end > start and oracle(end):
        assert back == end
    assert working_days_between(end, start, calendar.is_workday) == 0  # empty when reversed


@FAST
@given(
    cal=random_calendars(),
    offset=st.integers(-10, WINDOW_DAYS),
    seconds=st.integers(0, 86_399),
    n=st.integers(0, 30),
    hours=st.integers(0, 400),
)
def test_due_at_on_random_calendars(cal, offset, seconds, n, hours):
    calendar, oracle = cal
    start = datetime.combine(WINDOW_START + timedelta(days=offset), time(), tzinfo=SHANGHAI) + timedelta(
        seconds=seconds
    )
    expected = oracle_add(start.date(), n, oracle, RANDOM_DATES)
    assert due_at(start, StagePolicy("wd", n), calendar.is_workday) == datetime.combine(
        expected, time(23, 59, 59), tzinfo=SHANGHAI
    )
    # natural hours ignore the calendar altogether
    assert due_at(start, StagePolicy("h", hours), calendar.is_workday) - start == timedelta(hours=hours)


# --- worked examples (computed by hand) ------------------------------------------------------------------


def test_national_day_2025_seven_working_days_lands_after_the_holiday():
    """Received Tue 2025-09-30, 7 working days. Counting starts on 10-01:
    10-01 … 10-08 are the National Day + Mid-autumn holiday (8 days off);
    Thu 10-09 = 1, Fri 10-10 = 2, Sat 10-11 (调休 make-up workday) = 3, Sun 10-12 off,
    Mon 10-13 = 4, Tue 10-14 = 5, Wed 10-15 = 6, Thu 10-16 = 7 → due 2025-10-16 23:59:59."""
    cal = real_calendar()
    assert cal.is_workday(date(2025, 10, 11)) and date(2025, 10, 11).isoweekday() == 6
    assert not any(cal.is_workday(date(2025, 10, d)) for d in range(1, 9))
    start = local(2025, 9, 30, 16, 30)
    assert due_at(start, WD, cal.is_workday) == local(2025, 10, 16, 23, 59, 59)
    # without the make-up Saturday it would be one working day later
    without = WorkCalendar(overrides={**cal.overrides, date(2025, 10, 11): False})
    assert due_at(start, WD, without.is_workday) == local(2025, 10, 17, 23, 59, 59)


def test_make_up_sunday_before_national_day_2025_counts():
    """Sun 2025-09-28 is a 调休 workday: from Fri 09-26, day 1 is Sun 09-28, day 2 Mon 09-29,
    day 3 Tue 09-30, then the holiday; day 4 is Thu 10-09."""
    cal = real_calendar()
    assert add_working_days(date(2025, 9, 26), 1, cal.is_workday) == date(2025, 9, 28)
    assert add_working_days(date(2025, 9, 26), 3, cal.is_workday) == date(2025, 9, 30)
    assert add_working_days(date(2025, 9, 26), 4, cal.is_workday) == date(2025, 10, 9)


def test_spring_festival_2026():
    """Holiday Sun 02-15 … Mon 02-23 (9 days off); make-up workdays Sat 02-14 and Sat 02-28.
    From Fri 2026-02-13: Sat 02-14 = 1, then nothing until Tue 02-24 = 2, 25 = 3, 26 = 4, 27 = 5,
    Sat 02-28 = 6, Mon 03-02 = 7 → due 2026-03-02 23:59:59."""
    cal = real_calendar()
    assert add_working_days(date(2026, 2, 13), 1, cal.is_workday) == date(2026, 2, 14)
    assert add_working_days(date(2026, 2, 13), 2, cal.is_workday) == date(2026, 2, 24)
    assert due_at(local(2026, 2, 13, 10), WD, cal.is_workday) == local(2026, 3, 2, 23, 59, 59)
    # 15 working days for a complex case: 03-02 = 7, 03-03 … 03-06 = 8 … 11, 03-09 … 03-12 = 12 … 15
    assert due_at(local(2026, 2, 13, 10), StagePolicy("wd", 15), cal.is_workday) == local(
        2026, 3, 12, 23, 59, 59
    )
    assert working_days_between(date(2026, 2, 13), date(2026, 3, 2), cal.is_workday) == 7


def test_year_end_2025():
    """Wed 2025-12-31 + 3 working days: Thu 2026-01-01 … Sat 01-03 are New Year's Day (off),
    Sun 01-04 is a make-up workday = 1, Mon 01-05 = 2, Tue 01-06 = 3."""
    cal = real_calendar()
    assert add_working_days(date(2025, 12, 31), 3, cal.is_workday) == date(2026, 1, 6)
    assert due_at(local(2025, 12, 31, 23, 30), StagePolicy("wd", 3), cal.is_workday) == local(
        2026, 1, 6, 23, 59, 59
    )
    # the same instant seen from UTC (15:30Z) is still 12-31 in Shanghai
    assert due_at(datetime(2025, 12, 31, 15, 30, tzinfo=UTC), StagePolicy("wd", 3), cal.is_workday) == local(
        2026, 1, 6, 23, 59, 59
    )
    # 16:30Z is already 01-01 00:30 in Shanghai: counting starts after 01-01
    assert due_at(datetime(2025, 12, 31, 16, 30, tzinfo=UTC), StagePolicy("wd", 3), cal.is_workday) == local(
        2026, 1, 6, 23, 59, 59
    )
    assert due_at(datetime(2025, 12, 31, 16, 30, tzinfo=UTC), StagePolicy("wd", 4), cal.is_workday) == local(
        2026, 1, 7, 23, 59, 59
    )


def test_start_on_a_saturday_or_a_holiday_counts_from_the_next_working_day():
    cal = real_calendar()
    # Sat 2025-06-07: day 1 is Mon 06-09
    assert add_working_days(date(2025, 6, 7), 1, cal.is_workday) == date(2025, 6, 9)
    # Thu 2025-05-01 (Labour Day, off until Mon 05-05): day 1 is Tue 05-06
    assert add_working_days(date(2025, 5, 1), 1, cal.is_workday) == date(2025, 5, 6)
    # a case registered on 2026-10-01 (National Day): day 1 is Thu 10-08, Fri 10-09, Sat 10-10 (调休)
    assert add_working_days(date(2026, 10, 1), 3, cal.is_workday) == date(2026, 10, 10)
    # zero working days: due the same (local) day
    assert due_at(local(2025, 6, 7, 9), StagePolicy("wd", 0), cal.is_workday) == local(2025, 6, 7, 23, 59, 59)


def test_naive_start_is_refused():
    with pytest.raises(ValueError):
        due_at(datetime(2025, 1, 1, 9), WD, real_calendar().is_workday)
    with pytest.raises(ValueError):
        add_working_days(date(2025, 1, 1), -1, real_calendar().is_workday)


def test_urgent_stages_count_natural_hours_through_holidays():
    cal = real_calendar()
    policy = CategoryPolicy()
    handle = stage_policy(Stage.HANDLE, policy, Urgency.URGENT, rating_days=7)
    assert handle == StagePolicy("h", 24)
    start = local(2025, 9, 30, 18)
    assert due_at(start, handle, cal.is_workday) == local(2025, 10, 1, 18)  # a holiday: hours still run
    assert stage_policy(Stage.DISPATCH, policy, Urgency.URGENT, rating_days=7) == StagePolicy("h", 1)
    assert stage_policy(Stage.DISPATCH, policy, Urgency.NORMAL, rating_days=7) == StagePolicy("h", 24)
    assert stage_policy(Stage.ACKNOWLEDGE, policy, Urgency.URGENT, rating_days=7) == StagePolicy("h", 1)
    assert stage_policy(Stage.ACCEPT, policy, Urgency.URGENT, rating_days=7) == StagePolicy("h", 1)
    assert stage_policy(Stage.HANDLE, policy, Urgency.NORMAL, rating_days=7) == StagePolicy("wd", 7)
    complex_policy = CategoryPolicy(is_complex=True)
    assert stage_policy(Stage.HANDLE, complex_policy, Urgency.NORMAL, rating_days=7) == StagePolicy("wd", 15)
    assert stage_policy(Stage.REPLY, policy, Urgency.NORMAL, rating_days=7) == StagePolicy("h", 24)
    assert stage_policy(Stage.RATE, policy, Urgency.NORMAL, rating_days=5) == StagePolicy("h", 120)
    assert stage_policy(Stage.NONE, policy, Urgency.NORMAL, rating_days=7) is None


def test_stage_policy_text_round_trip():
    for p in (StagePolicy("h", 24), StagePolicy("wd", 15)):
        assert StagePolicy.decode(p.encode()) == p
    assert StagePolicy.decode("") is None
    for bad in ("d:3", "wd:", "wd:x", "h:-1"):
        with pytest.raises(ValueError):
            StagePolicy.decode(bad)


# --- thresholds and levels -------------------------------------------------------------------------------

MARGIN = timedelta(hours=72)
TICK = timedelta(microseconds=1)


def test_thresholds_and_levels_at_the_exact_boundaries():
    start = local(2025, 3, 3, 9)
    due = start + timedelta(hours=24)
    t = thresholds(start, due, remind_ratio=0.8, listed_margin=MARGIN)
    assert t.remind_at == start + timedelta(hours=19, minutes=12)  # 80 % of 24 h
    assert t.due_at == due
    assert t.list_at == due + MARGIN
    assert sla_level_at(start, t) == 0
    assert sla_level_at(t.remind_at - TICK, t) == 0
    assert sla_level_at(t.remind_at, t) == 1
    assert sla_level_at(t.due_at - TICK, t) == 1
    assert sla_level_at(t.due_at, t) == 2
    assert sla_level_at(t.list_at - TICK, t) == 2
    assert sla_level_at(t.list_at, t) == 3
    assert sla_level_at(t.list_at + timedelta(days=365), t) == 3
    assert next_check_at(0, t) == t.remind_at
    assert next_check_at(1, t) == t.due_at
    assert next_check_at(2, t) == t.list_at
    assert next_check_at(3, t) is None


def test_thresholds_of_a_deadline_already_past():
    """A stage that starts after its (fixed) deadline: every threshold is already reached, and the
    order remind ≤ due ≤ list still holds."""
    start = local(2025, 3, 10, 9)
    due = start - timedelta(days=2)
    t = thresholds(start, due, remind_ratio=0.8, listed_margin=MARGIN)
    assert t.remind_at <= t.due_at <= t.list_at
    assert sla_level_at(start, t) == 2


@FAST
@given(
    start_s=st.integers(0, 10**8),
    span_s=st.integers(0, 10**7),
    ratio=st.floats(min_value=0.01, max_value=1.0),
    margin_h=st.integers(1, 500),
    probe_s=st.integers(-(10**7), 3 * 10**7),
)
def test_threshold_order_and_level_monotonic(start_s, span_s, ratio, margin_h, probe_s):
    start = local(2024, 1, 1) + timedelta(seconds=start_s)
    due = start + timedelta(seconds=span_s)
    t = thresholds(start, due, remind_ratio=ratio, listed_margin=timedelta(hours=margin_h))
    assert start <= t.remind_at <= t.due_at < t.list_at
    now = start + timedelta(seconds=probe_s)
    level = sla_level_at(now, t)
    assert level == sum(now >= x for x in (t.remind_at, t.due_at, t.list_at))
    assert sla_level_at(now + timedelta(seconds=1), t) >= level
    nxt = next_check_at(level, t)
    assert (nxt is None) == (level == 3)
    if nxt is not None:
        assert nxt > now  # the next check is always in the future of the level just reached


def test_thresholds_dataclass_is_plain():
    t = Thresholds(due_at=local(2025, 1, 2), remind_at=local(2025, 1, 1), list_at=local(2025, 1, 5))
    assert sla_level_at(local(2025, 1, 3), t) == 2
