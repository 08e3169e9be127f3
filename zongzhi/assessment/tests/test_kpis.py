"""Every KPI on the hand-built month (see conftest for the cases), against figures worked out by
hand; the drill-down lists add up to each figure; empty denominators give None, not 0 or 100 %."""

from __future__ import annotations

import datetime as dt

import pytest

from zongzhi.assessment import formulas, selectors, services
from zongzhi.assessment.formulas import INDICATORS, Period
from zongzhi.assessment.models import AssessmentPlan
from zongzhi.assessment.tests.conftest import AS_OF, Month

pytestmark = pytest.mark.django_db

MARCH = Period(dt.date(2026, 3, 1), dt.date(2026, 3, 31))
APRIL = Period(dt.date(2026, 4, 1), dt.date(2026, 4, 30))

# (numerator, denominator) per township for March; counts have no denominator (None).
# The arithmetic, case by case (A1 = township A1: c1–c10 except c7; A2 = township A2: c11):
EXPECTED: dict[str, dict[str, tuple[int, int | None]]] = {
    # cohort = registered in March: A1 c1 c2 c3 c4 c5 c6 c8 c9 c10 c13 (10), A2 c11 (1)
    # accept on time: c1 ✓ c2 ✗(11:00 > 10:00) c3 ✓ c4 ✓(on site) c5 ✓ c6 ✗(01:00 > 00:00)
    # c8 ✓(declined 09:20) c9 ✓(clock restarted at the escalation: 10:30 ≤ 11:00) c10 ✓ c13 ✓ → 8 / 10
    "intake_on_time": {"A1": (8, 10), "A2": (1, 1)},
    # dispatch stage: c1 ✓ c2 ✓ c3 ✓(first dispatch) c9 ✓ c13 ✓; c5 and c6 never dispatched and
    # past their dispatch deadline (accept + 24 h) → late; c4 c10 (on site) and c8 (declined) have
    # no dispatch stage → 5 / 7
    "dispatch_on_time": {"A1": (5, 7), "A2": (1, 1)},
    # dispatched at least once: c1 c2 c3 c9 c13 (5); returned: c3 → (5 − 1) / 5
    "dispatch_accuracy": {"A1": (4, 5), "A2": (1, 1)},
    # accepted: all but c8 (9); closed now: c1 c3 (replied), c4 c9 c10 c13 (resolved) — c2 was
    # reopened, c5 c6 are open → 6 / 9; A2: c11 is still being handled → 0 / 1 (0 %, not "—")
    "closure_rate": {"A1": (6, 9), "A2": (0, 1)},
    # cohort = handling due in March: c1 (03-06) c2 (03-10) c3 (03-13, the re-dispatch) c7 (03-05,
    # registered in February!) c9 (03-19) — c13 is due in April; on time: c1 c3 c9; late: c2
    # (03-12) c7 (03-06) → 3 / 5; A2: c11 due 03-16, unresolved at AS_OF → 0 / 1
    "on_time_closure": {"A1": (3, 5), "A2": (0, 1)},
    # resolved at least once: c1 c2 c3 c4 c9 c10 c13 (7); reopened: c2 → 1 / 7; A2: none → —
    "reopen_rate": {"A1": (1, 7), "A2": (0, 0)},
    # rated: c1 satisfied, c3 basically satisfied (c2's unsatisfied rating was followed by the
    # reopen, so c2 is not rated now) → 2 / 2; A2 → —
    "satisfaction": {"A1": (2, 2), "A2": (0, 0)},
    # citizen channels (not c4 c10, patrols); acknowledge stage ended: c1 ✓ c2 ✗(03-05 13:00 >
    # 03-04 12:00) c3 ✓ c9 ✓ c13 ✓ (c5 c6 c8 were never dispatched) → 4 / 5; A2: c11 ✗ → 0 / 1
    "response_rate_12345": {"A1": (4, 5), "A2": (0, 1)},
    # citizen channels, accepted: c1 c2 c3 c5 c6 c9 c13 (7); closed and not rated unsatisfied:
    # c1 c3 c9 c13 → 4 / 7
    "resolution_rate_12345": {"A1": (4, 7), "A2": (0, 1)},
    "satisfaction_12345": {"A1": (2, 2), "A2": (0, 0)},
    # supervision notices opened in March (reminders not counted): c2 listed, c5 → 2; A2: c11 → 1
    "supervision_count": {"A1": (2, None), "A2": (1, None)},
    # reply due in March (opened + 24 h): c2 listed (replied a day late), c5 (never replied) → 0 / 2;
    # A2: c11 replied in 3 hours → 1 / 1
    "supervision_reply_on_time": {"A1": (0, 2), "A2": (1, 1)},
    # dispute records registered in March: c5 c9 c10 c13 (4), less c13 withdrawn → 3; resolved
    # (agreement or on the spot): c10 — c9 was closed without a mediation agreement → 1 / 3
    "dispute_resolution_rate": {"A1": (1, 3), "A2": (0, 0)},
    # resolved at village/township level: c10 (on the spot, village) → 1 / 3
    "dispute_local_rate": {"A1": (1, 3), "A2": (0, 0)},
    # escalated to county or above: c9 → 1 / 10; A2 → 0 / 1
    "escalation_rate": {"A1": (1, 10), "A2": (0, 1)},
    # grids: A1 has g1 (c4 reported in it) and g2 (nothing) → 1 / 2; A2: g3 → 0 / 1
    "report_coverage": {"A1": (1, 2), "A2": (0, 1)},
    # visit periods due in March (the March period, due 04-01 00:00): m1 ✓ (03-10), m2 ✗ → 1 / 2
    "visits_on_time": {"A1": (1, 2), "A2": (0, 0)},
}


def region_plan(m: Month, codes: list[str] | None = None) -> AssessmentPlan:
    codes = codes or list(INDICATORS)
    return services.plan_create(
        actor=None,
        region=m.w.r["A"],
        name="乡镇考核",
        subject_kind="region",
        indicators=[services.IndicatorInput(code=c, weight=10) for c in codes],
    )


def expected_value(code: str, num: int, den: int | None) -> formulas.Value:
    if den is None:
        return formulas.Value(num, None, float(num))
    return formulas.Value(num, den, num / den if den else None)


def test_every_kpi_has_a_hand_computed_expectation() -> None:
    assert set(EXPECTED) == set(INDICATORS)


def test_every_kpi_by_township(month: Month) -> None:
    plan = region_plan(month)
    card = selectors.scorecard(plan, MARCH, as_of=AS_OF)
    by_name = {row.subject.name: row for row in card.rows}
    assert set(by_name) == {"甲一街道", "甲二街道"}
    got: dict[str, dict[str, formulas.Value]] = {}
    for pi in card.indicators:
        got[pi.code] = {"A1": by_name["甲一街道"].values[pi.pk], "A2": by_name["甲二街道"].values[pi.pk]}
    want = {
        code: {t: expected_value(code, *pair) for t, pair in per.items()} for code, per in EXPECTED.items()
    }
    assert got == want


def test_empty_denominators_are_none_not_zero(month: Month) -> None:
    plan = region_plan(month, ["satisfaction", "closure_rate"])
    card = selectors.scorecard(plan, MARCH, as_of=AS_OF)
    a2 = next(r for r in card.rows if r.subject.name == "甲二街道")
    sat, closure = card.indicators
    assert a2.values[sat.pk].value is None and a2.scores[sat.pk] is None
    assert a2.values[closure.pk].value == 0.0 and a2.scores[closure.pk] == 0.0


def test_the_drill_down_adds_up_to_every_figure(month: Month) -> None:
    plan = region_plan(month)
    card = selectors.scorecard(plan, MARCH, as_of=AS_OF)
    for row in card.rows:
        for pi in card.indicators:
            value = row.values[pi.pk]
            drill = selectors.drill_down(pi, plan, row.subject, MARCH, as_of=AS_OF)
            flagged = sum(1 for r in drill.rows if r["in_numerator"])
            if pi.indicator.is_rate:
                assert len(drill.rows) == value.denominator, (pi.code, row.subject.name)
                assert flagged == value.numerator, (pi.code, row.subject.name)
            else:
                assert len(drill.rows) == value.numerator and flagged == value.numerator, pi.code
            assert (drill.numerator, drill.value) == (value.numerator, value)


def test_drill_down_lists_the_cases_themselves(month: Month) -> None:
    plan = region_plan(month, ["on_time_closure", "dispatch_accuracy"])
    a1 = next(s for s in selectors.subjects_of(plan) if s.name == "甲一街道")
    closure, accuracy = selectors.plan_indicators(plan)
    c = month.c
    drill = selectors.drill_down(closure, plan, a1, MARCH, as_of=AS_OF)
    assert {r["case_id"]: r["in_numerator"] for r in drill.rows} == {
        c["c1"].pk: True,
        c["c2"].pk: False,
        c["c3"].pk: True,
        c["c7"].pk: False,  # registered in February, due in March
        c["c9"].pk: True,
    }
    drill = selectors.drill_down(accuracy, plan, a1, MARCH, as_of=AS_OF)
    assert {r["case_id"]: r["in_numerator"] for r in drill.rows} == {
        c["c1"].pk: True,
        c["c2"].pk: True,
        c["c3"].pk: False,  # returned once
        c["c9"].pk: True,
        c["c13"].pk: True,
    }


def test_period_boundaries(month: Month) -> None:
    """c6 (registered 03-31 23:00 local, 15:00 UTC) belongs to March; c12 to April; in April
    township A1 registered nothing (→ None) and c12 missed its accept deadline (→ 0 / 1)."""
    plan = region_plan(month, ["intake_on_time", "on_time_closure"])
    card = selectors.scorecard(plan, APRIL, as_of=AS_OF)
    by_name = {row.subject.name: row for row in card.rows}
    intake, closure = card.indicators
    assert by_name["甲一街道"].values[intake.pk] == formulas.Value(0, 0, None)
    assert by_name["甲二街道"].values[intake.pk] == formulas.Value(0, 1, 0.0)
    assert by_name["甲一街道"].values[closure.pk] == formulas.Value(0, 0, None)
    # a period of one day: only c6 (and nothing of A2)
    day = Period(dt.date(2026, 3, 31), dt.date(2026, 3, 31))
    card = selectors.scorecard(plan, day, as_of=AS_OF)
    by_name = {row.subject.name: row for row in card.rows}
    assert by_name["甲一街道"].values[intake.pk] == formulas.Value(0, 1, 0.0)


def test_by_department(month: Month) -> None:
    """Lead department of the last dispatch: police c1 c9 c11 c13 (c7 is February), housing c2 c3."""
    plan = services.plan_create(
        actor=None,
        region=month.w.r["A"],
        name="部门考核",
        subject_kind="department",
        indicators=[
            services.IndicatorInput(code="dispatch_accuracy", weight=50),
            services.IndicatorInput(code="on_time_closure", weight=50),
            services.IndicatorInput(code="supervision_count", weight=10),
        ],
    )
    card = selectors.scorecard(plan, MARCH, as_of=AS_OF)
    by_name = {row.subject.name: row for row in card.rows}
    accuracy, closure, supervisions = card.indicators
    # accuracy: police c1 c9 c11 c13 never returned → 4/4; housing c2 ✓, c3 ✗ (returned by the
    # police before housing got it — a case's returns count against its last lead) → 1/2
    assert by_name["甲区公安分局"].values[accuracy.pk] == formulas.Value(4, 4, 1.0)
    assert by_name["甲区住建局"].values[accuracy.pk] == formulas.Value(1, 2, 0.5)
    assert by_name["甲一街道办事处"].values[accuracy.pk] == formulas.Value(0, 0, None)
    # on-time closure, due in March: police c1 ✓ c7 ✗ c9 ✓ c11 ✗ → 2/4; housing c2 ✗ c3 ✓ → 1/2
    assert by_name["甲区公安分局"].values[closure.pk] == formulas.Value(2, 4, 0.5)
    assert by_name["甲区住建局"].values[closure.pk] == formulas.Value(1, 2, 0.5)
    # supervision notices addressed to the department: housing c2 (listed); police c11; c5 had no
    # department (never dispatched)
    assert by_name["甲区住建局"].values[supervisions.pk] == formulas.Value(1, None, 1.0)
    assert by_name["甲区公安分局"].values[supervisions.pk] == formulas.Value(1, None, 1.0)
    assert "乙区公安分局" not in by_name  # county B's department is not in county A's plan


def test_by_grid_and_grid_worker(month: Month) -> None:
    grid_plan = services.plan_create(
        actor=None,
        region=month.w.r["A"],
        name="网格考核",
        subject_kind="grid",
        indicators=[
            services.IndicatorInput(code="report_coverage", weight=50),
            services.IndicatorInput(code="intake_on_time", weight=50),
        ],
    )
    card = selectors.scorecard(grid_plan, MARCH, as_of=AS_OF)
    by_name = {row.subject.name: row for row in card.rows}
    coverage, intake = card.indicators
    assert by_name["一网格"].values[coverage.pk] == formulas.Value(1, 1, 1.0)
    assert by_name["二网格"].values[coverage.pk] == formulas.Value(0, 1, 0.0)
    assert by_name["一网格"].values[intake.pk] == formulas.Value(1, 1, 1.0)  # c4
    assert by_name["二网格"].values[intake.pk] == formulas.Value(0, 0, None)
    worker_plan = services.plan_create(
        actor=None,
        region=month.w.r["A"],
        name="网格员考核",
        subject_kind="grid_worker",
        indicators=[
            services.IndicatorInput(code="intake_on_time", weight=40),
            services.IndicatorInput(code="visits_on_time", weight=60),
        ],
    )
    card = selectors.scorecard(worker_plan, MARCH, as_of=AS_OF)
    (row,) = card.rows
    assert row.subject.id == month.w.grid_worker.pk
    intake, visits = card.indicators
    assert row.values[intake.pk] == formulas.Value(2, 2, 1.0)  # c4 and c10, both on site
    assert row.values[visits.pk] == formulas.Value(1, 2, 0.5)  # m1 ✓, m2 ✗
    # linear scores: intake 1.0 ≥ target 0.98 → 40; visits 0.5 on 0 → 0.95: 60 × 0.5 / 0.95
    assert row.scores[intake.pk] == 40
    assert row.scores[visits.pk] == pytest.approx(60 * 0.5 / 0.95)
    assert row.total == round(40 + 60 * 0.5 / 0.95, 2) == 71.58
    assert row.rank == 1


def test_scores_totals_and_ranks_end_to_end(month: Month) -> None:
    plan = services.plan_create(
        actor=None,
        region=month.w.r["A"],
        name="综合考核",
        subject_kind="region",
        indicators=[
            services.IndicatorInput(code="intake_on_time", weight=40, target=0.9, curve="step"),
            services.IndicatorInput(code="satisfaction", weight=30, target=0.9),
            services.IndicatorInput(code="closure_rate", weight=30, target=1.0, curve="proportional"),
        ],
    )
    card = selectors.scorecard(plan, MARCH, as_of=AS_OF)
    by_name = {row.subject.name: row for row in card.rows}
    a1, a2 = by_name["甲一街道"], by_name["甲二街道"]
    # A1: intake 8/10 = 0.8 < 0.9 → step 0; satisfaction 1.0 ≥ 0.9 → 30; closure 6/9 → 30 × 6/9
    # = 20 → total 50.00
    assert a1.total == 50.0
    # A2: intake 1/1 → 40; satisfaction — (no rating) left out; closure 0/1 → 0;
    # rescaled to all 100 points: (40 + 0) / 70 × 100 = 57.14
    assert a2.total == 57.14
    assert [(r.subject.name, r.rank) for r in card.rows] == [("甲二街道", 1), ("甲一街道", 2)]
    assert card.full_marks == 100


def test_counts_alone_give_no_total(month: Month) -> None:
    """A subject whose rates are all empty (no case in the period) is not ranked on its counts:
    0 supervisions would otherwise earn the full weight and a total of 100."""
    plan = services.plan_create(
        actor=None,
        region=month.w.r["A"],
        name="综合考核",
        subject_kind="region",
        indicators=[
            services.IndicatorInput(code="satisfaction", weight=50, target=0.9),
            services.IndicatorInput(code="supervision_count", weight=50, target=0),
        ],
    )
    card = selectors.scorecard(plan, MARCH, as_of=AS_OF)
    by_name = {row.subject.name: row for row in card.rows}
    a2 = by_name["甲二街道"]  # no rated case in March: satisfaction "—"
    assert a2.values[card.indicators[0].pk].value is None
    assert a2.values[card.indicators[1].pk].value is not None  # the count has a value …
    assert a2.total is None and a2.rank is None  # … but no total, no rank
    assert by_name["甲一街道"].total is not None and by_name["甲一街道"].rank == 1


def test_ties_share_a_rank(month: Month) -> None:
    """Step scoring with target 80 %: A1 (8 / 10) and A2 (1 / 1) both earn the full weight → both
    rank 1 (competition ranking: the next rank would be 3)."""
    plan = services.plan_create(
        actor=None,
        region=month.w.r["A"],
        name="并列",
        subject_kind="region",
        indicators=[services.IndicatorInput(code="intake_on_time", weight=100, target=0.8, curve="step")],
    )
    card = selectors.scorecard(plan, MARCH, as_of=AS_OF)
    assert sorted((r.subject.name, r.total, r.rank) for r in card.rows) == [
        ("甲一街道", 100.0, 1),
        ("甲二街道", 100.0, 1),
    ]


def test_dispute_rates_agree_with_the_disputes_app(month: Month) -> None:
    """化解率 / 就地化解率 per township equal the disputes app's own statistics
    (``disputes.selectors.dispute_rates``) for the same region, period and moment."""
    from zongzhi.disputes import selectors as dispute_selectors
    from zongzhi.orgs.models import Region

    plan = region_plan(month, ["dispute_resolution_rate", "dispute_local_rate"])
    card = selectors.scorecard(plan, MARCH, as_of=AS_OF)
    resolution, local = card.indicators
    for row in card.rows:
        region = Region.objects.get(path=row.subject.path)
        figures = dispute_selectors.dispute_rates(
            month.w.director, region, MARCH.start_at, MARCH.end_at, as_of=AS_OF
        )
        assert (row.values[resolution.pk].numerator, row.values[resolution.pk].denominator) == (
            figures.resolved,
            figures.denominator,
        )
        assert row.values[local.pk].numerator == figures.resolved_locally
