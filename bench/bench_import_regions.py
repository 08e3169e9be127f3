"""Benchmark ``import_division_tree`` against a raw bulk insert of the same rows.

    .venv/bin/python bench/bench_import_regions.py [--db sqlite|postgres] [--root CODE]

Sets Django up with the test settings against a fresh database (SQLite: var/bench/bench_import.sqlite3;
PostgreSQL: database ``zongzhi_bench`` on 127.0.0.1:5432 as user postgres, dropped and recreated),
migrates, then times:

1. the import (regions + their centers, one transaction) — rows/s;
2. an idempotent re-run (nothing to write);
3. the baseline: the same region and center rows (same columns, same unique/plain indexes, no
   foreign keys) inserted with plain ``INSERT`` statements through the DB cursor's ``executemany``
   in batches of 5,000, in one transaction, into scratch tables — and the ratio import / raw.

Not part of the test run; prints figures only.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
BENCH_DIR = BASE_DIR / "var" / "bench"
PG_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"
PG_DB = "zongzhi_bench"
RAW_BATCH = 5000

RAW_DDL = {
    "sqlite": [
        "CREATE TABLE bench_raw_region (id integer PRIMARY KEY, code varchar(12) NOT NULL UNIQUE,"
        " name varchar(100) NOT NULL, level varchar(10) NOT NULL, parent_id bigint NULL,"
        " path varchar(80) NOT NULL UNIQUE, boundary_geojson text NOT NULL, updated_at datetime NOT NULL)",
        "CREATE INDEX bench_raw_region_level ON bench_raw_region (level)",
        "CREATE INDEX bench_raw_region_parent ON bench_raw_region (parent_id)",
        "CREATE TABLE bench_raw_center (id integer PRIMARY KEY AUTOINCREMENT, region_id bigint NOT NULL UNIQUE,"
        " name varchar(120) NOT NULL, kind varchar(16) NOT NULL, region_path varchar(80) NOT NULL,"
        " phone varchar(32) NOT NULL, address varchar(200) NOT NULL)",
        "CREATE INDEX bench_raw_center_path ON bench_raw_center (region_path)",
    ],
    "postgres": [
        "CREATE TABLE bench_raw_region (id bigint PRIMARY KEY, code varchar(12) NOT NULL UNIQUE,"
        " name varchar(100) NOT NULL, level varchar(10) NOT NULL, parent_id bigint NULL,"
        " path varchar(80) NOT NULL UNIQUE, boundary_geojson text NOT NULL, updated_at timestamptz NOT NULL)",
        "CREATE INDEX bench_raw_region_level ON bench_raw_region (level)",
        "CREATE INDEX bench_raw_region_parent ON bench_raw_region (parent_id)",
        "CREATE TABLE bench_raw_center (id bigserial PRIMARY KEY, region_id bigint NOT NULL UNIQUE,"
        " name varchar(120) NOT NULL, kind varchar(16) NOT NULL, region_path varchar(80) NOT NULL,"
        " phone varchar(32) NOT NULL, address varchar(200) NOT NULL)",
        "CREATE INDEX bench_raw_center_path ON bench_raw_center (region_path)",
    ],
}


def fresh_database(db: str) -> None:
    if db == "sqlite":
        BENCH_DIR.mkdir(parents=True, exist_ok=True)
        path = BENCH_DIR / "bench_import.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        os.environ["DATABASE_URL"] = f"sqlite:///{path}"
        return
    import psycopg

    name = PG_DB
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        # DROP DATABASE waits for every backend of the cluster to absorb a signal barrier; a long
        # statement in another database can hold it up for minutes. Then use a spare database
        # whose schema is emptied instead.
        conn.execute("SET statement_timeout = '20s'")
        try:
            conn.execute(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {PG_DB}")
        except psycopg.errors.QueryCanceled:
            name = f"{PG_DB}_spare"
            print(f"(DROP DATABASE {PG_DB} blocked by another session: using {name}, schema emptied)")
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
                conn.execute(f"CREATE DATABASE {name}")
            with psycopg.connect(f"postgres://postgres@127.0.0.1:5432/{name}", autocommit=True) as spare:
                spare.execute("DROP SCHEMA public CASCADE")
                spare.execute("CREATE SCHEMA public")
    bench_url = f"postgres://postgres@127.0.0.1:5432/{name}"
    os.environ["DATABASE_URL"] = bench_url


def raw_baseline(db: str) -> tuple[float, int]:
    """Insert the imported rows again, with plain INSERTs, into scratch tables; (seconds, rows)."""
    from django.db import connection, transaction

    with connection.cursor() as cur:
        cur.execute(
            "SELECT id, code, name, level, parent_id, path, boundary_geojson, updated_at FROM orgs_region"
        )
        regions = cur.fetchall()
        cur.execute("SELECT region_id, name, kind, region_path, phone, address FROM orgs_center")
        centers = cur.fetchall()
        for ddl in RAW_DDL[db]:
            cur.execute(ddl)
    region_sql = (
        "INSERT INTO bench_raw_region (id, code, name, level, parent_id, path, boundary_geojson, updated_at)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
    )
    center_sql = (
        "INSERT INTO bench_raw_center (region_id, name, kind, region_path, phone, address)"
        " VALUES (%s, %s, %s, %s, %s, %s)"
    )
    started = time.monotonic()
    with transaction.atomic(), connection.cursor() as cur:
        for start in range(0, len(regions), RAW_BATCH):
            cur.executemany(region_sql, regions[start : start + RAW_BATCH])
        for start in range(0, len(centers), RAW_BATCH):
            cur.executemany(center_sql, centers[start : start + RAW_BATCH])
    return time.monotonic() - started, len(regions) + len(centers)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--root", default=None, help="code prefix (default: the whole country)")
    args = parser.parse_args()

    sys.path.insert(0, str(BASE_DIR))
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.test"
    fresh_database(args.db)

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    from zongzhi.orgs.region_import import import_division_tree

    call_command("migrate", verbosity=0)
    data_dir = Path(settings.SHARED_DATA_DIR) / "divisions"
    vendor = connection.vendor
    version = (
        connection.cursor().connection.execute("SELECT version()").fetchone()[0]
        if vendor == "postgresql"
        else ("SQLite " + __import__("sqlite3").sqlite_version)
    )
    print(
        f"database: {vendor} ({version.split(' on ')[0]}) · root: {args.root or 'whole country'} · cpus: {os.cpu_count()}"
    )

    first = import_division_tree(root=args.root, data_dir=data_dir)
    regions = first.added
    written = first.added + first.centers_created
    print(
        f"import      : {first.elapsed:8.1f} s · {regions:,} regions + {first.centers_created:,} centers"
        f" · {regions / first.elapsed:,.0f} regions/s · {written / first.elapsed:,.0f} rows/s"
        f" · bad rows {len(first.bad_rows)} · placeholders {len(first.placeholders)}"
    )
    again = import_division_tree(root=args.root, data_dir=data_dir)
    print(
        f"re-run      : {again.elapsed:8.1f} s · added {again.added} · updated {again.updated}"
        f" · unchanged {again.unchanged:,}"
    )
    raw_seconds, raw_rows = raw_baseline(args.db)
    print(
        f"raw INSERTs : {raw_seconds:8.1f} s · {raw_rows:,} rows · {raw_rows / raw_seconds:,.0f} rows/s"
        f" (executemany, batches of {RAW_BATCH:,})"
    )
    print(f"ratio import / raw: {first.elapsed / raw_seconds:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
