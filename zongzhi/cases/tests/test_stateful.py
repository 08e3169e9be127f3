"""A hypothesis state machine over the whole loop: random actions by random (often wrong) actors,
time jumps across the real holiday calendar, sweeps, supervision replies and calendar edits.

After every step the invariants are checked on every case of the example:
- the state is one of the states, and the stage (clock) is the one that state runs on;
- the timeline is complete: seqs 1..n = ``last_event_seq``, each event starts where the previous
  one ended, the last one ends in the case's state;
- an action that was refused (Conflict / PermissionDenied / FieldError / NotFound) wrote nothing;
- deadlines are consistent: remind ≤ due ≤ list, a policy deadline is what ``deadlines.due_at``
  says for the stage's start, the next sweep check follows from the level already raised;
- closed cases carry no clock; automatic notices are unique per (case, stage, kind), and every
  sweep event has its notice.

The world (regions, departments, users, catalogue, seeded calendar) is built once per test; each
example runs inside a savepoint that is rolled back afterwards, so it starts from a clean state.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from itertools import pairwise
from typing import Any

import pytest
import time_machine
from django.db import transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from tests.factories import make_user
from zongzhi.cases import deadlines, services
from zongzhi.cases.models import (
    OPEN_STATES,
    Case,
    CaseAssignment,
    CaseAttachment,
    CaseEvent,
    CaseState,
    Stage,
    Supervision,
    SupervisionKind,
)
from zongzhi.cases.services import ReportInput
from zongzhi.cases.states import TRANSITIONS, allowed_actions
from zongzhi.core import calendar as cal_module
from zongzhi.core.errors import Conflict, FieldError, NotFound, PermissionDeniedError
from zongzhi.core.models import AuditLog, CalendarDay
from zongzhi.orgs.roles import Role
from zongzhi.orgs.scoping import user_can

pytestmark = pytest.mark.django_db

SH = dt.timezone(dt.timedelta(hours=8))
START = dt.datetime(2025, 9, 26, 9, 0, tzinfo=SH)  # the Friday before the 8-day National Day holiday
REFUSED = (Conflict, PermissionDeniedError, FieldError, NotFound)
ACTIONS = [t.action for t in TRANSITIONS]
STAGE_OF_STATE = {
    CaseState.REPORTED: Stage.ACCEPT,
    CaseState.ACCEPTED: Stage.DISPATCH,
    CaseState.DISPATCHED: Stage.ACKNOWLEDGE,
    CaseState.HANDLING: Stage.HANDLE,
    CaseState.RESOLVED: Stage.REPLY,
    CaseState.REPLIED: Stage.RATE,
    CaseState.ARCHIVED: Stage.NONE,
    CaseState.DECLINED: Stage.NONE,
}
SWEEP_KIND = {
    "remind": SupervisionKind.REMINDER,
    "supervise_auto": SupervisionKind.SUPERVISION,
    "list": "listed",
}
# the moves that take a case along the loop (drawn more often than the detours)
FORWARD = {
    "accept",
    "dispatch",
    "acknowledge",
    "report_part",
    "request_extension",
    "approve_extension",
    "resolve",
    "reply",
    "rate",
    "archive",
}
# (reporter, region, resolved on site): mostly allowed, some out of scope or not entitled
REPORTERS = [
    ("operator", "A1a", False),
    ("operator", "A2a", False),
    ("township_operator", "A1b", False),
    ("grid_worker", "A1a", True),
    ("grid_worker", "A1a", False),
    ("sibling_operator", "B1a", False),
    ("operator", "B1a", False),
    ("handler", "A1a", True),
]
NOTES = st.sampled_from(["", "  ", "已处理", "情况说明：现场核实完毕", "x" * 300])


def _snapshot(case_id: int) -> tuple[Any, ...]:
    return (
        Case.objects.filter(pk=case_id).values().first(),
        CaseEvent.objects.count(),
        Supervision.objects.count(),
        list(CaseAssignment.objects.filter(case_id=case_id).order_by("pk").values()),
        CaseAttachment.objects.count(),
        AuditLog.objects.count(),
    )


def make_machine(world: Any, users: list[Any], admin: Any) -> type[RuleBasedStateMachine]:
    departments = [world.police, world.housing, world.township_office, world.other_police]
    office_handler = users[-1]
    by_kind = {
        "center": [
            world.operator,
            world.operator,
            world.director,
            world.township_operator,
            world.sibling_operator,
        ],
        "department": [
            world.handler,
            world.handler,
            office_handler,
            world.housing_handler,
            world.other_handler,
        ],
        "any": [world.operator, world.director, world.city_leader, world.handler],
    }

    class CaseMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self._atomic = transaction.atomic()
            self._atomic.__enter__()
            self._travel = time_machine.travel(START, tick=False)
            self.clock = self._travel.start()
            self.case_ids: list[int] = []
            cal_module.calendar_changed()

        def teardown(self) -> None:
            self._travel.stop()
            transaction.set_rollback(True)
            self._atomic.__exit__(None, None, None)
            cal_module.calendar_changed()  # calendar edits of the example are gone

        def now(self) -> dt.datetime:
            return dt.datetime.now(tz=SH)

        # --- rules ---------------------------------------------------------------------------------

        @initialize()
        def first_case(self) -> None:
            self.report(("operator", "A1a", False), "normal", "0201")

        @precondition(lambda self: len(self.case_ids) < 4)
        @rule(
            who=st.sampled_from(REPORTERS),
            urgency=st.sampled_from(["normal", "normal", "urgent"]),
            category=st.sampled_from(["0201", "0201", "0801", None]),
        )
        def report(self, who: tuple[str, str, bool], urgency: str, category: str | None) -> None:
            reporter, region, on_site = who
            data = ReportInput(
                channel="patrol" if on_site else "hotline",
                kind="dispute",
                title="邻里纠纷",
                description="噪音扰民，协商未果",
                category_code=category,
                urgency=urgency,
                region_code=world.r[region].code,
                resolved_on_site=on_site,
                result="当场调解" if on_site else "",
            )
            try:
                result = services.case_report(actor=getattr(world, reporter), data=data)
            except REFUSED:
                return
            self.case_ids.append(result.case.pk)

        @precondition(lambda self: bool(self.case_ids))
        @rule(index=st.integers(0, 3), moves=st.integers(1, 10), data=st.data())
        def act_plausibly(self, index: int, moves: int, data: st.DataObject) -> None:
            """A few moves the table allows, each by someone of the right kind (who may still be the
            wrong center or department, or forget the note)."""
            case_id = self.case_ids[index % len(self.case_ids)]
            for _ in range(moves):
                state = Case.objects.values_list("state", flat=True).get(pk=case_id)
                allowed = allowed_actions(state)
                if not allowed:
                    return
                forward = [t for t in allowed if t.action in FORWARD]
                if forward and data.draw(st.integers(0, 9), label="forward") < 7:
                    transition = data.draw(st.sampled_from(forward), label="transition")
                else:
                    transition = data.draw(st.sampled_from(allowed), label="transition")
                entitled = self._entitled(case_id, transition)
                if entitled and data.draw(st.integers(0, 9), label="entitled") < 8:
                    user = data.draw(st.sampled_from(entitled), label="actor")
                else:
                    user = data.draw(st.sampled_from(by_kind[transition.actor]), label="actor")
                note = data.draw(
                    st.sampled_from(["已处理", "情况说明：现场核实完毕", "已处理", ""]), label="note"
                )
                self._act(case_id, transition.action, user, note, data)

        @precondition(lambda self: bool(self.case_ids))
        @rule(
            index=st.integers(0, 3),
            action=st.sampled_from(ACTIONS),
            actor=st.integers(0, 100),
            note=NOTES,
            data=st.data(),
        )
        def act_at_random(self, index: int, action: str, actor: int, note: str, data: st.DataObject) -> None:
            """Any action, by anyone, with any note."""
            case_id = self.case_ids[index % len(self.case_ids)]
            self._act(case_id, action, users[actor % len(users)], note, data)

        def _entitled(self, case_id: int, transition: Any) -> list[Any]:
            """The users who hold the transition's permission where it is checked."""
            case = Case.objects.get(pk=case_id)
            if transition.actor == "center":
                return [u for u in users if user_can(u, transition.perm, case.owner_path)]
            if transition.actor == "department":
                if transition.action == "report_part":
                    return [office_handler]
                return [u for u in users if u.department_id and u.department_id == case.lead_department_id]
            return [u for u in users if user_can(u, transition.perm, case.region_path)]

        def _act(self, case_id: int, action: str, user: Any, note: str, data: st.DataObject) -> None:
            payload = self._payload(action, case_id, data)
            before = _snapshot(case_id)
            try:
                services.case_transition(actor=user, case_id=case_id, action=action, note=note, data=payload)
            except REFUSED:
                assert _snapshot(case_id) == before, f"refused {action} by {user} wrote something"

        @precondition(lambda self: bool(self.case_ids))
        @rule(index=st.integers(0, 3), rating=st.sampled_from(["satisfied", "unsatisfied", "meh"]))
        def public_rate(self, index: int, rating: str) -> None:
            """The reporter rates through the portal (no user: ``actor=None``)."""
            case_id = self.case_ids[index % len(self.case_ids)]
            before = _snapshot(case_id)
            try:
                services.case_transition(
                    actor=None, case_id=case_id, action="rate", data={"rating": rating, "by": "reporter"}
                )
            except REFUSED:
                assert _snapshot(case_id) == before

        @rule(hours=st.one_of(st.integers(0, 30), st.integers(30, 400)), minutes=st.integers(0, 59))
        def time_passes(self, hours: int, minutes: int) -> None:
            self.clock.shift(dt.timedelta(hours=hours, minutes=minutes))

        @rule()
        def sweep(self) -> None:
            services.sla_sweep()

        @rule()
        def sweep_twice_creates_nothing(self) -> None:
            services.sla_sweep()
            events, notices = CaseEvent.objects.count(), Supervision.objects.count()
            report = services.sla_sweep()
            assert (report.reminders, report.supervisions, report.listed, report.archived) == (0, 0, 0, 0)
            assert (CaseEvent.objects.count(), Supervision.objects.count()) == (events, notices)

        @precondition(lambda self: Supervision.objects.filter(replied_at__isnull=True).exists())
        @rule(pick=st.integers(0, 20), actor=st.integers(0, 100), text=st.sampled_from(["", "已整改"]))
        def reply_to_supervision(self, pick: int, actor: int, text: str) -> None:
            open_ids = list(
                Supervision.objects.filter(replied_at__isnull=True)
                .order_by("pk")
                .values_list("pk", flat=True)
            )
            notice_id = open_ids[pick % len(open_ids)]
            user = users[actor % len(users)]
            case_id = Supervision.objects.get(pk=notice_id).case_id
            before = _snapshot(case_id)
            try:
                services.supervision_reply(actor=user, supervision_id=notice_id, text=text)
            except REFUSED:
                assert _snapshot(case_id) == before

        @rule(offset=st.integers(0, 30), is_workday=st.booleans())
        def calendar_edit_and_recompute(self, offset: int, is_workday: bool) -> None:
            day = self.now().date() + dt.timedelta(days=offset)
            cal_module.calendar_day_set(actor=admin, day=day, is_workday=is_workday, name="人工调整")
            cal_module.calendar_changed()  # the on_commit hook, run by hand inside the savepoint
            services.deadlines_recompute(actor=admin)

        # --- helpers -----------------------------------------------------------------------------------

        def _payload(self, action: str, case_id: int, data: st.DataObject) -> dict[str, Any]:
            now = self.now()
            draw = data.draw
            if action == "dispatch":
                payload: dict[str, Any] = {}
                lead = draw(st.sampled_from([None, world.police, world.police, *departments, 987654]))
                if lead is not None:
                    payload["lead_department_id"] = getattr(lead, "pk", lead)
                if draw(st.booleans()):
                    payload["assisting_department_ids"] = [
                        d.pk for d in draw(st.lists(st.sampled_from(departments), max_size=2, unique=True))
                    ]
                if draw(st.integers(0, 3)) == 0:
                    hours = draw(st.integers(-5, 400))
                    payload["handle_due_at"] = (now + dt.timedelta(hours=hours)).isoformat()
                return payload
            if action in ("request_extension", "approve_extension"):
                if action == "approve_extension" and draw(st.booleans()):
                    return {}
                due = Case.objects.values_list("due_at", flat=True).get(pk=case_id) or now
                hours = draw(st.integers(-10, 300))
                return {"until": (due + dt.timedelta(hours=hours)).isoformat()}
            if action == "rate":
                return {
                    "rating": draw(
                        st.sampled_from(["satisfied", "basically_satisfied", "unsatisfied", "bad"])
                    )
                }
            if action == "merge":
                others = [c for c in self.case_ids if c != case_id] or [case_id]
                master = draw(st.sampled_from([*others, "ZZ000", None]))
                if master is None:
                    return {}
                if isinstance(master, int) and draw(st.booleans()):
                    return {"master": Case.objects.values_list("number", flat=True).get(pk=master)}
                return {"master": master}
            if action == "archive":
                return {"force": draw(st.booleans())}
            if action == "resolve":
                return {"override_parts": draw(st.booleans())}
            if action == "supervise":
                return {"kind": draw(st.sampled_from([*SupervisionKind.values, "bogus"]))}
            if action == "reply":
                return {"method": "phone"}
            return {}

        # --- invariants ----------------------------------------------------------------------------------

        @invariant()
        def cases_are_consistent(self) -> None:
            if not self.case_ids:
                return
            now = self.now()
            is_workday = cal_module.current_calendar().is_workday
            events: dict[int, list[CaseEvent]] = {}
            for e in CaseEvent.objects.filter(case_id__in=self.case_ids).order_by("case_id", "seq"):
                events.setdefault(e.case_id, []).append(e)
            notices = list(
                Supervision.objects.filter(case_id__in=self.case_ids, is_manual=False).values_list(
                    "case_id", "stage_seq", "kind"
                )
            )
            duplicates = [k for k, n in Counter(notices).items() if n > 1]
            assert not duplicates, f"automatic notices twice: {duplicates}"
            for case in Case.objects.filter(pk__in=self.case_ids):
                timeline = events.get(case.pk, [])
                self._check_timeline(case, timeline)
                self._check_clock(case, now, is_workday)
                sweep_events = Counter(
                    (e.data.get("stage_seq"), e.action) for e in timeline if e.action in SWEEP_KIND
                )
                for (stage_seq, action), n in sweep_events.items():
                    assert n == 1, f"{case.number}: {action} raised {n} times in stage {stage_seq}"
                    assert (case.pk, stage_seq, SWEEP_KIND[action]) in notices, f"{action} without its notice"

        def _check_timeline(self, case: Case, timeline: list[CaseEvent]) -> None:
            assert case.state in CaseState.values
            assert [e.seq for e in timeline] == list(range(1, case.last_event_seq + 1))
            assert timeline and timeline[0].action in ("report", "resolve_on_site")
            assert timeline[0].from_state == CaseState.REPORTED
            for prev, nxt in pairwise(timeline):
                assert nxt.from_state == prev.to_state, (
                    f"{case.number}: #{nxt.seq} {nxt.action} starts elsewhere"
                )
                assert nxt.at >= prev.at
            assert timeline[-1].to_state == case.state
            if case.state in (CaseState.DISPATCHED, CaseState.HANDLING):
                leads = CaseAssignment.objects.filter(case=case, is_current=True, role="lead")
                assert [a.department_id for a in leads] == [case.lead_department_id]

        def _check_clock(self, case: Case, now: dt.datetime, is_workday: Any) -> None:
            assert case.stage == STAGE_OF_STATE[case.state], (case.state, case.stage)
            if case.state not in OPEN_STATES:
                assert case.next_sla_at is None and case.due_at is None
                if case.state == CaseState.ARCHIVED:
                    assert case.rating and case.archived_at is not None
                if case.state == CaseState.DECLINED:
                    assert case.decline_reason
                return
            assert case.due_at is not None and case.remind_at is not None and case.list_at is not None
            assert case.remind_at <= case.due_at <= case.list_at
            if case.stage != Stage.HANDLE:  # a handling deadline is fixed at dispatch: it may be past
                assert case.due_at >= case.stage_started_at
            assert case.stage_started_at <= now
            policy = deadlines.StagePolicy.decode(case.stage_policy)
            if policy is not None and not case.due_overridden:
                start = (
                    services._handle_clock_start(case)
                    if case.stage == Stage.HANDLE
                    else case.stage_started_at
                )
                assert case.due_at == deadlines.due_at(start, policy, is_workday), case.number
            if case.stage == Stage.HANDLE:
                assert case.handle_due_at == case.due_at
            if case.stage == Stage.RATE:
                assert case.next_sla_at == case.due_at and case.sla_level == 0
            else:
                t = deadlines.Thresholds(due_at=case.due_at, remind_at=case.remind_at, list_at=case.list_at)
                assert case.next_sla_at == deadlines.next_check_at(case.sla_level, t)

    return CaseMachine


def test_the_loop_keeps_its_invariants_under_random_actions(world):  # type: ignore[no-untyped-def]
    office_handler = make_user(
        Role.DEPARTMENT_HANDLER, world.r["A1"], department=world.township_office, username="office_a1"
    )
    admin = make_user(username="calendar_admin")
    users = [
        world.operator,
        world.township_operator,
        world.director,
        world.handler,
        world.housing_handler,
        world.other_handler,
        world.sibling_operator,
        world.city_leader,
        world.grid_worker,
        office_handler,
    ]
    cal_module.calendar_seed(cal_module.chinesecalendar_days())
    assert CalendarDay.objects.exists()
    machine = make_machine(world, users, admin)
    run_state_machine_as_test(
        machine,
        settings=settings(
            max_examples=int(__import__("os").environ.get("ZZ_STATEFUL_EXAMPLES", "25")),
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
