"""Dashboards: the scoped dashboard page, the big screen (大屏) and the drill-down list.

Thin: ``selectors`` builds the scope (404 outside it) and every figure; the pages draw them with
ECharts and Leaflet from ``static/analytics/*.js`` (no inline scripts under the CSP)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.paginator import Page, Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from zongzhi.cases.models import Category, Channel
from zongzhi.core.errors import FieldError
from zongzhi.orgs.models import Department, Region
from zongzhi.orgs.paths import ancestors_or_self, code_of

from . import selectors
from .rollups import MEASURES

PAGE_SIZE = 50
BINS = {"day": "按日", "week": "按周", "month": "按月"}


def _period(request: HttpRequest) -> tuple[selectors.Period, str | None]:
    if request.GET.get("all") == "1":
        return selectors.ALL_TIME, None
    try:
        return selectors.Period.parse(request.GET.get("from"), request.GET.get("to")), None
    except FieldError as exc:
        return selectors.Period.parse(None, None), exc.message


def _query(scope: selectors.Scope, period: selectors.Period, **extra: Any) -> str:
    params: dict[str, Any] = {}
    if scope.narrowed and scope.region is not None:
        params["region"] = scope.region.code
    if period is selectors.ALL_TIME or (period.start is None and period.end is None):
        params["all"] = "1"
    else:
        if period.start:
            params["from"] = period.start.isoformat()
        if period.end:
            params["to"] = period.end.isoformat()
    params.update({k: v for k, v in extra.items() if v not in (None, "")})
    return urlencode(params)


def _drill_url(scope: selectors.Scope, period: selectors.Period, measure: str, **extra: Any) -> str:
    return f"{reverse('analytics-drill')}?{_query(scope, period, measure=measure, **extra)}"


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _tiles(scope: selectors.Scope, period: selectors.Period, data: dict[str, Any]) -> list[dict[str, Any]]:
    v, r, now = data["values"], data["rates"], data["now"]
    all_time = selectors.ALL_TIME

    def count(
        measure: str, label: str, value: int | None = None, p: selectors.Period = period, tone: str = ""
    ) -> dict[str, Any]:
        return {
            "label": label,
            "value": v[measure] if value is None else value,
            "href": _drill_url(scope, p, measure),
            "tone": tone,
            "measure": measure,
        }

    def rate(key: str, label: str, num: str, den: str, num_value: int, den_value: int) -> dict[str, Any]:
        return {
            "label": label,
            "value": _pct(r[key]),
            "href": _drill_url(scope, period, num),
            "sub": f"{num_value} / {den_value}",
            "sub_href": _drill_url(scope, period, den),
            "measure": num,
        }

    return [
        count("reported", _("登记事件")),
        count("resolved_flow", _("期间办结")),
        rate("closure", _("办结率"), "resolved", "reported", v["resolved"], v["reported"] - v["declined"]),
        rate(
            "resolve_on_time",
            _("按期办结率"),
            "resolve_on_time",
            "resolve_closed",
            v["resolve_on_time"],
            v["resolve_closed"],
        ),
        rate(
            "satisfaction",
            _("满意率"),
            "rated",
            "rated",
            v["satisfied"] + v["basically_satisfied"],
            v["rated"],
        ),
        count("open", _("当前未结"), now["open"], all_time),
        count("overdue", _("当前超期"), now["overdue"], all_time, "hot"),
        count("supervised", _("督办事件"), tone="warn"),
        count("resolved_on_site", _("自行处置")),
        count("returned", _("被退回")),
        count("reopened", _("重办")),
        {
            "label": _("平均办结时长"),
            "value": "—" if r["avg_resolve_hours"] is None else f"{r['avg_resolve_hours']}h",
            "href": _drill_url(scope, period, "resolved"),
            "measure": "resolved",
        },
    ]


def _breadcrumb(user: Any, scope: selectors.Scope) -> list[Region]:
    """The regions above the shown one that the viewer may open (to go back up)."""
    if scope.region is None:
        return []
    base = selectors.dashboard_scope(user)
    paths = [p for p in ancestors_or_self(scope.region.path) if any(p.startswith(r) for r in base.roots)]
    return list(Region.objects.filter(path__in=paths).order_by("path"))


@login_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    scope = selectors.dashboard_scope(request.user, request.GET.get("region") or None)
    period, error = _period(request)
    if period is selectors.ALL_TIME:
        period = selectors.Period.parse(None, None)
    bin_ = request.GET.get("bin", "day")
    if bin_ not in BINS:
        bin_ = "day"
    selectors.ensure_fresh()
    data = selectors.dashboard_data(scope, period, bin_)
    for row in data["regions"]:
        if row["key"].startswith(selectors.SELF):
            row["href"] = _drill_url(scope, period, "reported", dim="region", key=row["key"])
        else:
            row["href"] = f"{reverse('analytics-dashboard')}?" + urlencode(
                {"region": code_of(row["key"]), "from": period.start, "to": period.end, "bin": bin_}
            )
    chart = {
        **{k: data[k] for k in data if k not in ("values", "rates", "now", "addresses", "grids")},
        "drill": f"{reverse('analytics-drill')}?{_query(scope, period)}",
        "drill_all": f"{reverse('analytics-drill')}?{_query(scope, selectors.ALL_TIME)}",
        "labels": {
            "reported": _("登记"),
            "resolved_flow": _("办结"),
            "overdue": _("超期未结"),
            "overdue_now": _("当前超期"),
            "supervised": _("督办"),
            "resolved": _("已办结"),
            "cases": _("件"),
            "empty": _("暂无数据"),
        },
    }
    stamp = selectors.refreshed_at()
    return render(
        request,
        "analytics/dashboard.html",
        {
            "scope": scope,
            "region": scope.region,
            "breadcrumb": _breadcrumb(request.user, scope),
            "period": period,
            "bin": bin_,
            "bins": [(k, _(v)) for k, v in BINS.items()],
            "error": error,
            "tiles": _tiles(scope, period, data),
            "rates": [
                (selectors.RATE_LABELS[k], _pct(v) if k != "avg_resolve_hours" else v)
                for k, v in data["rates"].items()
            ],
            "addresses": data["addresses"],
            "grids": data["grids"],
            "chart": chart,
            "map_tiles": getattr(settings, "ZZ_MAP_TILE_URL", ""),
            "refreshed_at": stamp,
            "screen_url": f"{reverse('analytics-screen')}?"
            + urlencode({"region": scope.region.code} if scope.narrowed and scope.region else {}),
        },
    )


@login_required
@require_GET
def screen(request: HttpRequest) -> HttpResponse:
    """The big screen (大屏): full-screen, dark, refreshes itself from the API every 30 s."""
    scope = selectors.dashboard_scope(request.user, request.GET.get("region") or None)
    selectors.ensure_fresh()
    data = selectors.screen_data(scope)
    params = {"region": scope.region.code} if scope.narrowed and scope.region else {}
    return render(
        request,
        "analytics/screen.html",
        {
            "scope": scope,
            "data": data,
            "data_url": f"{reverse('api:analytics_screen')}?{urlencode(params)}",
            "interval": int(getattr(settings, "ZZ_SCREEN_REFRESH_SECONDS", 30)),
            "tz": settings.TIME_ZONE,
            "now": timezone.localtime(),
            "labels": {
                "reported": _("登记"),
                "resolved": _("办结"),
                "cases": _("件"),
            },
        },
    )


def _dim_label(dim: str, key: str) -> str:
    if dim == "region":
        if key.startswith(selectors.SELF):
            region = Region.objects.filter(path=key[len(selectors.SELF) :]).first()
            return f"{region.name}（{_('本级')}）" if region else key
        region = Region.objects.filter(path=key).first()
        return region.name if region else key
    if not key:
        return {"category": _("未分类"), "top_category": _("未分类"), "department": _("未派单")}.get(
            dim, _("未知")
        )
    if dim in ("category", "top_category") and key.isdigit():
        category = Category.objects.filter(pk=int(key)).first()
        return str(category) if category else key
    if dim == "department" and key.isdigit():
        department = Department.objects.filter(pk=int(key)).first()
        return department.name if department else key
    if dim == "channel":
        return str(dict(Channel.choices).get(key, key))
    return key


@login_required
@require_GET
def drill(request: HttpRequest) -> HttpResponse:
    """The cases behind a number: the same filter the number counts, listed (it adds up)."""
    scope = selectors.dashboard_scope(request.user, request.GET.get("region") or None)
    period, error = _period(request)
    measure = request.GET.get("measure", "reported")
    dim = request.GET.get("dim") or None
    key = request.GET.get("key", "")
    if measure not in MEASURES or (
        dim is not None and dim not in ("region", "top_category", *selectors.DIM_FIELD)
    ):
        raise Http404
    selectors.ensure_fresh()
    total = selectors.drill_number(scope, period, measure, dim=dim, key=key)
    m = MEASURES[measure]
    # a count measure lists as many cases as its number; a sum (returns, reopens…) counts its cases
    count = total if not m.field else selectors.drill(scope, period, measure, dim=dim, key=key).count()
    paginator: Paginator[Any] = Paginator(range(count), PAGE_SIZE)
    numbered = paginator.get_page(request.GET.get("page"))
    rows = selectors.drill_page(
        scope,
        period,
        measure,
        dim=dim,
        key=key,
        offset=numbered.start_index() - 1 if count else 0,
        limit=PAGE_SIZE,
    )
    # the paginator numbers the pages; the page holds the rows the selector read for it
    page = Page(rows, numbered.number, paginator)
    query = request.GET.copy()
    return render(
        request,
        "analytics/drill.html",
        {
            "scope": scope,
            "region": scope.region,
            "period": period,
            "measure": m,
            "dim_label": _dim_label(dim, key) if dim else "",
            "total": total,
            "page": page,
            "error": error,
            "query": query,
            "now": timezone.now(),
            "back": f"{reverse('analytics-dashboard')}?{_query(scope, period if period.start else selectors.Period.parse(None, None))}",
        },
    )
