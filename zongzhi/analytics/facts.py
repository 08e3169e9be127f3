"""Per-case facts, derived from the timeline (``cases.CaseEvent``) — never from free-text labels.

``fact_for_case`` is pure: (case row, its timeline, region levels) → a ``CaseFact``. The rules it
applies (also in ``docs/analytics.md``):

- Milestones are the first time each happened: ``accept`` → accepted; ``decline`` or ``merge`` →
  declined; ``dispatch``; ``acknowledge``; ``resolve`` (or ``resolve_on_site`` at registration) →
  resolved; ``reply``; ``rate``; ``archive`` / ``auto_archive``.
- Stage clocks come from the timeline: the accept clock starts at ``report`` and restarts at each
  ``escalate`` (the parent center gets its own hour); the dispatch clock at each ``accept`` and each
  ``return``; the acknowledge clock at each ``dispatch``; the reply clock at each resolution. The
  accept, dispatch, acknowledge and reply deadlines are the clock start plus the category's hours
  for the stage (urgent hours for urgent cases, as ``cases.deadlines.stage_policy`` says). The
  handling deadline is the one recorded on the timeline: ``dispatch`` (``handle_due_at``), then any
  ``approve_extension`` or ``deadline_recompute`` (``to``) before the first resolution.
- A stage's on-time flag judges its first ending against the deadline in force at that moment:
  ``at <= due`` is on time (the boundary itself is on time). The accept stage ends at the first
  ``accept``, or at a ``decline`` / ``merge`` of a case not yet accepted. ``None`` while the stage
  has not ended, and for stages the case never went through. A case resolved on the spot
  (自行处置) was accepted and resolved at registration: both on time.
- Counts: ``dispatch``, ``return``, ``approve_extension`` (extensions granted), ``escalate``,
  ``reopen``, reminders (``remind`` and manual ``supervise`` of kind reminder), supervisions
  (``supervise_auto``, ``list`` and manual ``supervise`` of kind supervision or listed), listed
  supervisions (``list`` and manual listed).
- ``rating`` is the last ``rate`` not followed by a ``reopen`` ("" when not rated).
- ``resolved_level`` is the level of the center that owned the case at its first resolution (the
  ``to`` of the last ``escalate`` before it, else the registering center); ``max_escalated_level``
  the highest level it was escalated to.

``facts_refresh`` keeps the table current incrementally (timeline rows after the watermark) and
marks the rollup slices it touched; ``facts_rebuild`` recomputes everything.
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone

from zongzhi.cases import deadlines
from zongzhi.cases.models import OPEN_STATES, Case, CaseEvent, CaseKind, CaseState, Category
from zongzhi.orgs.models import LEVEL_DEPTH, Region, RegionLevel

from .models import CaseFact, RefreshState, RollupDirty

log = logging.getLogger(__name__)

STATE_NAME = "facts"
# Grains of the rollup cells: the region level each kind of cell is kept at.
GRAIN_TOTAL = RegionLevel.TOWNSHIP
GRAIN_DIM = RegionLevel.COUNTY
GRAINS = {"total": GRAIN_TOTAL, "dim": GRAIN_DIM}
# LEVEL_DEPTH keyed by plain strings (levels read from rows and timelines)
DEPTH: dict[str, int] = {str(level): depth for level, depth in LEVEL_DEPTH.items()}

_SUPERVISION_KINDS = {"supervision", "listed"}


def _lookback() -> int:
    """Timeline ids re-read behind the watermark on every refresh: a transaction that took an id
    before the last refresh but committed after it is still seen (ids are not commit-ordered)."""
    return int(getattr(settings, "ZZ_FACTS_LOOKBACK_EVENTS", 5000))


def _rating_days() -> int:
    return int(getattr(settings, "ZZ_RATING_DAYS", 7))


def local_date(moment: datetime) -> date:
    return timezone.localtime(moment).date()


def _parse(value: Any) -> datetime | None:
    if not value:
        return None
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value))
        except ValueError:
            return None
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment


def _policy(category: Category | None) -> deadlines.CategoryPolicy:
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


def _hours(stage: str, policy: deadlines.CategoryPolicy, urgency: str) -> timedelta:
    p = deadlines.stage_policy(stage, policy, urgency, rating_days=_rating_days())
    assert p is not None and p.unit == "h", stage
    return timedelta(hours=p.amount)


def _due(start: datetime | None, span: timedelta) -> datetime | None:
    return None if start is None else start + span


def _on_time(ended: datetime | None, due: datetime | None) -> bool | None:
    if ended is None or due is None:
        return None
    return ended <= due


def _seconds(start: datetime, end: datetime | None) -> int | None:
    return None if end is None else int((end - start).total_seconds())


def grain_path(owner_path: str, owner_level: str, grain: str) -> str:
    """The owner's ancestor-or-self at ``grain`` (the owner itself when it sits at or above it)."""
    depth, target = DEPTH.get(owner_level, 0), DEPTH[grain]
    if depth <= target:
        return owner_path
    parts = [p for p in owner_path.split("/") if p]
    return "/".join(parts[: len(parts) - (depth - target)]) + "/"


@dataclass
class _Walk:
    """State while reading a timeline in order."""

    accept_clock: datetime | None = None
    dispatch_clock: datetime | None = None
    ack_clock: datetime | None = None
    reply_clock: datetime | None = None
    handle_due: datetime | None = None
    owner_code: str | None = None  # the owner before the first escalation is unknown until one


def fact_for_case(
    case: Case,
    events: Iterable[Any],
    *,
    levels: Mapping[str, str] | None = None,
    now: datetime | None = None,
) -> CaseFact:
    """The fact row of ``case`` from its timeline ``events`` (``CaseEvent`` rows or anything with
    ``seq``, ``action``, ``at``, ``from_state``, ``data``). ``levels`` maps region codes to levels
    (for the resolved and escalated levels); ``case.category`` and ``case.owner_region`` are read."""
    now = now or timezone.now()
    levels = levels or {}
    policy = _policy(case.category)
    h_accept = _hours("accept", policy, case.urgency)
    h_dispatch = _hours("dispatch", policy, case.urgency)
    h_ack = _hours("acknowledge", policy, case.urgency)
    h_reply = _hours("reply", policy, case.urgency)

    f = CaseFact(case_id=case.pk)
    w = _Walk()
    accept_ended: datetime | None = None
    first_escalation_from: str | None = None
    escalated_to: list[str] = []
    owner_at_resolve: str | None = None
    rating = ""
    created_at = case.created_at
    for e in sorted(events, key=lambda ev: ev.seq):
        action, at, data = e.action, e.at, e.data or {}
        if action == "report":
            created_at = at
            w.accept_clock = at
        elif action == "resolve_on_site":
            created_at = at
            w.accept_clock = at
            f.accepted_at = f.accepted_at or at
            accept_ended = accept_ended or at
            f.accept_due_at = at + h_accept
            f.resolved_on_site = True
            if f.resolved_at is None:
                f.resolved_at = at
                f.resolve_on_time = True
                owner_at_resolve = escalated_to[-1] if escalated_to else None
            w.reply_clock = at
        elif action == "accept":
            if f.accepted_at is None:
                f.accepted_at = at
            if accept_ended is None:
                accept_ended = at
                f.accept_due_at = _due(w.accept_clock, h_accept)
            w.dispatch_clock = at
        elif action in ("decline", "merge"):
            f.declined_at = f.declined_at or at
            if accept_ended is None and e.from_state == CaseState.REPORTED:
                accept_ended = at
                f.accept_due_at = _due(w.accept_clock, h_accept)
        elif action == "escalate":
            f.escalation_count += 1
            if first_escalation_from is None:
                first_escalation_from = str(data.get("from") or "")
            if data.get("to"):
                escalated_to.append(str(data["to"]))
            w.accept_clock = at
            w.dispatch_clock = None
        elif action == "dispatch":
            f.dispatch_count += 1
            if f.dispatched_at is None:
                f.dispatched_at = at
                f.dispatch_due_at = _due(w.dispatch_clock, h_dispatch)
            lead = data.get("lead") or {}
            f.lead_department_id = lead.get("id") if isinstance(lead, dict) else None
            w.ack_clock = at
            if f.resolved_at is None:
                w.handle_due = _parse(data.get("handle_due_at"))
        elif action == "acknowledge":
            if f.acknowledged_at is None:
                f.acknowledged_at = at
                f.acknowledge_due_at = _due(w.ack_clock, h_ack)
        elif action == "return":
            f.return_count += 1
            w.dispatch_clock = at
            w.ack_clock = None
            if f.resolved_at is None:
                w.handle_due = None
        elif action == "approve_extension":
            f.extension_count += 1
            if f.resolved_at is None:
                w.handle_due = _parse(data.get("to")) or w.handle_due
        elif action == "deadline_recompute":
            if f.resolved_at is None and e.from_state == CaseState.HANDLING:
                w.handle_due = _parse(data.get("to")) or w.handle_due
        elif action == "resolve":
            if f.resolved_at is None:
                f.resolved_at = at
                f.handle_due_at = w.handle_due
                f.resolve_on_time = _on_time(at, w.handle_due)
                owner_at_resolve = escalated_to[-1] if escalated_to else None
            w.reply_clock = at
        elif action == "reply":
            if f.replied_at is None:
                f.replied_at = at
                f.reply_due_at = _due(w.reply_clock, h_reply)
        elif action == "rate":
            f.rated_at = f.rated_at or at
            rating = str(data.get("rating") or "")
        elif action == "reopen":
            f.reopen_count += 1
            rating = ""
        elif action in ("archive", "auto_archive"):
            f.archived_at = f.archived_at or at
        elif action == "remind":
            f.reminder_count += 1
        elif action == "supervise_auto":
            f.supervision_count += 1
        elif action == "list":
            f.supervision_count += 1
            f.listed_supervision_count += 1
        elif action == "supervise":
            kind = data.get("kind", "supervision")
            if kind in _SUPERVISION_KINDS:
                f.supervision_count += 1
                if kind == "listed":
                    f.listed_supervision_count += 1
            else:
                f.reminder_count += 1

    # stages still open: the deadline in force now
    if accept_ended is None and f.accept_due_at is None:
        f.accept_due_at = _due(w.accept_clock, h_accept)
    if f.dispatched_at is None and f.declined_at is None:
        f.dispatch_due_at = _due(w.dispatch_clock, h_dispatch)
    if f.acknowledged_at is None and f.dispatched_at is not None:
        f.acknowledge_due_at = _due(w.ack_clock, h_ack)
    if f.resolved_at is None:
        f.handle_due_at = w.handle_due
    if f.replied_at is None and f.resolved_at is not None:
        f.reply_due_at = _due(w.reply_clock, h_reply)
    f.accept_on_time = _on_time(accept_ended, f.accept_due_at)
    f.dispatch_on_time = _on_time(f.dispatched_at, f.dispatch_due_at)
    f.acknowledge_on_time = _on_time(f.acknowledged_at, f.acknowledge_due_at)
    if not f.resolved_on_site:
        f.resolve_on_time = _on_time(f.resolved_at, f.handle_due_at)
    f.reply_on_time = _on_time(f.replied_at, f.reply_due_at)

    # levels
    owner_region = case.owner_region
    initial_owner = first_escalation_from or owner_region.code
    if f.resolved_at is not None:
        code = owner_at_resolve or initial_owner
        f.resolved_level = levels.get(code) or (owner_region.level if code == owner_region.code else "")
    if escalated_to:
        known = [levels[c] for c in escalated_to if c in levels]
        if known:
            f.max_escalated_level = min(known, key=lambda lv: DEPTH.get(lv, 99))

    # dimensions, copied from the case
    f.owner_path = case.owner_path
    f.region_path = case.region_path
    f.region_id = case.region_id
    f.owner_region_id = case.owner_region_id
    f.grid_id = case.grid_id
    f.reporter_user_id = case.reporter_user_id
    f.category_id = case.category_id
    f.category_parent_id = case.category.parent_id if case.category is not None else None
    f.kind = case.kind
    f.channel = case.channel
    f.urgency = case.urgency
    f.state = case.state
    f.rating = rating if rating != "not_rated" else ""
    f.is_dispute = case.kind == CaseKind.DISPUTE
    f.created_at = created_at
    f.created_date = local_date(created_at)
    f.resolved_date = local_date(f.resolved_at) if f.resolved_at else None
    f.accept_seconds = _seconds(created_at, f.accepted_at)
    f.dispatch_seconds = _seconds(created_at, f.dispatched_at)
    f.acknowledge_seconds = _seconds(created_at, f.acknowledged_at)
    f.resolve_seconds = _seconds(created_at, f.resolved_at)
    f.reply_seconds = _seconds(created_at, f.replied_at)
    f.is_open = case.state in OPEN_STATES
    f.due_at = case.due_at
    f.is_overdue = bool(
        f.is_open and case.state != CaseState.REPLIED and case.due_at is not None and case.due_at < now
    )
    f.event_seq = case.last_event_seq
    f.refreshed_at = now
    return f


# --- the region cache: levels and rollup ancestors ----------------------------------------------------------


class RegionCache:
    """Region levels and ids by path and code, loaded on demand in batches (one query per batch)."""

    def __init__(self) -> None:
        self.by_path: dict[str, tuple[int, str, str]] = {}  # path -> (id, level, code)
        self.by_code: dict[str, str] = {}  # code -> level
        self.by_id: dict[int, str] = {}  # id -> path

    def load_ids(self, ids: Iterable[int | None]) -> None:
        self._load(Q(pk__in=[i for i in set(ids) if i is not None and i not in self.by_id]))

    def load_paths(self, paths: Iterable[str]) -> None:
        self._load(Q(path__in=[p for p in set(paths) if p and p not in self.by_path]))

    def load_codes(self, codes: Iterable[str]) -> None:
        self._load(Q(code__in=[c for c in set(codes) if c and c not in self.by_code]))

    def _load(self, q: Q) -> None:
        for pk, path, level, code in Region.objects.filter(q).values_list("pk", "path", "level", "code"):
            self.by_path[path] = (pk, level, code)
            self.by_code[code] = level
            self.by_id[pk] = path

    def grain_region(self, owner_path: str, owner_id: int | None, grain: str) -> tuple[int | None, str]:
        """(id, path) of the owner's region at ``grain``."""
        level = self.by_path.get(owner_path, (None, "", ""))[1]
        path = grain_path(owner_path, level, grain)
        if path == owner_path:
            return owner_id, path
        if path not in self.by_path:
            self.load_paths([path])
        found = self.by_path.get(path)
        return (found[0] if found else None), path


# --- refresh -------------------------------------------------------------------------------------------------


def _slices(fact: CaseFact | tuple[Any, ...], cache: RegionCache) -> set[tuple[str, date, str]]:
    """The rollup slices (grain, day, region path) a fact counts in."""
    if isinstance(fact, CaseFact):
        created, resolved, total_path, dim_path = (
            fact.created_date,
            fact.resolved_date,
            cache.by_id.get(fact.rollup_region_id or 0, ""),
            cache.by_id.get(fact.rollup_county_id or 0, ""),
        )
    else:
        created, resolved, total_path, dim_path = fact
    out = set()
    for day in (created, resolved):
        if day is None:
            continue
        if total_path:
            out.add(("total", day, total_path))
        if dim_path:
            out.add(("dim", day, dim_path))
    return out


_EVENT_FIELDS = ("case_id", "seq", "action", "at", "from_state", "data")


def _compute(case_ids: Sequence[int], now: datetime, cache: RegionCache) -> list[CaseFact]:
    cases = list(Case.objects.filter(pk__in=case_ids).select_related("category", "owner_region"))
    timeline: dict[int, list[CaseEvent]] = defaultdict(list)
    for event in (
        CaseEvent.objects.filter(case_id__in=case_ids).only(*_EVENT_FIELDS).order_by("case_id", "seq")
    ):
        timeline[event.case_id].append(event)
    codes = set()
    for case in cases:
        codes.add(case.owner_region.code)
        for e in timeline[case.pk]:
            if e.action == "escalate" and e.data:
                codes.update(str(e.data.get(k) or "") for k in ("from", "to"))
    cache.load_codes(codes)
    cache.load_paths(c.owner_path for c in cases)
    facts = []
    for case in cases:
        fact = fact_for_case(case, timeline[case.pk], levels=cache.by_code, now=now)
        fact.rollup_region_id, _ = cache.grain_region(case.owner_path, case.owner_region_id, GRAIN_TOTAL)
        fact.rollup_county_id, _ = cache.grain_region(case.owner_path, case.owner_region_id, GRAIN_DIM)
        facts.append(fact)
    cache.load_ids(
        [f.rollup_region_id for f in facts] + [f.rollup_county_id for f in facts]  # for their paths
    )
    return facts


_UPDATE_FIELDS = [f.name for f in CaseFact._meta.concrete_fields if not f.primary_key and f.name != "case"]


def _store(case_ids: Sequence[int], now: datetime, cache: RegionCache) -> int:
    """Recompute the facts of ``case_ids``; mark the rollup slices they left and entered."""
    facts = _compute(case_ids, now, cache)
    with transaction.atomic():
        old = list(
            CaseFact.objects.filter(case_id__in=case_ids).values_list(
                "created_date", "resolved_date", "rollup_region_id", "rollup_county_id"
            )
        )
        cache.load_ids([o[2] for o in old] + [o[3] for o in old])
        dirty: set[tuple[str, date, str]] = set()
        for created, resolved, total_id, dim_id in old:
            dirty |= _slices(
                (created, resolved, cache.by_id.get(total_id or 0, ""), cache.by_id.get(dim_id or 0, "")),
                cache,
            )
        for fact in facts:
            dirty |= _slices(fact, cache)
        CaseFact.objects.bulk_create(
            facts, update_conflicts=True, unique_fields=["case"], update_fields=_UPDATE_FIELDS, batch_size=500
        )
        gone = set(case_ids) - {f.case_id for f in facts}
        if gone:
            CaseFact.objects.filter(case_id__in=gone).delete()
        mark_dirty(dirty)
    return len(facts)


def mark_dirty(slices: Iterable[tuple[str, date, str]]) -> None:
    """Mark rollup slices for recomputation (a fresh token each time: see ``RollupDirty.token``)."""
    token = uuid.uuid4().hex
    RollupDirty.objects.bulk_create(
        [RollupDirty(grain=g, day=d, region_path=p, token=token) for g, d, p in slices],
        update_conflicts=True,
        unique_fields=["grain", "day", "region_path"],
        update_fields=["token"],
        batch_size=1000,
    )


def _stale(case_ids: Sequence[int]) -> list[int]:
    """Those of ``case_ids`` whose fact is missing or behind the case's timeline."""
    seen = dict(CaseFact.objects.filter(case_id__in=case_ids).values_list("case_id", "event_seq"))
    return [
        pk
        for pk, seq in Case.objects.filter(pk__in=case_ids).values_list("pk", "last_event_seq")
        if seen.get(pk) != seq
    ]


def _chunks(ids: Sequence[int], size: int) -> Iterable[list[int]]:
    for i in range(0, len(ids), size):
        yield list(ids[i : i + size])


def facts_refresh(
    *,
    since: datetime | None = None,
    case_ids: Iterable[int] | None = None,
    now: datetime | None = None,
    batch_size: int = 500,
) -> int:
    """Bring the facts up to date; returns how many were recomputed.

    - default: the cases with timeline rows after the watermark (re-reading ``ZZ_FACTS_LOOKBACK_EVENTS``
      ids behind it), of which only those whose fact is behind the case (``event_seq``) are
      recomputed; the watermark then moves to the newest timeline row seen;
    - ``since``: every case with a timeline row at or after ``since`` or updated since then;
    - ``case_ids``: exactly those cases.
    The rollup slices a changed fact left or entered are marked for ``rollups.rollups_refresh``.
    Safe to run concurrently with writers and with itself (the last writer of a fact wins, and
    both compute it from the committed timeline)."""
    now = now or timezone.now()
    cache = RegionCache()
    advance_to: int | None = None
    if case_ids is not None:
        ids = sorted(set(case_ids))
    elif since is not None:
        ids = sorted(
            set(CaseEvent.objects.filter(at__gte=since).values_list("case_id", flat=True))
            | set(Case.objects.filter(updated_at__gte=since).values_list("pk", flat=True))
        )
    else:
        state = RefreshState.objects.filter(name=STATE_NAME).first()
        low = max((state.last_event_id if state else 0) - _lookback(), 0)
        high = CaseEvent.objects.aggregate(m=Max("pk"))["m"] or 0
        candidates = sorted(
            set(CaseEvent.objects.filter(pk__gt=low, pk__lte=high).values_list("case_id", flat=True))
        )
        ids = [pk for chunk in _chunks(candidates, 2000) for pk in _stale(chunk)]
        advance_to = high
    done = 0
    for chunk in _chunks(ids, batch_size):
        done += _store(chunk, now, cache)
    if advance_to is not None:
        state, _ = RefreshState.objects.get_or_create(name=STATE_NAME)
        RefreshState.objects.filter(name=STATE_NAME, last_event_id__lt=advance_to).update(
            last_event_id=advance_to
        )
        RefreshState.objects.filter(name=STATE_NAME).update(refreshed_at=now)
    return done


def facts_rebuild(*, now: datetime | None = None, batch_size: int = 1000, progress: Any = None) -> int:
    """Recompute every fact from the timeline (and drop facts of cases that no longer exist); the
    watermark is set to the newest timeline row that existed before the rebuild started, so rows
    written meanwhile are picked up by the next refresh. Marks nothing: follow with
    ``rollups.rollups_rebuild`` (``manage.py rebuild_facts`` does both)."""
    now = now or timezone.now()
    high = CaseEvent.objects.aggregate(m=Max("pk"))["m"] or 0
    cache = RegionCache()
    done = 0
    last = 0
    while True:
        ids = list(Case.objects.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:batch_size])
        if not ids:
            break
        facts = _compute(ids, now, cache)
        with transaction.atomic():
            CaseFact.objects.filter(case_id__gt=last, case_id__lte=ids[-1]).delete()
            CaseFact.objects.bulk_create(facts, batch_size=500)
        done += len(facts)
        last = ids[-1]
        if progress is not None:
            progress(done)
    CaseFact.objects.filter(case_id__gt=last).delete()
    RefreshState.objects.update_or_create(
        name=STATE_NAME, defaults={"last_event_id": high, "refreshed_at": now, "rebuilt_at": now}
    )
    return done


def last_refreshed_at() -> datetime | None:
    state = RefreshState.objects.filter(name=STATE_NAME).first()
    return state.refreshed_at if state else None
