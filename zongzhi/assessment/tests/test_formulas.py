"""The pure parts of the assessment: periods, rates, scoring curves, totals, competition ranking."""

from __future__ import annotations

import datetime as dt

import pytest

from zongzhi.assessment import formulas
from zongzhi.assessment.formulas import INDICATORS, Period


def test_periods() -> None:
    assert formulas.month_period(2026, 2) == Period(dt.date(2026, 2, 1), dt.date(2026, 2, 28))
    assert formulas.month_period(2024, 2).end == dt.date(2024, 2, 29)
    assert formulas.month_period(2026, 12) == Period(dt.date(2026, 12, 1), dt.date(2026, 12, 31))
    assert formulas.quarter_period(2026, 4) == Period(dt.date(2026, 10, 1), dt.date(2026, 12, 31))
    assert formulas.year_period(2026) == Period(dt.date(2026, 1, 1), dt.date(2026, 12, 31))
    march = formulas.month_period(2026, 3)
    # local midnight (UTC+8): March starts at 02-28 16:00 UTC and ends before 03-31 16:00 UTC
    assert march.start_at.astimezone(dt.UTC) == dt.datetime(2026, 2, 28, 16, 0, tzinfo=dt.UTC)
    assert march.end_at.astimezone(dt.UTC) == dt.datetime(2026, 3, 31, 16, 0, tzinfo=dt.UTC)
    with pytest.raises(ValueError):
        Period(dt.date(2026, 3, 2), dt.date(2026, 3, 1))


def test_rates_and_empty_denominators() -> None:
    assert formulas.rate(3, 4) == formulas.Value(3, 4, 0.75)
    assert formulas.rate(0, 4).value == 0.0
    assert formulas.rate(0, 0).value is None  # "—", never 0 % or 100 %
    with pytest.raises(ValueError):
        formulas.rate(5, 4)
    assert formulas.count(0) == formulas.Value(0, None, 0.0)


def test_every_indicator_is_fully_defined() -> None:
    for code, ind in INDICATORS.items():
        assert ind.code == code
        assert ind.cohort in formulas.COHORTS
        assert ind.kind in ("rate", "count")
        assert str(ind.name) and str(ind.numerator_text) and str(ind.denominator_text)
        if ind.source in ("facts", "supervisions"):
            assert ind.numerator is not None
            assert (ind.denominator is not None) == ind.is_rate
        assert set(ind.subjects) <= set(formulas.SUBJECT_KINDS)


def linear(
    value: float | None, *, target: float = 0.9, zero_at: float = 0.5, higher: bool = True
) -> float | None:
    return formulas.score(
        value, weight=20, target=target, curve="linear", higher_is_better=higher, zero_at=zero_at
    )


def test_linear_curve() -> None:
    assert linear(0.95) == 20  # above target: full weight
    assert linear(0.9) == 20
    assert linear(0.7) == pytest.approx(10)  # halfway between 0.5 and 0.9: 20 × 0.2 / 0.4
    assert linear(0.5) == 0
    assert linear(0.3) == 0
    assert linear(None) is None
    # lower is better (a reopen rate): target 5 %, zero at 25 %
    assert linear(0.05, target=0.05, zero_at=0.25, higher=False) == 20
    assert linear(0.15, target=0.05, zero_at=0.25, higher=False) == pytest.approx(10)
    assert linear(0.3, target=0.05, zero_at=0.25, higher=False) == 0


def test_step_and_proportional_curves() -> None:
    step = dict(weight=10, target=0.9, curve="step", zero_at=0)
    assert formulas.score(0.9, higher_is_better=True, **step) == 10
    assert formulas.score(0.89, higher_is_better=True, **step) == 0
    assert formulas.score(0.9, higher_is_better=False, **step) == 10
    prop = dict(weight=10, target=0.8, curve="proportional", zero_at=0)
    assert formulas.score(0.4, higher_is_better=True, **prop) == pytest.approx(5)  # 10 × 0.4 / 0.8
    assert formulas.score(1.0, higher_is_better=True, **prop) == 10  # capped
    # a count where lower is better: target 2 supervisions, actual 4 → 10 × 2 / 4
    assert (
        formulas.score(4, weight=10, target=2, curve="proportional", higher_is_better=False, zero_at=0) == 5
    )
    assert (
        formulas.score(0, weight=10, target=2, curve="proportional", higher_is_better=False, zero_at=0) == 10
    )
    with pytest.raises(ValueError):
        formulas.score(1, weight=1, target=1, curve="cubic", higher_is_better=True, zero_at=0)


def test_default_zero_points() -> None:
    assert formulas.default_zero_at(INDICATORS["closure_rate"], 0.9) == 0.0
    assert formulas.default_zero_at(INDICATORS["reopen_rate"], 0.05) == 1.0
    assert formulas.default_zero_at(INDICATORS["supervision_count"], 3) == 13  # max(6, 13)


def test_total_rescales_over_the_kpis_with_a_value() -> None:
    # 30 of 40 points + 20 of 20, the third KPI (40 points) has no value:
    # (30 + 20) / (40 + 20) × 100 = 83.33
    assert formulas.total([(30, 40), (20, 20), (None, 40)]) == 83.33
    assert formulas.total([(30, 40), (20, 20), (40, 40)]) == 90
    assert formulas.total([(None, 40), (None, 60)]) is None
    assert formulas.total([]) is None


def test_competition_ranking_with_ties() -> None:
    assert formulas.competition_ranks([90, 85, 85, 80]) == [1, 2, 2, 4]
    assert formulas.competition_ranks([80, 85, 90, 85]) == [4, 2, 1, 2]
    assert formulas.competition_ranks([70, 70, 70]) == [1, 1, 1]
    # compared at 2 decimals: 85.001 and 84.999 are both 85.00 → tied
    assert formulas.competition_ranks([85.001, 84.999, None, 60]) == [1, 1, None, 3]
    assert formulas.competition_ranks([]) == []


def test_indicator_params() -> None:
    assert formulas.validate_indicator_params("escalation_rate", {}) == {"level": "county"}
    assert formulas.validate_indicator_params("escalation_rate", {"level": "city"}) == {"level": "city"}
    with pytest.raises(ValueError, match="level"):
        formulas.validate_indicator_params("escalation_rate", {"level": "moon"})
    with pytest.raises(ValueError, match="colour"):
        formulas.validate_indicator_params("closure_rate", {"colour": "red"})


def test_default_lists_sum_to_100() -> None:
    from zongzhi.assessment.services import default_indicators

    for kind in formulas.SUBJECT_KINDS:
        items = default_indicators(kind)
        assert round(sum(i.weight for i in items), 6) == 100
        assert {i.code for i in items} == {c for c, ind in INDICATORS.items() if kind in ind.subjects}
