"""PDF documents with Chinese text: the CJK font every PDF of the project embeds.

The PDFs are drawn with ReportLab in a CJK TrueType font embedded as a subset (so the characters are
rendered in any viewer and text extraction gives the Chinese back). The font comes from
``settings.ZZ_PDF_CJK_FONT`` or the first file found among ``FONT_CANDIDATES`` (Debian's
``fonts-wqy-microhei``, installed by ``make browser-deps``); without one, building a PDF fails with
``PdfFontMissing`` and a message saying what to install — never with boxes instead of characters.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.utils.translation import gettext as _

from zongzhi.core.errors import DomainError

FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
)
FONT_NAME = "ZZ-CJK"


class PdfFontMissing(DomainError):
    status = 503
    code = "pdf_font_missing"


def cjk_font_path() -> Path:
    """The TrueType font file (``.ttf``/``.ttc``) used for Chinese text."""
    configured = getattr(settings, "ZZ_PDF_CJK_FONT", "") or ""
    candidates = [configured] if configured else list(FONT_CANDIDATES)
    for candidate in candidates:
        path = Path(candidate)
        if path.is_file():
            return path
    raise PdfFontMissing(
        _(
            "未找到中文字体，无法生成PDF。请安装 Debian 软件包 fonts-wqy-microhei"
            "（make browser-deps），或用 ZZ_PDF_CJK_FONT 指定一个 TrueType 中文字体文件。"
        )
        + (f" ({configured})" if configured else "")
    )


def register_cjk_font() -> str:
    """Register the CJK font with ReportLab (once per process) and return its name."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    path = cjk_font_path()
    if FONT_NAME not in pdfmetrics.getRegisteredFontNames():
        try:
            font = (
                TTFont(FONT_NAME, str(path), subfontIndex=0)
                if path.suffix == ".ttc"
                else TTFont(FONT_NAME, str(path))
            )
        except Exception as exc:  # a file that is not a usable TrueType font (e.g. CFF-only OpenType)
            raise PdfFontMissing(
                _("中文字体文件不可用：%(path)s（须为 TrueType 字体）。") % {"path": str(path)}
            ) from exc
        pdfmetrics.registerFont(font)
    return FONT_NAME
