"""Bulletin documents, rendered from the bulletin's snapshot (never from live figures): an .xlsx
sheet (rank, subject, total, and per indicator value, numerator, denominator, points) and a PDF
(the ranking chart, the ranking table with every indicator's value and points, the definitions).

The PDF embeds the project's CJK font (``zongzhi.core.pdf``) so its text extracts as Chinese."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import IO, Any
from xml.sax.saxutils import escape

from django.utils import timezone
from django.utils.translation import gettext as _

from zongzhi.core.pdf import register_cjk_font
from zongzhi.core.tabular import write_xlsx

from .models import Bulletin

CHART_MAX_SUBJECTS = 30  # the chart shows the first 30 of the ranking; the table shows all
INDICATORS_PER_TABLE = 6


def bulletin_rows(bulletin: Bulletin) -> tuple[list[str], Iterator[list[Any]]]:
    """Headers and rows: rank, subject, total, then per indicator its value (a fraction for rates,
    empty for "—"), the numerator, the denominator and the score."""
    snap = bulletin.snapshot
    indicators = snap.get("indicators", [])
    headers = [_("排名"), _("考核对象"), _("总分")]
    for ind in indicators:
        headers += [
            f"{ind['name']}",
            _("%(name)s·分子") % {"name": ind["name"]},
            _("%(name)s·分母") % {"name": ind["name"]},
            _("%(name)s·得分") % {"name": ind["name"]},
        ]

    def rows() -> Iterator[list[Any]]:
        for row in snap.get("rows", []):
            out: list[Any] = [row["rank"] if row["rank"] is not None else "—", row["name"], row["total"]]
            for ind in indicators:
                v = row["values"].get(str(ind["id"]), {})
                out += [v.get("value"), v.get("numerator"), v.get("denominator"), v.get("score")]
            yield out

    return headers, rows()


def bulletin_xlsx(bulletin: Bulletin, target: IO[bytes]) -> int:
    headers, rows = bulletin_rows(bulletin)
    return write_xlsx(target, sheet=_("通报"), headers=headers, rows=rows)


def fmt_value(value: float | None, is_rate: bool) -> str:
    if value is None:
        return "—"
    return f"{value * 100:.1f}%" if is_rate else str(int(value))


def fmt_points(points: float | None) -> str:
    return "—" if points is None else f"{points:.2f}"


def _chunks(items: list[Any], size: int) -> list[list[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)] or [[]]


def _chart(rows: list[dict[str, Any]], full_marks: float, font: str, width: float) -> Any:
    """The ranking as a bar chart of the totals (subjects without a total are left out)."""
    from reportlab.graphics.charts.barcharts import VerticalBarChart
    from reportlab.graphics.shapes import Drawing, String
    from reportlab.lib import colors

    ranked = [r for r in rows if r["total"] is not None][:CHART_MAX_SUBJECTS]
    height = 190.0
    drawing = Drawing(width, height)
    drawing.add(String(0, height - 12, _("总分排名"), fontName=font, fontSize=10))
    if not ranked:
        drawing.add(String(0, height - 30, _("本期无可排名的考核对象。"), fontName=font, fontSize=9))
        return drawing
    chart = VerticalBarChart()
    chart.x, chart.y = 30, 45
    chart.width, chart.height = width - 40, height - 70
    chart.data = [[float(r["total"]) for r in ranked]]
    chart.valueAxis.valueMin = 0
    chart.valueAxis.valueMax = max(float(full_marks or 0), max(chart.data[0])) or 1
    chart.valueAxis.labels.fontName = font
    chart.valueAxis.labels.fontSize = 7
    chart.categoryAxis.categoryNames = [str(r["name"])[:10] for r in ranked]
    chart.categoryAxis.labels.fontName = font
    chart.categoryAxis.labels.fontSize = 7
    chart.categoryAxis.labels.angle = 30 if len(ranked) > 8 else 0
    chart.categoryAxis.labels.boxAnchor = "ne" if len(ranked) > 8 else "n"
    chart.bars[0].fillColor = colors.HexColor("#2f6fb0")
    chart.barLabelFormat = "%.2f"
    chart.barLabels.fontName = font
    chart.barLabels.fontSize = 6
    chart.barLabels.nudge = 6
    drawing.add(chart)
    return drawing


def bulletin_pdf(bulletin: Bulletin) -> bytes:
    """The bulletin as a landscape A4 PDF: heading, the ranking chart, the ranking with every
    indicator's value and points (indicators in groups of six per table), the definitions."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    font = register_cjk_font()
    snap = bulletin.snapshot
    indicators: list[dict[str, Any]] = snap.get("indicators", [])
    rows: list[dict[str, Any]] = snap.get("rows", [])
    full_marks = snap.get("full_marks") or 0
    page = landscape(A4)
    usable = page[0] - 30 * mm

    title = ParagraphStyle("title", fontName=font, fontSize=16, leading=22, alignment=1)
    meta = ParagraphStyle("meta", fontName=font, fontSize=9, leading=13, alignment=1, textColor=colors.grey)
    body = ParagraphStyle("body", fontName=font, fontSize=10, leading=15)
    cell = ParagraphStyle("cell", fontName=font, fontSize=8, leading=10)
    head = ParagraphStyle("head", fontName=font, fontSize=8, leading=10, alignment=1)
    h2 = ParagraphStyle("h2", fontName=font, fontSize=11, leading=16, spaceBefore=6, spaceAfter=4)

    def p(text: Any, style: ParagraphStyle = cell) -> Paragraph:
        return Paragraph(escape(str(text)), style)

    generated = timezone.localtime(bulletin.generated_at) if bulletin.generated_at else None
    who = str(bulletin.generated_by) if bulletin.generated_by else _("系统")
    story: list[Any] = [
        p(bulletin.title, title),
        p(
            _("考核期：%(start)s 至 %(end)s · 数据截至 %(at)s · 生成人：%(who)s")
            % {
                "start": bulletin.period_start.isoformat(),
                "end": bulletin.period_end.isoformat(),
                "at": f"{generated:%Y-%m-%d %H:%M}" if generated else "—",
                "who": who,
            },
            meta,
        ),
        Spacer(1, 4 * mm),
    ]
    if bulletin.note:
        story += [p(bulletin.note, body), Spacer(1, 3 * mm)]
    story += [_chart(rows, full_marks, font, usable), Spacer(1, 4 * mm)]

    grid = TableStyle(
        [
            ("FONTNAME", (0, 0), (-1, -1), font),
            ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eef2f7")),
            ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ("ALIGN", (2, 1), (-1, -1), "RIGHT"),
        ]
    )
    for number, group in enumerate(_chunks(indicators, INDICATORS_PER_TABLE)):
        story.append(
            p(
                _("考核排名（满分%(marks)s分）") % {"marks": f"{full_marks:g}"}
                if number == 0
                else _("考核排名（续）"),
                h2,
            )
        )
        header = [p(_("名次"), head), p(_("考核对象"), head), p(_("总分"), head)]
        header += [
            p(_("%(name)s（%(weight)s分）") % {"name": ind["name"], "weight": f"{ind['weight']:g}"}, head)
            for ind in group
        ]
        data = [header]
        for row in rows:
            line = [
                p("—" if row["rank"] is None else row["rank"]),
                p(row["name"]),
                p(fmt_points(row["total"])),
            ]
            for ind in group:
                v = row["values"].get(str(ind["id"]), {})
                line.append(p(f"{fmt_value(v.get('value'), ind['is_rate'])} / {fmt_points(v.get('score'))}"))
            data.append(line)
        fixed = [12 * mm, 45 * mm, 18 * mm]
        rest = (usable - sum(fixed)) / max(len(group), 1)
        table = Table(data, colWidths=fixed + [rest] * len(group), repeatRows=1)
        table.setStyle(grid)
        story += [table, Spacer(1, 2 * mm)]
    story.append(
        p(
            _(
                "各指标格内：实际值 / 得分。“—”表示期内无可考核事项（分母为零），该项不计分，"
                "总分按其余指标权重折算。名次并列时按“1、2、2、4”排列。"
            ),
            meta,
        )
    )

    story.append(p(_("考评指标及口径"), h2))
    definitions = [
        [p(t, head) for t in (_("指标"), _("权重"), _("目标值"), _("分子"), _("分母"), _("统计口径"))]
    ]
    for ind in indicators:
        target = ind.get("target")
        definitions.append(
            [
                p(ind["name"]),
                p(f"{ind['weight']:g}"),
                p(fmt_value(target, ind["is_rate"]) if target is not None else "—"),
                p(ind.get("numerator_text", "")),
                p(ind.get("denominator_text", "")),
                p(ind.get("cohort", "")),
            ]
        )
    table = Table(
        definitions,
        colWidths=[35 * mm, 14 * mm, 16 * mm, (usable - 115 * mm) / 2, (usable - 115 * mm) / 2, 50 * mm],
        repeatRows=1,
    )
    table.setStyle(grid)
    story.append(table)

    buf = io.BytesIO()
    doc = SimpleDocTemplate(
        buf,
        pagesize=page,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=15 * mm,
        title=bulletin.title,
        author=who,
        subject=bulletin.title,
    )

    def footer(canvas: Any, document: Any) -> None:
        canvas.saveState()
        canvas.setFont(font, 8)
        canvas.drawCentredString(page[0] / 2, 8 * mm, _("第%(n)d页") % {"n": document.page})
        canvas.restoreState()

    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return buf.getvalue()
