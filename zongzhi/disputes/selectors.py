"""Reads on disputes, always through ``orgs.scoping``: lists, the detail bundle, the actions a user
may take, the mediators' load and results, screening completion, the monthly statistics table and
the rates (化解率, 就地化解率; definitions in docs/disputes.md)."""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from zongzhi.cases import selectors as case_selectors
from zongzhi.cases.models import Case, CaseAttachment, CaseEvent, CaseState
from zongzhi.cases.states import allowed_actions
from zongzhi.core.crypto import decrypt
from zongzhi.core.masking import mask_id_number, mask_name, mask_phone
from zongzhi.orgs.models import Region, RegionLevel
from zongzhi.orgs.paths import subtree_q
from zongzhi.orgs.roles import Perm
from zongzhi.orgs.scoping import get_visible_or_404, user_can, visible_to

from . import rules
from .models import (
    LOCAL_LEVELS,
    RESOLVED_OUTCOMES,
    Dispute,
    DisputeFlag,
    DisputeType,
    Mediation,
    MediationAgreement,
    MediationOutcome,
    Mediator,
    Outcome,
    Party,
    RiskAssessment,
    RiskLevel,
    Scale,
    ScreeningCampaign,
    ScreeningReport,
    ScreeningStatus,
)

# --- lists ------------------------------------------------------------------------------------------------

STAGES: dict[str, str] = {
    "reported": gettext_noop("待受理"),
    "in_progress": gettext_noop("调处中"),
    "concluded": gettext_noop("已办结"),
    "archived": gettext_noop("已归档"),
}
_STAGE_STATES = {
    "reported": (CaseState.REPORTED,),
    "in_progress": (CaseState.ACCEPTED, CaseState.DISPATCHED, CaseState.HANDLING),
    "concluded": (CaseState.RESOLVED, CaseState.REPLIED),
    "archived": (CaseState.ARCHIVED,),
}


def stage_of(state: str) -> str:
    for key, states in _STAGE_STATES.items():
        if state in states:
            return key
    return "declined"


@dataclass
class DisputeFilters:
    region: str | None = None  # code
    dispute_type: str | None = None  # code
    risk_level: str | None = None
    scale: str | None = None
    stage: str | None = None
    outcome: str | None = None  # an Outcome value, or "open"
    created_from: date | None = None
    created_to: date | None = None
    text: str | None = None


def visible_disputes(user: Any) -> QuerySet[Dispute]:
    return visible_to(user, Dispute)


def dispute_list(user: Any, f: DisputeFilters) -> QuerySet[Dispute]:
    qs = visible_disputes(user)
    if f.region:
        region = Region.objects.filter(code=f.region).only("path").first()
        qs = qs.filter(subtree_q("region_path", [region.path])) if region else qs.none()
    if f.dispute_type:
        qs = qs.filter(dispute_type__code=f.dispute_type)
    if f.risk_level:
        qs = qs.filter(risk_level=f.risk_level)
    if f.scale:
        qs = qs.filter(scale=f.scale)
    if f.stage in _STAGE_STATES:
        qs = qs.filter(case__state__in=_STAGE_STATES[f.stage])
    if f.outcome == "open":
        qs = qs.filter(outcome="")
    elif f.outcome:
        qs = qs.filter(outcome=f.outcome)
    if f.created_from:
        qs = qs.filter(created_at__gte=timezone.make_aware(datetime.combine(f.created_from, time.min)))
    if f.created_to:
        qs = qs.filter(
            created_at__lt=timezone.make_aware(datetime.combine(f.created_to + timedelta(days=1), time.min))
        )
    if f.text:
        text = f.text.strip()
        qs = qs.filter(Q(case__number=text.upper()) | Q(case__title__contains=text))
    return qs.select_related("case", "case__region", "case__owner_region", "dispute_type").order_by(
        "-created_at", "-id"
    )


def party_names(dispute: Dispute, *, masked: bool = True) -> dict[str, list[str]]:
    """Applicants and respondents by name (masked for lists)."""
    out: dict[str, list[str]] = {"applicant": [], "respondent": []}
    for p in dispute.parties.all():
        name = decrypt(p.name_enc)
        out.setdefault(p.role, []).append(mask_name(name) if masked and p.kind == "person" else name)
    return out


def with_parties(qs: QuerySet[Dispute]) -> QuerySet[Dispute]:
    return qs.prefetch_related("parties")


# --- detail ------------------------------------------------------------------------------------------------


def dispute_detail(user: Any, dispute_id: int) -> Dispute:
    return get_visible_or_404(
        user,
        Dispute.objects.select_related(
            "case",
            "case__region",
            "case__owner_region",
            "case__lead_department",
            "case__grid",
            "dispute_type",
            "screening_report__campaign",
        ),
        pk=dispute_id,
    )


def names_clear_for(user: Any, dispute: Dispute) -> bool:
    """Who mediates (or runs the owning center) sees the parties' names; others see them masked."""
    return user_can(user, Perm.DISPUTE_MEDIATE, dispute.region_path) or user_can(
        user, Perm.CASE_ACCEPT, dispute.case.owner_path
    )


@dataclass
class PartyView:
    id: int
    role: str
    role_label: str
    kind: str
    kind_label: str
    name: str
    gender: str
    ethnicity: str
    id_type: str
    id_number: str  # masked
    phone: str  # masked
    has_address: bool
    representative: str


def party_views(dispute: Dispute, *, names_clear: bool) -> list[PartyView]:
    views = []
    for p in dispute.parties.order_by("role", "sort_order", "pk"):
        name = decrypt(p.name_enc)
        views.append(
            PartyView(
                id=p.pk,
                role=p.role,
                role_label=str(p.get_role_display()),
                kind=p.kind,
                kind_label=str(p.get_kind_display()),
                name=name if names_clear or p.kind != "person" else mask_name(name),
                gender=str(p.get_gender_display()) if p.gender else "",
                ethnicity=p.ethnicity,
                id_type=str(p.get_id_type_display()) if p.id_type else "",
                id_number=mask_id_number(decrypt(p.id_number_enc)) if p.id_number_enc else "",
                phone=mask_phone(decrypt(p.phone_enc)) if p.phone_enc else "",
                has_address=bool(p.address_enc),
                representative=p.representative,
            )
        )
    return views


def active_flags(dispute: Dispute) -> QuerySet[DisputeFlag]:
    return dispute.flags.filter(cleared_at__isnull=True).select_related("flag_type", "raised_by")


def flag_history(dispute: Dispute) -> QuerySet[DisputeFlag]:
    return dispute.flags.select_related("flag_type").order_by("-raised_at", "-id")


def assessments(dispute: Dispute) -> QuerySet[RiskAssessment]:
    return dispute.assessments.order_by("-assessed_at", "-id")


def mediations(dispute: Dispute) -> QuerySet[Mediation]:
    return (
        dispute.mediations.select_related("lead_mediator", "department")
        .prefetch_related("participants", "sessions")
        .order_by("round")
    )


def agreements(dispute: Dispute) -> QuerySet[MediationAgreement]:
    return dispute.agreements.select_related("mediation").order_by("signed_at", "pk")


def session_attachments(dispute: Dispute) -> dict[int, list[CaseAttachment]]:
    """The case attachments of each session's timeline row, by event seq."""
    out: dict[int, list[CaseAttachment]] = {}
    for a in CaseAttachment.objects.filter(case_id=dispute.case_id, event_seq__isnull=False).order_by("pk"):
        out.setdefault(int(a.event_seq or 0), []).append(a)
    return out


def escalations(dispute: Dispute) -> QuerySet[CaseEvent]:
    """The escalations (上报) with their reasons, from the case's timeline."""
    return CaseEvent.objects.filter(case_id=dispute.case_id, action="escalate").order_by("seq")


def related_disputes(user: Any, dispute: Dispute, *, days: int = 365) -> list[Dispute]:
    """Other disputes in the last ``days`` days of a party with the same ID number or phone (blind
    index): the "repeated visits" signal."""
    keys_id = [k for k in dispute.parties.values_list("id_number_index", flat=True) if k]
    keys_phone = [k for k in dispute.parties.values_list("phone_index", flat=True) if k]
    if not keys_id and not keys_phone:
        return []
    since = timezone.now() - timedelta(days=days)
    party_q = Q(id_number_index__in=keys_id) | Q(phone_index__in=keys_phone)
    ids = Party.objects.filter(party_q).exclude(dispute_id=dispute.pk).values("dispute_id")
    return list(
        visible_disputes(user)
        .filter(pk__in=ids, created_at__gte=since)
        .select_related("case", "dispute_type")
        .order_by("-created_at")[:10]
    )


def dispute_actions_for(user: Any, case: Case) -> list[str]:
    """The actions (generic and dispute-only) the table allows in the case's state that this user is
    entitled to try — as ``cases.selectors.actions_for``, for a case of kind dispute."""
    generic = set(case_selectors.actions_for(user, case))
    result = []
    for t in allowed_actions(case.state, case.kind):
        if not t.kinds:
            if t.action in generic:
                result.append(t.action)
            continue
        if t.actor == "center":
            ok = user_can(user, t.perm, case.owner_path)
        else:
            ok = user_can(user, t.perm, case.region_path)
        if ok:
            result.append(t.action)
    return result


def escalation_advice(dispute: Dispute) -> rules.EscalationAdvice:
    flags = dispute.flags.filter(cleared_at__isnull=True).count()
    return rules.escalation_advice(
        risk_level=dispute.risk_level,
        scale=dispute.scale,
        owner_level=dispute.case.owner_region.level,
        flag_count=flags,
    )


def mediators_for_case(user: Any, case: Case) -> QuerySet[Mediator]:
    """The mediators a mediation of this case may use: visible to the user, active, registered on the
    case's path (village and the bodies above it) or within the owning center's subtree."""
    from zongzhi.orgs.paths import ancestors_or_self

    return (
        visible_to(user, Mediator)
        .filter(is_active=True)
        .filter(
            Q(region_path__in=ancestors_or_self(case.region_path))
            | subtree_q("region_path", [case.owner_path])
        )
        .select_related("department", "region")
        .order_by("region_path", "name")
    )


# --- mediators ----------------------------------------------------------------------------------------------


def mediator_list(
    user: Any, *, region: str | None = None, text: str | None = None, active_only: bool = False
) -> QuerySet[Mediator]:
    """Mediators with their load (open rounds, lead or participant) and results (rounds led, by
    outcome)."""
    qs = visible_to(user, Mediator)
    if region:
        found = Region.objects.filter(code=region).only("path").first()
        qs = qs.filter(subtree_q("region_path", [found.path])) if found else qs.none()
    if text:
        qs = qs.filter(Q(name__contains=text.strip()) | Q(body_name__contains=text.strip()))
    if active_only:
        qs = qs.filter(is_active=True)
    return (
        annotate_load(qs)
        .select_related("region", "department")
        .prefetch_related("specialties")
        .order_by("region_path", "name")
    )


def annotate_load(qs: QuerySet[Mediator]) -> QuerySet[Mediator]:
    return qs.annotate(
        open_led=Count("led_mediations", filter=Q(led_mediations__ended_at__isnull=True), distinct=True),
        open_joined=Count(
            "joined_mediations", filter=Q(joined_mediations__ended_at__isnull=True), distinct=True
        ),
        led_total=Count("led_mediations", filter=Q(led_mediations__ended_at__isnull=False), distinct=True),
        led_agreement=Count(
            "led_mediations", filter=Q(led_mediations__outcome=MediationOutcome.AGREEMENT), distinct=True
        ),
        led_partial=Count(
            "led_mediations", filter=Q(led_mediations__outcome=MediationOutcome.PARTIAL), distinct=True
        ),
        led_failed=Count(
            "led_mediations", filter=Q(led_mediations__outcome=MediationOutcome.FAILED), distinct=True
        ),
        led_withdrawn=Count(
            "led_mediations", filter=Q(led_mediations__outcome=MediationOutcome.WITHDRAWN), distinct=True
        ),
    )


def mediator_success_rate(m: Any) -> Decimal | None:
    """Agreements / rounds led that ended in agreement, partial agreement or failure (withdrawals
    excluded)."""
    return rules.rate(m.led_agreement, m.led_agreement + m.led_partial + m.led_failed)


def mediator_detail(user: Any, mediator_id: int) -> Mediator:
    return get_visible_or_404(
        user, annotate_load(Mediator.objects.select_related("region", "department", "user")), pk=mediator_id
    )


def mediator_rounds(user: Any, mediator: Mediator) -> QuerySet[Mediation]:
    visible = visible_disputes(user).values("pk")
    return (
        Mediation.objects.filter(Q(lead_mediator=mediator) | Q(participants=mediator), dispute_id__in=visible)
        .select_related("dispute__case", "dispute__dispute_type")
        .distinct()
        .order_by("-started_at")[:50]
    )


# --- screening -----------------------------------------------------------------------------------------------


def campaign_list(user: Any) -> QuerySet[ScreeningCampaign]:
    return (
        visible_to(user, ScreeningCampaign)
        .select_related("region")
        .annotate(
            grids=Count("reports", distinct=True),
            reported=Count("reports", filter=~Q(reports__status=ScreeningStatus.PENDING), distinct=True),
            found=Count("reports", filter=Q(reports__status=ScreeningStatus.FOUND), distinct=True),
        )
        .order_by("-period_start", "-id")
    )


def campaign_detail(user: Any, campaign_id: int) -> ScreeningCampaign:
    return get_visible_or_404(
        user, ScreeningCampaign.objects.select_related("region", "opened_by"), pk=campaign_id
    )


def campaign_reports(user: Any, campaign: ScreeningCampaign) -> QuerySet[ScreeningReport]:
    """The grid reports of a campaign the user may see (a grid worker: those of their village)."""
    return (
        visible_to(user, ScreeningReport)
        .filter(campaign=campaign)
        .select_related("grid", "grid__village", "reported_by")
        .order_by("grid__code")
    )


@dataclass
class Completion:
    grids: int
    reported: int
    found: int
    none_found: int

    @property
    def pending(self) -> int:
        return self.grids - self.reported

    @property
    def percent(self) -> Decimal | None:
        return rules.rate(self.reported, self.grids)


def campaign_completion(reports: QuerySet[ScreeningReport]) -> Completion:
    counts = dict(reports.order_by().values_list("status").annotate(n=Count("pk")))
    found = counts.get(ScreeningStatus.FOUND, 0)
    none_found = counts.get(ScreeningStatus.NONE_FOUND, 0)
    return Completion(
        grids=sum(counts.values()), reported=found + none_found, found=found, none_found=none_found
    )


def completion_by_village(reports: QuerySet[ScreeningReport]) -> list[dict[str, Any]]:
    rows: dict[int, dict[str, Any]] = {}
    for r in reports:
        row = rows.setdefault(
            r.grid.village_id, {"village": r.grid.village, "grids": 0, "reported": 0, "found": 0}
        )
        row["grids"] += 1
        row["reported"] += int(r.status != ScreeningStatus.PENDING)
        row["found"] += int(r.status == ScreeningStatus.FOUND)
    for row in rows.values():
        row["percent"] = rules.rate(row["reported"], row["grids"])
    return sorted(rows.values(), key=lambda r: r["village"].path)


def my_screening_reports(user: Any) -> QuerySet[ScreeningReport]:
    """A grid worker's grids in open campaigns (what they still have to report)."""
    from zongzhi.orgs.models import GridMembership

    grid_ids = GridMembership.objects.filter(user_id=user.pk).values("grid_id")
    return (
        ScreeningReport.objects.filter(grid_id__in=grid_ids, campaign__closed_at__isnull=True)
        .select_related("campaign", "grid", "grid__village")
        .order_by("status", "-campaign__period_start", "grid__code")
    )


# --- statistics: the monthly table and the rates ------------------------------------------------------------


def month_bounds(year: int, month: int) -> tuple[datetime, datetime]:
    start = date(year, month, 1)
    end = date(year + (month == 12), month % 12 + 1, 1)
    return (
        timezone.make_aware(datetime.combine(start, time.min)),
        timezone.make_aware(datetime.combine(end, time.min)),
    )


def period_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """[start 00:00, (end + 1 day) 00:00) in local time: ``end`` is inclusive."""
    return (
        timezone.make_aware(datetime.combine(start, time.min)),
        timezone.make_aware(datetime.combine(end + timedelta(days=1), time.min)),
    )


@dataclass
class _Row:
    """One dispute of the population, as the statistics need it."""

    region_path: str
    type_id: int
    scale: str
    risk: str
    state: str
    outcome: str
    outcome_at: datetime | None
    resolved_level: str


def population(user: Any, region: Region, start: datetime, end: datetime) -> list[_Row]:
    """The disputes registered in [start, end) located in ``region``'s subtree and visible to the
    user, declined (and merged) cases excluded."""
    qs = (
        visible_disputes(user)
        .filter(
            subtree_q("region_path", [region.path]), case__created_at__gte=start, case__created_at__lt=end
        )
        .exclude(case__state=CaseState.DECLINED)
        .values_list(
            "region_path",
            "dispute_type_id",
            "scale",
            "risk_level",
            "case__state",
            "outcome",
            "outcome_at",
            "resolved_level",
        )
    )
    return [_Row(*row) for row in qs.iterator(chunk_size=2000)]


def _outcome_as_of(r: _Row, as_of: datetime) -> str:
    """The dispute's outcome as counted at ``as_of``: its recorded outcome if reached before then,
    else open (""). A resolution later undone by a reopen is no longer recorded, so never counted."""
    return r.outcome if r.outcome and r.outcome_at is not None and r.outcome_at < as_of else ""


def _is_resolved(r: _Row, as_of: datetime) -> bool:
    return _outcome_as_of(r, as_of) in RESOLVED_OUTCOMES


def figures(rows: list[_Row], as_of: datetime) -> rules.RateFigures:
    resolved = [r for r in rows if _is_resolved(r, as_of)]
    return rules.RateFigures(
        total=len(rows),
        withdrawn=sum(1 for r in rows if _outcome_as_of(r, as_of) == Outcome.WITHDRAWN),
        resolved=len(resolved),
        resolved_locally=sum(1 for r in resolved if r.resolved_level in LOCAL_LEVELS),
    )


def dispute_rates(
    user: Any, region: Region, start: datetime, end: datetime, *, as_of: datetime | None = None
) -> rules.RateFigures:
    """化解率 and 就地化解率 of ``region`` for disputes registered in [start, end), counted as of
    ``as_of`` (default now). See docs/disputes.md."""
    return figures(population(user, region, start, end), as_of or timezone.now())


@dataclass
class TableRow:
    label: str
    region: Region | None
    counts: dict[str, int] = field(default_factory=dict)
    resolution_rate: Decimal | None = None
    local_resolution_rate: Decimal | None = None


@dataclass
class MonthlyTable:
    region: Region
    year: int
    month: int
    columns: list[tuple[str, str, list[tuple[str, str]]]]  # (group key, group label, [(key, label)])
    rows: list[TableRow]
    total: TableRow
    as_of: datetime

    def keys(self) -> list[str]:
        return [key for _g, _label, cols in self.columns for key, _l in cols]


def _columns() -> list[tuple[str, str, list[tuple[str, str]]]]:
    types = list(DisputeType.objects.order_by("sort_order", "code"))
    return [
        ("total", _("排查纠纷总数"), [("total", _("合计"))]),
        ("type", _("纠纷类型"), [(f"type:{t.pk}", t.name) for t in types]),
        ("scale", _("规模"), [(f"scale:{v}", str(label)) for v, label in Scale.choices]),
        ("risk", _("风险等级"), [(f"risk:{v}", str(label)) for v, label in RiskLevel.choices]),
        ("stage", _("办理阶段"), [(f"stage:{k}", _(label)) for k, label in STAGES.items()]),
        (
            "result",
            _("化解情况"),
            [
                ("resolved", _("已化解")),
                ("unresolved", _("未化解")),
                ("transferred", _("依法移交")),
                ("withdrawn", _("撤回")),
                ("resolved_locally", _("就地化解")),
            ],
        ),
    ]


def _count_row(rows: list[_Row], keys: list[str], as_of: datetime) -> dict[str, int]:
    counts = dict.fromkeys(keys, 0)
    for r in rows:
        counts["total"] += 1
        counts[f"type:{r.type_id}"] = counts.get(f"type:{r.type_id}", 0) + 1
        counts[f"scale:{r.scale}"] += 1
        counts[f"risk:{r.risk}"] += 1
        stage = stage_of(r.state)
        if f"stage:{stage}" in counts:
            counts[f"stage:{stage}"] += 1
        # total = resolved + unresolved + withdrawn; transferred and resolved locally are parts of
        # unresolved and resolved (docs/disputes.md)
        outcome = _outcome_as_of(r, as_of)
        if outcome in RESOLVED_OUTCOMES:
            counts["resolved"] += 1
            if r.resolved_level in LOCAL_LEVELS:
                counts["resolved_locally"] += 1
        elif outcome == Outcome.WITHDRAWN:
            counts["withdrawn"] += 1
        else:
            counts["unresolved"] += 1
            if outcome == Outcome.TRANSFERRED:
                counts["transferred"] += 1
    return counts


def monthly_table(
    user: Any, region: Region, year: int, month: int, *, as_of: datetime | None = None
) -> MonthlyTable:
    """矛盾纠纷排查信息统计表: one row per child region of ``region`` (and one for disputes located at
    ``region`` itself, when there are any), and the total; counts by type, scale, risk, stage and
    result, with the rates of each row."""
    as_of = as_of or timezone.now()
    start, end = month_bounds(year, month)
    rows = population(user, region, start, end)
    columns = _columns()
    keys = [key for _g, _label, cols in columns for key, _l in cols]
    children = list(Region.objects.filter(parent=region).order_by("code"))
    by_child: dict[str, list[_Row]] = {c.path: [] for c in children}
    own: list[_Row] = []
    width = len(region.path) + 13  # a child's path: the region's path + 12 digits + "/"
    for r in rows:
        bucket = by_child.get(r.region_path[:width])
        (bucket if bucket is not None else own).append(r)

    def make(label: str, reg: Region | None, part: list[_Row]) -> TableRow:
        f = figures(part, as_of)
        return TableRow(
            label=label,
            region=reg,
            counts=_count_row(part, keys, as_of),
            resolution_rate=f.resolution_rate,
            local_resolution_rate=f.local_resolution_rate,
        )

    table_rows = [make(c.name, c, by_child[c.path]) for c in children]
    if own:
        table_rows.append(make(_("%(name)s本级") % {"name": region.name}, region, own))
    return MonthlyTable(
        region=region,
        year=year,
        month=month,
        columns=columns,
        rows=table_rows,
        total=make(_("合计"), region, rows),
        as_of=as_of,
    )


def stats_regions(user: Any) -> QuerySet[Region]:
    """Regions a user may pick for the statistics (city to township)."""
    return visible_to(user, Region, Perm.CASE_VIEW).filter(
        level__in=[RegionLevel.CITY, RegionLevel.COUNTY, RegionLevel.TOWNSHIP, RegionLevel.VILLAGE]
    )


def stats_region(user: Any, code: str | None) -> Region:
    """The region to count: the one named (if the user may see cases there), else the user's
    widest region."""
    from django.http import Http404

    from zongzhi.orgs.scoping import scope_roots

    if code:
        region = Region.objects.filter(code=code).first()
        if region is None or not user_can(user, Perm.CASE_VIEW, region):
            raise Http404
        return region
    roots = scope_roots(user, Perm.CASE_VIEW)
    if not roots:
        raise Http404
    if roots == [""]:
        region = Region.objects.filter(parent__isnull=True).order_by("path").first()
    else:
        region = Region.objects.filter(path=min(roots, key=len)).first()
    if region is None:
        raise Http404
    return region


def last_day(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]
