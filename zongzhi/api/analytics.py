"""Figures through the API: tiles, series, breakdowns, drill-down lists, hotspots and the big
screen's data — the same selectors as the dashboard pages, scoped the same way (a region outside
the caller's dashboard scope is 404; bad parameters are 422 naming the field)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Query, Router, Schema

from zongzhi.analytics import selectors
from zongzhi.analytics.rollups import MEASURES
from zongzhi.core.errors import FieldError

router = Router(tags=["analytics"])

BREAKDOWNS = ("category", "top_category", "channel", "department", "region")
DRILL_DIMS = ("category", "top_category", "channel", "department", "region")


class ScopeQuery(Schema):
    region: str | None = Field(None, max_length=12, description="narrow to this region (code) of your scope")
    date_from: str | None = Field(None, alias="from", description="first registration date, YYYY-MM-DD")
    date_to: str | None = Field(
        None, alias="to", description="last date, YYYY-MM-DD (default: the last 30 days)"
    )
    all: bool = Field(False, description="all time (ignores from/to)")


class TilesOut(Schema):
    region: str | None
    period_from: date | None
    period_to: date | None
    refreshed_at: datetime | None
    values: dict[str, int]
    rates: dict[str, float | None]
    now: dict[str, int]


class SeriesOut(Schema):
    bin: str
    labels: list[str]
    series: dict[str, list[int]]


class BreakdownRow(Schema):
    key: str
    label: str
    value: int
    values: dict[str, int]


class DrillCase(Schema):
    id: int
    number: str
    title: str
    state: str
    category: str | None
    region: str
    lead_department: str | None
    created_at: datetime
    resolved_at: datetime | None
    value: int


class DrillOut(Schema):
    measure: str
    total: int
    count: int
    items: list[DrillCase]


def _context(request: HttpRequest, q: ScopeQuery) -> tuple[selectors.Scope, selectors.Period]:
    scope = selectors.dashboard_scope(request.user, q.region or None)
    period = selectors.ALL_TIME if q.all else selectors.Period.parse(q.date_from, q.date_to)
    selectors.ensure_fresh()
    return scope, period


def _measure(name: str, field: str = "measure") -> str:
    if name not in MEASURES:
        raise FieldError(field, f"unknown measure; one of: {', '.join(MEASURES)}", code="invalid_choice")
    return name


@router.get("/analytics/tiles", response=TilesOut, url_name="analytics_tiles")
def tiles(request: HttpRequest, q: Query[ScopeQuery]) -> dict[str, Any]:
    """Every measure over the scope and period (definitions: docs/analytics.md), the display rates,
    and the open / overdue cases now (all registration dates)."""
    scope, period = _context(request, q)
    values = selectors.totals(scope, period)
    now = selectors.totals(scope, selectors.ALL_TIME)
    return {
        "region": scope.region.code if scope.region else None,
        "period_from": period.start,
        "period_to": period.end,
        "refreshed_at": selectors.refreshed_at(),
        "values": values,
        "rates": selectors.rates(values),
        "now": {"open": now["open"], "overdue": now["overdue"]},
    }


@router.get("/analytics/series", response=SeriesOut, url_name="analytics_series")
def series(
    request: HttpRequest,
    q: Query[ScopeQuery],
    measures: str = "reported,resolved_flow",
    bin: str = "day",
) -> dict[str, Any]:
    """Measures per day, week (starting Monday) or month of the period, zeros included."""
    names = [_measure(n.strip(), "measures") for n in measures.split(",") if n.strip()]
    if not names:
        raise FieldError("measures", "at least one measure", code="required")
    if bin not in ("day", "week", "month"):
        raise FieldError("bin", "one of: day, week, month", code="invalid_choice")
    scope, period = _context(request, q)
    if period.start is None or period.end is None:
        raise FieldError("from", "a series needs a bounded period", code="required")
    return {"bin": bin, **selectors.series(scope, period, names, bin)}


@router.get("/analytics/breakdown", response=list[BreakdownRow], url_name="analytics_breakdown")
def breakdown(
    request: HttpRequest,
    q: Query[ScopeQuery],
    by: str = "category",
    measure: str = "reported",
    limit: int = Query(20, ge=1, le=200),  # type: ignore[assignment]
) -> list[dict[str, Any]]:
    """Rows per category, top-level category, channel, lead department or child region, largest
    ``measure`` first; ``key`` is what ``/analytics/drilldown`` takes as ``key``."""
    if by not in BREAKDOWNS:
        raise FieldError("by", f"one of: {', '.join(BREAKDOWNS)}", code="invalid_choice")
    _measure(measure)
    scope, period = _context(request, q)
    return selectors.breakdown(scope, period, by, measure, limit=limit)


@router.get("/analytics/drilldown", response=DrillOut, url_name="analytics_drilldown")
def drilldown(
    request: HttpRequest,
    q: Query[ScopeQuery],
    measure: str = "reported",
    dim: str | None = None,
    key: str = "",
    limit: int = Query(50, ge=1, le=500),  # type: ignore[assignment]
    offset: int = Query(0, ge=0),  # type: ignore[assignment]
) -> dict[str, Any]:
    """The cases behind a number: ``count`` cases (``total`` is the number itself: the count, or
    for the ``returns`` / ``reopens`` / ``supervisions`` / ``resolve_seconds`` sums, the sum)."""
    _measure(measure)
    if dim is not None and dim not in DRILL_DIMS:
        raise FieldError("dim", f"one of: {', '.join(DRILL_DIMS)}", code="invalid_choice")
    scope, period = _context(request, q)
    m = MEASURES[measure]
    total = selectors.drill_number(scope, period, measure, dim=dim, key=key)
    rows = selectors.drill_page(scope, period, measure, dim=dim, key=key, offset=offset, limit=limit)
    items = []
    for f in rows:
        c = f.case
        items.append(
            {
                "id": c.pk,
                "number": c.number,
                "title": c.title,
                "state": c.state,
                "category": str(c.category) if c.category else None,
                "region": c.region.name,
                "lead_department": c.lead_department.name if c.lead_department else None,
                "created_at": f.created_at,
                "resolved_at": f.resolved_at,
                "value": int(getattr(f, m.field) or 0) if m.field else 1,
            }
        )
    return {
        "measure": measure,
        "total": total,
        "count": total if not m.field else selectors.drill(scope, period, measure, dim=dim, key=key).count(),
        "items": items,
    }


@router.get("/analytics/hotspots", response=list[list[float]], url_name="analytics_hotspots")
def hotspots(request: HttpRequest, q: Query[ScopeQuery]) -> list[list[float]]:
    """[lat, lon, cases] cells of about 100 m (WGS-84), busiest first."""
    scope, period = _context(request, q)
    return selectors.hotspots(scope, period)


@router.get("/analytics/screen", response=dict[str, Any], url_name="analytics_screen")
def screen(request: HttpRequest, region: str | None = None) -> dict[str, Any]:
    """Everything the big screen shows (today, this month, the last 30 days, now), polled by it."""
    scope = selectors.dashboard_scope(request.user, region or None)
    selectors.ensure_fresh()
    return {**selectors.screen_data(scope), "generated_at": timezone.localtime().isoformat()}
