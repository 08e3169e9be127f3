"""Build the demo city: ``manage.py seed_demo [--city CODE] [--reimport]``.

The city's whole region subtree (counties, townships, villages, and their centers) is imported from
the national division data with ``import_regions``; departments, grids and users are then made for
a selected part of it — two counties, two or three townships in each, two villages in each of those
with two to four grids each — so that every role has someone to sign in as. See docs/demo.md.

Idempotent: every row is looked up before it is created, so a second run creates nothing (and skips
the region import when the city is already there, unless ``--reimport``). Every write goes through
the services (``actor=None``: the installation's operator), so the audit log records the demo like
any other data.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from zongzhi.geo.demo import demo_boundaries_apply, demo_layout
from zongzhi.orgs import services
from zongzhi.orgs.models import (
    Department,
    DepartmentKind,
    Employment,
    Grid,
    GridMembership,
    GridRole,
    Region,
    RegionLevel,
    RoleGrant,
    User,
)
from zongzhi.orgs.roles import Role

# One documented password for every demo account (satisfies the password rules: ≥10 characters,
# upper, lower, digits, symbol). Never use the demo on a reachable server.
DEMO_PASSWORD = "Demo@2026zz"

TOWNSHIPS_PER_COUNTY = 2
VILLAGES_PER_TOWNSHIP = 2

# Hand-picked parts of some cities, with ASCII (pinyin) slugs for the usernames:
# city code -> [(county code, slug, [(township code, slug), ...]), ...]
PRESETS: dict[str, list[tuple[str, str, list[tuple[str, str]]]]] = {
    "3301": [
        ("330106", "xihu", [("330106002", "beishan"), ("330106004", "xixi")]),
        ("330110", "yuhang", [("330110005", "wuchang"), ("330110109", "jingshan"), ("330110113", "huanghu")]),
    ],
}

# (name suffix, short name, kind, posted to the center)
CITY_DEPARTMENTS = [
    ("公安局", "公安", DepartmentKind.PUBLIC_SECURITY, True),
    ("司法局", "司法", DepartmentKind.JUSTICE, True),
    ("住房和城乡建设局", "住建", DepartmentKind.HOUSING, False),
    ("城市管理局", "城管", DepartmentKind.URBAN_MANAGEMENT, False),
    ("市场监督管理局", "市场监管", DepartmentKind.MARKET, False),
    ("生态环境局", "生态环境", DepartmentKind.ENVIRONMENT, False),
    ("人力资源和社会保障局", "人社", DepartmentKind.HUMAN_RESOURCES, True),
    ("民政局", "民政", DepartmentKind.CIVIL_AFFAIRS, False),
    ("信访局", "信访", DepartmentKind.PETITION, True),
]
COUNTY_DEPARTMENTS = [
    ("公安分局", "公安", DepartmentKind.PUBLIC_SECURITY, True),
    ("司法局", "司法", DepartmentKind.JUSTICE, True),
    ("住房和城乡建设局", "住建", DepartmentKind.HOUSING, False),
    ("综合行政执法局", "城管", DepartmentKind.URBAN_MANAGEMENT, False),
    ("市场监督管理局", "市场监管", DepartmentKind.MARKET, False),
    ("生态环境分局", "生态环境", DepartmentKind.ENVIRONMENT, False),
    ("人力资源和社会保障局", "人社", DepartmentKind.HUMAN_RESOURCES, True),
    ("民政局", "民政", DepartmentKind.CIVIL_AFFAIRS, False),
    ("信访局", "信访", DepartmentKind.PETITION, True),
]
TOWNSHIP_DEPARTMENTS = [
    ("派出所", "派出所", DepartmentKind.PUBLIC_SECURITY, True),
    ("司法所", "司法所", DepartmentKind.JUSTICE, True),
    ("综合行政执法队", "执法队", DepartmentKind.URBAN_MANAGEMENT, False),
    ("市场监管所", "市场监管所", DepartmentKind.MARKET, False),
    ("社会事务办公室", "社会事务办", DepartmentKind.CIVIL_AFFAIRS, False),
]
# Which departments get a handler account: name suffix -> username part.
CITY_HANDLERS = {"公安局": "police", "信访局": "petition"}
COUNTY_HANDLERS = {"公安分局": "police", "综合行政执法局": "urban", "住房和城乡建设局": "housing"}
TOWNSHIP_HANDLERS = {"派出所": "police"}

GRID_NAMES = ["第一网格", "第二网格", "第三网格", "第四网格"]


@dataclass
class DemoUser:
    username: str
    display_name: str
    role: str
    region: Region
    department: Department | None = None


@dataclass
class Counter:
    created: dict[str, int] = field(default_factory=dict)

    def add(self, kind: str) -> None:
        self.created[kind] = self.created.get(kind, 0) + 1


class Command(BaseCommand):
    help = "建立演示城市：导入区划，建部门、网格与各角色的演示账号；可重复执行。 (build the demo city; safe to re-run)"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--city",
            default=None,
            help="城市的统计用区划代码前4位，默认 settings.ZZ_DEMO_CITY_CODE (4-digit city code; default 3301)",
        )
        parser.add_argument(
            "--reimport",
            action="store_true",
            help="即使区划已存在也重新导入 (run import_regions even when the city is already loaded)",
        )

    # --- entry ----------------------------------------------------------------------------------------
    def handle(self, *args: Any, **options: Any) -> None:
        city_code = (options["city"] or settings.ZZ_DEMO_CITY_CODE).strip()
        if len(city_code) != 4 or not city_code.isdigit():
            raise CommandError(f"城市代码须为4位数字：{city_code!r} (a city code has 4 digits)")
        full_code = city_code.ljust(12, "0")
        city = Region.objects.filter(code=full_code).first()
        if city is None or options["reimport"] or not city.children.exists():
            self.stdout.write(f"导入区划 {city_code} (importing regions under {city_code}) …")
            call_command("import_regions", root=city_code, stdout=self.stdout, stderr=self.stderr)
            city = Region.objects.filter(code=full_code).first()
        else:
            self.stdout.write(f"区划 {city} 已存在，跳过导入 (regions present; --reimport to import again)")
        if city is None:
            raise CommandError(f"区划数据中没有城市 {city_code} (city not found in the division data)")

        self.verbosity = int(options["verbosity"])
        self.counter = Counter()
        self.users: list[DemoUser] = []
        with transaction.atomic():
            self._seed(city)

        created = self.counter.created
        if created:
            summary = "，".join(f"{kind} {n}" for kind, n in created.items())
            self.stdout.write(self.style.SUCCESS(f"新建：{summary}"))
        else:
            self.stdout.write(
                self.style.SUCCESS("没有新建任何数据（演示数据已齐全） (nothing new: the demo is complete)")
            )
        self._print_users()

    # --- the plan -------------------------------------------------------------------------------------
    def _plan(self, city: Region) -> list[tuple[Region, str, list[tuple[Region, str]]]]:
        """(county, slug, [(township, slug), ...]) for the selected part of the city."""
        plan: list[tuple[Region, str, list[tuple[Region, str]]]] = []
        for county_code, slug, townships in PRESETS.get(city.code[:4], []):
            county = Region.objects.filter(code=county_code.ljust(12, "0"), parent=city).first()
            towns = [
                (t, t_slug)
                for t_code, t_slug in townships
                if (t := Region.objects.filter(code=t_code.ljust(12, "0"), parent=county).first()) is not None
            ]
            if county is not None and towns:
                plan.append((county, slug, towns))
        if plan:
            return plan
        counties = city.children.filter(level=RegionLevel.COUNTY).order_by("code")
        for county in counties:
            found = [
                t
                for t in county.children.filter(level=RegionLevel.TOWNSHIP).order_by("code")
                if t.children.filter(level=RegionLevel.VILLAGE).exists()
            ][:TOWNSHIPS_PER_COUNTY]
            if found:
                n = len(plan) + 1
                plan.append((county, f"county{n}", [(t, f"t{i}") for i, t in enumerate(found, 1)]))
            if len(plan) == 2:
                break
        if not plan:
            raise CommandError(f"{city} 下没有县级区划及村（社区）(no counties with villages under the city)")
        return plan

    def _seed(self, city: Region) -> None:
        city_depts = self._departments(city, city.name, CITY_DEPARTMENTS)
        for role, part, label in [
            (Role.SYSTEM_ADMIN, "sysadmin", "系统管理员"),
            (Role.SECURITY_ADMIN, "secadmin", "安全管理员"),
            (Role.AUDITOR, "auditor", "安全审计员"),
            (Role.CENTER_DIRECTOR, "director", "综治中心主任"),
            (Role.CENTER_OPERATOR, "operator", "综治中心坐席"),
            (Role.LEADER_VIEWER, "leader", "分管领导"),
        ]:
            self._user(f"city_{part}", f"{city.name}{label}", role, city)
        self._handlers("city", city, city_depts, CITY_HANDLERS)

        geo_plan: list[tuple[str, list[tuple[str, list[str]]]]] = []
        for county, c_slug, townships in self._plan(city):
            county_depts = self._departments(county, county.name, COUNTY_DEPARTMENTS)
            for role, part, label in [
                (Role.SYSTEM_ADMIN, "sysadmin", "系统管理员"),
                (Role.SECURITY_ADMIN, "secadmin", "安全管理员"),
                (Role.CENTER_DIRECTOR, "director", "综治中心主任"),
                (Role.CENTER_OPERATOR, "operator", "综治中心坐席"),
                (Role.CENTER_OPERATOR, "operator2", "综治中心坐席二"),
            ]:
                self._user(f"{c_slug}_{part}", f"{county.name}{label}", role, county)
            self._handlers(c_slug, county, county_depts, COUNTY_HANDLERS)
            cadre_agency = next(
                (d.name for d in county_depts if d.kind == DepartmentKind.HOUSING), county.name
            )

            for township, t_slug in townships:
                prefix = f"{c_slug}_{t_slug}"
                t_depts = self._departments(township, township.name, TOWNSHIP_DEPARTMENTS)
                self._user(
                    f"{prefix}_operator", f"{township.name}综治中心坐席", Role.CENTER_OPERATOR, township
                )
                self._user(f"{prefix}_mediator", f"{township.name}调解员", Role.MEDIATOR, township)
                self._handlers(prefix, township, t_depts, TOWNSHIP_HANDLERS)
                villages = township.children.filter(level=RegionLevel.VILLAGE).order_by("code")
                t_plan: list[tuple[str, list[str]]] = []
                for v_index, village in enumerate(villages[:VILLAGES_PER_TOWNSHIP], 1):
                    grids = self._village(village, f"{prefix}_v{v_index}", v_index, cadre_agency)
                    t_plan.append((village.code, sorted(g.code for g in grids)))
                geo_plan.append((township.code, t_plan))
        self._boundaries(city, geo_plan)

    def _boundaries(self, city: Region, geo_plan: list[tuple[str, list[tuple[str, list[str]]]]]) -> None:
        """Plausible polygons: townships on a lattice around the city, split into their villages,
        villages into their grids — no gaps, no overlaps (zongzhi.geo.demo)."""
        written = demo_boundaries_apply(actor=None, layout=demo_layout(city.code, geo_plan))
        if written:
            self.counter.created["边界"] = written
            if self.verbosity >= 1:
                self.stdout.write(f"  + 边界：{written} 个乡镇、村（社区）与网格 (boundaries written)")

    def _village(self, village: Region, prefix: str, index: int, cadre_agency: str) -> list[Grid]:
        rng = random.Random(int(village.code))  # plausible, repeatable numbers
        count = 2 + (int(village.code) + index) % 3  # 2 to 4 grids
        grids = []
        for name in GRID_NAMES[:count]:
            grid = Grid.objects.filter(village=village, name=name).first()
            if grid is None:
                population = rng.randrange(600, 2400, 10)
                grid = services.grid_create(
                    actor=None,
                    village=village,
                    name=name,
                    population=population,
                    households=int(population / rng.uniform(2.4, 3.0)),
                )
                self._created("网格", grid)
            grids.append(grid)

        leader = self._user(f"{prefix}_leader", f"{village.name}网格长", Role.GRID_LEADER, village)
        worker1 = self._user(f"{prefix}_worker1", f"{village.name}专职网格员", Role.GRID_WORKER, village)
        worker2 = self._user(f"{prefix}_worker2", f"{village.name}兼职网格员", Role.GRID_WORKER, village)
        cadre = self._user(f"{prefix}_cadre", f"{village.name}下沉干部", Role.GRID_WORKER, village)
        for grid in grids:
            self._member(grid, leader, GridRole.LEADER, Employment.FULL_TIME)
        for grid in grids[:2]:
            self._member(grid, worker1, GridRole.WORKER, Employment.FULL_TIME)
        for grid in grids[2:] or grids[1:2]:
            self._member(grid, worker2, GridRole.WORKER, Employment.PART_TIME)
        self._member(grids[0], cadre, GridRole.WORKER, Employment.DEPLOYED_CADRE, agency=cadre_agency)
        return grids

    # --- idempotent building blocks ------------------------------------------------------------------------
    def _created(self, kind: str, obj: Any) -> None:
        self.counter.add(kind)
        if self.verbosity >= 1:
            self.stdout.write(f"  + {kind}：{obj}")

    def _departments(self, region: Region, prefix: str, specs: list[Any]) -> list[Department]:
        result = []
        for suffix, short, kind, posted in specs:
            name = f"{prefix}{suffix}"
            dept = Department.objects.filter(region=region, name=name).first()
            if dept is None:
                dept = services.department_create(
                    actor=None, region=region, name=name, kind=kind, short_name=short, posted_to_center=posted
                )
                self._created("部门", dept)
            result.append(dept)
        return result

    def _handlers(self, prefix: str, region: Region, depts: list[Department], which: dict[str, str]) -> None:
        for dept in depts:
            for suffix, part in which.items():
                if dept.name.endswith(suffix):
                    self._user(
                        f"{prefix}_{part}_handler",
                        f"{dept.name}承办人",
                        Role.DEPARTMENT_HANDLER,
                        region,
                        department=dept,
                    )

    def _user(
        self,
        username: str,
        display_name: str,
        role: str,
        region: Region,
        department: Department | None = None,
    ) -> User:
        user = User.objects.filter(username=username).first()
        if user is None:
            user = services.user_create(
                actor=None,
                username=username,
                password=DEMO_PASSWORD,
                display_name=display_name,
                department=department,
            )
            self._created("用户", username)
        if not RoleGrant.objects.filter(user=user, role=role, region=region).exists():
            services.role_grant(actor=None, user=user, role=role, region=region, department=department)
            self._created("授权", f"{username} · {Role(role).label} · {region.name}")
        self.users.append(DemoUser(username, display_name, role, region, department))
        return user

    def _member(self, grid: Grid, user: User, role: str, employment: str, agency: str = "") -> None:
        if GridMembership.objects.filter(grid=grid, user=user).exists():
            return
        if (
            role == GridRole.LEADER
            and GridMembership.objects.filter(grid=grid, role=GridRole.LEADER).exists()
        ):
            return
        services.grid_member_add(
            actor=None, grid=grid, user=user, role=role, employment=employment, agency=agency
        )
        self._created(
            "网格人员", f"{grid.name}（{grid.code}）· {user.username} · {Employment(employment).label}"
        )

    # --- report ---------------------------------------------------------------------------------------
    def _print_users(self) -> None:
        out = self.stdout
        out.write("")
        out.write(f"演示账号（共 {len(self.users)} 个，密码均为 {DEMO_PASSWORD}） (demo users; one password)")
        width = max(len(u.username) for u in self.users) + 2
        out.write(f"{'账号 username'.ljust(width)}  角色 role · 区域 region · 部门 department")
        for u in self.users:
            dept = f" · {u.department.name}" if u.department else ""
            out.write(
                f"{u.username.ljust(width)}  {Role(u.role).label} · {u.region.name}（{u.region.code}）{dept}"
            )
