"""Reads on the organisation, always through the scoping layer."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from .models import Grid, Region
from .paths import subtree_q
from .scoping import visible_to


def regions_for(
    user: Any, *, parent_code: str | None = None, level: str | None = None, text: str | None = None
) -> QuerySet[Region]:
    qs = visible_to(user, Region.objects.select_related("parent"))
    if parent_code:
        qs = qs.filter(parent__code=parent_code)
    if level:
        qs = qs.filter(level=level)
    if text:
        qs = qs.filter(name__contains=text)
    return qs.order_by("path")


def grids_for(user: Any, *, region_code: str | None = None) -> QuerySet[Grid]:
    qs = visible_to(user, Grid.objects.select_related("village"))
    if region_code:
        region = Region.objects.filter(code=region_code).only("path").first()
        qs = qs.filter(subtree_q("region_path", [region.path])) if region else qs.none()
    return qs.order_by("code")
