"""A hand-built month of work (March 2026) in county A, driven through the real services at chosen
times, for the KPI tests. Every figure the tests expect is worked out by hand from this list.

Category 0201 (邻里纠纷): accept 1 h, dispatch 24 h, acknowledge 24 h, reply 24 h; handling
deadlines are set explicitly at dispatch. Regions: township A1 (villages A1a, A1b), township A2
(village A2a). Reported by county A's operator (owner: county A) unless said otherwise.

=====  ======  =========  ========  ===========================================================
case   where   channel    kind      what happens (local time, 2026)
=====  ======  =========  ========  ===========================================================
c1     A1a     hotline    appeal    03-02 09:00 report · 09:30 accept · 10:00 dispatch police
                                    (handle due 03-06 18:00) · 11:00 acknowledge · 03-04 10:00
                                    resolve · 12:00 reply · 03-05 09:00 rated satisfied
c2     A1a     hotline    appeal    03-03 09:00 report · 11:00 accept (LATE, due 10:00) · 12:00
                                    dispatch housing (due 03-10 18:00) · 03-05 13:00 acknowledge
                                    (LATE, due 03-04 12:00) · 03-09 reminder · 03-11 09:00
                                    listed supervision · 03-12 10:00 resolve (LATE) · 12:00 reply
                                    · 03-13 09:00 listed supervision replied (LATE, due 03-12
                                    09:00) · 03-13 10:00 rated unsatisfied → reopened (handling)
c3     A1a     web        appeal    03-05 09:00 report · 09:10 accept · 10:00 dispatch police ·
                                    15:00 police returns it · 03-06 09:00 dispatch housing (due
                                    03-13 18:00) · 10:00 acknowledge · 03-09 10:00 resolve ·
                                    11:00 reply · 03-10 09:00 rated basically satisfied
c4     A1a     patrol     event     03-10 10:00 resolved on site by the grid worker, inside grid g1
c5     A1a     hotline    dispute   03-20 09:00 report · 09:30 accept · never dispatched ·
                                    03-25 09:00 supervision, never replied
c6     A1a     hotline    appeal    03-31 23:00 report · 04-01 01:00 accept (LATE)
c7     A1a     hotline    appeal    02-25 09:00 report · 09:30 accept · 10:00 dispatch police
                                    (due 03-05 18:00) · 11:00 acknowledge · 03-06 10:00 resolve
                                    (LATE) — created in February, handling due in March
c8     A1a     hotline    appeal    03-15 09:00 report · 09:20 declined
c9     A1a     hotline    dispute   03-12 09:00 reported by township A1's operator · 10:00
                                    escalated to county A · 10:30 accept · 11:00 dispatch police
                                    (due 03-19 18:00) · 12:00 acknowledge · 03-14 10:00 resolve
                                    (resolved at county level)
c10    A1a     patrol     dispute   03-16 10:00 resolved on site by the grid worker (owner:
                                    township A1, the nearest staffed center)
c11    A2a     hotline    appeal    03-09 09:00 report · 09:20 accept · 10:00 dispatch police
                                    (due 03-16 18:00) · 03-10 11:00 acknowledge (LATE, due
                                    03-10 10:00) · 03-17 09:00 supervision · 12:00 replied · still
                                    handling
c12    A2a     hotline    appeal    04-02 09:00 report (April: outside March)
c13    A1a     hotline    dispute   03-18 09:00 report · 09:10 accept · 10:00 dispatch police
                                    (due 04-20 18:00) · 11:00 acknowledge · dispute record ·
                                    03-19 09:00 withdrawn by the applicant
=====  ======  =========  ========  ===========================================================

Grids: g1 (A1a, with a boundary; c4 lies in it; the grid worker is its member), g2 (A1b), g3
(A2a). Special-population members (monthly visits, grace 0): m1 and m2 in A1a, supervised by the
grid worker; m1 visited 03-10, m2 visited 02-27 only.

Dispute records (disputes app) are made for c5, c9, c10 and c13; c10's record says "settled on
the spot" (当场化解, village level); c9 was closed by the police without a mediation agreement.

The figures are evaluated as of 2026-04-10 12:00 (``AS_OF``), after ``facts_refresh``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine

from tests.factories import make_grid
from zongzhi.analytics.facts import facts_refresh
from zongzhi.cases import services as case_services
from zongzhi.cases.tests.conftest import World, world  # noqa: F401 - the fixture
from zongzhi.cases.tests.drive import act, report
from zongzhi.orgs import services as org_services

TZ = ZoneInfo("Asia/Shanghai")
AS_OF = dt.datetime(2026, 4, 10, 12, 0, tzinfo=TZ)
SQUARE = {
    "type": "Polygon",
    "coordinates": [[[120.15, 30.27], [120.16, 30.27], [120.16, 30.28], [120.15, 30.28], [120.15, 30.27]]],
}


def t(month: int, day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=TZ)


def at(moment: dt.datetime, fn: Any, *args: Any, **kwargs: Any) -> Any:
    with time_machine.travel(moment, tick=False):
        return fn(*args, **kwargs)


def citizen_id(serial: int) -> str:
    body = f"33010219800101{serial:03d}"
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    check = "10X98765432"[sum(int(d) * w for d, w in zip(body, weights, strict=True)) % 11]
    return body + check


@dataclass
class Month:
    w: World
    c: dict[str, Any]
    grids: dict[str, Any]
    members: dict[str, Any]


def build_month(w: World) -> Month:
    c: dict[str, Any] = {}
    police, housing = w.police.pk, w.housing.pk

    def rep(key: str, when: dt.datetime, **over: Any) -> None:
        fields = {"kind": "appeal", "reporter_phone": f"1390000{len(c):04d}"}
        fields.update(over)
        c[key] = at(when, report, w, **fields)

    def step(key: str, when: dt.datetime, who: Any, action: str, note: str = "", **data: Any) -> None:
        at(when, act, w, who, c[key], action, note, **data)

    # grids first, so that c4's point falls in g1
    g1 = make_grid(w.r["A1a"], "一网格")
    from zongzhi.geo import services as geo_services

    geo_services.grid_boundary_set(actor=None, grid=g1, geojson=SQUARE)
    g2 = make_grid(w.r["A1b"], "二网格")
    g3 = make_grid(w.r["A2a"], "三网格")
    org_services.grid_member_add(actor=None, grid=g1, user=w.grid_worker)

    rep("c1", t(3, 2, 9))
    step("c1", t(3, 2, 9, 30), "operator", "accept")
    step(
        "c1",
        t(3, 2, 10),
        "operator",
        "dispatch",
        lead_department_id=police,
        handle_due_at=t(3, 6, 18).isoformat(),
    )
    step("c1", t(3, 2, 11), "handler", "acknowledge")
    step("c1", t(3, 4, 10), "handler", "resolve", "已调解")
    step("c1", t(3, 4, 12), "operator", "reply", "电话告知")
    step("c1", t(3, 5, 9), "operator", "rate", rating="satisfied")

    rep("c2", t(3, 3, 9))
    step("c2", t(3, 3, 11), "operator", "accept")
    step(
        "c2",
        t(3, 3, 12),
        "operator",
        "dispatch",
        lead_department_id=housing,
        handle_due_at=t(3, 10, 18).isoformat(),
    )
    step("c2", t(3, 5, 13), "housing_handler", "acknowledge")
    step("c2", t(3, 9, 9), "director", "supervise", "请抓紧", kind="reminder")
    step("c2", t(3, 11, 9), "director", "supervise", "挂牌督办", kind="listed")
    step("c2", t(3, 12, 10), "housing_handler", "resolve", "已维修")
    step("c2", t(3, 12, 12), "operator", "reply", "电话告知")
    listed = c["c2"].supervisions.get(kind="listed")
    at(
        t(3, 13, 9),
        case_services.supervision_reply,
        actor=w.housing_handler,
        supervision_id=listed.pk,
        text="已办结",
    )
    step("c2", t(3, 13, 10), "operator", "rate", rating="unsatisfied")

    rep("c3", t(3, 5, 9), channel="web")
    step("c3", t(3, 5, 9, 10), "operator", "accept")
    step(
        "c3",
        t(3, 5, 10),
        "operator",
        "dispatch",
        lead_department_id=police,
        handle_due_at=t(3, 12, 18).isoformat(),
    )
    step("c3", t(3, 5, 15), "handler", "return", "不属于本单位职责")
    step(
        "c3",
        t(3, 6, 9),
        "operator",
        "dispatch",
        lead_department_id=housing,
        handle_due_at=t(3, 13, 18).isoformat(),
    )
    step("c3", t(3, 6, 10), "housing_handler", "acknowledge")
    step("c3", t(3, 9, 10), "housing_handler", "resolve", "已处理")
    step("c3", t(3, 9, 11), "operator", "reply", "电话告知")
    step("c3", t(3, 10, 9), "operator", "rate", rating="basically_satisfied")

    rep(
        "c4",
        t(3, 10, 10),
        actor="grid_worker",
        channel="patrol",
        kind="event",
        reporter_phone="",
        lon=120.155,
        lat=30.275,
        resolved_on_site=True,
        result="已当场劝离",
    )

    rep("c5", t(3, 20, 9), kind="dispute")
    step("c5", t(3, 20, 9, 30), "operator", "accept")
    step("c5", t(3, 25, 9), "director", "supervise", "请尽快分流", kind="supervision")

    rep("c6", t(3, 31, 23))
    step("c6", t(4, 1, 1), "operator", "accept")

    rep("c7", t(2, 25, 9))
    step("c7", t(2, 25, 9, 30), "operator", "accept")
    step(
        "c7",
        t(2, 25, 10),
        "operator",
        "dispatch",
        lead_department_id=police,
        handle_due_at=t(3, 5, 18).isoformat(),
    )
    step("c7", t(2, 25, 11), "handler", "acknowledge")
    step("c7", t(3, 6, 10), "handler", "resolve", "已处理")

    rep("c8", t(3, 15, 9))
    step("c8", t(3, 15, 9, 20), "operator", "decline", "不属于受理范围")

    rep("c9", t(3, 12, 9), kind="dispute", actor="township_operator")
    step("c9", t(3, 12, 10), "township_operator", "escalate", "需区级协调")
    step("c9", t(3, 12, 10, 30), "operator", "accept")
    step(
        "c9",
        t(3, 12, 11),
        "operator",
        "dispatch",
        lead_department_id=police,
        handle_due_at=t(3, 19, 18).isoformat(),
    )
    step("c9", t(3, 12, 12), "handler", "acknowledge")
    step("c9", t(3, 14, 10), "handler", "resolve", "调解成功")

    rep(
        "c10",
        t(3, 16, 10),
        actor="grid_worker",
        channel="patrol",
        kind="dispute",
        reporter_phone="",
        resolved_on_site=True,
        result="当场调解",
    )

    rep("c11", t(3, 9, 9), region_code=w.r["A2a"].code)
    step("c11", t(3, 9, 9, 20), "operator", "accept")
    step(
        "c11",
        t(3, 9, 10),
        "operator",
        "dispatch",
        lead_department_id=police,
        handle_due_at=t(3, 16, 18).isoformat(),
    )
    step("c11", t(3, 10, 11), "handler", "acknowledge")
    step("c11", t(3, 17, 9), "director", "supervise", "请加快办理", kind="supervision")
    notice = c["c11"].supervisions.get()
    at(
        t(3, 17, 12),
        case_services.supervision_reply,
        actor=w.handler,
        supervision_id=notice.pk,
        text="正在协调",
    )

    rep("c12", t(4, 2, 9), region_code=w.r["A2a"].code)

    # c13: a dispute withdrawn by the applicant (recorded after its record was made)
    rep("c13", t(3, 18, 9), kind="dispute")
    step("c13", t(3, 18, 9, 10), "operator", "accept")
    step(
        "c13",
        t(3, 18, 10),
        "operator",
        "dispatch",
        lead_department_id=police,
        handle_due_at=t(4, 20, 18).isoformat(),
    )
    step("c13", t(3, 18, 11), "handler", "acknowledge")
    _dispute_record(c["c13"], t(3, 18, 12))
    step("c13", t(3, 19, 9), None, "withdraw", "申请人书面撤回")  # recorded by the system for the center
    # the dispute records (建档) of the other disputes, after the fact: c10 was settled on the spot
    for key in ("c5", "c9", "c10"):
        _dispute_record(c[key], t(4, 3, 9))

    members = _members(w)
    at(AS_OF, facts_refresh, now=AS_OF)
    return Month(w=w, c=c, grids={"g1": g1, "g2": g2, "g3": g3}, members=members)


def _dispute_record(case: Any, when: dt.datetime) -> None:
    from zongzhi.disputes import services as dispute_services
    from zongzhi.disputes.models import DisputeType

    DisputeType.objects.get_or_create(
        code="neighbour", defaults={"name": "邻里纠纷", "category_code": "0201"}
    )
    parties = [
        dispute_services.PartyInput(role="applicant", name="张三"),
        dispute_services.PartyInput(role="respondent", name="李四"),
    ]
    at(
        when,
        dispute_services.dispute_create_for_case,
        actor=None,
        case_id=case.pk,
        dispute_type="neighbour",
        parties=parties,
    )


def _members(w: World) -> dict[str, Any]:
    from zongzhi.people import services as people_services
    from zongzhi.people.records import ResidentInput

    out: dict[str, Any] = {}
    for i, (key, visited) in enumerate((("m1", t(3, 10, 15)), ("m2", t(2, 27, 15)))):
        resident = at(
            t(1, 1, 9),
            people_services.resident_create,
            actor=None,
            data=ResidentInput(id_type="id_card", id_number=citizen_id(i + 1), name=f"居民{i}"),
            region=w.r["A1a"],
        )
        member = at(
            t(1, 1, 9),
            people_services.membership_enrol,
            actor=None,
            resident=resident,
            group="released_prisoner",
            data=people_services.MembershipInput(
                starts_on=dt.date(2026, 1, 1),
                supervisor=w.grid_worker,
                details={"crime": "盗窃罪", "released_on": "2025-12-01"},
            ),
        )
        assert member.frequency == "monthly" and member.grace_days == 0
        at(
            visited,
            people_services.visit_record,
            actor=w.grid_worker,
            data=people_services.VisitInput(visited_at=visited, findings="情况稳定"),
            membership=member,
        )
        out[key] = member
    return out


@pytest.fixture
def month(world: World) -> Month:  # noqa: F811
    return build_month(world)
