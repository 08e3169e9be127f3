"""Display helpers for case pages: time left, state badges, query-string updates."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import template
from django.utils.html import format_html
from django.utils.translation import gettext as _

register = template.Library()

_STATE_COLOURS = {
    "reported": "secondary",
    "accepted": "info",
    "dispatched": "primary",
    "handling": "primary",
    "resolved": "success",
    "replied": "success",
    "archived": "dark",
    "declined": "dark",
}


def _span(seconds: float) -> str:
    seconds = abs(int(seconds))
    days, rem = divmod(seconds, 86400)
    hours, rem = divmod(rem, 3600)
    minutes = rem // 60
    if days:
        return _("%(d)d天%(h)d小时") % {"d": days, "h": hours}
    if hours:
        return _("%(h)d小时%(m)d分") % {"h": hours, "m": minutes}
    return _("%(m)d分钟") % {"m": minutes}


@register.simple_tag
def time_left(case: Any, now: datetime) -> str:
    """A badge: overdue (red) by how much, due soon (orange), or the time left."""
    due = getattr(case, "due_at", None)
    if due is None or case.state not in ("reported", "accepted", "dispatched", "handling", "resolved"):
        return ""
    delta = (due - now).total_seconds()
    if delta < 0:
        return format_html(
            '<span class="badge text-bg-danger" data-sla="overdue">{} {}</span>', _("超期"), _span(delta)
        )
    if case.remind_at and now >= case.remind_at:
        return format_html(
            '<span class="badge text-bg-warning" data-sla="due_soon">{} {}</span>', _("临期"), _span(delta)
        )
    return format_html(
        '<span class="badge text-bg-light border" data-sla="ok">{} {}</span>', _("剩余"), _span(delta)
    )


@register.simple_tag
def state_badge(case: Any) -> str:
    colour = _STATE_COLOURS.get(case.state, "secondary")
    return format_html('<span class="badge text-bg-{}">{}</span>', colour, case.get_state_display())


@register.simple_tag
def query_with(query: Any, **changes: Any) -> str:
    """The current query string with some keys replaced (and the page reset unless given)."""
    q = query.copy()
    if "page" not in changes:
        q.pop("page", None)
    for key, value in changes.items():
        if value in (None, ""):
            q.pop(key, None)
        else:
            q[key] = value
    return q.urlencode()
