"""Demo data for insight: the early-warning rules of the demo city with a first scan, and the
assessment plans of the city center (counties, departments, grids and grid workers) with last
month's bulletin. Idempotent: nothing is created twice."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils import timezone
from django.utils.translation import gettext as _

from zongzhi.analytics import alerts
from zongzhi.analytics.alert_models import AlertKind, AlertLevel, AlertRule
from zongzhi.orgs.models import Region, RegionLevel

from . import services
from .formulas import month_period
from .models import AssessmentPlan, Bulletin, PeriodKind, SubjectKind

# (kind, level): the rules a city center starts with, each with the kind's default parameters
DEMO_RULES = (
    (AlertKind.REPEAT_REPORTER, AlertLevel.YELLOW),
    (AlertKind.REPEAT_ADDRESS, AlertLevel.YELLOW),
    (AlertKind.CLUSTER, AlertLevel.ORANGE),
    (AlertKind.DISPUTE_RISK, AlertLevel.RED),
    (AlertKind.CATEGORY_SURGE, AlertLevel.BLUE),
    (AlertKind.OVERDUE_SURGE, AlertLevel.YELLOW),
)
DEMO_PLANS = (
    (SubjectKind.REGION, "区县综治工作月度考核"),
    (SubjectKind.DEPARTMENT, "职能部门办件月度考核"),
    (SubjectKind.GRID, "网格月度考核"),
    (SubjectKind.GRID_WORKER, "网格员月度考核"),
)


@dataclass
class DemoInsight:
    rules: int = 0
    alerts: int = 0
    plans: int = 0
    bulletins: int = 0


def seed_demo_insight(*, city_code: str, now: dt.datetime | None = None) -> DemoInsight:
    now = now or timezone.now()
    city = Region.objects.filter(code__startswith=city_code, level=RegionLevel.CITY).order_by("code").first()
    if city is None:
        raise ValueError(_("未找到演示城市 %(code)s，请先运行 seed_demo。") % {"code": city_code})
    result = DemoInsight()
    if not AlertRule.objects.filter(region=city).exists():
        for kind, level in DEMO_RULES:
            alerts.alert_rule_create(
                actor=None, region=city, kind=kind, name=str(AlertKind(kind).label), level=level, now=now
            )
            result.rules += 1
        result.alerts = alerts.alerts_scan(now=now).raised
    local = timezone.localtime(now)
    last_month = (local.replace(day=1) - dt.timedelta(days=1)).date()
    period = month_period(last_month.year, last_month.month)
    for subject_kind, name in DEMO_PLANS:
        if AssessmentPlan.objects.filter(region=city, subject_kind=subject_kind).exists():
            continue
        plan = services.plan_create(
            actor=None,
            region=city,
            name=name,
            subject_kind=subject_kind,
            period_kind=PeriodKind.MONTH,
            indicators=services.default_indicators(subject_kind),
            now=now,
        )
        result.plans += 1
        if not Bulletin.objects.filter(plan=plan).exists():
            services.bulletin_generate(
                actor=None, plan_id=plan.pk, period_kind=PeriodKind.MONTH, period=period, now=now
            )
            result.bulletins += 1
    return result
