"""Writes on cases: intake, the one transition function, supervision, responsibility rules.

Rules (ARCHITECTURE.md): every service takes keyword-only arguments with a required ``actor``
(``None`` only for the public portal and the system sweep), runs in one transaction, writes the
timeline row in that transaction, and runs outside effects with ``transaction.on_commit``.
``case_transition`` is the only code that changes ``Case.state``: it locks the row, rejects an
illegal move before writing (``Conflict`` → 409), checks the permission in the case's region
subtree and records a ``CaseEvent``.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from zongzhi.core.bulk import RowInserter
from zongzhi.core.calendar import current_calendar
from zongzhi.core.crypto import blind_index, encrypt, sm3_hex
from zongzhi.core.errors import Conflict, FieldError, NotFound, PermissionDeniedError
from zongzhi.geo.index import grid_at
from zongzhi.notifications.services import Message, notify, notify_many
from zongzhi.orgs.models import Department, Grid, Region, User
from zongzhi.orgs.paths import ancestors_or_self, is_within, subtree_q
from zongzhi.orgs.roles import Perm
from zongzhi.orgs.scoping import (
    center_staff_who_can,
    department_handlers,
    grants_with,
    user_can,
    visible_to,
)

from . import deadlines
from .attachments import UploadedFile, validate_upload
from .models import (
    AssignmentRole,
    Case,
    CaseAssignment,
    CaseAttachment,
    CaseEvent,
    CaseKind,
    CaseNumberCounter,
    CaseState,
    Category,
    Channel,
    IdempotencyRecord,
    Rating,
    ResponsibilityRule,
    Stage,
    Supervision,
    SupervisionKind,
    Urgency,
)
from .states import SAME, SYSTEM_ACTIONS, Transition, target_state, transition_for

TRACKING_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


# --- settings of the loop -------------------------------------------------------------------


def _remind_ratio() -> float:
    return float(getattr(settings, "ZZ_REMIND_RATIO", 0.8))


def _listed_margin() -> timedelta:
    return timedelta(hours=int(getattr(settings, "ZZ_LISTED_MARGIN_HOURS", 72)))


def _rating_days() -> int:
    return int(getattr(settings, "ZZ_RATING_DAYS", 7))


def _max_auto_reopens() -> int:
    return int(getattr(settings, "ZZ_MAX_AUTO_REOPENS", 2))


def _supervision_reply_hours() -> int:
    return int(getattr(settings, "ZZ_SUPERVISION_REPLY_HOURS", 24))


# --- deadlines -------------------------------------------------------------------------------------


def category_policy(category: Category | None) -> deadlines.CategoryPolicy:
    if category is None:
        return deadlines.CategoryPolicy()
    return deadlines.CategoryPolicy(
        accept_hours=category.accept_hours,
        dispatch_hours=category.dispatch_hours,
        urgent_dispatch_hours=category.urgent_dispatch_hours,
        acknowledge_hours=category.acknowledge_hours,
        urgent_acknowledge_hours=category.urgent_acknowledge_hours,
        handle_days=category.handle_days,
        complex_handle_days=category.complex_handle_days,
        urgent_handle_hours=category.urgent_handle_hours,
        reply_hours=category.reply_hours,
        is_complex=category.is_complex,
    )


def _policy_due(
    case: Case, stage: str, start: datetime
) -> tuple[deadlines.StagePolicy | None, datetime | None]:
    policy = deadlines.stage_policy(
        stage, category_policy(case.category), case.urgency, rating_days=_rating_days()
    )
    if policy is None:
        return None, None
    return policy, deadlines.due_at(start, policy, current_calendar().is_workday)


def _set_due(case: Case, start: datetime, due: datetime | None, now: datetime) -> None:
    """Store the stage's due time and the sweep thresholds; the SLA level restarts from what ``now``
    already implies is not yet raised (the sweep raises it)."""
    if due is None:
        case.due_at = case.remind_at = case.list_at = case.next_sla_at = None
        case.sla_level = 0
        return
    if case.stage == Stage.RATE:
        # The rating window: no reminders; at its end the sweep archives the case as "not rated".
        case.due_at = case.remind_at = case.list_at = due
        case.sla_level = 0
        case.next_sla_at = due
        return
    t = deadlines.thresholds(start, due, remind_ratio=_remind_ratio(), listed_margin=_listed_margin())
    case.due_at, case.remind_at, case.list_at = t.due_at, t.remind_at, t.list_at
    case.sla_level = 0
    case.next_sla_at = deadlines.next_check_at(0, t)


def _handle_clock_start(case: Case) -> datetime:
    """When the handling deadline was computed: at the dispatch, for a stage started by the
    acknowledgement; at the reopen, for a stage started by a reopen."""
    if case.dispatched_at is not None and case.acknowledged_at == case.stage_started_at:
        return case.dispatched_at
    return case.stage_started_at


def _start_clock(case: Case, stage: str, now: datetime) -> None:
    case.stage = stage
    case.stage_seq += 1
    case.stage_started_at = now
    case.due_overridden = False
    if stage == Stage.HANDLE and case.handle_due_at is not None:
        # The deadline fixed at dispatch (or reopen). When it is the category's policy it stays
        # policy-driven (a calendar change may move it: ``deadlines_recompute``); a deadline set by
        # hand is kept as it is.
        due: datetime | None = case.handle_due_at
        policy, policy_due = _policy_due(case, Stage.HANDLE, _handle_clock_start(case))
        if policy is not None and policy_due == due:
            case.stage_policy = policy.encode()
        else:
            case.due_overridden = True
            case.stage_policy = ""
    else:
        policy, due = _policy_due(case, stage, now)
        case.stage_policy = policy.encode() if policy else ""
    _set_due(case, now, due, now)


def handle_due_for(case: Case, start: datetime) -> datetime:
    _, due = _policy_due(case, Stage.HANDLE, start)
    assert due is not None
    return due


# --- timeline -------------------------------------------------------------------------------------------


def _actor_label(actor: Any) -> str:
    if actor is None:
        return _("系统")
    if isinstance(actor, str):
        return actor
    return str(actor)


def _event(
    case: Case,
    *,
    action: str,
    actor: Any,
    from_state: str,
    note: str = "",
    data: dict[str, Any] | None = None,
    department: Department | None = None,
    at: datetime,
    collect: list[CaseEvent] | None = None,
) -> CaseEvent:
    """The next timeline row of ``case`` (its sequence number taken from the case). Saved at once,
    or, when ``collect`` is given, appended to it unsaved for one bulk insert by the caller."""
    case.last_event_seq += 1
    row = CaseEvent(
        case=case,
        seq=case.last_event_seq,
        action=action,
        actor=actor if isinstance(actor, User) else None,
        actor_label=_actor_label(actor)[:120],
        department=department,
        at=at,
        from_state=from_state,
        to_state=case.state,
        note=note,
        data=data or {},
        region_path=case.region_path,
    )
    if collect is None:
        row.save(force_insert=True)
    else:
        collect.append(row)
    return row


# --- intake -----------------------------------------------------------------------------------------------


@dataclass
class ReportInput:
    channel: str
    title: str
    description: str
    kind: str = CaseKind.EVENT
    category_code: str | None = None
    urgency: str = Urgency.NORMAL
    region_code: str | None = None
    reporter_name: str = ""
    reporter_phone: str = ""
    is_anonymous: bool = False
    address: str = ""
    lon: float | None = None
    lat: float | None = None
    external_ref: str = ""
    resolved_on_site: bool = False
    result: str = ""
    attachments: Sequence[UploadedFile] = field(default_factory=list)

    def digest(self) -> str:
        body = {k: v for k, v in self.__dict__.items() if k != "attachments"}
        body["attachments"] = [hashlib.sha256(a.content).hexdigest() for a in self.attachments]
        return sm3_hex(json.dumps(body, sort_keys=True, ensure_ascii=False, default=str).encode())


@dataclass
class ReportResult:
    case: Case
    tracking_code: str | None  # the clear code, only on first creation
    created: bool


def _validate_report(data: ReportInput, *, public: bool) -> None:
    if data.channel not in Channel.values:
        raise FieldError("channel", _("未知的渠道。"), code="invalid_choice")
    if data.kind not in CaseKind.values:
        raise FieldError("kind", _("未知的类型。"), code="invalid_choice")
    if data.urgency not in Urgency.values:
        raise FieldError("urgency", _("未知的紧急程度。"), code="invalid_choice")
    title = data.title.strip()
    if not title:
        raise FieldError("title", _("请填写标题。"), code="required")
    if len(title) > 120:
        raise FieldError("title", _("标题不能超过120个字。"), code="too_long")
    if not data.description.strip():
        raise FieldError("description", _("请填写具体内容。"), code="required")
    if len(data.description) > 5000:
        raise FieldError("description", _("内容不能超过5000个字。"), code="too_long")
    if len(data.address) > 200:
        raise FieldError("address", _("地址不能超过200个字。"), code="too_long")
    if (data.lon is None) != (data.lat is None):
        raise FieldError("lon", _("经度和纬度须同时填写。"), code="incomplete")
    if data.lon is not None and data.lat is not None:
        if not (73.0 <= data.lon <= 136.0):
            raise FieldError("lon", _("经度超出范围（73–136）。"), code="out_of_range")
        if not (3.0 <= data.lat <= 54.0):
            raise FieldError("lat", _("纬度超出范围（3–54）。"), code="out_of_range")
    if not data.is_anonymous:
        if public and not data.reporter_phone.strip():
            raise FieldError("reporter_phone", _("请填写联系电话，或选择匿名反映。"), code="required")
        phone = data.reporter_phone.strip()
        if phone and (not phone.replace("-", "").isdigit() or not (7 <= len(phone) <= 20)):
            raise FieldError("reporter_phone", _("电话号码格式不正确。"), code="invalid")
        if len(data.reporter_name) > 50:
            raise FieldError("reporter_name", _("姓名不能超过50个字。"), code="too_long")
    if len(data.external_ref) > 40:
        raise FieldError("external_ref", _("外部工单号不能超过40个字符。"), code="too_long")
    if data.resolved_on_site and not data.result.strip():
        raise FieldError("result", _("自行处置须填写处置结果。"), code="required")
    for upload in data.attachments:
        validate_upload(upload)


def _next_number(now: datetime) -> str:
    day = timezone.localtime(now).strftime("%Y%m%d")
    with connection.cursor() as cursor:
        table = CaseNumberCounter._meta.db_table
        cursor.execute(
            f"INSERT INTO {table} (day, last) VALUES (%s, 1) "  # noqa: S608 - table name is ours
            f"ON CONFLICT (day) DO UPDATE SET last = {table}.last + 1 RETURNING last",
            [day],
        )
        (seq,) = cursor.fetchone()
    return f"ZZ{day}{seq:05d}"


def tracking_digest(number: str, code: str) -> str:
    return sm3_hex(f"{number}:{code.strip().upper()}".encode())


def _owner_region(actor: Any, region: Region) -> Region:
    """The center that owns a new case.

    - Center staff: the deepest of their accepting regions that covers the case's region (the
      center where it was registered).
    - Otherwise (citizens, grid workers): the nearest staffed center at or above the case's region —
      the village's work station first (小事不出村), else its township, and so on — so that a report
      always lands in a queue someone works. With no staffed center at all, the region itself."""
    if isinstance(actor, User):
        covering = [g for g in grants_with(actor, Perm.CASE_ACCEPT) if is_within(region.path, g.path)]
        if covering:
            best = max(covering, key=lambda g: len(g.path))
            return Region.objects.get(pk=best.region_id)
    from zongzhi.orgs.models import RoleGrant
    from zongzhi.orgs.roles import roles_with

    staffed = set(
        RoleGrant.objects.filter(
            role__in=roles_with(Perm.CASE_ACCEPT),
            region_path__in=ancestors_or_self(region.path),
            department__isnull=True,
            user__is_active=True,
        ).values_list("region_path", flat=True)
    )
    if not staffed or region.path in staffed:
        return region
    return Region.objects.get(path=max(staffed, key=len))


def case_report(
    *,
    actor: User | None,
    data: ReportInput,
    idempotency_key: str | None = None,
    ip: str | None = None,
    now: datetime | None = None,
) -> ReportResult:
    """Register a case (登记). ``actor=None`` is a citizen on the public portal; ``now`` backdates a
    registration (historical records, demo data).

    Invariants: a retried request with the same ``idempotency_key`` and body returns the first case
    and creates nothing; the same key with another body is refused (422, field ``Idempotency-Key``).
    Staff report only inside their scope; a grid worker's ``resolved_on_site`` report enters the loop
    already resolved (自行处置) with the reply clock running."""
    public = actor is None
    if data.is_anonymous:  # an anonymous report keeps no name or phone, whatever was sent
        data.reporter_name = ""
        data.reporter_phone = ""
    _validate_report(data, public=public)
    scope = "public" if public else f"user:{actor.pk}"  # type: ignore[union-attr]
    digest = data.digest()
    if idempotency_key:
        if len(idempotency_key) > 100:
            raise FieldError("Idempotency-Key", _("幂等键不能超过100个字符。"), code="too_long")
        found = _idempotent_replay(scope, idempotency_key, digest)
        if found is not None:
            return ReportResult(case=found, tracking_code=None, created=False)
    category = None
    if data.category_code:
        category = (
            Category.objects.filter(code=data.category_code, is_active=True).select_related("parent").first()
        )
        if category is None:
            raise FieldError("category_code", _("未知的事项分类。"), code="invalid_choice")
    grid_id = grid_at(data.lon, data.lat) if data.lon is not None and data.lat is not None else None
    grid = Grid.objects.select_related("village").filter(pk=grid_id).first() if grid_id else None
    region: Region | None = None
    if data.region_code:
        region = Region.objects.filter(code=data.region_code).first()
        if region is None:
            raise FieldError("region_code", _("未知的区域代码。"), code="invalid_choice")
        if grid is not None and not is_within(grid.region_path, region.path):
            grid = None  # the point lies outside the named region: keep the region, no grid
    elif grid is not None:
        region = grid.village
    if region is None:
        raise FieldError("region_code", _("请选择所在区域，或在地图上标注位置。"), code="required")
    if not public:
        perm = Perm.CASE_RESOLVE_ON_SITE if data.resolved_on_site else Perm.CASE_REPORT
        if not user_can(actor, perm, region):
            if data.resolved_on_site:
                raise PermissionDeniedError(_("无权登记自行处置事项。"), code="forbidden")
            raise FieldError("region_code", _("所选区域不在您的管辖范围内。"), code="out_of_scope")
    elif data.resolved_on_site:
        raise PermissionDeniedError(_("群众上报不能直接办结。"), code="forbidden")

    now = now or timezone.now()
    tracking_code = "".join(secrets.choice(TRACKING_ALPHABET) for _ in range(8))
    owner = _owner_region(actor, region)
    try:
        with transaction.atomic():
            number = _next_number(now)
            case = Case(
                number=number,
                tracking_digest=tracking_digest(number, tracking_code),
                kind=data.kind,
                channel=data.channel,
                title=data.title.strip(),
                description=data.description.strip(),
                category=category,
                urgency=data.urgency,
                is_anonymous=data.is_anonymous,
                reporter_name_enc=encrypt(data.reporter_name.strip()) if data.reporter_name.strip() else "",
                reporter_phone_enc=encrypt(data.reporter_phone.strip())
                if data.reporter_phone.strip()
                else "",
                reporter_phone_index=(
                    blind_index(data.reporter_phone, purpose="phone") if data.reporter_phone.strip() else ""
                ),
                reporter_user=actor,
                address=data.address.strip(),
                lon=data.lon,
                lat=data.lat,
                grid=grid,
                region=region,
                region_path=region.path,
                owner_region=owner,
                owner_path=owner.path,
                external_ref=data.external_ref.strip(),
                state=CaseState.REPORTED,
                stage=Stage.ACCEPT,
                stage_seq=0,
                stage_started_at=now,
                created_at=now,
                updated_at=now,
            )
            if data.resolved_on_site:
                case.state = CaseState.RESOLVED
                case.resolved_on_site = True
                case.result = data.result.strip()
                case.accepted_at = case.resolved_at = now
                _start_clock(case, Stage.REPLY, now)
            else:
                _start_clock(case, Stage.ACCEPT, now)
            case.save()
            _event(
                case,
                action="resolve_on_site" if data.resolved_on_site else "report",
                actor=actor or _("群众"),
                from_state=CaseState.REPORTED,
                note=case.result if data.resolved_on_site else "",
                data={"channel": data.channel, "ip": ip} if public else {"channel": data.channel},
                at=now,
            )
            _save_attachments(case, data.attachments, actor=actor, event_seq=case.last_event_seq)
            Case.objects.filter(pk=case.pk).update(last_event_seq=case.last_event_seq)
            if idempotency_key:
                IdempotencyRecord.objects.create(
                    scope=scope, key=idempotency_key, body_digest=digest, case=case
                )
    except IntegrityError:
        if idempotency_key:
            found = _idempotent_replay(scope, idempotency_key, digest)
            if found is not None:
                return ReportResult(case=found, tracking_code=None, created=False)
        raise
    if not data.resolved_on_site:
        transaction.on_commit(lambda: _notify_center(case, _("新事件待受理"), Perm.CASE_ACCEPT), robust=True)
    return ReportResult(case=case, tracking_code=tracking_code, created=True)


def _idempotent_replay(scope: str, key: str, digest: str) -> Case | None:
    record = IdempotencyRecord.objects.select_related("case").filter(scope=scope, key=key).first()
    if record is None:
        return None
    if record.body_digest != digest:
        raise FieldError(
            "Idempotency-Key", _("该幂等键已用于内容不同的请求。"), code="idempotency_key_reused"
        )
    return record.case


def _save_attachments(case: Case, uploads: Sequence[UploadedFile], *, actor: Any, event_seq: int) -> None:
    for upload in uploads:
        attachment = CaseAttachment(
            case=case,
            event_seq=event_seq,
            original_name=upload.name[:200],
            content_type=upload.content_type,
            size=len(upload.content),
            sha256=hashlib.sha256(upload.content).hexdigest(),
            uploaded_by=actor if isinstance(actor, User) else None,
            region_path=case.region_path,
        )
        attachment.file.save(
            f"{secrets.token_hex(12)}{upload.extension}", ContentFile(upload.content), save=False
        )
        attachment.save()


# --- the transition ------------------------------------------------------------------------------------


@dataclass
class Ctx:
    case: Case
    actor: Any
    transition: Transition
    note: str
    data: dict[str, Any]
    now: datetime
    department: Department | None = None
    event_data: dict[str, Any] = field(default_factory=dict)
    after: list[Callable[[], None]] = field(default_factory=list)
    followups: list[tuple[str, str]] = field(default_factory=list)  # (action, note) run as the system


def _handler_departments(actor: Any) -> set[int]:
    return {g.department_id for g in grants_with(actor, Perm.CASE_HANDLE) if g.department_id is not None}


def _authorize(ctx: Ctx) -> None:
    t, case, actor = ctx.transition, ctx.case, ctx.actor
    if actor is None:  # the system (sweep, public portal via its own checks)
        return
    if t.actor == "center":
        if not user_can(actor, t.perm, case.owner_path):
            raise PermissionDeniedError(_("只有承办中心可以执行此操作。"), code="forbidden", action=t.action)
        return
    if t.actor == "department":
        mine = _handler_departments(actor)
        if t.action == "report_part":
            parts = CaseAssignment.objects.filter(
                case=case, is_current=True, role=AssignmentRole.ASSISTING, department_id__in=mine
            ).select_related("department")
            part = parts.first()
            if part is None:
                raise PermissionDeniedError(
                    _("只有协办单位可以报送协办结果。"), code="forbidden", action=t.action
                )
            ctx.department = part.department
            return
        if case.lead_department_id in mine:
            ctx.department = case.lead_department
            return
        if (
            t.action == "resolve"
            and ctx.data.get("override_parts")
            and user_can(actor, Perm.CASE_DISPATCH, case.owner_path)
        ):
            return  # the center resolves on the lead's behalf, overriding missing parts (recorded)
        raise PermissionDeniedError(_("只有牵头单位可以执行此操作。"), code="forbidden", action=t.action)
    if not user_can(actor, t.perm, case.region_path):
        raise PermissionDeniedError(_("无权执行此操作。"), code="forbidden", action=t.action)


def case_transition(
    *,
    actor: User | None,
    case_id: int,
    action: str,
    note: str = "",
    data: dict[str, Any] | None = None,
    attachments: Sequence[UploadedFile] = (),
    ip: str | None = None,
    now: datetime | None = None,
) -> Case:
    """Perform ``action`` on the case. The one function that changes ``Case.state``.

    Order: lock the row → (actor) the case must be visible, else ``NotFound`` → the move must be in
    the table for the current state, else ``Conflict`` with the current state → permission in the
    case's region subtree → note rule → the action's own checks → write state, clock and timeline
    row in one transaction → notifications after commit."""
    t = transition_for(action)
    if t is None:
        raise FieldError("action", _("未知的操作。"), code="invalid_choice")
    data = dict(data or {})
    note = (note or "").strip()
    if len(note) > 5000:
        raise FieldError("note", _("说明不能超过5000个字。"), code="too_long")
    for upload in attachments:
        validate_upload(upload)
    now = now or timezone.now()
    with transaction.atomic():
        qs = Case.objects.select_for_update() if connection.features.has_select_for_update else Case.objects
        case = qs.filter(pk=case_id).first()
        if case is None:
            raise NotFound(_("案件不存在。"))
        if actor is not None and not visible_to(actor, Case).filter(pk=case_id).exists():
            raise NotFound(_("案件不存在。"))
        if case.state not in t.sources or not t.applies_to(case.kind):
            raise Conflict(
                _("当前状态（%(state)s）不能执行“%(action)s”。")
                % {"state": CaseState(case.state).label, "action": _(t.label)},
                code="illegal_transition",
                current_state=case.state,
                action=action,
            )
        ctx = Ctx(case=case, actor=actor, transition=t, note=note, data=data, now=now)
        _authorize(ctx)
        if t.note_required and not note:
            raise FieldError(
                "note", _("请填写“%(action)s”的说明。") % {"action": _(t.label)}, code="required"
            )
        _apply(ctx)
        if attachments:
            _save_attachments(case, attachments, actor=actor, event_seq=case.last_event_seq)
        case.save()
        for follow_action, follow_note in ctx.followups:
            _system_transition(case, follow_action, follow_note, now)
            case.save()
    for callback in ctx.after:
        # robust: the action is committed; a failing notification is logged, not reported as a failure
        transaction.on_commit(callback, robust=True)
    return case


def _apply(ctx: Ctx, collect: list[CaseEvent] | None = None) -> None:
    """Run the action's handler, move the state, start the clock, write the timeline row (or add
    it to ``collect`` for a bulk insert)."""
    case, t = ctx.case, ctx.transition
    from_state = case.state
    _HANDLERS[t.action](ctx)
    case.state = target_state(t, from_state)
    if t.clock is not None:
        _start_clock(case, t.clock, ctx.now)
    case.updated_at = ctx.now
    _event(
        case,
        action=t.action,
        actor=ctx.actor,
        from_state=from_state,
        note=ctx.note,
        data=ctx.event_data,
        department=ctx.department,
        at=ctx.now,
        collect=collect,
    )


def _system_transition(
    case: Case, action: str, note: str, now: datetime, collect: list[CaseEvent] | None = None
) -> None:
    t = transition_for(action)
    assert t is not None
    if case.state not in t.sources:
        raise Conflict(_("状态已变化。"), code="illegal_transition", current_state=case.state, action=action)
    ctx = Ctx(case=case, actor=None, transition=t, note=note, data={}, now=now)
    _apply(ctx, collect)


# --- handlers (one per action; they check the action's own rules and set its fields) ---------------------


def _h_accept(ctx: Ctx) -> None:
    ctx.case.accepted_at = ctx.case.accepted_at or ctx.now


def _h_decline(ctx: Ctx) -> None:
    ctx.case.decline_reason = ctx.note[:200]


def _h_merge(ctx: Ctx) -> None:
    case = ctx.case
    master_ref = ctx.data.get("master")
    if not master_ref:
        raise FieldError("master", _("请指定主案件编号。"), code="required")
    master_qs = Case.objects.filter(
        Q(number=str(master_ref)) | Q(pk=int(master_ref) if str(master_ref).isdigit() else -1)
    )
    if ctx.actor is not None:
        master_qs = visible_to(ctx.actor, master_qs)
    master = master_qs.first()
    if master is None:
        raise FieldError("master", _("主案件不存在。"), code="not_found")
    if master.pk == case.pk:
        raise FieldError("master", _("不能与自身合并。"), code="self")
    if master.state in (CaseState.DECLINED, CaseState.ARCHIVED):
        raise FieldError("master", _("主案件已结束，不能合并。"), code="closed")
    case.master = master
    case.decline_reason = (_("重复件，并入 %(number)s") % {"number": master.number})[:200]
    ctx.event_data = {"master": master.number}


def _h_escalate(ctx: Ctx) -> None:
    case = ctx.case
    owner = Region.objects.select_related("parent").get(pk=case.owner_region_id)
    if owner.parent is None:
        raise FieldError("action", _("已是最高层级，不能再上报。"), code="top_level")
    parent = owner.parent
    ctx.event_data = {"from": owner.code, "to": parent.code}
    case.owner_region = parent
    case.owner_path = parent.path
    case.escalation_count += 1
    case.accepted_at = None
    ctx.after.append(lambda: _notify_center(case, _("下级上报事件待受理"), Perm.CASE_ACCEPT))


def _departments_by_id(ids: Sequence[Any], field_name: str) -> list[Department]:
    try:
        wanted = [int(i) for i in ids]
    except (TypeError, ValueError) as exc:
        raise FieldError(field_name, _("部门编号须为整数。"), code="invalid") from exc
    found = {d.pk: d for d in Department.objects.filter(pk__in=wanted, is_active=True)}
    missing = [i for i in wanted if i not in found]
    if missing:
        raise FieldError(field_name, _("部门不存在或已停用：%(ids)s") % {"ids": missing}, code="not_found")
    return [found[i] for i in wanted]


def rule_in_force(category: Category | None, region_path: str, on: date) -> ResponsibilityRule | None:
    """The responsibility rule for ``category`` (or, failing that, its parent category) at the
    deepest region on ``region_path`` that has one, in force on ``on``."""
    if category is None:
        return None
    categories = [category.pk] + ([category.parent_id] if category.parent_id else [])
    candidates = (
        ResponsibilityRule.objects.filter(
            category_id__in=categories,
            region_path__in=ancestors_or_self(region_path),
            effective_from__lte=on,
        )
        .filter(Q(effective_to__isnull=True) | Q(effective_to__gt=on))
        .select_related("lead_department")
        .prefetch_related("assisting_departments")
    )
    best: ResponsibilityRule | None = None
    for rule in candidates:
        key = (len(rule.region_path), rule.category_id == category.pk, rule.version)
        if best is None or key > (len(best.region_path), best.category_id == category.pk, best.version):
            best = rule
    return best


def _h_dispatch(ctx: Ctx) -> None:
    case = ctx.case
    rule = rule_in_force(case.category, case.region_path, timezone.localdate(ctx.now))
    lead_id = ctx.data.get("lead_department_id")
    assisting_ids = ctx.data.get("assisting_department_ids")
    if lead_id is None:
        if rule is None:
            raise FieldError(
                "lead_department_id", _("权责清单中没有适用的规则，请人工指定牵头单位。"), code="required"
            )
        lead = rule.lead_department
        assisting = list(rule.assisting_departments.all()) if assisting_ids is None else []
        ctx.event_data["rule"] = {"key": rule.rule_key, "version": rule.version}
        case.dispatch_rule = rule
    else:
        (lead,) = _departments_by_id([lead_id], "lead_department_id")
        assisting = []
        case.dispatch_rule = rule if rule is not None and rule.lead_department_id == lead.pk else None
    if assisting_ids is not None:
        assisting = _departments_by_id(list(assisting_ids), "assisting_department_ids")
    assisting = [d for d in assisting if d.pk != lead.pk]
    for dept, field_name in [(lead, "lead_department_id")] + [
        (d, "assisting_department_ids") for d in assisting
    ]:
        if not is_within(dept.region_path, case.owner_path):
            raise FieldError(
                field_name, _("“%(name)s”不在承办中心的辖区内。") % {"name": dept.name}, code="out_of_scope"
            )
    due = ctx.data.get("handle_due_at")
    if due is not None:
        if isinstance(due, str):
            try:
                due = datetime.fromisoformat(due)
            except ValueError as exc:
                raise FieldError("handle_due_at", _("办理期限格式不正确。"), code="invalid") from exc
        if timezone.is_naive(due):
            due = timezone.make_aware(due)
        if due <= ctx.now:
            raise FieldError("handle_due_at", _("办理期限必须晚于当前时间。"), code="in_past")
        case.handle_due_at = due
    else:
        case.handle_due_at = handle_due_for(case, ctx.now)
    seq = (
        CaseAssignment.objects.filter(case=case)
        .order_by("-dispatch_seq")
        .values_list("dispatch_seq", flat=True)
        .first()
        or 0
    ) + 1
    CaseAssignment.objects.filter(case=case, is_current=True).update(is_current=False)
    CaseAssignment.objects.bulk_create(
        [
            CaseAssignment(
                case=case,
                department=lead,
                role=AssignmentRole.LEAD,
                dispatch_seq=seq,
                region_path=case.region_path,
            )
        ]
        + [
            CaseAssignment(
                case=case,
                department=d,
                role=AssignmentRole.ASSISTING,
                dispatch_seq=seq,
                region_path=case.region_path,
            )
            for d in assisting
        ]
    )
    case.lead_department = lead
    case.is_returned = False
    case.dispatched_at = ctx.now
    ctx.event_data.update(
        {
            "lead": {"id": lead.pk, "name": lead.name},
            "assisting": [{"id": d.pk, "name": d.name} for d in assisting],
            "handle_due_at": case.handle_due_at.isoformat(),
        }
    )
    dept_ids = [lead.pk] + [d.pk for d in assisting]
    ctx.after.append(lambda: _notify_departments(case, dept_ids, _("新派单待签收")))


def _h_acknowledge(ctx: Ctx) -> None:
    case = ctx.case
    CaseAssignment.objects.filter(case=case, is_current=True, department=case.lead_department).update(
        acknowledged_at=ctx.now
    )
    case.acknowledged_at = ctx.now


def _h_return(ctx: Ctx) -> None:
    case = ctx.case
    ctx.event_data = {"department": {"id": case.lead_department_id, "name": str(case.lead_department)}}
    CaseAssignment.objects.filter(case=case, is_current=True).update(is_current=False)
    case.lead_department = None
    case.handle_due_at = None
    case.is_returned = True
    case.return_count += 1
    case.extension_pending = False
    case.extension_requested_until = None
    ctx.after.append(lambda: _notify_center(case, _("派单被退回"), Perm.CASE_DISPATCH))


def _h_report_part(ctx: Ctx) -> None:
    if ctx.department is None and ctx.actor is None:
        # the system records a part on a department's behalf (imports, demo data): it must name it
        part = (
            CaseAssignment.objects.filter(
                case=ctx.case,
                is_current=True,
                role=AssignmentRole.ASSISTING,
                department_id=int(ctx.data.get("department_id") or 0),
            )
            .select_related("department")
            .first()
        )
        if part is None:
            raise FieldError("department_id", _("请指定报送结果的协办单位。"), code="required")
        ctx.department = part.department
    updated = CaseAssignment.objects.filter(
        case=ctx.case, is_current=True, role=AssignmentRole.ASSISTING, department=ctx.department
    ).update(part_result=ctx.note, part_done_at=ctx.now)
    assert updated == 1, "report_part must update exactly the actor's assisting part"
    ctx.event_data = (
        {"department": {"id": ctx.department.pk, "name": ctx.department.name}} if ctx.department else {}
    )


def _parse_until(value: Any, field_name: str) -> datetime:
    if isinstance(value, datetime):
        until = value
    else:
        try:
            until = datetime.fromisoformat(str(value))
        except ValueError as exc:
            raise FieldError(field_name, _("时间格式不正确。"), code="invalid") from exc
    if timezone.is_naive(until):
        until = timezone.make_aware(until)
    return until


def _h_request_extension(ctx: Ctx) -> None:
    case = ctx.case
    if case.extension_pending:
        raise Conflict(_("已有延期申请待审批。"), code="extension_pending", current_state=case.state)
    if "until" not in ctx.data:
        raise FieldError("until", _("请填写申请延期至的时间。"), code="required")
    until = _parse_until(ctx.data["until"], "until")
    if case.due_at is not None and until <= case.due_at:
        raise FieldError("until", _("延期后的期限须晚于当前期限。"), code="not_later")
    case.extension_pending = True
    case.extension_requested_until = until
    ctx.event_data = {
        "until": until.isoformat(),
        "current_due_at": case.due_at.isoformat() if case.due_at else None,
    }
    ctx.after.append(lambda: _notify_center(case, _("延期申请待审批"), Perm.CASE_APPROVE_EXTENSION))


def _h_approve_extension(ctx: Ctx) -> None:
    case = ctx.case
    if not case.extension_pending or case.extension_requested_until is None:
        raise Conflict(_("没有待审批的延期申请。"), code="no_extension_pending", current_state=case.state)
    until = case.extension_requested_until
    if "until" in ctx.data:  # the center may grant less than was asked
        until = _parse_until(ctx.data["until"], "until")
        if case.due_at is not None and until <= case.due_at:
            raise FieldError("until", _("延期后的期限须晚于当前期限。"), code="not_later")
    ctx.event_data = {"from": case.due_at.isoformat() if case.due_at else None, "to": until.isoformat()}
    case.handle_due_at = until
    case.extension_pending = False
    case.extension_requested_until = None
    case.due_overridden = True
    level = case.sla_level
    _set_due(case, case.stage_started_at, until, ctx.now)
    # Notices already raised in this stage stay raised (one per stage and kind, as after a
    # recompute); the next check follows from them against the new deadline.
    case.sla_level = level
    t = deadlines.Thresholds(due_at=until, remind_at=case.remind_at, list_at=case.list_at)  # type: ignore[arg-type]
    case.next_sla_at = deadlines.next_check_at(level, t)


def _h_reject_extension(ctx: Ctx) -> None:
    case = ctx.case
    if not case.extension_pending:
        raise Conflict(_("没有待审批的延期申请。"), code="no_extension_pending", current_state=case.state)
    case.extension_pending = False
    case.extension_requested_until = None


def _h_resolve(ctx: Ctx) -> None:
    case = ctx.case
    missing = list(
        CaseAssignment.objects.filter(
            case=case, is_current=True, role=AssignmentRole.ASSISTING, part_done_at__isnull=True
        ).values_list("department__name", flat=True)
    )
    if missing:
        if not ctx.data.get("override_parts"):
            raise Conflict(
                _("协办单位尚未报送结果：%(names)s") % {"names": "、".join(missing)},
                code="parts_missing",
                current_state=case.state,
                missing=missing,
            )
        if not user_can(ctx.actor, Perm.CASE_DISPATCH, case.owner_path):
            raise PermissionDeniedError(_("只有承办中心可以在协办未完成时办结。"), code="forbidden")
        ctx.event_data["override_parts"] = missing
    case.result = ctx.note
    case.resolved_at = ctx.now
    case.extension_pending = False
    case.extension_requested_until = None
    ctx.after.append(lambda: _notify_center(case, _("事件已办结待反馈"), Perm.CASE_REPLY))


def _h_reply(ctx: Ctx) -> None:
    method = ctx.data.get("method", "")
    ctx.case.reply_text = ctx.note
    ctx.case.replied_at = ctx.now
    ctx.event_data = {"method": str(method)[:40]} if method else {}


def _h_rate(ctx: Ctx) -> None:
    case = ctx.case
    rating = ctx.data.get("rating")
    if rating not in (Rating.SATISFIED, Rating.BASICALLY_SATISFIED, Rating.UNSATISFIED):
        raise FieldError("rating", _("请选择满意、基本满意或不满意。"), code="invalid_choice")
    if case.rating:
        raise Conflict(_("本轮办理已评价。"), code="already_rated", current_state=case.state)
    comment = str(ctx.data.get("comment", "")).strip()
    if len(comment) > 500:
        raise FieldError("comment", _("评价意见不能超过500个字。"), code="too_long")
    case.rating = rating
    case.rating_comment = comment
    case.rated_at = ctx.now
    ctx.event_data = {"rating": rating, "comment": comment, "by": ctx.data.get("by", "callback")}
    if rating == Rating.UNSATISFIED and case.reopen_count < _max_auto_reopens():
        ctx.followups.append(("reopen", _("群众评价不满意，自动重办。")))


def _h_reopen(ctx: Ctx) -> None:
    case = ctx.case
    if case.lead_department_id is None:
        raise Conflict(_("没有牵头单位，无法重办。"), code="no_department", current_state=case.state)
    ctx.event_data = {"previous_rating": case.rating}
    case.reopen_count += 1
    case.rating = ""
    case.rating_comment = ""
    case.rated_at = None
    case.resolved_at = None
    case.replied_at = None
    case.handle_due_at = handle_due_for(case, ctx.now)
    dept_ids = [case.lead_department_id]
    ctx.after.append(lambda: _notify_departments(case, dept_ids, _("事件重办")))


def _h_archive(ctx: Ctx) -> None:
    case = ctx.case
    if not case.rating:
        if case.due_at is not None and ctx.now < case.due_at and not ctx.data.get("force"):
            raise Conflict(
                _("评价期未满且尚未评价，不能归档。"), code="rating_window_open", current_state=case.state
            )
        case.rating = Rating.NOT_RATED
        ctx.event_data = {"rating": Rating.NOT_RATED}
    case.archived_at = ctx.now


def _h_supervise(ctx: Ctx) -> None:
    case = ctx.case
    kind = ctx.data.get("kind", SupervisionKind.SUPERVISION)
    if kind not in SupervisionKind.values:
        raise FieldError("kind", _("未知的督办类型。"), code="invalid_choice")
    supervising = _supervising_region(ctx.actor, case)
    notice = Supervision.objects.create(
        case=case,
        kind=kind,
        stage=case.stage,
        stage_seq=case.stage_seq,
        is_manual=True,
        department=case.lead_department,
        supervising_region=supervising,
        opened_by=ctx.actor if isinstance(ctx.actor, User) else None,
        reason=ctx.note[:300],
        created_at=ctx.now,
        reply_due_at=ctx.now + timedelta(hours=_supervision_reply_hours()),
        region_path=case.region_path,
    )
    if kind != SupervisionKind.REMINDER:
        case.open_supervisions += 1
    ctx.event_data = {"supervision": notice.pk, "kind": kind}
    ctx.after.append(lambda: _notify_supervision([notice.pk]))


def _supervising_region(actor: Any, case: Case) -> Region:
    if isinstance(actor, User):
        covering = [g for g in grants_with(actor, Perm.CASE_SUPERVISE) if is_within(case.region_path, g.path)]
        if covering:
            return Region.objects.get(pk=min(covering, key=lambda g: len(g.path)).region_id)
    return Region.objects.get(pk=case.owner_region_id)


_HANDLERS: dict[str, Callable[[Ctx], None]] = {
    "accept": _h_accept,
    "decline": _h_decline,
    "merge": _h_merge,
    "escalate": _h_escalate,
    "dispatch": _h_dispatch,
    "acknowledge": _h_acknowledge,
    "return": _h_return,
    "report_part": _h_report_part,
    "request_extension": _h_request_extension,
    "approve_extension": _h_approve_extension,
    "reject_extension": _h_reject_extension,
    "resolve": _h_resolve,
    "reply": _h_reply,
    "rate": _h_rate,
    "reopen": _h_reopen,
    "archive": _h_archive,
    "supervise": _h_supervise,
}


def register_handler(action: str, handler: Callable[[Ctx], None]) -> None:
    """Install the handler of a kind-specific action of the table (``Transition.kinds``), from the app
    that owns that kind (disputes, at start-up): the handler runs inside ``case_transition`` like the
    ones above. Refuses an action the table does not have and a second, different handler."""
    t = transition_for(action)
    if t is None or not t.kinds:
        raise ValueError(f"{action!r} is not a kind-specific action of the workflow table")
    if _HANDLERS.get(action, handler) is not handler:
        raise ValueError(f"a handler for {action!r} is registered already")
    _HANDLERS[action] = handler


# --- public portal -------------------------------------------------------------------------------------------


def public_case(number: str, code: str) -> Case:
    """The case behind a number and its tracking code (NotFound for a wrong pair: no oracle)."""
    case = Case.objects.filter(number=number.strip().upper()).first()
    if case is None or not secrets.compare_digest(case.tracking_digest, tracking_digest(case.number, code)):
        raise NotFound(_("编号或查询码不正确。"))
    return case


def case_rate_public(
    *, number: str, code: str, rating: str, comment: str = "", ip: str | None = None
) -> Case:
    """The reporter rates through the tracking code (评价)."""
    case = public_case(number, code)
    return case_transition(
        actor=None,
        case_id=case.pk,
        action="rate",
        data={"rating": rating, "comment": comment, "by": "reporter"},
        ip=ip,
    )


# --- supervision ------------------------------------------------------------------------------------------------


def supervision_reply(*, actor: User, supervision_id: int, text: str, ip: str | None = None) -> Supervision:
    """The responsible department answers a supervision notice (its own reply deadline)."""
    text = text.strip()
    if not text:
        raise FieldError("text", _("请填写督办回复。"), code="required")
    with transaction.atomic():
        notice = visible_to(actor, Supervision.objects.select_for_update()).filter(pk=supervision_id).first()
        if notice is None:
            raise NotFound(_("督办不存在。"))
        if notice.replied_at is not None:
            raise Conflict(_("该督办已回复。"), code="already_replied")
        mine = _handler_departments(actor)
        if notice.department_id not in mine and not user_can(
            actor, Perm.CASE_DISPATCH, notice.case.owner_path
        ):
            raise PermissionDeniedError(_("只有责任单位可以回复督办。"))
        now = timezone.now()
        notice.replied_at = now
        notice.reply_text = text
        notice.replied_by = actor
        notice.save(update_fields=["replied_at", "reply_text", "replied_by"])
        case = (
            Case.objects.select_for_update().get(pk=notice.case_id)
            if connection.features.has_select_for_update
            else notice.case
        )
        _event(
            case,
            action="supervision_reply",
            actor=actor,
            from_state=case.state,
            note=text,
            data={"supervision": notice.pk, "on_time": now <= notice.reply_due_at},
            at=now,
        )
        answered = 0 if notice.kind == SupervisionKind.REMINDER else 1
        Case.objects.filter(pk=case.pk).update(
            last_event_seq=case.last_event_seq, open_supervisions=F("open_supervisions") - answered
        )
    return notice


# --- the deadline sweep -------------------------------------------------------------------------------------------

_LEVEL_KIND = {1: SupervisionKind.REMINDER, 2: SupervisionKind.SUPERVISION, 3: SupervisionKind.LISTED}
_LEVEL_ACTION = {1: "remind", 2: "supervise_auto", 3: "list"}


@dataclass
class SweepReport:
    examined: int = 0
    reminders: int = 0
    supervisions: int = 0
    listed: int = 0
    archived: int = 0
    lost_races: int = 0


def sla_sweep(*, now: datetime | None = None, batch_size: int = 1000) -> SweepReport:
    """Raise, once each per stage, a reminder (催办) when a stage is due soon, a supervision (督办) when
    overdue and a listed supervision (挂牌督办) when overdue beyond the margin; archive cases whose
    rating window ended with no rating ("not rated").

    Index-backed (``next_sla_at``), batched, and idempotent: each case is updated only if it still
    has the SLA level and stage it was read with (compare-and-set), and a unique constraint admits
    one automatic notice per (case, stage, kind). Running it twice creates nothing twice."""
    now = now or timezone.now()
    report = SweepReport()
    # One pass over the sweep index for the ids, then the rows batch by batch by primary key (a
    # batch query per ``pk > last`` would scan every due row again for each batch).
    due_ids = list(Case.objects.filter(next_sla_at__lte=now).order_by("pk").values_list("pk", flat=True))
    skip_locked = connection.features.has_select_for_update_skip_locked
    for start in range(0, len(due_ids), batch_size):
        with transaction.atomic():
            if connection.vendor == "postgresql":
                # idempotent work: a crash loses at most the last batches, which the next run redoes
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL synchronous_commit TO OFF")
            qs = Case.objects.filter(pk__in=due_ids[start : start + batch_size], next_sla_at__lte=now)
            if skip_locked:
                qs = qs.select_for_update(skip_locked=True)
            rows = list(
                qs.order_by("pk").values_list(
                    "pk",
                    "state",
                    "stage",
                    "stage_seq",
                    "sla_level",
                    "stage_started_at",
                    "due_at",
                    "remind_at",
                    "list_at",
                    "lead_department_id",
                    "owner_region_id",
                    "region_path",
                    "last_event_seq",
                )
            )
            if not rows:
                continue
            report.examined += len(rows)
            _sweep_batch(rows, now, report, locked=skip_locked)
    return report


_NOTICE_COLUMNS = (
    "case_id",
    "kind",
    "stage",
    "stage_seq",
    "is_manual",
    "department_id",
    "supervising_region_id",
    "opened_by_id",
    "reason",
    "created_at",
    "reply_due_at",
    "replied_at",
    "reply_text",
    "replied_by_id",
    "region_path",
)
_EVENT_COLUMNS = (
    "case_id",
    "seq",
    "action",
    "actor_id",
    "actor_label",
    "department_id",
    "at",
    "from_state",
    "to_state",
    "note",
    "data",
    "region_path",
)


def _sweep_batch(
    rows: list[tuple[Any, ...]], now: datetime, report: SweepReport, *, locked: bool = False
) -> None:
    # The notices and timeline rows are built as plain tuples in the column order above and written
    # with core.bulk (COPY on PostgreSQL): at thousands of cases a minute, model instances and the
    # ORM's per-value preparation cost more than the database's own work.
    notices: list[tuple[Any, ...]] = []
    events: list[tuple[Any, ...]] = []
    by_level: dict[tuple[int, int], list[int]] = {}
    archive_ids: list[int] = []
    reply_due = now + timedelta(hours=_supervision_reply_hours())
    system = str(_("系统"))
    reasons: dict[tuple[int, str], str] = {}
    for pk, state, stage, stage_seq, level, _started, due, remind, list_at, dept, owner, path, seq in rows:
        if stage == Stage.RATE:
            archive_ids.append(pk)
            continue
        t = deadlines.Thresholds(due_at=due, remind_at=remind, list_at=list_at)
        new_level = deadlines.sla_level_at(now, t)
        if new_level <= level:
            continue
        by_level.setdefault((level, new_level), []).append(pk)
        data = {"stage": stage, "stage_seq": stage_seq, "due_at": due.isoformat()}
        for lvl in range(level + 1, new_level + 1):
            seq += 1
            reason = reasons.get((lvl, stage))
            if reason is None:
                reason = reasons[(lvl, stage)] = str(_sweep_reason(lvl, stage))
            # _NOTICE_COLUMNS
            notices.append(
                (
                    pk,
                    _LEVEL_KIND[lvl],
                    stage,
                    stage_seq,
                    False,
                    dept,
                    owner,
                    None,
                    reason,
                    now,
                    reply_due,
                    None,
                    "",
                    None,
                    path,
                )
            )
            # _EVENT_COLUMNS
            events.append(
                (pk, seq, _LEVEL_ACTION[lvl], None, system, None, now, state, state, reason, data, path)
            )
    raised_ids: list[int] = []
    # With the batch's rows read under FOR UPDATE (``locked``) nobody can move them before the update
    # below; otherwise (SQLite, or rows read elsewhere) the rows still at the level they were read with
    # are looked up first, and the others counted as lost races.
    for (old, new), ids in by_level.items():
        next_field = {1: F("due_at"), 2: F("list_at"), 3: None}[new]
        updated_ids = (
            ids
            if locked
            else list(Case.objects.filter(pk__in=ids, sla_level=old).values_list("pk", flat=True))
        )
        supervisions = sum(
            1 for lvl in range(old + 1, new + 1) if _LEVEL_KIND[lvl] != SupervisionKind.REMINDER
        )
        changed = Case.objects.filter(pk__in=updated_ids, sla_level=old).update(
            sla_level=new,
            next_sla_at=next_field,
            last_event_seq=F("last_event_seq") + (new - old),
            open_supervisions=F("open_supervisions") + supervisions,
        )
        if changed != len(updated_ids):
            raise Conflict(_("督办扫描的行未被锁定。"), code="sweep_rows_not_locked")
        report.lost_races += len(ids) - len(updated_ids)
        raised_ids += updated_ids
    if len(raised_ids) != sum(len(ids) for ids in by_level.values()):
        keep = set(raised_ids)
        notices = [n for n in notices if n[0] in keep]
        events = [e for e in events if e[0] in keep]
    _insert_sweep_notices(notices, locked=locked)
    RowInserter(CaseEvent, _EVENT_COLUMNS).insert(events)
    for n in notices:
        if n[1] == SupervisionKind.REMINDER:
            report.reminders += 1
        elif n[1] == SupervisionKind.SUPERVISION:
            report.supervisions += 1
        else:
            report.listed += 1
    report.archived += _sweep_archive(archive_ids, now)
    if notices:
        case_ids = sorted({n[0] for n in notices if n[1] != SupervisionKind.REMINDER})
        transaction.on_commit(lambda: _notify_sweep(case_ids, now))


def _insert_sweep_notices(notices: list[tuple[Any, ...]], *, locked: bool) -> None:
    """Write the sweep's notices. The unique constraint admits one automatic notice per (case, stage,
    kind); with the rows locked none can exist yet, so they are copied in; should one exist all the
    same (or the rows were not locked), the others are written and the existing one is kept."""
    if not notices:
        return
    if locked:
        try:
            with transaction.atomic():
                RowInserter(Supervision, _NOTICE_COLUMNS).insert(notices)
            return
        except IntegrityError:
            pass
    Supervision.objects.bulk_create(
        [Supervision(**dict(zip(_NOTICE_COLUMNS, n, strict=True))) for n in notices], ignore_conflicts=True
    )


def _sweep_archive(case_ids: list[int], now: datetime) -> int:
    """Archive, through the workflow table, the replied cases whose rating window has ended ("not
    rated" when no rating came). The rows are already locked by the sweep's batch query; they are
    loaded in one query and moved in memory; the cases that end with the same new values share one
    ``UPDATE`` (the timeline counter as ``last_event_seq + n``), and their timeline rows are written
    with one bulk insert."""
    if not case_ids:
        return 0
    cases = list(
        Case.objects.filter(pk__in=case_ids, state=CaseState.REPLIED, next_sla_at__lte=now).select_related(
            "category"  # the archive step reads the category's deadline policy
        )
    )
    if not cases:
        return 0
    columns = [f for f in Case._meta.concrete_fields if not f.primary_key and f.name != "last_event_seq"]
    groups: dict[str, tuple[dict[str, Any], int, list[int]]] = {}
    events: list[CaseEvent] = []
    for case in cases:
        before = [getattr(case, f.attname) for f in columns]
        seq_before = case.last_event_seq
        note = _("评价期满，自动归档。") if case.rating else _("评价期满未评价，自动归档。")
        _system_transition(case, "archive", note, now, collect=events)
        values = {
            f.attname: getattr(case, f.attname)
            for f, old in zip(columns, before, strict=True)
            if getattr(case, f.attname) != old
        }
        bump = case.last_event_seq - seq_before
        key = repr((sorted(values.items()), bump))
        groups.setdefault(key, (values, bump, []))[2].append(case.pk)
    for values, bump, ids in groups.values():
        Case.objects.filter(pk__in=ids).update(**values, last_event_seq=F("last_event_seq") + bump)
    CaseEvent.objects.bulk_create(events, batch_size=1000)
    return len(cases)


def _sweep_reason(level: int, stage: str) -> str:
    label = Stage(stage).label
    if level == 1:
        return _("“%(stage)s”环节即将到期，请抓紧办理。") % {"stage": label}
    if level == 2:
        return _("“%(stage)s”环节已超期，予以督办。") % {"stage": label}
    return _("“%(stage)s”环节严重超期，挂牌督办。") % {"stage": label}


# --- deadlines after a calendar change -----------------------------------------------------------------------


def deadlines_recompute(*, actor: Any, now: datetime | None = None) -> int:
    """Recompute the due times of open cases whose current stage counts working days (after the
    working calendar was edited). Manually set deadlines (dispatch deadline, approved extension)
    are kept. Returns how many cases changed."""
    now = now or timezone.now()
    changed = 0
    qs = Case.objects.filter(
        state__in=[CaseState.HANDLING], due_overridden=False, stage_policy__startswith="wd:"
    )
    for pk in qs.values_list("pk", flat=True).iterator(chunk_size=2000):
        with transaction.atomic():
            case = (
                Case.objects.select_for_update().get(pk=pk)
                if connection.features.has_select_for_update
                else Case.objects.get(pk=pk)
            )
            policy = deadlines.StagePolicy.decode(case.stage_policy)
            if policy is None or case.due_overridden:
                continue
            start = _handle_clock_start(case) if case.stage == Stage.HANDLE else case.stage_started_at
            due = deadlines.due_at(start, policy, current_calendar().is_workday)
            if due == case.due_at:
                continue
            old_due = case.due_at
            level = case.sla_level
            _set_due(case, case.stage_started_at, due, now)
            if case.stage == Stage.HANDLE:
                case.handle_due_at = due
            t = deadlines.Thresholds(due_at=case.due_at, remind_at=case.remind_at, list_at=case.list_at)  # type: ignore[arg-type]
            # levels already raised stay raised; the next check follows from them
            case.sla_level = level
            case.next_sla_at = deadlines.next_check_at(level, t)
            case.updated_at = now
            _event(
                case,
                action="deadline_recompute",
                actor=actor,
                from_state=case.state,
                data={"from": old_due.isoformat() if old_due else None, "to": due.isoformat()},
                at=now,
            )
            case.save()
            changed += 1
    return changed


# --- responsibility rules -------------------------------------------------------------------------------------


def _require_catalogue(actor: Any, region: Region) -> None:
    if actor is not None and not user_can(actor, Perm.CATALOGUE_MANAGE, region):
        raise PermissionDeniedError(_("无权维护权责清单。"))


def rule_create(
    *,
    actor: User | None,
    category: Category,
    region: Region,
    lead_department: Department,
    assisting_departments: Sequence[Department] = (),
    handling_level: str,
    legal_basis: str = "",
    effective_from: date,
    effective_to: date | None = None,
) -> ResponsibilityRule:
    """A new rule (version 1)."""
    _require_catalogue(actor, region)
    return _rule_write(
        actor=actor,
        rule_key=secrets.token_hex(8),
        version=1,
        category=category,
        region=region,
        lead_department=lead_department,
        assisting_departments=assisting_departments,
        handling_level=handling_level,
        legal_basis=legal_basis,
        effective_from=effective_from,
        effective_to=effective_to,
    )


def rule_revise(
    *,
    actor: User | None,
    rule: ResponsibilityRule,
    effective_from: date,
    lead_department: Department | None = None,
    assisting_departments: Sequence[Department] | None = None,
    handling_level: str | None = None,
    legal_basis: str | None = None,
    effective_to: date | None = None,
) -> ResponsibilityRule:
    """A new version of ``rule`` in force from ``effective_from``; the current version closes then.
    The history stays readable; dispatches keep pointing at the version they used."""
    _require_catalogue(actor, rule.region)
    with transaction.atomic():
        latest = (
            ResponsibilityRule.objects.select_for_update()
            .filter(rule_key=rule.rule_key)
            .order_by("-version")
            .first()
        )
        assert latest is not None
        if effective_from <= latest.effective_from:
            raise FieldError(
                "effective_from", _("新版本的生效日期须晚于当前版本的生效日期。"), code="not_later"
            )
        if latest.effective_to is None or latest.effective_to > effective_from:
            latest.effective_to = effective_from
            latest.save(update_fields=["effective_to"])
        return _rule_write(
            actor=actor,
            rule_key=latest.rule_key,
            version=latest.version + 1,
            category=latest.category,
            region=latest.region,
            lead_department=lead_department or latest.lead_department,
            assisting_departments=(
                list(latest.assisting_departments.all())
                if assisting_departments is None
                else assisting_departments
            ),
            handling_level=handling_level or latest.handling_level,
            legal_basis=latest.legal_basis if legal_basis is None else legal_basis,
            effective_from=effective_from,
            effective_to=effective_to,
        )


def _rule_write(
    *,
    actor: User | None,
    rule_key: str,
    version: int,
    category: Category,
    region: Region,
    lead_department: Department,
    assisting_departments: Sequence[Department],
    handling_level: str,
    legal_basis: str,
    effective_from: date,
    effective_to: date | None,
) -> ResponsibilityRule:
    from zongzhi.core.audit import audit_record
    from zongzhi.orgs.models import RegionLevel

    if handling_level not in RegionLevel.values:
        raise FieldError("handling_level", _("未知的办理层级。"), code="invalid_choice")
    if effective_to is not None and effective_to <= effective_from:
        raise FieldError("effective_to", _("失效日期须晚于生效日期。"), code="bad_range")
    for dept, field_name in [(lead_department, "lead_department_id")] + [
        (d, "assisting_department_ids") for d in assisting_departments
    ]:
        if not (is_within(dept.region_path, region.path) or is_within(region.path, dept.region_path)):
            raise FieldError(
                field_name, _("“%(name)s”与适用区域不在同一辖区。") % {"name": dept.name}, code="out_of_scope"
            )
    with transaction.atomic():
        rule = ResponsibilityRule.objects.create(
            rule_key=rule_key,
            version=version,
            category=category,
            region=region,
            region_path=region.path,
            lead_department=lead_department,
            handling_level=handling_level,
            legal_basis=legal_basis,
            effective_from=effective_from,
            effective_to=effective_to,
            created_by=actor,
        )
        rule.assisting_departments.set([d for d in assisting_departments if d.pk != lead_department.pk])
        audit_record(
            actor=actor or "system", action="rule.write", obj=rule, data={"key": rule_key, "version": version}
        )
    return rule


# --- catalogue -------------------------------------------------------------------------------------------------

_CATEGORY_FIELDS = (
    "name",
    "default_kind",
    "accept_hours",
    "dispatch_hours",
    "urgent_dispatch_hours",
    "acknowledge_hours",
    "urgent_acknowledge_hours",
    "handle_days",
    "complex_handle_days",
    "urgent_handle_hours",
    "reply_hours",
    "is_complex",
    "is_active",
    "keywords",
)


def _require_catalogue_manager(actor: Any) -> None:
    from zongzhi.orgs.scoping import user_can_anywhere

    if actor is not None and not user_can_anywhere(actor, Perm.CATALOGUE_MANAGE):
        raise PermissionDeniedError(_("无权维护事项目录。"))


def category_create(
    *, actor: User | None, code: str, name: str, parent_code: str | None = None, **fields: Any
) -> Category:
    """A new catalogue entry. A sub-category takes its parent's deadline policy for fields not given."""
    from zongzhi.core.audit import audit_record

    _require_catalogue_manager(actor)
    if Category.objects.filter(code=code).exists():
        raise FieldError("code", _("分类编码已存在。"), code="duplicate")
    parent = None
    if parent_code:
        parent = Category.objects.filter(code=parent_code, parent__isnull=True).first()
        if parent is None:
            raise FieldError("parent_code", _("大类不存在（目录只有两级）。"), code="not_found")
    values = {
        f: getattr(parent, f)
        for f in _CATEGORY_FIELDS
        if parent is not None and f not in ("name", "keywords")
    }
    values.update({k: v for k, v in fields.items() if k in _CATEGORY_FIELDS})
    values["name"] = name.strip()
    if not values["name"]:
        raise FieldError("name", _("请填写分类名称。"), code="required")
    with transaction.atomic():
        category = Category.objects.create(code=code, parent=parent, **values)
        audit_record(actor=actor or "system", action="category.create", obj=category)
    return category


def category_update(*, actor: User | None, category: Category, changes: dict[str, Any]) -> Category:
    from zongzhi.core.audit import audit_record

    _require_catalogue_manager(actor)
    changed = {k: v for k, v in changes.items() if k in _CATEGORY_FIELDS and v is not None}
    if "name" in changed and not str(changed["name"]).strip():
        raise FieldError("name", _("请填写分类名称。"), code="required")
    with transaction.atomic():
        for k, v in changed.items():
            setattr(category, k, v)
        category.save()
        audit_record(
            actor=actor or "system", action="category.update", obj=category, data={"changed": sorted(changed)}
        )
    return category


def catalogue_load_defaults(*, actor: User | None = None) -> tuple[int, int]:
    """Load the shipped default catalogue (cases/catalogue.py). Existing codes are left as they are
    (administrators may have edited them). Returns (created, kept)."""
    from .catalogue import DEFAULT_CATALOGUE

    created = kept = 0
    for order, (code, name, kind, policy, children) in enumerate(DEFAULT_CATALOGUE):
        parent = Category.objects.filter(code=code).first()
        if parent is None:
            parent = category_create(
                actor=actor, code=code, name=name, default_kind=kind, sort_order=order * 100, **policy
            )
            created += 1
        else:
            kept += 1
        for i, (child_code, child_name, keywords, child_policy) in enumerate(children):
            if Category.objects.filter(code=child_code).exists():
                kept += 1
                continue
            category_create(
                actor=actor,
                code=child_code,
                name=child_name,
                parent_code=parent.code,
                keywords=keywords,
                sort_order=order * 100 + i + 1,
                **child_policy,
            )
            created += 1
    return created, kept


# --- notifications ----------------------------------------------------------------------------------------------


def _case_link(case: Case) -> str:
    return f"/cases/{case.pk}/"


def _notify_center(case: Case, title: str, perm: str) -> None:
    """Tell the staff of the case's owning center who hold ``perm`` there."""
    recipients = center_staff_who_can(perm, [case.owner_path]).get(case.owner_path, [])
    notify(
        recipients=recipients,
        kind="case",
        title=f"{title}：{case.number}",
        body=case.title,
        link=_case_link(case),
    )


def _notify_departments(case: Case, department_ids: list[int], title: str) -> None:
    """Tell the handlers of the given departments."""
    handlers = department_handlers(department_ids)
    recipients = {uid for ids in handlers.values() for uid in ids}
    notify(
        recipients=recipients,
        kind="case",
        title=f"{title}：{case.number}",
        body=case.title,
        link=_case_link(case),
    )


def _notify_supervision(notice_ids: list[int]) -> None:
    """Send supervision notices: each to the responsible department's handlers (when there is one)
    and to the supervising center's dispatchers. Recipients are looked up once for the whole batch
    (one query for the departments, one for the centers) and the inbox rows written in bulk."""
    rows = list(
        Supervision.objects.filter(pk__in=notice_ids)
        .order_by("pk")
        .values_list("kind", "department_id", "case_id", "case__number", "case__title", "case__owner_path")
    )
    if not rows:
        return
    handlers = department_handlers(dept for _k, dept, *_ in rows if dept)
    centers = center_staff_who_can(Perm.CASE_DISPATCH, (r[5] for r in rows))
    messages: list[Message] = []
    for kind, dept, case_id, number, title, owner_path in rows:
        label = str(SupervisionKind(kind).label)
        link = f"/cases/{case_id}/"
        recipients = set(centers.get(owner_path, []))
        if dept:
            recipients.update(handlers.get(dept, []))
        messages.append(
            Message(
                recipients=tuple(recipients), kind="case", title=f"{label}：{number}", body=title, link=link
            )
        )
    notify_many(messages)


def _notify_sweep(case_ids: list[int], created_at: datetime) -> None:
    """Send the notices this sweep raised (not the earlier, still unanswered ones again)."""
    ids = list(
        Supervision.objects.filter(
            case_id__in=case_ids, is_manual=False, replied_at__isnull=True, created_at=created_at
        )
        .exclude(kind=SupervisionKind.REMINDER)
        .values_list("pk", flat=True)
    )
    _notify_supervision(ids)


__all__ = [
    "SAME",
    "SYSTEM_ACTIONS",
    "ReportInput",
    "ReportResult",
    "case_rate_public",
    "case_report",
    "case_transition",
    "catalogue_load_defaults",
    "category_create",
    "category_update",
    "deadlines_recompute",
    "public_case",
    "rule_create",
    "rule_in_force",
    "rule_revise",
    "sla_sweep",
    "subtree_q",
    "supervision_reply",
]
