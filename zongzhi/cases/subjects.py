"""Cases linked to base data (人、地、事、物、组织): link and unlink services, and the scoped reads
both ways. ``cases`` imports ``people`` (never the reverse): the people pages show a record's cases
through the ``subject-cases`` partial rendered here.

Who may link: a user who works the case (``case.report`` at the case's region, and sees the
case) and sees the subject (``person.view`` at the subject's region). Outside either scope the
object does not exist (``NotFound``)."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Model, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from zongzhi.core.audit import audit_record
from zongzhi.core.errors import Conflict, FieldError, NotFound, PermissionDeniedError
from zongzhi.orgs.roles import Perm
from zongzhi.orgs.scoping import user_can, visible_to
from zongzhi.people.models import House, Organization, Place, Resident

from .models import Case, CaseSubject

SUBJECT_MODELS: dict[str, type[Model]] = {
    "resident": Resident,
    "house": House,
    "place": Place,
    "organization": Organization,
}
Subject = Resident | House | Place | Organization


def kind_of(subject: Any) -> str:
    for kind, model in SUBJECT_MODELS.items():
        if isinstance(subject, model):
            return kind
    raise TypeError(f"not a case subject: {subject!r}")


def subject_visible(user: Any, kind: str, subject_id: int) -> Subject:
    """The subject ``kind``/``subject_id`` if ``user`` may see it, else ``NotFound``."""
    model = SUBJECT_MODELS.get(kind)
    if model is None:
        raise NotFound(_("关联对象不存在。"))
    obj = visible_to(user, model).filter(pk=subject_id).first()
    if obj is None:
        raise NotFound(_("关联对象不存在。"))
    return obj  # type: ignore[return-value]


def case_link_subject(*, actor: Any, case: Case, subject: Subject, note: str = "") -> CaseSubject:
    """Link ``case`` to a resident, house, place or organization (idempotent: linking again
    returns the existing link). Audit: ``case.subject.link``."""
    kind = kind_of(subject)
    if actor is not None:
        if not visible_to(actor, Case).filter(pk=case.pk).exists():
            raise NotFound(_("案件不存在。"))
        if not visible_to(actor, type(subject)).filter(pk=subject.pk).exists():
            raise NotFound(_("关联对象不存在。"))
        if not user_can(actor, Perm.CASE_REPORT, case):
            raise PermissionDeniedError(_("无权执行此操作。"), code="forbidden")
    note = (note or "").strip()
    if len(note) > 100:
        raise FieldError("note", _("关联说明不能超过100个字。"), code="too_long")
    existing = CaseSubject.objects.filter(case=case, **{kind: subject}).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            link = CaseSubject.objects.create(
                case=case,
                note=note,
                region_path=case.region_path,
                created_by=actor if getattr(actor, "pk", None) else None,
                created_at=timezone.now(),
                **{kind: subject},
            )
            audit_record(
                actor=actor if actor is not None else "system",
                action="case.subject.link",
                obj=case,
                data={"kind": kind, "subject": subject.pk, "link": link.pk},
            )
    except IntegrityError:
        existing = CaseSubject.objects.filter(case=case, **{kind: subject}).first()
        if existing is None:
            raise Conflict(_("关联失败，请重试。")) from None
        return existing
    return link


def case_unlink_subject(*, actor: Any, link: CaseSubject) -> None:
    """Remove a link (the caller found it through scoping). Audit: ``case.subject.unlink``."""
    case = link.case
    if actor is not None and not user_can(actor, Perm.CASE_REPORT, case):
        raise PermissionDeniedError(_("无权执行此操作。"), code="forbidden")
    with transaction.atomic():
        kind, subject_id = link.kind, link.subject_id
        deleted, _rows = CaseSubject.objects.filter(pk=link.pk).delete()
        if not deleted:
            raise Conflict(_("该关联已被移除。"), code="gone")
        audit_record(
            actor=actor if actor is not None else "system",
            action="case.subject.unlink",
            obj=case,
            data={"kind": kind, "subject": subject_id},
        )


def cases_for_subject(user: Any, subject: Subject) -> QuerySet[Case]:
    """The cases linked to ``subject`` that ``user`` may see (newest first)."""
    kind = kind_of(subject)
    linked = CaseSubject.objects.filter(**{kind: subject}).values("case_id")
    return (
        visible_to(user, Case)
        .filter(pk__in=linked)
        .select_related("category", "region")
        .order_by("-created_at")
    )


def subjects_of_case(user: Any, case: Case) -> list[tuple[CaseSubject, Subject | None]]:
    """The links of a (visible) case, each with its subject when ``user`` may see it (``None``
    otherwise: the link exists, the record stays hidden)."""
    links = list(CaseSubject.objects.filter(case=case).order_by("id"))
    out: list[tuple[CaseSubject, Subject | None]] = []
    by_kind: dict[str, set[int]] = {}
    for link in links:
        by_kind.setdefault(link.kind, set()).add(int(link.subject_id or 0))
    visible: dict[tuple[str, int], Any] = {}
    for kind, ids in by_kind.items():
        for obj in visible_to(user, SUBJECT_MODELS[kind]).filter(pk__in=ids):
            visible[(kind, obj.pk)] = obj
    for link in links:
        out.append((link, visible.get((link.kind, int(link.subject_id or 0)))))
    return out
