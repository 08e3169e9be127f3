#!/usr/bin/env bash
# The test run behind `make test` (after setup and lint): pytest on SQLite, then on PostgreSQL
# when a server answers at 127.0.0.1:5432.
#
# Environment:
#   ZZ_SKIP_POSTGRES=1        skip the PostgreSQL run even when a server is reachable
#   ZZ_TEST_POSTGRES_URL      the PostgreSQL URL (default postgres://postgres@127.0.0.1:5432/zongzhi;
#                             pytest-django creates and drops its own test_* database)
#   ZZ_PYTEST_WORKERS         pytest-xdist workers: a number, "auto" (default) or 0 for none
#   PYTEST_ADDOPTS            extra pytest arguments (pytest reads it itself)
set -euo pipefail
cd "$(dirname "$0")/.."

PY=.venv/bin/python
PG_URL="${ZZ_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/zongzhi}"
workers="${ZZ_PYTEST_WORKERS:-auto}"

args=(-q -ra --durations=10)
if [[ "$workers" != "0" ]]; then
    args+=(-n "$workers")
fi
mkdir -p var

run_pytest() {
    local label="$1" url="$2" rc=0
    echo
    echo "== pytest on $label"
    DJANGO_SETTINGS_MODULE=config.settings.test DATABASE_URL="$url" "$PY" -m pytest "${args[@]}" || rc=$?
    if [[ $rc -eq 5 ]]; then
        echo "pytest on $label collected no tests: that counts as a failure" >&2
        exit 1
    elif [[ $rc -ne 0 ]]; then
        echo "pytest on $label failed (exit code $rc)" >&2
        exit "$rc"
    fi
}

postgres_reachable() {
    if command -v pg_isready >/dev/null 2>&1 && pg_isready -q -h 127.0.0.1 -p 5432 -t 3; then
        return 0
    fi
    "$PY" - "$PG_URL" <<'PYEOF' >/dev/null 2>&1
import sys

import psycopg
from urllib.parse import urlsplit

u = urlsplit(sys.argv[1])
psycopg.connect(
    host=u.hostname, port=u.port or 5432, user=u.username or "postgres", password=u.password,
    dbname="postgres", connect_timeout=3,
).close()
PYEOF
}

start=$SECONDS
run_pytest "SQLite" "sqlite:///$PWD/var/test.sqlite3"

if [[ "${ZZ_SKIP_POSTGRES:-}" == "1" ]]; then
    echo
    echo "ZZ_SKIP_POSTGRES=1: skipped the PostgreSQL run"
elif postgres_reachable; then
    run_pytest "PostgreSQL ($PG_URL)" "$PG_URL"
else
    echo
    echo "PostgreSQL not reachable at 127.0.0.1:5432: skipped the PostgreSQL run"
fi
echo
echo "make test: tests finished in $((SECONDS - start)) s"
