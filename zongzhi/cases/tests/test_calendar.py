"""The working calendar table: seeding, administrators' edits, reloading, and recomputing deadlines."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
import time_machine
from django.core.cache import cache
from django.core.management import call_command

from zongzhi.cases import services
from zongzhi.cases.models import Case, CaseEvent
from zongzhi.cases.services import ReportInput, case_report, case_transition
from zongzhi.core import calendar as cal_module
from zongzhi.core.calendar import calendar_day_clear, calendar_day_set, current_calendar
from zongzhi.core.models import AuditLog, CalendarDay

pytestmark = pytest.mark.django_db

SH = dt.timezone(dt.timedelta(hours=8))


@pytest.fixture(autouse=True)
def _fresh_calendar():  # type: ignore[no-untyped-def]
    """The process keeps the calendar in memory; start every test from the table."""
    cal_module.calendar_changed()
    yield
    cal_module.calendar_changed()


@pytest.fixture
def admin(make_user):  # type: ignore[no-untyped-def]
    return make_user(username="calendar_admin")


def _seed() -> str:
    out = StringIO()
    call_command("seed_calendar", stdout=out)
    return out.getvalue()


# --- seeding ------------------------------------------------------------------------------------------


def test_seed_calendar_loads_holidays_and_make_up_days():
    out = _seed()
    assert "calendar seeded" in out
    assert CalendarDay.objects.count() > 500  # 2004 onwards
    assert CalendarDay.objects.filter(is_workday=False).count() > 0
    assert CalendarDay.objects.filter(is_workday=True).count() > 0
    national_day = CalendarDay.objects.get(date=dt.date(2026, 10, 1))
    assert (national_day.is_workday, national_day.name, national_day.source) == (False, "国庆节", "seed")
    # 2026: Mid-autumn Fri 09-25 … Sun 09-27 off; 调休 make-up days Sun 09-20 and Sat 10-10
    assert CalendarDay.objects.get(date=dt.date(2026, 9, 27)).is_workday is False
    makeup = CalendarDay.objects.get(date=dt.date(2026, 9, 20))
    assert makeup.is_workday is True and makeup.name.endswith("调休")
    assert dt.date(2026, 9, 20).isoweekday() == 7
    assert CalendarDay.objects.get(date=dt.date(2026, 10, 10)).is_workday is True
    assert CalendarDay.objects.get(date=dt.date(2025, 10, 11)).is_workday is True
    cal = current_calendar()
    assert not cal.is_workday(dt.date(2026, 10, 1))
    assert cal.is_workday(dt.date(2026, 9, 20))
    assert cal.name_of(dt.date(2026, 2, 17)) == "春节"
    assert cal.is_workday(dt.date(2026, 3, 2))  # an ordinary Monday is not stored at all
    assert not CalendarDay.objects.filter(date=dt.date(2026, 3, 2)).exists()


def test_reseed_is_idempotent():
    _seed()
    first = CalendarDay.objects.count()
    _seed()
    assert CalendarDay.objects.count() == first


def test_manual_edits_survive_a_reseed(admin, django_capture_on_commit_callbacks):
    _seed()
    with django_capture_on_commit_callbacks(execute=True):
        # an administrator makes 2026-10-01 a working day and adds a local holiday on a Monday
        calendar_day_set(actor=admin, day=dt.date(2026, 10, 1), is_workday=True, name="本地调整")
        calendar_day_set(actor=admin, day=dt.date(2026, 6, 1), is_workday=False, name="地方假日")
    with django_capture_on_commit_callbacks(execute=True):
        _seed()
    edited = CalendarDay.objects.get(date=dt.date(2026, 10, 1))
    assert (edited.is_workday, edited.name, edited.source) == (True, "本地调整", "manual")
    assert CalendarDay.objects.get(date=dt.date(2026, 6, 1)).source == "manual"
    cal = current_calendar()
    assert cal.is_workday(dt.date(2026, 10, 1))
    assert not cal.is_workday(dt.date(2026, 6, 1))
    assert not cal.is_workday(dt.date(2026, 10, 2))  # the neighbours stay as seeded


def test_an_edit_reloads_the_calendar_after_commit_and_is_audited(admin, django_capture_on_commit_callbacks):
    day = dt.date(2026, 6, 1)  # a Monday
    assert current_calendar().is_workday(day)
    version = cache.get(cal_module._VERSION_KEY)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        row = calendar_day_set(actor=admin, day=day, is_workday=False, name="地方假日", ip="10.0.0.9")
    assert len(callbacks) == 1
    assert row.source == "manual"
    assert cache.get(cal_module._VERSION_KEY) > version  # every process reloads
    assert not current_calendar().is_workday(day)
    assert current_calendar().name_of(day) == "地方假日"
    log = AuditLog.objects.filter(action="calendar.set").latest("id")
    assert log.object_type == "core.calendarday"
    assert log.object_id == "2026-06-01"
    assert log.actor_id == admin.pk
    assert log.ip == "10.0.0.9"
    assert log.data == {"is_workday": False, "name": "地方假日"}

    # another process that cached the old version reloads as soon as the version moves
    stale = cal_module.WorkCalendar()
    cal_module._cached = (cache.get(cal_module._VERSION_KEY) - 1, stale)
    assert current_calendar() is not stale

    with django_capture_on_commit_callbacks(execute=True):
        calendar_day_clear(actor=admin, day=day)
    assert current_calendar().is_workday(day)
    assert not CalendarDay.objects.filter(date=day).exists()
    assert AuditLog.objects.filter(action="calendar.clear", object_id="2026-06-01").count() == 1


def test_the_calendar_is_not_reloaded_before_commit(admin, django_capture_on_commit_callbacks):
    day = dt.date(2026, 6, 1)
    assert current_calendar().is_workday(day)
    with django_capture_on_commit_callbacks(execute=False):
        calendar_day_set(actor=admin, day=day, is_workday=False)
        assert current_calendar().is_workday(day)  # the edit is not committed yet


# --- recomputing deadlines ---------------------------------------------------------------------------------


def _handling_case(world, urgency="normal", **dispatch_data):  # type: ignore[no-untyped-def]
    case = case_report(
        actor=world.operator,
        data=ReportInput(
            channel="hotline",
            kind="dispute",
            title="邻里纠纷",
            description="噪音扰民",
            category_code=world.category.code,
            region_code=world.r["A1a"].code,
            urgency=urgency,
        ),
    ).case
    case_transition(actor=world.operator, case_id=case.pk, action="accept")
    case_transition(
        actor=world.operator,
        case_id=case.pk,
        action="dispatch",
        data={"lead_department_id": world.police.pk, **dispatch_data},
    )
    case_transition(actor=world.handler, case_id=case.pk, action="acknowledge")
    return Case.objects.get(pk=case.pk)


MONDAY = dt.datetime(2025, 3, 3, 10, 0, tzinfo=SH)


def test_recompute_after_a_new_holiday_moves_the_deadline_one_working_day(
    world, admin, django_capture_on_commit_callbacks
):
    with time_machine.travel(MONDAY, tick=False) as clock:
        case = _handling_case(world)
        # dispatched and acknowledged Mon 03-03: 7 working days are 03-04 … 03-07 and 03-10 … 03-12
        assert case.stage == "handle"
        assert case.due_at == dt.datetime(2025, 3, 12, 23, 59, 59, tzinfo=SH)
        assert case.handle_due_at == case.due_at
        manual = _handling_case(world, handle_due_at="2025-03-20T18:00:00+08:00")
        assert manual.due_overridden
        urgent = _handling_case(world, urgency="urgent")  # natural hours: a holiday moves nothing
        assert urgent.stage_policy == "h:24"
        old_remind = case.remind_at

        clock.shift(dt.timedelta(hours=2))
        with django_capture_on_commit_callbacks(execute=True):
            calendar_day_set(actor=admin, day=dt.date(2025, 3, 5), is_workday=False, name="地方假日")
        # the edit alone moves nothing
        assert Case.objects.get(pk=case.pk).due_at == case.due_at

        out = StringIO()
        call_command("recompute_deadlines", stdout=out)
        assert "deadlines recomputed: 1" in out.getvalue()

        case.refresh_from_db()
        assert case.due_at == dt.datetime(2025, 3, 13, 23, 59, 59, tzinfo=SH)
        assert case.handle_due_at == case.due_at
        assert case.remind_at > old_remind
        assert case.remind_at <= case.due_at <= case.list_at
        assert case.next_sla_at == case.remind_at
        event = CaseEvent.objects.filter(case=case).order_by("-seq").first()
        assert event.action == "deadline_recompute"
        assert event.seq == case.last_event_seq
        assert event.from_state == event.to_state == "handling"
        assert set(event.data) == {"from", "to"}
        assert dt.datetime.fromisoformat(event.data["from"]) == dt.datetime(
            2025, 3, 12, 23, 59, 59, tzinfo=SH
        )
        assert dt.datetime.fromisoformat(event.data["to"]) == dt.datetime(2025, 3, 13, 23, 59, 59, tzinfo=SH)
        # a deadline set by hand at dispatch stays where it was, and writes no timeline row
        manual.refresh_from_db()
        assert manual.due_at == dt.datetime(2025, 3, 20, 18, 0, tzinfo=SH)
        assert not CaseEvent.objects.filter(case=manual, action="deadline_recompute").exists()
        assert Case.objects.get(pk=urgent.pk).due_at == urgent.due_at
        # nothing changed any more: a second run does nothing
        assert services.deadlines_recompute(actor="system") == 0
        assert CaseEvent.objects.filter(action="deadline_recompute").count() == 1


def test_recompute_keeps_an_approved_extension_and_raised_levels(
    world, admin, django_capture_on_commit_callbacks
):
    with time_machine.travel(MONDAY, tick=False) as clock:
        extended = _handling_case(world)
        case_transition(
            actor=world.handler,
            case_id=extended.pk,
            action="request_extension",
            note="需要现场勘验",
            data={"until": "2025-03-25T18:00:00+08:00"},
        )
        case_transition(actor=world.director, case_id=extended.pk, action="approve_extension")
        reminded = _handling_case(world)
        # 80 % of Mon 03-03 10:00 → Wed 03-12 23:59:59 is reached early on Tue 03-11: the sweep reminds
        clock.move_to(dt.datetime(2025, 3, 11, 9, 0, tzinfo=SH))
        services.sla_sweep()
        reminded.refresh_from_db()
        assert reminded.sla_level == 1
        with django_capture_on_commit_callbacks(execute=True):
            calendar_day_set(actor=admin, day=dt.date(2025, 3, 12), is_workday=False, name="地方假日")
        assert services.deadlines_recompute(actor=admin) == 1

        extended.refresh_from_db()
        assert extended.due_at == dt.datetime(2025, 3, 25, 18, 0, tzinfo=SH)
        reminded.refresh_from_db()
        assert reminded.due_at == dt.datetime(2025, 3, 13, 23, 59, 59, tzinfo=SH)
        assert reminded.sla_level == 1  # the reminder already raised stays raised …
        assert reminded.next_sla_at == reminded.due_at  # … and the next check is the new due time
        event = CaseEvent.objects.get(case=reminded, action="deadline_recompute")
        assert event.actor_id == admin.pk
