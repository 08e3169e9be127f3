"""Scoping, enforced once.

Every question "which rows may this user see?" and "may this user do X here?" is answered here.
A user's scope for a permission is the union of the region subtrees of their ``RoleGrant`` rows
whose role carries that permission. Outside it an object does not exist: callers use
``get_visible_or_404`` and never distinguish "absent" from "not yours".

A scoped model declares ``scope_perm`` (the permission needed to see its rows) and either a
``scope_field`` (its materialised region path column, default ``region_path``) or a classmethod
``scope_q(grants) -> Q`` for finer rules (e.g. a department handler sees only cases assigned to
their department).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Model, Q, QuerySet
from django.http import Http404

from .models import Region, RoleGrant, User
from .paths import ancestors_or_self, is_within, minimal_cover, subtree_q
from .roles import ROLE_PERMISSIONS, Role, roles_with

M = TypeVar("M", bound=Model)

_CACHE_ATTR = "_zz_grants"


@dataclass(frozen=True)
class GrantInfo:
    role: str
    path: str
    region_id: int
    department_id: int | None

    def has(self, perm: str) -> bool:
        return perm in ROLE_PERMISSIONS.get(self.role, frozenset())


def grants_of(user: Any) -> list[GrantInfo]:
    """The user's grants, loaded once per user object (i.e. once per request)."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return []
    cached = getattr(user, _CACHE_ATTR, None)
    if cached is None:
        cached = [
            GrantInfo(role=role, path=path, region_id=region_id, department_id=department_id)
            for role, path, region_id, department_id in RoleGrant.objects.filter(user_id=user.pk).values_list(
                "role", "region__path", "region_id", "department_id"
            )
        ]
        setattr(user, _CACHE_ATTR, cached)
    return cached


def forget_grants(user: Any) -> None:
    """Drop the per-object cache (after the user's grants changed)."""
    if hasattr(user, _CACHE_ATTR):
        delattr(user, _CACHE_ATTR)


def _is_root(user: Any) -> bool:
    # Superusers exist only to bootstrap an installation; they see everything.
    return bool(getattr(user, "is_superuser", False) and user.is_active)


def grants_with(user: Any, perm: str) -> list[GrantInfo]:
    return [g for g in grants_of(user) if g.has(perm)]


def scope_roots(user: Any, perm: str) -> list[str]:
    """The minimal set of region paths under which ``user`` holds ``perm``."""
    if _is_root(user):
        return [""]
    return minimal_cover({g.path for g in grants_with(user, perm)})


def _model_of(qs_or_model: QuerySet[M] | type[M]) -> tuple[type[M], QuerySet[M]]:
    if isinstance(qs_or_model, QuerySet):
        return qs_or_model.model, qs_or_model
    return qs_or_model, qs_or_model._default_manager.all()


def scope_filter(model: type[Model], user: Any, perm: str | None = None) -> Q:
    """The ``Q`` that restricts ``model`` to the rows ``user`` may see (for use inside queries,
    subqueries and annotations)."""
    perm = perm or getattr(model, "scope_perm", None)
    if perm is None:
        raise TypeError(f"{model.__name__} declares no scope_perm and none was given")
    if _is_root(user):
        return Q()
    grants = grants_with(user, perm)
    custom = getattr(model, "scope_q", None)
    if custom is not None:
        return custom(grants)  # type: ignore[no-any-return]
    field = getattr(model, "scope_field", "region_path")
    return subtree_q(field, [g.path for g in grants])


def visible_to(user: Any, qs_or_model: QuerySet[M] | type[M], perm: str | None = None) -> QuerySet[M]:
    """The rows of ``qs_or_model`` that ``user`` may see (needing ``perm``, default the model's)."""
    model, qs = _model_of(qs_or_model)
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return qs.none()
    return qs.filter(scope_filter(model, user, perm))


def get_visible_or_404(
    user: Any, qs_or_model: QuerySet[M] | type[M], perm: str | None = None, **lookup: Any
) -> M:
    """One visible row or ``Http404`` — the same answer for "absent" and "outside your scope"."""
    try:
        return visible_to(user, qs_or_model, perm).get(**lookup)
    except ObjectDoesNotExist as exc:
        raise Http404 from exc


def _path_of(target: Region | str | Any) -> str:
    if isinstance(target, str):
        return target
    if isinstance(target, Region):
        return target.path
    path = getattr(target, "region_path", None)
    if path is None:
        raise TypeError(f"cannot find a region path on {target!r}")
    return str(path)


def user_can(user: Any, perm: str, target: Region | str | Any) -> bool:
    """May ``user`` do ``perm`` at ``target`` (a region, a path, or any row with ``region_path``)?"""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if _is_root(user):
        return True
    path = _path_of(target)
    return any(is_within(path, g.path) for g in grants_with(user, perm))


def user_can_anywhere(user: Any, perm: str) -> bool:
    return _is_root(user) or bool(grants_with(user, perm))


def users_who_can(perm: str, target: Region | str | Any) -> QuerySet[User]:
    """Active users holding ``perm`` at ``target`` — through a grant on it or on an ancestor."""
    path = _path_of(target)
    return (
        User.objects.filter(
            is_active=True,
            grants__role__in=roles_with(perm),
            grants__region_path__in=ancestors_or_self(path),
        )
        .distinct()
        .order_by("id")
    )


def center_staff_who_can(perm: str, paths: Iterable[str]) -> dict[str, list[int]]:
    """For each region path: the active users who hold ``perm`` through a center grant (no
    department) on exactly that region — the staff of that region's center. One query for all
    paths (the sweep notifies hundreds of centers at once)."""
    wanted = sorted(set(paths))
    found: dict[str, set[int]] = {p: set() for p in wanted}
    if not wanted:
        return {}
    rows = RoleGrant.objects.filter(
        region_path__in=wanted,
        role__in=roles_with(perm),
        department__isnull=True,
        user__is_active=True,
    ).values_list("region_path", "user_id")
    for path, user_id in rows:
        found[path].add(user_id)
    return {p: sorted(ids) for p, ids in found.items()}


def department_handlers(department_ids: Iterable[int]) -> dict[int, list[int]]:
    """For each department: its active handlers (users with a department-handler grant for it)."""
    wanted = sorted(set(department_ids))
    found: dict[int, set[int]] = {d: set() for d in wanted}
    if not wanted:
        return {}
    rows = RoleGrant.objects.filter(
        department_id__in=wanted, role=Role.DEPARTMENT_HANDLER, user__is_active=True
    ).values_list("department_id", "user_id")
    for dept, user_id in rows:
        found[dept].add(user_id)
    return {d: sorted(ids) for d, ids in found.items()}
