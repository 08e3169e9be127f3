#!/usr/bin/env python
"""Benchmark: every list page renders under 200 ms with 100,000 cases in the database.

Issue: "Every list page has a pinned query count (no N+1) and renders under 200 ms at 100k cases in
the database (print it from a benchmark)."

For each backend (a fresh SQLite file ``var/bench/list_pages.sqlite3``, and the PostgreSQL database
``zongzhi_bench_pages`` — dropped and recreated — when a server answers at 127.0.0.1:5432) it
migrates, builds a small org (a county with two townships and four villages, a center operator, a
police department and its handler), loads the default catalogue, bulk-inserts 100,000 cases spread
over the workflow states (with a lead assignment for every dispatched case), then renders each list
page through the Django test client as the operator (or the handler for the desk) 30 times after a
warm-up, and prints p50/p95 in ms. Next to each page it prints the baseline measured in the same
run: the page's bare SELECT of its 50 rows (the SQL the page runs for them: the selector's query, its 50 ids picked first) through
``cursor.execute``, and the ratio page/baseline.

    .venv/bin/python bench/bench_list_pages.py                 # both backends
    .venv/bin/python bench/bench_list_pages.py --db sqlite --cases 20000
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PG_DB = "zongzhi_bench_pages"
PG_SERVER = "postgres://postgres@127.0.0.1:5432"
SQLITE_FILE = ROOT / "var" / "bench" / "list_pages.sqlite3"
TARGET_MS = 200.0
RUNS = 30
WARMUP = 3
BATCH = 5000

# state → share of the cases (the rest of the row follows from the state)
MIX = [
    ("reported", 0.10),
    ("accepted", 0.06),
    ("dispatched", 0.08),
    ("handling", 0.22),
    ("resolved", 0.04),
    ("replied", 0.05),
    ("archived", 0.42),
    ("declined", 0.03),
]


def _pg_reachable() -> bool:
    try:
        import psycopg

        with psycopg.connect(f"{PG_SERVER}/postgres", connect_timeout=3, autocommit=True):
            return True
    except Exception:
        return False


def _pg_recreate() -> None:
    import psycopg

    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{PG_DB}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{PG_DB}"')


def _pg_drop() -> None:
    import psycopg

    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{PG_DB}" WITH (FORCE)')


# --- inside one backend's process ----------------------------------------------------------------------------


def _setup_world() -> dict[str, Any]:
    from tests.factories import make_department, make_region, make_user
    from zongzhi.cases import services
    from zongzhi.orgs.roles import Role

    province = make_region(None, "基准省", 33)
    city = make_region(province, "基准市", 1)
    county = make_region(city, "基准区", 2)
    townships = [make_region(county, f"基准{i}街道", i) for i in (1, 2)]
    villages = [make_region(t, f"基准{t.code[6:9]}-{j}社区", j) for t in townships for j in (1, 2)]
    services.catalogue_load_defaults(actor=None)
    police = make_department(county, "基准区公安分局", "public_security")
    operator = make_user(Role.CENTER_OPERATOR, county, username="bench_op")
    handler = make_user(Role.DEPARTMENT_HANDLER, county, department=police, username="bench_police")
    return {
        "county": county,
        "villages": villages,
        "police": police,
        "operator": operator,
        "handler": handler,
    }


def _seed(world: dict[str, Any], n: int) -> None:
    """``n`` cases copied from one case made by the real service, in batches of ``BATCH``."""
    import copy
    import random

    from django.db import connection, transaction
    from django.utils import timezone

    from zongzhi.cases import services
    from zongzhi.cases.models import Case, CaseAssignment, Category

    rng = random.Random(7)
    first = services.case_report(
        actor=world["operator"],
        data=services.ReportInput(
            channel="hotline",
            kind="dispute",
            title="楼道堆物",
            description="楼道堆放杂物影响通行",
            category_code="0201",
            region_code=world["villages"][0].code,
            reporter_name="李四",
            reporter_phone="13955556666",
            address="基准社区3幢",
        ),
    ).case
    categories = list(Category.objects.filter(parent__isnull=False).values_list("pk", flat=True))
    villages = world["villages"]
    police = world["police"]
    now = timezone.now()
    states = [s for s, share in MIX for _ in range(int(share * 100))]
    made = 1
    with transaction.atomic():
        while made < n:
            rows = []
            for _ in range(min(BATCH, n - made)):
                made += 1
                c = copy.copy(first)
                c.pk = None
                c.id = None
                c.number = f"B{made:09d}"
                c.title = f"楼道堆物{made}"
                village = villages[made % len(villages)]
                c.region = village
                c.region_path = village.path
                c.category_id = categories[made % len(categories)]
                c.urgency = "urgent" if made % 17 == 0 else "normal"
                c.state = state = states[made % len(states)]
                created = now - timedelta(minutes=rng.randint(10, 60 * 24 * 400))
                c.created_at = c.stage_started_at = created
                c.due_at = now + timedelta(hours=rng.randint(-72, 240))
                c.remind_at = c.due_at - timedelta(hours=24)
                c.sla_level = 2 if made % 41 == 0 else 0
                c.is_returned = state == "accepted" and made % 5 == 0
                c.extension_pending = state == "handling" and made % 23 == 0
                c.lead_department = police if state not in ("reported", "accepted", "declined") else None
                c.resolved_at = now if state in ("resolved", "replied", "archived") else None
                c.archived_at = now if state == "archived" else None
                c.decline_reason = "不属于受理范围" if state == "declined" else ""
                c.rating = "satisfied" if state == "archived" else ""
                rows.append(c)
            created_rows = Case.objects.bulk_create(rows, batch_size=1000)
            CaseAssignment.objects.bulk_create(
                [
                    CaseAssignment(case_id=c.pk, department=police, role="lead", dispatch_seq=1)
                    for c in created_rows
                    if c.lead_department_id
                ],
                batch_size=2000,
            )
    with connection.cursor() as cur:
        cur.execute("ANALYZE")


def _pct(values: list[float], p: float) -> float:
    values = sorted(values)
    k = (len(values) - 1) * p
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def _time(fn: Any) -> list[float]:
    for _ in range(WARMUP):
        fn()
    out = []
    for _ in range(RUNS):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def _measure(world: dict[str, Any], backend: str, n: int) -> list[tuple[str, float, float, float, float]]:
    from django.db import connection
    from django.test import Client

    from zongzhi.cases import selectors
    from zongzhi.core.paging import page_slice

    op = Client()
    op.force_login(world["operator"])
    handler = Client()
    handler.force_login(world["handler"])

    def rows_sql(qs: Any) -> Any:
        # the rows the page reads: its 50 ids picked first, then those rows (core.paging.page_slice)
        sql, params = page_slice(selectors.for_list(qs), 0, 50).query.sql_with_params()

        def run() -> None:
            with connection.cursor() as cur:
                cur.execute(sql, params)
                cur.fetchall()

        return run

    pages: list[tuple[str, Client, str, Any]] = []
    for queue in selectors.QUEUES:
        f = selectors.CaseFilters(queue=queue, mine=False)
        pages.append(
            (
                f"workbench {queue}",
                op,
                f"/workbench/?queue={queue}&scope=all",
                rows_sql(selectors.case_list(world["operator"], f)),
            )
        )
    f = selectors.CaseFilters(queue=None, mine=False)
    pages.append(
        (
            "workbench all",
            op,
            "/workbench/?queue=all&scope=all",
            rows_sql(selectors.case_list(world["operator"], f)),
        )
    )
    for queue in selectors.DEPARTMENT_QUEUES:
        pages.append(
            (
                f"desk {queue}",
                handler,
                f"/desk/?queue={queue}",
                rows_sql(selectors.department_queue(world["handler"], queue)),
            )
        )
    pages.append(
        (
            "api /cases",
            op,
            "/api/v1/cases?limit=50",
            rows_sql(selectors.case_list(world["operator"], selectors.CaseFilters())),
        )
    )
    pages.append(
        (
            "api /cases to_accept",
            op,
            "/api/v1/cases?queue=to_accept&limit=50",
            rows_sql(selectors.case_list(world["operator"], selectors.CaseFilters(queue="to_accept"))),
        )
    )
    results = []
    for name, client, path, baseline in pages:
        res = client.get(path)
        assert res.status_code == 200, (name, res.status_code)
        page_ms = _time(lambda client=client, path=path: client.get(path))
        base_ms = _time(baseline)
        results.append(
            (
                name,
                statistics.median(page_ms),
                _pct(page_ms, 0.95),
                statistics.median(base_ms),
                _pct(base_ms, 0.95),
            )
        )
    return results


def run_backend(backend: str, n: int) -> int:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from zongzhi.cases.models import Case

    t0 = time.perf_counter()
    call_command("migrate", verbosity=0)
    world = _setup_world()
    _seed(world, n)
    load_s = time.perf_counter() - t0
    total = Case.objects.count()
    print(f"\n== {backend} ({connection.vendor}): {total:,} cases, set up and loaded in {load_s:.1f} s")
    print(f"   {RUNS} runs after {WARMUP} warm-up; baseline = the page's bare SELECT of its 50 rows")
    header = f"   {'page':<26} {'p50 ms':>8} {'p95 ms':>8}   {'base p50':>9} {'base p95':>9}   {'ratio p50':>9}  target"
    print(header)
    failed = 0
    for name, p50, p95, b50, b95 in _measure(world, backend, n):
        ok = p95 < TARGET_MS
        failed += not ok
        ratio = p50 / b50 if b50 else float("inf")
        print(
            f"   {name:<26} {p50:8.1f} {p95:8.1f}   {b50:9.2f} {b95:9.2f}   {ratio:8.1f}x  "
            f"{'ok' if ok else 'OVER'} (<{TARGET_MS:.0f})"
        )
    return failed


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--keep", action="store_true", help="keep the benchmark databases")
    parser.add_argument("--backend", help=argparse.SUPPRESS)  # internal: run one backend in this process
    args = parser.parse_args()
    if args.backend:
        return run_backend(args.backend, args.cases)

    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "PYTHONPATH": str(ROOT),
        "ZZ_MEDIA_ROOT": str(ROOT / "var" / "bench" / "media"),
    }
    failed = 0
    backends = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    for backend in backends:
        if backend == "sqlite":
            SQLITE_FILE.parent.mkdir(parents=True, exist_ok=True)
            for suffix in ("", "-wal", "-shm"):
                Path(f"{SQLITE_FILE}{suffix}").unlink(missing_ok=True)
            env["DATABASE_URL"] = f"sqlite:///{SQLITE_FILE}"
        else:
            if not _pg_reachable():
                print(f"\n== postgres: no server at {PG_SERVER}, skipped")
                continue
            _pg_recreate()
            env["DATABASE_URL"] = f"{PG_SERVER}/{PG_DB}"
        cmd = [sys.executable, __file__, "--backend", backend, "--cases", str(args.cases)]
        failed += subprocess.call(cmd, env=env)
        if not args.keep:
            if backend == "sqlite":
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{SQLITE_FILE}{suffix}").unlink(missing_ok=True)
            else:
                _pg_drop()
    print(f"\n{'all pages under' if not failed else f'{failed} page(s) over'} {TARGET_MS:.0f} ms (p95)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
