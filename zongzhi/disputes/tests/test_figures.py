"""化解率 and 就地化解率 and the monthly table (矛盾纠纷排查信息统计表) on a hand-built data set, with
the expected values computed by hand from the definitions in docs/disputes.md; the same figures on
screen, through the API and in the .xlsx export (read back with openpyxl).

The data set (November 2026; villages 甲一社区 A1a and 甲一村 A1b of 甲一街道 A1, 甲二社区 A2a of
甲二街道 A2, all in 甲区 A; 乙一村 B1a in 乙区 B):

====  =====  =================================================  =========================
 no.  where  what happened                                      counts as (A, as of 12-05)
====  =====  =================================================  =========================
 D1   A1a    village mediation → agreement → replied, archived  resolved, locally
 D2   A1a    grid worker settled it on the spot (当场化解)        resolved, locally
 D3   A1a    high risk, escalated to the township → agreement   resolved, locally
 D4   A1b    major, escalated twice to the county → agreement   resolved, NOT locally
 D5   A1b    mediation → withdrawn                              withdrawn (out of the base)
 D6   A1b    mediation failed → transferred to litigation       unresolved (transferred)
 D7   A2a    accepted, not yet mediated                         unresolved
 D8   A2a    agreement, not performed → reopened                unresolved
 D9   A1a    registered in October → agreement                  not in the period
 D10  A1a    declined (不予受理)                                 not counted at all
 D11  B1a    registered in county B                             not in region A
 D12  A1a    registered 11-30 20:00, agreement on 12-02         resolved, locally (as of 12-05);
                                                                unresolved as of 12-01
====  =====  =================================================  =========================
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from openpyxl import load_workbook

from tests.factories import make_department, make_user
from zongzhi.disputes import selectors
from zongzhi.disputes.models import Dispute, DisputeType
from zongzhi.orgs.roles import Role

from .builders import World, act, intake, make_mediator

pytestmark = pytest.mark.django_db

TZ = ZoneInfo("Asia/Shanghai")
NOVEMBER = (dt.datetime(2026, 11, 1, tzinfo=TZ), dt.datetime(2026, 12, 1, tzinfo=TZ))
AS_OF = dt.datetime(2026, 12, 5, 12, 0, tzinfo=TZ)


def at(day: tuple[int, int], hour: int = 9, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, day[0], day[1], hour, minute, tzinfo=TZ)


def on(when: dt.datetime, fn: Callable[[], Any]) -> Any:
    with time_machine.travel(when, tick=False):
        return fn()


def mediate_to_agreement(
    user: Any, d: Dispute, mediator: Any, when: dt.datetime, *, deadline: dt.date | None = None
) -> None:
    on(
        when,
        lambda: act(
            user, d, "mediate", mediation_type="elders", lead_mediator_id=mediator.pk, mediator_ids=[]
        ),
    )
    later = when + dt.timedelta(hours=1)
    on(
        later,
        lambda: act(
            user,
            d,
            "mediation_session",
            "双方陈述",
            held_at=later.isoformat(),
            place="调解室",
            attendees="双方当事人",
        ),
    )
    on(
        later + dt.timedelta(minutes=30),
        lambda: act(
            user,
            d,
            "mediation_agree",
            facts="事实",
            terms="条款",
            performance_deadline=deadline.isoformat() if deadline else None,
        ),
    )


def build(world: World) -> dict[str, Dispute]:
    r = world.r
    a1a, a1b, a2a = r["A1a"], r["A1b"], r["A2a"]
    op, sib, town, county = world.village_op, world.sibling_op, world.township_op, world.county_op
    a2a_op = make_user(Role.CENTER_OPERATOR, a2a, username="op_a2a")
    a2a_mediator = make_mediator(
        a2a, "孙调解", make_department(a2a, "甲二社区人民调解委员会", "village_committee")
    )
    judge = make_mediator(r["A"], "钱法官", world.court, body="court")
    d: dict[str, Dispute] = {}

    d["D1"] = on(at((11, 3)), lambda: intake(op, a1a, dispute_type="neighbour"))
    mediate_to_agreement(op, d["D1"], world.mediator, at((11, 3), 10))
    on(at((11, 4)), lambda: act(op, d["D1"], "reply", "电话告知", method="phone"))
    on(at((11, 4), 10), lambda: act(op, d["D1"], "rate", rating="satisfied"))
    on(at((11, 4), 11), lambda: act(op, d["D1"], "archive"))

    d["D2"] = on(
        at((11, 4)),
        lambda: intake(
            world.grid_worker, a1a, resolved_on_site=True, result="当场劝解，双方和好", channel="patrol"
        ),
    )

    d["D3"] = on(
        at((11, 5)), lambda: intake(op, a1a, dispute_type="family", risk_level="high", flags=["threat"])
    )
    on(at((11, 5), 10), lambda: act(op, d["D3"], "escalate", "当事人扬言报复，村级难以化解"))
    on(at((11, 5), 11), lambda: act(town, d["D3"], "accept"))
    mediate_to_agreement(town, d["D3"], world.township_mediator, at((11, 6)))

    d["D4"] = on(
        at((11, 6)),
        lambda: intake(sib, a1b, dispute_type="labour", risk_level="major", people_count=6, amount="42000"),
    )
    on(at((11, 6), 10), lambda: act(sib, d["D4"], "escalate", "重大风险，报街道"))
    on(at((11, 6), 11), lambda: act(town, d["D4"], "escalate", "涉及多部门，报区"))
    on(at((11, 6), 12), lambda: act(county, d["D4"], "accept"))
    mediate_to_agreement(county, d["D4"], judge, at((11, 7)))

    d["D5"] = on(at((11, 7)), lambda: intake(sib, a1b, dispute_type="neighbour"))
    on(
        at((11, 7), 10),
        lambda: act(
            sib, d["D5"], "mediate", mediation_type="petition", lead_mediator_id=world.township_mediator.pk
        ),
    )
    on(at((11, 7), 11), lambda: act(sib, d["D5"], "withdraw", "申请人撤回"))

    d["D6"] = on(at((11, 8)), lambda: intake(sib, a1b, dispute_type="debt", risk_level="medium"))
    on(
        at((11, 8), 10),
        lambda: act(
            sib, d["D6"], "mediate", mediation_type="petition", lead_mediator_id=world.township_mediator.pk
        ),
    )
    on(at((11, 8), 11), lambda: act(sib, d["D6"], "mediation_fail", "被申请人拒绝调解"))
    on(
        at((11, 8), 12),
        lambda: act(
            sib, d["D6"], "transfer", "引导诉讼", transfer_to="litigation", receiving_body="甲区人民法院"
        ),
    )

    d["D7"] = on(at((11, 9)), lambda: intake(a2a_op, a2a, dispute_type="consumer"))

    d["D8"] = on(at((11, 10)), lambda: intake(a2a_op, a2a, dispute_type="neighbour"))
    mediate_to_agreement(a2a_op, d["D8"], a2a_mediator, at((11, 10), 10), deadline=dt.date(2026, 11, 15))
    on(at((11, 16)), lambda: act(a2a_op, d["D8"], "followup", "对方未付款", performance="not_performed"))

    d["D9"] = on(at((10, 20)), lambda: intake(op, a1a))
    mediate_to_agreement(op, d["D9"], world.mediator, at((10, 20), 10))

    d["D10"] = on(at((11, 11)), lambda: intake(op, a1a, accept=False))
    on(at((11, 11), 10), lambda: act(op, d["D10"], "decline", "不属于调解范围"))

    d["D11"] = on(at((11, 12)), lambda: intake(world.cousin_op, r["B1a"]))

    d["D12"] = on(at((11, 30), 20), lambda: intake(op, a1a))
    mediate_to_agreement(op, d["D12"], world.mediator, at((12, 2), 9))
    return d


@pytest.fixture
def data(world: World) -> dict[str, Dispute]:
    return build(world)


def test_the_data_set_is_what_the_table_in_the_docstring_says(world, data):
    got = {
        k: (v.case.state, v.outcome, v.resolved_level)
        for k, v in ((k, Dispute.objects.select_related("case").get(pk=v.pk)) for k, v in data.items())
    }
    assert got == {
        "D1": ("archived", "agreement", "village"),
        "D2": ("resolved", "on_site", "village"),
        "D3": ("resolved", "agreement", "township"),
        "D4": ("resolved", "agreement", "county"),
        "D5": ("resolved", "withdrawn", "village"),
        "D6": ("resolved", "transferred", "village"),
        "D7": ("accepted", "", ""),
        "D8": ("accepted", "", ""),
        "D9": ("resolved", "agreement", "village"),
        "D10": ("declined", "", ""),
        "D11": ("accepted", "", ""),
        "D12": ("resolved", "agreement", "village"),
    }


def test_rates_of_the_county(world, data):
    f = selectors.dispute_rates(world.county_op, world.r["A"], *NOVEMBER, as_of=AS_OF)
    # total: D1–D8, D12 = 9; withdrawn: D5; base 8; resolved: D1 D2 D3 D4 D12; locally: D1 D2 D3 D12
    assert (f.total, f.withdrawn, f.denominator, f.resolved, f.resolved_locally) == (9, 1, 8, 5, 4)
    assert f.resolution_rate == Decimal("62.5")  # 5 / 8
    assert f.local_resolution_rate == Decimal("50.0")  # 4 / 8


def test_rates_count_what_was_resolved_by_the_moment_asked(world, data):
    f = selectors.dispute_rates(world.county_op, world.r["A"], *NOVEMBER, as_of=NOVEMBER[1])
    # D12 is reached only on 12-02
    assert (f.total, f.withdrawn, f.resolved, f.resolved_locally) == (9, 1, 4, 3)
    assert (f.resolution_rate, f.local_resolution_rate) == (Decimal("50.0"), Decimal("37.5"))  # 4/8, 3/8


def test_rates_of_a_township_and_of_a_village_user(world, data):
    f = selectors.dispute_rates(world.county_op, world.r["A1"], *NOVEMBER, as_of=AS_OF)
    # D1–D6, D12 = 7; base 6; resolved 5; locally 4
    assert (f.total, f.denominator, f.resolved, f.resolved_locally) == (7, 6, 5, 4)
    assert (f.resolution_rate, f.local_resolution_rate) == (Decimal("83.3"), Decimal("66.7"))  # 5/6, 4/6
    # the village's own staff count only what they see: D1, D2, D3 (escalated from here), D12
    f = selectors.dispute_rates(world.village_op, world.r["A1"], *NOVEMBER, as_of=AS_OF)
    assert (f.total, f.resolved, f.resolved_locally, f.resolution_rate) == (4, 4, 4, Decimal("100.0"))
    # a period with nothing in it: no rate at all (not 0 %)
    empty = selectors.dispute_rates(world.county_op, world.r["A"], at((9, 1)), at((9, 30)), as_of=AS_OF)
    assert (empty.total, empty.resolution_rate, empty.local_resolution_rate) == (0, None, None)


def test_rates_through_the_api(world, data):
    query = f"/disputes/stats/rates?region={world.r['A'].code}&start=2026-11-01&end=2026-11-30&as_of=2026-12-05T12:00:00%2B08:00"
    res = world.api(world.county_op, "get", query)
    assert res.status_code == 200, res.content.decode()
    body = res.json()
    assert (
        body["total"],
        body["withdrawn"],
        body["denominator"],
        body["resolved"],
        body["resolved_locally"],
    ) == (9, 1, 8, 5, 4)
    assert (Decimal(str(body["resolution_rate"])), Decimal(str(body["local_resolution_rate"]))) == (
        Decimal("62.5"),
        Decimal("50.0"),
    )
    bad = world.api(world.county_op, "get", "/disputes/stats/rates?start=2026-11-30&end=2026-11-01")
    assert bad.status_code == 422 and bad.json()["detail"]["field"] == "end"
    # a region outside the user's scope does not exist for them
    assert world.api(world.village_op, "get", query).status_code == 404


# --- the monthly table ----------------------------------------------------------------------------------------


def _type_key(code: str) -> str:
    return f"type:{DisputeType.objects.get(code=code).pk}"


def expected_a1() -> dict[str, dict[str, int]]:
    """Hand-counted rows of 甲一街道 for November (as of 12-05)."""
    zero = {"scale:group": 0, "scale:mass": 0, "risk:medium": 0, "risk:high": 0, "risk:major": 0}
    return {
        # D1 D2 D3 D12: neighbour ×3 (D1 D2 D12), family (D3); D3 high; D1 archived, others concluded
        "A1a": {
            **zero,
            "total": 4,
            _type_key("neighbour"): 3,
            _type_key("family"): 1,
            "scale:individual": 4,
            "risk:low": 3,
            "risk:high": 1,
            "stage:in_progress": 0,
            "stage:concluded": 3,
            "stage:archived": 1,
            "resolved": 4,
            "unresolved": 0,
            "transferred": 0,
            "withdrawn": 0,
            "resolved_locally": 4,
        },
        # D4 (labour, 6 people, major), D5 (neighbour, withdrawn), D6 (debt, medium, transferred)
        "A1b": {
            **zero,
            "total": 3,
            _type_key("labour"): 1,
            _type_key("neighbour"): 1,
            _type_key("debt"): 1,
            "scale:individual": 2,
            "scale:group": 1,
            "risk:low": 1,
            "risk:medium": 1,
            "risk:major": 1,
            "stage:in_progress": 0,
            "stage:concluded": 3,
            "stage:archived": 0,
            "resolved": 1,
            "unresolved": 1,
            "transferred": 1,
            "withdrawn": 1,
            "resolved_locally": 0,
        },
    }


def expected_total_a1() -> dict[str, int]:
    rows = expected_a1()
    return {k: rows["A1a"].get(k, 0) + rows["A1b"].get(k, 0) for k in set(rows["A1a"]) | set(rows["A1b"])}


def test_monthly_table_of_a_township(world, data):
    table = selectors.monthly_table(world.county_op, world.r["A1"], 2026, 11, as_of=AS_OF)
    assert [row.label for row in table.rows] == ["甲一社区", "甲一村"]
    keys = table.keys()
    for row, code in zip(table.rows, ["A1a", "A1b"], strict=True):
        want = expected_a1()[code]
        assert {k: row.counts[k] for k in want} == want, code
        assert sum(row.counts[k] for k in keys if k.startswith("type:")) == row.counts["total"]
        assert (
            row.counts["resolved"] + row.counts["unresolved"] + row.counts["withdrawn"] == row.counts["total"]
        )
    assert (table.rows[0].resolution_rate, table.rows[0].local_resolution_rate) == (
        Decimal("100.0"),
        Decimal("100.0"),
    )
    assert (table.rows[1].resolution_rate, table.rows[1].local_resolution_rate) == (
        Decimal("50.0"),
        Decimal("0.0"),
    )
    total = expected_total_a1()
    assert {k: table.total.counts[k] for k in total} == total
    assert (table.total.resolution_rate, table.total.local_resolution_rate) == (
        Decimal("83.3"),
        Decimal("66.7"),
    )


def test_monthly_table_of_the_county_has_a_row_per_township(world, data):
    table = selectors.monthly_table(world.county_op, world.r["A"], 2026, 11, as_of=AS_OF)
    rows = {row.label: row for row in table.rows}
    assert list(rows) == ["甲一街道", "甲二街道"]
    assert rows["甲一街道"].counts["total"] == 7
    # 甲二街道: D7 open, D8 reopened: two unresolved, in progress
    a2 = rows["甲二街道"].counts
    assert (a2["total"], a2["unresolved"], a2["resolved"], a2["stage:in_progress"]) == (2, 2, 0, 2)
    assert (rows["甲二街道"].resolution_rate, rows["甲二街道"].local_resolution_rate) == (
        Decimal("0.0"),
        Decimal("0.0"),
    )
    assert table.total.counts["total"] == 9
    assert (table.total.resolution_rate, table.total.local_resolution_rate) == (
        Decimal("62.5"),
        Decimal("50.0"),
    )


def test_monthly_table_on_screen(world, data):
    with time_machine.travel(AS_OF, tick=False):
        res = world.client(world.county_op).get(f"/disputes/stats/?region={world.r['A1'].code}&month=2026-11")
    assert res.status_code == 200
    html = res.content.decode()
    assert "矛盾纠纷排查信息统计表" in html and "填报单位：甲一街道" in html and "2026年11月" in html
    total_row = re.search(r'<tr class="zz-total" data-row="total">(.*?)</tr>', html, re.S)
    assert total_row is not None
    cells = dict(re.findall(r'<td data-key="([^"]+)">(\d+)</td>', total_row.group(1)))
    total = expected_total_a1()
    assert {k: int(cells[k]) for k in total} == total
    rates = dict(re.findall(r'<td data-rate="(\w+)">([^<]+)</td>', total_row.group(1)))
    assert rates == {"resolution": "83.3%", "local": "66.7%"}
    village_row = re.search(rf'<tr data-row="{world.r["A1b"].code}">(.*?)</tr>', html, re.S)
    assert village_row is not None
    cells = dict(re.findall(r'<td data-key="([^"]+)">(\d+)</td>', village_row.group(1)))
    assert {k: int(cells[k]) for k in expected_a1()["A1b"]} == expected_a1()["A1b"]
    # outside one's scope: 404
    assert (
        world.client(world.village_op).get(f"/disputes/stats/?region={world.r['A'].code}").status_code == 404
    )


def test_monthly_table_as_xlsx_in_the_customary_layout(world, data):
    with time_machine.travel(AS_OF, tick=False):
        res = world.client(world.county_op).get(
            f"/disputes/stats/export/?region={world.r['A1'].code}&month=2026-11"
        )
    assert res.status_code == 200
    assert res["Content-Type"].startswith("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    assert "202611.xlsx" in res["Content-Disposition"]
    ws = load_workbook(io.BytesIO(res.content)).active
    assert ws["A1"].value == "矛盾纠纷排查信息统计表"
    assert "填报单位：甲一街道" in ws["A2"].value and "2026年11月" in ws["A2"].value
    merged = {str(m) for m in ws.merged_cells.ranges}
    assert "A3:A4" in merged  # 区域 spans the two header rows
    # the two-level header: group labels on row 3 (merged across their columns), column labels on row 4
    groups = [ws.cell(row=3, column=c).value for c in range(1, ws.max_column + 1)]
    assert groups[0] == "区域" and "纠纷类型" in groups and "规模" in groups and "风险等级" in groups
    assert "办理阶段" in groups and "化解情况" in groups and groups[-2:] == ["化解率", "就地化解率"]
    header = {}
    group = None
    for c in range(2, ws.max_column - 1):
        group = ws.cell(row=3, column=c).value or group
        header[(group, ws.cell(row=4, column=c).value)] = c
    assert [ws.cell(row=r, column=1).value for r in (5, 6, 7)] == ["甲一社区", "甲一村", "合计"]

    def value(row: int, group: str, label: str) -> Any:
        return ws.cell(row=row, column=header[(group, label)]).value

    assert value(7, "排查纠纷总数", "合计") == 7
    assert (
        value(7, "纠纷类型", "邻里纠纷"),
        value(7, "纠纷类型", "婚姻家庭纠纷"),
        value(7, "纠纷类型", "劳动劳资纠纷"),
    ) == (4, 1, 1)
    assert (value(7, "规模", "个体性"), value(7, "规模", "群体性"), value(7, "规模", "重大群体性")) == (
        6,
        1,
        0,
    )
    assert (
        value(7, "风险等级", "低"),
        value(7, "风险等级", "中"),
        value(7, "风险等级", "高"),
        value(7, "风险等级", "重大"),
    ) == (4, 1, 1, 1)
    assert (
        value(7, "办理阶段", "调处中"),
        value(7, "办理阶段", "已办结"),
        value(7, "办理阶段", "已归档"),
    ) == (0, 6, 1)
    assert [value(7, "化解情况", k) for k in ("已化解", "未化解", "依法移交", "撤回", "就地化解")] == [
        5,
        1,
        1,
        1,
        4,
    ]
    assert [value(6, "化解情况", k) for k in ("已化解", "未化解", "依法移交", "撤回", "就地化解")] == [
        1,
        1,
        1,
        1,
        0,
    ]
    rates = ws.max_column - 1
    assert [ws.cell(row=r, column=rates).value for r in (5, 6, 7)] == ["100.0%", "50.0%", "83.3%"]
    assert [ws.cell(row=r, column=rates + 1).value for r in (5, 6, 7)] == ["100.0%", "0.0%", "66.7%"]


def test_monthly_table_through_the_api(world, data):
    with time_machine.travel(AS_OF, tick=False):
        res = world.api(
            world.county_op, "get", f"/disputes/stats/monthly?region={world.r['A1'].code}&year=2026&month=11"
        )
        xlsx = world.api(
            world.county_op,
            "get",
            f"/disputes/stats/monthly.xlsx?region={world.r['A1'].code}&year=2026&month=11",
        )
    assert res.status_code == 200, res.content.decode()
    body = res.json()
    assert [r["region_code"] for r in body["rows"]] == [world.r["A1a"].code, world.r["A1b"].code]
    total = expected_total_a1()
    assert {k: body["total"]["counts"][k] for k in total} == total
    assert Decimal(str(body["total"]["resolution_rate"])) == Decimal("83.3")
    assert xlsx.status_code == 200 and load_workbook(io.BytesIO(xlsx.content)).active["A7"].value == "合计"
    bad = world.api(world.county_op, "get", "/disputes/stats/monthly?year=2026&month=13")
    assert bad.status_code == 422 and bad.json()["detail"]["field"] == "month"
