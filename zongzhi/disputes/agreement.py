"""The mediation agreement document (调解协议书): the data of the template, and its PDF.

The PDF is drawn with ReportLab in a CJK TrueType font embedded as a subset (so the characters are
rendered in any viewer and text extraction gives the Chinese back). The font comes from
``settings.ZZ_PDF_CJK_FONT`` or the first file found among ``FONT_CANDIDATES`` (Debian's
``fonts-wqy-microhei``, installed by ``make browser-deps``); without one, building a PDF fails with
``PdfFontMissing`` and a message saying what to install — never with boxes instead of characters.
"""

from __future__ import annotations

import io
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from zongzhi.core.pdf import FONT_CANDIDATES, FONT_NAME, PdfFontMissing, cjk_font_path  # noqa: F401 - re-exported
from zongzhi.core.pdf import register_cjk_font as _register_font

from .models import JudicialStatus, MediationAgreement, Performance
from .services import agreement_parties


def _party_line(p: dict[str, str]) -> str:
    bits = [p["name"]]
    if p.get("kind") == "organization":
        if p.get("representative"):
            bits.append(_("法定代表人（负责人）：%(v)s") % {"v": p["representative"]})
    else:
        bits += [v for v in (p.get("gender"), p.get("ethnicity")) if v]
    if p.get("id_number"):
        bits.append(f"{p.get('id_type') or _('证件号码')}：{p['id_number']}")
    if p.get("address"):
        bits.append(_("住址：%(v)s") % {"v": p["address"]})
    if p.get("phone"):
        bits.append(_("联系电话：%(v)s") % {"v": p["phone"]})
    if p.get("kind") != "organization" and p.get("representative"):
        bits.append(_("委托代理人：%(v)s") % {"v": p["representative"]})
    return "，".join(bits)


def document(agreement: MediationAgreement) -> dict[str, Any]:
    """Everything the template (HTML and PDF alike) shows."""
    parties = agreement_parties(agreement)
    signed = timezone.localtime(agreement.signed_at)
    deadline = agreement.performance_deadline
    if agreement.performance_method or deadline:
        performance = "；".join(
            v
            for v in (
                agreement.performance_method,
                (
                    _("于%(y)d年%(m)d月%(d)d日前履行完毕")
                    % {"y": deadline.year, "m": deadline.month, "d": deadline.day}
                )
                if deadline
                else "",
            )
            if v
        )
    else:
        performance = _("协议签订时当场履行完毕。")
    return {
        "title": _("人民调解协议书") + (_("（部分）") if agreement.is_partial else ""),
        "number": agreement.number,
        "parties": [{**p, "line": _party_line(p)} for p in parties],
        "applicants": [p for p in parties if p["role"] == "applicant"],
        "respondents": [p for p in parties if p["role"] == "respondent"],
        "facts": agreement.facts,
        "terms": agreement.terms,
        "performance": performance,
        "copies": len(parties) + 1,
        "organization": agreement.organization_name,
        "mediators": agreement.mediator_names,
        "date": _("%(y)d年%(m)d月%(d)d日") % {"y": signed.year, "m": signed.month, "d": signed.day},
        "judicial": str(JudicialStatus(agreement.judicial_status).label),
        "performance_status": str(Performance(agreement.performance).label),
    }


def agreement_pdf(agreement: MediationAgreement) -> bytes:
    """The agreement as an A4 PDF with the Chinese text in an embedded CJK font."""
    from xml.sax.saxutils import escape

    from reportlab.lib import colors
    from reportlab.lib.enums import TA_CENTER, TA_RIGHT
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
    from reportlab.platypus.flowables import KeepTogether

    font = _register_font()
    doc_data = document(agreement)
    body = ParagraphStyle("body", fontName=font, fontSize=12, leading=21, wordWrap="CJK", firstLineIndent=0)
    indent = ParagraphStyle("indent", parent=body, firstLineIndent=24)
    heading = ParagraphStyle("heading", parent=body, fontSize=12, leading=22, spaceBefore=6)
    title = ParagraphStyle("title", parent=body, fontSize=20, leading=30, alignment=TA_CENTER, spaceAfter=4)
    number = ParagraphStyle("number", parent=body, fontSize=11, alignment=TA_RIGHT, spaceAfter=10)

    def para(text: str, style: ParagraphStyle = body) -> list[Paragraph]:
        return [Paragraph(escape(line) or "&nbsp;", style) for line in text.splitlines() or [""]]

    story: list[Any] = [
        Paragraph(escape(doc_data["title"]), title),
        Paragraph(escape(doc_data["number"]), number),
    ]
    for p in doc_data["parties"]:
        role = _("申请人") if p["role"] == "applicant" else _("被申请人")
        story.append(Paragraph(escape(f"{role}：{p['line']}"), body))
    story += [Spacer(1, 4 * mm), Paragraph(escape(_("纠纷主要事实、争议事项：")), heading)]
    story += para(doc_data["facts"], indent)
    story.append(Paragraph(escape(_("经调解，双方当事人自愿达成如下协议：")), heading))
    story += para(doc_data["terms"], indent)
    story.append(Paragraph(escape(_("履行方式、时限：")), heading))
    story += para(doc_data["performance"], indent)
    story += para(
        _(
            "本协议经双方当事人签名（盖章）、调解员签名并加盖人民调解委员会印章后生效，具有法律约束力，"
            "当事人应当按照约定履行。双方当事人可以自本协议生效之日起三十日内共同向人民法院申请司法确认。"
            "本协议一式%(n)d份，当事人、人民调解组织各持一份。"
        )
        % {"n": doc_data["copies"]},
        indent,
    )
    rows = [
        [
            Paragraph(escape(_("申请人（签名/盖章）：")), body),
            Paragraph(escape(_("被申请人（签名/盖章）：")), body),
        ],
        [Paragraph("<br/><br/>", body), Paragraph("<br/><br/>", body)],
        [
            Paragraph(escape(_("调解员（签名）：%(v)s") % {"v": doc_data["mediators"]}), body),
            Paragraph(escape(_("记录人（签名）：")), body),
        ],
        [Paragraph("<br/>", body), Paragraph("<br/>", body)],
        [
            Paragraph(escape(f"{doc_data['organization']}（{_('盖章')}）"), body),
            Paragraph(escape(doc_data["date"]), ParagraphStyle("date", parent=body, alignment=TA_RIGHT)),
        ],
    ]
    table = Table(rows, colWidths=[80 * mm, 80 * mm])
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LINEABOVE", (0, 0), (-1, 0), 0.6, colors.black),
                ("TOPPADDING", (0, 0), (-1, -1), 4),
            ]
        )
    )
    story += [Spacer(1, 8 * mm), KeepTogether([table])]
    buf = io.BytesIO()
    pdf = SimpleDocTemplate(
        buf,
        pagesize=A4,
        leftMargin=25 * mm,
        rightMargin=25 * mm,
        topMargin=25 * mm,
        bottomMargin=22 * mm,
        title=doc_data["title"] + " " + doc_data["number"],
        author=doc_data["organization"],
        subject=doc_data["title"],
    )

    def footer(canvas: Any, doc: Any) -> None:
        canvas.saveState()
        canvas.setFont(font, 9)
        canvas.drawCentredString(
            A4[0] / 2, 12 * mm, f"{doc_data['number']}  ·  {_('第%(n)d页') % {'n': doc.page}}"
        )
        canvas.restoreState()

    pdf.build(story, onFirstPage=footer, onLaterPages=footer)
    return buf.getvalue()
