"""Performance follow-up (回访): the periodic sweep raises one notice per agreement when its
performance deadline has passed (never twice), a partial performance sets the next follow-up date,
and non-performance reopens the dispute."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from zongzhi.disputes.models import MediationAgreement
from zongzhi.disputes.services import dispute_followup_sweep, local_start_of
from zongzhi.notifications.models import Notification

from .builders import act, agreed

pytestmark = pytest.mark.django_db

TITLE = "调解协议履行期限已到，请回访"


def notices(user) -> int:  # type: ignore[no-untyped-def]
    return Notification.objects.filter(user=user, title__startswith=TITLE).count()


def test_the_sweep_raises_one_notice_at_the_deadline(world, django_capture_on_commit_callbacks):
    deadline = timezone.localdate() + dt.timedelta(days=5)
    d = agreed(world, deadline=deadline)
    agreement = MediationAgreement.objects.get(dispute=d)
    assert agreement.followup_due_at == local_start_of(deadline + dt.timedelta(days=1))
    assert dispute_followup_sweep(now=agreement.followup_due_at - dt.timedelta(seconds=1)) == 0
    with django_capture_on_commit_callbacks(execute=True):
        assert dispute_followup_sweep(now=agreement.followup_due_at) == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert dispute_followup_sweep(now=agreement.followup_due_at + dt.timedelta(hours=3)) == 0
    assert notices(world.village_op) == 1  # the owning center's staff
    assert notices(world.mediator_user) == 1  # and the lead mediator
    agreement.refresh_from_db()
    assert agreement.followup_notified_at == agreement.followup_due_at


def test_partial_performance_sets_the_next_followup_and_non_performance_reopens(
    world, django_capture_on_commit_callbacks
):
    deadline = timezone.localdate() + dt.timedelta(days=5)
    d = agreed(world, deadline=deadline)
    agreement = MediationAgreement.objects.get(dispute=d)
    due = agreement.followup_due_at
    dispute_followup_sweep(now=due)
    with time_machine.travel(due + dt.timedelta(hours=10), tick=False):
        later = timezone.localdate() + dt.timedelta(days=10)
        act(
            world.village_op,
            d,
            "followup",
            "已支付一半",
            performance="partially_performed",
            next_followup_on=later.isoformat(),
        )
        agreement.refresh_from_db()
        assert agreement.performance == "partially_performed" and agreement.followup_notified_at is None
        assert agreement.followup_due_at == local_start_of(later)
    assert dispute_followup_sweep(now=local_start_of(later) - dt.timedelta(seconds=1)) == 0
    with django_capture_on_commit_callbacks(execute=True):
        assert dispute_followup_sweep(now=local_start_of(later)) == 1
    with time_machine.travel(local_start_of(later) + dt.timedelta(hours=9), tick=False):
        act(world.village_op, d, "followup", "余款拒不支付", performance="not_performed")
    d.refresh_from_db()
    d.case.refresh_from_db()
    assert (d.case.state, d.outcome, d.case.reopen_count) == ("accepted", "", 1)
    assert list(d.case.events.order_by("seq").values_list("action", flat=True))[-3:] == [
        "followup",
        "followup",
        "reopen_dispute",
    ]
    # a performed or reopened agreement is not swept again
    assert dispute_followup_sweep(now=local_start_of(later) + dt.timedelta(days=30)) == 0


def test_an_agreement_performed_before_its_deadline_is_not_followed_up_again(world):
    d = agreed(world)
    act(world.village_op, d, "followup", "已提前履行", performance="performed")
    assert dispute_followup_sweep(now=timezone.now() + dt.timedelta(days=400)) == 0
    assert d.case.events.filter(action="reopen_dispute").count() == 0


def test_the_huey_periodic_task_runs_the_sweep(world):
    import importlib

    from huey.contrib.djhuey import HUEY

    importlib.import_module("zongzhi.disputes.tasks")
    assert "zongzhi.disputes.tasks.periodic_followup_sweep" in HUEY._registry._registry
    from zongzhi.disputes.tasks import periodic_followup_sweep

    deadline = timezone.localdate() + dt.timedelta(days=2)
    d = agreed(world, deadline=deadline)
    due = MediationAgreement.objects.get(dispute=d).followup_due_at
    with time_machine.travel(due + dt.timedelta(minutes=1), tick=False):
        assert periodic_followup_sweep.call_local() == {"notices": 1}
        assert periodic_followup_sweep.call_local() == {"notices": 0}
