"""The deadline sweep: reminders (催办), supervision (督办), listed supervision (挂牌督办), auto-archive.

Time is frozen with time-machine; the calendar table is empty, so working days follow Monday–Friday
(the calendar itself is tested in test_deadlines.py and test_calendar.py).
"""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.db import IntegrityError, transaction

from zongzhi.cases import selectors, services
from zongzhi.cases.models import Case, CaseEvent, Rating, Supervision, SupervisionKind
from zongzhi.cases.services import ReportInput, case_report, case_transition, sla_sweep
from zongzhi.core import calendar as cal_module
from zongzhi.notifications.models import Notification

pytestmark = pytest.mark.django_db

SH = dt.timezone(dt.timedelta(hours=8))
T0 = dt.datetime(2025, 3, 3, 10, 0, tzinfo=SH)  # a Monday, no holidays for weeks
H = dt.timedelta(hours=1)
TICK = dt.timedelta(microseconds=1)
SWEEP_ACTIONS = ("remind", "supervise_auto", "list")


@pytest.fixture(autouse=True)
def _loop_settings(settings):  # type: ignore[no-untyped-def]
    settings.ZZ_REMIND_RATIO = 0.8
    settings.ZZ_LISTED_MARGIN_HOURS = 10
    settings.ZZ_SUPERVISION_REPLY_HOURS = 48
    settings.ZZ_RATING_DAYS = 7
    cal_module.calendar_changed()


@pytest.fixture
def clock():  # type: ignore[no-untyped-def]
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


def _report(world, *, reporter=None, region="A1a", urgency="normal"):  # type: ignore[no-untyped-def]
    return case_report(
        actor=reporter or world.operator,
        data=ReportInput(
            channel="hotline",
            kind="dispute",
            title="邻里纠纷",
            description="楼上漏水",
            category_code=world.category.code,
            region_code=world.r[region].code,
            urgency=urgency,
        ),
    ).case


def _dispatched(world, **kw):  # type: ignore[no-untyped-def]
    case = _report(world, **kw)
    case_transition(actor=world.operator, case_id=case.pk, action="accept")
    case_transition(
        actor=world.operator, case_id=case.pk, action="dispatch", data={"lead_department_id": world.police.pk}
    )
    return Case.objects.get(pk=case.pk)


def _replied(world):  # type: ignore[no-untyped-def]
    case = _dispatched(world)
    case_transition(actor=world.handler, case_id=case.pk, action="acknowledge")
    case_transition(actor=world.handler, case_id=case.pk, action="resolve", note="已处理")
    case_transition(actor=world.operator, case_id=case.pk, action="reply", note="电话告知")
    return Case.objects.get(pk=case.pk)


def _sweep_events(case):  # type: ignore[no-untyped-def]
    return list(
        CaseEvent.objects.filter(case=case, action__in=SWEEP_ACTIONS)
        .order_by("seq")
        .values_list("action", flat=True)
    )


def _assert_timeline_complete(case):  # type: ignore[no-untyped-def]
    case.refresh_from_db()
    seqs = list(CaseEvent.objects.filter(case=case).order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, case.last_event_seq + 1))


# --- one notice per stage and level -------------------------------------------------------------------------


def test_dispatch_stage_is_reminded_supervised_and_listed_once_each(world, clock):
    case = _dispatched(world)
    assert case.stage == "acknowledge"
    assert case.due_at == T0 + 24 * H
    assert case.remind_at == T0 + dt.timedelta(hours=19, minutes=12)  # 80 % of 24 h
    assert case.list_at == case.due_at + 10 * H  # ZZ_LISTED_MARGIN_HOURS
    assert case.next_sla_at == case.remind_at

    clock.move_to(case.remind_at - TICK)
    assert sla_sweep().reminders == 0
    assert not Supervision.objects.exists()

    clock.move_to(case.remind_at)
    report = sla_sweep()
    assert (report.reminders, report.supervisions, report.listed) == (1, 0, 0)
    notice = Supervision.objects.get()
    assert notice.kind == SupervisionKind.REMINDER
    assert (notice.stage, notice.stage_seq, notice.is_manual) == ("acknowledge", case.stage_seq, False)
    assert notice.department_id == world.police.pk
    assert notice.supervising_region_id == world.r["A"].pk  # the owning center
    assert notice.reply_due_at == case.remind_at + 48 * H
    assert notice.region_path == case.region_path
    case.refresh_from_db()
    assert (case.sla_level, case.next_sla_at) == (1, case.due_at)
    assert _sweep_events(case) == ["remind"]
    event = CaseEvent.objects.get(case=case, action="remind")
    assert event.actor_id is None and event.from_state == event.to_state == "dispatched"
    assert event.data["stage_seq"] == case.stage_seq

    # the same sweep again, and again a moment later: nothing new
    assert sla_sweep().examined == 0
    clock.shift(H)
    assert sla_sweep().reminders == 0
    assert Supervision.objects.count() == 1

    clock.move_to(case.due_at)
    assert sla_sweep().supervisions == 1
    assert sla_sweep().supervisions == 0
    case.refresh_from_db()
    assert (case.sla_level, case.next_sla_at) == (2, case.list_at)

    clock.move_to(case.list_at - TICK)
    assert sla_sweep().listed == 0
    clock.move_to(case.list_at)
    assert sla_sweep().listed == 1
    case.refresh_from_db()
    assert (case.sla_level, case.next_sla_at) == (3, None)

    clock.shift(dt.timedelta(days=30))
    assert sla_sweep().examined == 0
    assert sorted(Supervision.objects.values_list("kind", flat=True)) == ["listed", "reminder", "supervision"]
    assert _sweep_events(case) == ["remind", "supervise_auto", "list"]
    listed = Supervision.objects.get(kind=SupervisionKind.LISTED)
    assert listed.reply_due_at == case.list_at + 48 * H
    _assert_timeline_complete(case)
    assert case.state == "dispatched"  # the sweep never moves the state


def test_a_late_sweep_raises_all_three_levels_once(world, clock):
    case = _dispatched(world)
    other = _dispatched(world)
    clock.move_to(case.list_at + 5 * H)  # never swept before
    report = sla_sweep()
    assert (report.examined, report.reminders, report.supervisions, report.listed) == (2, 2, 2, 2)
    assert report.lost_races == 0
    for c in (case, other):
        assert _sweep_events(c) == ["remind", "supervise_auto", "list"]
        _assert_timeline_complete(c)
        assert c.sla_level == 3 and c.next_sla_at is None
        assert Supervision.objects.filter(case=c, is_manual=False).count() == 3
    assert sla_sweep().examined == 0
    assert Supervision.objects.count() == 6


def test_sweep_in_small_batches_sees_every_due_case(world, clock):
    cases = [_dispatched(world) for _ in range(5)]
    clock.move_to(cases[-1].due_at)
    report = sla_sweep(batch_size=2)
    assert report.examined == 5
    assert (report.reminders, report.supervisions) == (5, 5)
    assert sla_sweep(batch_size=2).examined == 0


def test_a_stage_change_resets_the_level_and_the_new_stage_is_reminded_again(world, clock):
    case = _dispatched(world)
    clock.move_to(case.remind_at + H)
    assert sla_sweep().reminders == 1
    case_transition(actor=world.handler, case_id=case.pk, action="acknowledge")
    case.refresh_from_db()
    assert case.stage == "handle" and case.sla_level == 0
    assert case.next_sla_at == case.remind_at
    assert sla_sweep().examined == 0  # the new stage is nowhere near its reminder

    # handling: dispatched Mon 10:00, 7 working days → Wed 03-12 23:59:59
    assert case.due_at == dt.datetime(2025, 3, 12, 23, 59, 59, tzinfo=SH)
    clock.move_to(case.remind_at)
    report = sla_sweep()
    assert report.reminders == 1
    reminders = Supervision.objects.filter(case=case, kind=SupervisionKind.REMINDER).order_by("stage_seq")
    assert [(n.stage, n.stage_seq) for n in reminders] == [
        ("acknowledge", case.stage_seq - 1),
        ("handle", case.stage_seq),
    ]
    assert _sweep_events(case) == ["remind", "remind"]
    _assert_timeline_complete(case)


def test_a_sweep_that_lost_the_race_writes_nothing(world, clock):
    """Compare-and-set: rows read by one worker, then raised by another, are skipped by the first."""
    case = _dispatched(world)
    clock.move_to(case.remind_at)
    stale_rows = list(
        Case.objects.filter(pk=case.pk).values_list(
            "pk",
            "state",
            "stage",
            "stage_seq",
            "sla_level",
            "stage_started_at",
            "due_at",
            "remind_at",
            "list_at",
            "lead_department_id",
            "owner_region_id",
            "region_path",
            "last_event_seq",
        )
    )
    assert sla_sweep().reminders == 1  # the other worker
    report = services.SweepReport()
    with transaction.atomic():
        services._sweep_batch(stale_rows, case.remind_at, report)
    assert report.lost_races == 1
    assert report.reminders == 0
    assert Supervision.objects.count() == 1
    assert _sweep_events(case) == ["remind"]
    _assert_timeline_complete(case)


def test_urgent_cases_run_on_short_clocks(world, clock):
    case = _dispatched(world, urgency="urgent")
    assert case.due_at == T0 + H
    clock.move_to(T0 + H + 10 * H)
    assert sla_sweep().listed == 1


# --- the rating window ----------------------------------------------------------------------------------------


def test_rating_window_end_archives_unrated_as_not_rated(world, clock):
    case = _replied(world)
    assert case.stage == "rate"
    assert case.next_sla_at == T0 + dt.timedelta(days=7)
    clock.move_to(case.next_sla_at - TICK)
    assert sla_sweep().archived == 0
    clock.move_to(case.next_sla_at)
    report = sla_sweep()
    assert report.archived == 1 and report.reminders == 0
    case.refresh_from_db()
    assert case.state == "archived"
    assert case.rating == Rating.NOT_RATED
    assert case.archived_at == T0 + dt.timedelta(days=7)
    assert case.next_sla_at is None and case.due_at is None
    last = CaseEvent.objects.filter(case=case).order_by("-seq").first()
    assert last.action == "archive" and last.actor_id is None
    assert (last.from_state, last.to_state) == ("replied", "archived")
    assert last.data == {"rating": "not_rated"}
    assert not Supervision.objects.filter(case=case).exists()  # the rating window is not supervised
    assert sla_sweep().archived == 0
    _assert_timeline_complete(case)


def test_rating_window_end_archives_a_rated_case_keeping_its_rating(world, clock):
    case = _replied(world)
    clock.shift(dt.timedelta(days=2))
    case_transition(actor=world.operator, case_id=case.pk, action="rate", data={"rating": "satisfied"})
    clock.move_to(T0 + dt.timedelta(days=7))
    assert sla_sweep().archived == 1
    case.refresh_from_db()
    assert (case.state, case.rating) == ("archived", Rating.SATISFIED)
    _assert_timeline_complete(case)


# --- notifications ---------------------------------------------------------------------------------------------


def _inbox(user):  # type: ignore[no-untyped-def]
    return Notification.objects.filter(user=user).count()


def test_supervision_notices_reach_the_department_and_the_center(
    world, clock, django_capture_on_commit_callbacks
):
    case = _dispatched(world)
    before = {
        u.username: _inbox(u)
        for u in (
            world.handler,
            world.operator,
            world.director,
            world.housing_handler,
            world.township_operator,
            world.sibling_operator,
        )
    }

    def delta(user):  # type: ignore[no-untyped-def]
        return _inbox(user) - before[user.username]

    clock.move_to(case.remind_at)
    with django_capture_on_commit_callbacks(execute=True):
        sla_sweep()
    assert delta(world.handler) == 0  # a reminder is a nudge on the workbench, not a message

    clock.move_to(case.due_at)
    with django_capture_on_commit_callbacks(execute=True):
        sla_sweep()
    assert delta(world.handler) == 1
    assert delta(world.operator) == 1
    assert delta(world.director) == 1
    for outsider in (world.housing_handler, world.township_operator, world.sibling_operator):
        assert delta(outsider) == 0
    message = Notification.objects.filter(user=world.handler).latest("id")
    assert case.number in message.title and "督办" in message.title

    clock.move_to(case.list_at)
    with django_capture_on_commit_callbacks(execute=True):
        sla_sweep()
    # one message per notice: the listed one; the earlier supervision is not sent again
    assert delta(world.handler) == 2
    assert delta(world.operator) == 2
    assert "挂牌督办" in Notification.objects.filter(user=world.handler).latest("id").title

    with django_capture_on_commit_callbacks(execute=True):
        sla_sweep()
    assert delta(world.handler) == 2


def test_the_department_replies_and_its_queue_empties(world, clock):
    case = _dispatched(world)
    clock.move_to(case.due_at)
    sla_sweep()
    assert list(selectors.department_queue(world.handler, "supervision")) == [case]
    notice = Supervision.objects.get(case=case, kind=SupervisionKind.SUPERVISION)
    services.supervision_reply(actor=world.handler, supervision_id=notice.pk, text="已安排专人办理")
    notice.refresh_from_db()
    assert notice.replied_at is not None
    assert list(selectors.department_queue(world.handler, "supervision")) == []
    assert CaseEvent.objects.filter(case=case, action="supervision_reply").count() == 1
    _assert_timeline_complete(case)


# --- the periodic task --------------------------------------------------------------------------------------------


def test_the_huey_periodic_task_runs_the_sweep(world, clock):
    from zongzhi.cases.tasks import periodic_sla_sweep

    case = _dispatched(world)
    clock.move_to(case.list_at)
    result = periodic_sla_sweep.call_local()
    assert result == {"examined": 1, "reminders": 1, "supervisions": 1, "listed": 1}
    assert periodic_sla_sweep.call_local()["examined"] == 0
    assert Supervision.objects.filter(case=case).count() == 3
    # enqueued in immediate mode (the test settings), it runs at once too (huey keeps no result
    # for periodic tasks: look at the effect)
    later = _dispatched(world)
    clock.move_to(later.due_at)
    periodic_sla_sweep()
    assert Supervision.objects.filter(case=later, is_manual=False).count() == 2


def test_the_management_command_runs_the_sweep(world, clock):
    from io import StringIO

    from django.core.management import call_command

    case = _dispatched(world)
    clock.move_to(case.due_at)
    out = StringIO()
    call_command("sla_sweep", stdout=out)
    assert "reminders=1 supervisions=1 listed=0" in out.getvalue()


# --- leaders open supervision by hand ----------------------------------------------------------------------------


def test_a_leader_supervises_by_hand_and_the_sweep_still_raises_its_own(world, clock):
    case = _dispatched(world)
    case_transition(
        actor=world.city_leader, case_id=case.pk, action="supervise", note="群众反映强烈，请加快办理"
    )
    case_transition(actor=world.director, case_id=case.pk, action="supervise", note="再次督办")
    manual = Supervision.objects.filter(case=case, is_manual=True).order_by("id")
    assert manual.count() == 2
    first = manual.first()
    assert first.opened_by_id == world.city_leader.pk
    assert first.supervising_region_id == world.r["C"].pk  # the leader's own (city) level
    assert first.kind == SupervisionKind.SUPERVISION and first.department_id == world.police.pk
    clock.move_to(case.due_at)
    assert sla_sweep().supervisions == 1
    assert Supervision.objects.filter(case=case, kind=SupervisionKind.SUPERVISION).count() == 3
    _assert_timeline_complete(case)


# --- the constraint behind "nothing twice" ----------------------------------------------------------------------------


def test_duplicate_automatic_notice_is_ignored_by_the_database(world, clock):
    case = _dispatched(world)
    clock.move_to(case.remind_at)
    sla_sweep()
    original = Supervision.objects.get(case=case)

    def twin(**over):  # type: ignore[no-untyped-def]
        fields = {
            "case_id": case.pk,
            "kind": original.kind,
            "stage": original.stage,
            "stage_seq": original.stage_seq,
            "is_manual": False,
            "department_id": original.department_id,
            "supervising_region_id": original.supervising_region_id,
            "reason": "并发的第二次扫描",
            "created_at": original.created_at,
            "reply_due_at": original.reply_due_at,
            "region_path": original.region_path,
        }
        fields.update(over)
        return Supervision(**fields)

    Supervision.objects.bulk_create([twin()], ignore_conflicts=True)
    assert Supervision.objects.filter(case=case).count() == 1
    with pytest.raises(IntegrityError), transaction.atomic():
        twin().save()
    # a manual notice, or the next level, is a different row
    Supervision.objects.bulk_create(
        [twin(is_manual=True), twin(kind=SupervisionKind.SUPERVISION)], ignore_conflicts=True
    )
    assert Supervision.objects.filter(case=case).count() == 3


# --- queues ----------------------------------------------------------------------------------------------------


def test_overdue_and_due_soon_queues(world, clock):
    fresh_handling = _dispatched(world)
    case_transition(actor=world.handler, case_id=fresh_handling.pk, action="acknowledge")
    due_soon = _dispatched(world)
    overdue = _dispatched(world)
    replied = _replied(world)  # the rating window is not "overdue"
    sibling = _report(world, reporter=world.sibling_operator, region="B1a")
    case_transition(actor=world.sibling_operator, case_id=sibling.pk, action="accept")
    case_transition(
        actor=world.sibling_operator,
        case_id=sibling.pk,
        action="dispatch",
        data={"lead_department_id": world.other_police.pk},
    )
    # move the dispatch clocks apart: due_soon past its reminder, overdue past its deadline
    Case.objects.filter(pk=due_soon.pk).update(
        remind_at=T0 - H, due_at=T0 + H, list_at=T0 + 11 * H, next_sla_at=T0 - H
    )
    Case.objects.filter(pk__in=[overdue.pk, sibling.pk]).update(
        remind_at=T0 - 3 * H, due_at=T0 - 2 * H, list_at=T0 + 8 * H, next_sla_at=T0 - 3 * H
    )
    Case.objects.filter(pk=replied.pk).update(due_at=T0 - H, remind_at=T0 - H, list_at=T0 - H)
    now = T0

    def ids(qs):  # type: ignore[no-untyped-def]
        return set(qs.values_list("pk", flat=True))

    f = selectors.CaseFilters
    assert ids(selectors.case_list(world.operator, f(queue="overdue"), now=now)) == {overdue.pk}
    assert ids(selectors.case_list(world.operator, f(queue="due_soon"), now=now)) == {due_soon.pk}
    assert ids(selectors.case_list(world.operator, f(overdue=True), now=now)) == {overdue.pk}
    assert ids(selectors.case_list(world.sibling_operator, f(queue="overdue"), now=now)) == {sibling.pk}
    assert ids(selectors.case_list(world.city_leader, f(queue="overdue"), now=now)) == {
        overdue.pk,
        sibling.pk,
    }
    assert ids(selectors.department_queue(world.handler, "overdue", now=now)) == {overdue.pk}
    assert ids(selectors.department_queue(world.other_handler, "overdue", now=now)) == {sibling.pk}
    assert ids(selectors.department_queue(world.housing_handler, "overdue", now=now)) == set()
    # exactly at the due time a case is due soon, one tick later overdue
    at_due = T0 + H
    assert due_soon.pk in ids(selectors.case_list(world.operator, f(queue="due_soon"), now=at_due))
    assert due_soon.pk not in ids(selectors.case_list(world.operator, f(queue="overdue"), now=at_due))
    assert due_soon.pk in ids(selectors.case_list(world.operator, f(queue="overdue"), now=at_due + TICK))
    # the sweep agrees with the queues
    counts = selectors.queue_counts(world.operator, now=now)
    assert counts["overdue"] == 1 and counts["due_soon"] == 1
    report = sla_sweep(now=now)
    assert (report.reminders, report.supervisions) == (3, 2)  # due_soon + overdue + sibling; two overdue
    assert ids(selectors.case_list(world.operator, f(queue="supervised"), now=now)) == {overdue.pk}


def test_an_approved_extension_does_not_raise_the_same_notice_twice(world, clock):
    case = _dispatched(world)
    case_transition(actor=world.handler, case_id=case.pk, action="acknowledge")
    case.refresh_from_db()
    clock.move_to(case.due_at)
    assert sla_sweep().supervisions == 1  # reminder + supervision of the handling stage
    until = case.due_at + dt.timedelta(days=10)
    case_transition(
        actor=world.handler,
        case_id=case.pk,
        action="request_extension",
        note="需鉴定",
        data={"until": until.isoformat()},
    )
    case_transition(actor=world.director, case_id=case.pk, action="approve_extension")
    case.refresh_from_db()
    assert case.due_at == until and case.due_overridden
    assert case.remind_at <= case.due_at <= case.list_at
    assert case.sla_level == 2  # what was raised stays raised
    assert case.next_sla_at == case.list_at
    clock.move_to(case.due_at - H)
    assert sla_sweep().examined == 0  # no second reminder or supervision for this stage
    clock.move_to(case.list_at)
    assert sla_sweep().listed == 1
    case.refresh_from_db()
    assert case.sla_level == 3
    assert _sweep_events(case) == ["remind", "supervise_auto", "list"]
    assert Supervision.objects.filter(case=case).count() == 3
    _assert_timeline_complete(case)


# --- the "督办中" counter and the batched notices ------------------------------------------------------------------


def _unanswered(case):  # type: ignore[no-untyped-def]
    return (
        Supervision.objects.filter(case=case, replied_at__isnull=True)
        .exclude(kind=SupervisionKind.REMINDER)
        .count()
    )


def test_open_supervisions_counts_the_unanswered_notices(world, clock):
    case = _dispatched(world)
    case_transition(actor=world.city_leader, case_id=case.pk, action="supervise", note="请加快")
    case.refresh_from_db()
    assert case.open_supervisions == 1 == _unanswered(case)
    clock.move_to(case.list_at)
    sla_sweep()  # reminder (not counted), supervision, listed
    case.refresh_from_db()
    assert case.open_supervisions == 3 == _unanswered(case)
    f = selectors.CaseFilters
    assert case in selectors.case_list(world.operator, f(queue="supervised"))
    for notice in Supervision.objects.filter(case=case).order_by("id"):
        services.supervision_reply(actor=world.handler, supervision_id=notice.pk, text="已办理")
        case.refresh_from_db()
        assert case.open_supervisions == _unanswered(case)
    assert case.open_supervisions == 0
    # still overdue in its stage (level ≥ 2): stays in the queue until the stage moves on
    assert case in selectors.case_list(world.operator, f(queue="supervised"))
    case_transition(actor=world.handler, case_id=case.pk, action="acknowledge")
    assert case not in selectors.case_list(world.operator, f(queue="supervised"))


def test_queue_counts_equal_the_queue_lists(world, clock):
    cases = [_dispatched(world) for _ in range(4)]
    _replied(world)
    _report(world)
    case_transition(actor=world.handler, case_id=cases[0].pk, action="acknowledge")
    case_transition(actor=world.city_leader, case_id=cases[1].pk, action="supervise", note="请加快")
    clock.move_to(cases[2].remind_at + H)
    sla_sweep()
    now = cases[2].remind_at + H
    counts = selectors.queue_counts(world.operator, mine=False, now=now)
    for key in selectors.QUEUES:
        listed = selectors.case_list(world.operator, selectors.CaseFilters(queue=key), now=now).count()
        assert counts[key] == listed, key
    assert counts["to_accept"] == 1 and counts["to_callback"] == 1
    # supervised: the one supervised by hand, and the unaccepted report (its 1-hour accept clock is
    # long past: supervised and listed by the sweep)
    assert counts["supervised"] == 2
    dept = selectors.department_queue_counts(world.handler, now=now)
    for key in selectors.DEPARTMENT_QUEUES:
        assert dept[key] == selectors.department_queue(world.handler, key, now=now).count(), key
    assert dept["to_acknowledge"] == 3 and dept["handling"] == 1


def test_sweep_notices_go_out_in_one_batch_with_the_right_recipients(
    world, clock, django_assert_max_num_queries, django_capture_on_commit_callbacks
):
    cases = [_dispatched(world) for _ in range(6)]
    clock.move_to(cases[-1].due_at)
    before_handler, before_operator = _inbox(world.handler), _inbox(world.operator)
    before_sibling = _inbox(world.sibling_operator)
    # the notice queries do not grow with the number of notices
    with django_assert_max_num_queries(30), django_capture_on_commit_callbacks(execute=True):
        report = sla_sweep()
    assert report.supervisions == 6
    assert _inbox(world.handler) - before_handler == 6  # the responsible department's handler
    assert _inbox(world.operator) - before_operator == 6  # the supervising center
    assert _inbox(world.sibling_operator) == before_sibling  # nobody outside
    titles = set(Notification.objects.filter(user=world.handler).values_list("title", flat=True))
    assert {f"督办：{c.number}" for c in cases} <= titles
