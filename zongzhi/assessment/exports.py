"""Bulletin export: the published ranking as an .xlsx sheet (from the bulletin's snapshot)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, Any

from django.utils.translation import gettext as _

from zongzhi.core.tabular import write_xlsx

from .models import Bulletin


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
