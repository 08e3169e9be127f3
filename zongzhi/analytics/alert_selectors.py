"""Reads of the early warnings: alerts and rules in the user's scope, an alert's evidence."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q, QuerySet

from zongzhi.cases.models import Case
from zongzhi.core.crypto import decrypt
from zongzhi.core.masking import mask_phone
from zongzhi.orgs.models import Region
from zongzhi.orgs.paths import subtree_q
from zongzhi.orgs.roles import Perm
from zongzhi.orgs.scoping import get_visible_or_404, scope_roots, visible_to

from .alert_models import OPEN_ALERT_STATUSES, Alert, AlertAction, AlertRule


@dataclass
class AlertFilters:
    status: str | None = "open"  # "open" (new + acknowledged), a status, or None for all
    level: str | None = None
    kind: str | None = None
    region: str | None = None  # a region code: alerts owned in its subtree


def alert_list(user: Any, f: AlertFilters | None = None) -> QuerySet[Alert]:
    f = f or AlertFilters()
    qs = visible_to(user, Alert).select_related("owner_region", "rule")
    if f.status == "open":
        qs = qs.filter(status__in=OPEN_ALERT_STATUSES)
    elif f.status:
        qs = qs.filter(status=f.status)
    if f.level:
        qs = qs.filter(level=f.level)
    if f.kind:
        qs = qs.filter(kind=f.kind)
    if f.region:
        region = Region.objects.filter(code=f.region).first()
        qs = qs.filter(subtree_q("region_path", [region.path])) if region else qs.none()
    return qs.order_by("-raised_at", "-id")


def alert_counts(user: Any) -> dict[str, int]:
    """Open alerts in scope per level."""
    qs = visible_to(user, Alert).filter(status__in=OPEN_ALERT_STATUSES)
    return dict(qs.values("level").annotate(n=Count("id")).values_list("level", "n"))


def alert_get(user: Any, alert_id: int) -> Alert:
    alert: Alert = get_visible_or_404(
        user, Alert.objects.select_related("owner_region", "rule", "department", "disposed_by"), pk=alert_id
    )
    return alert


def alert_actions(alert: Alert) -> QuerySet[AlertAction]:
    return AlertAction.objects.filter(alert=alert).select_related("actor").order_by("at", "id")


@dataclass
class EvidenceCase:
    id: int
    number: str
    title: str
    created_at: Any
    state_label: str
    region_name: str
    address: str
    phone: str  # masked
    visible: bool


def alert_cases(user: Any, alert: Alert, limit: int = 500) -> tuple[list[EvidenceCase], int]:
    """The cases behind an alert, oldest first. A case the user may not open (e.g. a department
    handler's narrower case scope) is listed by number only. Returns (rows, total)."""
    ids = list(alert.links.values_list("case_id", flat=True))
    visible = set(visible_to(user, Case).filter(pk__in=ids).values_list("pk", flat=True))
    rows = []
    for case in Case.objects.filter(pk__in=ids).select_related("region").order_by("created_at", "id")[:limit]:
        shown = case.pk in visible
        phone = ""
        if shown and case.reporter_phone_enc:
            phone = mask_phone(decrypt(case.reporter_phone_enc))
        rows.append(
            EvidenceCase(
                id=case.pk,
                number=case.number,
                title=case.title if shown else "",
                created_at=case.created_at,
                state_label=case.get_state_display(),
                region_name=case.region.name,
                address=case.address if shown else "",
                phone=phone,
                visible=shown,
            )
        )
    return rows, len(ids)


def rule_list(user: Any) -> QuerySet[AlertRule]:
    return visible_to(user, AlertRule).select_related("region").order_by("region_path", "kind", "id")


def rule_get(user: Any, rule_id: int) -> AlertRule:
    rule: AlertRule = get_visible_or_404(user, AlertRule.objects.select_related("region"), pk=rule_id)
    return rule


def manageable_regions(user: Any, limit: int = 300) -> list[Region]:
    """Regions where ``user`` may configure rules: their ``alert.manage`` grant regions and the
    regions directly below them."""
    roots = [p for p in scope_roots(user, Perm.ALERT_MANAGE) if p]
    if not roots and scope_roots(user, Perm.ALERT_MANAGE) == [""]:  # superuser
        return list(Region.objects.filter(level__in=("city", "county")).order_by("path")[:limit])
    q = Q(path__in=roots)
    for root in roots:
        q |= Q(parent__path=root)
    return list(Region.objects.filter(q).order_by("path")[:limit])
