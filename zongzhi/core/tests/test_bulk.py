"""``core.bulk.RowInserter``: rows written by COPY (PostgreSQL) or executemany read back as the ORM
wrote them, whatever the values hold. The interpreter settings of a bulk job (``quiet_collector``,
``quick_switches``) hold while any job needs them and come back after the last."""

from __future__ import annotations

import datetime as dt
import gc
import sys
import threading

import pytest
from django.utils import timezone

from tests.factories import make_user
from zongzhi.core.bulk import (
    SWITCH_INTERVAL,
    YOUNG_COLLECTION_EVERY,
    RowInserter,
    quick_switches,
    quiet_collector,
)
from zongzhi.core.models import BackgroundJob, CalendarDay
from zongzhi.orgs.roles import Role

pytestmark = pytest.mark.django_db

AWKWARD = [
    "tab\there",
    "line\nbreak and\r\nwindows",
    "back\\slash and \\N and \\t literally",
    r"C:\temp\new",
    "中文，全角　空格",
    "",
    "\\",
]


def _job_values(user_id: int, i: int, text: str) -> dict[str, object]:
    return {
        "user_id": user_id,
        "kind": f"k{i}\t",
        "params": {"text": text, "n": i, "nested": [None, True, 1.5, "a\\b\n"]},
        "purpose": text,
        "status": BackgroundJob.Status.DONE,
        "total": i * 1000,
        "done": i,
        "filename": text[:120],
        "error": text,
        "created_at": timezone.now() - dt.timedelta(days=i, microseconds=i),
        "finished_at": None if i % 2 else timezone.now(),
        "file": f"exports/{i}\\{text[:10]}.csv",
    }


def test_awkward_text_json_times_and_nulls_read_back_unchanged(tree: dict) -> None:
    user = make_user(Role.CENTER_OPERATOR, tree["A"])
    wanted = [_job_values(user.pk, i, text) for i, text in enumerate(AWKWARD)]
    inserter = RowInserter(BackgroundJob, list(wanted[0]))
    assert inserter.insert(iter([list(w.values()) for w in wanted])) == len(AWKWARD)
    got = list(BackgroundJob.objects.order_by("total").values(*wanted[0]))
    assert got == wanted


def test_dates_booleans_and_a_date_key(db: None) -> None:
    days = [
        (dt.date(2026, 10, 1), False, "国庆节", "manual", dt.datetime(2026, 9, 1, 8, tzinfo=dt.UTC)),
        (dt.date(2026, 10, 10), True, "调休\t上班", "manual", dt.datetime(2026, 9, 1, 8, tzinfo=dt.UTC)),
    ]
    assert RowInserter(CalendarDay, ["date", "is_workday", "name", "source", "updated_at"]).insert(days) == 2
    assert (
        list(
            CalendarDay.objects.filter(date__month=10, date__year=2026)
            .values_list("date", "is_workday", "name", "source", "updated_at")
            .order_by("date")
        )
        == days
    )


def test_many_rows_from_a_generator(tree: dict) -> None:
    user = make_user(Role.CENTER_OPERATOR, tree["A"])
    now = timezone.now()
    n = 2503
    rows = ((user.pk, "bulk", {}, f"#{i}", "done", i, 0, "", "", now, None, "") for i in range(n))
    columns = ["user_id", "kind", "params", "purpose", "status", "total", "done", "filename", "error",
               "created_at", "finished_at", "file"]  # fmt: skip
    assert RowInserter(BackgroundJob, columns).insert(rows) == n
    assert BackgroundJob.objects.filter(kind="bulk").count() == n
    assert sorted(BackgroundJob.objects.filter(kind="bulk").values_list("total", flat=True)) == list(range(n))


def test_binary_copy_reads_back_text_numbers_times_and_nulls(tree: dict) -> None:
    # binary COPY (PostgreSQL) for a table of plain types; executemany elsewhere: the same rows back
    from decimal import Decimal

    from django.db import connection

    from zongzhi.people.models import House

    region = tree["A1a"]
    when = dt.datetime(2026, 3, 1, 8, 30, 15, 123456, tzinfo=dt.UTC)
    columns = ["region_id", "region_path", "grid_id", "key_id", "created_at", "updated_at", "created_by_id",
               "address", "building", "unit", "room", "address_key", "use", "owner_name", "owner_phone_enc",
               "owner_phone_index", "area_m2", "lon", "lat", "notes"]  # fmt: skip
    head = [region.pk, region.path, None, "k1", when, when, None]
    rows = [
        [
            *head,
            text,
            "3幢",
            "",
            "",
            f"key{i}",
            "rent",
            "",
            "",
            "",
            Decimal("88.50") if i % 2 else None,
            120.15 if i % 2 else None,
            30.28,
            text,
        ]
        for i, text in enumerate(AWKWARD)
    ]
    inserter = RowInserter(House, columns, binary=True)
    assert (inserter.copy_types is not None) == (connection.vendor == "postgresql")
    assert RowInserter(BackgroundJob, ["params"], binary=True).copy_types is None  # JSON: text COPY
    assert inserter.insert(rows) == len(AWKWARD)
    got = [list(r) for r in House.objects.order_by("address_key").values_list(*columns)]
    assert got == sorted(rows, key=lambda r: r[11])


def test_the_collector_is_quiet_while_any_job_runs_and_restored_after_the_last(db: None) -> None:
    threshold = gc.get_threshold()
    assert gc.get_freeze_count() == 0
    older = [object() for _ in range(10)]  # something existing before: frozen, not walked
    first = quiet_collector()
    first.__enter__()
    assert gc.get_threshold() == (YOUNG_COLLECTION_EVERY, *threshold[1:])
    frozen = gc.get_freeze_count()
    assert frozen > 0
    entered = threading.Event()
    leave = threading.Event()
    seen: list[tuple[int, ...]] = []

    def second_job() -> None:
        with quiet_collector():
            entered.set()
            leave.wait(5)
        seen.append(gc.get_threshold())

    other = threading.Thread(target=second_job)
    other.start()
    assert entered.wait(5)
    first.__exit__(None, None, None)  # the first job ends while the second still runs
    assert gc.get_threshold()[0] == YOUNG_COLLECTION_EVERY
    assert gc.get_freeze_count() == frozen
    leave.set()
    other.join(5)
    assert seen == [threshold]  # the last job out restores it
    assert gc.get_threshold() == threshold
    assert gc.get_freeze_count() == 0
    assert gc.collect() >= 0 and len(older) == 10


def test_quick_switches_are_restored_after_an_error(db: None) -> None:
    interval = sys.getswitchinterval()
    with pytest.raises(RuntimeError), quick_switches():
        assert sys.getswitchinterval() == pytest.approx(SWITCH_INTERVAL)
        with quick_switches():
            assert sys.getswitchinterval() == pytest.approx(SWITCH_INTERVAL)
        assert sys.getswitchinterval() == pytest.approx(SWITCH_INTERVAL)  # the outer job still runs
        raise RuntimeError("boom")
    assert sys.getswitchinterval() == interval
