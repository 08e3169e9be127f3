"""Writes of the assessment: plans and their indicators, bulletins (request, build in the
background, publish).

Every service takes keyword-only arguments with a required ``actor`` (``None`` only for the system:
seeding and tests), checks ``assessment.manage`` at the plan's region through ``scoping``, runs in
one transaction and writes an audit row in it.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import math
from dataclasses import dataclass
from typing import Any

from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from zongzhi.core.audit import audit_record
from zongzhi.core.errors import Conflict, FieldError, NotFound, PermissionDeniedError
from zongzhi.orgs.models import Region, User
from zongzhi.orgs.roles import Perm
from zongzhi.orgs.scoping import user_can, visible_to

from . import exports, formulas, selectors
from .formulas import INDICATORS, Period
from .models import (
    AssessmentPlan,
    Bulletin,
    BulletinStatus,
    Curve,
    PeriodKind,
    PlanIndicator,
    SubjectKind,
)

logger = logging.getLogger(__name__)


def _require_manage(actor: User | None, target: Any) -> None:
    if actor is not None and not user_can(actor, Perm.ASSESSMENT_MANAGE, target):
        raise PermissionDeniedError(_("无权管理考核。"), code="forbidden")


def _managed_plan(actor: User | None, plan_id: int, *, lock: bool = False) -> AssessmentPlan:
    qs = AssessmentPlan.objects.select_for_update() if lock else AssessmentPlan.objects.all()
    plan = (visible_to(actor, qs) if actor is not None else qs).filter(pk=plan_id).first()
    if plan is None:
        raise NotFound(_("考核方案不存在。"))
    _require_manage(actor, plan)
    return plan


def _clean_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise FieldError("name", _("请填写方案名称。"), code="required")
    if len(name) > 100:
        raise FieldError("name", _("方案名称不能超过100个字。"), code="too_long")
    return name


@dataclass
class IndicatorInput:
    code: str
    weight: float
    target: float | None = None
    curve: str = Curve.LINEAR
    zero_at: float | None = None
    params: dict[str, Any] | None = None
    sort_order: int | None = None


def _number(value: Any, field: str, label: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise FieldError(field, _("“%(label)s”须为数字。") % {"label": label}, code="invalid") from None
    if not math.isfinite(number):
        raise FieldError(field, _("“%(label)s”须为数字。") % {"label": label}, code="invalid")
    return number


def _clean_indicator(plan: AssessmentPlan, data: IndicatorInput) -> dict[str, Any]:
    indicator = INDICATORS.get(data.code)
    if indicator is None:
        raise FieldError("code", _("未知的考核指标。"), code="invalid_choice")
    if plan.subject_kind not in indicator.subjects:
        raise FieldError(
            "code",
            _("“%(name)s”不适用于考核对象“%(subject)s”。")
            % {"name": indicator.name, "subject": SubjectKind(plan.subject_kind).label},
            code="not_applicable",
        )
    weight = _number(data.weight, "weight", _("权重"))
    if not (0 < weight <= 1000):
        raise FieldError("weight", _("权重须大于0且不超过1000。"), code="out_of_range")
    target = indicator.default_target if data.target is None else _number(data.target, "target", _("目标值"))
    if indicator.is_rate and not (0 <= target <= 1):
        raise FieldError("target", _("比率指标的目标值须在0到1之间（如0.95）。"), code="out_of_range")
    if not indicator.is_rate and target < 0:
        raise FieldError("target", _("目标值不能为负数。"), code="out_of_range")
    if data.curve not in Curve.values:
        raise FieldError("curve", _("未知的计分方式。"), code="invalid_choice")
    zero_at = None if data.zero_at is None else _number(data.zero_at, "zero_at", _("零分值"))
    if zero_at is not None:
        if indicator.is_rate and not (0 <= zero_at <= 1):
            raise FieldError("zero_at", _("比率指标的零分值须在0到1之间。"), code="out_of_range")
        if indicator.higher_is_better and zero_at >= target:
            raise FieldError("zero_at", _("零分值须低于目标值。"), code="out_of_range")
        if not indicator.higher_is_better and zero_at <= target:
            raise FieldError("zero_at", _("零分值须高于目标值。"), code="out_of_range")
    if data.curve == Curve.PROPORTIONAL and indicator.higher_is_better and target <= 0:
        raise FieldError("target", _("比例制计分的目标值须大于0。"), code="out_of_range")
    try:
        params = formulas.validate_indicator_params(data.code, data.params)
    except ValueError as exc:
        raise FieldError(f"params.{exc.args[0]}", _("参数无效。"), code="invalid") from None
    return {
        "weight": weight,
        "target": target,
        "curve": data.curve,
        "zero_at": zero_at,
        "params": params,
    }


def plan_create(
    *,
    actor: User | None,
    region: Region,
    name: str,
    subject_kind: str,
    period_kind: str = PeriodKind.MONTH,
    note: str = "",
    indicators: list[IndicatorInput] | None = None,
    now: dt.datetime | None = None,
) -> AssessmentPlan:
    """Create a plan of ``region``'s center assessing ``subject_kind``, with its indicators.
    Needs ``assessment.manage`` at ``region``."""
    if actor is not None and not user_can(actor, Perm.ASSESSMENT_MANAGE, region):
        raise FieldError("region", _("所选区域不在您的管辖范围内。"), code="out_of_scope")
    name = _clean_name(name)
    if subject_kind not in SubjectKind.values:
        raise FieldError("subject_kind", _("未知的考核对象。"), code="invalid_choice")
    if period_kind not in PeriodKind.values:
        raise FieldError("period_kind", _("未知的考核周期。"), code="invalid_choice")
    now = now or timezone.now()
    try:
        with transaction.atomic():
            plan = AssessmentPlan.objects.create(
                name=name,
                region=region,
                region_path=region.path,
                subject_kind=subject_kind,
                period_kind=period_kind,
                note=(note or "").strip(),
                created_by=actor,
                created_at=now,
                updated_at=now,
            )
            seen: set[str] = set()
            for order, item in enumerate(indicators or []):
                if item.code in seen:
                    raise FieldError("code", _("同一指标不能重复添加。"), code="duplicate")
                seen.add(item.code)
                PlanIndicator.objects.create(
                    plan=plan,
                    code=item.code,
                    sort_order=item.sort_order if item.sort_order is not None else order,
                    **_clean_indicator(plan, item),
                )
            audit_record(
                actor=actor or "system",
                action="assessment.plan.create",
                obj=plan,
                data={"indicators": sorted(seen)},
            )
    except IntegrityError:
        raise FieldError("name", _("本区域已有同名方案。"), code="duplicate") from None
    return plan


def plan_update(
    *,
    actor: User | None,
    plan_id: int,
    name: str | None = None,
    period_kind: str | None = None,
    is_active: bool | None = None,
    note: str | None = None,
    now: dt.datetime | None = None,
) -> AssessmentPlan:
    """Rename, change the period, switch on/off or annotate a plan. Its region and subject kind
    stay (they define what its bulletins compared): make a new plan instead."""
    try:
        with transaction.atomic():
            plan = _managed_plan(actor, plan_id, lock=True)
            if name is not None:
                plan.name = _clean_name(name)
            if period_kind is not None:
                if period_kind not in PeriodKind.values:
                    raise FieldError("period_kind", _("未知的考核周期。"), code="invalid_choice")
                plan.period_kind = period_kind
            if is_active is not None:
                plan.is_active = is_active
            if note is not None:
                plan.note = note.strip()
            plan.updated_at = now or timezone.now()
            plan.save()
            audit_record(actor=actor or "system", action="assessment.plan.update", obj=plan)
    except IntegrityError:
        raise FieldError("name", _("本区域已有同名方案。"), code="duplicate") from None
    return plan


def plan_indicator_save(
    *, actor: User | None, plan_id: int, data: IndicatorInput, now: dt.datetime | None = None
) -> PlanIndicator:
    """Add the indicator ``data.code`` to the plan, or change its weight, target, curve and
    parameters when the plan has it already."""
    with transaction.atomic():
        plan = _managed_plan(actor, plan_id, lock=True)
        values = _clean_indicator(plan, data)
        existing = plan.indicators.filter(code=data.code).first()
        if existing is None:
            order = data.sort_order
            if order is None:
                order = plan.indicators.count()
            item = PlanIndicator.objects.create(plan=plan, code=data.code, sort_order=order, **values)
        else:
            for key, value in values.items():
                setattr(existing, key, value)
            if data.sort_order is not None:
                existing.sort_order = data.sort_order
            existing.save()
            item = existing
        AssessmentPlan.objects.filter(pk=plan.pk).update(updated_at=now or timezone.now())
        audit_record(
            actor=actor or "system",
            action="assessment.indicator.save",
            obj=plan,
            data={"code": data.code, **values},
        )
    return item


def plan_indicator_remove(*, actor: User | None, plan_id: int, code: str) -> None:
    with transaction.atomic():
        plan = _managed_plan(actor, plan_id, lock=True)
        deleted, _rows = plan.indicators.filter(code=code).delete()
        if not deleted:
            raise NotFound(_("方案中没有此指标。"))
        audit_record(
            actor=actor or "system", action="assessment.indicator.remove", obj=plan, data={"code": code}
        )


# --- bulletins -------------------------------------------------------------------------------------------


def _json_value(value: formulas.Value, score: float | None) -> dict[str, Any]:
    return {
        "numerator": value.numerator,
        "denominator": value.denominator,
        "value": None if value.value is None else round(value.value, 6),
        "score": None if score is None else round(score, 4),
    }


def snapshot_of(card: selectors.Scorecard) -> dict[str, Any]:
    """The scorecard as JSON: what a bulletin keeps (it never changes after generation)."""
    return {
        "plan": {"id": card.plan.pk, "name": card.plan.name, "subject_kind": card.plan.subject_kind},
        "period": {"start": card.period.start.isoformat(), "end": card.period.end.isoformat()},
        "as_of": card.as_of.isoformat(),
        "full_marks": card.full_marks,
        "indicators": [
            {
                "id": pi.pk,
                "code": pi.code,
                "name": str(pi.indicator.name),
                "weight": pi.weight,
                "target": pi.target,
                "curve": pi.curve,
                "is_rate": pi.indicator.is_rate,
                "higher_is_better": pi.indicator.higher_is_better,
                "numerator_text": str(pi.indicator.numerator_text),
                "denominator_text": str(pi.indicator.denominator_text),
                "cohort": str(formulas.COHORTS[pi.indicator.cohort]),
            }
            for pi in card.indicators
        ],
        "rows": [
            {
                "key": row.subject.key,
                "name": row.subject.name,
                "total": row.total,
                "rank": row.rank,
                "values": {
                    str(pi.pk): _json_value(row.values[pi.pk], row.scores[pi.pk]) for pi in card.indicators
                },
            }
            for row in card.rows
        ],
    }


def bulletin_title(plan: AssessmentPlan, period_kind: str, period: Period) -> str:
    if period_kind == PeriodKind.MONTH:
        label = _("%(year)s年%(month)s月") % {"year": period.start.year, "month": period.start.month}
    elif period_kind == PeriodKind.QUARTER:
        label = _("%(year)s年第%(quarter)s季度") % {
            "year": period.start.year,
            "quarter": (period.start.month - 1) // 3 + 1,
        }
    elif period_kind == PeriodKind.YEAR:
        label = _("%(year)s年度") % {"year": period.start.year}
    else:
        label = period.label()
    return _("%(plan)s %(period)s考核通报") % {"plan": plan.name, "period": label}


def bulletin_generate(
    *,
    actor: User | None,
    plan_id: int,
    period_kind: str,
    period: Period,
    note: str = "",
    now: dt.datetime | None = None,
) -> Bulletin:
    """Request a bulletin of the plan for ``period``: checked now (a period that has not ended yet
    is refused — a bulletin reports a closed period), kept as ``queued`` with who asked and when,
    and built by a background job (``tasks.run_bulletin`` → ``bulletin_build``) once committed."""
    now = now or timezone.now()
    if period_kind not in PeriodKind.values:
        raise FieldError("period_kind", _("未知的考核周期。"), code="invalid_choice")
    if period.end_at > now:
        raise FieldError("period", _("考核期尚未结束，不能生成通报。"), code="period_open")
    with transaction.atomic():
        plan = _managed_plan(actor, plan_id)
        if not selectors.plan_indicators(plan):
            raise FieldError("plan", _("方案还没有考核指标。"), code="no_indicators")
        bulletin = Bulletin.objects.create(
            plan=plan,
            region_path=plan.region_path,
            title=bulletin_title(plan, period_kind, period)[:150],
            period_kind=period_kind,
            period_start=period.start,
            period_end=period.end,
            status=BulletinStatus.QUEUED,
            snapshot={},
            note=(note or "").strip(),
            requested_at=now,
            generated_by=actor,
        )
        audit_record(
            actor=actor or "system",
            action="assessment.bulletin.generate",
            obj=bulletin,
            data={"plan": plan.pk, "period": period.label()},
        )
        bulletin_id = bulletin.pk
        transaction.on_commit(lambda: _enqueue_build(bulletin_id))
    return bulletin


def _enqueue_build(bulletin_id: int) -> None:
    from .tasks import run_bulletin

    run_bulletin(bulletin_id)


def bulletin_build(*, bulletin_id: int, now: dt.datetime | None = None) -> Bulletin:
    """The background work of a requested bulletin: compute the plan's scorecard as of now, keep
    it as the snapshot and render it once into the kept files (.xlsx and PDF); the bulletin becomes
    a draft. A bulletin no longer queued is left alone (a job run twice builds once). A failure is
    kept on the bulletin (``failed`` with the error) for those who asked."""
    now = now or timezone.now()
    bulletin = Bulletin.objects.select_related("plan", "generated_by").get(pk=bulletin_id)
    if bulletin.status != BulletinStatus.QUEUED:
        return bulletin
    try:
        period = Period(bulletin.period_start, bulletin.period_end)
        card = selectors.scorecard(bulletin.plan, period, as_of=now)
        bulletin.snapshot = snapshot_of(card)
        bulletin.generated_at = now
        xlsx = io.BytesIO()
        exports.bulletin_xlsx(bulletin, xlsx)
        pdf = exports.bulletin_pdf(bulletin)
        stem = f"bulletin-{bulletin.pk}-{period.start:%Y%m%d}-{period.end:%Y%m%d}"
        bulletin.xlsx_file.save(f"{stem}.xlsx", ContentFile(xlsx.getvalue()), save=False)
        bulletin.pdf_file.save(f"{stem}.pdf", ContentFile(pdf), save=False)
        with transaction.atomic():
            updated = Bulletin.objects.filter(pk=bulletin.pk, status=BulletinStatus.QUEUED).update(
                status=BulletinStatus.DRAFT,
                snapshot=bulletin.snapshot,
                generated_at=now,
                xlsx_file=bulletin.xlsx_file.name,
                pdf_file=bulletin.pdf_file.name,
                error="",
            )
            if updated:
                audit_record(
                    actor=bulletin.generated_by or "system",
                    action="assessment.bulletin.build",
                    obj=bulletin,
                    data={"xlsx": bulletin.xlsx_file.name, "pdf": bulletin.pdf_file.name},
                )
    except Exception as exc:  # kept on the bulletin; the worker keeps running
        logger.exception("bulletin %s failed", bulletin_id)
        Bulletin.objects.filter(pk=bulletin_id, status=BulletinStatus.QUEUED).update(
            status=BulletinStatus.FAILED, error=str(exc)[:2000] or exc.__class__.__name__
        )
    bulletin.refresh_from_db()
    return bulletin


def bulletin_retry(*, actor: User | None, bulletin_id: int, now: dt.datetime | None = None) -> Bulletin:
    """Queue a failed bulletin again (the same plan and period)."""
    with transaction.atomic():
        qs = Bulletin.objects.select_for_update()
        bulletin = (visible_to(actor, qs) if actor is not None else qs).filter(pk=bulletin_id).first()
        if bulletin is None:
            raise NotFound(_("通报不存在。"))
        _require_manage(actor, bulletin)
        if bulletin.status != BulletinStatus.FAILED:
            raise Conflict(
                _("只有生成失败的通报可以重新生成。"), code="not_failed", current_state=bulletin.status
            )
        bulletin.status = BulletinStatus.QUEUED
        bulletin.error = ""
        bulletin.requested_at = now or timezone.now()
        bulletin.generated_by = actor
        bulletin.save(update_fields=["status", "error", "requested_at", "generated_by"])
        audit_record(actor=actor or "system", action="assessment.bulletin.retry", obj=bulletin)
        transaction.on_commit(lambda: _enqueue_build(bulletin_id))
    return bulletin


def bulletin_publish(*, actor: User | None, bulletin_id: int, now: dt.datetime | None = None) -> Bulletin:
    """Publish a draft bulletin: from now on everyone with ``assessment.view`` in scope sees it.
    Publishing twice is refused (``Conflict``)."""
    now = now or timezone.now()
    with transaction.atomic():
        qs = Bulletin.objects.select_for_update()
        bulletin = (visible_to(actor, qs) if actor is not None else qs).filter(pk=bulletin_id).first()
        if bulletin is None:
            raise NotFound(_("通报不存在。"))
        _require_manage(actor, bulletin)
        if bulletin.status == BulletinStatus.PUBLISHED:
            raise Conflict(_("通报已发布。"), code="already_published", current_state=bulletin.status)
        if bulletin.status != BulletinStatus.DRAFT:
            raise Conflict(_("通报尚未生成完成，不能发布。"), code="not_ready", current_state=bulletin.status)
        bulletin.status = BulletinStatus.PUBLISHED
        bulletin.published_at = now
        bulletin.published_by = actor
        bulletin.save(update_fields=["status", "published_at", "published_by"])
        audit_record(actor=actor or "system", action="assessment.bulletin.publish", obj=bulletin)
    return bulletin


def default_indicators(subject_kind: str) -> list[IndicatorInput]:
    """The shipped assessment list for a subject kind: every applicable KPI, equal weights
    summing to 100, the KPI's default target, linear scoring."""
    codes = [code for code, ind in INDICATORS.items() if subject_kind in ind.subjects]
    weight = round(100 / len(codes), 2)
    last = round(100 - weight * (len(codes) - 1), 2)  # the rounding remainder, so that they sum to 100
    return [
        IndicatorInput(code=code, weight=last if i == len(codes) - 1 else weight)
        for i, code in enumerate(codes)
    ]
