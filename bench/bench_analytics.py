#!/usr/bin/env python
"""Benchmark: dashboards read rollups, not cases — fast at 10 million cases.

Issue: "bench/ seeds 10M cases on PostgreSQL and prints: dashboard tile queries p95 (target
≤ 100 ms) and the ratio rollup-path / raw-query on the same data (target ≥ 20× faster), the
incremental refresh time of one day, and a drill-down on raw cases (target ≤ 2 s)."

    .venv/bin/python bench/bench_analytics.py                      # 10,000,000 cases
    .venv/bin/python bench/bench_analytics.py --cases 1000000       # a quicker run

Steps (a dedicated PostgreSQL database, ``zz_analytics_bench``, dropped and recreated; dropped at
the end unless ``--keep``). Seeding and measuring can be run separately — the 10M seed takes long
and the measurements can then be repeated on the same data:

    .venv/bin/python bench/bench_analytics.py --cases 10000000 --seed-only   # steps 1–3, database kept
    .venv/bin/python bench/bench_analytics.py --reuse                        # steps 4–6 on it, kept
    .venv/bin/python bench/bench_analytics.py --reuse --rebuild-rollups --drop  # …rollups timed again, dropped

``--reuse`` opens the existing ``--pg-db`` (migrating it if the code has new migrations), takes the
case count from it and the rollups as they are (``--rebuild-rollups``: recompute them, timed).
Each measuring run adds one day of activity (step 5), so repeated runs see slightly more cases.

1. the city of ``bench_cases.py`` (10 counties × 10 townships × 10 villages, centers, departments,
   the default catalogue) and its cases, seeded with ``INSERT … SELECT … FROM generate_series``
   (``bench_cases.pg_seed``: two years of closed cases, 10 % open in the last weeks);
2. the per-case facts, loaded in bulk with ``INSERT … SELECT`` from the seeded case rows (the seed
   writes the milestones on the case rows and no timelines; the stage deadlines are the catalogue's
   defaults from the milestone before, as ``analytics.facts`` computes them from a timeline);
3. the rollups with the real ``rollups.rollups_rebuild`` (timed);
4. tile queries through the real selectors (``selectors.totals`` on the rollups, for the city, a
   county and a township, over the last 30 days, this month, a year and all time), each compared
   with the same figures counted on the raw rows: ``cases_case`` directly, and the fact table;
5. one day of activity with real timelines (a day's share of the cases registered, accepted,
   dispatched, acknowledged, half of them resolved, written as ``CaseEvent`` rows) and the real
   incremental ``rollups.analytics_refresh`` that makes it visible (timed);
6. drill-downs as the drill page and the API make them (``selectors.drill_number``: the number, and
   ``selectors.drill_page``: the first page of 50 with their cases) for the city and a county over 30
   days and a year; each number is checked against a count of the facts behind it (not timed).
"""

from __future__ import annotations

import argparse
import math
import os
import random
import re
import statistics
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_cases as bc  # noqa: E402

PG_DB = "zz_analytics_bench"
TILE_TARGET_MS = 100.0
RATIO_TARGET = 20.0
DRILL_TARGET_S = 2.0

say = bc.say
Timer = bc.Timer
pct = bc.pct


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cases", type=int, default=10_000_000, help="total cases (default 10000000)")
    p.add_argument("--open", type=int, default=None, help="open cases (default: 10 %% of --cases)")
    p.add_argument("--reps", type=int, default=50, help="timed repetitions per tile query (default 50)")
    p.add_argument("--raw-reps", type=int, default=5, help="repetitions of each raw query (default 5)")
    p.add_argument("--pg-host", default=os.environ.get("BENCH_PG_HOST", "127.0.0.1"))
    p.add_argument("--pg-port", default=os.environ.get("BENCH_PG_PORT", "5432"))
    p.add_argument("--pg-user", default=os.environ.get("BENCH_PG_USER", "postgres"))
    p.add_argument("--pg-db", default=PG_DB, help=f"PostgreSQL database to (re)create (default {PG_DB})")
    p.add_argument("--keep", action="store_true", help="keep the bench database at the end")
    p.add_argument(
        "--seed-only",
        action="store_true",
        help="seed, load the facts, build the rollups and stop (implies --keep)",
    )
    p.add_argument(
        "--reuse", action="store_true", help="measure on the already-seeded --pg-db (kept unless --drop)"
    )
    p.add_argument("--rebuild-rollups", action="store_true", help="with --reuse: rebuild the rollups (timed)")
    p.add_argument("--drop", action="store_true", help="with --reuse: drop the database at the end")
    p.add_argument("--chunk", type=int, default=1_000_000, help="rows per INSERT … SELECT")
    p.add_argument("--seed", type=int, default=20260101)
    args = p.parse_args()
    if args.cases < 10_000:
        p.error("--cases: at least 10000")
    if args.open is None:
        args.open = args.cases // 10
    if args.seed_only and args.reuse:
        p.error("--seed-only and --reuse: one or the other")
    if args.rebuild_rollups and not args.reuse:
        p.error("--rebuild-rollups: only with --reuse (a fresh seed always builds them)")
    if args.seed_only:
        args.keep = True
    if args.reuse:
        args.keep = not args.drop
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", args.pg_db):
        p.error("--pg-db: lower-case letters, digits and underscores only")
    # what bench_cases' set-up and seed read
    args.db = "postgres"
    args.crossing = 0.015
    args.keep_indexes = False
    return args


# --- facts in bulk ----------------------------------------------------------------------------------------------

FACTS_SQL = """
INSERT INTO analytics_casefact (
    case_id, owner_path, region_path, region_id, owner_region_id, rollup_region_id, rollup_county_id,
    grid_id, reporter_user_id, lead_department_id, category_id, category_parent_id, kind, channel, urgency,
    state, created_date, created_at, accepted_at, declined_at, dispatched_at, acknowledged_at, resolved_at,
    replied_at, rated_at, archived_at, resolved_date, accept_due_at, dispatch_due_at, acknowledge_due_at,
    handle_due_at, reply_due_at, accept_on_time, dispatch_on_time, acknowledge_on_time, resolve_on_time,
    reply_on_time, accept_seconds, dispatch_seconds, acknowledge_seconds, resolve_seconds, reply_seconds,
    dispatch_count, return_count, extension_count, escalation_count, reopen_count, reminder_count,
    supervision_count, listed_supervision_count, rating, resolved_on_site, resolved_level,
    max_escalated_level, is_dispute, is_open, is_overdue, due_at, event_seq, refreshed_at)
SELECT x.*,
    x.f_accepted <= x.f_accept_due, x.f_dispatched <= x.f_dispatch_due, x.f_ack <= x.f_ack_due,
    x.f_resolved <= x.f_handle_due, x.f_replied <= x.f_reply_due,
    extract(epoch FROM x.f_accepted - x.f_created)::bigint, extract(epoch FROM x.f_dispatched - x.f_created)::bigint,
    extract(epoch FROM x.f_ack - x.f_created)::bigint, extract(epoch FROM x.f_resolved - x.f_created)::bigint,
    extract(epoch FROM x.f_replied - x.f_created)::bigint,
    y.dispatch_count, y.return_count, 0, y.escalation_count, y.reopen_count,
    coalesce(s.reminders, 0), coalesce(s.supervisions, 0), coalesce(s.listed, 0),
    y.rating, false, y.resolved_level, '', y.is_dispute, y.is_open, y.is_overdue, y.due_at, y.event_seq, %(now)s
FROM (
    SELECT c.id AS fid, c.owner_path, c.region_path, c.region_id, c.owner_region_id,
        CASE WHEN o.level = 'village' THEN o.parent_id ELSE o.id END,
        CASE WHEN o.level = 'village' THEN op.parent_id WHEN o.level = 'township' THEN o.parent_id ELSE o.id END,
        c.grid_id, c.reporter_user_id, c.lead_department_id, c.category_id, k.parent_id, c.kind, c.channel,
        c.urgency, c.state, (c.created_at AT TIME ZONE %(tz)s)::date,
        c.created_at AS f_created, c.accepted_at AS f_accepted,
        CASE WHEN c.state = 'declined' THEN c.created_at + interval '30 minutes' END,
        c.dispatched_at AS f_dispatched, c.acknowledged_at AS f_ack, c.resolved_at AS f_resolved,
        c.replied_at AS f_replied, c.rated_at, c.archived_at, (c.resolved_at AT TIME ZONE %(tz)s)::date,
        c.created_at + interval '1 hour' AS f_accept_due,
        c.accepted_at + CASE WHEN c.urgency = 'urgent' THEN interval '1 hour' ELSE interval '24 hours' END AS f_dispatch_due,
        c.dispatched_at + CASE WHEN c.urgency = 'urgent' THEN interval '1 hour' ELSE interval '24 hours' END AS f_ack_due,
        coalesce(c.handle_due_at, c.dispatched_at + CASE WHEN c.urgency = 'urgent' THEN interval '24 hours' ELSE interval '9 days' END) AS f_handle_due,
        c.resolved_at + interval '24 hours' AS f_reply_due
    FROM cases_case c
    JOIN orgs_region o ON o.id = c.owner_region_id
    LEFT JOIN orgs_region op ON op.id = o.parent_id
    LEFT JOIN cases_category k ON k.id = c.category_id
    WHERE c.id BETWEEN %(lo)s AND %(hi)s
) x
JOIN LATERAL (
    SELECT
        CASE WHEN c.dispatched_at IS NOT NULL THEN 1 + c.return_count ELSE c.return_count END AS dispatch_count,
        c.return_count, c.escalation_count, c.reopen_count,
        CASE WHEN c.rating IN ('satisfied', 'basically_satisfied', 'unsatisfied') THEN c.rating ELSE '' END AS rating,
        CASE WHEN c.resolved_at IS NOT NULL THEN o.level ELSE '' END AS resolved_level,
        c.kind = 'dispute' AS is_dispute,
        c.state IN ('reported', 'accepted', 'dispatched', 'handling', 'resolved', 'replied') AS is_open,
        c.state IN ('reported', 'accepted', 'dispatched', 'handling', 'resolved') AND c.due_at < %(now)s AS is_overdue,
        c.due_at, c.last_event_seq AS event_seq
    FROM cases_case c JOIN orgs_region o ON o.id = c.owner_region_id WHERE c.id = x.fid
) y ON true
LEFT JOIN LATERAL (
    SELECT count(*) FILTER (WHERE kind = 'reminder') AS reminders,
           count(*) FILTER (WHERE kind <> 'reminder') AS supervisions,
           count(*) FILTER (WHERE kind = 'listed') AS listed
    FROM cases_supervision WHERE case_id = x.fid
) s ON true
"""


def load_facts(args: argparse.Namespace, now: datetime) -> float:
    from django.conf import settings
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SET jit = off")
        cur.execute("SET synchronous_commit = off")
        cur.execute("SET maintenance_work_mem = '1GB'")
        cur.execute("SET work_mem = '256MB'")
        dropped = bc.capture_and_drop_indexes(cur, "postgresql", "analytics_casefact")
        cur.execute("SET session_replication_role = replica")
        with Timer(f"INSERT … SELECT facts: {args.cases:,}") as t:
            lo = 1
            while lo <= args.cases:
                hi = min(lo + args.chunk - 1, args.cases)
                cur.execute(FACTS_SQL, {"lo": lo, "hi": hi, "now": now, "tz": settings.TIME_ZONE})
                lo = hi + 1
        cur.execute("SET session_replication_role = origin")
        with Timer("fact indexes") as t_idx:
            bc.recreate_indexes(cur, dropped)
        cur.execute("VACUUM ANALYZE analytics_casefact")
    return t.seconds + t_idx.seconds


# --- timing helpers ---------------------------------------------------------------------------------------------


def timed(fn: Any, reps: int, warmup: int = 2) -> list[float]:
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


RAW_CASES_SQL = """
SELECT count(*), count(*) FILTER (WHERE state = 'declined'), count(accepted_at), count(dispatched_at),
       count(resolved_at), count(archived_at),
       count(*) FILTER (WHERE state IN ('reported', 'accepted', 'dispatched', 'handling', 'resolved', 'replied')),
       count(*) FILTER (WHERE state IN ('reported', 'accepted', 'dispatched', 'handling', 'resolved') AND due_at < %(now)s),
       count(*) FILTER (WHERE rating IN ('satisfied', 'basically_satisfied')),
       count(*) FILTER (WHERE rating IN ('satisfied', 'basically_satisfied', 'unsatisfied')),
       count(*) FILTER (WHERE return_count > 0), count(*) FILTER (WHERE reopen_count > 0),
       count(*) FILTER (WHERE open_supervisions > 0), count(*) FILTER (WHERE urgency = 'urgent'),
       sum(extract(epoch FROM resolved_at - created_at))
FROM cases_case WHERE owner_path >= %(lo)s AND owner_path < %(hi)s {period}
"""


def raw_cases(scope_path: str, start: Any, end: Any, now: datetime) -> Any:
    """The tile's figures counted on the raw case rows (the query a dashboard without rollups runs)."""
    from django.db import connection

    period = ""
    params: dict[str, Any] = {"lo": scope_path, "hi": scope_path + "\uffff", "now": now}
    if start is not None:
        period = "AND created_at >= %(start)s AND created_at < %(end)s"
        params["start"], params["end"] = start, end
    with connection.cursor() as cur:
        cur.execute(RAW_CASES_SQL.format(period=period), params)
        return cur.fetchone()


# --- one day of activity --------------------------------------------------------------------------------------


def seed_one_day(n: int, now: datetime) -> tuple[int, int]:
    """``n`` cases registered over the last 24 h with real timelines (report, accept, dispatch,
    acknowledge; half resolved), copied from seeded rows for their dimensions."""
    from django.db import connection
    from django.db.models import Max

    from zongzhi.cases.models import Case, CaseEvent

    rng = random.Random(7)
    top = Case.objects.aggregate(m=Max("pk"))["m"] or 0
    sources = list(
        Case.objects.filter(lead_department_id__isnull=False, state="handling").order_by("pk")[: n * 3]
    )
    rng.shuffle(sources)
    cases, events = [], []
    for i in range(n):
        src = sources[i % len(sources)]
        pk = top + 1 + i
        created = now - timedelta(seconds=rng.uniform(3 * 3600, 86_400))
        resolved = i % 2 == 0
        c = Case(**{f.attname: getattr(src, f.attname) for f in Case._meta.concrete_fields})
        c.pk = pk
        c.number = f"ZD{pk:012d}"[:20]
        c.tracking_digest = ""
        c.created_at = created
        c.accepted_at = created + timedelta(minutes=20)
        c.dispatched_at = created + timedelta(hours=1)
        c.acknowledged_at = created + timedelta(hours=2)
        c.resolved_at = created + timedelta(hours=3) if resolved else None
        c.replied_at = c.rated_at = c.archived_at = None
        c.rating = ""
        c.return_count = c.reopen_count = c.escalation_count = 0
        c.state = "resolved" if resolved else "handling"
        c.stage = "reply" if resolved else "handle"
        c.handle_due_at = created + timedelta(days=9)
        c.stage_started_at = c.resolved_at or c.acknowledged_at
        c.due_at = c.stage_started_at + (timedelta(hours=24) if resolved else timedelta(days=9))
        c.sla_level = 0
        c.open_supervisions = 0
        c.updated_at = c.stage_started_at
        steps = [
            ("report", created, "reported", "reported", {}),
            ("accept", c.accepted_at, "reported", "accepted", {}),
            (
                "dispatch",
                c.dispatched_at,
                "accepted",
                "dispatched",
                {"lead": {"id": c.lead_department_id}, "handle_due_at": c.handle_due_at.isoformat()},
            ),
            ("acknowledge", c.acknowledged_at, "dispatched", "handling", {}),
        ]
        if resolved:
            steps.append(("resolve", c.resolved_at, "handling", "resolved", {}))
        c.last_event_seq = len(steps)
        cases.append(c)
        for seq, (action, at, frm, to, data) in enumerate(steps, start=1):
            events.append(
                CaseEvent(
                    case_id=pk,
                    seq=seq,
                    action=action,
                    at=at,
                    from_state=frm,
                    to_state=to,
                    data=data,
                    region_path=c.region_path,
                )
            )
    Case.objects.bulk_create(cases, batch_size=2000)
    CaseEvent.objects.bulk_create(events, batch_size=5000)
    with connection.cursor() as cur:
        cur.execute("SELECT setval(pg_get_serial_sequence('cases_case', 'id'), %s)", [top + n])
        cur.execute("ANALYZE cases_caseevent")
    return len(cases), len(events)


# --- main --------------------------------------------------------------------------------------------------------


def open_existing(args: argparse.Namespace) -> None:
    """Point Django at the already-seeded ``--pg-db`` (as ``bench_cases.setup_database`` does for a
    fresh one, without dropping anything) and apply any migrations the code has and it lacks."""
    import psycopg

    try:
        psycopg.connect(
            host=args.pg_host, port=args.pg_port, user=args.pg_user, dbname=args.pg_db, connect_timeout=5
        ).close()
    except psycopg.OperationalError as exc:
        raise SystemExit(
            f"--reuse: cannot open database {args.pg_db!r} ({exc}); seed it with --seed-only"
        ) from exc
    os.environ["DATABASE_URL"] = f"postgres://{args.pg_user}@{args.pg_host}:{args.pg_port}/{args.pg_db}"
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.base"
    os.environ["DJANGO_DEBUG"] = "false"
    os.environ["HUEY_IMMEDIATE"] = "true"
    os.environ.pop("REDIS_URL", None)
    os.environ.setdefault("DB_CONN_MAX_AGE", "600")
    import django

    django.setup()
    from django.core.management import call_command

    with Timer("migrate (reused database)"):
        call_command("migrate", verbosity=0, interactive=False)


def rebuild_rollups() -> tuple[int, float]:
    from django.db import connection

    from zongzhi.analytics import rollups

    with Timer("rollups_rebuild (day and month cells)") as t_roll:
        cells = rollups.rollups_rebuild(days_per_batch=14)
    with connection.cursor() as cur:
        cur.execute("VACUUM ANALYZE analytics_rollup")
        cur.execute("VACUUM ANALYZE analytics_rollupmonth")
    return cells, t_roll.seconds


def main(args: argparse.Namespace) -> None:
    t_start = time.perf_counter()
    if args.reuse:
        say(f"bench_analytics: PostgreSQL, reusing database {args.pg_db}, {os.cpu_count()} CPUs")
        open_existing(args)
    else:
        say(
            f"bench_analytics: PostgreSQL, --cases {args.cases:,} --open {args.open:,}, {os.cpu_count()} CPUs"
        )
        bc.setup_database(args)
    from django.db import connection
    from django.db.models import Max
    from django.utils import timezone

    from zongzhi.analytics import rollups, selectors
    from zongzhi.analytics.facts import STATE_NAME
    from zongzhi.analytics.models import CaseFact, RefreshState, Rollup, RollupMonth
    from zongzhi.cases.models import OPEN_STATES, Case, CaseEvent
    from zongzhi.orgs.models import Region

    now = timezone.now().replace(microsecond=0)
    facts_s = roll_s = float("nan")
    cells = -1
    if args.reuse:
        args.cases = Case.objects.count()
        args.open = Case.objects.filter(state__in=OPEN_STATES).count()
        if args.rebuild_rollups:
            cells, roll_s = rebuild_rollups()
    else:
        case_columns = [f.column for f in Case._meta.concrete_fields]
        with Timer("org, users, catalogue"):
            org = bc.build_org()
        bc.pg_seed(args, org, now, case_columns)
        facts_s = load_facts(args, now)
        RefreshState.objects.update_or_create(
            name=STATE_NAME,
            defaults={
                "last_event_id": CaseEvent.objects.aggregate(m=Max("pk"))["m"] or 0,
                "refreshed_at": now,
            },
        )
        cells, roll_s = rebuild_rollups()
    if cells < 0:
        cells = Rollup.objects.count()
    month_cells = RollupMonth.objects.count()
    with connection.cursor() as cur:
        cur.execute(
            "SELECT pg_size_pretty(pg_total_relation_size('cases_case')), "
            "pg_size_pretty(pg_total_relation_size('analytics_casefact')), "
            "pg_size_pretty(pg_total_relation_size('analytics_rollup')), "
            "pg_size_pretty(pg_total_relation_size('analytics_rollupmonth'))"
        )
        size_cases, size_facts, size_rollup, size_month = cur.fetchone()
    n_facts = CaseFact.objects.count()
    say(
        f"    {n_facts:,} facts, {cells:,} day cells, {month_cells:,} month cells; sizes: cases {size_cases}, "
        f"facts {size_facts}, rollups {size_rollup} + {size_month}"
    )
    if args.seed_only:
        say(f"seeded in {time.perf_counter() - t_start:.0f} s; measure with --reuse --pg-db {args.pg_db}")
        return

    # --- tiles -------------------------------------------------------------------------------------------------
    city = Region.objects.get(level="city")
    county = Region.objects.filter(level="county").order_by("path").first()
    township = Region.objects.filter(level="township", parent=county).order_by("path").first()
    assert county is not None and township is not None
    today = timezone.localdate()
    periods = {
        "30 days": selectors.Period.last_days(30, today),
        "this month": selectors.month_period(today),
        "365 days": selectors.Period.last_days(365, today),
        "all time": selectors.ALL_TIME,
    }
    depth = {"city": 1, "county": 2, "township": 3}
    rows = []
    tile_all: list[float] = []
    for label, region in (("city", city), ("county", county), ("township", township)):
        scope = selectors.Scope(roots=(region.path,), depths=(depth[label],), region=region)
        assert scope.rollup_ok("township")
        for pname, period in periods.items():
            t_roll_ms = timed(lambda s=scope, p=period: selectors.totals(s, p), args.reps)
            t_fact_ms = timed(
                lambda s=scope, p=period: selectors._facts_grouped(s, p, None), args.raw_reps, warmup=1
            )
            start = end = None
            if period.start is not None:
                tz = timezone.get_current_timezone()
                start = datetime.combine(period.start, datetime.min.time(), tz)
                end = datetime.combine(period.end + timedelta(days=1), datetime.min.time(), tz)
            t_raw_ms = timed(
                lambda r=region, a=start, b=end: raw_cases(r.path, a, b, now), args.raw_reps, warmup=1
            )
            # the same figure both ways
            v = selectors.totals(scope, period)
            raw = raw_cases(region.path, start, end, now)
            fv = selectors._facts_grouped(scope, period, None)[None]
            agree = v["reported"] == raw[0] == fv["reported"] and v["resolved"] == raw[4] == fv["resolved"]
            tile_all += t_roll_ms
            rows.append(
                {
                    "scope": label,
                    "period": pname,
                    "p50": statistics.median(t_roll_ms),
                    "p95": pct(t_roll_ms, 0.95),
                    "raw": statistics.median(t_raw_ms),
                    "facts": statistics.median(t_fact_ms),
                    "reported": v["reported"],
                    "agree": agree,
                }
            )
            r = rows[-1]
            say(
                f"    tile {label:<8} {pname:<10} rollups p50 {r['p50']:7.2f} ms p95 {r['p95']:7.2f} ms | "
                f"raw cases p50 {r['raw']:8.1f} ms | facts p50 {r['facts']:8.1f} ms | reported {r['reported']:,} "
                f"{'=' if agree else '≠ MISMATCH'}"
            )
    # the other dashboard queries on the rollups (series, breakdowns)
    scope = selectors.Scope(roots=(city.path,), depths=(1,), region=city)
    p30 = periods["30 days"]
    p365 = periods["365 days"]
    other = {
        "series by day (city, 30 days)": lambda: selectors.series(scope, p30, ["reported", "resolved_flow"]),
        "by category (city, 30 days)": lambda: selectors.by_dim(scope, p30, "category"),
        "by channel (city, 30 days)": lambda: selectors.by_dim(scope, p30, "channel"),
        "by department (city, 30 days)": lambda: selectors.by_dim(scope, p30, "department"),
        "by region (city, 30 days)": lambda: selectors.by_region(scope, p30),
        "series by month (city, 365 days)": lambda: selectors.series(scope, p365, ["reported"], "month"),
        "by category (city, 365 days)": lambda: selectors.by_dim(scope, p365, "category"),
        "by department (city, 365 days)": lambda: selectors.by_dim(scope, p365, "department"),
        "by region (city, 365 days)": lambda: selectors.by_region(scope, p365),
    }
    other_ms = {}
    for name, fn in other.items():
        ms = timed(fn, max(10, args.reps // 2))
        other_ms[name] = pct(ms, 0.95)
        tile_all += ms
        say(f"    {name:<34} p95 {other_ms[name]:7.2f} ms")

    # --- one day of activity, refreshed incrementally ----------------------------------------------------------
    n_day = max(args.cases // 730, 100)
    two_days = selectors.Period(today - timedelta(days=1), today)
    city_scope = selectors.Scope(roots=(city.path,), depths=(1,))
    before = selectors.totals(city_scope, two_days)["reported"]
    with Timer(f"one day of activity: {n_day:,} cases with timelines") as _t:
        n_cases, n_events = seed_one_day(n_day, now)
    t0 = time.perf_counter()
    result = rollups.analytics_refresh(now=now)
    refresh_s = time.perf_counter() - t0
    visible = selectors.totals(city_scope, two_days)["reported"] - before
    t0 = time.perf_counter()
    idle = rollups.analytics_refresh(now=now)
    idle_s = time.perf_counter() - t0
    say(
        f"    refresh: {result['facts']:,} facts, {result['slices']:,} slices in {refresh_s:.2f} s; "
        f"nothing new: {idle_s * 1000:.0f} ms ({idle['facts']} facts)"
    )

    # --- drill-downs -----------------------------------------------------------------------------------------------
    drills = []
    for label, region in (("city", city), ("county", county)):
        scope = selectors.Scope(roots=(region.path,), depths=(depth[label],), region=region)
        for pname in ("30 days", "365 days"):
            for measure in ("reported", "overdue", "unsatisfied"):
                period = periods[pname]

                # what the drill page and the API do: the number (the rollups' figure, as on the
                # tile) and the first page of 50 with their cases (selectors.drill_page)
                def run(s: Any = scope, p: Any = period, m: str = measure) -> int:
                    total = selectors.drill_number(s, p, m)
                    page = selectors.drill_page(s, p, m, limit=50)
                    assert len(page) == min(50, total), (len(page), total)
                    return total

                ms = timed(run, 3, warmup=1)
                total = run()
                # the number agrees with the facts behind it
                assert total == selectors.drill_total(selectors.drill(scope, period, measure), measure)
                drills.append((label, pname, measure, max(ms), total))
                say(
                    f"    drill {label:<6} {pname:<9} {measure:<12} {total:>9,} cases, number + page of 50: max {max(ms):7.1f} ms"
                )

    # --- summary ----------------------------------------------------------------------------------------------------
    worst_tile = max(rows, key=lambda r: r["p95"])
    worst_other = max(other_ms, key=lambda k: other_ms[k])
    tile_p95 = max(worst_tile["p95"], other_ms[worst_other])
    worst_name = (
        f"{worst_tile['scope']} {worst_tile['period']}"
        if worst_tile["p95"] >= other_ms[worst_other]
        else worst_other
    )
    overall_p95 = pct(tile_all, 0.95)
    ratios = [r["raw"] / r["p50"] for r in rows if r["p50"] > 0]
    ratios_f = [r["facts"] / r["p50"] for r in rows if r["p50"] > 0]
    lowest = min((r for r in rows if r["p50"] > 0), key=lambda r: r["raw"] / r["p50"])
    drill_max = max(d[3] for d in drills) / 1000
    say("")
    say("=" * 100)
    say(
        f"SUMMARY bench_analytics — PostgreSQL, {args.cases:,} cases ({args.open:,} open), {os.cpu_count()} CPUs"
    )
    for line in bc.SUMMARY:
        say(f"  {line}")
    say(
        f"  facts: {n_facts:,} (bulk load {facts_s:.1f} s); rollups_rebuild: {cells:,} day cells, "
        f"{month_cells:,} month cells ({'not rebuilt in this run' if math.isnan(roll_s) else f'{roll_s:.1f} s'})"
    )
    say(
        f"  sizes: cases_case {size_cases}, analytics_casefact {size_facts}, analytics_rollup {size_rollup}, "
        f"analytics_rollupmonth {size_month}"
    )
    say(
        f"  dashboard tile queries p95 {overall_p95:.1f} ms over {len(tile_all):,} timed queries "
        f"(worst query p95 {tile_p95:.1f} ms: {worst_name}; target ≤ {TILE_TARGET_MS:.0f} ms for every one: "
        f"{'OK' if tile_p95 <= TILE_TARGET_MS else 'MISSED'})"
    )
    say(
        f"  rollup path vs raw query on cases_case (same figures, p50 ratio): median {statistics.median(ratios):.0f}× "
        f"(target ≥ {RATIO_TARGET:.0f}×: {'OK' if statistics.median(ratios) >= RATIO_TARGET else 'MISSED'}), "
        f"min {min(ratios):.1f}× ({lowest['scope']} {lowest['period']}: {lowest['p50']:.2f} ms vs {lowest['raw']:.1f} ms; "
        f"{sum(x >= RATIO_TARGET for x in ratios)} of {len(ratios)} ≥ {RATIO_TARGET:.0f}×); "
        f"vs the fact table: min {min(ratios_f):.0f}×, "
        f"median {statistics.median(ratios_f):.0f}×; figures agree: {'yes' if all(r['agree'] for r in rows) else 'NO'}"
    )
    say(
        f"  incremental refresh of one day ({n_cases:,} cases, {n_events:,} timeline rows): {refresh_s:.2f} s "
        f"({result['facts']:,} facts, {result['slices']:,} rollup slices); new cases visible in the city's "
        f"tiles afterwards: {visible:,} of {n_cases:,}; idle refresh {idle_s * 1000:.0f} ms"
    )
    say(
        f"  drill-down on raw cases (count + first page): max {drill_max:.2f} s (target ≤ {DRILL_TARGET_S:.0f} s: "
        f"{'OK' if drill_max <= DRILL_TARGET_S else 'MISSED'})"
    )
    say(f"  total wall time {time.perf_counter() - t_start:.0f} s")
    say("=" * 100)


if __name__ == "__main__":
    _args = parse_args()
    try:
        main(_args)
    finally:
        try:
            bc.teardown_database(_args)
        except Exception as exc:
            print(f"teardown failed: {exc}", file=sys.stderr)
