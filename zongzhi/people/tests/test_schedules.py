"""Visit schedules: calendar periods at their boundaries, the policy per group and risk level,
overdue computation, the missed-visit sweep (once per missed visit, idempotent) and its notices."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from zongzhi.notifications.models import Notification
from zongzhi.people import schedules, selectors, services
from zongzhi.people.models import SpecialGroupMembership, VisitMiss, VisitSchedulePolicy

from .conftest import at, make_id


def test_weekly_period_runs_monday_to_monday_local_time() -> None:
    # 2026-06-07 is a Sunday; 23:59 Shanghai is still that week, 00:00 Monday starts the next one
    start, end = schedules.period_bounds("weekly", at(2026, 6, 7, 23, 59))
    assert (start, end) == (at(2026, 6, 1, 0), at(2026, 6, 8, 0))
    start, end = schedules.period_bounds("weekly", at(2026, 6, 8, 0, 0))
    assert start == at(2026, 6, 8, 0)
    # a UTC instant late on Sunday is already Monday in Shanghai
    utc = dt.datetime(2026, 6, 7, 16, 30, tzinfo=dt.UTC)
    assert schedules.period_bounds("weekly", utc)[0] == at(2026, 6, 8, 0)


def test_monthly_and_quarterly_periods() -> None:
    assert schedules.period_bounds("monthly", at(2026, 12, 31, 23, 59)) == (
        at(2026, 12, 1, 0),
        at(2027, 1, 1, 0),
    )
    assert schedules.period_bounds("monthly", at(2028, 2, 29, 8)) == (at(2028, 2, 1, 0), at(2028, 3, 1, 0))
    assert schedules.period_bounds("quarterly", at(2026, 5, 15)) == (at(2026, 4, 1, 0), at(2026, 7, 1, 0))
    assert schedules.period_bounds("quarterly", at(2026, 12, 1)) == (at(2026, 10, 1, 0), at(2027, 1, 1, 0))
    with pytest.raises(ValueError):
        schedules.period_bounds("monthly", dt.datetime(2026, 1, 1))  # naive


def test_policy_by_group_and_risk_level() -> None:
    rows = [
        schedules.PolicyRow("mental_disorder", 0, "quarterly"),
        schedules.PolicyRow("mental_disorder", 1, "monthly"),
        schedules.PolicyRow("mental_disorder", 3, "weekly", 2),
        schedules.PolicyRow("drug_user", 0, "monthly"),
    ]
    assert schedules.policy_for(rows, "mental_disorder", 0) == schedules.Policy("quarterly", 0)
    assert schedules.policy_for(rows, "mental_disorder", 2) == schedules.Policy("monthly", 0)
    assert schedules.policy_for(rows, "mental_disorder", 5) == schedules.Policy("weekly", 2)
    assert schedules.policy_for(rows, "drug_user", 4) == schedules.Policy("monthly", 0)
    # no row for the group: monthly, weekly from risk 3
    assert schedules.policy_for(rows, "key_youth", 2) == schedules.Policy("monthly", 0)
    assert schedules.policy_for(rows, "key_youth", 3) == schedules.Policy("weekly", 0)


def test_grace_days_extend_the_due_time() -> None:
    period = schedules.period_at(schedules.Policy("monthly", 3), at(2026, 6, 10))
    assert period.due_at == at(2026, 7, 4, 0)
    assert period.counts(at(2026, 7, 3, 23, 59))
    assert not period.counts(at(2026, 7, 4, 0))
    assert not period.counts(at(2026, 5, 31, 23, 59))


# --- with the database ------------------------------------------------------------------------------

_seq = itertools.count(300)


def _deliver(notices: list[services.VisitNotice]) -> None:
    """What the periodic task passes: the inbox of ``zongzhi.notifications``."""
    from zongzhi.notifications.services import Message, notify_many

    notify_many([Message(n.recipients, n.kind, n.title, n.body, n.link) for n in notices])


def _enrol(
    world: Any, *, group: str = "drug_user", risk: int = 0, when: dt.datetime, supervisor: Any = None
) -> SpecialGroupMembership:
    resident = world.resident(make_id(seq=str(next(_seq))), grid=world.grid)
    details = {"drug_type": "冰毒", "control_measure": "community_rehab"}
    if group == "mental_disorder":
        details = {"diagnosis": "精神分裂症", "guardian_name": "家属"}
    return services.membership_enrol(
        actor=None,
        resident=resident,
        group=group,
        data=services.MembershipInput(
            starts_on=timezone.localdate(when), risk_level=risk, supervisor=supervisor, details=details
        ),
        now=when,
    )


def _visit(world: Any, m: SpecialGroupMembership, when: dt.datetime) -> Any:
    with time_machine.travel(when, tick=False):
        return services.visit_record(
            actor=world.worker, membership=m, data=services.VisitInput(visited_at=when, findings="正常")
        )


@pytest.mark.django_db
def test_enrolment_starts_the_clock_by_policy(world: Any) -> None:
    low = _enrol(world, risk=0, when=at(2026, 6, 10))
    assert (low.frequency, low.period_start, low.due_at) == ("monthly", at(2026, 6, 1, 0), at(2026, 7, 1, 0))
    high = _enrol(world, risk=4, when=at(2026, 6, 10))
    assert (high.frequency, high.period_start, high.due_at) == (
        "weekly",
        at(2026, 6, 8, 0),
        at(2026, 6, 15, 0),
    )
    mental0 = _enrol(world, group="mental_disorder", risk=0, when=at(2026, 6, 10))
    assert mental0.frequency == "quarterly" and mental0.due_at == at(2026, 7, 1, 0)


@pytest.mark.django_db
def test_overdue_exactly_at_the_due_time(world: Any) -> None:
    m = _enrol(world, risk=4, when=at(2026, 6, 10))  # weekly, due Monday 2026-06-15 00:00
    assert not selectors.overdue_memberships(world.worker, now=at(2026, 6, 14, 23, 59)).exists()
    assert selectors.overdue_memberships(world.worker, now=at(2026, 6, 15, 0, 0)).filter(pk=m.pk).exists()
    # a visit in the period clears it
    _visit(world, m, at(2026, 6, 14, 20))
    assert not selectors.overdue_memberships(world.worker, now=at(2026, 6, 15, 0, 1)).exists()


@pytest.mark.django_db
def test_visit_on_the_boundary_counts_for_the_new_period(world: Any) -> None:
    m = _enrol(world, risk=4, when=at(2026, 6, 10))
    _visit(world, m, at(2026, 6, 15, 0, 0))  # Monday 00:00: the next period, not this one
    m.refresh_from_db()
    assert not m.period_visited
    report = services.visit_sweep(now=at(2026, 6, 15, 0, 5))
    assert report.misses == 1
    m.refresh_from_db()
    assert m.period_start == at(2026, 6, 15, 0) and m.period_visited  # the visit counted for the new week
    # the late visit resolved the miss of the week before (补访)
    assert VisitMiss.objects.get(membership=m).resolved_at is not None


@pytest.mark.django_db
def test_sweep_records_each_missed_visit_once_and_notifies_once(
    world: Any, django_capture_on_commit_callbacks: Any
) -> None:
    m = _enrol(world, risk=4, when=at(2026, 6, 10), supervisor=world.worker)
    before = Notification.objects.count()
    # three weeks missed (due 06-15, 06-22 and 06-29 00:00)
    with (
        time_machine.travel(at(2026, 6, 29, 9), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        report = services.visit_sweep(deliver=_deliver)
    assert report.misses == 3
    misses = list(VisitMiss.objects.filter(membership=m).order_by("period_start"))
    assert [x.period_start for x in misses] == [at(2026, 6, 8, 0), at(2026, 6, 15, 0), at(2026, 6, 22, 0)]
    notices = Notification.objects.filter(kind=services.VISIT_OVERDUE_KIND)
    # the supervisor and the grid leader, once per missed visit
    assert notices.count() == 3 * 2 and Notification.objects.count() - before == 6
    assert set(notices.values_list("user_id", flat=True)) == {world.worker.pk, world.leader.pk}
    assert all("记录#" in n.title for n in notices)
    assert not any("张三" in n.title + n.body for n in notices)  # no personal data in a notice
    m.refresh_from_db()
    assert m.period_start == at(2026, 6, 29, 0) and m.due_at == at(2026, 7, 6, 0)
    # running it again (same time, later the same week) creates nothing
    with (
        time_machine.travel(at(2026, 6, 29, 9), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        again = services.visit_sweep(deliver=_deliver)
    assert (again.misses, again.notices) == (0, 0)
    assert services.visit_sweep(now=at(2026, 7, 5, 23)).misses == 0
    assert VisitMiss.objects.filter(membership=m).count() == 3
    assert Notification.objects.filter(kind=services.VISIT_OVERDUE_KIND).count() == 6
    # still overdue (open misses) until a visit makes them up
    assert selectors.overdue_memberships(world.worker, now=at(2026, 6, 30)).filter(pk=m.pk).exists()
    _visit(world, m, at(2026, 6, 30, 10))
    assert not VisitMiss.objects.filter(membership=m, resolved_at__isnull=True).exists()
    assert not selectors.overdue_memberships(world.worker, now=at(2026, 6, 30, 11)).exists()


@pytest.mark.django_db
def test_visited_periods_are_not_missed(world: Any) -> None:
    m = _enrol(world, risk=0, when=at(2026, 6, 10))  # monthly
    _visit(world, m, at(2026, 6, 20))
    assert services.visit_sweep(now=at(2026, 7, 1, 0, 0)).misses == 0
    m.refresh_from_db()
    assert (m.period_start, m.period_visited, m.last_visited_at) == (
        at(2026, 7, 1, 0),
        False,
        at(2026, 6, 20),
    )
    assert services.visit_sweep(now=at(2026, 8, 1, 0, 0)).misses == 1  # July was missed


@pytest.mark.django_db
def test_the_huey_periodic_task_sweeps_missed_visits_into_the_inbox(
    world: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from zongzhi.cases.tasks import periodic_visit_sweep

    m = _enrol(world, risk=4, when=at(2026, 6, 10), supervisor=world.worker)
    with (
        time_machine.travel(at(2026, 6, 16, 9), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        result = periodic_visit_sweep.call_local()
        again = periodic_visit_sweep.call_local()
    assert (result["misses"], result["notices"]) == (1, 2)
    assert (again["checked"], again["misses"]) == (0, 0)
    assert VisitMiss.objects.filter(membership=m).count() == 1
    assert set(
        Notification.objects.filter(kind=services.VISIT_OVERDUE_KIND).values_list("user_id", flat=True)
    ) == {world.worker.pk, world.leader.pk}


@pytest.mark.django_db
def test_closed_memberships_are_not_swept(world: Any) -> None:
    m = _enrol(world, risk=4, when=at(2026, 6, 10))
    services.membership_close(actor=None, membership=m, reason="矫正期满", now=at(2026, 6, 12))
    assert services.visit_sweep(now=at(2026, 7, 1)).misses == 0
    assert not selectors.overdue_memberships(world.director, now=at(2026, 7, 1)).exists()


@pytest.mark.django_db
def test_risk_change_moves_to_the_new_schedule_from_now(world: Any) -> None:
    m = _enrol(world, risk=0, when=at(2026, 6, 10))
    with time_machine.travel(at(2026, 6, 17, 10), tick=False):
        services.membership_update(
            actor=world.leader,
            membership=m,
            data=services.MembershipInput(
                starts_on=m.starts_on,
                risk_level=4,
                details={"drug_type": "冰毒", "control_measure": "community_rehab"},
            ),
        )
    m.refresh_from_db()
    assert (m.frequency, m.period_start, m.due_at) == ("weekly", at(2026, 6, 15, 0), at(2026, 6, 22, 0))


@pytest.mark.django_db
def test_policy_is_configurable_per_group_and_risk_level(world: Any) -> None:
    m = _enrol(world, group="mental_disorder", risk=2, when=at(2026, 6, 10))
    assert m.frequency == "monthly"
    services.visit_policy_set(
        actor=world.sysadmin,
        group="mental_disorder",
        min_risk_level=2,
        frequency="weekly",
        grace_days=1,
        now=at(2026, 6, 11),
    )
    m.refresh_from_db()
    assert (m.frequency, m.grace_days, m.due_at) == ("weekly", 1, at(2026, 6, 16, 0))
    assert VisitSchedulePolicy.objects.filter(group="mental_disorder", min_risk_level=2).exists()
    with pytest.raises(services.PermissionDeniedError):
        services.visit_policy_set(
            actor=world.director, group="mental_disorder", min_risk_level=2, frequency="monthly"
        )


@pytest.mark.django_db
def test_my_visits_due_lists_supervised_and_grid_members(world: Any) -> None:
    supervised = _enrol(world, risk=4, when=at(2026, 6, 10), supervisor=world.worker)
    with time_machine.travel(at(2026, 6, 12, 9), tick=False):
        due = list(selectors.visits_due(world.worker))
        assert supervised in due
        assert not list(selectors.visits_due(world.sibling_worker))
        res = world.client(world.worker).get("/m/visits/")
        assert res.status_code == 200 and f'data-due="{supervised.pk}"' in res.content.decode()
    _visit(world, supervised, at(2026, 6, 12, 10))
    with time_machine.travel(at(2026, 6, 12, 11), tick=False):
        assert supervised not in list(selectors.visits_due(world.worker))
