"""Demo data for the loop: the catalogue, the working calendar, responsibility rules for the demo
city's departments, and cases in every stage — all written through the real services, with
registration times spread over the last two weeks so that queues, deadlines and supervision look
like a working center's."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from zongzhi.core.calendar import calendar_seed, chinesecalendar_days
from zongzhi.core.models import CalendarDay
from zongzhi.orgs.models import Department, Grid, Region, RegionLevel, RoleGrant, User

from . import services
from .models import Case, Category, ResponsibilityRule

DEMO_REF = "DEMO-"

# (category code, title, description) — what a real center hears every week.
MATTERS: list[tuple[str, str, str]] = [
    ("0102", "楼道电动车充电", "某小区3幢楼道内有电动车飞线充电，存在火灾隐患，请尽快处理。"),
    ("0102", "消防通道被占用", "小区北门消防通道长期停放私家车，消防车无法通行。"),
    ("0101", "夜间可疑人员徘徊", "近几晚有陌生人在小区车棚附近徘徊，居民担心财物被盗。"),
    ("0103", "学校门口违停严重", "上下学时段校门口车辆乱停，存在交通安全隐患。"),
    ("0106", "工地欠薪聚集苗头", "某工地约二十名工人聚集讨要工资，情绪激动。"),
    ("0201", "楼上漏水纠纷", "楼上卫生间漏水至楼下，双方协商未果，楼下住户要求赔偿。"),
    ("0201", "邻居装修噪音扰民", "邻居装修超时施工，周末早上七点即开始电钻作业。"),
    ("0202", "家庭赡养纠纷", "三兄弟对老人赡养费分摊有争议，老人生活无人照料。"),
    ("0204", "物业费纠纷", "业主因电梯长期故障拒交物业费，物业停止门禁卡服务。"),
    ("0205", "农民工工资拖欠", "六名工人反映某装修公司拖欠三个月工资共计四万余元。"),
    ("0209", "交通事故赔偿纠纷", "电动车与行人相撞，双方对医疗费赔偿金额有分歧。"),
    ("0301", "垃圾乱堆放", "菜市场后巷垃圾堆积多日未清运，气味难闻。"),
    ("0302", "流动摊贩占道", "地铁口晚间流动摊贩占用盲道和人行道。"),
    ("0303", "顶楼违章搭建", "某住户在楼顶平台搭建彩钢房，邻居担心安全。"),
    ("0304", "路灯不亮", "村口至公交站约三百米路灯全部不亮，夜间出行不便。"),
    ("0304", "井盖破损", "主干道人行道上井盖破损下陷，已有行人绊倒。"),
    ("0501", "老旧房屋墙体开裂", "上世纪八十年代老房外墙出现裂缝，住户担心安全。"),
    ("0504", "新房渗漏", "交付不满一年的住宅多户出现窗台渗水，开发商推诿。"),
]
CATEGORY_DEPARTMENT_KIND = {
    "01": "public_security",
    "02": "public_security",
    "03": "urban_management",
    "05": "housing",
}
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = ["建国", "秀英", "志强", "桂兰", "伟", "芳", "军", "敏", "海燕", "国华", "丽", "红梅"]


@dataclass
class DemoReport:
    calendar_days: int = 0
    categories: int = 0
    rules: int = 0
    cases: int = 0
    by_state: dict[str, int] = field(default_factory=dict)
    skipped: bool = False


def _handler_for(department: Department) -> User | None:
    grant = (
        RoleGrant.objects.filter(role="department_handler", department=department, user__is_active=True)
        .select_related("user")
        .first()
    )
    return grant.user if grant else None


def _operator_for(region: Region) -> User | None:
    grant = (
        RoleGrant.objects.filter(role="center_operator", region=region, user__is_active=True)
        .select_related("user")
        .first()
    )
    return grant.user if grant else None


def _rules(city: Region) -> int:
    """County rules for the main categories, township rules overriding them for public safety and
    disputes (the police station leads: 小事不出镇)."""
    created = 0
    start = dt.date(2024, 1, 1)
    for region in Region.objects.filter(
        level__in=[RegionLevel.COUNTY, RegionLevel.TOWNSHIP], path__startswith=city.path
    ).order_by("path"):
        departments = {d.kind: d for d in Department.objects.filter(region=region, is_active=True)}
        for top, kind in CATEGORY_DEPARTMENT_KIND.items():
            if region.level == RegionLevel.TOWNSHIP and top not in ("01", "02"):
                continue
            dept = departments.get(kind)
            if dept is None:
                continue
            category = Category.objects.get(code=top)
            if ResponsibilityRule.objects.filter(category=category, region=region).exists():
                continue
            assisting = [departments["justice"]] if top == "02" and "justice" in departments else []
            services.rule_create(
                actor=None,
                category=category,
                region=region,
                lead_department=dept,
                assisting_departments=assisting,
                handling_level=region.level,
                legal_basis="《浙江省平安建设条例》" if top in ("01", "02") else "部门“三定”规定",
                effective_from=start,
            )
            created += 1
    return created


def _point_in(grid: Grid | None, rng: random.Random) -> tuple[float | None, float | None]:
    if (
        grid is None
        or grid.min_lon is None
        or grid.max_lon is None
        or grid.min_lat is None
        or grid.max_lat is None
    ):
        return None, None
    # a point near the middle of the grid's box (demo grids are convex cells)
    lon = grid.min_lon + (grid.max_lon - grid.min_lon) * rng.uniform(0.35, 0.65)
    lat = grid.min_lat + (grid.max_lat - grid.min_lat) * rng.uniform(0.35, 0.65)
    return round(lon, 6), round(lat, 6)


# The stage each demo case is driven to, and how many.
PLAN: list[tuple[str, int]] = [
    ("reported", 9),
    ("accepted", 5),
    ("returned", 2),
    ("dispatched", 6),
    ("handling", 18),
    ("extension", 2),
    ("resolved", 5),
    ("replied", 7),
    ("archived", 24),
    ("declined", 3),
]


def seed_demo_cases(*, city_code: str, seed: int = 2026) -> DemoReport:
    """Idempotent: does nothing when demo cases exist already."""
    report = DemoReport()
    if not CalendarDay.objects.exists():
        report.calendar_days = calendar_seed(chinesecalendar_days())
    report.categories = services.catalogue_load_defaults(actor=None)[0]
    city = Region.objects.filter(code=city_code.ljust(12, "0")).first()
    if city is None:
        raise ValueError(f"demo city {city_code} is not loaded: run seed_demo first")
    report.rules = _rules(city)
    if Case.objects.filter(external_ref__startswith=DEMO_REF).exists():
        report.skipped = True
        return report
    with transaction.atomic():
        _seed_cases(city, report, seed)
    return report


def _seed_cases(city: Region, report: DemoReport, seed: int) -> None:
    rng = random.Random(seed)
    grids = list(
        Grid.objects.filter(region_path__startswith=city.path).select_related("village", "village__parent")
    )
    if not grids:
        raise ValueError("the demo city has no grids: run seed_demo first")
    now = timezone.now()
    seq = 0
    for target, count in PLAN:
        for _ in range(count):
            seq += 1
            grid = rng.choice(grids)
            township = grid.village.parent
            assert township is not None
            code, title, description = rng.choice(MATTERS)
            age = (
                timedelta(minutes=rng.randint(5, 50))
                if target == "reported"
                else timedelta(hours=rng.randint(20, 24 * 13))
            )
            if target == "reported" and seq % 4 == 0:
                age = timedelta(hours=rng.randint(2, 6))  # overdue for acceptance
            start = now - age
            case = _drive(target, grid, township, code, title, description, start, now, rng, seq)
            if case is not None:
                report.cases += 1
                report.by_state[case.state] = report.by_state.get(case.state, 0) + 1
    services.sla_sweep(now=now)


def _drive(
    target: str,
    grid: Grid,
    township: Region,
    code: str,
    title: str,
    description: str,
    start: dt.datetime,
    now: dt.datetime,
    rng: random.Random,
    seq: int,
) -> Case | None:
    operator = _operator_for(township)
    lon, lat = _point_in(grid, rng)
    data = services.ReportInput(
        channel=rng.choice(["hotline", "walk_in", "web", "wechat", "patrol", "hotline"]),
        kind="dispute" if code.startswith("02") else "event",
        title=title,
        description=description,
        category_code=code,
        urgency="urgent" if seq % 11 == 0 else "normal",
        region_code=grid.village.code,
        reporter_name=rng.choice(SURNAMES) + rng.choice(GIVEN),
        reporter_phone=f"13{rng.randint(0, 9)}{rng.randint(10000000, 99999999)}",
        address=f"{grid.village.name}{rng.randint(1, 30)}号",
        lon=lon,
        lat=lat,
        external_ref=f"{DEMO_REF}{seq:04d}",
    )
    case = services.case_report(actor=operator, data=data, now=start).case
    if target == "reported":
        return case
    t = start
    step = (now - start) / 8

    def act(action: str, actor: Any, note: str = "", **extra: Any) -> None:
        nonlocal t
        t = min(t + step * rng.uniform(0.5, 1.2), now - timedelta(minutes=1))
        services.case_transition(actor=actor, case_id=case.pk, action=action, note=note, data=extra, now=t)

    if target == "declined":
        act("decline", operator, "不属于综治中心受理范围，已告知反映人向法院起诉。")
        return Case.objects.get(pk=case.pk)
    case.refresh_from_db()
    rule = services.rule_in_force(case.category, case.region_path, timezone.localdate(start))
    if rule is not None and not rule.lead_department.region_path.startswith(case.owner_path):
        # a county bureau's matter: the township hands it up (上报) and the county center takes it
        act("escalate", operator, "需区级职能部门办理，上报区综治中心。")
        case.refresh_from_db()
        operator = _operator_for(case.owner_region)
    act("accept", operator)
    if target == "accepted":
        return Case.objects.get(pk=case.pk)
    act("dispatch", operator)
    case.refresh_from_db()
    assert case.lead_department is not None
    handler = _handler_for(case.lead_department)
    if target == "returned":
        act("return", handler, "该事项属于物业管理范畴，请重新分派。")
        return Case.objects.get(pk=case.pk)
    if target == "dispatched":
        return Case.objects.get(pk=case.pk)
    act("acknowledge", handler)
    for part in case.assignments.filter(role="assisting", is_current=True).select_related("department"):
        act(
            "report_part",
            _handler_for(part.department),
            "已参与现场调处，协办意见已反馈。",
            department_id=part.department_id,
        )
    if target == "handling":
        return Case.objects.get(pk=case.pk)
    if target == "extension":
        case.refresh_from_db()
        assert case.due_at is not None
        act(
            "request_extension",
            handler,
            "需协调多方当事人，申请延期五个工作日。",
            until=(case.due_at + timedelta(days=7)).isoformat(),
        )
        return Case.objects.get(pk=case.pk)
    act("resolve", handler, "已现场核实并处置完毕，当事双方达成一致。")
    if target == "resolved":
        return Case.objects.get(pk=case.pk)
    act("reply", operator, "已电话告知反映人办理结果。", method="phone")
    if target == "replied":
        return Case.objects.get(pk=case.pk)
    rating = rng.choice(["satisfied", "satisfied", "satisfied", "basically_satisfied", "unsatisfied"])
    act("rate", operator, rating=rating, comment="", by="callback")
    case.refresh_from_db()
    if case.state == "replied":
        act("archive", operator, force=True)
    return Case.objects.get(pk=case.pk)
