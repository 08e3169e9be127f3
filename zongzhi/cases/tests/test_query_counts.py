"""Every list page runs a pinned number of queries, the same for 1 row as for 30 (no N+1).

Rows are put into a queue by updating the columns the queue filters on (the pages only read them);
the other rows are parked in a final state that no queue shows."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.factories import make_grid, make_region
from zongzhi.cases import services
from zongzhi.cases.models import Case, CaseAssignment, CaseState
from zongzhi.cases.tests.drive import drive_to
from zongzhi.orgs import services as org_services
from zongzhi.orgs.models import Grid, Region

pytestmark = pytest.mark.django_db

ROWS = 30
# The pinned number of queries per page (session, user, grants, counts, the page's rows, its lookups).
# A change here is a change in the page's cost: check it is not per row before updating the pin.
PINNED = {
    "workbench": 7,  # + the queue counts (one aggregate; the page total is the tab's), departments, categories
    "desk": 8,  # + the queue counts (one aggregate + 2; the page total is the tab's)
    "case_detail": 11,
    "mobile_home": 6,
    "grid_list": 5,
    "public_track": 2,
    "api_cases": 5,
    "api_grids": 5,
    "api_regions": 5,
}


def _report(world, n: int, **extra) -> list[int]:
    ids = []
    for i in range(n):
        result = services.case_report(
            actor=world.operator,
            data=services.ReportInput(
                channel="hotline",
                kind="dispute",
                title=f"楼道堆物{i}",
                description="楼道堆放杂物影响通行",
                category_code="0201",
                region_code=world.r["A1a"].code,
                reporter_name="李四",
                reporter_phone="13955556666",
                address="甲一社区3幢",
                **extra,
            ),
        )
        ids.append(result.case.pk)
    return ids


@pytest.fixture
def cases(world) -> list[int]:
    return _report(world, ROWS)


def _queue_columns(world, queue: str) -> dict:
    now = timezone.now()
    columns = {
        "to_accept": {"state": CaseState.REPORTED},
        "to_dispatch": {"state": CaseState.ACCEPTED, "is_returned": False},
        "returned": {"state": CaseState.ACCEPTED, "is_returned": True},
        "extension": {"state": CaseState.HANDLING, "extension_pending": True},
        "overdue": {"state": CaseState.HANDLING, "due_at": now - dt.timedelta(hours=5)},
        "due_soon": {"state": CaseState.HANDLING, "remind_at": now - dt.timedelta(hours=1)},
        "supervised": {"state": CaseState.HANDLING, "sla_level": 2},
        "to_reply": {"state": CaseState.RESOLVED},
        "to_callback": {"state": CaseState.REPLIED, "rating": ""},
        # department queues
        "to_acknowledge": {"state": CaseState.DISPATCHED},
        "handling": {"state": CaseState.HANDLING},
    }[queue]
    return {"due_at": now + dt.timedelta(days=3), **columns}


def _fill(world, ids: list[int], queue: str, n: int) -> None:
    """``n`` of the cases in ``queue``, the rest archived (in no queue)."""
    now = timezone.now()
    Case.objects.filter(pk__in=ids).update(
        state=CaseState.ARCHIVED,
        lead_department=world.police,
        resolved_at=now,
        archived_at=now,
        sla_level=0,
        is_returned=False,
        extension_pending=False,
        remind_at=None,
    )
    Case.objects.filter(pk__in=ids[:n]).update(**_queue_columns(world, queue))


def _count(client, path: str, *, expect_rows: int, marker: str = "data-case=") -> int:
    with CaptureQueriesContext(connection) as ctx:
        res = client.get(path)
    assert res.status_code == 200, (path, res.status_code)
    body = res.content.decode()
    if marker:
        assert body.count(marker) == expect_rows, (path, body.count(marker), expect_rows)
    return len(ctx.captured_queries)


def _same_for_1_and_30(world, ids, client, path, queue, django_assert_num_queries, marker="data-case="):
    _fill(world, ids, queue, 1)
    client.get(path)  # warm the per-process caches (calendar, grants) like any later request
    n = _count(client, path, expect_rows=1, marker=marker)
    _fill(world, ids, queue, ROWS)
    with django_assert_num_queries(n):
        res = client.get(path)
    assert res.status_code == 200
    if marker:
        assert res.content.decode().count(marker) == ROWS
    return n


WORKBENCH_QUEUES = [
    "to_accept",
    "to_dispatch",
    "returned",
    "extension",
    "overdue",
    "due_soon",
    "supervised",
    "to_reply",
    "to_callback",
]


@pytest.mark.parametrize("queue", WORKBENCH_QUEUES)
def test_workbench_queue(world, cases, queue, django_assert_num_queries):
    c = world.client(world.operator)
    n = _same_for_1_and_30(
        world, cases, c, f"/workbench/?queue={queue}&scope=all", queue, django_assert_num_queries
    )
    assert n == PINNED["workbench"], n
    # the htmx partial (filters, paging) costs no more than the page
    _fill(world, cases, queue, ROWS)
    with CaptureQueriesContext(connection) as ctx:
        c.get(f"/workbench/?queue={queue}&scope=all", HTTP_HX_REQUEST="true")
    assert len(ctx.captured_queries) <= n


@pytest.mark.parametrize("queue", ["to_acknowledge", "handling", "overdue"])
def test_department_desk(world, cases, queue, django_assert_num_queries):
    CaseAssignment.objects.bulk_create(
        CaseAssignment(case_id=pk, department=world.police, role="lead", dispatch_seq=1) for pk in cases
    )
    c = world.client(world.handler)
    n = _same_for_1_and_30(world, cases, c, f"/desk/?queue={queue}", queue, django_assert_num_queries)
    assert n == PINNED["desk"], n


def test_case_detail_with_1_and_30_timeline_entries(world, cases, django_assert_num_queries):
    c = world.client(world.operator)
    one, many = cases[0], cases[1]
    for _ in range(ROWS - 1):  # 29 reminders on the timeline, with their supervision notices
        services.case_transition(
            actor=world.director,
            case_id=many,
            action="supervise",
            note="请尽快受理",
            data={"kind": "supervision"},
        )
    c.get(f"/cases/{one}/")
    n = _count(c, f"/cases/{one}/", expect_rows=0, marker="")
    assert n == PINNED["case_detail"], n
    with django_assert_num_queries(n):
        html = c.get(f"/cases/{many}/").content.decode()
    assert html.count("data-event=") == ROWS
    assert html.count("data-supervision=") == ROWS - 1


def test_grid_worker_home(world, cases, django_assert_num_queries):
    grid = make_grid(world.r["A1a"], "一号网格")
    org_services.grid_member_add(actor=None, grid=grid, user=world.grid_worker)
    c = world.client(world.grid_worker)

    def fill(n: int) -> None:
        now = timezone.now()
        Case.objects.filter(pk__in=cases).update(
            state=CaseState.ARCHIVED,
            grid=None,
            reporter_user=None,
            lead_department=world.police,
            resolved_at=now,
            archived_at=now,
        )
        Case.objects.filter(pk__in=cases[:n]).update(
            state=CaseState.HANDLING, grid=grid, reporter_user=world.grid_worker
        )

    fill(1)
    c.get("/m/")
    n = _count(c, "/m/", expect_rows=1)
    assert n == PINNED["mobile_home"], n
    fill(ROWS)
    with django_assert_num_queries(n):
        html = c.get("/m/").content.decode()
    assert html.count("data-case=") == 20  # "my reports" shows the latest 20


def test_grid_list(world, django_assert_num_queries):
    c = world.client(world.operator)
    make_grid(world.r["A1a"])
    c.get("/grids/")
    n = _count(c, "/grids/", expect_rows=0, marker="")
    assert n == PINNED["grid_list"], n
    for i in range(ROWS - 1):
        make_grid(world.r["A1b"] if i % 2 else world.r["A2a"])
    with django_assert_num_queries(n):
        html = c.get("/grids/").content.decode()
    assert html.count("/grids/") >= ROWS


def test_public_track_with_few_and_many_steps(world, django_assert_num_queries):
    def report():
        return services.case_report(
            actor=world.operator,
            data=services.ReportInput(
                channel="hotline",
                title="路灯不亮",
                description="小区路灯坏了",
                category_code="0201",
                region_code=world.r["A1a"].code,
                reporter_phone="13955556666",
            ),
        )

    first, second = report(), report()
    drive_to(world, CaseState.REPLIED, Case.objects.get(pk=second.case.pk))
    c = world.client(None)
    path1 = f"/public/track/?number={first.case.number}&code={first.tracking_code}"
    path2 = f"/public/track/?number={second.case.number}&code={second.tracking_code}"
    c.get(path1)
    n = _count(c, path1, expect_rows=0, marker="")
    assert n == PINNED["public_track"], n
    with django_assert_num_queries(n):
        html = c.get(path2).content.decode()
    assert html.count("<li>") >= 5


# --- API list endpoints ---------------------------------------------------------------------------------


def test_api_cases(world, cases, django_assert_num_queries):
    c = world.client(world.operator)
    _fill(world, cases, "to_accept", 1)
    c.get("/api/v1/cases?queue=to_accept")
    n = _count(c, "/api/v1/cases?queue=to_accept", expect_rows=1, marker='"number"')
    assert n == PINNED["api_cases"], n
    _fill(world, cases, "to_accept", ROWS)
    with django_assert_num_queries(n):
        body = c.get("/api/v1/cases?queue=to_accept").json()
    assert body["count"] == ROWS and len(body["items"]) == ROWS


def test_api_grids(world, django_assert_num_queries):
    c = world.client(world.city_leader)
    make_grid(world.r["A1a"])
    c.get("/api/v1/grids")
    n = _count(c, "/api/v1/grids", expect_rows=1, marker='"village_code"')
    assert n == PINNED["api_grids"], n
    for i in range(ROWS - 1):
        make_grid([world.r["A1b"], world.r["A2a"], world.r["B1a"]][i % 3])
    with django_assert_num_queries(n):
        body = c.get("/api/v1/grids").json()
    assert body["count"] == ROWS == len(body["items"]) and Grid.objects.count() == ROWS


def test_api_regions(world, django_assert_num_queries):
    c = world.client(world.city_leader)
    path = f"/api/v1/regions?parent={world.r['B1'].code}"
    c.get(path)
    n = _count(c, path, expect_rows=1, marker='"parent_code"')
    assert n == PINNED["api_regions"], n
    parent = world.r["B1"]
    for i in range(ROWS - 1):
        make_region(parent, f"乙一{i}村", i + 2)
    with django_assert_num_queries(n):
        body = c.get(path).json()
    assert body["count"] == ROWS and Region.objects.filter(parent=parent).count() == ROWS
