"""Two actors, one case, the same moment: exactly one wins, the other gets Conflict (→ 409).

Real threads, each with its own database connection, through the services (the one write path).

PostgreSQL: ``case_transition`` locks the row (``SELECT … FOR UPDATE``); the second transaction waits
for the first to commit, then reads the new state and is refused with ``Conflict``.

SQLite: the settings open every transaction with ``BEGIN IMMEDIATE`` (one writer at a time) and a
20 s ``busy_timeout``, so against a database file the second writer waits and then reads the new
state. The test database, though, is an in-memory database in shared-cache mode, where a held lock
is reported at once as "database table is locked" (SQLITE_LOCKED) and the busy timeout does not
apply. Here the threads therefore retry such an attempt — standing in for the busy handler — after
the whole transaction was rolled back. Whichever way the threads interleave, exactly one action
may succeed and every other attempt must end in ``Conflict``.
"""

from __future__ import annotations

from typing import Any

import pytest

from zongzhi.cases import services
from zongzhi.cases.models import Case, CaseAssignment, CaseEvent, CaseState
from zongzhi.core.errors import Conflict

from .drive import act, drive_to, race, report

pytestmark = pytest.mark.django_db(transaction=True)

ROUNDS = 5


def _one_winner(results: list[Any]) -> tuple[int, Conflict]:
    winners = [i for i, r in enumerate(results) if isinstance(r, Case)]
    losers = [r for r in results if not isinstance(r, Case)]
    assert len(winners) == 1, results
    assert len(losers) == len(results) - 1
    for loser in losers:
        assert isinstance(loser, Conflict), repr(loser)
    return winners[0], losers[0]


def test_accept_versus_decline(world):
    for _ in range(ROUNDS):
        case = report(world)
        results = race(
            lambda: act(world, "operator", case.pk, "accept"),
            lambda: act(world, "director", case.pk, "decline", "不属于受理范围"),
        )
        winner, loser = _one_winner(results)
        case.refresh_from_db()
        expected = [CaseState.ACCEPTED, CaseState.DECLINED][winner]
        assert case.state == expected
        assert loser.data["current_state"] == expected
        assert loser.status == 409
        events = list(CaseEvent.objects.filter(case=case).order_by("seq").values_list("action", flat=True))
        assert events == ["report", ["accept", "decline"][winner]]
        assert case.last_event_seq == 2


def test_two_dispatches_to_different_departments(world):
    for _ in range(ROUNDS):
        case = drive_to(world, CaseState.ACCEPTED)
        results = race(
            lambda: act(world, "operator", case.pk, "dispatch", lead_department_id=world.police.pk),
            lambda: act(world, "director", case.pk, "dispatch", lead_department_id=world.housing.pk),
        )
        winner, loser = _one_winner(results)
        case.refresh_from_db()
        lead = [world.police, world.housing][winner]
        assert case.state == CaseState.DISPATCHED and case.lead_department_id == lead.pk
        assert loser.data["current_state"] == CaseState.DISPATCHED
        assignments = list(
            CaseAssignment.objects.filter(case=case).values_list("department_id", "is_current")
        )
        assert assignments == [(lead.pk, True)]
        assert CaseEvent.objects.filter(case=case, action="dispatch").count() == 1


def test_resolve_versus_return(world):
    """Both are legal from ``handling``, and neither is legal after the other."""
    for _ in range(ROUNDS):
        case = drive_to(world, CaseState.HANDLING)
        results = race(
            lambda: act(world, "handler", case.pk, "resolve", "已办结"),
            lambda: act(world, "handler", case.pk, "return", "不属于本单位职责"),
        )
        winner, loser = _one_winner(results)
        case.refresh_from_db()
        expected = [CaseState.RESOLVED, CaseState.ACCEPTED][winner]
        assert case.state == expected and loser.data["current_state"] == expected
        # report, accept, dispatch, acknowledge, and the winner's row only
        assert CaseEvent.objects.filter(case=case).count() == 5


def test_many_accepts_one_wins(world):
    case = report(world)
    results = race(*[lambda: act(world, "operator", case.pk, "accept") for _ in range(4)])
    _one_winner(results)
    assert CaseEvent.objects.filter(case=case, action="accept").count() == 1


def test_two_callback_ratings_one_wins(world):
    """Two callback operators rate the same reply at once: one rating counts (and, unsatisfied,
    reopens the case once); the other is refused."""
    for _ in range(ROUNDS):
        case = drive_to(world, CaseState.REPLIED)
        results = race(
            lambda: act(world, "operator", case.pk, "rate", rating="unsatisfied"),
            lambda: act(world, "director", case.pk, "rate", rating="unsatisfied"),
        )
        _, loser = _one_winner(results)
        case.refresh_from_db()
        assert case.state == CaseState.HANDLING and case.reopen_count == 1
        assert loser.data["current_state"] == CaseState.HANDLING
        assert CaseEvent.objects.filter(case=case, action="rate").count() == 1
        assert CaseEvent.objects.filter(case=case, action="reopen").count() == 1


def test_approve_versus_reject_extension(world):
    case = drive_to(world, CaseState.HANDLING)
    due = case.due_at
    act(
        world,
        "handler",
        case,
        "request_extension",
        "需要鉴定",
        until=(due.replace(year=due.year + 1)).isoformat(),
    )
    results = race(
        lambda: act(world, "director", case.pk, "approve_extension"),
        lambda: act(world, "director", case.pk, "reject_extension", "理由不充分"),
    )
    winner, loser = _one_winner(results)
    assert loser.code == "no_extension_pending"
    case.refresh_from_db()
    assert case.extension_pending is False
    assert (case.due_at != due) == (winner == 0)
    assert (
        CaseEvent.objects.filter(case=case, action__in=["approve_extension", "reject_extension"]).count() == 1
    )


def test_two_supervision_replies_one_wins(world):
    case = drive_to(world, CaseState.HANDLING)
    act(world, "city_leader", case, "supervise", "群众反映强烈，请加快办理")
    notice = case.supervisions.get()
    results = race(
        *[
            lambda: services.supervision_reply(
                actor=world.handler, supervision_id=notice.pk, text="已加派人手"
            )
            for _ in range(2)
        ]
    )
    oks = [r for r in results if not isinstance(r, Exception)]
    errors = [r for r in results if isinstance(r, Exception)]
    assert len(oks) == 1, results
    assert len(errors) == 1 and isinstance(errors[0], Conflict), results
    assert CaseEvent.objects.filter(case=case, action="supervision_reply").count() == 1
