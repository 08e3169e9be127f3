"""seed_demo on the real division data: every role has a demo user, and a second run creates nothing."""

from __future__ import annotations

import json
from io import StringIO

import pytest
import shapely
from django.core.management import call_command
from shapely.geometry import shape

from zongzhi.orgs.management.commands.seed_demo import DEMO_PASSWORD
from zongzhi.orgs.models import (
    Center,
    Department,
    Employment,
    Grid,
    GridMembership,
    Region,
    RegionLevel,
    RoleGrant,
    User,
)
from zongzhi.orgs.roles import Perm, Role
from zongzhi.orgs.scoping import user_can, visible_to

pytestmark = pytest.mark.django_db


def counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (Region, Center, Department, User, RoleGrant, Grid, GridMembership)
    }


def run(**options) -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out, stderr=StringIO(), **options)
    return out.getvalue()


def test_seed_demo_hangzhou_every_role_and_idempotent():
    output = run(city="3301")
    city = Region.objects.get(code="330100000000")
    assert city.level == RegionLevel.CITY
    assert Region.objects.filter(path__startswith=city.path, level=RegionLevel.VILLAGE).count() > 3000
    assert Center.objects.filter(region=city).exists()

    assert {g.role for g in RoleGrant.objects.all()} == set(Role.values)
    for username, role, region_code in [
        ("city_sysadmin", Role.SYSTEM_ADMIN, "330100000000"),
        ("city_secadmin", Role.SECURITY_ADMIN, "330100000000"),
        ("city_auditor", Role.AUDITOR, "330100000000"),
        ("city_leader", Role.LEADER_VIEWER, "330100000000"),
        ("xihu_operator", Role.CENTER_OPERATOR, "330106000000"),
        ("yuhang_sysadmin", Role.SYSTEM_ADMIN, "330110000000"),
    ]:
        user = User.objects.get(username=username)
        assert RoleGrant.objects.filter(user=user, role=role, region__code=region_code).exists()
        assert user.check_password(DEMO_PASSWORD)
        assert username in output

    handlers = RoleGrant.objects.filter(role=Role.DEPARTMENT_HANDLER).select_related("user", "department")
    assert handlers and all(g.department and g.user.department == g.department for g in handlers)
    assert set(GridMembership.objects.values_list("employment", flat=True)) == set(Employment.values)
    assert all(
        2 <= village.grids.count() <= 4 for village in Region.objects.filter(grids__isnull=False).distinct()
    )
    assert all(g.population > 0 and g.households > 0 for g in Grid.objects.all())
    assert GridMembership.objects.filter(role="leader").count() == Grid.objects.count()

    # Scope works on the demo: a 西湖区 operator sees 西湖区's grids only.
    xihu = User.objects.get(username="xihu_operator")
    grids = visible_to(xihu, Grid)
    assert grids.exists() and all(g.code.startswith("330106") for g in grids)
    assert not user_can(xihu, Perm.CASE_ACCEPT, Region.objects.get(code="330110000000"))

    check_demo_boundaries()
    texts = boundary_texts()

    before = counts()
    again = run(city="3301")
    assert counts() == before
    assert "没有新建任何数据" in again
    assert boundary_texts() == texts
    assert "city_operator" in again  # the table of users is printed every time


def boundary_texts() -> dict[str, str]:
    texts = dict(Region.objects.exclude(boundary_geojson="").values_list("code", "boundary_geojson"))
    texts.update(Grid.objects.values_list("code", "polygon_geojson"))
    return texts


def check_demo_boundaries() -> None:
    """Every demo grid has a polygon; a village's grids tile the village (union equal, no overlaps),
    the villages tile their township, and the townships lie around Hangzhou without overlapping."""
    from zongzhi.geo.index import grid_at, grids_changed

    grids_changed()  # the seed bumps the index version on commit; a test transaction never commits
    grids = list(Grid.objects.select_related("village"))
    assert grids and all(g.polygon_geojson for g in grids)
    townships = Region.objects.filter(level=RegionLevel.TOWNSHIP).exclude(boundary_geojson="")
    assert townships.count() == 5
    t_polys = [shape(json.loads(t.boundary_geojson)) for t in townships]
    assert shapely.coverage_is_valid(t_polys)
    for t_poly in t_polys:
        x0, y0, x1, y1 = t_poly.bounds
        assert 119.9 < x0 < x1 < 120.5 and 30.1 < y0 < y1 < 30.5
    for township, t_poly in zip(townships, t_polys, strict=True):
        villages = list(township.children.exclude(boundary_geojson=""))
        assert len(villages) == 2
        v_polys = [shape(json.loads(v.boundary_geojson)) for v in villages]
        _tiles(t_poly, v_polys)
        for village, v_poly in zip(villages, v_polys, strict=True):
            v_grids = [g for g in grids if g.village_id == village.pk]
            g_polys = [shape(json.loads(g.polygon_geojson)) for g in v_grids]
            _tiles(v_poly, g_polys)
            for grid, poly in zip(v_grids, g_polys, strict=True):
                assert (grid.min_lon, grid.min_lat, grid.max_lon, grid.max_lat) == pytest.approx(poly.bounds)
                point = poly.representative_point()
                assert grid_at(point.x, point.y) == grid.pk


def _tiles(whole, parts) -> None:
    assert whole.is_valid and all(p.is_valid for p in parts)
    assert shapely.coverage_is_valid(parts)  # no overlaps, shared edges vertex for vertex
    for i, a in enumerate(parts):
        for b in parts[i + 1 :]:
            assert a.intersection(b).area < 1e-12
    union = shapely.union_all(parts)
    assert union.symmetric_difference(whole).area < 1e-10


def test_seed_demo_other_city_uses_first_counties():
    """A city without a preset: the first two counties with villages, generic usernames."""
    run(city="6502")
    assert User.objects.filter(username="county1_operator").exists()
    assert User.objects.filter(username="county2_t1_v1_leader").exists()
    grant = RoleGrant.objects.get(user__username="county1_t1_mediator")
    assert grant.region.level == RegionLevel.TOWNSHIP and grant.region.code.startswith("6502")
    assert Grid.objects.exclude(polygon_geojson="").count() == Grid.objects.count() > 0
    texts = boundary_texts()
    before = counts()
    run(city="6502")
    assert counts() == before
    assert boundary_texts() == texts
