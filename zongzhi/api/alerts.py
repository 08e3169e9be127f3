"""Early warnings (研判预警) through the API: alerts in scope with their evidence, dispositions,
and the rules. Same services and selectors as the web pages."""

from __future__ import annotations

from datetime import datetime
from typing import Any, get_type_hints

from django.http import Http404, HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status
from ninja.pagination import LimitOffsetPagination, paginate

from zongzhi.analytics import alert_selectors as sel
from zongzhi.analytics import alerts
from zongzhi.analytics.alert_models import Alert, AlertKind, AlertLevel, AlertRule, AlertStatus
from zongzhi.api.pagination import MappedQuerySet
from zongzhi.core.errors import FieldError
from zongzhi.orgs.models import Region
from zongzhi.orgs.roles import Perm
from zongzhi.orgs.scoping import user_can_anywhere, visible_to

router = Router(tags=["alerts"])


class AlertOut(Schema):
    id: int
    kind: str
    kind_label: str
    level: str
    level_label: str
    title: str
    status: str
    status_label: str
    owner_region_code: str
    owner_region_name: str
    department_id: int | None
    case_count: int
    raised_at: datetime
    updated_at: datetime
    rule_id: int


class DispositionOut(Schema):
    action: str
    from_status: str
    to_status: str
    actor: str
    at: datetime
    note: str


class AlertDetailOut(AlertOut):
    figures: dict[str, Any]
    case_ids: list[int]
    disposed_at: datetime | None
    disposed_by: str | None
    disposition_note: str
    history: list[DispositionOut]
    allowed_actions: list[str]


class DispositionIn(Schema):
    action: str = Field(..., description="acknowledge | handle | false_alarm")
    note: str = Field("", max_length=2000)


def alert_out(a: Alert) -> dict[str, Any]:
    return {
        "id": a.pk,
        "kind": a.kind,
        "kind_label": a.get_kind_display(),
        "level": a.level,
        "level_label": a.get_level_display(),
        "title": a.title,
        "status": a.status,
        "status_label": a.get_status_display(),
        "owner_region_code": a.owner_region.code,
        "owner_region_name": a.owner_region.name,
        "department_id": a.department_id,
        "case_count": a.case_count,
        "raised_at": a.raised_at,
        "updated_at": a.updated_at,
        "rule_id": a.rule_id,
    }


def alert_detail_out(user: Any, a: Alert) -> dict[str, Any]:
    return {
        **alert_out(a),
        "figures": a.evidence.get("figures", {}),
        "case_ids": sorted(a.links.values_list("case_id", flat=True)),
        "disposed_at": a.disposed_at,
        "disposed_by": str(a.disposed_by) if a.disposed_by else None,
        "disposition_note": a.disposition_note,
        "history": [
            {
                "action": h.action,
                "from_status": h.from_status,
                "to_status": h.to_status,
                "actor": h.actor_label,
                "at": h.at,
                "note": h.note,
            }
            for h in sel.alert_actions(a)
        ],
        "allowed_actions": alerts.alert_actions_for(user, a),
    }


def _hints(fn: Any) -> Any:
    fn.__annotations__ = get_type_hints(fn)
    return fn


@router.get("/alerts", response=list[AlertOut])
@paginate(LimitOffsetPagination)
@_hints
def list_alerts(  # type: ignore[no-untyped-def]
    request: HttpRequest,
    status: str = "open",
    level: AlertLevel | None = None,
    kind: AlertKind | None = None,
    region: str | None = None,
):
    """Alerts owned in the caller's scope, newest first. ``status``: ``open`` (new and
    acknowledged, the default), ``all``, or one status."""
    if status not in ({"open", "all"} | set(AlertStatus.values)):
        raise FieldError(
            "status", "未知的状态，可选：open、all、" + "、".join(AlertStatus.values), code="invalid_choice"
        )
    f = sel.AlertFilters(status=None if status == "all" else status, level=level, kind=kind, region=region)
    return MappedQuerySet(sel.alert_list(request.user, f), alert_out)


@router.get("/alerts/{alert_id}", response=AlertDetailOut)
def get_alert(request: HttpRequest, alert_id: int) -> dict[str, Any]:
    return alert_detail_out(request.user, sel.alert_get(request.user, alert_id))


@router.post("/alerts/{alert_id}/disposition", response=AlertDetailOut)
def dispose_alert(request: HttpRequest, alert_id: int, payload: DispositionIn) -> dict[str, Any]:
    """Acknowledge, handle or mark as a false alarm (``note`` required for the last two)."""
    alerts.alert_dispose(
        actor=request.user,  # type: ignore[arg-type]
        alert_id=alert_id,
        action=payload.action,
        note=payload.note,
    )
    return alert_detail_out(request.user, sel.alert_get(request.user, alert_id))


# --- rules -------------------------------------------------------------------------------------------------


class RuleOut(Schema):
    id: int
    name: str
    kind: str
    kind_label: str
    level: str
    params: dict[str, Any]
    enabled: bool
    region_code: str
    region_name: str
    note: str
    last_scan_at: datetime | None


class RuleIn(Schema):
    name: str = Field(..., min_length=1, max_length=100)
    kind: AlertKind
    region_code: str = Field(..., max_length=12)
    level: AlertLevel = AlertLevel.YELLOW
    params: dict[str, Any] = Field(default_factory=dict)
    enabled: bool = True
    note: str = Field("", max_length=300)


class RulePatch(Schema):
    name: str | None = Field(None, min_length=1, max_length=100)
    level: AlertLevel | None = None
    params: dict[str, Any] | None = None
    enabled: bool | None = None
    note: str | None = Field(None, max_length=300)


class ParamSpecOut(Schema):
    name: str
    label: str
    default: Any
    type: str
    minimum: float | None
    maximum: float | None
    choices: list[str]


def rule_out(r: AlertRule) -> dict[str, Any]:
    return {
        "id": r.pk,
        "name": r.name,
        "kind": r.kind,
        "kind_label": r.get_kind_display(),
        "level": r.level,
        "params": r.params,
        "enabled": r.enabled,
        "region_code": r.region.code,
        "region_name": r.region.name,
        "note": r.note,
        "last_scan_at": r.last_scan_at,
    }


@router.get("/alert-rules", response=list[RuleOut])
def list_rules(request: HttpRequest) -> list[dict[str, Any]]:
    return [rule_out(r) for r in sel.rule_list(request.user)[:1000]]


@router.get("/alert-rules/kinds/{kind}", response=list[ParamSpecOut])
def rule_kind_params(request: HttpRequest, kind: AlertKind) -> list[dict[str, Any]]:
    """The parameters of a kind of rule, with defaults and ranges."""
    return [
        {
            "name": name,
            "label": spec.label,
            "default": spec.default,
            "type": spec.kind.__name__,
            "minimum": spec.minimum,
            "maximum": spec.maximum,
            "choices": list(spec.choices),
        }
        for name, spec in alerts.PARAM_SPECS[kind].items()
    ]


@router.post("/alert-rules", response={201: RuleOut})
def create_rule(request: HttpRequest, payload: RuleIn) -> Status[dict[str, Any]]:
    if not user_can_anywhere(request.user, Perm.ALERT_MANAGE):
        raise Http404
    region = visible_to(request.user, Region, Perm.ALERT_MANAGE).filter(code=payload.region_code).first()
    if region is None:
        raise FieldError("region_code", _("未知的区域或不在管辖范围内"), code="not_found")
    rule = alerts.alert_rule_create(
        actor=request.user,  # type: ignore[arg-type]
        region=region,
        kind=payload.kind,
        name=payload.name,
        level=payload.level,
        params=payload.params,
        enabled=payload.enabled,
        note=payload.note,
    )
    return Status(201, rule_out(rule))


@router.get("/alert-rules/{rule_id}", response=RuleOut)
def get_alert_rule(request: HttpRequest, rule_id: int) -> dict[str, Any]:
    return rule_out(sel.rule_get(request.user, rule_id))


@router.patch("/alert-rules/{rule_id}", response=RuleOut)
def update_rule(request: HttpRequest, rule_id: int, payload: RulePatch) -> dict[str, Any]:
    rule = alerts.alert_rule_update(
        actor=request.user,  # type: ignore[arg-type]
        rule_id=rule_id,
        name=payload.name,
        level=payload.level,
        params=payload.params,
        enabled=payload.enabled,
        note=payload.note,
    )
    return rule_out(rule)
