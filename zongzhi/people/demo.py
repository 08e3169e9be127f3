"""Demo base data for the demo city (after ``seed_demo``): in every demo grid a few houses with
their residents, a key place and an organization, located inside the grid's polygon; some
residents enrolled in special groups with a supervisor (the village's full-time grid worker),
visits, and missed visits found by the sweep — all written through the real services.

Synthetic people only: ID numbers are made up (valid GB 11643 check digits on the county's area
code), phones are in the 1380000xxxx–1389999xxxx range, names are drawn from common characters.
Running it again creates nothing."""

from __future__ import annotations

import datetime as dt
import json
import random
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone

from zongzhi.orgs.models import Grid, GridMembership, GridRole, Region, User

from . import services
from .groups import SpecialGroup
from .models import AssistanceStatus, HouseUse, OrganizationKind, PlaceKind, Resident, ResidentType
from .records import HouseInput, OrganizationInput, PlaceInput, ResidentInput
from .sealing import id_number_lookup
from .validators import credit_code_check_char, id_check_digit

DEMO_NOTE = "演示数据"
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭"
GIVEN = [
    "建国",
    "秀英",
    "志强",
    "桂兰",
    "伟",
    "芳",
    "军",
    "敏",
    "海燕",
    "国华",
    "丽",
    "红梅",
    "子涵",
    "浩然",
    "雨桐",
    "俊杰",
]
STREETS = ["文三路", "古墩路", "天目山路", "西溪路", "五常大道", "径山路", "黄湖大街", "保俶路"]
PLACES = [
    (PlaceKind.MARKET, "农贸市场"),
    (PlaceKind.SCHOOL, "实验小学"),
    (PlaceKind.HOTEL, "快捷酒店"),
    (PlaceKind.INTERNET_CAFE, "网吧"),
    (PlaceKind.RENTAL_BLOCK, "出租房集中区"),
    (PlaceKind.ENTERTAINMENT, "KTV"),
]
ORGS = [
    (OrganizationKind.NON_PUBLIC_ENTERPRISE, "科技有限公司", True),
    (OrganizationKind.NON_PUBLIC_ENTERPRISE, "餐饮管理有限公司", False),
    (OrganizationKind.SOCIAL_ORGANIZATION, "志愿者协会", True),
    (OrganizationKind.SOCIAL_ORGANIZATION, "社区养老服务中心", False),
]
# group → (details, risk level, assistance) for the demo members
MEMBERS: list[tuple[str, dict[str, str], int, str]] = [
    (
        SpecialGroup.COMMUNITY_CORRECTION,
        {"crime": "危险驾驶罪", "correction_type": "probation", "sentence": "拘役三个月缓刑六个月"},
        1,
        AssistanceStatus.NOT_NEEDED,
    ),
    (
        SpecialGroup.RELEASED_PRISONER,
        {"crime": "盗窃罪", "released_on": "2025-03-18", "resettlement": "已就业（物流公司）"},
        2,
        AssistanceStatus.ASSISTING,
    ),
    (
        SpecialGroup.MENTAL_DISORDER,
        {"diagnosis": "精神分裂症", "guardian_name": "家属", "treatment": "regular"},
        3,
        AssistanceStatus.ASSISTING,
    ),
    (
        SpecialGroup.DRUG_USER,
        {"drug_type": "冰毒", "control_measure": "community_rehab"},
        2,
        AssistanceStatus.PENDING,
    ),
    (
        SpecialGroup.KEY_YOUTH,
        {"youth_type": "dropout", "guardian_name": "祖母"},
        1,
        AssistanceStatus.ASSISTING,
    ),
]


@dataclass
class PeopleDemoReport:
    skipped: bool = False
    houses: int = 0
    residents: int = 0
    places: int = 0
    organizations: int = 0
    memberships: int = 0
    visits: int = 0
    misses: int = 0
    by_grid: dict[str, int] = field(default_factory=dict)


def demo_id_number(rng: random.Random, area: str, *, female: bool) -> str:
    birth = dt.date(1950, 1, 1) + dt.timedelta(days=rng.randrange(0, 365 * 56))
    seq = rng.randrange(0, 100) * 10 + rng.randrange(0, 5) * 2 + (0 if female else 1)
    first17 = f"{area}{birth:%Y%m%d}{seq:03d}"
    return first17 + id_check_digit(first17)


def demo_credit_code(rng: random.Random, area: str) -> str:
    body = "".join(rng.choice("0123456789ABCDEFGHJKLMNPQRTUWXY") for _ in range(9))
    first17 = f"91{area}{body}"
    return first17 + credit_code_check_char(first17)


def _points_in(grid: Grid, rng: random.Random, n: int) -> list[tuple[float, float]]:
    """``n`` points inside the grid's polygon (rejection sampling in its bounding box)."""
    if not grid.polygon_geojson:
        return [(None, None)] * n  # type: ignore[list-item]
    from shapely.geometry import Point, shape

    poly = shape(json.loads(grid.polygon_geojson)).buffer(-0.0002)
    x0, y0, x1, y1 = poly.bounds
    points: list[tuple[float, float]] = []
    tries = 0
    while len(points) < n and tries < n * 200:
        tries += 1
        x, y = rng.uniform(x0, x1), rng.uniform(y0, y1)
        if poly.contains(Point(x, y)):
            points.append((round(x, 6), round(y, 6)))
    while len(points) < n:
        c = poly.representative_point()
        points.append((round(c.x, 6), round(c.y, 6)))
    return points


def seed_demo_people(
    *, city_code: str, houses_per_grid: int = 6, now: dt.datetime | None = None
) -> PeopleDemoReport:
    """Build the demo base data in the demo grids of ``city_code`` (4- or 12-digit code)."""
    now = now or timezone.now()
    report = PeopleDemoReport()
    if Resident.objects.filter(notes=DEMO_NOTE).exists():
        report.skipped = True
        return report
    code = city_code.ljust(12, "0")
    city = Region.objects.filter(code=code).first()
    if city is None:
        raise ValueError(f"城市 {city_code} 不存在：请先运行 seed_demo。")
    grids = list(
        Grid.objects.filter(region_path__startswith=city.path, is_active=True)
        .select_related("village", "village__parent", "village__parent__parent")
        .order_by("code")
    )
    if not grids:
        raise ValueError("没有演示网格：请先运行 seed_demo。")
    rng = random.Random(20260601)
    used: set[str] = set()
    members_made = 0
    for gi, grid in enumerate(grids):
        county = grid.village.parent.parent if grid.village.parent else None
        area = (county.code if county else grid.village.code)[:6]
        street = STREETS[gi % len(STREETS)]
        points = _points_in(grid, rng, houses_per_grid + 2)
        worker = _grid_worker(grid)
        residents_here: list[Resident] = []
        for hi in range(houses_per_grid):
            lon, lat = points[hi]
            house = services.house_create(
                actor=None,
                data=HouseInput(
                    address=f"{grid.village.name}{street}{10 + hi * 2}号",
                    building=f"{hi % 3 + 1}幢",
                    unit=f"{hi % 2 + 1}单元",
                    room=f"{(hi % 6 + 1) * 100 + hi + 1}室",
                    use=rng.choice([HouseUse.OWN, HouseUse.OWN, HouseUse.RENT, HouseUse.VACANT]),
                    owner_name=_name(rng),
                    owner_phone=_phone(rng),
                    lon=lon,
                    lat=lat,
                    notes=DEMO_NOTE,
                ),
                region=grid.village,
                now=now,
            )
            report.houses += 1
            if house.use == HouseUse.VACANT:
                continue
            for _ in range(rng.randint(1, 4)):
                female = rng.random() < 0.5
                rtype = rng.choice(
                    [ResidentType.REGISTERED] * 5 + [ResidentType.MIGRANT] * 3 + [ResidentType.LEFT_BEHIND]
                )
                resident = services.resident_create(
                    actor=None,
                    data=ResidentInput(
                        id_type="id_card",
                        id_number=_fresh_id(rng, area, female, used),
                        name=_name(rng),
                        resident_type=rtype,
                        ethnicity="汉族",
                        phone=_phone(rng),
                        household_address=f"浙江省杭州市{grid.village.name}"
                        if rtype == ResidentType.REGISTERED
                        else "安徽省阜阳市",
                        current_address=str(house),
                        employment=rng.choice(["", "个体经营", "企业职工", "退休", "务农", "在校学生"]),
                        notes=DEMO_NOTE,
                    ),
                    house=house,
                    grid=house.grid,
                    region=None if house.grid else grid.village,
                    now=now,
                )
                residents_here.append(resident)
                report.residents += 1
        kind, suffix = PLACES[gi % len(PLACES)]
        lon, lat = points[houses_per_grid]
        services.place_create(
            actor=None,
            data=PlaceInput(
                name=f"{grid.village.name}{suffix}",
                address=f"{grid.village.name}{street}{60 + gi}号",
                kind=kind,
                contact_name=_name(rng),
                contact_phone=_phone(rng),
                lon=lon,
                lat=lat,
                notes=DEMO_NOTE,
            ),
            region=grid.village,
            now=now,
        )
        report.places += 1
        okind, osuffix, party = ORGS[gi % len(ORGS)]
        lon, lat = points[houses_per_grid + 1]
        services.organization_create(
            actor=None,
            data=OrganizationInput(
                name=f"杭州{grid.village.name[:2]}{osuffix}{gi + 1}",
                kind=okind,
                credit_code=demo_credit_code(rng, area),
                legal_representative=_name(rng),
                contact_phone=_phone(rng),
                address=f"{grid.village.name}{street}{80 + gi}号",
                has_party_branch=party,
                employees=rng.randint(5, 300),
                lon=lon,
                lat=lat,
                notes=DEMO_NOTE,
            ),
            region=grid.village,
            now=now,
        )
        report.organizations += 1
        report.by_grid[grid.code] = len(residents_here)
        # special populations: one or two members in the first grid of each village
        if grid.code.endswith("001") and residents_here and worker is not None:
            for k in range(min(2, len(residents_here))):
                group, details, risk, assistance = MEMBERS[(members_made + k) % len(MEMBERS)]
                enrolled = now - dt.timedelta(days=40 + 7 * k)
                m = services.membership_enrol(
                    actor=None,
                    resident=residents_here[k],
                    group=group,
                    data=services.MembershipInput(
                        starts_on=timezone.localdate(enrolled),
                        risk_level=risk,
                        supervisor=worker,
                        supervisor_names="司法所 / 派出所 / 社区卫生服务中心",
                        risk_assessment="情绪稳定，家庭支持较好。"
                        if risk < 3
                        else "近期情绪波动，需加强走访。",
                        assessed_on=timezone.localdate(enrolled),
                        assistance_status=assistance,
                        details=details,
                    ),
                    now=enrolled,
                )
                report.memberships += 1
                # the first member of every other village was visited recently; the rest are overdue
                if (members_made // 2) % 2 == 0 and k == 0:
                    services.visit_record(
                        actor=worker,
                        membership=m,
                        data=services.VisitInput(
                            visited_at=now - dt.timedelta(days=3, hours=2),
                            findings="入户走访，本人在家，情绪稳定，按时服药/报到，无异常。",
                            location_text="家中",
                            lon=points[0][0],
                            lat=points[0][1],
                            gps_accuracy_m=12.0,
                        ),
                        now=now,
                    )
                    report.visits += 1
            members_made += 2
    report.misses = services.visit_sweep(now=now).misses
    return report


def _fresh_id(rng: random.Random, area: str, female: bool, used: set[str]) -> str:
    """A synthetic ID number not used yet (in this run or in the database)."""
    while True:
        number = demo_id_number(rng, area, female=female)
        if (
            number not in used
            and not Resident.objects.filter(id_number_index=id_number_lookup(number)).exists()
        ):
            used.add(number)
            return number


def _grid_worker(grid: Grid) -> User | None:
    membership = (
        GridMembership.objects.filter(grid=grid, role=GridRole.WORKER, user__is_active=True)
        .select_related("user")
        .order_by("id")
        .first()
    )
    return membership.user if membership else None


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + rng.choice(GIVEN)


def _phone(rng: random.Random) -> str:
    return f"138{rng.randrange(0, 100_000_000):08d}"


def describe(report: PeopleDemoReport) -> dict[str, Any]:
    return {
        "houses": report.houses,
        "residents": report.residents,
        "places": report.places,
        "organizations": report.organizations,
        "memberships": report.memberships,
        "visits": report.visits,
        "misses": report.misses,
    }
