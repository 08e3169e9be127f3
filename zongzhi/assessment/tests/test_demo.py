"""seed_demo_insight: the city's warning rules with a first scan and its assessment plans with last
month's bulletins, built through the services; a second run creates nothing."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from tests.factories import make_tree
from zongzhi.analytics.alert_models import AlertRule
from zongzhi.assessment.models import AssessmentPlan, Bulletin

pytestmark = pytest.mark.django_db


def test_seed_demo_insight_builds_rules_plans_and_bulletins_once() -> None:
    r = make_tree()
    out = StringIO()
    call_command("seed_demo_insight", "--city", r["C"].code[:4], stdout=out)
    assert "alert rules 6" in out.getvalue()
    assert AlertRule.objects.filter(region=r["C"]).count() == 6
    assert sorted(AssessmentPlan.objects.values_list("subject_kind", flat=True)) == [
        "department",
        "grid",
        "grid_worker",
        "region",
    ]
    assert Bulletin.objects.count() == 4
    assert all(b.plan.region_id == r["C"].pk for b in Bulletin.objects.select_related("plan"))
    out = StringIO()
    call_command("seed_demo_insight", "--city", r["C"].code[:4], stdout=out)
    assert "alert rules 0" in out.getvalue() and "plans 0" in out.getvalue()
    assert AlertRule.objects.count() == 6 and Bulletin.objects.count() == 4


def test_seed_demo_insight_needs_the_city() -> None:
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("seed_demo_insight", "--city", "9999", stdout=StringIO())
