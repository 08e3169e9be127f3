"""Small presentation helpers for the dispute pages."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.html import format_html
from django.utils.translation import gettext as _

from zongzhi.disputes.models import Outcome, RiskLevel, Scale

register = template.Library()

_RISK_CLASS = {
    "low": "text-bg-secondary",
    "medium": "text-bg-info",
    "high": "text-bg-warning",
    "major": "text-bg-danger",
}
_OUTCOME_CLASS = {
    "agreement": "text-bg-success",
    "on_site": "text-bg-success",
    "transferred": "text-bg-primary",
    "withdrawn": "text-bg-light border",
}


@register.simple_tag
def risk_badge(level: str) -> str:
    if not level:
        return ""
    label = _("%(level)s风险") % {"level": RiskLevel(level).label}
    return format_html(
        '<span class="badge {}" data-risk="{}">{}</span>',
        _RISK_CLASS.get(level, "text-bg-secondary"),
        level,
        label,
    )


@register.simple_tag
def outcome_badge(outcome: str) -> str:
    if not outcome:
        return format_html('<span class="badge text-bg-light border">{}</span>', _("未结束"))
    return format_html(
        '<span class="badge {}">{}</span>',
        _OUTCOME_CLASS.get(outcome, "text-bg-secondary"),
        Outcome(outcome).label,
    )


@register.filter
def scale_label(value: str) -> str:
    return str(Scale(value).label) if value else ""


@register.filter
def get_item(mapping: Any, key: Any) -> Any:
    try:
        return mapping.get(key)
    except AttributeError:
        return None


@register.filter
def percent(value: Any) -> str:
    return "—" if value is None else f"{value}%"
