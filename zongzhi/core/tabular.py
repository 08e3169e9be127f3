"""Tabular output: write rows to an .xlsx file with constant memory (openpyxl write-only mode)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import IO, Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

# Cells starting with these could be run as formulas by a spreadsheet (CSV/formula injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def write_xlsx(
    target: IO[bytes],
    *,
    sheet: str,
    headers: Sequence[str],
    rows: Iterable[Sequence[Any]],
    progress: Callable[[int], None] | None = None,
    every: int = 1000,
) -> int:
    """Stream ``rows`` into ``target``. Returns the number of data rows written."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title=sheet[:31])
    bold = Font(bold=True)
    header_cells = []
    for h in headers:
        cell = WriteOnlyCell(ws, value=h)
        cell.font = bold
        header_cells.append(cell)
    ws.append(header_cells)
    count = 0
    for row in rows:
        ws.append([safe_cell(v) for v in row])
        count += 1
        if progress is not None and count % every == 0:
            progress(count)
    wb.save(target)
    if progress is not None:
        progress(count)
    return count
