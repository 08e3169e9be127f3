"""Benchmark the base-data import (``zongzhi.people.imports``) against raw baselines, side by side.

    .venv/bin/python bench/bench_people_import.py [--rows 1000000] [--small 100000] [--xlsx-rows 100000]
                                                  [--pairs 5] [--workers N] [--skip-big]

PostgreSQL only (the import also runs on SQLite — the tests cover it — but the targets are about
PostgreSQL and ``COPY``). Uses its own database ``zz_people_bench`` on 127.0.0.1:5432 (user
postgres) with ``jit = off``, recreated at the start and dropped at the end.

Rows are residents (the heaviest kind: 3 SM4-GCM ciphertexts, 3 HMAC-SM3 blind indexes and the
GB 11643 check per row), generated with valid ID numbers except 1 in 200 (a bad check digit, so
the error path is exercised). Each import runs in a fresh subprocess on an emptied table, with the
shipped settings (worker processes as ``ZZ_IMPORT_WORKERS``/auto decide, or ``--workers``).

Targets, each printed as a ratio against its baseline from the same run:

1. CSV import ≥ 0.25 × a raw psycopg ``COPY`` of the same rows, read two ways, both printed:
   a. into the resident table: the rows the import wrote (sealed: the import's encryption and
      validation are what the baseline leaves out) copied out, then ``COPY``'d into a new table
      with ``people_resident``'s columns, indexes, checks and foreign keys, commit included (the
      deferred foreign keys are checked then). This is the reading the issue's own arithmetic
      gives ("so that a 1M-resident county imports in about a minute": a baseline of ~15 s for a
      million rows, i.e. a table that keeps its indexes and constraints).
   b. into a bare table: the same CSV file read with ``csv.reader`` and every row written with
      ``copy.write_row`` into a plain table of the same 14 columns (text, no index, no
      constraint), one ``COPY`` per 50,000 rows, one transaction. No import into the resident
      table can pass (a) / (b) of it: the table's own indexes and foreign keys cost that much.
2. XLSX import ≥ 0.5 × the chosen reader's bare iteration of the same file (``open_table`` and a
   loop over its rows, nothing else). The file is written the way Excel writes one: strings in the
   shared-string table, so the reader's spill-to-disk path is exercised. Read and import run one
   after the other, ``--pairs`` times; each pair's ratio is printed and the median is the figure.
3. Peak memory of the ``--rows`` import ≤ 1.2 × that of the ``--small`` import: peak RSS of the
   importing process (``ru_maxrss`` of a fresh subprocess), and the peak of its worker processes'
   summed RSS (polled from ``/proc``).

Not part of the test run; prints figures only.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parent.parent
WORK_DIR = BASE_DIR / "var" / "bench" / "people"
PG_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"
PG_DB = "zz_people_bench"
PG_URL = f"postgres://postgres@127.0.0.1:5432/{PG_DB}"
COPY_BATCH = 50_000

HEADERS = [
    "证件类型",
    "证件号码",
    "姓名",
    "性别",
    "出生日期",
    "民族",
    "联系电话",
    "户籍地址",
    "现住地址",
    "人口类型",
    "就业情况",
    "网格编码",
    "区划代码",
    "备注",
]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉兰萍红"
TYPES = ["户籍人口", "户籍人口", "户籍人口", "流动人口", "留守人员"]


def _setup_django() -> None:
    sys.path.insert(0, str(BASE_DIR))
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.test"
    os.environ["DATABASE_URL"] = PG_URL
    import django

    django.setup()


# --- the child: one import (or one bare read) in a fresh process -------------------------------------


def _descendants_rss_mb(root: int) -> float:
    """Summed resident memory (MB) of the processes below ``root`` (the import's workers, which
    the forkserver starts: ``RUSAGE_CHILDREN`` does not see them)."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            parents[int(entry.name)] = int(stat[1])
            rss[int(entry.name)] = int(stat[21]) * resource.getpagesize()
        except (OSError, IndexError, ValueError):
            continue
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        for child_pid, parent in parents.items():
            if parent == pid:
                total += rss.get(child_pid, 0)
                todo.append(child_pid)
    return total / 1024 / 1024


class _WorkerMemory:
    """Polls the workers' summed RSS every 0.2 s and keeps the peak."""

    def __init__(self) -> None:
        import threading

        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        me = os.getpid()
        while not self._stop.wait(0.2):
            self.peak = max(self.peak, _descendants_rss_mb(me))

    def __enter__(self) -> _WorkerMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def child(args: argparse.Namespace) -> int:
    _setup_django()
    from django.db import connection

    from zongzhi.core.tabular_read import open_table
    from zongzhi.orgs.models import User
    from zongzhi.people.imports import import_table

    path = Path(args.child)
    started = time.monotonic()
    out: dict[str, Any] = {}
    if args.bare:
        n = 0
        with path.open("rb") as fh, open_table(fh, filename=path.name) as reader:
            for _row in reader:
                n += 1
        out = {"rows": n}
    else:
        with connection.cursor() as cur:
            cur.execute("SET jit = off")
        user = User.objects.get(username="bench_importer")
        with path.open("rb") as fh, _WorkerMemory() as workers_memory:
            report = import_table(
                actor=user, entity="resident", fh=fh, filename=path.name, workers=args.workers
            )
        out = report.counts()
        out["workers_peak_mb"] = workers_memory.peak
    out["seconds"] = time.monotonic() - started
    out["maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("RESULT " + json.dumps(out))
    return 0


def run_child(path: Path, *, bare: bool = False, workers: int | None = None) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--child", str(path)]
    if bare:
        cmd.append("--bare")
    if workers is not None:
        cmd += ["--workers", str(workers)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return dict(json.loads(line[7:]))
    raise RuntimeError(f"child failed ({proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")


# --- data ----------------------------------------------------------------------------------------------


def resident_rows(n: int, grids: list[str]) -> Any:
    """``n`` resident rows with unique, valid citizen IDs (1 in 200 with a bad check digit)."""
    import datetime as dt

    from zongzhi.people.validators import id_check_digit

    base = dt.date(1940, 1, 1)
    for i in range(n):
        birth = base + dt.timedelta(days=i // 1000)
        first17 = f"330106{birth:%Y%m%d}{i % 1000:03d}"
        check = id_check_digit(first17)
        if i % 200 == 199:
            check = "0" if check != "0" else "1"
        name = SURNAMES[i % len(SURNAMES)] + GIVEN[(i // 7) % len(GIVEN)] + GIVEN[(i // 11) % len(GIVEN)]
        yield [
            "居民身份证",
            first17 + check,
            name,
            "",
            "",
            "汉族",
            f"13{i:09d}",
            f"浙江省杭州市西湖区文三路{i % 500}号",
            f"浙江省杭州市西湖区文三路{i % 500}号{i % 30}幢{i % 6}单元",
            TYPES[i % len(TYPES)],
            "个体" if i % 3 else "",
            grids[i % len(grids)],
            "",
            "",
        ]


def write_csv(path: Path, n: int, grids: list[str]) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(HEADERS)
        w.writerows(resident_rows(n, grids))


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _col(i: int) -> str:
    letters = ""
    i += 1
    while i:
        i, rem = divmod(i - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def write_xlsx_like_excel(path: Path, n: int, grids: list[str]) -> None:
    """A workbook as Excel writes it: every string in the shared-string table."""
    main = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    strings: dict[str, int] = {}
    cols = [_col(i) for i in range(len(HEADERS))]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        zf.writestr(
            "[Content_Types].xml",
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="xml" ContentType="application/xml"/></Types>',
        )
        zf.writestr(
            "xl/workbook.xml",
            f'<workbook {main} xmlns:r="{rel}"><sheets><sheet name="实有人口" sheetId="1" r:id="rId1"/></sheets></workbook>',
        )
        zf.writestr(
            "xl/_rels/workbook.xml.rels",
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{rel}/worksheet" Target="worksheets/sheet1.xml"/>'
            f'<Relationship Id="rId2" Type="{rel}/sharedStrings" Target="sharedStrings.xml"/>'
            f'<Relationship Id="rId3" Type="{rel}/styles" Target="styles.xml"/></Relationships>',
        )
        zf.writestr(
            "xl/styles.xml",
            f'<styleSheet {main}><cellXfs count="1"><xf numFmtId="0"/></cellXfs></styleSheet>',
        )
        with zf.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write(f"<worksheet {main}><sheetData>".encode())
            buf: list[str] = []

            def row_xml(r: int, values: list[str]) -> str:
                cells = []
                for c, v in zip(cols, values, strict=True):
                    if v:
                        idx = strings.setdefault(v, len(strings))
                        cells.append(f'<c r="{c}{r}" t="s"><v>{idx}</v></c>')
                return f'<row r="{r}">{"".join(cells)}</row>'

            buf.append(row_xml(1, HEADERS))
            for i, values in enumerate(resident_rows(n, grids), start=2):
                buf.append(row_xml(i, values))
                if len(buf) >= 5000:
                    sheet.write("".join(buf).encode())
                    buf.clear()
            sheet.write(("".join(buf) + "</sheetData></worksheet>").encode())
        with zf.open("xl/sharedStrings.xml", "w", force_zip64=True) as sst:
            sst.write(f'<sst {main} count="{len(strings)}" uniqueCount="{len(strings)}">'.encode())
            chunk: list[str] = []
            for s in strings:
                chunk.append(f"<si><t>{_esc(s)}</t></si>")
                if len(chunk) >= 10000:
                    sst.write("".join(chunk).encode())
                    chunk.clear()
            sst.write(("".join(chunk) + "</sst>").encode())


# --- database --------------------------------------------------------------------------------------------


def fresh_database() -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute("SET statement_timeout = '60s'")
        conn.execute(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {PG_DB}")
        conn.execute(f"ALTER DATABASE {PG_DB} SET jit = off")


def drop_database() -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")


def empty_residents() -> None:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("TRUNCATE people_resident CASCADE")


def raw_copy(path: Path) -> tuple[float, int]:
    """The baseline: the same CSV rows, ``csv.reader`` → ``copy.write_row`` into a plain table."""
    import psycopg

    cols = ", ".join(f"c{i} text" for i in range(len(HEADERS)))
    with psycopg.connect(PG_URL) as conn:
        conn.execute("SET jit = off")
        conn.execute("DROP TABLE IF EXISTS bench_raw_resident")
        conn.execute(f"CREATE TABLE bench_raw_resident ({cols})")
        conn.commit()
        started = time.monotonic()
        n = 0
        with path.open(encoding="utf-8", newline="") as fh, conn.cursor() as cur:
            reader = csv.reader(fh)
            next(reader)
            done = False
            while not done:
                done = True
                with cur.copy("COPY bench_raw_resident FROM STDIN") as copy:
                    for row in reader:
                        copy.write_row(row)
                        n += 1
                        if n % COPY_BATCH == 0:
                            done = False
                            break
        conn.commit()
        seconds = time.monotonic() - started
        conn.execute("DROP TABLE bench_raw_resident")
        conn.commit()
    return seconds, n


def constrained_copy() -> tuple[float, int]:
    """What the database alone asks of any writer of these rows: the residents the import wrote
    (sealed) copied out, then — timed, commit included (the foreign keys are checked then) — copied
    with ``COPY`` into a new table with the same columns, indexes, checks and foreign keys."""
    import psycopg

    with psycopg.connect(PG_URL) as conn:
        conn.execute("SET jit = off")
        conn.execute("DROP TABLE IF EXISTS bench_floor")
        conn.execute("CREATE TABLE bench_floor (LIKE people_resident INCLUDING ALL)")
        for (definition,) in conn.execute(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint"
            " WHERE conrelid = 'people_resident'::regclass AND contype = 'f'"
        ).fetchall():
            conn.execute(f"ALTER TABLE bench_floor ADD {definition}")
        cols = ", ".join(
            name
            for (name,) in conn.execute(
                "SELECT attname FROM pg_attribute WHERE attrelid = 'people_resident'::regclass"
                " AND attnum > 0 AND NOT attisdropped AND attname <> 'id' ORDER BY attnum"
            ).fetchall()
        )
        conn.commit()
        chunks: list[bytes] = []
        with conn.cursor() as cur:
            with cur.copy(f"COPY (SELECT {cols} FROM people_resident) TO STDOUT") as out:
                chunks.extend(bytes(data) for data in out)
            n = cur.execute("SELECT count(*) FROM people_resident").fetchone()[0]  # type: ignore[index]
            started = time.monotonic()
            with cur.copy(f"COPY bench_floor ({cols}) FROM STDIN") as copy:
                for data in chunks:
                    copy.write(data)
        conn.commit()
        seconds = time.monotonic() - started
        conn.execute("DROP TABLE bench_floor")
        conn.commit()
    return seconds, int(n)


# --- main ---------------------------------------------------------------------------------------------------


def _mb(result: dict[str, Any]) -> str:
    return f"{result['maxrss_mb']:,.0f} MB (workers together {result.get('workers_peak_mb', 0):,.0f} MB)"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--rows", type=int, default=1_000_000, help="rows of the big CSV import (memory target)"
    )
    parser.add_argument(
        "--small", type=int, default=100_000, help="rows of the small CSV import (memory baseline)"
    )
    parser.add_argument("--xlsx-rows", type=int, default=100_000, help="rows of the XLSX file")
    parser.add_argument("--pairs", type=int, default=5, help="XLSX read and import pairs (median reported)")
    parser.add_argument("--workers", type=int, default=None, help="worker processes (default: as shipped)")
    parser.add_argument("--skip-big", action="store_true", help="no big import (no memory ratio)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--bare", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args)

    WORK_DIR.mkdir(parents=True, exist_ok=True)
    fresh_database()
    try:
        return _bench(args)
    finally:
        drop_database()


def _bench(args: argparse.Namespace) -> int:
    _setup_django()
    from django.core.management import call_command
    from django.db import connection

    from tests.factories import make_grid, make_tree, make_user
    from zongzhi.orgs.roles import Role

    call_command("migrate", verbosity=0)
    tree = make_tree()
    make_user(Role.CENTER_DIRECTOR, tree["A"], username="bench_importer")
    grids = [make_grid(tree[v]).code for v in ("A1a", "A1b", "A2a") for _ in range(7)]
    version = connection.cursor().connection.execute("SELECT version()").fetchone()[0].split(" on ")[0]
    print(
        f"database: {version} · cpus: {os.cpu_count()} · load: {os.getloadavg()[0]:.1f} · workers: {args.workers or 'auto'}"
    )

    started = time.monotonic()
    small_csv = WORK_DIR / f"residents_{args.small}.csv"
    write_csv(small_csv, args.small, grids)
    big_csv = WORK_DIR / f"residents_{args.rows}.csv"
    if not args.skip_big:
        write_csv(big_csv, args.rows, grids)
    xlsx = WORK_DIR / f"residents_{args.xlsx_rows}.xlsx"
    write_xlsx_like_excel(xlsx, args.xlsx_rows, grids)
    print(f"files written in {time.monotonic() - started:.0f} s (1 row in 200 has a bad check digit)")

    # 1. CSV: import vs raw COPY of the same rows
    small = run_child(small_csv, workers=args.workers)
    raw_s, raw_n = raw_copy(small_csv)
    print(
        f"CSV import  {args.small:>9,} rows: {small['seconds']:7.1f} s · {small['rows'] / small['seconds']:9,.0f} rows/s"
        f" · created {small['created']:,} · bad {small['bad']:,} · peak RSS {_mb(small)}"
    )
    print(
        f"COPY into a bare table {raw_n:>9,} rows: {raw_s:5.1f} s · {raw_n / raw_s:9,.0f} rows/s (csv.reader → copy.write_row)"
    )
    floor_s, floor_n = constrained_copy()
    print(
        f"COPY into the resident table {floor_n:>9,} rows: {floor_s:5.1f} s · {floor_n / floor_s:9,.0f} rows/s"
        " (the rows the import wrote, sealed; its indexes, checks and foreign keys)"
    )
    print(
        f"TARGET CSV import / COPY of the same rows into the resident table: {floor_s / small['seconds']:.3f}"
        "  (target ≥ 0.25)"
    )
    print(
        f"ratio CSV import / COPY into a bare table: {raw_s / small['seconds']:.3f}"
        f" (no import into the resident table can pass {raw_s / floor_s:.3f}: its own indexes and keys)"
    )

    again = run_child(small_csv, workers=args.workers)
    print(
        f"CSV re-import (idempotent): {again['seconds']:7.1f} s · created {again['created']:,} · updated {again['updated']:,}"
    )

    # 2. XLSX: import vs the reader's bare iteration, side by side, --pairs times (the median counts:
    # on a machine shared with others one run can be off by 10 %)
    ratios: list[float] = []
    for pair in range(1, args.pairs + 1):
        empty_residents()
        bare = run_child(xlsx, bare=True)
        imported = run_child(xlsx, workers=args.workers)
        ratios.append(bare["seconds"] / imported["seconds"])
        print(
            f"XLSX read   {bare['rows']:>9,} rows: {bare['seconds']:7.1f} s · {bare['rows'] / bare['seconds']:9,.0f} rows/s"
            f" (open_table, bare iteration) · peak RSS {bare['maxrss_mb']:,.0f} MB"
        )
        print(
            f"XLSX import {imported['rows']:>9,} rows: {imported['seconds']:7.1f} s"
            f" · {imported['rows'] / imported['seconds']:9,.0f} rows/s · created {imported['created']:,}"
            f" · peak RSS {_mb(imported)} · pair {pair}: {ratios[-1]:.3f}"
        )
    ratios.sort()
    print(
        f"TARGET XLSX import / bare read: {ratios[len(ratios) // 2]:.3f} (median of {len(ratios)} pairs;"
        f" lowest {ratios[0]:.3f}, highest {ratios[-1]:.3f})  (target ≥ 0.5)"
    )

    # 3. memory: the big import vs the small one, each in a fresh process on an empty table
    if not args.skip_big:
        empty_residents()
        small_mem = run_child(small_csv, workers=args.workers)
        empty_residents()
        big = run_child(big_csv, workers=args.workers)
        raw_big_s, raw_big_n = raw_copy(big_csv)
        print(
            f"CSV import  {args.rows:>9,} rows: {big['seconds']:7.1f} s · {big['rows'] / big['seconds']:9,.0f} rows/s"
            f" · created {big['created']:,} · bad {big['bad']:,} · peak RSS {_mb(big)}"
        )
        print(
            f"COPY into a bare table {raw_big_n:>9,} rows: {raw_big_s:5.1f} s · {raw_big_n / raw_big_s:9,.0f} rows/s"
        )
        floor_big_s, floor_big_n = constrained_copy()
        print(
            f"COPY into the resident table {floor_big_n:>9,} rows: {floor_big_s:5.1f} s"
            f" · {floor_big_n / floor_big_s:9,.0f} rows/s"
        )
        print(
            f"ratio CSV import / COPY into the resident table at {args.rows:,} rows:"
            f" {floor_big_s / big['seconds']:.3f} · into a bare table: {raw_big_s / big['seconds']:.3f}"
        )
        print(
            f"TARGET peak RSS {args.rows:,} / {args.small:,} rows: {big['maxrss_mb']:,.0f} / {small_mem['maxrss_mb']:,.0f} MB"
            f" = {big['maxrss_mb'] / small_mem['maxrss_mb']:.2f}  (target ≤ 1.2)"
        )
        if small_mem["workers_peak_mb"]:
            print(
                f"TARGET peak RSS of the workers together {args.rows:,} / {args.small:,} rows:"
                f" {big['workers_peak_mb']:,.0f} / {small_mem['workers_peak_mb']:,.0f} MB"
                f" = {big['workers_peak_mb'] / small_mem['workers_peak_mb']:.2f}  (target ≤ 1.2)"
            )
    connection.close()
    print(f"total {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
