"""Facts from cases driven through the real services at chosen times (time-machine): every field,
the on-time flags at the exact deadline boundaries, returns, reopens, escalations, extensions,
supervision counts and the resolved level; the incremental refresh and the rebuild."""

# ruff: noqa: F811 - the ``world`` fixture is imported from the cases tests and used as a parameter
from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine

from zongzhi.analytics import facts
from zongzhi.analytics.models import CaseFact, RefreshState, RollupDirty
from zongzhi.cases import services
from zongzhi.cases.models import Case, CaseEvent
from zongzhi.cases.tests.conftest import World, world  # noqa: F401 - the fixture
from zongzhi.cases.tests.drive import act, report

TZ = ZoneInfo("Asia/Shanghai")
T0 = dt.datetime(2026, 3, 2, 10, 0, tzinfo=TZ)  # a Monday
H = dt.timedelta(hours=1)
D = dt.timedelta(days=1)
US = dt.timedelta(microseconds=1)

pytestmark = pytest.mark.django_db


def at(moment: dt.datetime, fn: Any, *args: Any, **kwargs: Any) -> Any:
    with time_machine.travel(moment, tick=False):
        return fn(*args, **kwargs)


def fact(case: Case | int) -> CaseFact:
    pk = case if isinstance(case, int) else case.pk
    facts.facts_refresh(case_ids=[pk])
    return CaseFact.objects.get(pk=pk)


def rep(w: World, when: dt.datetime = T0, **over: Any) -> Case:
    return at(when, report, w, **over)  # type: ignore[no-any-return]


def step(w: World, when: dt.datetime, who: str, case: Case, action: str, note: str = "", **data: Any) -> Case:
    return at(when, act, w, who, case, action, note, **data)  # type: ignore[no-any-return]


def dispatch(w: World, when: dt.datetime, case: Case, **data: Any) -> Case:
    return step(
        w,
        when,
        "operator",
        case,
        "dispatch",
        lead_department_id=w.police.pk,
        assisting_department_ids=[],
        **data,
    )


def full_loop(w: World, case: Case, start: dt.datetime = T0) -> Case:
    step(w, start + H / 2, "operator", case, "accept")
    dispatch(w, start + 2 * H, case)
    step(w, start + 3 * H, "handler", case, "acknowledge")
    step(w, start + 2 * D, "handler", case, "resolve", "已调解")
    step(w, start + 2 * D + 2 * H, "operator", case, "reply", "电话告知", method="phone")
    step(w, start + 3 * D, "operator", case, "rate", rating="satisfied")
    return step(w, start + 4 * D, "operator", case, "archive")


def test_every_field_of_a_closed_loop(world: World) -> None:
    w = world
    case = rep(w, urgency="normal", lon=None, lat=None)
    full_loop(w, case)
    f = fact(case)
    case.refresh_from_db()
    assert (f.owner_path, f.region_path) == (w.r["A"].path, w.r["A1a"].path)
    assert (f.region_id, f.owner_region_id, f.lead_department_id) == (w.r["A1a"].pk, w.r["A"].pk, w.police.pk)
    assert f.rollup_region_id == w.r["A"].pk  # a county owner sits above the township grain
    assert f.rollup_county_id == w.r["A"].pk
    assert f.reporter_user_id == w.operator.pk and f.grid_id is None
    assert f.category_id == w.category.pk and f.category_parent_id == w.category.parent_id
    assert (f.kind, f.channel, f.urgency, f.state) == ("dispute", "hotline", "normal", "archived")
    assert f.created_date == dt.date(2026, 3, 2)
    assert f.created_at == T0
    assert f.accepted_at == T0 + H / 2 and f.declined_at is None
    assert f.dispatched_at == T0 + 2 * H and f.acknowledged_at == T0 + 3 * H
    assert f.resolved_at == T0 + 2 * D and f.resolved_date == dt.date(2026, 3, 4)
    assert f.replied_at == T0 + 2 * D + 2 * H
    assert f.rated_at == T0 + 3 * D and f.archived_at == T0 + 4 * D
    assert f.accept_due_at == T0 + H  # 1 h from registration
    assert f.dispatch_due_at == T0 + H / 2 + 24 * H  # 24 h from acceptance
    assert f.acknowledge_due_at == T0 + 2 * H + 24 * H
    assert f.handle_due_at == case.handle_due_at  # recorded by the dispatch
    assert f.handle_due_at == dt.datetime(2026, 3, 11, 23, 59, 59, tzinfo=TZ)  # 7 working days
    assert f.reply_due_at == T0 + 2 * D + 24 * H
    assert (f.accept_on_time, f.dispatch_on_time, f.acknowledge_on_time) == (True, True, True)
    assert (f.resolve_on_time, f.reply_on_time) == (True, True)
    assert f.accept_seconds == 1800 and f.dispatch_seconds == 7200 and f.acknowledge_seconds == 10800
    assert f.resolve_seconds == 2 * 86400 and f.reply_seconds == 2 * 86400 + 7200
    assert (f.dispatch_count, f.return_count, f.extension_count, f.escalation_count, f.reopen_count) == (
        1,
        0,
        0,
        0,
        0,
    )
    assert (f.reminder_count, f.supervision_count, f.listed_supervision_count) == (0, 0, 0)
    assert f.rating == "satisfied" and not f.resolved_on_site
    assert f.resolved_level == "county" and f.max_escalated_level == ""
    assert f.is_dispute and not f.is_open and not f.is_overdue
    assert f.event_seq == case.last_event_seq == 8


def test_on_time_at_the_exact_boundary_and_one_microsecond_after(world: World) -> None:
    w = world
    on, late = rep(w), rep(w)
    # accept: due 1 h after registration
    step(w, T0 + H, "operator", on, "accept")
    step(w, T0 + H + US, "operator", late, "accept")
    # dispatch: due 24 h after acceptance
    dispatch(w, T0 + 25 * H, on)
    dispatch(w, T0 + H + US + 24 * H + US, late)
    # acknowledge: due 24 h after the dispatch
    step(w, T0 + 49 * H, "handler", on, "acknowledge")
    step(w, T0 + 49 * H + 3 * US + 24 * H, "handler", late, "acknowledge")
    f_on, f_late = fact(on), fact(late)
    assert (f_on.accept_on_time, f_on.dispatch_on_time, f_on.acknowledge_on_time) == (True, True, True)
    assert (f_late.accept_on_time, f_late.dispatch_on_time, f_late.acknowledge_on_time) == (
        False,
        False,
        False,
    )
    # resolve: at the handling deadline exactly, and just after it
    due_on, due_late = f_on.handle_due_at, f_late.handle_due_at
    assert due_on is not None and due_late is not None
    step(w, due_on, "handler", on, "resolve", "完成")
    step(w, due_late + US, "handler", late, "resolve", "完成")
    # reply: due 24 h after the resolution
    step(w, due_on + 24 * H, "operator", on, "reply", "告知")
    step(w, due_late + US + 24 * H + US, "operator", late, "reply", "告知")
    f_on, f_late = fact(on), fact(late)
    assert (f_on.resolve_on_time, f_on.reply_on_time) == (True, True)
    assert (f_late.resolve_on_time, f_late.reply_on_time) == (False, False)
    assert f_late.reply_due_at == due_late + US + 24 * H


def test_open_stages_have_a_deadline_and_no_flag(world: World) -> None:
    w = world
    case = rep(w)
    f = fact(case)
    assert f.accept_due_at == T0 + H and f.accept_on_time is None
    assert f.dispatch_due_at is None and f.dispatch_on_time is None
    assert f.is_open and f.state == "reported"
    step(w, T0 + 2 * H, "operator", case, "accept")  # late
    f = fact(case)
    assert f.accept_on_time is False
    assert f.dispatch_due_at == T0 + 26 * H and f.dispatch_on_time is None
    assert f.resolve_on_time is None and f.reply_on_time is None and f.handle_due_at is None


def test_return_and_redispatch(world: World) -> None:
    w = world
    case = rep(w)
    step(w, T0 + H / 2, "operator", case, "accept")
    step(
        w, T0 + H, "operator", case, "dispatch", lead_department_id=w.housing.pk, assisting_department_ids=[]
    )
    step(w, T0 + 2 * H, "housing_handler", case, "return", "不属于本部门职责")
    f = fact(case)
    assert f.return_count == 1 and f.dispatch_count == 1
    assert f.lead_department_id == w.housing.pk  # the lead of the last dispatch
    assert f.state == "accepted" and f.handle_due_at is None
    # the re-dispatch comes 30 h after the return: the first dispatch was on time, and it stays so
    dispatch(w, T0 + 32 * H, case)
    step(w, T0 + 33 * H, "handler", case, "acknowledge")
    f = fact(case)
    assert f.dispatch_count == 2 and f.return_count == 1
    assert f.lead_department_id == w.police.pk
    assert f.dispatched_at == T0 + H and f.dispatch_on_time is True
    assert f.acknowledged_at == T0 + 33 * H and f.acknowledge_due_at == T0 + 32 * H + 24 * H
    assert f.handle_due_at == Case.objects.get(pk=case.pk).handle_due_at  # from the second dispatch


def test_unsatisfied_rating_reopens_and_the_second_rating_counts(world: World) -> None:
    w = world
    case = rep(w)
    step(w, T0 + H / 2, "operator", case, "accept")
    dispatch(w, T0 + H, case)
    step(w, T0 + 2 * H, "handler", case, "acknowledge")
    step(w, T0 + D, "handler", case, "resolve", "第一次办结")
    step(w, T0 + D + H, "operator", case, "reply", "告知")
    step(w, T0 + 2 * D, "operator", case, "rate", rating="unsatisfied")  # reopens automatically
    f = fact(case)
    assert f.reopen_count == 1 and f.rating == "" and f.state == "handling"
    assert f.resolved_at == T0 + D and f.resolve_on_time is True  # the first resolution
    assert f.rated_at == T0 + 2 * D
    step(w, T0 + 3 * D, "handler", case, "resolve", "第二次办结")
    step(w, T0 + 3 * D + H, "operator", case, "reply", "再次告知")
    step(w, T0 + 4 * D, "operator", case, "rate", rating="basically_satisfied")
    f = fact(case)
    assert f.rating == "basically_satisfied" and f.reopen_count == 1
    assert f.resolved_at == T0 + D and f.replied_at == T0 + D + H  # first times
    assert f.state == "replied" and f.is_open


def test_escalation_restarts_the_accept_clock_and_sets_the_levels(world: World) -> None:
    w = world
    # a grid worker's report lands at the township center (the village has no staffed center)
    case = rep(w, actor="grid_worker")
    assert case.owner_region_id == w.r["A1"].pk
    assert fact(case).rollup_region_id == w.r["A1"].pk
    step(w, T0 + 3 * H, "township_operator", case, "escalate", "需区级协调")
    step(w, T0 + 3 * H + H, "operator", case, "accept")  # on time against the county's own hour
    dispatch(w, T0 + 5 * H, case)
    step(w, T0 + 6 * H, "handler", case, "acknowledge")
    step(w, T0 + D, "handler", case, "resolve", "区级协调解决")
    f = fact(case)
    assert f.escalation_count == 1
    assert f.accept_due_at == T0 + 4 * H and f.accept_on_time is True
    assert f.dispatch_due_at == T0 + 4 * H + 24 * H
    assert f.owner_region_id == w.r["A"].pk and f.owner_path == w.r["A"].path
    assert f.resolved_level == "county" and f.max_escalated_level == "county"
    assert f.rollup_region_id == w.r["A"].pk and f.rollup_county_id == w.r["A"].pk


def test_resolved_where_reported_is_the_township_level(world: World) -> None:
    w = world
    case = rep(w, actor="grid_worker")
    step(w, T0 + H / 2, "township_operator", case, "accept")
    step(
        w,
        T0 + H,
        "township_operator",
        case,
        "dispatch",
        lead_department_id=w.township_office.pk,
        assisting_department_ids=[],
    )
    f = fact(case)
    assert f.rollup_region_id == w.r["A1"].pk and f.rollup_county_id == w.r["A"].pk
    assert f.resolved_level == "" and f.escalation_count == 0


def test_extension_moves_the_handling_deadline(world: World) -> None:
    w = world
    case = rep(w)
    step(w, T0 + H / 2, "operator", case, "accept")
    dispatch(w, T0 + H, case)
    step(w, T0 + 2 * H, "handler", case, "acknowledge")
    first_due = Case.objects.get(pk=case.pk).handle_due_at
    assert first_due is not None
    until = first_due + 3 * D
    step(w, T0 + 3 * D, "handler", case, "request_extension", "需要鉴定", until=until.isoformat())
    step(w, T0 + 3 * D + H, "director", case, "approve_extension")
    step(w, first_due + D, "handler", case, "resolve", "完成")  # after the first deadline, before the new
    f = fact(case)
    assert f.extension_count == 1
    assert f.handle_due_at == until and f.resolve_on_time is True


def test_resolved_on_site(world: World) -> None:
    w = world
    case = rep(w, actor="grid_worker", resolved_on_site=True, result="当场劝解")
    f = fact(case)
    assert f.resolved_on_site and f.resolved_at == T0 and f.accepted_at == T0
    assert f.accept_on_time is True and f.resolve_on_time is True and f.dispatch_on_time is None
    assert f.resolved_level == "township" and f.reply_due_at == T0 + 24 * H
    assert f.resolve_seconds == 0 and f.lead_department_id is None


def test_declined_closes_the_accept_stage(world: World) -> None:
    w = world
    case = rep(w)
    step(w, T0 + 2 * H, "operator", case, "decline", "不属于受理范围")
    f = fact(case)
    assert f.declined_at == T0 + 2 * H and f.accepted_at is None
    assert f.accept_on_time is False and f.dispatch_due_at is None
    assert not f.is_open and f.state == "declined"


def test_supervision_counts_from_the_sweep_and_by_hand(world: World) -> None:
    w = world
    case = rep(w)
    # never accepted: the sweep reminds (80 % of 1 h), supervises (1 h) and lists (72 h after due)
    at(T0 + 50 * 60 * dt.timedelta(seconds=1), services.sla_sweep)
    at(T0 + 2 * H, services.sla_sweep)
    f = fact(case)
    assert (f.reminder_count, f.supervision_count, f.listed_supervision_count) == (1, 1, 0)
    assert f.is_overdue and f.is_open
    at(T0 + 80 * H, services.sla_sweep)
    step(w, T0 + 81 * H, "director", case, "supervise", "请立即受理", kind="listed")
    step(w, T0 + 82 * H, "director", case, "supervise", "提醒", kind="reminder")
    f = fact(case)
    assert (f.reminder_count, f.supervision_count, f.listed_supervision_count) == (2, 3, 2)
    assert f.event_seq == Case.objects.get(pk=case.pk).last_event_seq


def test_fact_for_case_is_pure(world: World) -> None:
    w = world
    case = rep(w)
    full_loop(w, case)
    case = Case.objects.select_related("category", "owner_region").get(pk=case.pk)
    events = list(CaseEvent.objects.filter(case=case))
    before = CaseFact.objects.count()
    a = facts.fact_for_case(case, events, levels={w.r["A"].code: "county"}, now=T0 + 10 * D)
    b = facts.fact_for_case(case, list(reversed(events)), levels={w.r["A"].code: "county"}, now=T0 + 10 * D)
    assert CaseFact.objects.count() == before  # nothing written
    fields = [f.name for f in CaseFact._meta.concrete_fields]
    assert [getattr(a, n) for n in fields] == [getattr(b, n) for n in fields]


# --- refresh ----------------------------------------------------------------------------------------------


def snapshot() -> list[tuple[Any, ...]]:
    fields = [f.attname for f in CaseFact._meta.concrete_fields if f.name != "refreshed_at"]
    return sorted(CaseFact.objects.values_list(*fields))


def test_incremental_refresh_picks_up_new_events_only(world: World) -> None:
    w = world
    a, b = rep(w), rep(w)
    assert at(T0 + H, facts.facts_refresh) == 2
    assert at(T0 + H, facts.facts_refresh) == 0  # nothing new
    step(w, T0 + 2 * H, "operator", a, "accept")
    assert at(T0 + 2 * H, facts.facts_refresh) == 1
    assert CaseFact.objects.get(pk=a.pk).state == "accepted"
    assert CaseFact.objects.get(pk=b.pk).state == "reported"
    state = RefreshState.objects.get(name=facts.STATE_NAME)
    assert state.last_event_id == CaseEvent.objects.order_by("-pk").first().pk  # type: ignore[union-attr]
    # a new case and a sweep row (written in bulk by the sweep) are both seen
    c = rep(w, T0 + 3 * H)
    at(T0 + 4 * H, services.sla_sweep)
    assert at(T0 + 4 * H, facts.facts_refresh) == 2  # c (new) and b (supervised); a is waiting on time
    assert CaseFact.objects.get(pk=c.pk).state == "reported"
    assert CaseFact.objects.get(pk=b.pk).supervision_count == 1
    assert RollupDirty.objects.exists()


def test_refresh_sees_a_late_commit_behind_the_watermark(world: World) -> None:
    """Timeline ids are not commit-ordered: a row with a lower id that becomes visible after the
    watermark passed it is still found (the lookback), and only behind facts are recomputed."""
    w = world
    a = rep(w)
    facts.facts_refresh()
    step(w, T0 + H, "operator", a, "accept")
    RefreshState.objects.filter(name=facts.STATE_NAME).update(
        last_event_id=CaseEvent.objects.order_by("-pk").first().pk  # type: ignore[union-attr]
    )  # as if the watermark had already passed the accept row
    assert facts.facts_refresh() == 1
    assert CaseFact.objects.get(pk=a.pk).state == "accepted"


def test_rebuild_equals_incremental(world: World) -> None:
    w = world
    cases = [rep(w, T0 + i * H) for i in range(4)]
    facts.facts_refresh()
    full_loop(w, cases[0], T0 + H)
    step(w, T0 + 5 * H, "operator", cases[1], "decline", "不予受理")
    facts.facts_refresh()
    step(w, T0 + 6 * H, "operator", cases[2], "accept")
    at(T0 + 30 * H, services.sla_sweep)
    at(T0 + 31 * H, facts.facts_refresh)
    incremental = snapshot()
    CaseFact.objects.all().delete()
    at(T0 + 31 * H, facts.facts_rebuild)
    assert snapshot() == incremental
    assert len(incremental) == 4
