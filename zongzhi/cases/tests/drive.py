"""Test helpers for the closed loop: report a case and drive it to any state through the services.

Used by test_actions, test_permissions and test_concurrency. Everything goes through
``services.case_report`` / ``services.case_transition`` (the one write path), never by writing
``Case.state`` directly, so a case in state X got there the way a real one would.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from typing import Any

from django.db import OperationalError, connection, connections

from zongzhi.cases import services
from zongzhi.cases.models import Case, CaseAssignment, CaseEvent, CaseState, Supervision

# The shortest way from ``reported`` to each state: (action, who, note, data).
# ``who`` names an attribute of the ``world`` fixture.
_STEPS: dict[str, tuple[str, str, str, dict[str, Any]]] = {
    "accept": ("accept", "operator", "", {}),
    "decline": ("decline", "operator", "不属于受理范围", {}),
    "dispatch": ("dispatch", "operator", "", {"lead_department_id": None, "assisting_department_ids": []}),
    "acknowledge": ("acknowledge", "handler", "", {}),
    "resolve": ("resolve", "handler", "已上门调解，双方达成一致", {}),
    "reply": ("reply", "operator", "电话告知办理结果", {"method": "phone"}),
    "rate": ("rate", "operator", "", {"rating": "satisfied"}),
    "archive": ("archive", "operator", "", {}),
}
PATHS: dict[str, list[str]] = {
    CaseState.REPORTED: [],
    CaseState.ACCEPTED: ["accept"],
    CaseState.DISPATCHED: ["accept", "dispatch"],
    CaseState.HANDLING: ["accept", "dispatch", "acknowledge"],
    CaseState.RESOLVED: ["accept", "dispatch", "acknowledge", "resolve"],
    CaseState.REPLIED: ["accept", "dispatch", "acknowledge", "resolve", "reply"],
    CaseState.ARCHIVED: ["accept", "dispatch", "acknowledge", "resolve", "reply", "rate", "archive"],
    CaseState.DECLINED: ["decline"],
}


def report(world: Any, *, actor: Any = "operator", **over: Any) -> Case:
    """A case registered by ``actor`` (a ``world`` attribute name, a user, or None for the public)
    in village A1a, category 0201 (邻里纠纷), unless overridden."""
    user = getattr(world, actor) if isinstance(actor, str) else actor
    fields: dict[str, Any] = {
        "channel": "hotline",
        "kind": "dispute",
        "title": "楼上漏水纠纷",
        "description": "楼上住户漏水，协商未果",
        "category_code": "0201",
        "region_code": world.r["A1a"].code,
        "reporter_name": "张三",
        "reporter_phone": "13812345678",
    }
    fields.update(over)
    return services.case_report(actor=user, data=services.ReportInput(**fields)).case


def act(world: Any, who: Any, case: Case | int, action: str, note: str = "", **data: Any) -> Case:
    """``case_transition`` as ``who`` (a ``world`` attribute name or a user)."""
    user = getattr(world, who) if isinstance(who, str) else who
    case_id = case if isinstance(case, int) else case.pk
    return services.case_transition(actor=user, case_id=case_id, action=action, note=note, data=data)


def drive_to(
    world: Any,
    state: str,
    case: Case | None = None,
    *,
    lead: Any = None,
    housing_assists: bool = False,
    **report_over: Any,
) -> Case:
    """A case brought to ``state`` through the services: dispatched to ``lead`` (default the police),
    with no assisting department — or, with ``housing_assists``, with the housing bureau assisting,
    which reports its part right after the dispatch. Returns the fresh row."""
    case = case or report(world, **report_over)
    lead = lead or world.police
    for step in PATHS[state]:
        action, who, note, data = _STEPS[step]
        if action == "dispatch":
            data = {**data, "lead_department_id": lead.pk}
            if housing_assists:
                data["assisting_department_ids"] = [world.housing.pk]
        act(world, who, case, action, note, **data)
        if action == "dispatch" and housing_assists:
            act(world, "housing_handler", case, "report_part", "协办部分已完成")
    case = Case.objects.get(pk=case.pk)
    assert case.state == state, (case.state, state)
    return case


def snapshot(case_id: int) -> dict[str, Any]:
    """Everything a write could touch: the case row, its timeline, assignments and supervisions."""
    return {
        "case": Case.objects.filter(pk=case_id).values().get(),
        "events": list(CaseEvent.objects.filter(case_id=case_id).order_by("seq").values()),
        "assignments": list(CaseAssignment.objects.filter(case_id=case_id).order_by("pk").values()),
        "supervisions": list(Supervision.objects.filter(case_id=case_id).order_by("pk").values()),
    }


def api_act(world: Any, user: Any, case_id: int, action: str, note: str = "", **data: Any) -> Any:
    """POST /cases/{id}/actions/{action} as ``user``."""
    return world.api(user, "post", f"/cases/{case_id}/actions/{action}", {"note": note, "data": data})


# --- threads ------------------------------------------------------------------------------------------------


def _with_busy_retry(fn: Callable[[], Any]) -> Any:
    deadline = time.monotonic() + 20
    while True:
        try:
            return fn()
        except OperationalError as exc:
            locked = "locked" in str(exc)
            if connection.vendor != "sqlite" or not locked or time.monotonic() > deadline:
                raise
            time.sleep(random.uniform(0.001, 0.01))


def race(*calls: Callable[[], Any]) -> list[Any]:
    """Run ``calls`` in threads released at the same moment; return each one's result or exception."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(i: int, fn: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout=10)
            results[i] = _with_busy_retry(fn)
        except BaseException as exc:
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, fn)) for i, fn in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    return results
