"""Demo data for disputes (after ``seed_demo``): the mediation bodies and mediators of the demo
townships (七调联动: the township's people's mediation committee and police station, each village's
committee with its "gold-medal" elder, the county court), disputes in every stage — walk-ins mediated
to agreement, confirmed and followed up, failures transferred, withdrawals, escalations of high-risk
disputes, an agreement not performed and reopened — spread over the last six weeks, and this week's
screening campaign with some grids reported. Everything through the real services."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from zongzhi.cases.services import case_transition
from zongzhi.orgs.models import Department, GridMembership, Region, RegionLevel, RoleGrant, User
from zongzhi.orgs.services import department_create

from . import services
from .models import Dispute, Mediator, ScreeningCampaign

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = ["建国", "秀英", "志强", "桂兰", "伟", "芳", "军", "敏", "海燕", "国华", "丽", "红梅", "德明", "小燕"]

# (type, title, description, people, amount, facts, terms)
MATTERS: list[tuple[str, str, str, int, int | None, str, str]] = [
    (
        "neighbour",
        "楼上漏水纠纷",
        "楼上卫生间漏水至楼下，楼下住户要求赔偿吊顶维修费用，双方协商未果。",
        2,
        3000,
        "被申请人家卫生间防水层老化，漏水至申请人家，造成吊顶、墙面受损。",
        "一、被申请人赔偿申请人维修费人民币叁仟元整；\n二、被申请人于十日内修复卫生间防水层。",
    ),
    (
        "neighbour",
        "装修噪音扰民纠纷",
        "邻居装修超时施工，周末早上七点即开始电钻作业，双方多次争吵。",
        2,
        None,
        "被申请人装修期间多次在休息时段施工，双方发生争执。",
        "一、被申请人施工时间限于工作日8:00—12:00、14:00—18:00；\n二、被申请人向申请人赔礼道歉。",
    ),
    (
        "family",
        "赡养费分摊纠纷",
        "三兄弟对老人赡养费分摊有争议，老人生活无人照料。",
        4,
        36000,
        "老人年逾八旬，三子对赡养费用分摊意见不一。",
        "一、三子每人每月支付赡养费人民币壹仟元；\n二、长子负责日常照料，其余二人每月轮流探望。",
    ),
    (
        "property_management",
        "物业费纠纷",
        "业主因电梯长期故障拒交物业费，物业公司停止门禁卡服务。",
        8,
        12000,
        "电梯故障三月未修，部分业主拒交物业费，物业公司停用门禁卡。",
        "一、物业公司于十五日内完成电梯维修；\n二、业主于电梯修复后补交物业费；\n三、物业公司即日恢复门禁卡服务。",
    ),
    (
        "labour",
        "装修工人讨薪纠纷",
        "六名工人反映某装修公司拖欠三个月工资共计四万余元，情绪激动。",
        6,
        42000,
        "某装修公司拖欠六名工人三个月工资合计肆万贰仟元。",
        "一、装修公司于十日内分两期支付全部欠薪；\n二、工人不再聚集讨薪。",
    ),
    (
        "traffic",
        "交通事故赔偿纠纷",
        "电动车与行人相撞，双方对医疗费赔偿金额有分歧。",
        2,
        8500,
        "电动车驾驶人与行人相撞，行人轻微骨折，交警认定驾驶人负主要责任。",
        "一、电动车驾驶人赔偿医疗费、误工费共计人民币捌仟伍佰元；\n二、双方就本次事故再无其他争议。",
    ),
    (
        "land_forest",
        "宅基地边界纠纷",
        "两户村民对宅基地边界有争议，一方砌墙占用通道。",
        2,
        None,
        "两户相邻宅基地界址不清，一方新砌围墙占用公共通道约半米。",
        "一、按原土地证界址重新确界；\n二、占用通道的围墙于一个月内拆除。",
    ),
    (
        "debt",
        "民间借贷纠纷",
        "村民借款五万元到期未还，出借人多次上门讨要发生冲突。",
        2,
        50000,
        "被申请人向申请人借款伍万元，约定一年归还，逾期未还。",
        "一、被申请人分五个月归还借款，每月壹万元；\n二、申请人不再上门催讨。",
    ),
    (
        "consumer",
        "预付卡退费纠纷",
        "健身房停业，会员要求退还预付卡余额。",
        12,
        26000,
        "某健身房停业，十二名会员预付卡余额未退。",
        "一、健身房经营者按剩余课时退还余额；\n二、于二十日内退清。",
    ),
    (
        "environment",
        "养殖异味纠纷",
        "村内养猪场异味扰民，周边住户多次反映。",
        15,
        None,
        "养猪场粪污处理设施不足，夏季异味较重。",
        "一、养猪场于一个月内完成粪污处理设施改造；\n二、改造期间减少存栏量。",
    ),
]


@dataclass
class DemoReport:
    mediators: int = 0
    disputes: int = 0
    campaigns: int = 0
    by_outcome: dict[str, int] = field(default_factory=dict)
    skipped: bool = False


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + rng.choice(GIVEN)


def _grant_user(role: str, region: Region) -> User | None:
    grant = (
        RoleGrant.objects.filter(role=role, region=region, user__is_active=True)
        .select_related("user")
        .first()
    )
    return grant.user if grant else None


def _department(region: Region, name: str, kind: str) -> Department:
    found = Department.objects.filter(region=region, name=name).first()
    return found or department_create(actor=None, region=region, name=name, kind=kind)


def _mediator(
    region: Region,
    name: str,
    body: str,
    department: Department | None,
    *,
    user: User | None = None,
    title: str = "",
    specialties: tuple[str, ...] = (),
) -> Mediator:
    found = Mediator.objects.filter(region=region, name=name).first()
    if found is not None:
        return found
    return services.mediator_create(
        actor=None,
        data=services.MediatorInput(
            name=name,
            body_kind=body,
            body_name=department.name if department else f"{region.name}乡贤调解工作室",
            region_code=region.code,
            department_id=department.pk if department else None,
            user_id=user.pk if user else None,
            specialty_codes=list(specialties),
            title=title,
        ),
    )


def _id_number(rng: random.Random) -> str:
    first17 = f"330106{rng.randint(1950, 2000)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{rng.randint(100, 999)}"
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return first17 + "10X98765432"[sum(int(c) * w for c, w in zip(first17, weights, strict=True)) % 11]


def _parties(rng: random.Random) -> list[services.PartyInput]:
    return [
        services.PartyInput(
            role=role,
            name=_name(rng),
            gender=rng.choice(["male", "female"]),
            ethnicity="汉族",
            id_type="id_card",
            id_number=_id_number(rng),
            phone=f"13{rng.randint(100000000, 999999999)}",
            address=f"{rng.randint(1, 30)}幢{rng.randint(1, 6)}0{rng.randint(1, 4)}室",
        )
        for role in ("applicant", "respondent")
    ]


class _Clock:
    def __init__(self, start: dt.datetime) -> None:
        self.t = start

    def step(self, hours: float) -> dt.datetime:
        self.t += timedelta(hours=hours)
        return self.t


def seed_demo_disputes(*, city_code: str) -> DemoReport:
    """Idempotent: does nothing when disputes exist already."""
    report = DemoReport()
    services.load_defaults()
    city = Region.objects.filter(code__startswith=city_code, level=RegionLevel.CITY).order_by("code").first()
    if city is None:
        raise ValueError(f"未找到城市 {city_code}，请先运行 seed_demo (run seed_demo first)")
    if Dispute.objects.filter(region_path__startswith=city.path).exists():
        report.skipped = True
        return report
    townships = [
        g.region
        for g in RoleGrant.objects.filter(
            role="mediator", region__level=RegionLevel.TOWNSHIP, region__path__startswith=city.path
        )
        .select_related("region", "region__parent")
        .order_by("region__path")
    ]
    if not townships:
        raise ValueError("演示城市没有乡镇调解员，请先运行 seed_demo (run seed_demo first)")
    rng = random.Random(20260501)
    now = timezone.now()
    with transaction.atomic():
        for t_index, township in enumerate(townships):
            _seed_township(township, t_index, rng, now, report)
        report.disputes = Dispute.objects.filter(region_path__startswith=city.path).count()
        for outcome in ("agreement", "on_site", "transferred", "withdrawn", ""):
            report.by_outcome[outcome or "open"] = Dispute.objects.filter(
                region_path__startswith=city.path, outcome=outcome
            ).count()
    services.dispute_followup_sweep(now=now)
    return report


def _seed_township(
    township: Region, t_index: int, rng: random.Random, now: dt.datetime, report: DemoReport
) -> None:
    county = township.parent
    assert county is not None
    operator = _grant_user("center_operator", township)
    mediator_user = _grant_user("mediator", township)
    if operator is None:
        return
    justice = Department.objects.filter(region=township, kind="justice").first()
    police = Department.objects.filter(region=township, kind="public_security").first()
    committee = _department(township, f"{township.name}人民调解委员会", "other")
    court = _department(county, f"{county.name}人民法院", "court")
    lead = _mediator(
        township,
        mediator_user.display_name if mediator_user else f"{township.name}调解员",
        "peoples_committee",
        committee,
        user=mediator_user,
        specialties=("neighbour", "family", "debt"),
    )
    mediators = [lead]
    if justice is not None:
        mediators.append(
            _mediator(
                township,
                f"{_name(rng)}（司法所）",
                "judicial_office",
                justice,
                specialties=("land_forest", "labour"),
            )
        )
    if police is not None:
        mediators.append(
            _mediator(
                township,
                f"{_name(rng)}（民警）",
                "police_station",
                police,
                specialties=("traffic", "neighbour"),
            )
        )
    court_mediator = _mediator(
        county, f"{county.name}法院特邀调解员", "court", court, specialties=("debt", "construction")
    )
    villages = list(
        Region.objects.filter(parent=township, level=RegionLevel.VILLAGE, grids__isnull=False)
        .distinct()
        .order_by("code")[:2]
    )
    elders = []
    for village in villages:
        vc = _department(village, f"{village.name}人民调解委员会", "village_committee")
        elders.append(
            _mediator(
                village,
                f"{_name(rng)}（乡贤）",
                "elder",
                vc,
                title="金牌调解员",
                specialties=("neighbour", "family", "land_forest"),
            )
        )
    report.mediators = Mediator.objects.count()
    if not villages:
        return

    def intake(index: int, days_ago: float, **over: Any) -> tuple[Dispute, _Clock]:
        matter = MATTERS[index % len(MATTERS)]
        kind, title, description, people, amount = matter[:5]
        clock = _Clock(now - timedelta(days=days_ago))
        village = villages[index % len(villages)]
        values: dict[str, Any] = {
            "title": title,
            "description": description,
            "dispute_type": kind,
            "region_code": village.code,
            "parties": _parties(rng),
            "people_count": people,
            "amount": amount,
            "risk_level": "medium" if people >= 5 else "low",
        }
        values.update(over)
        dispute = services.dispute_intake(
            actor=operator, data=services.DisputeInput(**values), now=clock.t
        ).dispute
        return dispute, clock

    def act(
        dispute: Dispute,
        clock: _Clock,
        hours: float,
        action: str,
        note: str = "",
        actor: Any = operator,
        **data: Any,
    ) -> None:
        case_transition(
            actor=actor, case_id=dispute.case_id, action=action, note=note, data=data, now=clock.step(hours)
        )

    def mediate(dispute: Dispute, clock: _Clock, index: int, mediation_type: str = "elders") -> None:
        elder = elders[index % len(elders)]
        others = [m.pk for m in mediators[1:]][: 1 + index % 2]
        act(
            dispute,
            clock,
            2,
            "mediate",
            mediation_type=mediation_type,
            lead_mediator_id=elder.pk if mediation_type == "elders" else lead.pk,
            mediator_ids=others,
        )
        act(
            dispute,
            clock,
            20,
            "mediation_session",
            "双方陈述事实和诉求，调解员释法说理、背靠背沟通，双方初步形成一致意见。",
            held_at=clock.t.isoformat(),
            place=f"{township.name}矛盾纠纷调处化解中心调解室",
            attendees="双方当事人、调解员",
        )

    def agree(dispute: Dispute, clock: _Clock, index: int, deadline_days: int) -> None:
        matter = MATTERS[index % len(MATTERS)]
        deadline = (timezone.localtime(clock.t) + timedelta(days=deadline_days)).date()
        act(
            dispute,
            clock,
            24,
            "mediation_agree",
            "双方自愿达成调解协议",
            facts=matter[5],
            terms=matter[6],
            performance_method="现金或银行转账",
            performance_deadline=deadline.isoformat(),
        )

    base = t_index * 3
    # 1. accepted, waiting for the center to organise mediation (registered today)
    intake(base + 0, 0.2)
    # 2. being mediated, one session held
    d, c = intake(base + 1, 3)
    mediate(d, c, base + 1)
    # 3. agreement, performance still pending (deadline ahead)
    d, c = intake(base + 2, 8)
    mediate(d, c, base + 2, "administrative")
    agree(d, c, base + 2, 20)
    act(d, c, 3, "reply", "电话告知双方调解结果", method="phone")
    # 4. agreement whose deadline has passed: the follow-up sweep raises the notice
    d, c = intake(base + 3, 24)
    mediate(d, c, base + 3)
    agree(d, c, base + 3, 5)
    act(d, c, 3, "reply", "当面告知", method="visit")
    # 5. agreement confirmed by the court, performed, rated and archived
    d, c = intake(base + 4, 36)
    mediate(d, c, base + 4, "court")
    agree(d, c, base + 4, 7)
    act(d, c, 24, "judicial_confirm", status="applied", court=court.name)
    act(
        d,
        c,
        72,
        "judicial_confirm",
        status="confirmed",
        reference=f"（{c.t.year}）浙民特{rng.randint(10, 99)}号",
    )
    act(d, c, 2, "reply", "已告知", method="phone")
    act(d, c, 24, "rate", rating="satisfied", comment="调解及时")
    act(d, c, 1, "archive")
    act(d, c, 24 * 6, "followup", "回访：赔偿款已全部支付", performance="performed")
    # 6. failed, transferred to litigation
    d, c = intake(base + 5, 18, risk_level="medium")
    mediate(d, c, base + 5, "professional")
    act(d, c, 48, "mediation_fail", "被申请人不认可赔偿金额，调解不成")
    act(
        d,
        c,
        4,
        "transfer",
        "引导申请人依法提起诉讼",
        transfer_to="litigation",
        receiving_body=court.name,
        reference_number=f"（{c.t.year}）浙民初{rng.randint(100, 999)}号",
        receiving_department_id=court.pk,
    )
    # 7. withdrawn
    d, c = intake(base + 6, 12)
    mediate(d, c, base + 6)
    act(d, c, 30, "withdraw", "双方已自行和解，申请人撤回调解申请")
    # 8. high risk with escalation-risk flags: escalated to the county (大事不出镇 failed)
    d, c = intake(
        base + 7,
        5,
        risk_level="major",
        flags=["threat", "gathering"],
        people_count=35,
        risk_note="工人扬言到区政府聚集",
    )
    act(d, c, 3, "escalate", "涉及三十余人、扬言聚集，镇级难以化解，报请区综治中心统筹")
    # 9. agreement not performed: reopened, mediated again with the court (诉调)
    d, c = intake(base + 8, 40)
    mediate(d, c, base + 8)
    agree(d, c, base + 8, 10)
    act(d, c, 24 * 12, "followup", "回访：被申请人未按期履行", performance="not_performed")
    act(
        d, c, 4, "mediate", mediation_type="court", lead_mediator_id=court_mediator.pk, mediator_ids=[lead.pk]
    )
    # 10. last month: resolved, for the monthly table
    d, c = intake(base + 9, 45 + t_index)
    mediate(d, c, base + 9)
    agree(d, c, base + 9, 3)
    act(d, c, 24 * 5, "followup", "回访：已履行", performance="performed")

    # this week's screening: most grids reported, one found a dispute and settled it on the spot
    today = timezone.localdate()
    monday = today - timedelta(days=today.weekday())
    campaign = ScreeningCampaign.objects.filter(region=township, period_start=monday).first()
    if campaign is None:
        campaign = services.screening_open(
            actor=operator,
            region_code=township.code,
            period_start=monday,
            period_end=monday + timedelta(days=6),
            note="重点排查邻里、婚姻家庭、劳资欠薪等矛盾纠纷。",
        )
        report.campaigns += 1
    reports = list(campaign.reports.select_related("grid", "grid__village").order_by("grid__code"))
    for i, row in enumerate(reports[:-1]):
        member = GridMembership.objects.filter(grid=row.grid, role="worker").select_related("user").first()
        worker = member.user if member else None
        if worker is None:
            continue
        if i == 0:
            services.dispute_intake(
                actor=worker,
                data=services.DisputeInput(
                    title="楼道堆物引发邻里争执",
                    description="两户邻居因楼道堆放杂物发生口角。",
                    dispute_type="neighbour",
                    region_code=row.grid.village.code,
                    parties=_parties(rng),
                    channel="patrol",
                    resolved_on_site=True,
                    result="网格员当场劝导，双方清理杂物并和好。",
                    screening_report_id=row.pk,
                ),
            )
        else:
            services.screening_report_none(
                actor=worker, campaign_id=campaign.pk, grid_id=row.grid_id, note="已走访，未发现矛盾纠纷。"
            )
