"""Bulk import of base data: every bad row reported (row, column, reason), the good rows kept,
re-imports idempotent, CSV (UTF-8 and GBK) and XLSX, files that are not tables rejected, grid
assignment from coordinates, scope per row, the background job and its pages, the API."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import time
import zipfile
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from openpyxl import Workbook, load_workbook
from shapely.geometry import box, mapping

from tests.factories import make_grid
from zongzhi.core.errors import FieldError, PermissionDeniedError
from zongzhi.core.models import AuditLog, BackgroundJob
from zongzhi.core.tabular_read import ReadAhead, SharedStrings, TableFormatError, open_table
from zongzhi.geo.index import grids_changed
from zongzhi.people import services
from zongzhi.people.imports import RESIDENT, import_start, import_table
from zongzhi.people.models import House, Organization, Place, Resident, SpecialGroupMembership
from zongzhi.people.records import ResidentInput
from zongzhi.people.sealing import ID_NUMBER, NAME, PHONE, id_number_lookup, unseal

from .conftest import make_id

pytestmark = pytest.mark.django_db

HEAD = "证件类型,证件号码*,姓名*,性别,出生日期,民族,联系电话,户籍地址,现住地址,人口类型,就业情况,网格编码,区划代码,备注"
ID1 = make_id("330106", "19900101", "123")
ID2 = make_id("330106", "19851231", "456")
ID3 = make_id("330106", "20000229", "789")


def _csv(*lines: str, head: str = HEAD, encoding: str = "utf-8") -> io.BytesIO:
    return io.BytesIO(("\n".join([head, *lines]) + "\n").encode(encoding))


def _row(
    id_number: str = ID1,
    name: str = "张三",
    *,
    id_type: str = "居民身份证",
    sex: str = "",
    birth: str = "",
    phone: str = "13800000000",
    rtype: str = "户籍人口",
    grid: str = "",
    region: str = "",
) -> str:
    return (
        f"{id_type},{id_number},{name},{sex},{birth},汉族,{phone},户籍地,现住地,{rtype},个体,{grid},{region},"
    )


def _import(world: Any, data: io.BytesIO, *, user: Any = None, entity: str = "resident", **kw: Any) -> Any:
    return import_table(actor=user or world.director, entity=entity, fh=data, filename="t.csv", **kw)


def _errors(report: Any) -> list[tuple[int, str, str]]:
    return [(e.row, e.column, e.reason) for e in report.errors]


def _bad_checkdigit(number: str) -> str:
    return number[:17] + ("0" if number[17] != "0" else "1")


# --- rows, errors, good rows kept --------------------------------------------------------------------


def test_every_bad_row_is_reported_with_row_column_and_reason_and_good_rows_are_kept(world: Any) -> None:
    g = world.grid.code
    region = world.r["A1b"].code
    data = _csv(
        _row(ID1, grid=g),  # 2 good
        _row(_bad_checkdigit(ID2), grid=g),  # 3 bad check digit
        _row(ID3, grid="330000000000999"),  # 4 unknown grid
        _row(ID1, "李四", grid=g),  # 5 duplicate of row 2
        _row("E12345678", id_type="护照", birth="1990-13-45", grid=g),  # 6 bad date
        _row(make_id(seq="111"), "", grid=g),  # 7 missing name
        _row("P7654321", "Smith", id_type="护照", birth="1980/05/06", rtype="境外", region=region),  # 8 good
        ",,,,,,,,,,,,,",  # 9 blank: skipped
        _row(make_id(seq="222"), phone="12345", grid=g),  # 10 bad phone
        _row(make_id(birth="19700101", seq="333"), birth="1971-01-01", grid=g),  # 11 birth date vs ID
        _row(make_id(seq="444"), rtype="常住", grid=g),  # 12 bad choice
        _row(make_id(seq="555")),  # 13 neither grid nor region
    )
    err = io.BytesIO()
    report = _import(world, data, error_target=err)

    assert (report.rows, report.created, report.updated, report.bad) == (11, 2, 0, 9)
    assert _errors(report) == [
        (3, "证件号码", "身份证号码校验位错误。"),
        (4, "网格编码", "网格编码不存在或不在您的管辖范围内。"),
        (5, "证件号码", "与第 2 行重复。"),
        (6, "出生日期", "日期不存在。"),
        (7, "姓名", "必填项为空。"),
        (10, "联系电话", "电话号码格式不正确（11位手机号或带区号的固定电话）。"),
        (11, "出生日期", "出生日期与身份证号码不一致。"),
        (12, "人口类型", "取值无效，可选：户籍人口、流动人口、境外人员、留守人员。"),
        (13, "区划代码", "请填写网格编码或区划代码。"),
    ]
    kept = {unseal(r.id_number_enc, ID_NUMBER): r for r in Resident.objects.all()}
    assert set(kept) == {ID1, "P7654321"}
    first = kept[ID1]
    assert (first.grid_id, first.region_id, first.sex, first.birth_date) == (
        world.grid.pk,
        world.r["A1a"].pk,
        "male",
        dt.date(1990, 1, 1),
    )
    assert unseal(first.name_enc, NAME) == "张三"  # the first of the duplicates wins
    foreign = kept["P7654321"]
    assert (foreign.grid_id, foreign.region_id, foreign.resident_type) == (
        None,
        world.r["A1b"].pk,
        "overseas",
    )
    assert foreign.birth_date == dt.date(1980, 5, 6)

    # the error file: the upload's format, the bad rows with their reasons and original cells
    rows = list(csv.reader(io.StringIO(err.getvalue().decode("utf-8-sig"))))
    assert rows[0] == ["行号", "出错列", "错误原因", *HEAD.split(",")]
    assert [r[0] for r in rows[1:]] == ["3", "4", "5", "6", "7", "10", "11", "12", "13"]
    assert rows[1][1:3] == ["证件号码", "证件号码：身份证号码校验位错误。"]
    assert rows[1][4] == _bad_checkdigit(ID2)

    audit = AuditLog.objects.filter(action="people.import").get()
    assert audit.actor_id == world.director.pk
    assert (audit.data["created"], audit.data["bad"], audit.data["rows"]) == (2, 9, 11)


def test_reimporting_the_same_file_creates_no_duplicates_and_updates(world: Any) -> None:
    lines = [_row(ID1, grid=world.grid.code), _row(ID2, "李四", grid=world.grid.code)]
    first = _import(world, _csv(*lines))
    again = _import(world, _csv(*lines))
    assert (first.created, first.updated, again.created, again.updated) == (2, 0, 0, 2)
    assert Resident.objects.count() == 2

    changed = _import(world, _csv(_row(ID1, "张三丰", phone="13911112222", grid=world.grid.code)))
    assert (changed.created, changed.updated) == (0, 1)
    r = Resident.objects.get(id_number_index=id_number_lookup(ID1))
    assert (unseal(r.name_enc, NAME), unseal(r.phone_enc, PHONE)) == ("张三丰", "13911112222")
    assert Resident.objects.count() == 2


def test_reimport_keeps_creation_fields_and_moves_memberships_with_the_resident(world: Any) -> None:
    from zongzhi.people.services import MembershipInput, membership_enrol

    _import(world, _csv(_row(ID1, grid=world.grid.code)))
    resident = Resident.objects.get()
    created_at = resident.created_at
    membership = membership_enrol(
        actor=world.director,
        resident=resident,
        group="key_youth",
        data=MembershipInput(
            starts_on=dt.date(2024, 1, 1), details={"youth_type": "dropout", "guardian_name": "张父"}
        ),
    )
    _import(world, _csv(_row(ID1, grid=world.sibling_grid.code)))
    resident.refresh_from_db()
    membership.refresh_from_db()
    assert resident.created_at == created_at and resident.grid_id == world.sibling_grid.pk
    assert (membership.region_id, membership.grid_id) == (world.r["A1b"].pk, world.sibling_grid.pk)
    assert membership.region_path == world.r["A1b"].path


# --- formats -------------------------------------------------------------------------------------------


def _xlsx(rows: list[list[Any]], *, write_only: bool = False) -> io.BytesIO:
    """openpyxl's workbook (inline strings)."""
    wb = Workbook(write_only=write_only)
    ws = wb.create_sheet("实有人口") if write_only else wb.active
    for row in rows:
        ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    buf.seek(0)
    return buf


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _excel_like(rows: list[list[Any]]) -> io.BytesIO:
    """A workbook shaped as Excel writes it: strings in the shared-string table (one with rich text
    runs and a phonetic run), dates as serial numbers with a built-in date format (id 14)."""
    strings: dict[str, int] = {}
    sheet = []
    for r, row in enumerate(rows, start=1):
        cells = []
        for c, value in enumerate(row):
            ref = f"{chr(65 + c)}{r}"
            if value is None:
                continue
            if isinstance(value, dt.date):
                serial = (value - dt.date(1899, 12, 30)).days
                cells.append(f'<c r="{ref}" s="1"><v>{serial}</v></c>')
            elif isinstance(value, int | float):
                cells.append(f'<c r="{ref}"><v>{value}</v></c>')
            else:
                index = strings.setdefault(value, len(strings))
                cells.append(f'<c r="{ref}" t="s"><v>{index}</v></c>')
        sheet.append(f'<row r="{r}">{"".join(cells)}</row>')
    sst = []
    for text in strings:
        if text == "张三":  # rich text with a phonetic guide, as Excel stores it
            sst.append(
                '<si><r><t>张</t></r><r><rPr><b/></rPr><t>三</t></r><rPh sb="0" eb="1"><t>zhang</t></rPh></si>'
            )
        else:
            sst.append(f"<si><t>{_esc(text)}</t></si>")
    main = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(
            "[Content_Types].xml",
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="xml" ContentType="application/xml"/></Types>',
        )
        zf.writestr(
            "xl/workbook.xml",
            f'<workbook {main} xmlns:r="{rel}"><sheets><sheet name="人口" sheetId="1" r:id="rId1"/></sheets></workbook>',
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
            f'<styleSheet {main}><cellXfs count="2"><xf numFmtId="0"/><xf numFmtId="14" applyNumberFormat="1"/></cellXfs></styleSheet>',
        )
        zf.writestr("xl/sharedStrings.xml", f'<sst {main} count="{len(sst)}">{"".join(sst)}</sst>')
        zf.writestr(
            "xl/worksheets/sheet1.xml",
            f"<worksheet {main}><sheetData>{''.join(sheet)}</sheetData></worksheet>",
        )
    buf.seek(0)
    return buf


@pytest.mark.parametrize("read_ahead", [False, True])
@pytest.mark.parametrize("maker", ["excel", "openpyxl"])
def test_xlsx_import_reads_strings_dates_and_numbers(
    world: Any, maker: str, read_ahead: bool, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # read ahead: the rows read in a forked child process (as for any .xlsx over 4 MB)
    from zongzhi.people import imports

    settings.ZZ_IMPORT_READ_AHEAD_MB = 0 if read_ahead else None
    children: list[int] = []
    monkeypatch.setattr(
        imports, "ReadAhead", type("Spy", (ReadAhead,), {"__init__": _spy_init(ReadAhead, children)})
    )
    g = world.grid.code
    rows = [
        HEAD.split(","),
        ["居民身份证", ID1, "张三", None, None, "汉族", 13800000000, "", "", "户籍", "", g, None, None],
        ["护照", "E1234567", "Tom", "男", dt.date(1985, 3, 4), "", "0571-87654321", "", "", "", "", g],
        ["居民身份证", _bad_checkdigit(ID2), "李四", None, None, None, None, None, None, None, None, g],
    ]
    data = _excel_like(rows) if maker == "excel" else _xlsx(rows, write_only=True)
    err = io.BytesIO()
    report = import_table(
        actor=world.director, entity="resident", fh=data, filename="r.xlsx", error_target=err
    )
    assert (report.format, report.created, report.bad) == ("xlsx", 2, 1), report.errors
    assert _errors(report) == [(4, "证件号码", "身份证号码校验位错误。")]
    tom = Resident.objects.get(id_number_index=id_number_lookup("E1234567"))
    assert (tom.birth_date, tom.sex, unseal(tom.phone_enc, PHONE)) == (
        dt.date(1985, 3, 4),
        "male",
        "0571-87654321",
    )
    zhang = Resident.objects.get(id_number_index=id_number_lookup(ID1))
    assert (unseal(zhang.name_enc, NAME), unseal(zhang.phone_enc, PHONE)) == ("张三", "13800000000")
    errors = load_workbook(io.BytesIO(err.getvalue()), read_only=True).worksheets[0]
    values = list(errors.iter_rows(values_only=True))
    assert values[0][:3] == ("行号", "出错列", "错误原因") and values[1][0] == 4
    assert len(children) == (1 if read_ahead else 0)
    if read_ahead:
        with pytest.raises(ChildProcessError):
            os.waitpid(children[0], os.WNOHANG)  # reaped


def _spy_init(cls: type, children: list[int]) -> Any:
    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        cls.__init__(self, *args, **kwargs)  # type: ignore[misc]
        children.append(self._pid)

    return init


def test_a_date_typed_in_excel_and_a_datetime_from_openpyxl_both_read_as_dates(world: Any) -> None:
    wb = Workbook()
    ws = wb.active
    ws.append(["证件类型", "证件号码", "姓名", "出生日期", "网格编码"])
    ws.append(["护照", "E7654321", "Ann", dt.datetime(1979, 11, 30), world.grid.code])
    buf = io.BytesIO()
    wb.save(buf)
    buf.seek(0)
    assert import_table(actor=world.director, entity="resident", fh=buf).created == 1
    assert Resident.objects.get().birth_date == dt.date(1979, 11, 30)


def test_gbk_csv_from_chinese_excel_is_read(world: Any) -> None:
    report = _import(world, _csv(_row(ID1, "欧阳秀兰", grid=world.grid.code), encoding="gbk"))
    assert (report.created, report.bad) == (1, 0)
    assert unseal(Resident.objects.get().name_enc, NAME) == "欧阳秀兰"


def test_utf8_bom_and_tab_separated_text_are_read(world: Any) -> None:
    bom = io.BytesIO(b"\xef\xbb\xbf" + _csv(_row(ID1, grid=world.grid.code)).getvalue())
    assert _import(world, bom).created == 1
    tabbed = _csv(_row(ID2, grid=world.grid.code).replace(",", "\t"), head=HEAD.replace(",", "\t"))
    assert _import(world, tabbed).created == 1


def _upload(content: bytes, name: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content)


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (b"%PDF-1.4 binary\x00\x01", "a.pdf", "文件不是 CSV 或 Excel（.xlsx）表格"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "old.xls", "不支持旧版 Excel（.xls）文件"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 20, "photo.csv", "文件不是 CSV 或 Excel（.xlsx）表格"),
        (b"", "empty.csv", "文件是空的"),
        ("证件号码,姓名\n".encode("utf-16"), "u16.csv", "不支持 UTF-16"),
        (b"\xff\xfe\xfd garbage \x81\x82\x83\xfe\xff\n", "junk.csv", "无法识别文件编码"),
    ],
)
def test_files_that_are_not_tables_are_rejected_clearly(
    world: Any, content: bytes, name: str, message: str
) -> None:
    with pytest.raises(FieldError) as exc:
        import_start(actor=world.director, entity="resident", upload=_upload(content, name), filename=name)
    assert exc.value.field == "file" and message in exc.value.message
    assert not BackgroundJob.objects.exists()


def test_a_zip_that_is_not_a_workbook_and_missing_columns_are_rejected(world: Any) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("readme.txt", "hello")
    with pytest.raises(FieldError, match="不是 Excel"):
        import_start(
            actor=world.director,
            entity="resident",
            upload=_upload(buf.getvalue(), "a.xlsx"),
            filename="a.xlsx",
        )
    with pytest.raises(FieldError) as exc:
        import_start(
            actor=world.director,
            entity="resident",
            upload=_upload("姓名,电话\n张三,1\n".encode(), "x.csv"),
            filename="x.csv",
        )
    assert exc.value.code == "missing_columns" and "证件号码" in exc.value.message
    with pytest.raises(FieldError, match="网格编码"):
        _import(world, _csv("1,张三", head="证件号码,姓名"))


def test_a_csv_that_changes_encoding_half_way_fails_with_the_row(world: Any) -> None:
    rows = [
        _row(make_id(birth=f"19{50 + i // 1000}0101", seq=f"{i % 1000:03d}"), grid=world.grid.code)
        for i in range(2000)
    ]
    good = "\n".join([HEAD, *rows])
    data = io.BytesIO((good + "\n").encode("utf-8") + "王五,".encode("gbk") + b"\n")
    with pytest.raises(TableFormatError) as exc:
        _import(world, data)
    assert exc.value.code == "bad_encoding" and "2002" in exc.value.message


# --- writing behind (PostgreSQL, outside a transaction) ---------------------------------------------------


def _pg_connections(settled: int | None = None) -> int:
    """Sessions on this test database; with ``settled``, waited for (up to 5 s) to come down to
    it: a closed session's backend leaves ``pg_stat_activity`` a moment after the close."""
    if connection.vendor != "postgresql":
        return 0
    deadline = time.monotonic() + 5
    while True:
        with connection.cursor() as cur:
            cur.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
            count = int(cur.fetchone()[0])
        if settled is None or count <= settled or time.monotonic() > deadline:
            return count
        time.sleep(0.05)


def _numbered(world: Any, n: int) -> list[str]:
    return [_row(make_id(seq=f"{i:03d}"), grid=world.grid.code) for i in range(n)]


def test_the_registrar_is_a_loose_reference_that_the_audit_log_keeps_from_dangling(world: Any) -> None:
    from django.db.models import ProtectedError

    from tests.factories import make_user
    from zongzhi.orgs.models import User
    from zongzhi.orgs.roles import Role

    report = _import(world, _csv(*_numbered(world, 3)))
    assert report.created == 3
    assert set(Resident.objects.values_list("created_by_id", flat=True)) == {world.director.pk}
    # the importer cannot go: the import's audit row holds them, in the ORM and in the database
    with pytest.raises(ProtectedError) as caught:
        world.director.delete()
    assert {type(o) for o in caught.value.protected_objects} == {AuditLog}
    if connection.vendor == "postgresql":  # the database's own references to users
        with connection.cursor() as cur:
            cur.execute(
                "SELECT conrelid::regclass::text FROM pg_constraint WHERE contype = 'f' AND confrelid = %s::regclass",
                [User._meta.db_table],
            )
            referencing = {row[0] for row in cur.fetchall()}
        assert AuditLog._meta.db_table in referencing
        assert not referencing & {m._meta.db_table for m in (Resident, House, Place, Organization)}
    # a user who never acted can be deleted: the reference is set to NULL as the ORM always did
    clerk = make_user(Role.GRID_WORKER, world.r["A1a"], username="clerk_a1a")
    first = Resident.objects.order_by("id").first()
    assert first is not None
    Resident.objects.filter(pk=first.pk).update(created_by=clerk)
    clerk.delete()
    first.refresh_from_db()
    assert first.created_by_id is None
    assert Resident.objects.count() == 3


@pytest.mark.django_db(transaction=True)
def test_batches_written_behind_on_a_thread_of_their_own_make_the_same_import(
    world: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gc
    import sys
    import threading

    from zongzhi.core.bulk import YOUNG_COLLECTION_EVERY
    from zongzhi.people import imports

    monkeypatch.setattr(imports, "BATCH", 3)
    writers: list[str] = []
    collector: set[tuple[int, bool]] = set()
    process_batch = imports._process_batch

    def spy(*args: Any, **kwargs: Any) -> None:
        writers.append(threading.current_thread().name)
        collector.add((gc.get_threshold()[0], gc.get_freeze_count() > 0))
        process_batch(*args, **kwargs)

    monkeypatch.setattr(imports, "_process_batch", spy)
    switch = sys.getswitchinterval()
    threshold = gc.get_threshold()
    before = _pg_connections()
    lines = _numbered(world, 20)
    lines.insert(5, _row(_bad_checkdigit(ID2), grid=world.grid.code))  # row 7
    lines.append(_row(make_id(seq="003"), grid=world.grid.code))  # row 23, as row 5
    report = _import(world, _csv(*lines))
    assert (report.rows, report.created, report.bad) == (22, 20, 2)
    assert _errors(report) == [(7, "证件号码", "身份证号码校验位错误。"), (23, "证件号码", "与第 5 行重复。")]
    behind = connection.vendor == "postgresql"
    assert set(writers) == ({"people-import-write_0"} if behind else {threading.main_thread().name})
    assert len(writers) == 8
    again = _import(world, _csv(*lines))
    assert (again.created, again.updated, again.bad) == (0, 20, 2)
    assert _errors(again) == _errors(report)
    assert Resident.objects.count() == 20
    assert collector == {(YOUNG_COLLECTION_EVERY, True)}  # quiet while the batches were written
    assert sys.getswitchinterval() == switch  # handed back
    assert (gc.get_threshold(), gc.get_freeze_count()) == (threshold, 0)
    assert _pg_connections(settled=before) == before  # the writing thread's connection closed


@pytest.mark.django_db(transaction=True)
def test_rows_written_behind_are_reported_in_the_language_of_the_import(
    world: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from django.utils import translation

    from zongzhi.people import imports

    monkeypatch.setattr(imports, "BATCH", 3)
    lines = _numbered(world, 5)
    lines.append(lines[0])  # row 7, as row 2: found by the writing step
    with translation.override("en"):
        report = _import(world, _csv(*lines))
    assert (report.created, report.bad) == (5, 1)
    assert _errors(report) == [(7, "证件号码", "Duplicate of line 2.")]


@pytest.mark.django_db(transaction=True)
def test_a_failed_batch_stops_the_import_keeps_what_was_committed_and_audits_it(
    world: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gc
    import sys

    from zongzhi.people import imports

    monkeypatch.setattr(imports, "BATCH", 3)
    insert = imports._Writer.insert
    calls: list[int] = []

    def failing(self: Any, rows: list[Any]) -> None:
        calls.append(len(rows))
        if len(calls) == 2:
            raise RuntimeError("disk full")
        insert(self, rows)

    monkeypatch.setattr(imports._Writer, "insert", failing)
    switch = sys.getswitchinterval()
    threshold = gc.get_threshold()
    before = _pg_connections()
    lines = _numbered(world, 10)
    with pytest.raises(RuntimeError, match="disk full"):
        _import(world, _csv(*lines))
    assert Resident.objects.count() == 3  # the first batch; the second rolled back, no later one
    audit = AuditLog.objects.get(action="people.import")
    assert (audit.data["created"], audit.data["error"]) == (3, "disk full")
    assert sys.getswitchinterval() == switch
    assert (gc.get_threshold(), gc.get_freeze_count()) == (threshold, 0)
    assert _pg_connections(settled=before) == before

    monkeypatch.setattr(imports._Writer, "insert", insert)
    report = _import(world, _csv(*lines))  # the lock was let go: the same file again finishes the job
    assert (report.created, report.updated, report.bad) == (7, 3, 0)


# --- locations and scope ------------------------------------------------------------------------------------


HOUSE_HEAD = "地址*,楼栋,单元,房号,房屋用途,房主,房主电话,面积（平方米）,经度,纬度,网格编码,区划代码,备注"


def _set_polygon(grid: Any, poly: Any) -> None:
    grid.polygon_geojson = json.dumps(mapping(poly))
    grid.min_lon, grid.min_lat, grid.max_lon, grid.max_lat = poly.bounds
    grid.save()
    grids_changed()


def test_rows_with_coordinates_are_assigned_to_their_grid(world: Any) -> None:
    _set_polygon(world.grid, box(120.00, 30.00, 120.01, 30.01))
    _set_polygon(world.sibling_grid, box(120.01, 30.00, 120.02, 30.01))
    data = _csv(
        "文三路100号,1幢,2单元,301,出租,李四,13800000001,88.5,120.005,30.005,,,",  # 2 → grid
        "文三路102号,,,,,,,,120.015,30.005,,,",  # 3 → sibling grid
        f"文三路104号,,,,,,,,121.5,31.5,,{world.r['A2a'].code},",  # 4 no grid there: region kept
        "文三路106号,,,,,,,,121.5,31.5,,,",  # 5 no grid, no region
        "文三路108号,,,,,,,,120.005,,,,",  # 6 longitude without latitude
        "文三路110号,,,,自建,,,abc,,,,,",  # 7 bad use, (the first problem of the row is reported too)
        head=HOUSE_HEAD,
    )
    report = _import(world, data, entity="house")
    assert report.created == 3
    assert _errors(report) == [
        (5, "区划代码", "请填写网格编码或区划代码。"),
        (6, "纬度", "经度和纬度须同时填写。"),
        (7, "房屋用途", "取值无效，可选：自住、出租、经营、空置、其他。"),
        (7, "面积（平方米）", "应为数字。"),
    ]
    by_address = {h.address: h for h in House.objects.all()}
    assert by_address["文三路100号"].grid_id == world.grid.pk
    assert by_address["文三路100号"].area_m2 == pytest.approx(88.5)
    assert by_address["文三路102号"].grid_id == world.sibling_grid.pk
    assert by_address["文三路102号"].region_id == world.r["A1b"].pk
    assert (by_address["文三路104号"].grid_id, by_address["文三路104号"].region_id) == (
        None,
        world.r["A2a"].pk,
    )


def test_rows_outside_the_importers_scope_are_rejected_one_by_one(world: Any) -> None:
    far_grid = make_grid(world.r["B1a"])
    data = _csv(
        _row(ID1, grid=world.grid.code),
        _row(ID2, grid=far_grid.code),
        _row(ID3, region=world.r["B1a"].code),
        _row(make_id(seq="999"), region=world.r["A2a"].code),
    )
    report = _import(world, data)
    assert report.created == 2
    assert _errors(report) == [
        (3, "网格编码", "网格编码不存在或不在您的管辖范围内。"),
        (4, "区划代码", "所属区域不存在或不在您的管辖范围内。"),
    ]
    assert not Resident.objects.filter(region_path__startswith=world.r["B"].path).exists()


def test_a_person_registered_outside_scope_is_neither_updated_nor_duplicated(world: Any) -> None:
    far_grid = make_grid(world.r["B1a"])
    elsewhere = world.resident(ID1, grid=far_grid, name="王五")
    report = _import(world, _csv(_row(ID1, grid=world.grid.code)))
    assert (report.created, report.updated) == (0, 0)
    assert _errors(report) == [(2, "证件号码", "该证件号码已登记。")]
    elsewhere.refresh_from_db()
    assert unseal(elsewhere.name_enc, NAME) == "王五" and elsewhere.grid_id == far_grid.pk


def test_import_needs_the_import_permission(world: Any) -> None:
    with pytest.raises(PermissionDeniedError):
        _import(world, _csv(_row(ID1, grid=world.grid.code)), user=world.worker)
    with pytest.raises(PermissionDeniedError):
        import_start(
            actor=world.worker, entity="resident", upload=_upload(b"a,b\n", "a.csv"), filename="a.csv"
        )
    assert world.client(world.worker).get("/people/import/").status_code == 404
    assert world.api(world.worker, "get", "/people/import/template").status_code == 403


def test_the_database_never_holds_the_imported_clear_values(world: Any) -> None:
    bad = _bad_checkdigit(ID2)
    _import(
        world,
        _csv(
            _row(ID1, "欧阳秀兰", phone="13957123456", grid=world.grid.code), _row(bad, grid=world.grid.code)
        ),
    )
    chunks = []
    with connection.cursor() as cur:
        for table in connection.introspection.table_names():
            cur.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            chunks.extend(str(v) for row in cur.fetchall() for v in row if v is not None)
    text = "\n".join(chunks)
    for value in (ID1, "欧阳秀兰", "13957123456", bad):
        assert value not in text


# --- houses, places, organizations: natural keys ------------------------------------------------------------


def test_houses_places_and_organizations_upsert_by_their_natural_keys(world: Any) -> None:
    region = world.r["A1a"].code
    houses = _csv(f"文三路 100号,3幢,2单元,501室,,,,,,,,{region},", head=HOUSE_HEAD)
    houses_again = _csv(f"文三路100号,3幢,2单元,501室,出租,,,,,,,{region},改", head=HOUSE_HEAD)
    assert _import(world, houses, entity="house").created == 1
    again = _import(world, houses_again, entity="house")
    assert (again.created, again.updated) == (0, 1)
    assert House.objects.get().use == "rent"

    place_head = "场所名称*,场所类型,地址*,负责人,联系电话,是否重点场所,经度,纬度,网格编码,区划代码,备注"
    places = _csv(f"阳光网吧,网吧,文三路1号,赵六,,否,,,{world.grid.code},,", head=place_head)
    assert _import(world, places, entity="place").created == 1
    places.seek(0)
    assert _import(world, places, entity="place").updated == 1
    assert Place.objects.get().is_key is False and Place.objects.get().kind == "internet_cafe"

    org_head = "组织名称*,组织类型,统一社会信用代码,法定代表人,联系电话,地址,是否建有党组织,从业人数,经度,纬度,网格编码,区划代码,备注"
    orgs = _csv(
        f"某科技公司,非公有制经济组织,91350100M000100Y43,钱七,,文三路2号,是,12,,,,{region},",
        f"某协会,社会组织,,孙八,,文三路3号,否,,,,,{region},",
        f"坏代码公司,,91350100M000100Y44,,,,,,,,,{region},",
        head=org_head,
    )
    first = _import(world, orgs, entity="organization")
    orgs.seek(0)
    second = _import(world, orgs, entity="organization")
    assert (first.created, first.bad, second.created, second.updated) == (2, 1, 0, 2)
    assert _errors(first) == [(4, "统一社会信用代码", "统一社会信用代码校验位错误。")]
    company = Organization.objects.get(credit_code="91350100M000100Y43")
    assert (company.has_party_branch, company.employees, company.kind) == (True, 12, "non_public_enterprise")
    assert Organization.objects.count() == 2


# --- templates, pages, API, jobs -----------------------------------------------------------------------


def test_templates_carry_the_chinese_headers_and_import_back(world: Any) -> None:
    c = world.client(world.director)
    resp = c.get("/people/import/template/?entity=resident&format=xlsx")
    assert resp.status_code == 200 and resp["Content-Type"].startswith("application/vnd.openxmlformats")
    wb = load_workbook(io.BytesIO(b"".join(resp.streaming_content)))
    ws = wb.worksheets[0]
    headers = [c.value for c in ws[1]]
    assert headers[:3] == ["证件类型", "证件号码*", "姓名*"] and "网格编码" in headers
    assert ws.column_dimensions["B"].number_format == "@"  # ID numbers stay text in Excel
    assert wb.sheetnames == ["实有人口", "填写说明"]
    ws.append(["居民身份证", ID1, "张三", None, None, None, None, None, None, None, None, world.grid.code])
    filled = io.BytesIO()
    wb.save(filled)
    filled.seek(0)
    assert import_table(actor=world.director, entity="resident", fh=filled).created == 1

    resp = c.get("/people/import/template/?entity=organization&format=csv")
    text = b"".join(resp.streaming_content).decode("utf-8-sig")
    assert text.startswith("组织名称*,组织类型,统一社会信用代码")
    api = world.api(world.director, "get", "/people/import/template?entity=house&format=csv")
    assert api.status_code == 200 and b"".join(api.streaming_content).decode("utf-8-sig").startswith("地址*")


def test_the_import_page_flow(world: Any, django_capture_on_commit_callbacks: Any) -> None:
    c = world.client(world.director)
    page = c.get("/people/import/")
    assert page.status_code == 200 and "批量导入基础数据" in page.content.decode()
    content = _csv(
        _row(ID1, grid=world.grid.code), _row(_bad_checkdigit(ID2), grid=world.grid.code)
    ).getvalue()
    with django_capture_on_commit_callbacks(execute=True):
        resp = c.post("/people/import/", {"entity": "resident", "file": _upload(content, "人口.csv")})
    job = BackgroundJob.objects.get(kind="people_import")
    assert resp.status_code == 302 and resp["Location"] == f"/people/import/jobs/{job.pk}/"
    job.refresh_from_db()
    assert job.status == "done" and job.percent == 100
    assert not job.params["upload"] or not _storage_has(job.params["upload"])  # the upload is gone

    html = c.get(f"/people/import/jobs/{job.pk}/").content.decode()
    assert 'data-testid="created">1<' in html and 'data-testid="bad" class="text-danger">1<' in html
    assert "身份证号码校验位错误。" in html
    partial = c.get(f"/people/import/jobs/{job.pk}/", HTTP_HX_REQUEST="true").content.decode()
    assert partial.startswith('<div id="import-progress"') and "hx-get" not in partial.split(">")[0]

    errors = c.get(f"/people/import/jobs/{job.pk}/errors/")
    body = b"".join(errors.streaming_content).decode("utf-8-sig")
    assert errors.status_code == 200 and body.splitlines()[1].startswith("3,证件号码,")
    # jobs belong to their owner
    other = world.client(world.operator)
    assert other.get(f"/people/import/jobs/{job.pk}/").status_code == 404
    assert other.get(f"/people/import/jobs/{job.pk}/errors/").status_code == 404
    assert "人口.csv" in c.get("/people/import/").content.decode()  # the recent jobs list


def _storage_has(name: str) -> bool:
    from django.core.files.storage import default_storage

    return bool(default_storage.exists(name))


def test_the_import_page_shows_file_problems_in_the_form(world: Any) -> None:
    c = world.client(world.director)
    resp = c.post("/people/import/", {"entity": "resident", "file": _upload(b"%PDF-1.4\x00", "a.pdf")})
    assert resp.status_code == 422 and "文件不是 CSV 或 Excel" in resp.content.decode()
    resp = c.post("/people/import/", {"entity": "resident"})
    assert resp.status_code == 422 and "请选择要导入的文件" in resp.content.decode()


def test_the_api_flow(world: Any, django_capture_on_commit_callbacks: Any) -> None:
    c = world.client(world.operator)
    content = _csv(_row(ID1, grid=world.grid.code), _row(ID1, grid=world.grid.code)).getvalue()
    with django_capture_on_commit_callbacks(execute=True):
        resp = c.post("/api/v1/people/import", {"entity": "resident", "file": _upload(content, "a.csv")})
    assert resp.status_code == 202, resp.content
    job_id = resp.json()["id"]
    status = c.get(f"/api/v1/people/jobs/{job_id}").json()
    assert (status["status"], status["created"], status["bad"]) == ("done", 1, 1)
    assert status["errors"] == [{"row": 3, "column": "证件号码", "reason": "与第 2 行重复。"}]
    file = c.get(status["file_url"])
    assert file.status_code == 200 and "与第 2 行重复" in b"".join(file.streaming_content).decode("utf-8-sig")
    assert world.client(world.director).get(f"/api/v1/people/jobs/{job_id}").status_code == 404
    bad = c.post(
        "/api/v1/people/import", {"entity": "resident", "file": _upload(b"\x89PNG\r\n\x1a\n\x00", "a.csv")}
    )
    assert bad.status_code == 422 and bad.json()["detail"]["field"] == "file"


def test_the_worker_process_path_gives_the_same_answers(world: Any) -> None:
    lines = [_row(make_id(seq=f"{i:03d}"), grid=world.grid.code) for i in range(30)]
    lines.append(_row(_bad_checkdigit(ID2), grid=world.grid.code))
    report = _import(world, _csv(*lines), workers=1)
    assert (report.created, report.bad) == (30, 1)
    assert _errors(report) == [(32, "证件号码", "身份证号码校验位错误。")]


def test_many_small_batches_find_duplicates_and_existing_rows_across_batches(
    world: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from zongzhi.people import imports

    monkeypatch.setattr(imports, "BATCH", 3)  # duplicates and updates found across many batches
    monkeypatch.setattr(imports._RowNumbers, "MERGE", 4)  # the row numbers merged into arrays often
    lines = [_row(make_id(seq=f"{i:03d}"), grid=world.grid.code) for i in range(40)]
    lines.insert(20, _row(_bad_checkdigit(ID2), grid=world.grid.code))
    lines.append(_row(make_id(seq="005"), grid=world.grid.code))
    report = _import(world, _csv(*lines), workers=0)
    assert (report.rows, report.created, report.bad) == (42, 40, 2)
    assert _errors(report) == [
        (22, "证件号码", "身份证号码校验位错误。"),
        (43, "证件号码", "与第 7 行重复。"),
    ]
    again = _import(world, _csv(*lines), workers=0)
    assert (again.created, again.updated, again.bad) == (0, 40, 2)
    assert Resident.objects.count() == 40


def test_a_second_import_stamped_with_the_same_moment_updates_rather_than_flags(world: Any) -> None:
    # rows this import wrote carry its time; another import at the very same moment (a frozen
    # clock) did not write them in *this* file, so they are existing rows, not duplicates
    from django.utils import timezone

    now = timezone.now()
    lines = [_row(make_id(seq=f"{i:03d}"), grid=world.grid.code) for i in range(5)]
    first = _import(world, _csv(*lines), now=now)
    again = _import(world, _csv(*lines, lines[0]), now=now)
    assert (first.created, again.created, again.updated, again.bad) == (5, 0, 5, 1)
    assert _errors(again) == [(7, "证件号码", "与第 2 行重复。")]


def test_row_numbers_of_written_keys_survive_merges(monkeypatch: pytest.MonkeyPatch) -> None:
    from zongzhi.people.imports import _RowNumbers

    monkeypatch.setattr(_RowNumbers, "MERGE", 7)
    rows = _RowNumbers()
    for start in range(0, 100, 10):  # batches of 10 keys, merged every 7 or more
        rows.add((f"key-{i}", i + 2) for i in range(start, start + 10))
    assert len(rows.digests) + len(rows.recent) == 100 and len(rows.digests) >= 90
    assert list(rows.digests) == sorted(rows.digests)
    assert [rows.get(f"key-{i}") for i in (0, 37, 99)] == [2, 39, 101]
    assert rows.get("key-100") is None and rows.get("") is None
    rows.add([("key-0", 500)])  # the first row that wrote a key stays its row, merged or not
    assert rows.get("key-0") == 2
    rows.add((f"more-{i}", i) for i in range(10))
    assert not rows.recent and rows.get("key-0") == 2 and rows.get("more-9") == 9


def test_an_existing_single_record_and_an_import_agree_on_the_key(world: Any) -> None:
    services.resident_create(
        actor=world.director, data=ResidentInput(id_type="id_card", id_number=ID1, name="甲"), grid=world.grid
    )
    report = _import(world, _csv(_row(ID1.lower(), "乙", grid=world.grid.code)))
    assert (report.created, report.updated) == (0, 1)
    assert unseal(Resident.objects.get().name_enc, NAME) == "乙"
    assert not SpecialGroupMembership.objects.exists()


# --- the reader ----------------------------------------------------------------------------------------


def test_shared_strings_beyond_the_memory_limit_are_read_back_from_disk() -> None:
    sst = SharedStrings(in_memory=2)
    values = ["男", "女", "张三", "", "欧阳秀兰" * 50, "x"]
    for v in values:
        sst.append(v)
    sst.finish()
    assert [sst[i] for i in range(len(values))] == values
    with pytest.raises(IndexError):
        sst[len(values)]
    sst.close()


def test_the_xlsx_reader_numbers_rows_as_the_sheet_does_and_pads_columns() -> None:
    wb = Workbook()
    ws = wb.active
    ws["A1"], ws["B1"], ws["C1"] = "a", "b", "c"
    ws["C3"] = "only c"
    ws["A5"] = 'x & "y" <z>'
    buf = io.BytesIO()
    wb.save(buf)
    buf.seek(0)
    with open_table(buf, filename="t.xlsx") as reader:
        assert reader.headers == ["a", "b", "c"]
        assert list(reader) == [(3, ["", "", "only c"]), (5, ['x & "y" <z>', "", ""])]


def test_rows_read_ahead_in_a_child_process_are_the_rows_read_in_line() -> None:
    wb = Workbook()
    ws = wb.active
    ws.append(["a", "b", "c"])
    for i in range(50):
        ws.append([f"r{i}", i, "x & y" if i % 7 == 0 else None])
    buf = io.BytesIO()
    wb.save(buf)
    buf.seek(0)
    with open_table(buf, filename="t.xlsx") as reader:
        expected = list(reader)
    buf.seek(0)
    ahead = ReadAhead(open_table(buf, filename="t.xlsx"), batch=7)
    pid = ahead._pid
    try:
        assert (ahead.format, ahead.headers, ahead.fraction()) == ("xlsx", ["a", "b", "c"], 0.0)
        assert list(ahead) == expected and len(expected) == 50
        assert ahead.fraction() == 1.0
    finally:
        ahead.close()
    assert pid and pid != os.getpid()
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # reaped


def test_a_bad_row_met_by_the_child_is_raised_after_the_rows_before_it() -> None:
    lines = [_row(ID1)] * 1500  # past the 64 KiB the encoding is decided on
    data = io.BytesIO(("\n".join([HEAD, *lines]) + "\n").encode() + "王五,".encode("gbk") + b"\n")
    ahead = ReadAhead(open_table(data, filename="t.csv"), batch=400)
    seen = []
    with pytest.raises(TableFormatError) as exc:
        for row_no, _cells in ahead:
            seen.append(row_no)
    ahead.close()
    assert seen == list(range(2, 1502))
    assert exc.value.code == "bad_encoding" and "1502" in exc.value.message


def test_closing_before_the_last_row_ends_the_child() -> None:
    data = io.BytesIO(("a,b\n" + "".join(f"{i},x\n" for i in range(20_000))).encode())
    ahead = ReadAhead(open_table(data, filename="t.csv"), batch=10)
    first = next(iter(ahead))
    pid = ahead._pid
    ahead.close()
    assert first == (2, ["0", "x"]) and pid
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # killed and reaped
    ahead.close()  # twice is harmless


def test_resident_spec_headers_match_the_template_of_this_test() -> None:
    assert [h for h in RESIDENT.headers] == [h.rstrip("*") for h in HEAD.split(",")]
