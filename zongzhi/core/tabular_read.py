"""Tabular input: read .csv and .xlsx files row by row with constant memory.

``open_table(fh, filename=...)`` looks at the bytes (not the file name) and returns a
``TableReader``: its ``headers`` and an iterator of ``(row_number, values)`` where ``row_number``
is the row a spreadsheet shows (the header is row 1) and ``values`` are strings ("" for an empty
cell), one per header column.

* **CSV**: UTF-8 (with or without BOM) or GB18030/GBK — what Excel for Chinese Windows writes when
  a sheet is saved as "CSV (逗号分隔)". The encoding is decided from the first 64 KiB; a file that
  later stops being valid in that encoding is rejected with the row where it happened. Comma or
  tab separated (sniffed from the header line). Records are numbered as a spreadsheet would show
  them: a quoted field that spans lines is still one row.
* **XLSX**: a small streaming reader (``zipfile`` + regular expressions over the decompressed sheet
  XML, 1 MiB at a time). It reads the first worksheet; shared strings are read once, side by side
  with the sheet (as far as its rows need them), and when there are many of them they are spilled
  to a temporary file (``SharedStrings``) so memory does not grow with the file. Cells with a date format become ``YYYY-MM-DD`` (``YYYY-MM-DD HH:MM:SS``
  when there is a time part); numbers keep the text Excel stored ("13800000000", "120.15").
  openpyxl's read-only mode was measured at ~25x slower on the same sheet and python-calamine
  loads the whole sheet into memory (see bench/bench_people_import.py).
* ``ReadAhead`` wraps an open reader and reads its rows in a forked child process, sending them to
  the parent in batches through a pipe: a long import then parses the file on one CPU while it
  validates and writes on another.
* Anything else (legacy .xls, PDF, images, archives that are not a workbook, binary data) raises
  ``TableFormatError`` with a message saying what to do.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import multiprocessing
import os
import re
import signal
import tempfile
import zipfile
from abc import ABC, abstractmethod
from array import array
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import IO, Any
from xml.etree import ElementTree

from django.utils.translation import gettext as _

from .errors import DomainError

SNIFF_BYTES = 64 * 1024
CHUNK = 1 << 20
SST_IN_MEMORY = 50_000  # shared strings kept in a list; the rest go to a temporary file
READ_AHEAD_STRINGS = 256  # shared strings read past the one asked for

_XLSX_MAGIC = b"PK\x03\x04"
_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .xls / .doc
_OTHER_MAGIC = (b"%PDF", b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"\x1f\x8b", b"Rar!", b"7z\xbc\xaf")


class TableFormatError(DomainError):
    """The file as a whole cannot be read (not a CSV/XLSX, bad encoding, no header...)."""

    status = 422
    code = "bad_file"


def _bad(message: str, code: str = "bad_file", **data: Any) -> TableFormatError:
    return TableFormatError(message, code=code, **data)


# --- the reader ---------------------------------------------------------------------------------


class TableReader(ABC):
    """Headers and rows of one table (``CsvReader``, ``XlsxReader``). Iterate once; ``close()``
    releases temporary files."""

    format: str = ""

    def __init__(self, headers: list[str]) -> None:
        self.headers = headers

    @abstractmethod
    def rows(self) -> Iterator[tuple[int, list[str]]]:
        """(row number in the file, cells as text) for every data row after the headers."""

    def __iter__(self) -> Iterator[tuple[int, list[str]]]:
        return self.rows()

    def fraction(self) -> float:
        """How much of the file has been read, 0.0–1.0 (for progress bars)."""
        return 0.0

    def close(self) -> None:
        return None

    def __enter__(self) -> TableReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_table(fh: IO[bytes], *, filename: str = "") -> TableReader:
    """Open ``fh`` (binary, seekable) as a CSV or XLSX table, deciding by its content."""
    head = fh.read(SNIFF_BYTES)
    fh.seek(0)
    if not head.strip():
        raise _bad(_("文件是空的。"), code="empty_file")
    if head.startswith(_XLSX_MAGIC):
        return XlsxReader(fh)
    if head.startswith(_OLE2_MAGIC):
        raise _bad(
            _("不支持旧版 Excel（.xls）文件，请在 Excel 中“另存为” .xlsx 或 CSV 后再导入。"),
            code="xls_not_supported",
        )
    if head.startswith(_OTHER_MAGIC) or b"\x00" in head:
        if head.startswith((b"\xff\xfe", b"\xfe\xff")):
            raise _bad(
                _("不支持 UTF-16（“Unicode 文本”）文件，请另存为 .xlsx 或 CSV（UTF-8 或 GBK）后再导入。"),
                code="bad_encoding",
            )
        raise _bad(
            _("文件不是 CSV 或 Excel（.xlsx）表格：%(name)s") % {"name": filename or "?"}, code="not_a_table"
        )
    return CsvReader(fh, head)


# --- CSV ----------------------------------------------------------------------------------------


def sniff_encoding(head: bytes) -> str:
    """ "utf-8-sig" when the bytes are UTF-8 (a BOM is skipped), else "gb18030" (a superset of GBK
    and GB2312, what Chinese Excel writes), else a ``TableFormatError``."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    for encoding in ("utf-8", "gb18030"):
        try:
            # final=False: a multi-byte character cut at the end of the sample is not an error.
            codecs.getincrementaldecoder(encoding)().decode(head, final=False)
        except UnicodeDecodeError:
            continue
        return "utf-8-sig" if encoding == "utf-8" else encoding
    raise _bad(_("无法识别文件编码，请保存为 UTF-8 或 GBK 编码的 CSV。"), code="bad_encoding")


_UNDECODABLE = re.compile("[\udc80-\udcff]")


class CsvReader(TableReader):
    format = "csv"

    def __init__(self, fh: IO[bytes], head: bytes) -> None:
        self.encoding = sniff_encoding(head)
        first_line = head.split(b"\n", 1)[0]
        self.delimiter = "\t" if first_line.count(b"\t") > first_line.count(b",") else ","
        self._fh = fh
        fh.seek(0, io.SEEK_END)
        self._size = fh.tell() or 1
        fh.seek(0)
        # Undecodable bytes become lone surrogates, found per row: the error names the exact row.
        self._text = io.TextIOWrapper(fh, encoding=self.encoding, newline="", errors="surrogateescape")  # type: ignore[arg-type]
        self._reader = csv.reader(self._text, delimiter=self.delimiter)
        self._row = 0
        headers = self._next()
        while headers is not None and not any(h.strip() for h in headers):
            headers = self._next()  # leading blank lines
        if headers is None:
            raise _bad(_("文件中没有表头行。"), code="no_header")
        super().__init__([h.strip() for h in headers])

    def _next(self) -> list[str] | None:
        try:
            row = next(self._reader)
        except StopIteration:
            return None
        except UnicodeDecodeError as exc:
            raise _bad(
                _("第 %(row)d 行附近的内容不是 %(encoding)s 编码，请统一保存为 UTF-8 或 GBK 编码的 CSV。")
                % {"row": self._row + 1, "encoding": self.encoding.upper().replace("-SIG", "")},
                code="bad_encoding",
                row=self._row + 1,
            ) from exc
        except csv.Error as exc:
            raise _bad(
                _("第 %(row)d 行不是有效的 CSV：%(reason)s") % {"row": self._row + 1, "reason": str(exc)},
                code="bad_csv",
                row=self._row + 1,
            ) from exc
        self._row += 1
        if _UNDECODABLE.search("".join(row)):
            raise _bad(
                _("第 %(row)d 行的内容不是 %(encoding)s 编码，请统一保存为 UTF-8 或 GBK 编码的 CSV。")
                % {"row": self._row, "encoding": self.encoding.upper().replace("-SIG", "")},
                code="bad_encoding",
                row=self._row,
            )
        return row

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        width = len(self.headers)
        while True:
            row = self._next()
            if row is None:
                return
            n = len(row)
            if n < width:
                row.extend([""] * (width - n))
            elif n > width:
                del row[width:]
            yield self._row, row

    def fraction(self) -> float:
        try:
            return min(1.0, self._fh.tell() / self._size)
        except (OSError, ValueError):
            return 0.0

    def close(self) -> None:
        with contextlib.suppress(ValueError):  # already detached
            self._text.detach()


# --- XLSX ---------------------------------------------------------------------------------------

_NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_NS_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_NS_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_NS_STRICT_MAIN = "http://purl.oclc.org/ooxml/spreadsheetml/main"
_NS_STRICT_REL = "http://purl.oclc.org/ooxml/officeDocument/relationships"

# Built-in number formats that show dates or times (ECMA-376 18.8.30, plus the CJK ones 27–36, 50–58).
_BUILTIN_DATE_FORMATS = frozenset([*range(14, 23), *range(27, 37), *range(45, 48), *range(50, 59)])
_DATE_CODE = re.compile(r"[ymdhs]", re.I)
_FORMAT_NOISE = re.compile(r'"[^"]*"|\[[^\]]*\]|\\.|_.|\*.')

# One pass over the sheet XML: a token is either a row start (group 1) or a cell. The common
# cell shapes capture their value directly (<v>…</v>, or an inline <is><t>…</t></is>); anything
# else (rich text, formulas with cached values) is captured as ``body`` and parsed on its own.
_TOKEN = re.compile(
    r"<(?:\w+:)?(row)\b([^>]*)>"
    r'|<(?:\w+:)?c(?:\s+r="([A-Z]+)\d*"|\s+t="(\w+)"|\s+s="(\d+)"|\s+[\w:]+="[^"]*")*\s*'
    r"(?:/>|>(?:<(?:\w+:)?v>([^<]*)</(?:\w+:)?v>|<(?:\w+:)?is><(?:\w+:)?t(?:\s[^>]*)?>([^<]*)</(?:\w+:)?t></(?:\w+:)?is>"
    r"|(.*?))</(?:\w+:)?c>)",
    re.S,
)
_ROW_NUM = re.compile(r'\sr="(\d+)"')
_V = re.compile(r"<(?:\w+:)?v>(.*?)</(?:\w+:)?v>", re.S)
_T = re.compile(r"<(?:\w+:)?t(?:\s[^>]*)?>(.*?)</(?:\w+:)?t>|<(?:\w+:)?rPh\b.*?</(?:\w+:)?rPh>", re.S)
_ENTITY = re.compile(r"&(#x[0-9a-fA-F]+|#\d+|\w+);")
_ENTITIES = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'"}
_EPOCH_1900 = datetime(1899, 12, 30)
_EPOCH_1904 = datetime(1904, 1, 1)


def _unescape_entity(m: re.Match[str]) -> str:
    name = m.group(1)
    if name.startswith("#x"):
        return chr(int(name[2:], 16))
    if name.startswith("#"):
        return chr(int(name[1:]))
    return _ENTITIES.get(name, m.group(0))


def xml_text(raw: str) -> str:
    return _ENTITY.sub(_unescape_entity, raw) if "&" in raw else raw


def _inline_text(inner: str) -> str:
    # <is><t>..</t></is> or rich text runs <r><t>..</t></r>; phonetic runs (<rPh>) are skipped.
    return "".join(xml_text(m.group(1)) for m in _T.finditer(inner) if m.group(1) is not None)


_COLUMN_INDEX: dict[str, int] = {}


def column_index(letters: str) -> int:
    """ "A" → 0, "Z" → 25, "AA" → 26."""
    found = _COLUMN_INDEX.get(letters)
    if found is None:
        found = 0
        for ch in letters:
            found = found * 26 + (ord(ch) - 64)
        found -= 1
        _COLUMN_INDEX[letters] = found
    return found


def column_letters(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


class SharedStrings:
    """The workbook's shared-string table. The first ``SST_IN_MEMORY`` strings stay in a list (the
    common values — 男/女, 汉族 — come first, in order of appearance); the rest are written to a
    temporary file with their offsets in a second one and read back with ``os.pread``, so memory
    stays flat however many distinct strings (names, addresses, ID numbers) the file holds.

    With a ``source`` (the strings in table order, read as they are asked for) the table is read
    only as far as the rows need it: Excel numbers the strings in order of first appearance, so the
    table and the sheet are read side by side and the first rows come at once instead of after the
    whole table. A string asked for further on is read up to, whatever the order."""

    def __init__(self, in_memory: int = SST_IN_MEMORY, *, source: Iterator[str] | None = None) -> None:
        self._limit = in_memory
        self._head: list[str] = []
        self._data: IO[bytes] | None = None
        self._offsets: IO[bytes] | None = None
        self._pos = 0
        self._count = 0
        self._flushed = 0  # strings whose start offset is on disk
        self._buffer: list[bytes] = []
        self._offset_buffer = array("q")
        self._source = source

    def __len__(self) -> int:
        return self._count

    def append(self, value: str) -> None:
        self._count += 1
        if len(self._head) < self._limit:
            self._head.append(value)
            return
        if self._data is None:
            self._data = tempfile.TemporaryFile()  # noqa: SIM115 - closed by close()
            self._offsets = tempfile.TemporaryFile()  # noqa: SIM115
        raw = value.encode()
        self._offset_buffer.append(self._pos)
        self._pos += len(raw)
        self._buffer.append(raw)
        if len(self._offset_buffer) >= 8192:
            self._flush()

    def _flush(self) -> None:
        if self._data is None or self._offsets is None:
            return
        self._data.write(b"".join(self._buffer))
        self._offsets.write(self._offset_buffer.tobytes())
        self._flushed += len(self._offset_buffer)
        self._buffer.clear()
        self._offset_buffer = array("q")
        self._data.flush()
        self._offsets.flush()

    def finish(self) -> None:
        self._source = None
        self._flush()

    def _load(self, index: int) -> None:
        """Read the source on to string ``index`` (``IndexError`` when the table ends before)."""
        source = self._source
        if source is not None:
            ahead = index + READ_AHEAD_STRINGS
            for value in source:
                self.append(value)
                if self._count > ahead:
                    return
            if self._count > index:
                self._source = None
                return
            self.finish()
        raise IndexError(index)

    def __getitem__(self, index: int) -> str:
        if index < len(self._head):
            return self._head[index]
        if index >= self._count:
            self._load(index)
            if index < len(self._head):
                return self._head[index]
        if self._data is None or self._offsets is None:
            raise IndexError(index)
        i = index - self._limit
        if i >= self._flushed:  # read lately, still in the buffer
            return self._buffer[i - self._flushed].decode()
        bounds = array("q")
        if i + 1 < self._flushed:
            bounds.frombytes(os.pread(self._offsets.fileno(), 16, i * 8))
            start, end = bounds[0], bounds[1]
        else:  # the last string on disk ends where the buffered ones start (or the data ends)
            bounds.frombytes(os.pread(self._offsets.fileno(), 8, i * 8))
            start, end = bounds[0], (self._offset_buffer[0] if self._offset_buffer else self._pos)
        return os.pread(self._data.fileno(), end - start, start).decode()

    def close(self) -> None:
        source, self._source = self._source, None
        if source is not None and hasattr(source, "close"):
            source.close()
        for fh in (self._data, self._offsets):
            if fh is not None:
                fh.close()
        self._data = self._offsets = None


def _xml(zf: zipfile.ZipFile, name: str) -> ElementTree.Element | None:
    try:
        with zf.open(name) as fh:
            return ElementTree.parse(fh).getroot()  # noqa: S314 - expat: no external entities, bounded expansion
    except KeyError:
        return None


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _resolve(base_dir: str, target: str) -> str:
    if target.startswith("/"):
        return target.lstrip("/")
    parts = [p for p in f"{base_dir}/{target}".split("/") if p and p != "."]
    out: list[str] = []
    for p in parts:
        if p == "..":
            if out:
                out.pop()
        else:
            out.append(p)
    return "/".join(out)


def _is_date_format(code: str) -> bool:
    cleaned = _FORMAT_NOISE.sub("", code.split(";", 1)[0])
    return bool(_DATE_CODE.search(cleaned)) and "General" not in cleaned


class XlsxReader(TableReader):
    format = "xlsx"

    def __init__(self, fh: IO[bytes]) -> None:
        try:
            self._zip = zipfile.ZipFile(fh)
            names = set(self._zip.namelist())
        except (zipfile.BadZipFile, OSError) as exc:
            raise _bad(_("Excel 文件已损坏或不是 .xlsx 格式。"), code="bad_xlsx") from exc
        if "xl/workbook.xml" not in names:
            raise _bad(_("压缩包不是 Excel（.xlsx）工作簿。"), code="bad_xlsx")
        self._sst = SharedStrings()
        try:
            self._sheet, sst_name, styles_name, self._epoch = self._workbook_parts(names)
            self._date_styles = self._read_date_styles(styles_name)
        except (ElementTree.ParseError, KeyError, ValueError) as exc:
            raise _bad(
                _("Excel 文件结构有误，无法读取：%(reason)s") % {"reason": str(exc)}, code="bad_xlsx"
            ) from exc
        if sst_name:
            self._sst = SharedStrings(source=self._shared_strings(sst_name))
        self._rows = self._iter_rows()
        try:
            header = next(self._rows, None)
        except TableFormatError:
            self.close()
            raise
        if header is None or not any(header[1]):
            self.close()
            raise _bad(_("工作表中没有表头行（第一张工作表的第一行应为列名）。"), code="no_header")
        self.header_row = header[0]
        values = header[1]
        while values and not values[-1]:
            values.pop()
        super().__init__([v.strip() for v in values])

    # -- workbook structure --

    def _workbook_parts(self, names: set[str]) -> tuple[str, str, str, datetime]:
        wb = _xml(self._zip, "xl/workbook.xml")
        rels = _xml(self._zip, "xl/_rels/workbook.xml.rels")
        if wb is None:
            raise ValueError("xl/workbook.xml")
        epoch = _EPOCH_1900
        sheet_rid = ""
        for el in wb.iter():
            tag = _local(el.tag)
            if tag == "workbookPr" and el.get("date1904") in ("1", "true"):
                epoch = _EPOCH_1904
            elif tag == "sheet" and not sheet_rid:
                sheet_rid = el.get(f"{{{_NS_REL}}}id") or el.get(f"{{{_NS_STRICT_REL}}}id") or ""
        targets: dict[str, tuple[str, str]] = {}
        if rels is not None:
            for rel in rels:
                targets[rel.get("Id", "")] = (
                    rel.get("Type", "").rsplit("/", 1)[-1],
                    _resolve("xl", rel.get("Target", "")),
                )
        sheet = targets.get(sheet_rid, ("", ""))[1] or "xl/worksheets/sheet1.xml"
        if sheet not in names:
            raise ValueError(sheet)
        sst = next((t for kind, t in targets.values() if kind == "sharedStrings"), "xl/sharedStrings.xml")
        styles = next((t for kind, t in targets.values() if kind == "styles"), "xl/styles.xml")
        return sheet, (sst if sst in names else ""), (styles if styles in names else ""), epoch

    def _read_date_styles(self, name: str) -> frozenset[int]:
        root = _xml(self._zip, name) if name else None
        if root is None:
            return frozenset()
        custom_dates: set[int] = set()
        dates: set[int] = set()
        for el in root:
            tag = _local(el.tag)
            if tag == "numFmts":
                for fmt in el:
                    if _is_date_format(fmt.get("formatCode", "")):
                        custom_dates.add(int(fmt.get("numFmtId", "0")))
            elif tag == "cellXfs":
                for i, xf in enumerate(el):
                    fmt_id = int(xf.get("numFmtId", "0"))
                    if fmt_id in _BUILTIN_DATE_FORMATS or fmt_id in custom_dates:
                        dates.add(i)
        return frozenset(dates)

    def _shared_strings(self, name: str) -> Iterator[str]:
        """The strings of the shared-string table, in order, read as they are asked for."""
        with self._zip.open(name) as fh:
            root = None
            done = 0
            try:
                for event, el in ElementTree.iterparse(fh, events=("start", "end")):  # noqa: S314 - expat: no external entities, bounded expansion
                    if root is None:
                        root = el
                    if event != "end" or _local(el.tag) != "si":
                        continue
                    parts = []
                    for child in el:
                        tag = _local(child.tag)
                        if tag == "t":
                            parts.append(child.text or "")
                        elif tag == "r":
                            parts.extend(t.text or "" for t in child if _local(t.tag) == "t")
                    yield "".join(parts)
                    done += 1
                    if done % 1024 == 0:
                        root.clear()  # the strings read so far: memory stays flat
            except ElementTree.ParseError as exc:
                raise _bad(
                    _("Excel 文件结构有误，无法读取：%(reason)s") % {"reason": str(exc)}, code="bad_xlsx"
                ) from exc

    # -- rows --

    def _date_text(self, raw: str) -> str:
        try:
            serial = float(raw)
        except ValueError:
            return raw
        moment = self._epoch + timedelta(days=serial)
        if serial == int(serial):
            return moment.strftime("%Y-%m-%d")
        moment = moment + timedelta(microseconds=500_000)  # round to the second
        return moment.strftime("%Y-%m-%d %H:%M:%S")

    def _iter_rows(self) -> Iterator[tuple[int, list[str]]]:
        decoder = codecs.getincrementaldecoder("utf-8")()
        sst = self._sst
        date_styles = self._date_styles
        buffer = ""
        row_no = 0
        values: list[str] | None = None
        col = -1
        self._sheet_size = self._zip.getinfo(self._sheet).file_size or 1
        with self._zip.open(self._sheet) as fh:
            self._sheet_fh = fh
            while True:
                chunk = fh.read(CHUNK)
                final = not chunk
                buffer += decoder.decode(chunk, final=final)
                cut = len(buffer) if final else buffer.rfind("</row>")
                if cut < 0:
                    continue
                for is_row, attrs, letters, kind, style, v, t, body in _TOKEN.findall(buffer, 0, cut):
                    if is_row:
                        if values is not None:
                            yield row_no, values
                        num = _ROW_NUM.search(attrs)
                        row_no = int(num.group(1)) if num else row_no + 1
                        values = []
                        col = -1
                        continue
                    col = column_index(letters) if letters else col + 1
                    if kind == "s":
                        try:
                            value = (
                                sst[int(v)] if v else (sst[int(m.group(1))] if (m := _V.search(body)) else "")
                            )
                        except (IndexError, ValueError):
                            raise _bad(
                                _("Excel 文件结构有误，无法读取：第 %(row)d 行引用了不存在的共享字符串。")
                                % {"row": row_no},
                                code="bad_xlsx",
                                row=row_no,
                            ) from None
                    elif kind == "inlineStr":
                        value = xml_text(t) if t else (_inline_text(body) if body else "")
                    else:
                        if body:
                            m = _V.search(body)
                            v = m.group(1) if m else ""
                        if not v:
                            continue
                        value = xml_text(v)
                        if style and date_styles and kind in ("", "n") and int(style) in date_styles:
                            value = self._date_text(value)
                    if values is None:
                        continue  # a cell outside any row: ignore
                    n = len(values)
                    if col == n:
                        values.append(value)
                    elif col > n:
                        values.extend([""] * (col - n))
                        values.append(value)
                    else:
                        values[col] = value
                buffer = buffer[cut:]
                if final:
                    break
        if values is not None:
            yield row_no, values

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        width = len(self.headers)
        for row_no, values in self._rows:
            n = len(values)
            if n < width:
                values.extend([""] * (width - n))
            elif n > width:
                del values[width:]
            yield row_no, values

    def fraction(self) -> float:
        fh = getattr(self, "_sheet_fh", None)
        try:
            return min(1.0, fh.tell() / self._sheet_size) if fh is not None else 0.0
        except (OSError, ValueError):
            return 1.0

    def close(self) -> None:
        self._sst.close()
        self._zip.close()


# --- reading ahead in a child process --------------------------------------------------------------


class ReadAhead(TableReader):
    """The rows of an open ``reader``, read by a forked child process and received here in
    batches of ``batch`` rows (with the child's ``fraction()``), so parsing the file — the costly
    part of an .xlsx — runs on another CPU than the caller's work on the rows.

    The child continues the reader where the parent left it (the header row read, the shared
    strings loaded): it only iterates, pickles and sends; it touches no database connection and
    leaves with ``os._exit``. The parent must not use the reader's file while the child runs
    (``close()`` ends the child first). A ``TableFormatError`` raised in the child (a CSV whose
    encoding breaks at some row) is raised here when its row is reached; a child that dies is a
    ``RuntimeError``. POSIX only (``fork``): ``available()`` says whether it can be used."""

    def __init__(self, reader: TableReader, *, batch: int = 2000) -> None:
        super().__init__(reader.headers)
        self.format = reader.format
        self._reader = reader
        self._fraction = 0.0
        receive, send = multiprocessing.Pipe(duplex=False)
        pid = os.fork()
        if pid == 0:  # the child
            code = 1
            try:
                receive.close()
                code = _send_rows(reader, send, batch)
            finally:
                os._exit(code)
        send.close()
        self._pid: int | None = pid
        self._conn = receive

    @staticmethod
    def available() -> bool:
        return hasattr(os, "fork")

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        while True:
            try:
                kind, payload, fraction = self._conn.recv()
            except EOFError:
                raise RuntimeError("the process reading the file ended before the last row") from None
            if kind == "rows":
                self._fraction = fraction
                yield from payload
            elif kind == "end":
                self._fraction = 1.0
                return
            else:
                message, code, data = payload
                raise TableFormatError(message, code=code, **data)

    def fraction(self) -> float:
        return self._fraction

    def close(self) -> None:
        pid, self._pid = self._pid, None
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)  # done already, or no longer wanted
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
            self._conn.close()
        self._reader.close()


def _send_rows(reader: TableReader, conn: Any, batch: int) -> int:
    """The child's work: every row of ``reader`` sent in batches; 0 when all were sent."""
    rows: list[tuple[int, list[str]]] = []
    try:
        for row in reader.rows():
            rows.append(row)
            if len(rows) >= batch:
                conn.send(("rows", rows, reader.fraction()))
                rows = []
        conn.send(("rows", rows, reader.fraction()))
        conn.send(("end", None, 1.0))
    except TableFormatError as exc:
        conn.send(("rows", rows, reader.fraction()))
        conn.send(("error", (str(exc.message), exc.code, exc.data), 0.0))
    except (BrokenPipeError, OSError):
        return 1  # the parent stopped listening
    return 0
