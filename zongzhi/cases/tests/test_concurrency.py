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

import random
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.db import OperationalError, connection, connections

from zongzhi.cases import services
from zongzhi.cases.models import Case, CaseAssignment, CaseEvent, CaseState
from zongzhi.core.errors import Conflict

from .drive import act, drive_to, report

pytestmark = pytest.mark.django_db(transaction=True)

ROUNDS = 5
RETRIES: list = []


def _with_busy_retry(fn: Callable[[], Any]) -> Any:
    deadline = time.monotonic() + 20
    while True:
        try:
            return fn()
        except OperationalError as exc:
            locked = "locked" in str(exc)
            if connection.vendor != "sqlite" or not locked or time.monotonic() > deadline:
                raise
            RETRIES.append(1)
            time.sleep(random.uniform(0.001, 0.01))


def race(*calls: Callable[[], Any]) -> list[Any]:
    """Run ``calls`` in threads released at the same moment; return each one's result or exception."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(i: int, fn: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout=10)
            results[i] = _with_busy_retry(fn)
        except BaseException as exc:  # noqa: BLE001 - handed back to the test
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, fn)) for i, fn in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    return results


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


def test_zz_print():
    print("RETRIES", len(RETRIES))
