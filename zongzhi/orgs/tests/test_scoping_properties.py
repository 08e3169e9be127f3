"""Property tests: the scoping layer agrees with a brute-force oracle on random region trees.

Hypothesis draws a forest of regions (up to five levels, random fan-out), departments, centers,
grids and users with random role grants. The oracle then answers every scoping question in pure
Python by walking ``parent`` links of the generated tree — never by looking at materialised paths
— and the test checks that ``visible_to``, ``user_can`` and ``users_who_can`` give the same answers.

Two code styles are drawn: 12-digit statistical codes (as ``tests.factories.make_region`` builds
them) and short codes over a tiny alphabet, where sibling codes are often textual prefixes of each
other ("1", "12", "121"), the classic way a path-prefix check goes wrong.

Each example runs inside its own transaction (``hypothesis.extra.django.TestCase``), rolled back
afterwards.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db.models import Model
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from zongzhi.orgs import services
from zongzhi.orgs.models import Center, Department, Grid, Region, RegionLevel, RoleGrant, User
from zongzhi.orgs.paths import ancestors_or_self, child_path, is_within, minimal_cover, subtree_q
from zongzhi.orgs.roles import ROLE_PERMISSIONS, Perm, Role
from zongzhi.orgs.scoping import user_can, users_who_can, visible_to

LEVELS = [
    RegionLevel.PROVINCE,
    RegionLevel.CITY,
    RegionLevel.COUNTY,
    RegionLevel.TOWNSHIP,
    RegionLevel.VILLAGE,
]
# Length of the significant part of a statistical code per level (see tests/factories.py).
LEVEL_LEN = [2, 4, 6, 9, 12]
MAX_DEPTH = len(LEVELS)
ALL_PERMS = sorted(v for k, v in vars(Perm).items() if k.isupper())
ALL_ROLES = list(Role.values)

_seq = itertools.count(1)


# --- the drawn world (plain data, no database) --------------------------------------------------


@dataclass
class GrantSpec:
    role: str
    region: int  # index into WorldSpec.parents
    department: int | None  # index into WorldSpec.departments


@dataclass
class UserSpec:
    active: bool
    superuser: bool
    department: int | None
    grants: list[GrantSpec]


@dataclass
class WorldSpec:
    parents: list[int | None]  # parents[i] is the index of region i's parent (always < i)
    codes: list[str]
    departments: list[int]  # region index of each department
    centers: list[int]  # region indexes that get a center
    grids: list[int]  # region index of each grid
    users: list[UserSpec]
    perms: list[str]


def _depths(parents: list[int | None]) -> list[int]:
    depths: list[int] = []
    for p in parents:
        depths.append(0 if p is None else depths[p] + 1)
    return depths


def _statistical_codes(parents: list[int | None]) -> list[str]:
    """Codes that extend the parent's significant digits, as ``make_region`` does."""
    depths = _depths(parents)
    children_seen: dict[int | None, int] = {}
    shorts: list[str] = []
    for i, p in enumerate(parents):
        children_seen[p] = children_seen.get(p, 0) + 1
        parent_short = "" if p is None else shorts[p]
        width = LEVEL_LEN[depths[i]] - len(parent_short)
        shorts.append(f"{parent_short}{children_seen[p] + (10 if p is None else 0):0{width}d}")
    return [s.ljust(12, "0") for s in shorts]


@st.composite
def worlds(draw: Any) -> WorldSpec:
    n = draw(st.integers(min_value=1, max_value=18))
    parents: list[int | None] = []
    depths: list[int] = []
    for i in range(n):
        candidates: list[int | None] = (
            [None] if i == 0 else [j for j in range(i) if depths[j] < MAX_DEPTH - 1]
        )
        if i > 0 and draw(st.integers(0, 9)) == 0:
            candidates.append(None)  # now and then another root: a forest
        parent = draw(st.sampled_from(candidates or [None]))
        parents.append(parent)
        depths.append(0 if parent is None else depths[parent] + 1)

    if draw(st.booleans()):
        codes = _statistical_codes(parents)
    else:
        # Short codes over three letters: siblings whose codes are textual prefixes of each other.
        codes = draw(
            st.lists(st.text(alphabet="123", min_size=1, max_size=4), min_size=n, max_size=n, unique=True)
        )

    region_idx = st.integers(0, n - 1)
    departments = draw(st.lists(region_idx, max_size=4))
    centers = sorted(draw(st.sets(region_idx, max_size=4)))
    grids = draw(st.lists(region_idx, max_size=6))

    users: list[UserSpec] = []
    for _ in range(draw(st.integers(1, 5))):
        seen: set[tuple[str, int]] = set()
        grants: list[GrantSpec] = []
        for role, region in draw(st.lists(st.tuples(st.sampled_from(ALL_ROLES), region_idx), max_size=4)):
            if (role, region) in seen:
                continue
            seen.add((role, region))
            department = None
            if role == Role.DEPARTMENT_HANDLER:
                # A handler needs a department in the granted region's line; give them one there.
                departments.append(region)
                department = len(departments) - 1
            grants.append(GrantSpec(role=role, region=region, department=department))
        own_department = (
            draw(st.one_of(st.none(), st.integers(0, len(departments) - 1))) if departments else None
        )
        users.append(
            UserSpec(
                active=draw(st.integers(0, 9)) > 0,
                superuser=draw(st.integers(0, 14)) == 0,
                department=own_department,
                grants=grants,
            )
        )
    perms = draw(st.lists(st.sampled_from(ALL_PERMS), min_size=1, max_size=4, unique=True))
    return WorldSpec(
        parents=parents,
        codes=codes,
        departments=departments,
        centers=centers,
        grids=grids,
        users=users,
        perms=perms,
    )


# --- the world in the database, and the oracle ----------------------------------------------------


@dataclass
class World:
    regions: list[Region]
    parent_of: dict[int, int | None]  # region pk -> parent pk, from the drawn tree
    departments: list[Department]
    centers: list[Center]
    grids: list[Grid]
    users: list[User]
    # Oracle inputs, in plain Python: (user pk) -> [(role, region pk)]
    grants_by_user: dict[int, list[tuple[str, int]]] = field(default_factory=dict)
    specs: dict[int, UserSpec] = field(default_factory=dict)

    # The oracle. Nothing below reads a path.

    def ancestors_or_self(self, region_pk: int) -> set[int]:
        result: set[int] = set()
        current: int | None = region_pk
        while current is not None:
            assert current not in result, "cycle in the drawn tree"
            result.add(current)
            current = self.parent_of[current]
        return result

    def can(self, user: User, perm: str, region_pk: int) -> bool:
        spec = self.specs[user.pk]
        if not spec.active:
            return False
        if spec.superuser:
            return True
        return self.held_by_grant(user.pk, perm, region_pk)

    def held_by_grant(self, user_pk: int, perm: str, region_pk: int) -> bool:
        line = self.ancestors_or_self(region_pk)
        return any(
            perm in ROLE_PERMISSIONS[role] and granted_at in line
            for role, granted_at in self.grants_by_user[user_pk]
        )

    def region_of(self, obj: Model) -> int:
        if isinstance(obj, Region):
            return obj.pk
        if isinstance(obj, Grid):
            return obj.village_id
        return obj.region_id  # type: ignore[attr-defined,no-any-return]

    def expected_visible(self, user: Any, model: type[Model], perm: str) -> set[int]:
        if not getattr(user, "is_authenticated", False):
            return set()
        if model is User:
            return {u.pk for u in self.users if self.user_visible(user, u, perm)}
        rows: list[Any] = {
            Region: self.regions,
            Grid: self.grids,
            Department: self.departments,
            Center: self.centers,
            RoleGrant: list(RoleGrant.objects.filter(user__in=self.users)),
        }[model]
        return {row.pk for row in rows if self.can(user, perm, self.region_of(row))}

    def user_visible(self, viewer: User, other: User, perm: str) -> bool:
        """A user is visible where they hold a grant or belong to a department (User.scope_q)."""
        spec = self.specs[other.pk]
        places = [region for _, region in self.grants_by_user[other.pk]]
        if spec.department is not None:
            places.append(self.departments[spec.department].region_id)
        if self.specs[viewer.pk].active and self.specs[viewer.pk].superuser:
            return True
        return any(self.can(viewer, perm, place) for place in places)

    def expected_users_who_can(self, perm: str, region_pk: int) -> set[int]:
        return {
            u.pk for u in self.users if self.specs[u.pk].active and self.held_by_grant(u.pk, perm, region_pk)
        }


def build_world(spec: WorldSpec) -> World:
    run = next(_seq)
    depths = _depths(spec.parents)
    regions: list[Region] = []
    for i, (parent, code) in enumerate(zip(spec.parents, spec.codes, strict=True)):
        parent_region = None if parent is None else regions[parent]
        regions.append(
            Region.objects.create(
                code=code,
                name=f"区域{i}",
                level=LEVELS[depths[i]],
                parent=parent_region,
                path=child_path(parent_region.path if parent_region else "", code),
            )
        )
    parent_of = {
        r.pk: (None if p is None else regions[p].pk) for r, p in zip(regions, spec.parents, strict=True)
    }
    departments = [
        Department.objects.create(region=regions[r], region_path=regions[r].path, name=f"部门{i}")
        for i, r in enumerate(spec.departments)
    ]
    centers = [
        Center.objects.create(region=regions[r], region_path=regions[r].path, name=f"中心{r}")
        for r in spec.centers
    ]
    grids = [
        Grid.objects.create(
            code=f"{run % 1000:03d}{i:012d}",
            name=f"网格{i}",
            village=regions[r],
            region_path=regions[r].path,
        )
        for i, r in enumerate(spec.grids)
    ]
    world = World(
        regions=regions, parent_of=parent_of, departments=departments, centers=centers, grids=grids, users=[]
    )
    for i, uspec in enumerate(spec.users):
        user = User.objects.create(
            username=f"u{run}_{i}",
            is_active=uspec.active,
            is_superuser=uspec.superuser,
            department=None if uspec.department is None else departments[uspec.department],
        )
        for g in uspec.grants:
            services.role_grant(
                actor=None,
                user=user,
                role=g.role,
                region=regions[g.region],
                department=None if g.department is None else departments[g.department],
            )
        world.users.append(user)
        world.specs[user.pk] = uspec
        world.grants_by_user[user.pk] = [(g.role, regions[g.region].pk) for g in uspec.grants]
    return world


SCOPED_MODELS: list[type[Model]] = [Region, Grid, Department, Center, RoleGrant, User]


def _pks(qs: Any) -> set[int]:
    return set(qs.values_list("pk", flat=True))


class ScopingAgreesWithOracle(TestCase):
    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(spec=worlds())
    def test_scoping_agrees_with_a_parent_walking_oracle(self, spec: WorldSpec) -> None:
        world = build_world(spec)
        # Fresh objects: nothing cached from the writes above.
        viewers: list[Any] = [User.objects.get(pk=u.pk) for u in world.users]
        anonymous = AnonymousUser()

        for viewer in [*viewers, anonymous]:
            who = getattr(viewer, "username", "anonymous")
            for model in SCOPED_MODELS:
                perms = [model.scope_perm, *spec.perms]  # type: ignore[attr-defined]
                for perm in perms:
                    got = _pks(visible_to(viewer, model, perm))
                    assert got == world.expected_visible(viewer, model, perm), (
                        f"visible_to({who}, {model.__name__}, {perm})"
                    )
                # A queryset narrows the same way as the model.
                default = model.scope_perm  # type: ignore[attr-defined]
                assert _pks(visible_to(viewer, model.objects.all())) == _pks(
                    visible_to(viewer, model, default)
                )

            for perm in {*spec.perms, Perm.REGION_VIEW, Perm.GRID_VIEW}:
                for region in world.regions:
                    expected_can = viewer is not anonymous and world.can(viewer, perm, region.pk)
                    assert user_can(viewer, perm, region) is expected_can, (
                        f"user_can({who}, {perm}, {region.path})"
                    )
                    assert user_can(viewer, perm, region.path) is expected_can
                for grid in world.grids:
                    expected_can = viewer is not anonymous and world.can(viewer, perm, grid.village_id)
                    assert user_can(viewer, perm, grid) is expected_can, (
                        f"user_can({who}, {perm}, grid {grid.pk})"
                    )

        for perm in {*spec.perms, Perm.CASE_HANDLE}:
            for region in world.regions:
                got = _pks(users_who_can(perm, region))
                assert got == world.expected_users_who_can(perm, region.pk), (
                    f"users_who_can({perm}, {region.path})"
                )
                assert _pks(users_who_can(perm, region.path)) == got


# --- paths.py ---------------------------------------------------------------------------------------


def _path(codes: list[str]) -> str:
    path = ""
    for code in codes:
        path = child_path(path, code)
    return path


def test_child_path_and_ancestors():
    assert _path(["33", "3301", "330102"]) == "33/3301/330102/"
    assert ancestors_or_self("33/3301/330102/") == ["33/", "33/3301/", "33/3301/330102/"]
    assert ancestors_or_self("33/") == ["33/"]
    assert ancestors_or_self("") == []


def test_textual_prefix_of_a_sibling_is_not_an_ancestor():
    one, twelve = "9/1/", "9/12/"
    assert one not in ancestors_or_self(twelve)
    assert not is_within(twelve, one)
    assert not is_within("9/1/", "9/12/")
    assert minimal_cover([one, twelve]) == [one, twelve]
    assert minimal_cover(["1/", "12/", "12/5/"]) == ["1/", "12/"]


def test_minimal_cover_examples():
    assert minimal_cover([]) == []
    assert minimal_cover(["1/2/", "1/", "1/2/3/", "4/"]) == ["1/", "4/"]
    assert minimal_cover({"1/2/", "1/3/", "1/2/"}) == ["1/2/", "1/3/"]


code_lists = st.lists(st.text(alphabet="0129", min_size=1, max_size=3), min_size=1, max_size=5)


@settings(max_examples=200, deadline=None)
@given(codes=code_lists)
def test_ancestors_or_self_are_the_cumulative_prefixes(codes: list[str]) -> None:
    path = _path(codes)
    expected = [_path(codes[: i + 1]) for i in range(len(codes))]
    assert ancestors_or_self(path) == expected
    for ancestor in expected:
        assert is_within(path, ancestor)


@settings(max_examples=200, deadline=None)
@given(paths=st.lists(code_lists.map(_path), max_size=8))
def test_minimal_cover_properties(paths: list[str]) -> None:
    cover = minimal_cover(paths)
    # A subset of the input, without duplicates, sorted.
    assert set(cover) <= set(paths)
    assert cover == sorted(set(cover))
    # Nothing in the cover lies under another member of the cover.
    for a in cover:
        for b in cover:
            assert a == b or b not in ancestors_or_self(a)
    # Every input lies under (ancestors_or_self is the oracle for "under") some member of the cover.
    for p in paths:
        assert any(c in ancestors_or_self(p) for c in cover)


@pytest.mark.django_db
def test_subtree_q_matches_descendants_only():
    def region(parent: Region | None, code: str) -> Region:
        return Region.objects.create(
            code=code,
            name=code,
            level=LEVELS[0 if parent is None else LEVELS.index(parent.level) + 1],
            parent=parent,
            path=child_path(parent.path if parent else "", code),
        )

    root = region(None, "9")
    one = region(root, "1")
    twelve = region(root, "12")  # "1" is a textual prefix of "12": a sibling, not an ancestor
    one_child = region(one, "3")
    twelve_child = region(twelve, "13")
    other_root = region(None, "91")  # "9" is a textual prefix of "91"

    def matched(roots: list[str]) -> set[str]:
        return set(Region.objects.filter(subtree_q("path", roots)).values_list("code", flat=True))

    assert matched([one.path]) == {"1", "3"}
    assert matched([twelve.path]) == {"12", "13"}
    assert matched([root.path]) == {"9", "1", "12", "3", "13"}
    assert matched([other_root.path]) == {"91"}
    assert matched([one_child.path, twelve_child.path]) == {"3", "13"}
    assert matched([root.path, one.path]) == matched([root.path])
    assert matched([]) == set()


@pytest.mark.django_db
def test_path_columns_order_bytewise_whatever_the_database_collation():
    """``subtree_q`` is a range ``[root, root + "~")``: right only where the column orders "/" <
    digits < "~". Every ``PathField`` column must do so, even in a database created with an ICU or
    language collation (there "~" sorts before digits and subtree queries would come back empty)."""
    from django.apps import apps
    from django.db import connection

    from zongzhi.core.fields import PathField

    checked = 0
    with connection.cursor() as cursor:
        for model in apps.get_models():
            for field in model._meta.concrete_fields:
                if not isinstance(field, PathField):
                    continue
                table = connection.ops.quote_name(model._meta.db_table)
                column = connection.ops.quote_name(field.column)
                cursor.execute(
                    f"SELECT %s < %s COLLATE {_collation(connection, field)}",
                    ["11/22/", "11/~"],
                )
                assert cursor.fetchone()[0], f"{table}.{column} does not order paths byte by byte"
                checked += 1
    assert checked >= 10


def _collation(connection, field) -> str:
    name = field.db_parameters(connection).get("collation")
    if name:
        return connection.ops.quote_name(name)
    return "BINARY" if connection.vendor == "sqlite" else '"default"'
