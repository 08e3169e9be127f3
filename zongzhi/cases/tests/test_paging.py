"""List pages page without counting the whole list: the workbench and the desk take the queue's own
number as the page total, other lists count no further than a cap."""

from __future__ import annotations

import re

import pytest
from django.db import OperationalError, connection
from django.test.utils import CaptureQueriesContext

from zongzhi.cases import selectors
from zongzhi.cases.models import OPEN_STATES, Case
from zongzhi.cases.tests.drive import act, report
from zongzhi.core.paging import ListPaginator

pytestmark = pytest.mark.django_db


def _total(html: str) -> str:
    m = re.search(r"共 (\d+) 件|超过 (\d+) 件", html)
    assert m, "no total on the page"
    return m.group(0)


def test_workbench_total_is_the_queue_count_and_no_count_query_runs(world):
    for _ in range(3):
        report(world)
    accepted = report(world)
    act(world, "operator", accepted, "accept")
    c = world.client(world.operator)
    with CaptureQueriesContext(connection) as ctx:
        html = c.get("/workbench/?queue=to_accept&scope=all").content.decode()
    assert _total(html) == "共 3 件"
    assert html.count("data-case=") == 3
    assert not [q for q in ctx.captured_queries if q["sql"].startswith('SELECT COUNT(*) AS "__count"')]
    # a filter beyond the queue: the page counts its own rows (the tab's number would be wrong)
    html = c.get("/workbench/?queue=to_accept&scope=all&q=不存在的标题").content.decode()
    assert html.count("data-case=") == 0
    html = c.get("/workbench/?queue=to_dispatch&scope=all").content.decode()
    assert _total(html) == "共 1 件"


def test_queue_only_is_false_for_any_other_filter():
    assert selectors.queue_only(selectors.CaseFilters(queue="overdue", mine=True))
    assert selectors.queue_only(selectors.CaseFilters(queue="overdue", order="-created"))
    assert not selectors.queue_only(selectors.CaseFilters())  # "all": no queue
    assert not selectors.queue_only(selectors.CaseFilters(queue="overdue", text="漏水"))
    assert not selectors.queue_only(selectors.CaseFilters(queue="overdue", channel="hotline"))
    assert not selectors.queue_only(selectors.CaseFilters(queue="nonsense"))


def test_list_paginator_counts_up_to_the_cap(world):
    for _ in range(5):
        report(world)
    qs = Case.objects.order_by("id")
    p = ListPaginator(qs, 2, cap=3)
    assert p.count == 3 and p.capped and p.num_pages == 2
    # pages stop at the cap: rows past it are reached by narrowing the list, not by paging
    assert [c.pk for c in p.page(2).object_list] == list(qs.values_list("pk", flat=True)[2:3])
    p = ListPaginator(qs, 2, cap=10)
    assert p.count == 5 and not p.capped and p.num_pages == 3
    p = ListPaginator(qs, 2, count=4)  # a known count is taken as is
    with CaptureQueriesContext(connection) as ctx:
        assert p.count == 4
    assert not ctx.captured_queries


def test_all_cases_page_says_more_than_the_cap(world, monkeypatch):
    monkeypatch.setattr("zongzhi.core.paging.COUNT_CAP", 2)
    for _ in range(4):
        report(world)
    html = world.client(world.operator).get("/workbench/?queue=all&scope=all").content.decode()
    assert _total(html) == "超过 2 件"
    assert html.count("data-case=") == 2  # the rows up to the cap


def test_capped_count_does_not_sort(world):
    for _ in range(3):
        report(world)
    qs = selectors.case_list(world.operator, selectors.CaseFilters(mine=False))
    with CaptureQueriesContext(connection) as ctx:
        assert ListPaginator(qs, 2, cap=10).count == 3
    (sql,) = [q["sql"] for q in ctx.captured_queries if "COUNT(" in q["sql"]]
    assert "ORDER BY" not in sql


def test_queue_states_are_literals_so_sqlite_can_use_the_partial_indexes(world):
    """SQLite uses a partial index only when it sees that the query implies the index's condition,
    which it cannot through bound parameters: the open-state lists are written as literals."""
    report(world)
    captured: list[tuple[str, tuple]] = []

    def keep(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        captured.append((sql, tuple(params or ())))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(keep):
        counts = selectors.queue_counts(world.operator, mine=False)
    assert counts["to_accept"] == 1
    sql, params = captured[-1]
    assert "IN ('reported', 'accepted', 'dispatched', 'handling', 'resolved', 'replied')" in sql
    assert "dispatched" not in params  # only ever in the state lists
    if connection.vendor == "sqlite":
        # INDEXED BY fails ("no query solution") when the index cannot serve the query
        hinted = sql.replace('FROM "cases_case"', 'FROM "cases_case" INDEXED BY case_open_cover_idx', 1)
        with connection.cursor() as cur:
            cur.execute("EXPLAIN QUERY PLAN " + hinted, params)
            plan = " ".join(str(row[-1]) for row in cur.fetchall())
            assert "COVERING INDEX case_open_cover_idx" in plan, plan
            bound = hinted.replace(
                "IN ('reported', 'accepted', 'dispatched', 'handling', 'resolved', 'replied')",
                "IN (%s, %s, %s, %s, %s, %s)",
            )
            with pytest.raises(OperationalError, match="no query solution"):
                cur.execute("EXPLAIN QUERY PLAN " + bound, (*params, *OPEN_STATES))


def test_in_constants_takes_identifiers_only():
    with pytest.raises(ValueError, match="identifiers only"):
        list(Case.objects.filter(state__in_constants=["reported", "x'); DROP TABLE cases_case; --"]))
    assert list(Case.objects.filter(state__in_constants=["reported"])) == []


def test_pages_pick_their_ids_first_and_match_plain_slicing(world):
    for _ in range(7):
        report(world)
    qs = selectors.for_list(selectors.case_list(world.operator, selectors.CaseFilters(mine=False)))
    expected = [c.pk for c in qs]
    assert len(expected) == 7
    paginator = ListPaginator(qs, 3)
    seen = []
    for number in (1, 2, 3):
        with CaptureQueriesContext(connection) as ctx:
            rows = list(paginator.page(number).object_list)
        (sql,) = [q["sql"] for q in ctx.captured_queries if '"cases_case"."number"' in q["sql"]]
        assert re.search(r'"cases_case"\."id" IN \(SELECT', sql), sql
        seen += [c.pk for c in rows]
    assert seen == expected  # same rows, same order, nothing lost or repeated across pages
