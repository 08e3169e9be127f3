"""The monthly dispute screening statistics table (矛盾纠纷排查信息统计表) as .xlsx, in the customary
layout: a title row, the reporting unit and period, a two-level header (group, then column), one
row per region and the total. The table is small (one row per child region), so it is built in
memory with openpyxl; every text cell goes through ``core.tabular.safe_cell``."""

from __future__ import annotations

import io
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter

from zongzhi.core.tabular import safe_cell

from .selectors import MonthlyTable

_THIN = Side(style="thin", color="000000")
_BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)


def _rate(value: Any) -> Any:
    return "—" if value is None else f"{value}%"


def monthly_xlsx(table: MonthlyTable) -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = _("排查统计表")[:31]
    leaf = [(key, label) for _g, _gl, cols in table.columns for key, label in cols]
    ncols = 1 + len(leaf) + 2  # region, the counts, the two rates
    title = _("矛盾纠纷排查信息统计表")
    ws.cell(row=1, column=1, value=title).font = Font(bold=True, size=16)
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=ncols)
    ws.cell(row=1, column=1).alignment = _CENTER
    unit = _("填报单位：%(unit)s") % {"unit": table.region.name}
    period = _("统计时间：%(y)d年%(m)d月") % {"y": table.year, "m": table.month}
    as_of = _("截至：%(t)s") % {"t": timezone.localtime(table.as_of).strftime("%Y-%m-%d %H:%M")}
    ws.cell(row=2, column=1, value=safe_cell(f"{unit}    {period}    {as_of}"))
    ws.merge_cells(start_row=2, start_column=1, end_row=2, end_column=ncols)
    # two-level header: rows 3 (groups) and 4 (columns)
    ws.cell(row=3, column=1, value=_("区域"))
    ws.merge_cells(start_row=3, start_column=1, end_row=4, end_column=1)
    col = 2
    for _key, group_label, cols in table.columns:
        ws.cell(row=3, column=col, value=safe_cell(group_label))
        if len(cols) > 1:
            ws.merge_cells(start_row=3, start_column=col, end_row=3, end_column=col + len(cols) - 1)
        for _k, label in cols:
            ws.cell(row=4, column=col, value=safe_cell(label))
            col += 1
    ws.cell(row=3, column=col, value=_("化解率"))
    ws.merge_cells(start_row=3, start_column=col, end_row=4, end_column=col)
    ws.cell(row=3, column=col + 1, value=_("就地化解率"))
    ws.merge_cells(start_row=3, start_column=col + 1, end_row=4, end_column=col + 1)
    row_no = 5
    for row in [*table.rows, table.total]:
        ws.cell(row=row_no, column=1, value=safe_cell(row.label))
        for i, (key, _label) in enumerate(leaf):
            ws.cell(row=row_no, column=2 + i, value=row.counts.get(key, 0))
        ws.cell(row=row_no, column=2 + len(leaf), value=_rate(row.resolution_rate))
        ws.cell(row=row_no, column=3 + len(leaf), value=_rate(row.local_resolution_rate))
        if row is table.total:
            for c in range(1, ncols + 1):
                ws.cell(row=row_no, column=c).font = Font(bold=True)
        row_no += 1
    for r in range(3, row_no):
        for c in range(1, ncols + 1):
            cell = ws.cell(row=r, column=c)
            cell.border = _BORDER
            cell.alignment = _CENTER
            if r in (3, 4):
                cell.font = Font(bold=True)
    ws.column_dimensions["A"].width = 18
    for c in range(2, ncols + 1):
        ws.column_dimensions[get_column_letter(c)].width = 7.5
    ws.row_dimensions[4].height = 48
    ws.freeze_panes = "B5"
    ws.cell(
        row=row_no + 1,
        column=1,
        value=_(
            "口径：化解率＝已化解÷（排查纠纷总数−撤回）；就地化解率＝在村、乡镇两级化解数÷（排查纠纷总数−撤回）。"
        ),
    )
    ws.merge_cells(start_row=row_no + 1, start_column=1, end_row=row_no + 1, end_column=ncols)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def monthly_filename(table: MonthlyTable) -> str:
    return f"矛盾纠纷排查信息统计表-{table.region.code}-{table.year}{table.month:02d}.xlsx"
