"""Builders for tests: small region trees, users with grants. Real rows through the real services."""

from __future__ import annotations

import itertools
from typing import Any

from zongzhi.orgs import services
from zongzhi.orgs.models import Department, Grid, Region, RegionLevel, User
from zongzhi.orgs.paths import child_path

PASSWORD = "Zz-Test-Pass-2026!"
_seq = itertools.count(1)

_LEVEL_LEN = {
    RegionLevel.PROVINCE: 2,
    RegionLevel.CITY: 4,
    RegionLevel.COUNTY: 6,
    RegionLevel.TOWNSHIP: 9,
    RegionLevel.VILLAGE: 12,
}
_CHILD = {
    None: RegionLevel.PROVINCE,
    RegionLevel.PROVINCE: RegionLevel.CITY,
    RegionLevel.CITY: RegionLevel.COUNTY,
    RegionLevel.COUNTY: RegionLevel.TOWNSHIP,
    RegionLevel.TOWNSHIP: RegionLevel.VILLAGE,
}


def make_region(parent: Region | None, name: str, suffix: int, level: str | None = None) -> Region:
    """A region under ``parent`` whose code extends the parent's (statistical-code style)."""
    level = level or _CHILD[parent.level if parent else None]
    short_parent = parent.code[: _LEVEL_LEN[parent.level]] if parent else ""
    width = _LEVEL_LEN[level] - len(short_parent)
    short = f"{short_parent}{suffix:0{width}d}"
    code = short.ljust(12, "0")
    return Region.objects.create(
        code=code,
        name=name,
        level=level,
        parent=parent,
        path=child_path(parent.path if parent else "", code),
    )


def make_tree() -> dict[str, Region]:
    """province P · city C · counties A and B · townships A1, A2, B1 · villages A1a, A1b, A2a, B1a."""
    r: dict[str, Region] = {}
    r["P"] = make_region(None, "测试省", 33)
    r["C"] = make_region(r["P"], "测试市", 1)
    r["A"] = make_region(r["C"], "甲区", 2)
    r["B"] = make_region(r["C"], "乙区", 3)
    r["A1"] = make_region(r["A"], "甲一街道", 1)
    r["A2"] = make_region(r["A"], "甲二街道", 2)
    r["B1"] = make_region(r["B"], "乙一镇", 1)
    r["A1a"] = make_region(r["A1"], "甲一社区", 1)
    r["A1b"] = make_region(r["A1"], "甲一村", 2)
    r["A2a"] = make_region(r["A2"], "甲二社区", 1)
    r["B1a"] = make_region(r["B1"], "乙一村", 1)
    return r


def make_user(
    role: str | None = None,
    region: Region | None = None,
    *,
    department: Department | None = None,
    username: str | None = None,
    **extra: Any,
) -> User:
    user = services.user_create(
        actor=None,
        username=username or f"user{next(_seq)}",
        password=PASSWORD,
        display_name=extra.pop("display_name", ""),
        department=department,
    )
    if role is not None and region is not None:
        services.role_grant(actor=None, user=user, role=role, region=region, department=department)
    return user


def make_department(region: Region, name: str | None = None, kind: str = "other") -> Department:
    return services.department_create(actor=None, region=region, name=name or f"部门{next(_seq)}", kind=kind)


def make_grid(village: Region, name: str | None = None) -> Grid:
    return services.grid_create(actor=None, village=village, name=name or f"第{next(_seq)}网格")
