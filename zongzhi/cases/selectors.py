"""Reads on cases, always through the scoping layer. Queues and list filters are index-backed."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from zongzhi.orgs.models import Region
from zongzhi.orgs.paths import subtree_q
from zongzhi.orgs.roles import Perm
from zongzhi.orgs.scoping import grants_with, visible_to

from .models import (
    CLOCKED_STATES,
    OPEN_STATES,
    Case,
    CaseAssignment,
    CaseEvent,
    CaseState,
    Category,
    Supervision,
)
from .states import allowed_actions

# Queues of the operator workbench (key → label). Each is a filter on visible cases.
QUEUES: dict[str, str] = {
    "to_accept": gettext_noop("待受理"),
    "to_dispatch": gettext_noop("待分派"),
    "returned": gettext_noop("已退回"),
    "extension": gettext_noop("延期待批"),
    "overdue": gettext_noop("超期"),
    "due_soon": gettext_noop("临期"),
    "supervised": gettext_noop("督办中"),
    "to_reply": gettext_noop("待反馈"),
    "to_callback": gettext_noop("待回访"),
}
DEPARTMENT_QUEUES: dict[str, str] = {
    "to_acknowledge": gettext_noop("待签收"),
    "handling": gettext_noop("办理中"),
    "overdue": gettext_noop("超期"),
    "parts": gettext_noop("待报送协办"),
    "supervision": gettext_noop("督办待回复"),
}


def visible_cases(user: Any) -> QuerySet[Case]:
    return visible_to(user, Case)


def queue_filter(queue: str, now: datetime) -> Q:
    if queue == "to_accept":
        return Q(state=CaseState.REPORTED)
    if queue == "to_dispatch":
        return Q(state=CaseState.ACCEPTED, is_returned=False)
    if queue == "returned":
        return Q(state=CaseState.ACCEPTED, is_returned=True)
    if queue == "extension":
        return Q(state=CaseState.HANDLING, extension_pending=True)
    if queue == "overdue":
        return Q(state__in_constants=CLOCKED_STATES, due_at__lt=now)
    if queue == "due_soon":
        # the same state list as the partial index case_due_soon_idx, so the planner can use it
        return Q(state__in_constants=CLOCKED_STATES, remind_at__lte=now, due_at__gte=now)
    if queue == "supervised":
        # open cases overdue in their stage (督办/挂牌 raised by the sweep) or with a supervision
        # notice still unanswered (a reminder 催办 is not a supervision, as in the department queue)
        return Q(state__in_constants=OPEN_STATES) & (Q(sla_level__gte=2) | Q(open_supervisions__gt=0))
    if queue == "to_reply":
        return Q(state=CaseState.RESOLVED)
    if queue == "to_callback":
        return Q(state=CaseState.REPLIED, rating="")
    raise ValueError(f"unknown queue {queue}")


def own_center_paths(user: Any, perm: str = Perm.CASE_ACCEPT) -> list[str]:
    """The regions whose center the user works in (their grants' regions, not the subtrees)."""
    return sorted({g.path for g in grants_with(user, perm) if g.department_id is None})


@dataclass
class CaseFilters:
    queue: str | None = None
    state: str | None = None
    category: str | None = None  # code; a top-level code includes its sub-categories
    region: str | None = None  # code
    department: int | None = None
    channel: str | None = None
    urgency: str | None = None
    overdue: bool | None = None
    due_soon: bool | None = None
    created_from: date | None = None
    created_to: date | None = None
    text: str | None = None
    mine: bool = False  # only cases owned by the user's own centers
    order: str = "due"


ORDERINGS = {
    "due": ("due_at", "-id"),
    "-due": ("-due_at", "-id"),
    "created": ("created_at", "id"),
    "-created": ("-created_at", "-id"),
    "number": ("number",),
}


def queue_only(f: CaseFilters) -> bool:
    """Whether ``f`` is a workbench queue and nothing more: its list then holds exactly the cases
    counted for that queue by ``queue_counts`` (same user, ``mine`` and ``now``)."""
    return f.queue in QUEUES and replace(f, queue=None, mine=False, order="due") == CaseFilters()


def case_list(user: Any, f: CaseFilters, *, now: datetime | None = None) -> QuerySet[Case]:
    """Visible cases matching ``f``. Every filter maps to an indexed column."""
    now = now or timezone.now()
    qs = visible_cases(user)
    if f.mine:
        qs = qs.filter(owner_path__in=own_center_paths(user))
    if f.queue:
        qs = qs.filter(queue_filter(f.queue, now))
    if f.state:
        qs = qs.filter(state=f.state)
    if f.category:
        qs = qs.filter(Q(category__code=f.category) | Q(category__parent__code=f.category))
    if f.region:
        region = Region.objects.filter(code=f.region).only("path").first()
        qs = qs.filter(subtree_q("region_path", [region.path])) if region else qs.none()
    if f.department:
        qs = qs.filter(lead_department_id=f.department)
    if f.channel:
        qs = qs.filter(channel=f.channel)
    if f.urgency:
        qs = qs.filter(urgency=f.urgency)
    if f.overdue:
        qs = qs.filter(queue_filter("overdue", now))
    if f.due_soon:
        qs = qs.filter(queue_filter("due_soon", now))
    if f.created_from:
        qs = qs.filter(created_at__gte=timezone.make_aware(datetime.combine(f.created_from, time.min)))
    if f.created_to:
        end = timezone.make_aware(datetime.combine(f.created_to + timedelta(days=1), time.min))
        qs = qs.filter(created_at__lt=end)
    if f.text:
        text = f.text.strip()
        qs = qs.filter(
            Q(number=text.upper())
            | Q(title__contains=text)
            | Q(address__contains=text)
            | Q(external_ref=text)
        )
    return qs.select_related("category", "category__parent", "region", "lead_department").order_by(
        *ORDERINGS.get(f.order, ORDERINGS["due"])
    )


# Long texts a list row never shows (the detail page does): left out of list queries.
LIST_DEFERRED = (
    "description",
    "result",
    "reply_text",
    "rating_comment",
    "decline_reason",
    "reporter_name_enc",
    "reporter_phone_enc",
    "tracking_digest",
)


def for_list(qs: QuerySet[Case]) -> QuerySet[Case]:
    """``qs`` as the rows of a list page: without the long texts."""
    return qs.defer(*LIST_DEFERRED)


def queue_counts(user: Any, *, mine: bool = True, now: datetime | None = None) -> dict[str, int]:
    """The number of cases in each workbench queue: one pass over the visible open cases (every
    queue is a subset of the open states), each queue a ``COUNT(*) FILTER (WHERE …)``."""
    now = now or timezone.now()
    base = visible_cases(user).filter(state__in_constants=OPEN_STATES)
    if mine:
        base = base.filter(owner_path__in=own_center_paths(user))
    counts = base.aggregate(**{key: Count("pk", filter=queue_filter(key, now)) for key in QUEUES})
    return {key: int(counts[key] or 0) for key in QUEUES}


def department_ids_of(user: Any) -> list[int]:
    return sorted(
        {g.department_id for g in grants_with(user, Perm.CASE_HANDLE) if g.department_id is not None}
    )


def department_queue_counts(user: Any, *, now: datetime | None = None) -> dict[str, int]:
    """The number of cases in each department queue: the three queues on the lead department in one
    aggregate over its open cases, the two that go through assignments and notices on their own."""
    now = now or timezone.now()
    depts = department_ids_of(user)
    lead = visible_cases(user).filter(
        state__in=[CaseState.DISPATCHED, CaseState.HANDLING], lead_department_id__in=depts
    )
    counts = lead.aggregate(
        to_acknowledge=Count("pk", filter=Q(state=CaseState.DISPATCHED)),
        handling=Count("pk", filter=Q(state=CaseState.HANDLING)),
        overdue=Count("pk", filter=Q(due_at__lt=now)),
    )
    result = {key: int(counts.get(key) or 0) for key in ("to_acknowledge", "handling", "overdue")}
    for key in ("parts", "supervision"):
        result[key] = department_queue(user, key, now=now).count()
    return {key: result[key] for key in DEPARTMENT_QUEUES}


def department_queue(user: Any, queue: str, *, now: datetime | None = None) -> QuerySet[Case]:
    """A department handler's queues: what their department must sign for, handle, report."""
    now = now or timezone.now()
    depts = department_ids_of(user)
    qs = visible_cases(user)
    if queue == "to_acknowledge":
        qs = qs.filter(state=CaseState.DISPATCHED, lead_department_id__in=depts)
    elif queue == "handling":
        qs = qs.filter(state=CaseState.HANDLING, lead_department_id__in=depts)
    elif queue == "overdue":
        qs = qs.filter(
            state__in=[CaseState.DISPATCHED, CaseState.HANDLING], lead_department_id__in=depts, due_at__lt=now
        )
    elif queue == "parts":
        qs = qs.filter(
            state__in=[CaseState.DISPATCHED, CaseState.HANDLING],
            pk__in=CaseAssignment.objects.filter(
                department_id__in=depts, is_current=True, role="assisting", part_done_at__isnull=True
            ).values("case_id"),
        )
    elif queue == "supervision":
        qs = qs.filter(
            pk__in=Supervision.objects.filter(department_id__in=depts, replied_at__isnull=True)
            .exclude(kind="reminder")
            .values("case_id")
        )
    else:
        raise ValueError(f"unknown department queue {queue}")
    return qs.select_related("category", "category__parent", "region", "lead_department").order_by(
        "due_at", "-id"
    )


def case_detail(user: Any, case_id: int) -> Case:
    from zongzhi.orgs.scoping import get_visible_or_404

    return get_visible_or_404(
        user,
        Case.objects.select_related(
            "category", "category__parent", "region", "owner_region", "lead_department", "grid", "master"
        ),
        pk=case_id,
    )


def case_timeline(case: Case) -> QuerySet[CaseEvent]:
    return case.events.select_related("actor", "department").order_by("seq")


def case_supervisions(case: Case) -> QuerySet[Supervision]:
    return case.supervisions.select_related("department", "supervising_region").order_by("-created_at")


def case_assignments(case: Case) -> QuerySet[CaseAssignment]:
    return case.assignments.select_related("department").order_by("-dispatch_seq", "role")


def actions_for(user: Any, case: Case) -> list[str]:
    """The actions the table allows in the case's state that this user is entitled to try."""
    from zongzhi.orgs.scoping import user_can

    result = []
    mine = set(department_ids_of(user))
    for t in allowed_actions(case.state):
        if t.actor == "center":
            ok = user_can(user, t.perm, case.owner_path)
        elif t.action == "report_part":  # only a current assisting department reports a part
            ok = (
                bool(mine)
                and CaseAssignment.objects.filter(
                    case=case, is_current=True, role="assisting", department_id__in=mine
                ).exists()
            )
        elif t.actor == "department":
            ok = case.lead_department_id in mine
        else:
            ok = user_can(user, t.perm, case.region_path)
        if ok:
            result.append(t.action)
    return result


def categories_matching(
    text: str | None, *, include_inactive: bool = False, limit: int = 500
) -> list[Category]:
    """Catalogue search-as-you-type: code, name or keywords contain ``text``."""
    qs = Category.objects.select_related("parent")
    if not include_inactive:
        qs = qs.filter(is_active=True)
    if text:
        text = text.strip()
        qs = qs.filter(Q(code__startswith=text) | Q(name__contains=text) | Q(keywords__contains=text))
    return list(qs.order_by("sort_order", "code")[:limit])


# --- duplicate hints ------------------------------------------------------------------------------------------

# About 500 m in degrees of latitude; longitude is scaled by the latitude's cosine.
_NEAR_DEG = 0.0045


def similar_open_cases(
    user: Any,
    *,
    title: str = "",
    region_code: str = "",
    lon: float | None = None,
    lat: float | None = None,
    category_code: str = "",
    exclude_id: int | None = None,
    days: int = 30,
    limit: int = 8,
) -> list[Case]:
    """Open cases reported in the last ``days`` days that may be the same matter: within ~500 m and
    about the same thing (same top-level category, or a 2-character word of the title in common),
    or anywhere in the same region with a title word in common."""
    import math

    since = timezone.now() - timedelta(days=days)
    base = visible_cases(user).filter(state__in_constants=OPEN_STATES, created_at__gte=since)
    if exclude_id:
        base = base.exclude(pk=exclude_id)
    words = sorted({title[i : i + 2] for i in range(len(title) - 1) if title[i : i + 2].strip()})[:8]
    title_q = Q(pk__in=[])
    for w in words:
        title_q |= Q(title__contains=w)
    q = Q(pk__in=[])
    if lon is not None and lat is not None:
        dlon = _NEAR_DEG / max(math.cos(math.radians(lat)), 0.1)
        near = Q(lon__range=(lon - dlon, lon + dlon), lat__range=(lat - _NEAR_DEG, lat + _NEAR_DEG))
        same_subject = title_q
        if category_code:
            top = category_code[:2]
            same_subject |= Q(category__code=top) | Q(category__parent__code=top)
        q |= near & same_subject
    if words and region_code:
        region = Region.objects.filter(code=region_code).only("path").first()
        if region is not None:
            q |= subtree_q("region_path", [region.path]) & title_q
    return list(base.filter(q).select_related("category", "region").order_by("-created_at")[:limit])


def similar_cases(user: Any, case: Case) -> list[Case]:
    """For the detail page: the master, the duplicates, and possible duplicates still open."""
    related = list(
        visible_cases(user).filter(Q(master=case) | Q(pk=case.master_id or 0)).select_related("region")
    )
    if case.is_open:
        seen = {c.pk for c in related}
        for c in similar_open_cases(
            user,
            title=case.title,
            region_code=case.region.code,
            lon=case.lon,
            lat=case.lat,
            category_code=case.category.code if case.category else "",
            exclude_id=case.pk,
        ):
            if c.pk not in seen:
                related.append(c)
    return related


# --- public portal -------------------------------------------------------------------------------------------

PUBLIC_STEPS = {
    "report": gettext_noop("已登记"),
    "accept": gettext_noop("已受理"),
    "escalate": gettext_noop("已转上级中心"),
    "dispatch": gettext_noop("已派单"),
    "acknowledge": gettext_noop("部门已签收"),
    "resolve": gettext_noop("已办结"),
    "reply": gettext_noop("已反馈"),
    "rate": gettext_noop("已评价"),
    "reopen": gettext_noop("重新办理"),
    "archive": gettext_noop("已归档"),
    "decline": gettext_noop("不予受理"),
    "merge": gettext_noop("已合并处理"),
}


def public_case_view(case: Case) -> dict[str, Any]:
    """What a reporter may see through the tracking code: stages and the reply, nothing private."""
    steps = [
        {"action": action, "label": gettext(PUBLIC_STEPS[action]), "at": at}
        # values_list: one query (``only`` on a related manager re-fetches each row's case_id)
        for action, at in CaseEvent.objects.filter(case_id=case.pk)
        .order_by("seq")
        .values_list("action", "at")
        if action in PUBLIC_STEPS
    ]
    return {
        "number": case.number,
        "title": case.title,
        "state": case.state,
        "state_label": str(CaseState(case.state).label),
        "created_at": case.created_at,
        "steps": steps,
        "reply_text": case.reply_text if case.state in (CaseState.REPLIED, CaseState.ARCHIVED) else "",
        "decline_reason": case.decline_reason if case.state == CaseState.DECLINED else "",
        "rating": case.rating,
        "can_rate": case.state == CaseState.REPLIED and not case.rating,
    }
