"""Bulk import of residents, houses, places and organizations from .csv and .xlsx files.

The file is read row by row (``zongzhi.core.tabular_read``) and handled in batches of ``BATCH``
rows, so memory does not grow with the file. For each batch:

1. **Parse** the cells into the same input records the single-record services take
   (``ResidentInput`` …): choices by their Chinese label, dates, numbers, yes/no.
2. **Locate**: the grid code, the region code (12-digit statistical code) and coordinates are
   resolved with the rule of ``people.location.resolve_location`` (a grid given wins; else the
   point's grid from ``zongzhi.geo``; else the region) — with one query per batch and one
   vectorised point lookup instead of one per row. The row's region must lie in the importing
   user's ``person.import`` scope; a grid or region outside it does not exist for them.
3. **Validate and seal** with ``people.records.clean_*`` — the very functions the services use:
   GB 11643 ID check digit, birth date and sex derivation, phone and credit-code checks, SM4-GCM
   encryption and HMAC-SM3 blind indexes.
4. **Deduplicate**: the natural key of every good row (ID-number blind index; region + normalised
   address key; region + place key; credit code, else region + name + address) is looked up in the
   database with the whole batch at once. A row the database holds that this import wrote (its
   ``updated_at`` is the import's time) and whose key an earlier row of the file had makes the row
   a duplicate of that earlier row; the import keeps only an 8-byte digest and the row number of
   each key it wrote (12 bytes a row, in sorted arrays), so memory barely grows with the file.
5. **Upsert**: rows whose key exists in the database update it (when it lies in the user's scope,
   else the row is rejected as the services would: "already registered"); the others are
   inserted — with ``COPY`` on PostgreSQL, ``executemany`` elsewhere. Each batch commits on its
   own, so progress is visible and a re-run of the same file creates nothing twice.

Every bad row is reported with its row number (as a spreadsheet shows it: the header is row 1), the
column and the reason, and written with its original cells to an error file in the upload's format
(fix the rows there and import that file again). The good rows are kept.

Imports run as a ``BackgroundJob`` (kind ``people_import``; progress in percent, counts in
``params["result"]``, the error file as the job's file) through ``import_start``; ``import_table``
is the synchronous core the job, the tests and the benchmark call. One ``people.import`` audit row
per import records who imported what, and the counts. The uploaded file is deleted when the job
ends (it holds personal data in clear).

Decisions: a resident's house is not set by the import (an existing link is kept on update); an
organization without credit code is matched on region + name + address so re-imports do not
duplicate it; CSV in GBK/GB18030 (what Excel on Chinese Windows saves) is read as well as UTF-8.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import multiprocessing
import operator
import os
import re
import tempfile
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import MISSING, dataclass, field, fields
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import IO, Any

import numpy as np
from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import IntegrityError, connection, models, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from huey.contrib.djhuey import db_task
from openpyxl import Workbook
from openpyxl.styles import Font

from zongzhi.core.audit import audit_record
from zongzhi.core.bulk import RowInserter, quick_switches, quiet_collector
from zongzhi.core.errors import FieldError, PermissionDeniedError
from zongzhi.core.models import BackgroundJob
from zongzhi.core.tabular import safe_cell, write_xlsx
from zongzhi.core.tabular_read import ReadAhead, TableFormatError, TableReader, open_table
from zongzhi.orgs.models import Grid, Region, User
from zongzhi.orgs.paths import is_within
from zongzhi.orgs.roles import Perm
from zongzhi.orgs.scoping import scope_roots, user_can_anywhere

from . import import_worker
from .location import NO_GRID, grids_for_points
from .models import (
    House,
    HouseUse,
    IdType,
    Organization,
    OrganizationKind,
    Place,
    PlaceKind,
    Resident,
    ResidentType,
    Sex,
    SpecialGroupMembership,
)
from .records import (
    HouseInput,
    OrganizationInput,
    PlaceInput,
    ResidentInput,
    clean_house,
    clean_organization,
    clean_place,
    clean_resident,
)

IMPORT_KIND = "people_import"
BATCH = 2000
SAMPLE_ERRORS = 200  # errors kept in the job for display; all of them are in the error file


def _max_rows() -> int:
    return int(getattr(settings, "ZZ_IMPORT_MAX_ROWS", 2_000_000))


def _max_bytes() -> int:
    return int(getattr(settings, "ZZ_IMPORT_MAX_MB", 512)) * 1024 * 1024


# --- the file formats --------------------------------------------------------------------------------
#
# Headers are a file format shared between offices, so they are fixed Chinese strings (not translated).
# A header may carry a trailing "*" or "（必填）" as in the template.

GRID_CODE = "grid_code"
REGION_CODE = "region_code"
LON = "lon"
LAT = "lat"
_LOCATION_FIELDS = frozenset({GRID_CODE, REGION_CODE, LON, LAT})


@dataclass(frozen=True)
class Column:
    header: str
    field: str
    kind: str = "text"  # text | choice | date | decimal | int | float | bool
    required: bool = False
    choices: Any = None  # a TextChoices class
    aliases: tuple[tuple[str, str], ...] = ()
    note: Any = ""


_BOOL_TRUE = frozenset({"是", "有", "y", "yes", "true", "1", "√", "✓"})
_BOOL_FALSE = frozenset({"否", "无", "n", "no", "false", "0", "×", ""})

_LOCATION_COLUMNS = (
    Column("网格编码", GRID_CODE, note=gettext_lazy("15位网格编码；填写后所属区域取网格所在村（社区）")),
    Column(
        "区划代码",
        REGION_CODE,
        note=gettext_lazy("12位统计用区划代码（村/社区或乡镇/街道）；未填网格编码时必填"),
    ),
)
_POINT_COLUMNS = (
    Column(
        "经度", LON, kind="float", note=gettext_lazy("WGS-84 经度；有坐标且未填网格编码时自动落入所在网格")
    ),
    Column("纬度", LAT, kind="float", note=gettext_lazy("WGS-84 纬度")),
)


@dataclass(frozen=True)
class EntitySpec:
    name: str
    label: Any
    model: type[models.Model]
    input_cls: type[Any]
    clean: Callable[..., dict[str, Any]]
    columns: tuple[Column, ...]
    sheet: str

    @property
    def headers(self) -> list[str]:
        return [c.header for c in self.columns]

    def header_of(self, field_name: str) -> str:
        if field_name in ("region", "grid"):
            field_name = REGION_CODE if field_name == "region" else GRID_CODE
        for c in self.columns:
            if c.field == field_name:
                return c.header
        return field_name


RESIDENT = EntitySpec(
    name="resident",
    label=gettext_lazy("实有人口"),
    model=Resident,
    input_cls=ResidentInput,
    clean=clean_resident,
    sheet="实有人口",
    columns=(
        Column("证件类型", "id_type", kind="choice", choices=IdType, aliases=(("身份证", IdType.ID_CARD),)),
        Column(
            "证件号码",
            "id_number",
            required=True,
            note=gettext_lazy("居民身份证按 GB 11643 校验；请将该列设为文本格式"),
        ),
        Column("姓名", "name", required=True),
        Column("性别", "sex", kind="choice", choices=Sex, note=gettext_lazy("身份证号码可推出时可不填")),
        Column(
            "出生日期",
            "birth_date",
            kind="date",
            note=gettext_lazy("如 1990-01-31；身份证号码可推出时可不填"),
        ),
        Column("民族", "ethnicity"),
        Column("联系电话", "phone"),
        Column("户籍地址", "household_address"),
        Column("现住地址", "current_address"),
        Column(
            "人口类型",
            "resident_type",
            kind="choice",
            choices=ResidentType,
            aliases=(
                ("户籍", "registered"),
                ("流动", "migrant"),
                ("境外", "overseas"),
                ("留守", "left_behind"),
            ),
        ),
        Column("就业情况", "employment"),
        *_LOCATION_COLUMNS,
        Column("备注", "notes"),
    ),
)
HOUSE = EntitySpec(
    name="house",
    label=gettext_lazy("实有房屋"),
    model=House,
    input_cls=HouseInput,
    clean=clean_house,
    sheet="实有房屋",
    columns=(
        Column("地址", "address", required=True),
        Column("楼栋", "building"),
        Column("单元", "unit"),
        Column("房号", "room"),
        Column("房屋用途", "use", kind="choice", choices=HouseUse),
        Column("房主", "owner_name"),
        Column("房主电话", "owner_phone"),
        Column("面积（平方米）", "area_m2", kind="decimal"),
        *_POINT_COLUMNS,
        *_LOCATION_COLUMNS,
        Column("备注", "notes"),
    ),
)
PLACE = EntitySpec(
    name="place",
    label=gettext_lazy("场所"),
    model=Place,
    input_cls=PlaceInput,
    clean=clean_place,
    sheet="场所",
    columns=(
        Column("场所名称", "name", required=True),
        Column("场所类型", "kind", kind="choice", choices=PlaceKind),
        Column("地址", "address", required=True),
        Column("负责人", "contact_name"),
        Column("联系电话", "contact_phone"),
        Column("是否重点场所", "is_key", kind="bool", note=gettext_lazy("是/否，默认“是”")),
        *_POINT_COLUMNS,
        *_LOCATION_COLUMNS,
        Column("备注", "notes"),
    ),
)
ORGANIZATION = EntitySpec(
    name="organization",
    label=gettext_lazy("组织"),
    model=Organization,
    input_cls=OrganizationInput,
    clean=clean_organization,
    sheet="组织",
    columns=(
        Column("组织名称", "name", required=True),
        Column("组织类型", "kind", kind="choice", choices=OrganizationKind),
        Column("统一社会信用代码", "credit_code", note=gettext_lazy("18位，按 GB 32100 校验")),
        Column("法定代表人", "legal_representative"),
        Column("联系电话", "contact_phone"),
        Column("地址", "address"),
        Column("是否建有党组织", "has_party_branch", kind="bool", note=gettext_lazy("是/否，默认“否”")),
        Column("从业人数", "employees", kind="int"),
        *_POINT_COLUMNS,
        *_LOCATION_COLUMNS,
        Column("备注", "notes"),
    ),
)
ENTITIES: dict[str, EntitySpec] = {s.name: s for s in (RESIDENT, HOUSE, PLACE, ORGANIZATION)}


def entity_spec(name: str) -> EntitySpec:
    try:
        return ENTITIES[name]
    except KeyError:
        raise FieldError("entity", _("不支持导入此类数据。"), code="invalid_choice") from None


_choice_cache: dict[tuple[type[Any], tuple[tuple[str, str], ...]], dict[str, str]] = {}


def _choice_lookup(column: Column) -> dict[str, str]:
    """Label (Chinese, and in the active language), code and alias → stored value."""
    key = (column.choices, column.aliases)
    found = _choice_cache.get(key)
    if found is None:
        found = {}
        for value, label in column.choices.choices:
            found[str(value).lower()] = value
            with translation.override("zh-hans"):
                found[str(label).lower()] = value
            found[str(label).lower()] = value
        for alias, value in column.aliases:
            found[alias.lower()] = value
        _choice_cache[key] = found
    return found


def choice_labels(column: Column) -> str:
    with translation.override("zh-hans"):
        return "、".join(str(label) for _value, label in column.choices.choices)


# --- template --------------------------------------------------------------------------------------


def template_xlsx(spec: EntitySpec, target: IO[bytes]) -> None:
    """The import template: the header row (required columns marked *, the ID/phone/code columns
    formatted as text so Excel keeps all 18 digits) and a sheet of instructions."""
    wb = Workbook()
    ws = wb.active
    ws.title = spec.sheet
    bold = Font(bold=True)
    for i, column in enumerate(spec.columns, start=1):
        cell = ws.cell(row=1, column=i, value=column.header + ("*" if column.required else ""))
        cell.font = bold
        letter = cell.column_letter
        ws.column_dimensions[letter].width = max(12, len(column.header) * 2 + 4)
        if column.kind == "text":
            ws.column_dimensions[letter].number_format = "@"
    ws.freeze_panes = "A2"
    notes = wb.create_sheet("填写说明")
    notes.append([_("列名"), _("是否必填"), _("说明")])
    for c in notes[1]:
        c.font = bold
    for column in spec.columns:
        note = str(column.note or "")
        if column.kind == "choice":
            note = (note + "；" if note else "") + _("可选值：%(values)s") % {"values": choice_labels(column)}
        elif column.kind == "date" and not note:
            note = _("日期，如 2024-01-31")
        notes.append([column.header, _("必填") if column.required else "", note])
    notes.append([])
    notes.append(
        [
            _(
                "第一行为表头，从第二行起每行一条记录。同一文件可重复导入：已有记录按唯一标识更新，不会重复新增。"
            )
        ]
    )
    notes.column_dimensions["A"].width = 18
    notes.column_dimensions["C"].width = 80
    wb.save(target)


def template_csv(spec: EntitySpec, target: IO[bytes]) -> None:
    """The header row as UTF-8 CSV with a BOM (so Excel shows the Chinese headers)."""
    text = io.StringIO()
    csv.writer(text).writerow([c.header + ("*" if c.required else "") for c in spec.columns])
    target.write(text.getvalue().encode("utf-8-sig"))


# --- parsing cells ---------------------------------------------------------------------------------


_HEADER_NOISE = re.compile(r"[\s*＊]|[（(]必填[)）]")
_DATE_RE = re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?$")


def _normalise_header(header: str) -> str:
    return _HEADER_NOISE.sub("", header or "")


class CellProblem(ValueError):
    pass


def _parse_date(value: str) -> dt.date:
    m = _DATE_RE.match(value)
    if m is None and len(value) == 8 and value.isdigit():
        m = re.match(r"^(\d{4})(\d{2})(\d{2})$", value)
    if m is None:
        raise CellProblem(_("日期格式不正确，应为如 2024-01-31。"))
    try:
        return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        raise CellProblem(_("日期不存在。")) from None


def _parse_float(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise CellProblem(_("应为数字。")) from None
    if number != number or number in (float("inf"), float("-inf")):
        raise CellProblem(_("应为数字。"))
    return number


def _parse_decimal(value: str) -> Decimal:
    try:
        number = Decimal(value.replace(",", ""))
    except InvalidOperation:
        raise CellProblem(_("应为数字。")) from None
    if not number.is_finite():
        raise CellProblem(_("应为数字。"))
    return number.quantize(Decimal("0.01"))


def _parse_int(value: str) -> int:
    try:
        number = float(value.replace(",", ""))
    except ValueError:
        raise CellProblem(_("应为整数。")) from None
    if number != int(number):
        raise CellProblem(_("应为整数。"))
    return int(number)


def _parse_bool(value: str) -> bool:
    v = value.lower()
    if v in _BOOL_TRUE:
        return True
    if v in _BOOL_FALSE:
        return False
    raise CellProblem(_("应填“是”或“否”。"))


@dataclass(slots=True)
class _Parsed:
    row_no: int
    cells: list[str]
    data: Any = None  # the input record
    grid_code: str = ""
    region_code: str = ""
    lon: float | None = None
    lat: float | None = None
    # filled by the later steps
    region_id: int = 0
    region_path: str = ""
    grid_id: int | None = None
    values: dict[str, Any] | None = None
    key: str = ""
    problems: list[tuple[str, str]] = field(default_factory=list)  # (column header, reason)


class _Layout:
    """Which file column feeds which input field, checked once against the header row."""

    def __init__(self, spec: EntitySpec, headers: Sequence[str]) -> None:
        self.spec = spec
        by_header = {_normalise_header(c.header): c for c in spec.columns}
        self.columns: list[tuple[int, Column]] = []
        seen: dict[str, int] = {}
        for i, header in enumerate(headers):
            column = by_header.get(_normalise_header(header))
            if column is None:
                continue
            if column.field in seen:
                raise FieldError(
                    "file",
                    _("表头“%(header)s”出现了两次（第 %(a)s 列和第 %(b)s 列）。")
                    % {"header": column.header, "a": seen[column.field] + 1, "b": i + 1},
                    code="duplicate_column",
                )
            seen[column.field] = i
            self.columns.append((i, column))
        missing = [c.header for c in spec.columns if c.required and c.field not in seen]
        if missing:
            raise FieldError(
                "file",
                _("缺少必填列：%(columns)s。请使用导入模板，第一行为表头。")
                % {"columns": "、".join(missing)},
                code="missing_columns",
                columns=missing,
            )
        if not ({GRID_CODE, REGION_CODE} & set(seen)) and not ({LON, LAT} <= set(seen)):
            raise FieldError(
                "file",
                _("缺少所属区域列：请至少提供“网格编码”或“区划代码”列（或经度、纬度列）。"),
                code="missing_columns",
                columns=["网格编码", "区划代码"],
            )
        # input fields without a default: an absent column passes "" and clean_* says what is missing
        self.required_inputs = [f.name for f in fields(spec.input_cls) if f.default is MISSING]
        self._located = bool(_LOCATION_FIELDS & set(seen))
        # (column index, header, required, input field, converter), made on the first row (in the
        # language the import runs in)
        self._plan: list[tuple[int, str, bool, str, Callable[[str], Any] | None]] | None = None

    def _converter(self, column: Column) -> Callable[[str], Any] | None:
        """The function that turns a non-empty cell into the field's value (``None``: the text as
        it is); it raises ``CellProblem``."""
        if column.kind == "choice":
            lookup = _choice_lookup(column)

            def choice(raw: str) -> Any:
                value = lookup.get(raw.lower())
                if value is None:
                    raise CellProblem(_("取值无效，可选：%(values)s。") % {"values": choice_labels(column)})
                return value

            return choice
        return {
            "date": _parse_date,
            "float": _parse_float,
            "decimal": _parse_decimal,
            "int": _parse_int,
            "bool": _parse_bool,
        }.get(column.kind)

    def parse(self, row_no: int, cells: list[str]) -> _Parsed | None:
        """The row's input record and location cells; ``None`` for a blank row."""
        plan = self._plan
        if plan is None:
            plan = self._plan = [
                (i, c.header, c.required, c.field, self._converter(c)) for i, c in self.columns
            ]
        kwargs: dict[str, Any] = {}
        problems: list[tuple[str, str]] = []
        blank = True
        for i, header, required, name, convert in plan:
            raw = cells[i].strip()
            if not raw:
                if required:
                    problems.append((header, _("必填项为空。")))
                continue
            blank = False
            if convert is None:
                kwargs[name] = raw
                continue
            try:
                kwargs[name] = convert(raw)
            except CellProblem as exc:
                problems.append((header, str(exc)))
        if blank:
            return None
        parsed = _Parsed(row_no, cells, problems=problems)
        if self._located:
            # grid and region codes are the import's to resolve; coordinates feed both
            parsed.grid_code = kwargs.pop(GRID_CODE, "")
            parsed.region_code = kwargs.pop(REGION_CODE, "")
            parsed.lon = kwargs.get(LON)
            parsed.lat = kwargs.get(LAT)
        for name in self.required_inputs:
            kwargs.setdefault(name, "")
        if not problems:
            parsed.data = self.spec.input_cls(**kwargs)
        return parsed


# --- location --------------------------------------------------------------------------------------

_OUT_OF_SCOPE_GRID = gettext_lazy("网格编码不存在或不在您的管辖范围内。")
_OUT_OF_SCOPE_REGION = gettext_lazy("所属区域不存在或不在您的管辖范围内。")


class _Locator:
    """Grid and region lookups for a batch at a time, with bounded caches."""

    CACHE = 20_000

    def __init__(self, scope: list[str]) -> None:
        self.scope = scope
        self.grids: dict[str, tuple[int, int, str] | None] = {}  # code → (grid id, village id, path)
        self.grids_by_id: dict[int, tuple[int, int, str]] = {}
        self.regions: dict[str, tuple[int, str] | None] = {}  # code → (region id, path)

    def in_scope(self, path: str) -> bool:
        return any(is_within(path, root) for root in self.scope)

    def _load_grids(self, codes: set[str]) -> None:
        todo = [c for c in codes if c not in self.grids]
        if not todo:
            return
        if len(self.grids) > self.CACHE:
            self.grids.clear()
        for start in range(0, len(todo), 500):
            part = todo[start : start + 500]
            for gid, code, village_id, path in Grid.objects.filter(code__in=part).values_list(
                "id", "code", "village_id", "village__path"
            ):
                self.grids[code] = (gid, village_id, path)
            for code in part:
                self.grids.setdefault(code, None)

    def _load_grid_ids(self, ids: set[int]) -> None:
        todo = [i for i in ids if i not in self.grids_by_id]
        if len(self.grids_by_id) > self.CACHE:
            self.grids_by_id.clear()
        for start in range(0, len(todo), 500):
            for gid, village_id, path in Grid.objects.filter(id__in=todo[start : start + 500]).values_list(
                "id", "village_id", "village__path"
            ):
                self.grids_by_id[gid] = (gid, village_id, path)

    def _load_regions(self, codes: set[str]) -> None:
        todo = [c for c in codes if c not in self.regions]
        if not todo:
            return
        if len(self.regions) > self.CACHE:
            self.regions.clear()
        for start in range(0, len(todo), 500):
            part = todo[start : start + 500]
            for rid, code, path in Region.objects.filter(code__in=part).values_list("id", "code", "path"):
                self.regions[code] = (rid, path)
            for code in part:
                self.regions.setdefault(code, None)

    def locate(self, spec: EntitySpec, rows: list[_Parsed]) -> None:
        """Set region/grid of every row (or a problem), as ``resolve_location`` would."""
        self._load_grids({r.grid_code for r in rows if r.grid_code})
        self._load_regions({r.region_code for r in rows if r.region_code})
        pointed = [r for r in rows if not r.grid_code and r.lon is not None and r.lat is not None]
        point_grid: dict[int, int] = {}
        if pointed:
            ids = grids_for_points([r.lon for r in pointed], [r.lat for r in pointed])  # type: ignore[misc]
            found = {int(i) for i in ids if int(i) != NO_GRID}
            self._load_grid_ids(found)
            point_grid = {id(r): int(g) for r, g in zip(pointed, ids, strict=True)}
        lon_header, lat_header = spec.header_of(LON), spec.header_of(LAT)
        for r in rows:
            if r.problems:
                continue
            if (r.lon is None) != (r.lat is None):
                r.problems.append((lat_header if r.lat is None else lon_header, _("经度和纬度须同时填写。")))
                continue
            if r.lon is not None and not -180 <= r.lon <= 180:
                r.problems.append((lon_header, _("经度应在-180到180之间。")))
                continue
            if r.lat is not None and not -90 <= r.lat <= 90:
                r.problems.append((lat_header, _("纬度应在-90到90之间。")))
                continue
            region = None
            if r.region_code:
                region = self.regions.get(r.region_code)
                if region is None or not self.in_scope(region[1]):
                    r.problems.append((spec.header_of(REGION_CODE), str(_OUT_OF_SCOPE_REGION)))
                    continue
            if r.grid_code:
                grid = self.grids.get(r.grid_code)
                if grid is None or not self.in_scope(grid[2]):
                    r.problems.append((spec.header_of(GRID_CODE), str(_OUT_OF_SCOPE_GRID)))
                    continue
                if region is not None and not is_within(grid[2], region[1]):
                    r.problems.append((spec.header_of(GRID_CODE), _("所选网格不在所属区域内。")))
                    continue
                r.grid_id, r.region_id, r.region_path = grid
                continue
            gid = point_grid.get(id(r), NO_GRID)
            hit = self.grids_by_id.get(gid) if gid != NO_GRID else None
            if hit is not None and (region is None or is_within(hit[2], region[1])):
                if not self.in_scope(hit[2]):
                    r.problems.append((spec.header_of(REGION_CODE), str(_OUT_OF_SCOPE_REGION)))
                    continue
                r.grid_id, r.region_id, r.region_path = hit
                continue
            if region is None:
                r.problems.append((spec.header_of(REGION_CODE), _("请填写网格编码或区划代码。")))
                continue
            r.grid_id = None
            r.region_id, r.region_path = region


# --- natural keys ----------------------------------------------------------------------------------


def natural_key(spec: EntitySpec, region_id: int, values: dict[str, Any]) -> str:
    if spec is RESIDENT:
        return str(values["id_number_index"])
    if spec is HOUSE:
        return f"{region_id}|{values['address_key']}"
    if spec is PLACE:
        return f"{region_id}|{values['place_key']}"
    if values["credit_code"]:
        return str(values["credit_code"])
    return f"{region_id}|{values['name']}|{values['address']}"


def _duplicate_reason(spec: EntitySpec, first: int) -> tuple[str, str]:
    header = {
        "resident": "证件号码",
        "house": "地址",
        "place": "场所名称",
        "organization": "统一社会信用代码",
    }[spec.name]
    return header, _("与第 %(row)d 行重复。") % {"row": first}


def _registered_reason(spec: EntitySpec) -> tuple[str, str]:
    if spec is RESIDENT:
        return "证件号码", _("该证件号码已登记。")
    return "统一社会信用代码", _("该统一社会信用代码已登记。")


# --- writing ---------------------------------------------------------------------------------------


_KEEP_ON_UPDATE = frozenset({"created_at", "created_by_id", "house_id"})
# the columns of a row that the import sets itself, in this order after the cleaned values
_LOCATED = ("region_id", "region_path", "grid_id", "created_at", "updated_at", "created_by_id", "house_id")


_U64 = (1 << 64) - 1


def _digest(key: str) -> int:
    # Python's own 64-bit string hash (SipHash, keyed per process; cached on the string): the
    # digests live only in the importing process, so they need to agree only with each other
    return hash(key) & _U64


class _RowNumbers:
    """The file row that wrote each natural key so far, in 12 bytes a key: its 64-bit digest and
    the row number, in sorted arrays (the newest in a dict until there are enough to merge).

    Only asked for a key the database says this import wrote, so a digest collision (odds of about
    3 in 10^8 for a million keys) cannot make a row a duplicate: at worst it names the wrong row."""

    MERGE = 50_000

    def __init__(self) -> None:
        self.digests = np.empty(0, dtype=np.uint64)
        self.rows = np.empty(0, dtype=np.uint32)
        self.recent: dict[int, int] = {}

    def add(self, pairs: Iterable[tuple[str, int]]) -> None:
        for key, row_no in pairs:
            self.recent.setdefault(_digest(key), row_no)
        if len(self.recent) >= self.MERGE:
            self._merge()

    def _merge(self) -> None:
        digests = np.fromiter(self.recent.keys(), dtype=np.uint64, count=len(self.recent))
        rows = np.fromiter(self.recent.values(), dtype=np.uint32, count=len(self.recent))
        order = np.argsort(digests, kind="stable")
        digests, rows = digests[order], rows[order]
        at = np.searchsorted(self.digests, digests, side="right")  # after an older equal digest
        self.digests = np.insert(self.digests, at, digests)
        self.rows = np.insert(self.rows, at, rows)
        self.recent = {}

    def get(self, key: str) -> int | None:
        digest = _digest(key)
        at = int(np.searchsorted(self.digests, np.uint64(digest)))  # the older rows first
        if at < len(self.digests) and int(self.digests[at]) == digest:
            return int(self.rows[at])
        return self.recent.get(digest)


class _Writer:
    """Existing-row lookups, inserts and updates for one import, and the rows it wrote."""

    def __init__(self, spec: EntitySpec) -> None:
        self.spec = spec
        self.model = spec.model
        self.pg = connection.vendor == "postgresql"
        self.qn = connection.ops.quote_name
        self.table = self.model._meta.db_table
        # the columns in the order a row is built: what ``clean_*`` gives, then where and when
        fields = [f for f in self.model._meta.concrete_fields if not f.primary_key]
        tail = [a for a in _LOCATED if any(f.attname == a for f in fields)]
        assert tail in (list(_LOCATED), list(_LOCATED[:-1])), (
            f"{self.model.__name__}: {tail}"
        )  # row() builds these
        self.fields = sorted(fields, key=lambda f: tail.index(f.attname) + 1 if f.attname in tail else 0)
        self.attnames = [f.attname for f in self.fields]
        self._cleaned = operator.itemgetter(*self.attnames[: len(fields) - len(tail)])
        self._house = "house_id" in tail
        self.update_fields = [f for f in self.fields if f.attname not in _KEEP_ON_UPDATE]
        self.stage_table = f"zz_import_stage_{uuid.uuid4().hex[:10]}"
        self.written = _RowNumbers()  # the row of each key this import wrote
        self.inserter = RowInserter(self.model, self.attnames, binary=True)
        upd = [f.attname for f in self.update_fields]
        self.stager = (
            RowInserter(self.model, ["id", *upd], table=self.stage_table, binary=True) if self.pg else None
        )
        self.updater = RowInserter(self.model, [*upd, "id"])  # SQLite: the parameters of an UPDATE

    # -- setup --

    def open(self) -> None:
        if self.pg:
            # the columns an update writes, without constraints (CREATE … AS keeps no NOT NULL)
            cols = ", ".join(self.qn(c) for c in ["id", *[f.column for f in self.update_fields]])
            with connection.cursor() as cur:
                cur.execute(
                    f"CREATE TEMPORARY TABLE {self.stage_table} AS SELECT {cols} FROM {self.qn(self.table)} WITH NO DATA"  # noqa: S608 - identifiers are ours
                )

    def close(self) -> None:
        if self.pg:
            with connection.cursor() as cur:
                cur.execute(f"DROP TABLE IF EXISTS {self.stage_table}")

    # -- rows already in the database --

    def existing(self, rows: list[_Parsed]) -> dict[str, tuple[int, str, dt.datetime]]:
        """natural key → (id, region_path, updated_at) of the rows of this batch already in the
        database."""
        out: dict[str, tuple[int, str, dt.datetime]] = {}
        manager = self.model._default_manager
        if self.spec is RESIDENT and self.pg:
            # one query for the whole batch (the ORM's IN list costs more than the query): one
            # probe of the unique index per key, in key order — LIMIT keeps the planner from
            # turning it into a join that reads the whole table, as it does once the table has
            # statistics (a scan per batch: an import slower with every row it wrote). The keys
            # (hex) go as one comma-joined text, which binds far faster than a text[] list.
            connection.ensure_connection()
            with connection.connection.cursor() as raw:
                raw.execute(
                    f"SELECT q.k, t.id, t.region_path, t.updated_at"  # noqa: S608 - identifiers are ours
                    f" FROM unnest(string_to_array(%s, ',')) AS q(k) CROSS JOIN LATERAL"
                    f" (SELECT x.id, x.region_path, x.updated_at FROM {self.qn(self.table)} x"
                    f" WHERE x.id_number_index = q.k LIMIT 1) t",
                    [",".join(sorted(r.key for r in rows))],
                )
                return {key: (pk, path, at) for key, pk, path, at in raw.fetchall()}
        for start in range(0, len(rows), 500):
            part = rows[start : start + 500]
            if self.spec is RESIDENT:
                for key, pk, path, at in manager.filter(
                    id_number_index__in=[r.key for r in part]
                ).values_list("id_number_index", "id", "region_path", "updated_at"):
                    out[key] = (pk, path, at)
                continue
            if self.spec is ORGANIZATION:
                coded = [r.values["credit_code"] for r in part if r.values and r.values["credit_code"]]
                if coded:
                    for code, pk, path, at in manager.filter(credit_code__in=coded).values_list(
                        "credit_code", "id", "region_path", "updated_at"
                    ):
                        out[code] = (pk, path, at)
                uncoded = [r for r in part if r.values and not r.values["credit_code"]]
                if uncoded:
                    qs = manager.filter(
                        credit_code="",
                        region_id__in={r.region_id for r in uncoded},
                        name__in={r.values["name"] for r in uncoded if r.values},
                    ).values_list("region_id", "name", "address", "id", "region_path", "updated_at")
                    for region_id, name, address, pk, path, at in qs:
                        out.setdefault(f"{region_id}|{name}|{address}", (pk, path, at))
                continue
            key_field = "address_key" if self.spec is HOUSE else "place_key"
            wanted = {r.key for r in part}
            qs = manager.filter(
                region_id__in={r.region_id for r in part},
                **{f"{key_field}__in": {r.key.split("|", 1)[1] for r in part}},
            ).values_list("region_id", key_field, "id", "region_path", "updated_at")
            for region_id, key, pk, path, at in qs:
                k = f"{region_id}|{key}"
                if k in wanted:
                    out[k] = (pk, path, at)
        return out

    # -- writes --

    def row(self, r: _Parsed, now: Any, actor_id: int | None) -> list[Any]:
        """The column values of a good row, in ``self.fields``' order (no house: the import sets
        none, and an update keeps the one set)."""
        assert r.values is not None
        row = [*self._cleaned(r.values), r.region_id, r.region_path, r.grid_id, now, now, actor_id]
        if self._house:
            row.append(None)
        return row

    def insert(self, rows: list[list[Any]]) -> None:
        self.inserter.insert(rows)

    def update(self, rows: list[tuple[int, list[Any]]]) -> None:
        """Overwrite the rows (id, full row values) except their creation fields and house."""
        if not rows:
            return
        index = {f.attname: i for i, f in enumerate(self.fields)}
        upd = [index[f.attname] for f in self.update_fields]
        with connection.cursor() as cur:
            if self.stager is not None:
                cur.execute(f"TRUNCATE {self.stage_table}")
                self.stager.insert([pk, *[row[i] for i in upd]] for pk, row in rows)
                sets = ", ".join(f"{self.qn(f.column)} = s.{self.qn(f.column)}" for f in self.update_fields)
                cur.execute(
                    f"UPDATE {self.qn(self.table)} t SET {sets} FROM {self.stage_table} s WHERE t.id = s.id"  # noqa: S608 - identifiers are ours
                )
            else:
                sets = ", ".join(f"{self.qn(f.column)} = %s" for f in self.update_fields)
                cur.executemany(
                    f"UPDATE {self.qn(self.table)} SET {sets} WHERE id = %s",  # noqa: S608 - identifiers are ours
                    [self.updater.adapt([*[row[i] for i in upd], pk]) for pk, row in rows],
                )
        if self.spec is RESIDENT:
            # memberships follow their resident's region and grid (as resident_update does)
            ids = [pk for pk, _row in rows]
            for start in range(0, len(ids), 500):
                part = ids[start : start + 500]
                m = SpecialGroupMembership._meta.db_table
                r = Resident._meta.db_table
                marks = ", ".join(["%s"] * len(part))
                with connection.cursor() as cur:
                    cur.execute(
                        f"UPDATE {self.qn(m)} SET "  # noqa: S608 - identifiers are ours
                        f"region_id = (SELECT x.region_id FROM {self.qn(r)} x WHERE x.id = {self.qn(m)}.resident_id), "
                        f"region_path = (SELECT x.region_path FROM {self.qn(r)} x WHERE x.id = {self.qn(m)}.resident_id), "
                        f"grid_id = (SELECT x.grid_id FROM {self.qn(r)} x WHERE x.id = {self.qn(m)}.resident_id) "
                        f"WHERE resident_id IN ({marks})",
                        part,
                    )


# --- the error file --------------------------------------------------------------------------------


@dataclass(frozen=True)
class RowError:
    row: int
    column: str
    reason: str


class _ErrorSink:
    """Bad rows, streamed to a temporary CSV as they come (row, column, reason, original cells)."""

    def __init__(self) -> None:
        self.file = tempfile.TemporaryFile(mode="w+", encoding="utf-8", newline="")  # noqa: SIM115
        self.writer = csv.writer(self.file)
        self.count = 0
        self.sample: list[RowError] = []

    def add(self, row_no: int, problems: list[tuple[str, str]], cells: list[str]) -> None:
        columns = "、".join(dict.fromkeys(p[0] for p in problems))
        reasons = "；".join(f"{p[0]}：{p[1]}" for p in problems)
        self.writer.writerow([row_no, columns, reasons, *cells])
        self.count += 1
        if len(self.sample) < SAMPLE_ERRORS:
            self.sample.extend(RowError(row_no, c, r) for c, r in problems[:3])

    def rows(self) -> Iterator[list[str]]:
        self.file.flush()
        self.file.seek(0)
        yield from csv.reader(self.file)

    def close(self) -> None:
        self.file.close()


def error_headers(headers: Sequence[str]) -> list[str]:
    return ["行号", "出错列", "错误原因", *headers]


def write_error_file(sink: _ErrorSink, headers: Sequence[str], fmt: str, target: IO[bytes]) -> None:
    """The bad rows with the reason and their original cells, as .xlsx or as UTF-8 CSV (with BOM)."""
    if fmt == "xlsx":
        rows = ([int(r[0]), *r[1:]] for r in sink.rows())
        write_xlsx(target, sheet="错误行", headers=error_headers(headers), rows=rows)
        return
    text = io.TextIOWrapper(target, encoding="utf-8-sig", newline="")
    writer = csv.writer(text)
    writer.writerow(error_headers(headers))
    for row in sink.rows():
        writer.writerow([safe_cell(v) for v in row])
    text.flush()
    text.detach()


# --- the import itself -----------------------------------------------------------------------------


@dataclass
class ImportReport:
    entity: str
    format: str = ""
    rows: int = 0
    created: int = 0
    updated: int = 0
    bad: int = 0
    errors: list[RowError] = field(default_factory=list)
    elapsed: float = 0.0
    headers: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, Any]:
        return {
            "entity": self.entity,
            "format": self.format,
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "bad": self.bad,
            "elapsed": round(self.elapsed, 2),
        }


def _import_scope(actor: Any) -> list[str]:
    scope = scope_roots(actor, Perm.PERSON_IMPORT)
    if not scope:
        raise PermissionDeniedError(_("您没有导入基础数据的权限。"), code="forbidden")
    return scope


def _apply_clean(spec: EntitySpec, rows: list[_Parsed], results: list[Any]) -> None:
    for r, result in zip(rows, results, strict=True):
        if result is None:
            continue
        if isinstance(result, tuple):
            r.problems.append((spec.header_of(result[0]), result[1]))
        else:
            r.values = result


class _Inline:
    """A finished "future" for the in-process path."""

    def __init__(self, value: Any) -> None:
        self._value = value

    def result(self) -> Any:
        return self._value


def _workers(size: int) -> int:
    """Worker processes for validating and sealing: ``ZZ_IMPORT_WORKERS`` when set (0 = none), else,
    for files over 4 MB, one per CPU beyond the two that the importing process and the database
    keep busy (at most 8): on a 2-CPU machine more processes only compete with the database."""
    configured = getattr(settings, "ZZ_IMPORT_WORKERS", None)
    if configured is not None:
        return max(0, int(configured))
    return max(0, min((os.cpu_count() or 1) - 2, 8)) if size > 4 * 1024 * 1024 else 0


def _read_ahead(reader: TableReader, size: int) -> bool:
    """Whether the file's rows are read in a child process (``ReadAhead``): an .xlsx of more than
    ``ZZ_IMPORT_READ_AHEAD_MB`` (default 4; ``None`` = never), where fork is available. Parsing the
    sheet XML costs about as much as validating and sealing the rows, so the two then run on two
    CPUs. A CSV is cheap to read: sending its rows to another process would cost more."""
    threshold = getattr(settings, "ZZ_IMPORT_READ_AHEAD_MB", 4)
    if threshold is None or reader.format != "xlsx" or not ReadAhead.available():
        return False
    return size > float(threshold) * 1024 * 1024


def _clean_in_thread(language: str | None, entity: str, today: dt.date, inputs: list[Any]) -> list[Any]:
    with translation.override(language):
        return import_worker.clean_rows(entity, today, inputs)


def _start_pool(workers: int, *, write_behind: bool) -> Any:
    """Worker processes when ``workers`` > 0. Else, when batches are written behind (on a thread
    of their own), none: this thread cleans while that one waits for the database. Else one
    thread, which cleans the next batch while this thread waits for the database to write the
    last one (the driver releases the GIL)."""
    if workers <= 0 and write_behind:
        return None
    if workers <= 0:
        return ThreadPoolExecutor(max_workers=1, thread_name_prefix="people-import")
    try:
        context = multiprocessing.get_context("forkserver")
        return ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=import_worker.init)
    except (OSError, ValueError, AssertionError):  # e.g. inside a daemonic process: clean in a thread
        return ThreadPoolExecutor(max_workers=1, thread_name_prefix="people-import")


def _process_batch(
    spec: EntitySpec,
    batch: list[_Parsed],
    *,
    writer: _Writer,
    locator: _Locator,
    sink: _ErrorSink,
    report: ImportReport,
    now: dt.datetime,
    actor_id: int | None,
) -> None:
    good: list[_Parsed] = []
    first_in_batch: dict[str, int] = {}
    for r in batch:
        if r.problems or r.values is None:
            continue
        r.key = natural_key(spec, r.region_id, r.values)
        if r.key in first_in_batch:
            r.problems.append(_duplicate_reason(spec, first_in_batch[r.key]))
            continue
        first_in_batch[r.key] = r.row_no
        good.append(r)

    rows = [writer.row(r, now, actor_id) for r in good]
    inserts: list[list[Any]] = []
    updates: list[tuple[int, list[Any]]] = []
    for attempt in (1, 2):
        for r in good:
            r.problems.clear()
        try:
            with transaction.atomic():
                existing = writer.existing(good) if good else {}
                inserts, updates = [], []
                for r, values in zip(good, rows, strict=True):
                    found = existing.get(r.key)
                    if found is None:
                        inserts.append(values)
                    elif found[2] == now and (earlier := writer.written.get(r.key)) is not None:
                        # written by an earlier row of this file
                        r.problems.append(_duplicate_reason(spec, earlier))
                    elif locator.in_scope(found[1]):
                        updates.append((found[0], values))
                    else:
                        r.problems.append(_registered_reason(spec))
                writer.insert(inserts)
                writer.update(updates)
            writer.written.add((r.key, r.row_no) for r in good if not r.problems)
            break
        except IntegrityError:
            # another writer registered one of these keys between our lookup and our write: look again
            if attempt == 2:
                for r in good:
                    r.problems = [("", _("保存失败：与同时进行的登记冲突，请重新导入。"))]
                inserts, updates = [], []
    report.created += len(inserts)
    report.updated += len(updates)
    for r in batch:
        if r.problems:
            sink.add(r.row_no, r.problems, r.cells)
    report.bad = sink.count
    report.rows += len(batch)


def _batches(
    reader: TableReader, layout: _Layout, sink: _ErrorSink, report: ImportReport
) -> Iterator[list[_Parsed]]:
    batch: list[_Parsed] = []
    limit = _max_rows()
    count = 0
    for row_no, cells in reader:
        parsed = layout.parse(row_no, cells)
        if parsed is None:
            continue
        count += 1
        if count > limit:
            raise FieldError(
                "file", _("文件超过 %(limit)d 行，请拆分后再导入。") % {"limit": limit}, code="too_many_rows"
            )
        batch.append(parsed)
        if len(batch) >= BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


class _WriteBehind:
    """Where batches are written: on a thread of its own, with a database connection of its own,
    so the database checks and stores batch *n* while this thread reads and seals batch *n + 1*
    (one connection answers one statement at a time: written in line, every lookup, ``COPY`` and
    commit is a wait). Batches are written one at a time, in file order; at most ``depth`` wait.

    Only on PostgreSQL, and only when the caller holds no transaction (a second connection would
    not see what that transaction wrote, nor be undone with it): otherwise each batch is written
    at once on the caller's connection (``threaded`` is False)."""

    def __init__(self, *, depth: int = 2) -> None:
        self.threaded = connection.vendor == "postgresql" and not connection.in_atomic_block
        self.depth = depth
        self._pool = (
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="people-import-write")
            if self.threaded
            else None
        )
        self._pending: deque[Any] = deque()
        self._failed = False

    def submit(self, fn: Callable[..., None], *args: Any) -> None:
        if self._pool is None:
            fn(*args)
            return
        self._pending.append(self._pool.submit(self._guarded, fn, args))
        while len(self._pending) > self.depth:
            self._pending.popleft().result()  # raises what the write raised

    def _guarded(self, fn: Callable[..., None], args: tuple[Any, ...]) -> None:
        # after a failed batch nothing later is written: what is committed stays a prefix of the file
        if self._failed:
            return
        try:
            fn(*args)
        except BaseException:
            self._failed = True
            raise

    def drain(self) -> None:
        while self._pending:
            self._pending.popleft().result()

    def shutdown(self) -> None:
        """Wait for the batch being written (the rest are dropped after an error), then close the
        thread's connection."""
        if self._pool is None:
            return
        for future in self._pending:
            future.cancel()
        self._pending.clear()
        self._pool.submit(_close_connection).result()
        self._pool.shutdown(wait=True)


def _close_connection() -> None:
    connection.close()  # this thread's: ``connection`` is looked up in the thread that runs this


def _run(
    spec: EntitySpec,
    reader: TableReader,
    layout: _Layout,
    locator: _Locator,
    writer: _Writer,
    sink: _ErrorSink,
    report: ImportReport,
    pool: Any,
    behind: _WriteBehind,
    now: dt.datetime,
    actor_id: int | None,
    progress: Callable[[ImportReport, float], None] | None,
) -> None:
    """Read, locate, clean (in ``pool`` when there is one, keeping a few batches in flight) and
    write (through ``behind``) batch after batch, in file order."""
    today = timezone.localdate(now)
    inflight = 0 if pool is None else 2 * pool._max_workers
    pending: deque[tuple[list[_Parsed], Any]] = deque()
    language = translation.get_language()  # the writing thread reports bad rows in it too

    def write(batch: list[_Parsed], fraction: float) -> None:
        with translation.override(language):
            _process_batch(
                spec,
                batch,
                writer=writer,
                locator=locator,
                sink=sink,
                report=report,
                now=now,
                actor_id=actor_id,
            )
        if progress is not None:
            progress(report, fraction)

    def finish(batch: list[_Parsed], future: Any) -> None:
        _apply_clean(spec, batch, future.result())
        behind.submit(write, batch, reader.fraction())

    try:
        behind.submit(writer.open)
        for batch in _batches(reader, layout, sink, report):
            locator.locate(spec, batch)
            inputs = [None if r.problems else r.data for r in batch]
            if pool is None:
                future: Any = _Inline(import_worker.clean_rows(spec.name, today, inputs))
            elif isinstance(pool, ThreadPoolExecutor):
                future = pool.submit(_clean_in_thread, translation.get_language(), spec.name, today, inputs)
            else:
                future = pool.submit(import_worker.clean_rows, spec.name, today, inputs)
            pending.append((batch, future))
            while len(pending) > inflight:
                finish(*pending.popleft())
        while pending:
            finish(*pending.popleft())
        behind.drain()
    finally:
        behind.shutdown()  # its connection closed: the staging table goes with it
        if not behind.threaded:
            with contextlib.suppress(Exception):  # the error that got us here matters more
                writer.close()


def import_table(
    *,
    actor: User,
    entity: str,
    fh: IO[bytes],
    filename: str = "",
    error_target: IO[bytes] | None = None,
    progress: Callable[[ImportReport, float], None] | None = None,
    now: dt.datetime | None = None,
    workers: int | None = None,
) -> ImportReport:
    """Import the table in ``fh`` (binary, seekable) as ``entity`` rows for ``actor``.

    Raises ``TableFormatError``/``FieldError`` (field ``file``) when the file as a whole is unusable
    (not a CSV/XLSX, bad encoding, missing columns) and ``PermissionDeniedError`` without
    ``person.import``; bad rows are reported, not raised. The bad rows are written to
    ``error_target`` (same format as the upload) when given. One ``people.import`` audit row (also
    when the import fails after writing some batches: the counts written, and the error).

    The garbage collector is quiet meanwhile (``quiet_collector``): the batches in flight would
    otherwise set off a full collection of the process every ~10,000 rows."""
    with quiet_collector():
        return _import_table(
            actor=actor,
            entity=entity,
            fh=fh,
            filename=filename,
            error_target=error_target,
            progress=progress,
            now=now,
            workers=workers,
        )


def _import_table(
    *,
    actor: User,
    entity: str,
    fh: IO[bytes],
    filename: str,
    error_target: IO[bytes] | None,
    progress: Callable[[ImportReport, float], None] | None,
    now: dt.datetime | None,
    workers: int | None,
) -> ImportReport:
    started = time.monotonic()
    spec = entity_spec(entity)
    scope = _import_scope(actor)
    now = now or timezone.now()
    size = _size_of(fh)
    reader = open_table(fh, filename=filename)
    if _read_ahead(reader, size):
        reader = ReadAhead(reader, batch=BATCH)
    report = ImportReport(entity=entity, format=reader.format, headers=list(reader.headers))
    sink = _ErrorSink()
    writer = _Writer(spec)
    try:
        layout = _Layout(spec, reader.headers)
        locator = _Locator(scope)
        lock = _advisory_lock(spec)
        behind = _WriteBehind()
        pool = _start_pool(_workers(size) if workers is None else workers, write_behind=behind.threaded)
        try:
            with quick_switches() if behind.threaded else contextlib.nullcontext():
                _run(
                    spec, reader, layout, locator, writer, sink, report, pool, behind, now, actor.pk, progress
                )
        finally:
            if pool is not None:
                pool.shutdown(cancel_futures=True)
            _advisory_unlock(lock)
        report.errors = sink.sample
        if error_target is not None and sink.count:
            write_error_file(sink, reader.headers, reader.format, error_target)
    except Exception as exc:
        if report.created or report.updated:  # the batches committed before the failure
            report.elapsed = time.monotonic() - started
            _audit_import(actor, spec, report, filename, error=str(exc)[:500])
        raise
    finally:
        sink.close()
        reader.close()
    report.elapsed = time.monotonic() - started
    _audit_import(actor, spec, report, filename)
    return report


def _audit_import(
    actor: User, spec: EntitySpec, report: ImportReport, filename: str, error: str = ""
) -> None:
    data = {**report.counts(), "filename": filename[:200]}
    if error:
        data["error"] = error
    with transaction.atomic():
        audit_record(actor=actor, action="people.import", object_type=spec.model._meta.label_lower, data=data)


def _size_of(fh: IO[bytes]) -> int:
    try:
        position = fh.tell()
        size = fh.seek(0, io.SEEK_END)
        fh.seek(position)
        return int(size)
    except (OSError, ValueError):
        return 0


def _advisory_lock(spec: EntitySpec) -> int | None:
    """On PostgreSQL, imports of one kind run one at a time (their key lookups and writes would
    race otherwise); a single-record service racing us is caught by the unique constraints."""
    if connection.vendor != "postgresql":
        return None
    key = 0x5A5A0000 + sorted(ENTITIES).index(spec.name)
    with connection.cursor() as cur:
        cur.execute("SELECT pg_advisory_lock(%s)", [key])
    return key


def _advisory_unlock(key: int | None) -> None:
    if key is None:
        return
    with connection.cursor() as cur:
        cur.execute("SELECT pg_advisory_unlock(%s)", [key])


# --- the background job ----------------------------------------------------------------------------


def _upload_name(filename: str) -> str:
    ext = Path(filename).suffix.lower()
    ext = ext if ext in (".csv", ".xlsx", ".txt") else ""
    return f"imports/{timezone.localdate():%Y/%m}/{uuid.uuid4().hex}{ext}"


def import_start(*, actor: User, entity: str, upload: Any, filename: str) -> BackgroundJob:
    """Check the upload (format, encoding, header row) at once, store it and queue the import as a
    ``BackgroundJob`` (kind ``people_import``) that runs after commit. Raises ``FieldError`` on
    ``file`` for an unusable file, ``PermissionDeniedError`` without ``person.import``."""
    spec = entity_spec(entity)
    if not user_can_anywhere(actor, Perm.PERSON_IMPORT):
        raise PermissionDeniedError(_("您没有导入基础数据的权限。"), code="forbidden")
    size = getattr(upload, "size", None)
    if size is not None and size > _max_bytes():
        raise FieldError(
            "file",
            _("文件超过 %(mb)d MB，请拆分后再导入。") % {"mb": _max_bytes() // (1024 * 1024)},
            code="too_large",
        )
    upload.seek(0)
    try:
        reader = open_table(upload, filename=filename)
        try:
            _Layout(spec, reader.headers)
        finally:
            reader.close()
    except TableFormatError as exc:
        raise FieldError("file", str(exc.message), code=exc.code) from None
    upload.seek(0)
    name = default_storage.save(_upload_name(filename), File(upload))
    with transaction.atomic():
        job = BackgroundJob.objects.create(
            user=actor,
            kind=IMPORT_KIND,
            params={"entity": spec.name, "filename": filename[:200], "upload": name, "result": {}},
            total=100,
        )
    transaction.on_commit(lambda: run_people_import(job.pk))
    return job


@db_task()
def run_people_import(job_id: int) -> None:
    import_run(job_id)


def import_run(job_id: int) -> None:
    """Run a queued import job: the import, its error file, the counts; the upload is deleted."""
    job = BackgroundJob.objects.get(pk=job_id)
    if job.status != BackgroundJob.Status.PENDING:
        return  # run already (a retried task)
    user = User.objects.get(pk=job.user_id)
    BackgroundJob.objects.filter(pk=job_id).update(status=BackgroundJob.Status.RUNNING)
    params = dict(job.params)
    upload = str(params.get("upload", ""))

    def progress(report: ImportReport, fraction: float) -> None:
        BackgroundJob.objects.filter(pk=job_id).update(
            done=min(99, int(fraction * 100)), params={**params, "result": report.counts()}
        )

    try:
        with default_storage.open(upload, "rb") as fh, tempfile.TemporaryFile() as err:
            report = import_table(
                actor=user,
                entity=str(params["entity"]),
                fh=fh,
                filename=str(params.get("filename", "")),
                error_target=err,
                progress=progress,
            )
            result = {
                **report.counts(),
                "errors": [[e.row, e.column, e.reason] for e in report.errors],
            }
            update: dict[str, Any] = {}
            if report.bad:
                err.seek(0)
                ext = "xlsx" if report.format == "xlsx" else "csv"
                name = f"import-errors-{timezone.localtime():%Y%m%d-%H%M}-{job_id}.{ext}"
                job.file.save(name, File(err), save=False)
                update = {"file": job.file.name, "filename": name}
        BackgroundJob.objects.filter(pk=job_id).update(
            status=BackgroundJob.Status.DONE,
            done=100,
            total=100,
            params={**params, "result": result},
            finished_at=timezone.now(),
            **update,
        )
    except (FieldError, PermissionDeniedError, TableFormatError) as exc:
        BackgroundJob.objects.filter(pk=job_id).update(
            status=BackgroundJob.Status.FAILED, error=str(exc.message)[:2000], finished_at=timezone.now()
        )
    except Exception as exc:  # recorded for the user; the worker keeps running
        BackgroundJob.objects.filter(pk=job_id).update(
            status=BackgroundJob.Status.FAILED, error=str(exc)[:2000], finished_at=timezone.now()
        )
        raise
    finally:
        if upload:
            default_storage.delete(upload)


def job_result(job: BackgroundJob) -> dict[str, Any]:
    result = job.params.get("result") or {}
    return dict(result) if isinstance(result, dict) else {}


def iter_sample_errors(job: BackgroundJob) -> Iterable[RowError]:
    for item in job_result(job).get("errors", []):
        yield RowError(int(item[0]), str(item[1]), str(item[2]))


__all__ = [
    "ENTITIES",
    "IMPORT_KIND",
    "ImportReport",
    "RowError",
    "entity_spec",
    "import_run",
    "import_start",
    "import_table",
    "template_csv",
    "template_xlsx",
]
