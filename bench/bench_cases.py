#!/usr/bin/env python
"""Benchmark: the operator queues and the deadline sweep stay index-backed at scale.

Issue: "Queries for 'overdue', 'due soon', 'my queue' stay index-backed at 10 million cases".
Targets (2-core machine): operator queue p95 < 50 ms, sweep < 5 s at 1M open cases; each figure is
also printed as a ratio against a bare indexed SELECT of the same rows run side by side.

    .venv/bin/python bench/bench_cases.py --db postgres --cases 10000000 --open 1000000
    .venv/bin/python bench/bench_cases.py --db sqlite --cases 1000000 --open 1000000
    .venv/bin/python bench/bench_cases.py --db postgres --cases 200000 --open 50000   # quick check

It uses a dedicated fresh database (PostgreSQL ``zongzhi_bench_cases``, dropped and recreated; SQLite
``var/bench/cases.sqlite3``, removed first), migrates it, builds a city of 10 counties × 10 townships
× 10 villages with centers, departments and users, loads the default catalogue, seeds the cases in
bulk (PostgreSQL: ``INSERT … SELECT … FROM generate_series``; SQLite: ``executemany`` in one
transaction), with the model's secondary indexes dropped during the load and recreated from their
exact captured definitions afterwards, then measures. The database is dropped at the end unless
``--keep`` is given.

Seeded data (all derived from ``now``, the sweep's clock, fixed at start-up):
- closed cases (``--cases`` − ``--open``): 95 % archived, 5 % declined, created over two years;
  10 % of the archived ones carry a replied historic supervision notice;
- open cases: reported 5 %, accepted 10 %, dispatched 10 %, handling 55 %, resolved 10 %,
  replied 10 %, created in the last weeks, the stage clock consistent with the stage (accept 1 h,
  dispatch/acknowledge 24 h or urgent 1 h, handle 9 days or urgent 24 h, reply 24 h, rating window
  7 days), thresholds (remind at 80 %, listed 72 h after due) and ``sla_level``/``next_sla_at``
  consistent with what the sweep has raised before; ``--crossing`` (default 1.5 %) of them cross a
  threshold in the ten minutes before ``now`` (the work of the sweep), 8 % are already overdue,
  10 % already due soon, the rest in time. Open cases at level ≥ 1 carry their earlier notices.
- one lead ``CaseAssignment`` per case with a lead department (department handlers see cases
  through them).
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
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from hashlib import md5
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PG_DB = "zongzhi_bench_cases"
SQLITE_FILE = ROOT / "var" / "bench" / "cases.sqlite3"

# Case.open_supervisions of the seeded cases: their unanswered 督办/挂牌 notices (as the migration
# that added the column counts them; the services keep it up to date afterwards).
OPEN_SUPERVISIONS_SQL = """
UPDATE cases_case SET open_supervisions = s.n
FROM (
    SELECT case_id, COUNT(*) AS n FROM cases_supervision
    WHERE replied_at IS NULL AND kind <> 'reminder' GROUP BY case_id
) AS s
WHERE cases_case.id = s.case_id
"""

QUEUE_TARGET_MS = 50.0
SWEEP_TARGET_S = 5.0

# --- the seeded distribution (shared by the PostgreSQL SQL and the SQLite generator) ------------------------

OPEN_MIX = [
    ("reported", 0.05),
    ("accepted", 0.10),
    ("dispatched", 0.10),
    ("handling", 0.55),
    ("resolved", 0.10),
    ("replied", 0.10),
]
ARCHIVED_SHARE = 0.95  # of closed cases; the rest declined
STAGE_OF = {
    "reported": "accept",
    "accepted": "dispatch",
    "dispatched": "acknowledge",
    "handling": "handle",
    "resolved": "reply",
    "replied": "rate",
    "archived": "none",
    "declined": "none",
}
STAGE_SEQ = {"accept": 1, "dispatch": 2, "acknowledge": 3, "handle": 4, "reply": 5, "rate": 6}
# stage → (normal span h, urgent span h, normal policy, urgent policy)
SPAN = {
    "accept": (1, 1, "h:1", "h:1"),
    "dispatch": (24, 1, "h:24", "h:1"),
    "acknowledge": (24, 1, "h:24", "h:1"),
    "handle": (216, 24, "wd:7", "h:24"),
    "reply": (24, 24, "h:24", "h:24"),
    "rate": (168, 168, "h:168", "h:168"),
}
# hours from creation to the start of the stage (= the milestone that started it)
PRE_HOURS = {
    "accept": 0.0,
    "dispatch": 0.5,
    "acknowledge": 3.0,
    "handle": 10.0,
    "reply": 168.0,
    "rate": 192.0,
}
MILESTONE_H = {
    "accepted_at": 0.5,
    "dispatched_at": 3.0,
    "acknowledged_at": 10.0,
    "resolved_at": 168.0,
    "replied_at": 192.0,
}
MILESTONE_FROM = {  # first stage at which the milestone is set
    "accepted_at": "dispatch",
    "dispatched_at": "acknowledge",
    "acknowledged_at": "handle",
    "resolved_at": "reply",
    "replied_at": "rate",
}
STAGE_ORDER = ["accept", "dispatch", "acknowledge", "handle", "reply", "rate"]
URGENT_SHARE = 0.05
OVER_SHARE = 0.08  # already overdue (level 2: 60 %, level 3: 40 %)
SOON_SHARE = 0.10  # already due soon (level 1)
CROSS_LEVELS = [(0, 0.50), (1, 0.35), (2, 0.15)]  # the level a crossing case has before the sweep
CROSS_WINDOW_MIN = 10
OWNER_TOWNSHIP_SHARE = 0.75
DEPT_TOWNSHIP_SHARE = 0.40
COUNTY_DEPT_KINDS = [
    ("urban_management", "城市管理局"),
    ("public_security", "公安局"),
    ("justice", "司法局"),
    ("housing", "住房和城乡建设局"),
    ("market", "市场监督管理局"),
    ("environment", "生态环境分局"),
    ("human_resources", "人力资源和社会保障局"),
    ("civil_affairs", "民政局"),
]
TITLES = [
    "噪音扰民",
    "占道经营",
    "邻里纠纷",
    "违章搭建",
    "道路破损",
    "垃圾清运不及时",
    "拖欠工资",
    "物业纠纷",
]
KINDS = ["event", "appeal", "hazard", "dispute", "consultation", "complaint", "suggestion", "help"]
CHANNELS = ["walk_in", "hotline", "web", "wechat", "app", "patrol", "video", "upper"]
DESCRIPTION = (
    "群众反映该处长期存在问题，已多次向有关部门反映未果，影响周边居民正常生活，请尽快核实处理并答复。"
)
OPEN_STATES = ("reported", "accepted", "dispatched", "handling", "resolved", "replied")


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--db", choices=["postgres", "sqlite"], default="sqlite")
    p.add_argument("--cases", type=int, default=200_000, help="total cases (default 200000)")
    p.add_argument("--open", type=int, default=None, help="open cases (default: 10 %% of --cases)")
    p.add_argument(
        "--crossing", type=float, default=0.015, help="share of open cases crossing a threshold at now"
    )
    p.add_argument("--reps", type=int, default=200, help="timed repetitions per query (default 200)")
    p.add_argument("--warmup", type=int, default=20)
    p.add_argument(
        "--count-reps", type=int, default=None, help="repetitions of queue_counts (default --reps)"
    )
    p.add_argument("--pg-host", default=os.environ.get("BENCH_PG_HOST", "127.0.0.1"))
    p.add_argument("--pg-port", default=os.environ.get("BENCH_PG_PORT", "5432"))
    p.add_argument("--pg-user", default=os.environ.get("BENCH_PG_USER", "postgres"))
    p.add_argument("--pg-db", default=PG_DB, help=f"PostgreSQL database to (re)create (default {PG_DB})")
    p.add_argument("--keep", action="store_true", help="keep the bench database at the end")
    p.add_argument("--keep-indexes", action="store_true", help="insert with the secondary indexes in place")
    p.add_argument("--chunk", type=int, default=1_000_000, help="rows per INSERT … SELECT (PostgreSQL)")
    p.add_argument("--seed", type=int, default=20260101)
    p.add_argument(
        "--profile-sweep", action="store_true", help="print a cProfile of the first sweep (slows it down)"
    )
    args = p.parse_args()
    if args.open is None:
        args.open = args.cases // 10
    if not 0 <= args.open <= args.cases:
        p.error("--open must be between 0 and --cases")
    args.count_reps = args.count_reps or args.reps
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", args.pg_db):
        p.error("--pg-db: lower-case letters, digits and underscores only")
    return args


# --- output ---------------------------------------------------------------------------------------------------

SUMMARY: list[str] = []


def say(msg: str = "") -> None:
    print(msg, flush=True)


def summary(line: str) -> None:
    SUMMARY.append(line)


class Timer:
    def __init__(self, label: str) -> None:
        self.label = label

    def __enter__(self) -> Timer:
        self.t0 = time.perf_counter()
        say(f"... {self.label}")
        return self

    def __exit__(self, *exc: Any) -> None:
        self.seconds = time.perf_counter() - self.t0
        say(f"    {self.label}: {self.seconds:.1f} s")


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    if not s:
        return float("nan")
    k = (len(s) - 1) * q
    lo, hi = math.floor(k), math.ceil(k)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


# --- database set-up --------------------------------------------------------------------------------------------


def pg_admin(args: argparse.Namespace, sql: str) -> None:
    import psycopg

    with psycopg.connect(
        host=args.pg_host, port=args.pg_port, user=args.pg_user, dbname="postgres", autocommit=True
    ) as conn:
        conn.execute(sql)


def setup_database(args: argparse.Namespace) -> None:
    if args.db == "postgres":
        pg_admin(args, f'DROP DATABASE IF EXISTS "{args.pg_db}" WITH (FORCE)')
        pg_admin(
            args,
            f"CREATE DATABASE \"{args.pg_db}\" TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'",
        )
        os.environ["DATABASE_URL"] = f"postgres://{args.pg_user}@{args.pg_host}:{args.pg_port}/{args.pg_db}"
    else:
        SQLITE_FILE.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{SQLITE_FILE}{suffix}").unlink(missing_ok=True)
        os.environ["DATABASE_URL"] = f"sqlite:///{SQLITE_FILE}"
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.base"
    os.environ["DJANGO_DEBUG"] = "false"  # no query log: it would cost time and memory
    os.environ["HUEY_IMMEDIATE"] = "true"  # in-memory huey storage; nothing is enqueued anyway
    os.environ.pop("REDIS_URL", None)
    os.environ.setdefault("DB_CONN_MAX_AGE", "600")
    import django

    django.setup()
    from django.core.management import call_command

    with Timer("migrate"):
        call_command("migrate", verbosity=0, interactive=False)


def teardown_database(args: argparse.Namespace) -> None:
    from django.conf import settings

    if settings.configured:
        from django.db import connections

        connections.close_all()
    if args.keep:
        say(f"database kept ({args.pg_db if args.db == 'postgres' else SQLITE_FILE})")
        return
    if args.db == "postgres":
        pg_admin(args, f'DROP DATABASE IF EXISTS "{args.pg_db}" WITH (FORCE)')
        say(f"dropped PostgreSQL database {args.pg_db}")
    else:
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{SQLITE_FILE}{suffix}").unlink(missing_ok=True)
        say(f"removed {SQLITE_FILE}")


# --- the organisation -------------------------------------------------------------------------------------------


class Org:
    villages: list[
        dict[str, Any]
    ]  # idx, id, path, township id/path/idx, county id/path/idx, township gov dept
    county_depts: dict[tuple[int, int], int]  # (county_idx, k) → department id
    leaf_categories: list[int]
    operator_id: int
    handler_id: int
    handler_department_id: int
    county_path: str


def build_org() -> Org:
    from django.contrib.auth.hashers import make_password

    from zongzhi.cases.models import Category
    from zongzhi.cases.services import catalogue_load_defaults
    from zongzhi.orgs import services as org_services
    from zongzhi.orgs.models import Center, CenterKind, Department, Region, RegionLevel, RoleGrant, User
    from zongzhi.orgs.paths import child_path
    from zongzhi.orgs.roles import Role

    def region(parent: Region | None, short: str, name: str, level: str) -> Region:
        code = short.ljust(12, "0")
        return Region(
            code=code,
            name=name,
            level=level,
            parent=parent,
            path=child_path(parent.path if parent else "", code),
        )

    province = region(None, "33", "浙江省", RegionLevel.PROVINCE)
    province.save()
    city = region(province, "3301", "杭州市", RegionLevel.CITY)
    city.save()
    counties = Region.objects.bulk_create(
        [region(city, f"3301{c:02d}", f"第{c}区", RegionLevel.COUNTY) for c in range(1, 11)]
    )
    townships = Region.objects.bulk_create(
        [
            region(county, f"{county.code[:6]}{t:03d}", f"{county.name}第{t}街道", RegionLevel.TOWNSHIP)
            for county in counties
            for t in range(1, 11)
        ]
    )
    villages = Region.objects.bulk_create(
        [
            region(ts, f"{ts.code[:9]}{v:03d}", f"{ts.name}第{v}社区", RegionLevel.VILLAGE)
            for ts in townships
            for v in range(1, 11)
        ]
    )
    Center.objects.bulk_create(
        [
            Center(
                region=r,
                name=f"{r.name}综治中心" if r.level != RegionLevel.VILLAGE else f"{r.name}综治工作站",
                kind=CenterKind.CENTER if r.level != RegionLevel.VILLAGE else CenterKind.WORK_STATION,
                region_path=r.path,
            )
            for r in [city, *counties, *townships, *villages]
        ]
    )
    county_depts: dict[tuple[int, int], int] = {}
    depts = Department.objects.bulk_create(
        [
            Department(region=county, region_path=county.path, name=f"{county.name}{label}", kind=kind)
            for county in counties
            for kind, label in COUNTY_DEPT_KINDS
        ]
        + [
            Department(region=ts, region_path=ts.path, name=f"{ts.name}办事处", kind="government")
            for ts in townships
        ]
    )
    for ci in range(len(counties)):
        for k in range(len(COUNTY_DEPT_KINDS)):
            county_depts[(ci, k)] = depts[ci * len(COUNTY_DEPT_KINDS) + k].pk
    township_gov = {
        ts.pk: d.pk for ts, d in zip(townships, depts[len(counties) * len(COUNTY_DEPT_KINDS) :], strict=True)
    }

    # Staff: an operator in every county and township center, a handler in every department (they
    # are the recipients of the sweep's notices). Bulk-created with one shared password hash.
    pw = make_password("Bench-Pass-2026!")
    users = [
        User(username=f"op_{r.code}", display_name=f"{r.name}坐席", password=pw)
        for r in [*counties, *townships]
    ]
    users += [
        User(username=f"dh_{d.pk}", display_name=f"{d.name}承办人", password=pw, department=d) for d in depts
    ]
    users = User.objects.bulk_create(users)
    grants = [
        RoleGrant(user=u, role=Role.CENTER_OPERATOR, region=r, region_path=r.path)
        for u, r in zip(users, [*counties, *townships], strict=False)
    ]
    n_centers = len(counties) + len(townships)
    grants += [
        RoleGrant(
            user=u, role=Role.DEPARTMENT_HANDLER, region=d.region, region_path=d.region_path, department=d
        )
        for u, d in zip(users[n_centers:], depts, strict=True)
    ]
    RoleGrant.objects.bulk_create(grants)

    # The two users whose queues are measured, through the real services.
    county = counties[0]
    handler_dept = depts[0]  # county 1's urban management bureau
    operator = org_services.user_create(
        actor=None, username="bench_operator", password="Bench-Pass-2026!", display_name="区中心坐席"
    )
    org_services.role_grant(actor=None, user=operator, role=Role.CENTER_OPERATOR, region=county)
    handler = org_services.user_create(
        actor=None,
        username="bench_handler",
        password="Bench-Pass-2026!",
        display_name="城管承办人",
        department=handler_dept,
    )
    org_services.role_grant(
        actor=None, user=handler, role=Role.DEPARTMENT_HANDLER, region=county, department=handler_dept
    )

    catalogue_load_defaults(actor=None)

    org = Org()
    county_idx = {c.pk: i for i, c in enumerate(counties)}
    ts_by_id = {t.pk: t for t in townships}
    org.villages = []
    for i, v in enumerate(villages):
        ts = ts_by_id[v.parent_id]
        co = counties[county_idx[ts.parent_id]]
        org.villages.append(
            {
                "idx": i,
                "id": v.pk,
                "path": v.path,
                "tid": ts.pk,
                "tpath": ts.path,
                "cid": co.pk,
                "cpath": co.path,
                "cidx": county_idx[co.pk],
                "tgov": township_gov[ts.pk],
            }
        )
    org.county_depts = county_depts
    org.leaf_categories = list(
        Category.objects.filter(parent__isnull=False).order_by("code").values_list("pk", flat=True)
    )
    org.operator_id = operator.pk
    org.handler_id = handler.pk
    org.handler_department_id = handler_dept.pk
    org.county_path = county.path
    say(
        f"    org: {Region.objects.count()} regions, {Center.objects.count()} centers, "
        f"{Department.objects.count()} departments, {User.objects.count()} users, "
        f"{Category.objects.count()} categories ({len(org.leaf_categories)} leaves)"
    )
    return org


# --- index handling around the bulk load -------------------------------------------------------------------------


def capture_and_drop_indexes(cursor: Any, vendor: str, table: str) -> list[tuple[str, str]]:
    """Drop the table's secondary indexes (and unique constraints), returning the exact statements
    that recreate them."""
    recreate: list[tuple[str, str]] = []
    if vendor == "postgresql":
        cursor.execute(
            """SELECT con.conname, pg_get_constraintdef(con.oid), con.conindid::regclass::text
               FROM pg_constraint con WHERE con.conrelid = %s::regclass AND con.contype = 'u'""",
            [table],
        )
        constraint_indexes = set()
        for name, definition, index_name in cursor.fetchall():
            constraint_indexes.add(index_name)
            recreate.append((name, f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition}'))
            cursor.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"')
        cursor.execute(
            """SELECT i.indexname, i.indexdef FROM pg_indexes i
               WHERE i.tablename = %s AND i.indexname NOT IN (
                   SELECT conindid::regclass::text FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'p')""",
            [table, table],
        )
        for name, definition in cursor.fetchall():
            if name in constraint_indexes:
                continue
            recreate.append((name, definition))
            cursor.execute(f'DROP INDEX "{name}"')
    else:
        cursor.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = %s AND sql IS NOT NULL",
            [table],
        )
        for name, definition in cursor.fetchall():
            recreate.append((name, definition))
            cursor.execute(f'DROP INDEX "{name}"')
    return recreate


def index_signature(cursor: Any, vendor: str, table: str) -> list[str]:
    if vendor == "postgresql":
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE tablename = %s ORDER BY indexname", [table])
    else:
        cursor.execute(
            "SELECT coalesce(sql, name) FROM sqlite_master WHERE type = 'index' AND tbl_name = %s ORDER BY name",
            [table],
        )
    # normalised: a re-created partial index deparses its predicate with different casts and parentheses
    return [re.sub(r"::[a-z ]+(\[\])?|[()]", "", r[0]) for r in cursor.fetchall()]


def recreate_indexes(cursor: Any, statements: list[tuple[str, str]]) -> None:
    for _name, sql in statements:
        cursor.execute(sql)


# --- seeding: PostgreSQL -----------------------------------------------------------------------------------------


def _case_when(pairs: list[tuple[str, str]], else_: str = "NULL") -> str:
    return "CASE " + " ".join(f"WHEN {c} THEN {v}" for c, v in pairs) + f" ELSE {else_} END"


def _lit(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


# Region paths from a village's index (0-based, in the order build_org creates them: county-major,
# 10 townships per county, 10 villages per township); checked against the real rows before the load.
_CC = "lpad(({i} / 100 + 1)::text, 2, '0')"
_TT = "lpad((mod({i} / 10, 10) + 1)::text, 3, '0')"
_VV = "lpad((mod({i}, 10) + 1)::text, 3, '0')"
COUNTY_PATH_SQL = "(%(city_path)s || %(city4)s || " + _CC + " || '000000/')"
TOWNSHIP_PATH_SQL = "(" + COUNTY_PATH_SQL + " || %(city4)s || " + _CC + " || " + _TT + " || '000/')"
VILLAGE_PATH_SQL = (
    "(" + TOWNSHIP_PATH_SQL + " || %(city4)s || " + _CC + " || " + _TT + " || " + _VV + " || '/')"
)


def pg_seed_cases_sql(case_columns: list[str]) -> str:
    """One INSERT … SELECT over generate_series(%(lo)s, %(hi)s). Parameters: lo, hi, closed (ids ≤
    closed are closed), now, crossing, remind, margin_h."""
    # state from r_state
    acc, open_pairs = 0.0, []
    for state, share in OPEN_MIX[:-1]:
        acc += share
        open_pairs.append((f"a.r_state < {acc:.6f}", _lit(state)))
    state_expr = (
        f"CASE WHEN a.is_open THEN {_case_when(open_pairs, _lit(OPEN_MIX[-1][0]))} "
        f"WHEN a.r_state < {ARCHIVED_SHARE} THEN 'archived' ELSE 'declined' END"
    )
    stage_expr = _case_when([(f"b.state = {_lit(s)}", _lit(st)) for s, st in STAGE_OF.items()])
    span_expr = _case_when(
        [
            (f"c.stage = {_lit(st)}", f"(CASE WHEN c.urgent THEN {u} ELSE {n} END) * interval '1 hour'")
            for st, (n, u, _p, _q) in SPAN.items()
        ],
        "interval '0'",
    )
    policy_expr = _case_when(
        [
            (f"c.stage = {_lit(st)}", f"CASE WHEN c.urgent THEN {_lit(q)} ELSE {_lit(p)} END")
            for st, (_n, _u, p, q) in SPAN.items()
        ],
        "''",
    )
    seq_expr = _case_when(
        [(f"c.stage = {_lit(st)}", str(n)) for st, n in STAGE_SEQ.items()] + [("c.state = 'archived'", "7")],
        "2",
    )
    pre_expr = _case_when(
        [(f"d.stage = {_lit(st)}", f"{h} * interval '1 hour'") for st, h in PRE_HOURS.items()], "interval '0'"
    )
    cross_lvl = _case_when([("c.r_lvl < 0.5", "0"), ("c.r_lvl < 0.85", "1")], "2")
    # bucket: cross / over / soon / ok (the rating window has no levels: cross / ok)
    bucket_expr = (
        "CASE WHEN NOT c.is_open THEN 'closed' "
        "WHEN c.r_bucket < %(crossing)s THEN 'cross' "
        "WHEN c.stage = 'rate' THEN 'ok' "
        f"WHEN c.r_bucket < %(crossing)s + {OVER_SHARE} THEN 'over' "
        f"WHEN c.r_bucket < %(crossing)s + {OVER_SHARE + SOON_SHARE} THEN 'soon' ELSE 'ok' END"
    )
    level_expr = (
        "CASE WHEN NOT c.is_open OR c.stage = 'rate' THEN 0 "
        "WHEN c.r_bucket < %(crossing)s THEN " + cross_lvl + " "
        f"WHEN c.r_bucket < %(crossing)s + {OVER_SHARE} THEN CASE WHEN c.r_lvl < 0.6 THEN 2 ELSE 3 END "
        f"WHEN c.r_bucket < %(crossing)s + {OVER_SHARE + SOON_SHARE} THEN 1 ELSE 0 END"
    )
    margin = "(%(margin_h)s * interval '1 hour')"
    tc = f"(%(now)s - c.r_t * interval '{CROSS_WINDOW_MIN} minutes')"
    start_expr = (
        "CASE "
        "WHEN NOT c.is_open THEN NULL "
        f"WHEN c.bucket = 'cross' AND c.stage = 'rate' THEN {tc} - c.span "
        f"WHEN c.bucket = 'cross' AND c.lvl = 0 THEN {tc} - c.span * %(remind)s "
        f"WHEN c.bucket = 'cross' AND c.lvl = 1 THEN {tc} - c.span "
        f"WHEN c.bucket = 'cross' THEN {tc} - c.span - {margin} "
        f"WHEN c.bucket = 'over' AND c.lvl = 2 THEN %(now)s - interval '10 minutes' - c.r_t * ({margin} - interval '20 minutes') - c.span "
        f"WHEN c.bucket = 'over' THEN %(now)s - interval '10 minutes' - c.r_t * interval '720 hours' - {margin} - c.span "
        "WHEN c.bucket = 'soon' THEN %(now)s - c.span * (%(remind)s + 0.01 + c.r_t * (0.98 - %(remind)s)) "
        "WHEN c.stage = 'rate' THEN %(now)s - c.span * 0.98 * c.r_t "
        "ELSE %(now)s - c.span * %(remind)s * 0.98 * c.r_t END"
    )
    closed_created = (
        "%(now)s - interval '730 days' + ((d.g - 1)::float8 / greatest(%(closed)s, 1)) * interval '690 days' "
        "+ d.r_t * interval '12 hours'"
    )
    milestone = {}
    for col, hours in MILESTONE_H.items():
        reached = STAGE_ORDER[STAGE_ORDER.index(MILESTONE_FROM[col]) :]
        cond = "e.stage IN (" + ", ".join(_lit(s) for s in reached) + ")"
        milestone[col] = (
            f"CASE WHEN e.state = 'archived' OR {cond} THEN e.created_at + {hours} * interval '1 hour' END"
        )
    # archived cases: resolved after 1–13.5 days, replied 5 h later, archived 3 days after the reply
    milestone["resolved_at"] = (
        "CASE WHEN e.state = 'archived' THEN e.created_at + (24 + e.r_v * 300) * interval '1 hour' "
        f"WHEN e.stage IN ('reply', 'rate') THEN e.created_at + {MILESTONE_H['resolved_at']} * interval '1 hour' END"
    )
    milestone["replied_at"] = (
        "CASE WHEN e.state = 'archived' THEN e.created_at + (29 + e.r_v * 300) * interval '1 hour' "
        f"WHEN e.stage = 'rate' THEN e.created_at + {MILESTONE_H['replied_at']} * interval '1 hour' END"
    )
    archived_at = (
        "CASE WHEN e.state = 'archived' THEN e.created_at + (101 + e.r_v * 300) * interval '1 hour' END"
    )
    rating = (
        "CASE WHEN e.state = 'archived' THEN "
        "CASE WHEN e.r_m2 < 0.70 THEN 'satisfied' WHEN e.r_m2 < 0.85 THEN 'basically_satisfied' "
        "WHEN e.r_m2 < 0.90 THEN 'unsatisfied' ELSE 'not_rated' END "
        "WHEN e.state = 'replied' AND e.r_m2 < 0.4 THEN 'satisfied' ELSE '' END"
    )
    needs_dept = "e.state IN ('dispatched', 'handling', 'resolved', 'replied', 'archived')"
    thresholds_open = "e.is_open AND e.stage <> 'rate'"
    titles = "ARRAY[" + ", ".join(_lit(t) for t in TITLES) + "]"
    kinds = "ARRAY[" + ", ".join(_lit(t) for t in KINDS) + "]"
    channels = "ARRAY[" + ", ".join(_lit(t) for t in CHANNELS) + "]"
    cols: dict[str, str] = {
        "id": "e.g",
        "number": "'ZZ' || to_char(e.created_at AT TIME ZONE 'Asia/Shanghai', 'YYYYMMDD') || lpad(e.g::text, 8, '0')",
        "tracking_digest": "md5(e.g::text) || md5((e.g + 7)::text)",
        "kind": f"({kinds})[1 + floor(e.r_kind * {len(KINDS)})::int]",
        "channel": f"({channels})[1 + floor(e.r_chan * {len(CHANNELS)})::int]",
        "title": f"({titles})[1 + floor(e.r_kind * {len(TITLES)})::int]",
        "description": f"{_lit(DESCRIPTION)} || '（' || e.g || '）'",
        "category_id": "(%(cat_ids)s::bigint[])[e.cat_idx + 1]",
        "urgency": "CASE WHEN e.urgent THEN 'urgent' ELSE 'normal' END",
        "is_anonymous": "e.r_m2 >= 0.9",
        "reporter_name_enc": "CASE WHEN e.r_m2 < 0.9 THEN 'k1:' || md5((e.g * 3)::text) ELSE '' END",
        "reporter_phone_enc": "CASE WHEN e.r_m2 < 0.9 THEN 'k1:' || md5((e.g * 5)::text) ELSE '' END",
        "reporter_phone_index": "CASE WHEN e.r_m2 < 0.9 THEN md5(mod(e.g, 700000)::text) || md5((mod(e.g, 700000) + 1)::text) ELSE '' END",
        "reporter_user_id": "NULL",
        "address": "'第' || (e.vil_idx / 100 + 1) || '区某路' || mod(e.g, 500) || '号'",
        "lon": "120.0 + e.r_reg * 0.6",
        "lat": "30.0 + e.r_own * 0.4",
        "grid_id": "NULL",
        "region_id": "(%(v_id)s::bigint[])[e.vil_idx + 1]",
        "region_path": VILLAGE_PATH_SQL.format(i="e.vil_idx"),
        "owner_region_id": f"CASE WHEN e.r_own < {OWNER_TOWNSHIP_SHARE} THEN (%(v_tid)s::bigint[])[e.vil_idx + 1] ELSE (%(v_cid)s::bigint[])[e.vil_idx + 1] END",
        "owner_path": f"CASE WHEN e.r_own < {OWNER_TOWNSHIP_SHARE} THEN {TOWNSHIP_PATH_SQL.format(i='e.vil_idx')} ELSE {COUNTY_PATH_SQL.format(i='e.vil_idx')} END",
        "external_ref": "''",
        "state": "e.state",
        "lead_department_id": f"CASE WHEN {needs_dept} THEN CASE WHEN e.r_dep < {DEPT_TOWNSHIP_SHARE} THEN (%(v_tgov)s::bigint[])[e.vil_idx + 1] "
        f"ELSE (%(dept_ids)s::bigint[])[(e.vil_idx / 100) * {len(COUNTY_DEPT_KINDS)} + least(e.dept_k, {len(COUNTY_DEPT_KINDS) - 1}) + 1] END END",
        "dispatch_rule_id": "NULL",
        "is_returned": "e.state = 'accepted' AND e.r_m3 < 0.05",
        "return_count": "CASE WHEN e.state = 'accepted' AND e.r_m3 < 0.05 THEN 1 ELSE 0 END",
        "reopen_count": "0",
        "escalation_count": "0",
        "extension_pending": "e.state = 'handling' AND e.r_m3 < 0.02",
        "extension_requested_until": "CASE WHEN e.state = 'handling' AND e.r_m3 < 0.02 THEN e.start + interval '20 days' END",
        "master_id": "NULL",
        "decline_reason": "CASE WHEN e.state = 'declined' THEN '不属于本中心受理范围' ELSE '' END",
        "result": "CASE WHEN e.state IN ('resolved', 'replied', 'archived') THEN '已按要求处理完毕。' ELSE '' END",
        "reply_text": "CASE WHEN e.state IN ('replied', 'archived') THEN '已电话答复反映人。' ELSE '' END",
        "rating": rating,
        "rating_comment": "''",
        "resolved_on_site": "false",
        "handle_due_at": "NULL",
        "last_event_seq": "e.seq + e.lvl",
        "stage": "e.stage",
        "stage_seq": "e.seq",
        "stage_started_at": f"CASE WHEN e.is_open THEN e.start WHEN e.state = 'archived' THEN {archived_at} ELSE e.created_at + interval '30 minutes' END",
        "stage_policy": "e.policy",
        "due_at": "CASE WHEN e.is_open THEN e.start + e.span END",
        "remind_at": f"CASE WHEN {thresholds_open} THEN e.start + e.span * %(remind)s WHEN e.is_open THEN e.start + e.span END",
        "list_at": f"CASE WHEN {thresholds_open} THEN e.start + e.span + {margin} WHEN e.is_open THEN e.start + e.span END",
        "due_overridden": "false",
        "sla_level": "e.lvl",
        "open_supervisions": "0",  # counted from the seeded notices afterwards (OPEN_SUPERVISIONS_SQL)
        "next_sla_at": (
            f"CASE WHEN e.is_open AND e.stage = 'rate' THEN e.start + e.span "
            f"WHEN {thresholds_open} THEN CASE e.lvl WHEN 0 THEN e.start + e.span * %(remind)s "
            f"WHEN 1 THEN e.start + e.span WHEN 2 THEN e.start + e.span + {margin} END END"
        ),
        "created_at": "e.created_at",
        "accepted_at": milestone["accepted_at"],
        "dispatched_at": milestone["dispatched_at"],
        "acknowledged_at": milestone["acknowledged_at"],
        "resolved_at": milestone["resolved_at"],
        "replied_at": milestone["replied_at"],
        "rated_at": "CASE WHEN e.state = 'archived' AND e.r_m2 < 0.9 THEN e.created_at + (53 + e.r_v * 300) * interval '1 hour' "
        "WHEN e.state = 'replied' AND e.r_m2 < 0.4 THEN e.start + interval '1 hour' END",
        "archived_at": archived_at,
        "updated_at": f"CASE WHEN e.is_open THEN e.start WHEN e.state = 'archived' THEN {archived_at} ELSE e.created_at + interval '30 minutes' END",
    }
    missing = set(case_columns) - set(cols)
    extra = set(cols) - set(case_columns)
    if missing or extra:
        raise SystemExit(
            f"seed SQL out of date with the Case model: missing {sorted(missing)}, unknown {sorted(extra)}"
        )
    n_cat, n_vil = "%(n_cat)s", "%(n_vil)s"
    n_depts = len(COUNTY_DEPT_KINDS)
    return f"""
INSERT INTO cases_case ({", ".join(case_columns)})
SELECT {", ".join(cols[c] for c in case_columns)}
FROM (
    SELECT d.*, CASE WHEN d.is_open THEN d.start - {pre_expr} ELSE {closed_created} END AS created_at
    FROM (
        SELECT c.*, {start_expr} AS start
        FROM (
            SELECT c.*, {bucket_expr} AS bucket, {level_expr} AS lvl
            FROM (
                SELECT c.*, {span_expr} AS span, {policy_expr} AS policy, {seq_expr} AS seq
                FROM (
                    SELECT b.*, {stage_expr} AS stage
                    FROM (
                        SELECT a.*, {state_expr} AS state, a.r_m1 < {URGENT_SHARE} AS urgent,
                               floor(a.r_reg * {n_vil})::int AS vil_idx, floor(a.r_cat * {n_cat})::int AS cat_idx,
                               floor(greatest(a.r_dep - {DEPT_TOWNSHIP_SHARE}, 0) / {1 - DEPT_TOWNSHIP_SHARE} * {n_depts})::int AS dept_k
                        FROM (
                            SELECT g, g > %(closed)s AS is_open,
                                   random() AS r_state, random() AS r_bucket, random() AS r_lvl, random() AS r_t,
                                   random() AS r_v, random() AS r_reg, random() AS r_own, random() AS r_dep,
                                   random() AS r_cat, random() AS r_kind, random() AS r_chan,
                                   random() AS r_m1, random() AS r_m2, random() AS r_m3
                            FROM generate_series(%(lo)s::bigint, %(hi)s::bigint) AS g OFFSET 0
                        ) a OFFSET 0
                    ) b OFFSET 0
                ) c OFFSET 0
            ) c OFFSET 0
        ) c OFFSET 0
    ) d OFFSET 0
) e
"""


def pg_seed(args: argparse.Namespace, org: Org, now: datetime, case_columns: list[str]) -> None:
    from django.conf import settings
    from django.db import connection

    closed = args.cases - args.open
    with connection.cursor() as cur:
        cur.execute("SET jit = off")  # LLVM would spend minutes compiling the big seed expressions
        cur.execute("SET synchronous_commit = off")
        cur.execute("SET maintenance_work_mem = '1GB'")
        cur.execute("SET work_mem = '256MB'")
        vs = org.villages
        county_paths = sorted({v["cpath"] for v in vs})
        city_path = county_paths[0].rsplit("/", 2)[0] + "/"
        lookups = {
            "city_path": city_path,
            "city4": city_path.rstrip("/").rsplit("/", 1)[-1][:4],
            "v_id": [v["id"] for v in vs],
            "v_tid": [v["tid"] for v in vs],
            "v_cid": [v["cid"] for v in vs],
            "v_tgov": [v["tgov"] for v in vs],
            "dept_ids": [
                org.county_depts[(c, k)]
                for c in range(len(county_paths))
                for k in range(len(COUNTY_DEPT_KINDS))
            ],
            "cat_ids": org.leaf_categories,
        }
        # the path arithmetic must give exactly the paths of the Region rows
        cur.execute(
            "SELECT count(*) FROM generate_series(0, %(n)s - 1) AS i WHERE "
            + VILLAGE_PATH_SQL.format(i="i")
            + " <> (%(paths)s::text[])[i + 1] OR "
            + TOWNSHIP_PATH_SQL.format(i="i")
            + " <> (%(tpaths)s::text[])[i + 1] OR "
            + COUNTY_PATH_SQL.format(i="i")
            + " <> (%(cpaths)s::text[])[i + 1]",
            {
                **lookups,
                "n": len(vs),
                "paths": [v["path"] for v in vs],
                "tpaths": [v["tpath"] for v in vs],
                "cpaths": [v["cpath"] for v in vs],
            },
        )
        mismatches = cur.fetchone()[0]
        if mismatches:
            raise SystemExit(
                f"region path arithmetic disagrees with the Region rows for {mismatches} villages"
            )
        cur.execute("SELECT setseed(%s)", [((args.seed % 1000) / 1000.0)])

        tables = ["cases_case", "cases_caseassignment", "cases_supervision"]
        before = {t: index_signature(cur, "postgresql", t) for t in tables}
        dropped: dict[str, list[tuple[str, str]]] = {}
        if not args.keep_indexes:
            for t in tables:
                dropped[t] = capture_and_drop_indexes(cur, "postgresql", t)
            say(
                f"    dropped {sum(len(v) for v in dropped.values())} secondary indexes/unique constraints for the load"
            )
        # Foreign keys are enforced by triggers; the rows are consistent by construction, so the load
        # runs with triggers off (checked afterwards by anti-joins).
        cur.execute("SET session_replication_role = replica")
        sql = pg_seed_cases_sql(case_columns)
        params = {
            "closed": closed,
            "now": now,
            "crossing": args.crossing,
            "remind": float(settings.ZZ_REMIND_RATIO),
            "margin_h": int(settings.ZZ_LISTED_MARGIN_HOURS),
            "n_cat": len(org.leaf_categories),
            "n_vil": len(org.villages),
            **lookups,
        }
        with Timer(f"INSERT … SELECT generate_series: {args.cases:,} cases") as t_ins:
            lo = 1
            while lo <= args.cases:
                hi = min(lo + args.chunk - 1, args.cases)
                t0 = time.perf_counter()
                cur.execute(sql, {**params, "lo": lo, "hi": hi})
                say(f"      rows {lo:,}–{hi:,}: {time.perf_counter() - t0:.1f} s")
                lo = hi + 1
        with Timer("INSERT … SELECT lead assignments") as t_asg:
            cur.execute(
                "INSERT INTO cases_caseassignment (case_id, department_id, role, dispatch_seq, is_current, acknowledged_at, "
                "part_result, part_done_at, region_path) SELECT id, lead_department_id, 'lead', 1, true, acknowledged_at, '', NULL, "
                "region_path FROM cases_case WHERE lead_department_id IS NOT NULL"
            )
            say(f"      {cur.rowcount:,} assignments")
        with Timer(
            "INSERT … SELECT supervision notices (open cases' earlier ones, 10 % of archived)"
        ) as t_sup:
            cur.execute(
                """INSERT INTO cases_supervision (case_id, kind, stage, stage_seq, is_manual, department_id, supervising_region_id,
                       opened_by_id, reason, created_at, reply_due_at, replied_at, reply_text, replied_by_id, region_path)
                   SELECT c.id, k.kind, c.stage, c.stage_seq, false, c.lead_department_id, c.owner_region_id, NULL, k.reason,
                          x.at, x.at + interval '24 hours',
                          CASE WHEN random() < 0.5 THEN x.at + interval '5 hours' END, '', NULL, c.region_path
                   FROM cases_case c
                   JOIN (VALUES (1, 'reminder', '即将到期，请抓紧办理。'), (2, 'supervision', '已超期，予以督办。'),
                                (3, 'listed', '严重超期，挂牌督办。')) AS k(lvl, kind, reason) ON k.lvl <= c.sla_level
                   CROSS JOIN LATERAL (SELECT CASE k.lvl WHEN 1 THEN c.remind_at WHEN 2 THEN c.due_at ELSE c.list_at END AS at) x
                   WHERE c.sla_level >= 1 AND c.state IN ('reported', 'accepted', 'dispatched', 'handling', 'resolved')"""
            )
            n1 = cur.rowcount
            cur.execute(
                """INSERT INTO cases_supervision (case_id, kind, stage, stage_seq, is_manual, department_id, supervising_region_id,
                       opened_by_id, reason, created_at, reply_due_at, replied_at, reply_text, replied_by_id, region_path)
                   SELECT c.id, 'supervision', 'handle', 4, false, c.lead_department_id, c.owner_region_id, NULL, '已超期，予以督办。',
                          c.acknowledged_at + interval '9 days', c.acknowledged_at + interval '10 days',
                          c.acknowledged_at + interval '9 days 5 hours', '已加快办理。', NULL, c.region_path
                   FROM cases_case c WHERE c.state = 'archived' AND mod(c.id, 10) = 0"""
            )
            say(f"      {n1:,} notices of open cases, {cur.rowcount:,} historic")
            cur.execute(OPEN_SUPERVISIONS_SQL)
        cur.execute("SET session_replication_role = origin")
        cur.execute("SELECT setval(pg_get_serial_sequence('cases_case', 'id'), %s)", [args.cases])
        with Timer("recreate indexes and unique constraints") as t_idx:
            for t in tables:
                for name, stmt in dropped.get(t, []):
                    t0 = time.perf_counter()
                    cur.execute(stmt)
                    say(f"      {t}.{name}: {time.perf_counter() - t0:.1f} s")
        after = {t: index_signature(cur, "postgresql", t) for t in tables}
        same = before == after
        say(
            f"    index definitions after the load identical to the migrated schema: {'yes' if same else 'NO'}"
        )
        if not same:
            for t in tables:
                for line in sorted(set(before[t]) ^ set(after[t])):
                    say(f"      {'before' if line in before[t] else 'after '}: {line}")
            raise SystemExit("index set differs after recreation")
        with Timer("foreign-key check (anti-joins)"):
            cur.execute(
                """SELECT
                   (SELECT count(*) FROM cases_case c WHERE NOT EXISTS (SELECT 1 FROM orgs_region r WHERE r.id = c.region_id)),
                   (SELECT count(*) FROM cases_case c WHERE NOT EXISTS (SELECT 1 FROM orgs_region r WHERE r.id = c.owner_region_id)),
                   (SELECT count(*) FROM cases_case c WHERE c.lead_department_id IS NOT NULL
                        AND NOT EXISTS (SELECT 1 FROM orgs_department d WHERE d.id = c.lead_department_id)),
                   (SELECT count(*) FROM cases_case c WHERE c.category_id IS NOT NULL
                        AND NOT EXISTS (SELECT 1 FROM cases_category k WHERE k.id = c.category_id))"""
            )
            bad = cur.fetchone()
            say(f"      dangling region/owner/department/category references: {bad}")
            if any(bad):
                raise SystemExit("dangling foreign keys in the seed")
        with Timer("VACUUM ANALYZE") as t_vac:
            for t in [*tables, "orgs_region", "orgs_department", "orgs_rolegrant", "orgs_user"]:
                cur.execute(f"VACUUM ANALYZE {t}")
    seed_s = t_ins.seconds + t_asg.seconds + t_sup.seconds + t_idx.seconds
    summary(
        f"seed: {args.cases:,} cases ({args.open:,} open) in {seed_s:.1f} s "
        f"(insert {t_ins.seconds:.1f} s, assignments {t_asg.seconds:.1f} s, notices {t_sup.seconds:.1f} s, "
        f"indexes {t_idx.seconds:.1f} s); VACUUM ANALYZE {t_vac.seconds:.1f} s"
    )


# --- seeding: SQLite ------------------------------------------------------------------------------------------


def sqlite_rows(args: argparse.Namespace, org: Org, now: datetime, case_columns: list[str]) -> Any:
    """The same distribution as the PostgreSQL SQL, generated in Python (yields tuples)."""
    from django.conf import settings

    rng = random.Random(args.seed)
    rnd = rng.random
    remind = float(settings.ZZ_REMIND_RATIO)
    margin = timedelta(hours=int(settings.ZZ_LISTED_MARGIN_HOURS))
    closed = args.cases - args.open
    utc_now = now.astimezone(UTC).replace(tzinfo=None)
    H = timedelta(hours=1)
    n_vil, n_cat, n_depts = len(org.villages), len(org.leaf_categories), len(COUNTY_DEPT_KINDS)
    open_cum = []
    acc = 0.0
    for state, share in OPEN_MIX:
        acc += share
        open_cum.append((acc, state))
    open_cum[-1] = (2.0, open_cum[-1][1])
    stage_index = {s: i for i, s in enumerate(STAGE_ORDER)}
    local = timedelta(hours=8)  # Asia/Shanghai has no DST

    def iso(dt: datetime | None) -> str | None:
        return None if dt is None else dt.isoformat(" ")

    idx = {c: i for i, c in enumerate(case_columns)}
    ncol = len(case_columns)
    for g in range(1, args.cases + 1):
        is_open = g > closed
        r_state, r_bucket, r_lvl, r_t, r_v, r_reg, r_own, r_dep = (
            rnd(),
            rnd(),
            rnd(),
            rnd(),
            rnd(),
            rnd(),
            rnd(),
            rnd(),
        )
        r_cat, r_kind, r_chan, r_m1, r_m2, r_m3 = rnd(), rnd(), rnd(), rnd(), rnd(), rnd()
        if is_open:
            state = next(s for c, s in open_cum if r_state < c)
        else:
            state = "archived" if r_state < ARCHIVED_SHARE else "declined"
        stage = STAGE_OF[state]
        urgent = r_m1 < URGENT_SHARE
        v = org.villages[int(r_reg * n_vil)]
        start = span = None
        lvl = 0
        policy = ""
        seq = STAGE_SEQ.get(stage, 7 if state == "archived" else 2)
        if is_open:
            n, u, p, q = SPAN[stage]
            span = (u if urgent else n) * H
            policy = q if urgent else p
            tc = utc_now - r_t * timedelta(minutes=CROSS_WINDOW_MIN)
            if r_bucket < args.crossing:
                if stage == "rate":
                    start = tc - span
                else:
                    lvl = 0 if r_lvl < 0.5 else 1 if r_lvl < 0.85 else 2
                    start = tc - span * remind if lvl == 0 else tc - span if lvl == 1 else tc - span - margin
            elif stage == "rate":
                start = utc_now - span * 0.98 * r_t
            elif r_bucket < args.crossing + OVER_SHARE:
                if r_lvl < 0.6:
                    lvl = 2
                    start = utc_now - timedelta(minutes=10) - r_t * (margin - timedelta(minutes=20)) - span
                else:
                    lvl = 3
                    start = utc_now - timedelta(minutes=10) - r_t * 720 * H - margin - span
            elif r_bucket < args.crossing + OVER_SHARE + SOON_SHARE:
                lvl = 1
                start = utc_now - span * (remind + 0.01 + r_t * (0.98 - remind))
            else:
                start = utc_now - span * remind * 0.98 * r_t
            created = start - PRE_HOURS[stage] * H
        else:
            created = (
                utc_now
                - timedelta(days=730)
                + ((g - 1) / max(closed, 1)) * timedelta(days=690)
                + r_t * 12 * H
            )
        row: list[Any] = [None] * ncol

        def put(col: str, value: Any, row: list[Any] = row) -> None:
            row[idx[col]] = value

        put("id", g)
        put("number", f"ZZ{(created + local):%Y%m%d}{g:08d}")
        put("tracking_digest", md5(str(g).encode()).hexdigest() + md5(str(g + 7).encode()).hexdigest())
        put("kind", KINDS[int(r_kind * len(KINDS))])
        put("channel", CHANNELS[int(r_chan * len(CHANNELS))])
        put("title", TITLES[int(r_kind * len(TITLES))])
        put("description", f"{DESCRIPTION}（{g}）")
        put("category_id", org.leaf_categories[int(r_cat * n_cat)])
        put("urgency", "urgent" if urgent else "normal")
        named = r_m2 < 0.9
        put("is_anonymous", not named)
        put("reporter_name_enc", "k1:" + md5(str(g * 3).encode()).hexdigest() if named else "")
        put("reporter_phone_enc", "k1:" + md5(str(g * 5).encode()).hexdigest() if named else "")
        put(
            "reporter_phone_index",
            md5(str(g % 700000).encode()).hexdigest() + md5(str(g % 700000 + 1).encode()).hexdigest()
            if named
            else "",
        )
        put("reporter_user_id", None)
        put("address", f"第{v['cidx'] + 1}区某路{g % 500}号")
        put("lon", 120.0 + r_reg * 0.6)
        put("lat", 30.0 + r_own * 0.4)
        put("grid_id", None)
        put("region_id", v["id"])
        put("region_path", v["path"])
        township_owned = r_own < OWNER_TOWNSHIP_SHARE
        put("owner_region_id", v["tid"] if township_owned else v["cid"])
        put("owner_path", v["tpath"] if township_owned else v["cpath"])
        put("external_ref", "")
        put("state", state)
        dept = None
        if state in ("dispatched", "handling", "resolved", "replied", "archived"):
            if r_dep < DEPT_TOWNSHIP_SHARE:
                dept = v["tgov"]
            else:
                k = min(
                    int(max(r_dep - DEPT_TOWNSHIP_SHARE, 0) / (1 - DEPT_TOWNSHIP_SHARE) * n_depts),
                    n_depts - 1,
                )
                dept = org.county_depts[(v["cidx"], k)]
        put("lead_department_id", dept)
        put("dispatch_rule_id", None)
        returned = state == "accepted" and r_m3 < 0.05
        put("is_returned", returned)
        put("return_count", 1 if returned else 0)
        put("reopen_count", 0)
        put("escalation_count", 0)
        ext = state == "handling" and r_m3 < 0.02
        put("extension_pending", ext)
        put("extension_requested_until", iso(start + timedelta(days=20)) if ext else None)
        put("master_id", None)
        put("decline_reason", "不属于本中心受理范围" if state == "declined" else "")
        put("result", "已按要求处理完毕。" if state in ("resolved", "replied", "archived") else "")
        put("reply_text", "已电话答复反映人。" if state in ("replied", "archived") else "")
        if state == "archived":
            rating = (
                "satisfied"
                if r_m2 < 0.70
                else "basically_satisfied"
                if r_m2 < 0.85
                else "unsatisfied"
                if r_m2 < 0.90
                else "not_rated"
            )
        elif state == "replied" and r_m2 < 0.4:
            rating = "satisfied"
        else:
            rating = ""
        put("rating", rating)
        put("rating_comment", "")
        put("resolved_on_site", False)
        put("handle_due_at", None)
        put("last_event_seq", seq + lvl)
        put("stage", stage)
        put("stage_seq", seq)
        put("stage_policy", policy)
        put("due_overridden", False)
        put("sla_level", lvl)
        put("open_supervisions", 0)  # counted from the seeded notices afterwards (OPEN_SUPERVISIONS_SQL)
        put("created_at", iso(created))
        archived_at = created + (101 + r_v * 300) * H if state == "archived" else None
        if is_open:
            assert start is not None and span is not None
            due = start + span
            if stage == "rate":
                rem = lst = nxt = due
            else:
                rem, lst = start + span * remind, due + margin
                nxt = {0: rem, 1: due, 2: lst}.get(lvl)
            put("stage_started_at", iso(start))
            put("updated_at", iso(start))
            put("due_at", iso(due))
            put("remind_at", iso(rem))
            put("list_at", iso(lst))
            put("next_sla_at", iso(nxt))
            si = stage_index[stage]
            for col, hours in MILESTONE_H.items():
                put(col, iso(created + hours * H) if si >= stage_index[MILESTONE_FROM[col]] else None)
            put("rated_at", iso(start + H) if state == "replied" and r_m2 < 0.4 else None)
            put("archived_at", None)
        else:
            if state == "archived":
                put("stage_started_at", iso(archived_at))
                put("updated_at", iso(archived_at))
                put("accepted_at", iso(created + 0.5 * H))
                put("dispatched_at", iso(created + 3 * H))
                put("acknowledged_at", iso(created + 10 * H))
                put("resolved_at", iso(created + (24 + r_v * 300) * H))
                put("replied_at", iso(created + (29 + r_v * 300) * H))
                put("rated_at", iso(created + (53 + r_v * 300) * H) if r_m2 < 0.9 else None)
                put("archived_at", iso(archived_at))
            else:
                put("stage_started_at", iso(created + 0.5 * H))
                put("updated_at", iso(created + 0.5 * H))
                for col in (
                    "accepted_at",
                    "dispatched_at",
                    "acknowledged_at",
                    "resolved_at",
                    "replied_at",
                    "rated_at",
                    "archived_at",
                ):
                    put(col, None)
            for col in ("due_at", "remind_at", "list_at", "next_sla_at"):
                put(col, None)
        yield tuple(row)


def sqlite_seed(args: argparse.Namespace, org: Org, now: datetime, case_columns: list[str]) -> None:
    from django.db import connection

    tables = ["cases_case", "cases_caseassignment", "cases_supervision"]
    with connection.cursor() as cur:
        before = {t: index_signature(cur, "sqlite", t) for t in tables}
        cur.execute("PRAGMA foreign_keys = OFF")  # consistent by construction; checked below
        cur.execute("PRAGMA synchronous = OFF")
        cur.execute("PRAGMA cache_size = -1000000")
        dropped: dict[str, list[tuple[str, str]]] = {}
        if not args.keep_indexes:
            for t in tables:
                dropped[t] = capture_and_drop_indexes(cur, "sqlite", t)
            say(f"    dropped {sum(len(v) for v in dropped.values())} secondary indexes for the load")
    raw = connection.connection  # the sqlite3 connection (Django's cursor wrapper adds per-call overhead)
    sql = f"INSERT INTO cases_case ({', '.join(case_columns)}) VALUES ({', '.join('?' * len(case_columns))})"
    with Timer(f"executemany: {args.cases:,} cases in one transaction") as t_ins:
        raw.execute("BEGIN")
        batch: list[tuple[Any, ...]] = []
        done = 0
        t0 = time.perf_counter()
        for row in sqlite_rows(args, org, now, case_columns):
            batch.append(row)
            if len(batch) >= 50_000:
                raw.executemany(sql, batch)
                done += len(batch)
                batch.clear()
                if done % 500_000 == 0:
                    say(f"      {done:,} rows, {time.perf_counter() - t0:.1f} s")
        if batch:
            raw.executemany(sql, batch)
        raw.execute("COMMIT")
    with Timer("INSERT … SELECT lead assignments and supervision notices") as t_more:
        raw.execute("BEGIN")
        raw.execute(
            "INSERT INTO cases_caseassignment (case_id, department_id, role, dispatch_seq, is_current, acknowledged_at, "
            "part_result, part_done_at, region_path) SELECT id, lead_department_id, 'lead', 1, 1, acknowledged_at, '', NULL, "
            "region_path FROM cases_case WHERE lead_department_id IS NOT NULL"
        )
        raw.execute(
            """INSERT INTO cases_supervision (case_id, kind, stage, stage_seq, is_manual, department_id, supervising_region_id,
                   opened_by_id, reason, created_at, reply_due_at, replied_at, reply_text, replied_by_id, region_path)
               SELECT id, sk, stage, stage_seq, 0, lead_department_id, owner_region_id, NULL, sreason,
                      at, datetime(at, '+24 hours'), CASE WHEN abs(random()) % 2 = 0 THEN datetime(at, '+5 hours') END,
                      '', NULL, region_path
               FROM (SELECT c.id, c.stage, c.stage_seq, c.lead_department_id, c.owner_region_id, c.region_path,
                            k.kind AS sk, k.reason AS sreason,
                            CASE k.lvl WHEN 1 THEN c.remind_at WHEN 2 THEN c.due_at ELSE c.list_at END AS at
                     FROM cases_case c
                     JOIN (SELECT 1 AS lvl, 'reminder' AS kind, '即将到期，请抓紧办理。' AS reason
                           UNION ALL SELECT 2, 'supervision', '已超期，予以督办。' UNION ALL SELECT 3, 'listed', '严重超期，挂牌督办。') k
                       ON k.lvl <= c.sla_level
                     WHERE c.sla_level >= 1 AND c.state IN ('reported', 'accepted', 'dispatched', 'handling', 'resolved'))"""
        )
        raw.execute(
            """INSERT INTO cases_supervision (case_id, kind, stage, stage_seq, is_manual, department_id, supervising_region_id,
                   opened_by_id, reason, created_at, reply_due_at, replied_at, reply_text, replied_by_id, region_path)
               SELECT c.id, 'supervision', 'handle', 4, 0, c.lead_department_id, c.owner_region_id, NULL, '已超期，予以督办。',
                      datetime(c.acknowledged_at, '+9 days'), datetime(c.acknowledged_at, '+10 days'),
                      datetime(c.acknowledged_at, '+9 days', '+5 hours'), '已加快办理。', NULL, c.region_path
               FROM cases_case c WHERE c.state = 'archived' AND c.id % 10 = 0"""
        )
        raw.execute(OPEN_SUPERVISIONS_SQL)
        raw.execute("COMMIT")
    with connection.cursor() as cur:
        with Timer("recreate indexes") as t_idx:
            for t in tables:
                for name, stmt in dropped.get(t, []):
                    t0 = time.perf_counter()
                    cur.execute(stmt)
                    say(f"      {t}.{name}: {time.perf_counter() - t0:.1f} s")
        after = {t: index_signature(cur, "sqlite", t) for t in tables}
        same = before == after
        say(
            f"    index definitions after the load identical to the migrated schema: {'yes' if same else 'NO'}"
        )
        if not same:
            for t in tables:
                for line in sorted(set(before[t]) ^ set(after[t])):
                    say(f"      {'before' if line in before[t] else 'after '}: {line}")
            raise SystemExit("index set differs after recreation")
        cur.execute("PRAGMA foreign_key_check(cases_case)")
        bad = cur.fetchall()
        say(f"    PRAGMA foreign_key_check(cases_case): {len(bad)} problems")
        if bad:
            raise SystemExit("dangling foreign keys in the seed")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.execute("PRAGMA synchronous = NORMAL")
        with Timer("ANALYZE") as t_an:
            cur.execute("ANALYZE")
    seed_s = t_ins.seconds + t_more.seconds + t_idx.seconds
    summary(
        f"seed: {args.cases:,} cases ({args.open:,} open) in {seed_s:.1f} s "
        f"(insert {t_ins.seconds:.1f} s, assignments+notices {t_more.seconds:.1f} s, indexes {t_idx.seconds:.1f} s); "
        f"ANALYZE {t_an.seconds:.1f} s"
    )


def describe_seed(now: datetime) -> None:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT state, count(*) FROM cases_case GROUP BY state ORDER BY state")
        states = ", ".join(f"{s} {n:,}" for s, n in cur.fetchall())
        cur.execute(
            f"SELECT sla_level, count(*) FROM cases_case WHERE state IN {OPEN_STATES} GROUP BY sla_level ORDER BY sla_level"
        )
        levels = ", ".join(f"L{s} {n:,}" for s, n in cur.fetchall())
        cur.execute("SELECT count(*) FROM cases_case WHERE next_sla_at <= %s", [db_dt(now)])
        crossing = cur.fetchone()[0]
        cur.execute("SELECT count(*) FROM cases_caseassignment")
        assignments = cur.fetchone()[0]
        cur.execute(
            "SELECT count(*), sum(CASE WHEN replied_at IS NULL THEN 1 ELSE 0 END) FROM cases_supervision"
        )
        notices, unreplied = cur.fetchone()
    say(f"    states: {states}")
    say(f"    open cases by SLA level: {levels}")
    say(f"    due for the sweep at now (next_sla_at <= now): {crossing:,}")
    say(f"    assignments {assignments:,}; supervision notices {notices:,} ({unreplied or 0:,} unreplied)")
    summary(f"data: {states}; open by level: {levels}; due for the sweep: {crossing:,}")


# --- measuring ---------------------------------------------------------------------------------------------------

INDEX_RE = re.compile(
    r"(?:Index Only Scan|Index Scan|Bitmap Index Scan)(?: Backward)? (?:using|on) (\w+)|USING (?:COVERING )?INDEX (\w+)|USING INTEGER PRIMARY KEY"
)


def plan_summary(plan: str) -> tuple[str, list[str], bool]:
    lines = [ln for ln in plan.splitlines() if ln.strip()]
    top = lines[0].strip() if lines else ""
    indexes = []
    for m in INDEX_RE.finditer(plan):
        name = m.group(1) or m.group(2) or "INTEGER PRIMARY KEY"
        if name not in indexes:
            indexes.append(name)
    seq_scan = bool(re.search(r"Seq Scan on cases_case\b|SCAN cases_case\b(?! USING)", plan))
    return top, indexes, seq_scan


def db_dt(value: datetime) -> Any:
    """A datetime as the backend stores it (SQLite: naive UTC text, as Django writes it)."""
    from django.db import connection

    return connection.ops.adapt_datetimefield_value(value) if connection.vendor == "sqlite" else value


def explain_sql(sql: str, params: list[Any]) -> str:
    from django.db import connection

    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute("EXPLAIN " + sql, params)
            return "\n".join(r[0] for r in cur.fetchall())
        cur.execute("EXPLAIN QUERY PLAN " + sql, params)
        return "\n".join(
            " ".join(str(x) for x in r[1:]) if len(r) > 3 else str(r[-1]) for r in cur.fetchall()
        )


def explain_analyze(sql: str, params: list[Any]) -> str:
    from django.db import connection

    if connection.vendor != "postgresql":
        return explain_sql(sql, params)
    with connection.cursor() as cur:
        cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
        return "\n".join(r[0] for r in cur.fetchall())


def qs_sql(qs: Any) -> tuple[str, list[Any]]:

    sql, params = qs.query.get_compiler(using=qs.db).as_sql()
    return sql, list(params)


def time_pair(
    run_a: Callable[[], Any], run_b: Callable[[], Any], reps: int, warmup: int
) -> tuple[list[float], list[float], Any, Any]:
    """Run a and b side by side (alternating which goes first); return their timings in ms."""
    ra = rb = None
    for _ in range(warmup):
        ra, rb = run_a(), run_b()
    ta: list[float] = []
    tb: list[float] = []
    for i in range(reps):
        order = [(run_a, ta), (run_b, tb)] if i % 2 == 0 else [(run_b, tb), (run_a, ta)]
        for fn, acc in order:
            t0 = time.perf_counter()
            fn()
            acc.append((time.perf_counter() - t0) * 1000)
    return ta, tb, ra, rb


def measure_queues(
    args: argparse.Namespace, org: Org, now: datetime, case_columns: list[str]
) -> list[dict[str, Any]]:
    from django.db import connection

    from zongzhi.cases import selectors
    from zongzhi.cases.selectors import CaseFilters
    from zongzhi.orgs.models import User
    from zongzhi.orgs.scoping import forget_grants

    operator = User.objects.get(pk=org.operator_id)
    handler = User.objects.get(pk=org.handler_id)
    # the columns a list page reads (the selector side runs selectors.for_list, as the pages do)
    cols = ", ".join(f"c.{c}" for c in case_columns if c not in selectors.LIST_DEFERRED)
    open_not_replied = "('reported', 'accepted', 'dispatched', 'handling', 'resolved')"
    path, dept = org.county_path, org.handler_department_id
    bare: dict[str, tuple[str, list[Any]]] = {
        "to_accept": (
            f"SELECT {cols} FROM cases_case c WHERE c.owner_path = %s AND c.state = 'reported' ORDER BY c.due_at LIMIT 50",
            [path],
        ),
        "to_dispatch": (
            f"SELECT {cols} FROM cases_case c WHERE c.owner_path = %s AND c.state = 'accepted' AND NOT c.is_returned ORDER BY c.due_at LIMIT 50",
            [path],
        ),
        "overdue": (
            f"SELECT {cols} FROM cases_case c WHERE c.owner_path = %s AND c.state IN {open_not_replied} AND c.due_at < %s ORDER BY c.due_at LIMIT 50",
            [path, db_dt(now)],
        ),
        "due_soon": (
            f"SELECT {cols} FROM cases_case c WHERE c.owner_path = %s AND c.state IN {open_not_replied} AND c.remind_at <= %s "
            "AND c.due_at >= %s ORDER BY c.due_at LIMIT 50",
            [path, db_dt(now), db_dt(now)],
        ),
        "dept:handling": (
            f"SELECT {cols} FROM cases_case c WHERE c.lead_department_id = %s AND c.state = 'handling' ORDER BY c.due_at LIMIT 50",
            [dept],
        ),
        "dept:overdue": (
            f"SELECT {cols} FROM cases_case c WHERE c.lead_department_id = %s AND c.state IN ('dispatched', 'handling') "
            "AND c.due_at < %s ORDER BY c.due_at LIMIT 50",
            [dept, db_dt(now)],
        ),
    }
    if connection.vendor == "sqlite":
        bare = {k: (sql.replace("NOT c.is_returned", "c.is_returned = 0"), p) for k, (sql, p) in bare.items()}

    def selector_qs(key: str) -> Any:
        if key.startswith("dept:"):
            return selectors.for_list(selectors.department_queue(handler, key[5:], now=now))[:50]
        return selectors.for_list(selectors.case_list(operator, CaseFilters(queue=key, mine=True), now=now))[
            :50
        ]

    results = []
    say("")
    say(
        f"== operator queues (county operator, mine=True; department handler queues) — {args.reps} reps after {args.warmup} warm-up"
    )
    for key, (sql, params) in bare.items():
        user = handler if key.startswith("dept:") else operator

        def run_selector(key: str = key, user: Any = user) -> list[int]:
            forget_grants(user)  # a fresh request: the grants are read again
            return [c.pk for c in selector_qs(key)]

        def run_bare(sql: str = sql, params: list[Any] = params) -> list[int]:
            with connection.cursor() as cur:
                cur.execute(sql, params)
                return [r[0] for r in cur.fetchall()]

        ts, tb, ids_s, ids_b = time_pair(run_selector, run_bare, args.reps, args.warmup)
        forget_grants(user)
        s_sql, s_params = qs_sql(selector_qs(key))
        s_top, s_idx, s_seq = plan_summary(explain_sql(s_sql, s_params))
        b_top, b_idx, _b_seq = plan_summary(explain_sql(sql, params))
        r = {
            "queue": key,
            "rows": len(ids_s),
            "same_rows": sorted(ids_s) == sorted(ids_b),
            "sel_p50": pct(ts, 0.5),
            "sel_p95": pct(ts, 0.95),
            "bare_p50": pct(tb, 0.5),
            "bare_p95": pct(tb, 0.95),
            "plan": s_top,
            "indexes": s_idx,
            "seq_scan": s_seq,
            "bare_plan": b_top,
            "bare_indexes": b_idx,
            "sql": (s_sql, s_params),
        }
        r["ratio"] = r["sel_p95"] / r["bare_p95"] if r["bare_p95"] else float("nan")
        results.append(r)
        ok = "OK" if r["sel_p95"] < QUEUE_TARGET_MS else "MISSED"
        say(
            f"  {key:<14} rows {r['rows']:>2} (same rows as bare: {'yes' if r['same_rows'] else 'NO'})  "
            f"selector p50 {r['sel_p50']:6.2f} ms p95 {r['sel_p95']:6.2f} ms | bare p50 {r['bare_p50']:6.2f} ms "
            f"p95 {r['bare_p95']:6.2f} ms | ratio p95 {r['ratio']:5.1f}× | target p95 < {QUEUE_TARGET_MS:.0f} ms: {ok}"
        )
        say(
            f"      plan: {s_top}  indexes: {', '.join(s_idx) or 'NONE'}{'  SEQ SCAN on cases_case' if s_seq else ''}"
        )
        say(f"      bare: {b_top}  indexes: {', '.join(b_idx) or 'NONE'}")
    return results


def measure_counts(args: argparse.Namespace, org: Org, now: datetime) -> dict[str, Any]:
    from django.db import connection

    from zongzhi.cases import selectors
    from zongzhi.orgs.models import User
    from zongzhi.orgs.scoping import forget_grants

    operator = User.objects.get(pk=org.operator_id)
    path = org.county_path
    f = "0" if connection.vendor == "sqlite" else "false"
    t = "1" if connection.vendor == "sqlite" else "true"
    onr = "('reported', 'accepted', 'dispatched', 'handling', 'resolved')"
    where = {
        "to_accept": ("state = 'reported'", []),
        "to_dispatch": (f"state = 'accepted' AND is_returned = {f}", []),
        "returned": (f"state = 'accepted' AND is_returned = {t}", []),
        "extension": (f"state = 'handling' AND extension_pending = {t}", []),
        "overdue": (f"state IN {onr} AND due_at < %s", [db_dt(now)]),
        "due_soon": (f"state IN {onr} AND remind_at <= %s AND due_at >= %s", [db_dt(now), db_dt(now)]),
        "supervised": (
            f"state IN {OPEN_STATES} AND (sla_level >= 2 OR open_supervisions > 0)",
            [],
        ),
        "to_reply": ("state = 'resolved'", []),
        "to_callback": ("state = 'replied' AND rating = ''", []),
    }

    def run_selector() -> dict[str, int]:
        forget_grants(operator)
        return selectors.queue_counts(operator, now=now)

    def run_bare() -> dict[str, int]:
        out = {}
        with connection.cursor() as cur:
            for key, (w, p) in where.items():
                cur.execute(f"SELECT count(*) FROM cases_case WHERE owner_path = %s AND {w}", [path, *p])
                out[key] = cur.fetchone()[0]
        return out

    say("")
    say(
        f"== queue_counts (the 9 counts of the operator workbench) — {args.count_reps} reps after {args.warmup} warm-up"
    )
    # per-count timing once, to show where the time goes
    per_key = {}
    base = selectors.visible_cases(operator).filter(owner_path__in=selectors.own_center_paths(operator))
    for key in selectors.QUEUES:
        qs = base.filter(selectors.queue_filter(key, now))
        for _ in range(3):
            qs.count()
        samples = []
        for _ in range(max(5, min(args.count_reps // 10, 20))):
            t0 = time.perf_counter()
            qs.count()
            samples.append((time.perf_counter() - t0) * 1000)
        per_key[key] = statistics.median(samples)
    ts, tb, rs, rb = time_pair(run_selector, run_bare, args.count_reps, min(args.warmup, 5))
    r = {
        "sel_p50": pct(ts, 0.5),
        "sel_p95": pct(ts, 0.95),
        "bare_p50": pct(tb, 0.5),
        "bare_p95": pct(tb, 0.95),
        "same": rs == rb,
        "counts": rs,
        "per_key": per_key,
    }
    r["ratio"] = r["sel_p95"] / r["bare_p95"] if r["bare_p95"] else float("nan")
    say(f"  counts: {rs}  (same as bare: {'yes' if r['same'] else 'NO ' + str(rb)})")
    say(
        f"  queue_counts p50 {r['sel_p50']:.1f} ms p95 {r['sel_p95']:.1f} ms | bare 9 counts p50 {r['bare_p50']:.1f} ms "
        f"p95 {r['bare_p95']:.1f} ms | ratio p95 {r['ratio']:.1f}×"
    )
    say("  median per count (ms): " + ", ".join(f"{k} {v:.1f}" for k, v in per_key.items()))
    for key in ("supervised", "due_soon", "overdue"):
        qs = base.filter(selectors.queue_filter(key, now))
        sql, params = qs_sql(qs.only("pk"))
        top, idx, seq = plan_summary(explain_sql(f"SELECT count(*) FROM ({sql}) s", params))
        say(
            f"    {key} count plan: {top}  indexes: {', '.join(idx) or 'NONE'}{'  SEQ SCAN on cases_case' if seq else ''}"
        )
    return r


def measure_sweep(args: argparse.Namespace, now: datetime) -> dict[str, Any]:
    from django.db import connection

    from zongzhi.cases.models import Case, CaseEvent, Supervision
    from zongzhi.cases.services import sla_sweep
    from zongzhi.notifications.models import Notification

    say("")
    say("== the deadline sweep (services.sla_sweep(now=now))")
    with connection.cursor() as cur:
        cur.execute(f"SELECT count(*) FROM cases_case WHERE state IN {OPEN_STATES}")
        n_open = cur.fetchone()[0]
    bare_sql = "SELECT id FROM cases_case WHERE next_sla_at <= %s"
    bare_times = []
    n_due = 0
    for _ in range(6):
        t0 = time.perf_counter()
        with connection.cursor() as cur:
            cur.execute(bare_sql, [db_dt(now)])
            n_due = len(cur.fetchall())
        bare_times.append(time.perf_counter() - t0)
    bare_s = statistics.median(bare_times[1:])
    b_top, b_idx, _ = plan_summary(explain_sql(bare_sql, [db_dt(now)]))
    sweep_qs = Case.objects.filter(next_sla_at__lte=now, pk__gt=0).order_by("pk").values_list("pk")[:1000]
    s_sql, s_params = qs_sql(sweep_qs)
    s_top, s_idx, s_seq = plan_summary(explain_sql(s_sql, s_params))
    say(f"  open cases {n_open:,}; due for the sweep at now: {n_due:,}")
    say(
        f"  bare `{bare_sql}` ({n_due:,} rows): {bare_s * 1000:.1f} ms (median of 5 after warm-up); plan: {b_top}  indexes: {', '.join(b_idx) or 'NONE'}"
    )
    say(
        f"  sweep batch query plan: {s_top}  indexes: {', '.join(s_idx) or 'NONE'}{'  SEQ SCAN' if s_seq else ''}"
    )

    def counts() -> tuple[int, int, int]:
        return Supervision.objects.count(), CaseEvent.objects.count(), Notification.objects.count()

    c0 = counts()
    profiler = None
    if args.profile_sweep:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    t0 = time.perf_counter()
    rep1 = sla_sweep(now=now)
    sweep_s = time.perf_counter() - t0
    if profiler is not None:
        import io
        import pstats

        profiler.disable()
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(30)
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(25)
        say(out.getvalue())
    c1 = counts()
    t0 = time.perf_counter()
    rep2 = sla_sweep(now=now)
    sweep2_s = time.perf_counter() - t0
    c2 = counts()
    raised1 = rep1.reminders + rep1.supervisions + rep1.listed
    raised2 = rep2.reminders + rep2.supervisions + rep2.listed
    r = {
        "open": n_open,
        "due": n_due,
        "bare_s": bare_s,
        "sweep_s": sweep_s,
        "sweep2_s": sweep2_s,
        "rep1": rep1,
        "rep2": rep2,
        "raised1": raised1,
        "raised2": raised2,
        "new_rows1": tuple(b - a for a, b in zip(c0, c1, strict=True)),
        "new_rows2": tuple(b - a for a, b in zip(c1, c2, strict=True)),
        "ratio": sweep_s / bare_s if bare_s else float("nan"),
        "plan": s_top,
        "indexes": s_idx,
    }
    ok = "OK" if sweep_s < SWEEP_TARGET_S else "MISSED"
    say(
        f"  sweep #1: {sweep_s:.2f} s — examined {rep1.examined:,}, notices raised {raised1:,} (reminders {rep1.reminders:,}, "
        f"supervisions {rep1.supervisions:,}, listed {rep1.listed:,}), archived {rep1.archived:,}, lost races {rep1.lost_races}"
    )
    say(
        f"            new rows: supervision {r['new_rows1'][0]:,}, case events {r['new_rows1'][1]:,}, notifications {r['new_rows1'][2]:,}"
    )
    say(
        f"            ratio vs bare SELECT of the same rows: {r['ratio']:.0f}× | target < {SWEEP_TARGET_S:.0f} s at 1M open: {ok}"
    )
    say(
        f"  sweep #2 (same now): {sweep2_s:.3f} s — examined {rep2.examined:,}, notices raised {raised2} "
        f"(new rows {r['new_rows2']}): {'idempotent' if raised2 == 0 and r['new_rows2'] == (0, 0, 0) else 'NOT IDEMPOTENT'}"
    )
    return r


def main() -> None:
    args = parse_args()
    t_start = time.perf_counter()
    say(
        f"bench_cases: --db {args.db} --cases {args.cases:,} --open {args.open:,} (crossing {args.crossing:.1%}), reps {args.reps}"
    )
    setup_database(args)
    try:
        from django.db import connection
        from django.utils import timezone

        from zongzhi.cases.models import Case

        now = timezone.now().replace(microsecond=0)
        say(f"    now (the sweep's clock) = {now.isoformat()}")
        case_columns = [f.column for f in Case._meta.concrete_fields]
        with Timer("org, users, catalogue"):
            org = build_org()
        if args.db == "postgres":
            pg_seed(args, org, now, case_columns)
        else:
            sqlite_seed(args, org, now, case_columns)
        describe_seed(now)
        if connection.vendor == "postgresql":
            with connection.cursor() as cur:
                cur.execute(
                    "SELECT pg_size_pretty(pg_total_relation_size('cases_case')), pg_size_pretty(pg_relation_size('cases_case'))"
                )
                total, heap = cur.fetchone()
            say(f"    cases_case: {total} with indexes ({heap} heap)")
            summary(f"cases_case size: {total} with indexes ({heap} heap)")
        queues = measure_queues(args, org, now, case_columns)
        counts = measure_counts(args, org, now)
        sweep = measure_sweep(args, now)
    finally:
        pass

    say("")
    say("=" * 100)
    say(f"SUMMARY bench_cases — {args.db}, {args.cases:,} cases, {args.open:,} open, {os.cpu_count()} CPUs")
    for line in SUMMARY:
        say(f"  {line}")
    say(f"  operator queue p95 (target < {QUEUE_TARGET_MS:.0f} ms), selector vs bare indexed SELECT:")
    for r in queues:
        say(
            f"    {r['queue']:<14} p50 {r['sel_p50']:6.2f} ms  p95 {r['sel_p95']:6.2f} ms  bare p95 {r['bare_p95']:6.2f} ms  "
            f"ratio {r['ratio']:4.1f}×  {'OK' if r['sel_p95'] < QUEUE_TARGET_MS else 'MISSED'}  [{', '.join(r['indexes']) or 'no index'}]"
        )
    say(
        f"  queue_counts (9 counts) p50 {counts['sel_p50']:.1f} ms  p95 {counts['sel_p95']:.1f} ms  bare p95 {counts['bare_p95']:.1f} ms  "
        f"ratio {counts['ratio']:.1f}×"
    )
    say(
        f"  sweep at {sweep['open']:,} open / {sweep['due']:,} due: {sweep['sweep_s']:.2f} s (target < {SWEEP_TARGET_S:.0f} s: "
        f"{'OK' if sweep['sweep_s'] < SWEEP_TARGET_S else 'MISSED'}), notices {sweep['raised1']:,}, archived {sweep['rep1'].archived:,}; "
        f"bare SELECT id {sweep['bare_s'] * 1000:.1f} ms; ratio {sweep['ratio']:.0f}×"
    )
    say(
        f"  sweep #2 same now: {sweep['sweep2_s']:.3f} s, notices {sweep['raised2']}, new rows {sweep['new_rows2']} "
        f"({'idempotent' if sweep['raised2'] == 0 and sweep['new_rows2'] == (0, 0, 0) else 'NOT IDEMPOTENT'})"
    )
    say(f"  total wall time {time.perf_counter() - t_start:.0f} s")
    say("=" * 100)


if __name__ == "__main__":
    _args = parse_args()
    try:
        main()
    finally:
        try:
            teardown_database(_args)
        except Exception as exc:
            print(f"teardown failed: {exc}", file=sys.stderr)
