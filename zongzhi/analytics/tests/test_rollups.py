"""Rollups against the raw cases: every cell of day × region × (total | category | channel |
department) equals an aggregate counted here straight from the case rows and their timelines; the
periodic refresh makes new activity visible and a rebuild from scratch gives the same cells."""

# ruff: noqa: F811 - the ``world`` fixture is imported from the cases tests and used as a parameter
from __future__ import annotations

import datetime as dt
import io
from collections import Counter, defaultdict
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone
from huey.contrib.djhuey import HUEY

from zongzhi.analytics import rollups, selectors, tasks
from zongzhi.analytics.models import CaseFact, Rollup, RollupDirty, RollupMonth
from zongzhi.cases.models import Case, CaseEvent
from zongzhi.cases.tests.conftest import World, world  # noqa: F401 - the fixture
from zongzhi.cases.tests.drive import act, report
from zongzhi.orgs.models import Region

TZ = ZoneInfo("Asia/Shanghai")
T0 = dt.datetime(2026, 3, 2, 10, 0, tzinfo=TZ)  # a Monday
H = dt.timedelta(hours=1)
D = dt.timedelta(days=1)

pytestmark = pytest.mark.django_db


def at(moment: dt.datetime, fn: Any, *args: Any, **kwargs: Any) -> Any:
    with time_machine.travel(moment, tick=False):
        return fn(*args, **kwargs)


def rep(w: World, when: dt.datetime, **over: Any) -> Case:
    return at(when, report, w, **over)  # type: ignore[no-any-return]


def step(w: World, when: dt.datetime, who: str, case: Case, action: str, note: str = "", **data: Any) -> None:
    at(when, act, w, who, case, action, note, **data)


def dispatch(w: World, when: dt.datetime, case: Case, who: str = "operator", lead: Any = None) -> None:
    step(
        w,
        when,
        who,
        case,
        "dispatch",
        lead_department_id=(lead or w.police).pk,
        assisting_department_ids=[],
    )


def build(w: World) -> dict[str, Case]:
    """Cases over three days in two counties, four channels, three categories, three lead
    departments: resolved across days, returned, rated, resolved on the spot, reported just after
    midnight (local time), declined."""
    c: dict[str, Case] = {}
    c["a"] = rep(w, T0)  # hotline, 0201, county A owns it
    step(w, T0 + H / 2, "operator", c["a"], "accept")
    dispatch(w, T0 + H, c["a"])
    step(w, T0 + 2 * H, "handler", c["a"], "acknowledge")
    step(w, T0 + 2 * D, "handler", c["a"], "resolve", "已调解")  # resolved on day 3
    step(w, T0 + 2 * D + H, "operator", c["a"], "reply", "已告知", method="phone")
    step(w, T0 + 2 * D + 2 * H, "operator", c["a"], "rate", rating="satisfied")

    c["b"] = rep(w, T0 + H, channel="web", category_code="0102", kind="event", region_code=w.r["A2a"].code)
    step(w, T0 + 2 * H, "operator", c["b"], "accept")
    dispatch(w, T0 + 3 * H, c["b"], lead=w.housing)
    step(w, T0 + 4 * H, "housing_handler", c["b"], "return", "不属于本部门")
    dispatch(w, T0 + 5 * H, c["b"])  # re-dispatched to the police
    step(w, T0 + 6 * H, "handler", c["b"], "acknowledge")
    step(w, T0 + 8 * H, "handler", c["b"], "resolve", "已处理")  # same day

    c["c"] = rep(w, T0 + 2 * H, actor="grid_worker", resolved_on_site=True, result="当场劝解")  # owner A1
    c["d"] = rep(w, T0 + 3 * H, actor="grid_worker", channel="patrol")  # owner A1, open
    step(w, T0 + 4 * H, "township_operator", c["d"], "accept")
    dispatch(w, T0 + 5 * H, c["d"], who="township_operator", lead=w.township_office)

    # just after midnight, local time: day 2 (the previous day in UTC)
    c["e"] = rep(w, dt.datetime(2026, 3, 3, 0, 30, tzinfo=TZ), channel="web")
    step(w, T0 + D + H, "operator", c["e"], "decline", "不属于受理范围")

    c["f"] = rep(w, T0 + D + 2 * H, category_code="0102", kind="event")
    step(w, T0 + D + 3 * H, "operator", c["f"], "accept")
    dispatch(w, T0 + D + 4 * H, c["f"], lead=w.housing)
    step(w, T0 + D + 5 * H, "housing_handler", c["f"], "acknowledge")
    step(w, T0 + D + 6 * H, "housing_handler", c["f"], "resolve", "已处理")
    step(w, T0 + D + 7 * H, "operator", c["f"], "reply", "已告知", method="phone")
    step(w, T0 + D + 8 * H, "operator", c["f"], "rate", rating="unsatisfied")  # reopens

    # county B
    c["g"] = rep(w, T0 + H, actor="sibling_operator", region_code=w.r["B1a"].code)
    step(w, T0 + 2 * H, "sibling_operator", c["g"], "accept")
    c["h"] = rep(w, T0 + 2 * D, actor="sibling_operator", region_code=w.r["B1a"].code, channel="walk_in")
    return c


# --- the raw aggregate ---------------------------------------------------------------------------------------


def local(moment: dt.datetime) -> dt.date:
    return timezone.localtime(moment, TZ).date()


def grain_region(region: Region, level: str) -> int:
    """The region's ancestor-or-self at ``level`` (itself when it sits at or above it)."""
    order = ["province", "city", "county", "township", "village"]
    r = region
    while order.index(r.level) > order.index(level):
        r = r.parent  # type: ignore[assignment]
    return r.pk


def raw_cells() -> dict[tuple[str, dt.date, int, str], Counter[str]]:
    """Cells counted from ``cases_case`` and ``cases_caseevent`` only (no fact row is read):
    reported, accepted, declined, dispatched, resolved (cohort by registration day),
    resolved_flow (by the day of the first resolution), returns, satisfied, unsatisfied, rated."""
    cells: dict[tuple[str, dt.date, int, str], Counter[str]] = defaultdict(Counter)
    for case in Case.objects.select_related("owner_region__parent__parent"):
        events = list(CaseEvent.objects.filter(case=case).order_by("seq"))
        actions = [e.action for e in events]
        created = local(events[0].at)
        first_resolve = next((e.at for e in events if e.action in ("resolve", "resolve_on_site")), None)
        leads = [e.data["lead"]["id"] for e in events if e.action == "dispatch"]
        rating = ""
        for e in events:
            if e.action == "rate":
                rating = e.data["rating"]
            elif e.action == "reopen":
                rating = ""
        cohort = {
            "reported": 1,
            "accepted": int("accept" in actions or "resolve_on_site" in actions),
            "declined": int("decline" in actions),
            "dispatched": int("dispatch" in actions),
            "resolved": int(first_resolve is not None),
            "returns": actions.count("return"),
            "satisfied": int(rating == "satisfied"),
            "unsatisfied": int(rating == "unsatisfied"),
            "rated": int(rating in ("satisfied", "basically_satisfied", "unsatisfied")),
        }
        keys = {
            "total": ("", grain_region(case.owner_region, "township")),
            "category": (str(case.category_id or ""), grain_region(case.owner_region, "county")),
            "channel": (case.channel, grain_region(case.owner_region, "county")),
            "department": (str(leads[-1]) if leads else "", grain_region(case.owner_region, "county")),
        }
        for dim, (key, region_id) in keys.items():
            cells[(dim, created, region_id, key)].update(cohort)
            if first_resolve is not None:
                cells[(dim, local(first_resolve), region_id, key)]["resolved_flow"] += 1
    return cells


MEASURED = [
    "reported",
    "accepted",
    "declined",
    "dispatched",
    "resolved",
    "returns",
    "satisfied",
    "unsatisfied",
]
MEASURED += ["rated", "resolved_flow"]


def rollup_cells() -> dict[tuple[str, dt.date, int, str], Counter[str]]:
    out: dict[tuple[str, dt.date, int, str], Counter[str]] = {}
    for row in Rollup.objects.filter(tree=False).values("dim", "day", "region_id", "key", *MEASURED):
        out[(row["dim"], row["day"], row["region_id"], row["key"])] = Counter(
            {m: row[m] for m in MEASURED if row[m]}
        )
    return out


def tree_cells(model: Any = Rollup) -> dict[tuple[str, dt.date, int, str], Counter[str]]:
    time = "day" if model is Rollup else "month"
    out: dict[tuple[str, dt.date, int, str], Counter[str]] = {}
    for row in model.objects.filter(tree=True).values("dim", time, "region_id", "key", *MEASURED):
        out[(row["dim"], row[time], row["region_id"], row["key"])] = Counter(
            {m: row[m] for m in MEASURED if row[m]}
        )
    return out


def raw_tree(cells: dict[tuple[str, dt.date, int, str], Counter[str]]) -> dict[Any, Counter[str]]:
    """The grain cells summed into every region above the grain that holds them (itself included
    when it sits above the grain: a county-owned case's grain cell is the county's)."""
    above = {"total": 3, "category": 2, "channel": 2, "department": 2}  # the grain's depth
    depth = {"province": 0, "city": 1, "county": 2, "township": 3, "village": 4}
    out: dict[Any, Counter[str]] = defaultdict(Counter)
    for (dim, day, region_id, key), values in cells.items():
        r: Region | None = Region.objects.get(pk=region_id)
        while r is not None:
            if depth[r.level] < above[dim]:
                out[(dim, day, r.pk, key)].update(values)
            r = r.parent
    return {k: Counter({m: n for m, n in v.items() if n}) for k, v in out.items()}


def month_cells() -> dict[tuple[str, dt.date, int, str], Counter[str]]:
    out: dict[tuple[str, dt.date, int, str], Counter[str]] = {}
    for row in RollupMonth.objects.filter(tree=False).values("dim", "month", "region_id", "key", *MEASURED):
        out[(row["dim"], row["month"], row["region_id"], row["key"])] = Counter(
            {m: row[m] for m in MEASURED if row[m]}
        )
    return out


def by_month(cells: dict[tuple[str, dt.date, int, str], Counter[str]]) -> dict[Any, Counter[str]]:
    """Day cells summed per calendar month (the key's day becomes the month's first day)."""
    out: dict[Any, Counter[str]] = defaultdict(Counter)
    for (dim, day, region, key), values in cells.items():
        out[(dim, day.replace(day=1), region, key)].update(values)
    return {k: Counter({m: n for m, n in v.items() if n}) for k, v in out.items()}


def cube() -> list[tuple[Any, ...]]:
    """Every day cell and every month cell, all columns but the row id."""
    out = []
    for model in (Rollup, RollupMonth):
        names = [f.attname for f in model._meta.concrete_fields if f.name != "id"]
        out += [(model.__name__, *row) for row in model.objects.values_list(*names)]
    return sorted(out, key=repr)


def test_rollup_cells_equal_the_raw_aggregate_over_cases(world: World) -> None:
    c = build(world)
    at(T0 + 3 * D, rollups.analytics_refresh)
    raw = {k: Counter({m: n for m, n in v.items() if n}) for k, v in raw_cells().items()}
    assert rollup_cells() == raw
    assert tree_cells() == raw_tree(raw)
    # spot checks worked out by hand
    A, A1, B = world.r["A"].pk, world.r["A1"].pk, world.r["B"].pk
    d1, d2, d3 = dt.date(2026, 3, 2), dt.date(2026, 3, 3), dt.date(2026, 3, 4)
    assert raw[("total", d1, A, "")] == Counter(
        reported=2, accepted=2, dispatched=2, resolved=2, returns=1, satisfied=1, rated=1, resolved_flow=1
    )  # a (resolved on day 3, counted in day 1's cohort) and b (returned once, resolved on day 1)
    assert raw[("total", d1, A1, "")] == Counter(
        reported=2, accepted=2, dispatched=1, resolved=1, resolved_flow=1
    )
    assert raw[("total", d2, A, "")] == Counter(
        reported=2, declined=1, accepted=1, dispatched=1, resolved=1, resolved_flow=1
    )
    assert raw[("total", d3, A, "")] == Counter(resolved_flow=1)  # a's resolution
    assert raw[("total", d1, B, "")] == Counter(reported=1, accepted=1)
    assert raw[("channel", d2, A, "web")]["reported"] == 1  # e, just after midnight local time
    assert raw[("department", d1, A, str(world.police.pk))]["returns"] == 1  # b ended with the police
    assert c["f"].pk and raw[("category", d2, A, str(c["f"].category_id))]["rated"] == 0  # f was reopened


def test_rollup_path_equals_the_facts_path_for_every_measure(world: World) -> None:
    build(world)
    at(T0 + 3 * D, rollups.analytics_refresh)
    period = selectors.Period(dt.date(2026, 3, 1), dt.date(2026, 3, 5))
    for region in ("C", "A", "A1"):
        path = world.r[region].path
        depth = {"C": 1, "A": 2, "A1": 3}[region]
        scope = selectors.Scope(roots=(path,), depths=(depth,))
        assert scope.rollup_ok("township")
        from_facts = selectors._facts_grouped(scope, period, None)[None]
        assert selectors.totals(scope, period) == from_facts, region
        for dim in ("category", "channel", "department"):
            if scope.rollup_ok("county"):
                raw = {
                    rollups.key_of(k): v
                    for k, v in selectors._facts_grouped(scope, period, rollups.DIM_FIELD[dim]).items()
                }
                assert selectors.by_dim(scope, period, dim) == raw, (region, dim)
    assert selectors.totals(selectors.Scope(roots=(world.r["C"].path,), depths=(1,)), period)["reported"] == 8


def test_incremental_refresh_shows_new_activity_and_rebuild_gives_the_same_cells(world: World) -> None:
    c = build(world)
    at(T0 + 3 * D, rollups.analytics_refresh)
    before = rollup_cells()
    scope = selectors.Scope(roots=(world.r["A"].path,), depths=(2,))
    period = selectors.Period(dt.date(2026, 3, 1), dt.date(2026, 3, 10))
    assert selectors.totals(scope, period)["resolved_flow"] == 4
    # new activity on day 5: d supervised, a new case registered
    step(world, T0 + 3 * D, "director", c["d"], "supervise", "请加快", kind="supervision")
    new = rep(world, T0 + 3 * D + H, channel="hotline")
    result = at(T0 + 3 * D + 2 * H, rollups.analytics_refresh)
    assert result["facts"] == 2 and result["slices"] > 0
    assert not RollupDirty.objects.exists()
    v = selectors.totals(scope, period)
    assert v["reported"] == 7 and v["supervised"] == 1
    assert rollup_cells() != before
    raw = {k: Counter({m: n for m, n in x.items() if n}) for k, x in raw_cells().items()}
    assert rollup_cells() == raw
    assert tree_cells() == raw_tree(raw)
    assert CaseFact.objects.get(pk=new.pk).created_date == dt.date(2026, 3, 5)
    # from scratch: the same cube
    incremental = cube()
    Rollup.objects.all().delete()
    CaseFact.objects.all().delete()
    out = io.StringIO()
    at(T0 + 3 * D + 2 * H, call_command, "rebuild_facts", stdout=out, stderr=io.StringIO())
    assert "facts: 9" in out.getvalue()
    assert cube() == incremental
    # a slice recomputed again is unchanged; a cell without facts any more disappears
    Rollup.objects.filter(dim="total").update(reported=99)
    RollupMonth.objects.filter(dim="channel").update(resolved=99)
    at(T0 + 3 * D + 2 * H, rollups.rollups_rebuild)
    assert cube() == incremental


def test_the_periodic_task_runs_every_minute_and_refreshes(world: World) -> None:
    start = dt.datetime(2026, 3, 2, 10, 0)
    for minute in range(0, 120, 7):
        due = {t.name for t in HUEY.read_periodic(start + dt.timedelta(minutes=minute))}
        assert any(name.endswith("periodic_analytics_refresh") for name in due), due
    case = rep(world, T0)
    at(T0 + H, tasks.periodic_analytics_refresh)
    assert CaseFact.objects.filter(pk=case.pk).exists()
    scope = selectors.Scope(roots=(world.r["C"].path,), depths=(1,))
    assert selectors.totals(scope, selectors.Period(T0.date(), T0.date()))["reported"] == 1


def test_dashboard_figures_follow_new_activity_within_a_minute(world: World) -> None:
    build(world)
    url = "/analytics/tiles?from=2026-03-01&to=2026-03-10"
    r = at(T0 + 3 * D, world.api, world.city_leader, "get", url)
    assert r.status_code == 200 and r.json()["values"]["reported"] == 8
    rep(world, T0 + 3 * D + dt.timedelta(seconds=5))
    r = at(T0 + 3 * D + dt.timedelta(seconds=60), world.api, world.city_leader, "get", url)
    assert r.json()["values"]["reported"] == 9


def test_split_period_reads_whole_months_from_month_cells_and_the_rest_from_days() -> None:
    d = dt.date
    split = selectors.split_period
    assert split(selectors.Period(d(2026, 1, 15), d(2026, 12, 14))) == (
        [(d(2026, 1, 15), d(2026, 1, 31)), (d(2026, 12, 1), d(2026, 12, 14))],
        (d(2026, 2, 1), d(2026, 11, 1)),
    )
    assert split(selectors.ALL_TIME) == ([], (None, None))
    assert split(selectors.Period(None, d(2026, 3, 10))) == (
        [(d(2026, 3, 1), d(2026, 3, 10))],
        (None, d(2026, 2, 1)),
    )
    assert split(selectors.Period(d(2026, 2, 27), None)) == (
        [(d(2026, 2, 27), d(2026, 2, 28))],
        (d(2026, 3, 1), None),
    )
    assert split(selectors.Period(d(2026, 3, 1), d(2026, 3, 31))) == ([], (d(2026, 3, 1), d(2026, 3, 1)))
    assert split(selectors.Period(d(2026, 3, 5), d(2026, 3, 20))) == ([(d(2026, 3, 5), d(2026, 3, 20))], None)
    # a leap day and a year end
    assert split(selectors.Period(d(2028, 2, 29), d(2029, 1, 1))) == (
        [(d(2028, 2, 29), d(2028, 2, 29)), (d(2029, 1, 1), d(2029, 1, 1))],
        (d(2028, 3, 1), d(2028, 12, 1)),
    )


def test_month_cells_sum_the_day_cells_and_periods_across_months_agree_with_the_facts(world: World) -> None:
    c = build(world)
    at(T0 + 3 * D, rollups.analytics_refresh)
    # registered on the last evening of March (local time), resolved on the first of April
    late = rep(world, dt.datetime(2026, 3, 31, 23, 30, tzinfo=TZ), channel="web")
    step(world, dt.datetime(2026, 3, 31, 23, 40, tzinfo=TZ), "operator", late, "accept")
    dispatch(world, dt.datetime(2026, 3, 31, 23, 50, tzinfo=TZ), late)
    step(world, dt.datetime(2026, 4, 1, 8, 0, tzinfo=TZ), "handler", late, "acknowledge")
    step(world, dt.datetime(2026, 4, 1, 9, 0, tzinfo=TZ), "handler", late, "resolve", "已处理")
    april = rep(
        world,
        dt.datetime(2026, 4, 2, 10, 0, tzinfo=TZ),
        actor="sibling_operator",
        region_code=world.r["B1a"].code,
    )
    step(
        world,
        dt.datetime(2026, 4, 2, 11, 0, tzinfo=TZ),
        "director",
        c["d"],
        "supervise",
        "请加快",
        kind="supervision",
    )
    at(dt.datetime(2026, 4, 2, 12, 0, tzinfo=TZ), rollups.analytics_refresh)
    raw = {k: Counter({m: n for m, n in v.items() if n}) for k, v in raw_cells().items()}
    assert rollup_cells() == raw
    assert month_cells() == by_month(raw)
    assert tree_cells() == raw_tree(raw)
    assert tree_cells(RollupMonth) == by_month(raw_tree(raw))
    C = world.r["C"].pk
    assert tree_cells(RollupMonth)[("total", dt.date(2026, 3, 1), C, "")]["reported"] == 9
    assert tree_cells()[("channel", dt.date(2026, 3, 31), C, "web")] == Counter(
        reported=1, accepted=1, dispatched=1, resolved=1
    )
    A, B = world.r["A"].pk, world.r["B"].pk
    march, april_1 = dt.date(2026, 3, 1), dt.date(2026, 4, 1)
    assert month_cells()[("total", march, A, "")]["reported"] == 5  # a, b, e, f and the late one (c, d: A1's)
    assert month_cells()[("total", april_1, A, "")] == Counter(resolved_flow=1)  # the late one's resolution
    assert month_cells()[("total", april_1, B, "")] == Counter(reported=1)
    assert april.pk and CaseFact.objects.get(pk=late.pk).resolved_date == dt.date(2026, 4, 1)
    # every period shape: whole months only, days only, days and months, open ends
    periods = [
        selectors.Period(march, dt.date(2026, 4, 30)),
        selectors.Period(dt.date(2026, 3, 3), dt.date(2026, 4, 1)),
        selectors.Period(dt.date(2026, 2, 20), dt.date(2026, 4, 1)),
        selectors.Period(dt.date(2026, 3, 31), None),
        selectors.Period(None, dt.date(2026, 3, 31)),
        selectors.ALL_TIME,
    ]
    for region, depth in (("C", 1), ("A", 2), ("A1", 3)):
        scope = selectors.Scope(roots=(world.r[region].path,), depths=(depth,))
        for period in periods:
            from_facts = selectors._facts_grouped(scope, period, None).get(None, selectors._zero())
            assert selectors.totals(scope, period) == from_facts, (region, period)
            if scope.rollup_ok("county"):
                for dim in ("category", "channel", "department"):
                    raw_dim = {
                        rollups.key_of(k): v
                        for k, v in selectors._facts_grouped(scope, period, rollups.DIM_FIELD[dim]).items()
                    }
                    assert selectors.by_dim(scope, period, dim) == raw_dim, (region, dim, period)
            # trends by month: whole months from the month cells, the rest by day
            if period.start is not None and period.end is not None:
                daily = selectors._facts_grouped(scope, period, "day")
                expected = [
                    sum(v["reported"] for day, v in daily.items() if day.replace(day=1).isoformat() == label)
                    for label in selectors.series(scope, period, ["reported"], "month")["labels"]
                ]
                got = selectors.series(scope, period, ["reported"], "month")["series"]["reported"]
                assert got == expected, (region, period)
    city = selectors.Scope(roots=(world.r["C"].path,), depths=(1,))
    assert selectors.series(city, periods[2], ["reported", "resolved_flow"], "month") == {
        "labels": ["2026-02-01", "2026-03-01", "2026-04-01"],
        "series": {"reported": [0, 9, 0], "resolved_flow": [0, 4, 1]},
    }
    assert selectors.totals(city, selectors.ALL_TIME)["reported"] == 10
    assert selectors.totals(city, selectors.Period(march, dt.date(2026, 3, 31)))["resolved_flow"] == 4
    assert selectors.totals(city, selectors.Period(april_1, dt.date(2026, 4, 30)))["resolved_flow"] == 1
    regions = {k: v["reported"] for k, _label, v in selectors.by_region(city, selectors.ALL_TIME)}
    assert regions == {world.r["A"].path: 7, world.r["B"].path: 3}
    # rebuilt from scratch: the same day and month cells
    incremental = cube()
    at(dt.datetime(2026, 4, 2, 12, 0, tzinfo=TZ), rollups.rollups_rebuild, days_per_batch=3)
    assert cube() == incremental


def test_a_refresh_skips_while_another_one_holds_the_lock(world: World) -> None:
    """Two refreshers must not recompute the same slices at once (the second insert would collide
    with the first's committed cells): on PostgreSQL the second one skips."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("the refresh lock is a PostgreSQL advisory lock; SQLite writers take turns")
    import psycopg

    report(world)
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    with psycopg.connect(**params, autocommit=True) as other:
        other.execute("SELECT pg_advisory_lock(%s)", [rollups.REFRESH_LOCK_KEY])
        assert rollups.analytics_refresh()["skipped"] == 1
        assert not CaseFact.objects.exists()  # nothing done while the other refresh runs
        other.execute("SELECT pg_advisory_unlock(%s)", [rollups.REFRESH_LOCK_KEY])
    result = rollups.analytics_refresh()
    assert result["skipped"] == 0 and result["facts"] == 1
    assert CaseFact.objects.count() == 1
