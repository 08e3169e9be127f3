"""Scoping conformance: every URL that names an object hides it outside the user's scope.

The test walks the whole URL configuration (web pages and the ninja API) and, for every route that
takes a parameter, builds an object in a village of the test tree and checks:

* a user granted the route's permission in that village          → 200
* a user granted it at an ancestor region (township, province)    → 200
* a user granted it in a sibling village and in a cousin county   → 404 (never 403)
* a user holding a role *without* the permission in that village  → 404
* anonymous                                                       → redirect to login (web) / 401 (API)

A route with a parameter that is in neither ``ROUTES`` nor ``NOT_REGION_SCOPED`` below makes the
test fail.

HOW TO ADD A ROUTE
------------------
Add one entry to ``ROUTES``. The key is the full URL pattern exactly as printed by the failing test
(e.g. ``"cases/<int:case_id>/"`` or ``"api/v1/cases/<case_id>"``). The value is ``Route(perm=...,
build=...)``:

* ``perm``  — the permission the view needs to see the object (``Perm.CASE_VIEW`` …). The test
  grants a role that carries it (or ``role=`` if you need a particular one).
* ``build`` — ``build(village) -> dict`` creates the object in region ``village`` (a village-level
  ``Region``; a builder may use its parents) and returns the URL keyword arguments that address it,
  e.g. ``lambda v: {"case_id": make_case(v).pk}``. Use the real services / ``tests.factories``.
* ``method`` / ``body`` / ``ok`` — for routes that are not ``GET`` → 200 (e.g. a POST action:
  ``method="post", body={...}, ok=200``). The body must be valid, or validation answers before
  scoping does.

A route that is deliberately not region-scoped (the public portal, the shared catalogue) goes into
``NOT_REGION_SCOPED`` with the reason instead.

Only the admin site (tested on its own), i18n and static/media routes are skipped.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.urls import NoReverseMatch, URLPattern, URLResolver, get_resolver, reverse

from tests.factories import make_department, make_grid, make_tree, make_user
from zongzhi.orgs.models import Region
from zongzhi.orgs.roles import ROLE_PERMISSIONS, Perm, Role, roles_with


@dataclass(frozen=True)
class Route:
    perm: str  # the permission the view needs to see the object
    build: Callable[[Region], dict[str, Any]]  # object in this village -> URL kwargs
    role: str | None = None  # default: the first role that carries ``perm``
    method: str = "get"
    body: dict[str, Any] | None = None  # sent as JSON to the API, as form data to web pages
    ok: int = 200
    fresh: bool = False  # build a new object for every request (for actions that work only once)
    # the answer to a user granted in the village itself when the object belongs to the level above
    # and the action needs a grant there (a township's screening campaign: seen, not closed); default ``ok``
    ok_in_village: int | None = None


# ---- Builders: create one object in ``village`` and return the URL kwargs. ----------------------


def _case(village: Region) -> Any:
    from zongzhi.cases import services as case_services

    report = case_services.ReportInput(
        channel="web",
        title="噪声扰民",
        description="楼下夜间施工",
        region_code=village.code,
        reporter_name="张三",
        reporter_phone="13800000000",
    )
    return case_services.case_report(actor=None, data=report).case


def _rule(village: Region) -> Any:
    import datetime as dt

    from zongzhi.cases import services as case_services
    from zongzhi.cases.models import Category

    case_services.catalogue_load_defaults(actor=None)
    return case_services.rule_create(
        actor=None,
        category=Category.objects.filter(parent__isnull=True).order_by("code").first(),
        region=village,
        lead_department=make_department(village),
        assisting_departments=[],
        handling_level="village",
        legal_basis="",
        effective_from=dt.date(2020, 1, 1),
    )


def _supervision(village: Region) -> Any:
    from zongzhi.cases import services as case_services

    case = _case(village)
    case_services.case_transition(actor=None, case_id=case.pk, action="supervise", note="请加快办理")
    return case.supervisions.get()


def _attachment(village: Region) -> dict[str, Any]:
    from zongzhi.cases import services as case_services
    from zongzhi.cases.attachments import UploadedFile

    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    report = case_services.ReportInput(
        channel="web",
        title="井盖缺失",
        description="路口井盖缺失",
        region_code=village.code,
        is_anonymous=True,
        attachments=[UploadedFile(name="photo.png", content=png)],
    )
    case = case_services.case_report(actor=None, data=report).case
    return {"case_id": case.pk, "attachment_id": case.attachments.get().pk}


_SQUARE = {
    "type": "Polygon",
    "coordinates": [
        [[120.15, 30.27], [120.154, 30.27], [120.154, 30.274], [120.15, 30.274], [120.15, 30.27]]
    ],
}


def _alert_rule(village: Region) -> Any:
    from zongzhi.analytics import alerts

    return alerts.alert_rule_create(
        actor=None, region=village, kind="repeat_reporter", name="重复反映", params={"count": 2, "days": 7}
    )


def _alert(village: Region) -> Any:
    from zongzhi.analytics import alerts

    rule = _alert_rule(village)
    for _ in range(2):
        _case(village)  # the same reporter phone twice: one alert, owned by the village
    alerts.alerts_scan(rule_ids=[rule.pk])
    return rule.alerts.get()


_person_seq = itertools.count(100)


def _resident(village: Region) -> Any:
    from zongzhi.people import services as people_services
    from zongzhi.people.records import ResidentInput
    from zongzhi.people.validators import id_check_digit

    first17 = f"33010619800101{next(_person_seq) % 1000:03d}"
    return people_services.resident_create(
        actor=None,
        data=ResidentInput(id_type="id_card", id_number=first17 + id_check_digit(first17), name="张三"),
        region=village,
    )


def _house(village: Region) -> Any:
    from zongzhi.people import services as people_services
    from zongzhi.people.records import HouseInput

    return people_services.house_create(
        actor=None, data=HouseInput(address=f"文三路{next(_person_seq)}号"), region=village
    )


def _place(village: Region) -> Any:
    from zongzhi.people import services as people_services
    from zongzhi.people.records import PlaceInput

    return people_services.place_create(
        actor=None, data=PlaceInput(name=f"网吧{next(_person_seq)}", address="古墩路1号"), region=village
    )


def _organization(village: Region) -> Any:
    from zongzhi.people import services as people_services
    from zongzhi.people.records import OrganizationInput

    return people_services.organization_create(
        actor=None, data=OrganizationInput(name=f"协会{next(_person_seq)}"), region=village
    )


def _membership(village: Region) -> Any:
    import datetime as dt

    from zongzhi.people import services as people_services

    return people_services.membership_enrol(
        actor=None,
        resident=_resident(village),
        group="key_youth",
        data=people_services.MembershipInput(
            starts_on=dt.date(2026, 1, 5), details={"youth_type": "dropout", "guardian_name": "祖母"}
        ),
    )


def _visit_photo(village: Region) -> dict[str, Any]:
    from django.utils import timezone

    from zongzhi.people import services as people_services

    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    m = _membership(village)
    visit = people_services.visit_record(
        actor=make_user(Role.GRID_WORKER, village),
        membership=m,
        data=people_services.VisitInput(
            visited_at=timezone.now(), findings="正常", photos=[people_services.Photo("p.png", png)]
        ),
    )
    return {"visit_id": visit.pk, "photo_id": visit.photos.get().pk}


def _visit(village: Region) -> Any:
    return _visit_photo(village)["visit_id"]


def _case_subject(village: Region) -> dict[str, Any]:
    from zongzhi.cases.subjects import case_link_subject

    case = _case(village)
    link = case_link_subject(actor=None, case=case, subject=_resident(village))
    return {"case_id": case.pk, "link_id": link.pk}


_ENROL = {
    "group": "key_youth",
    "starts_on": "2026-01-05",
    "details": {"youth_type": "dropout", "guardian_name": "祖母"},
}


def _plan(village: Region) -> Any:
    from zongzhi.assessment import services as assessment_services

    grid = make_grid(village)  # one subject to assess
    return assessment_services.plan_create(
        actor=None,
        region=village,
        name=f"网格考核{grid.pk}",
        subject_kind="grid",
        indicators=assessment_services.default_indicators("grid"),
    )


def _bulletin(village: Region, *, publish: bool = True) -> Any:
    import datetime as dt

    from zongzhi.assessment import formulas
    from zongzhi.assessment import services as assessment_services

    bulletin = assessment_services.bulletin_generate(
        actor=None,
        plan_id=_plan(village).pk,
        period_kind="month",
        period=formulas.Period(dt.date(2025, 1, 1), dt.date(2025, 1, 31)),
    )
    bulletin = assessment_services.bulletin_build(bulletin_id=bulletin.pk)  # the background job's work
    if publish:
        assessment_services.bulletin_publish(actor=None, bulletin_id=bulletin.pk)
    return bulletin


def _failed_bulletin(village: Region) -> Any:
    from zongzhi.assessment.models import Bulletin

    bulletin = _bulletin(village, publish=False)
    Bulletin.objects.filter(pk=bulletin.pk).update(status="failed", generated_at=None, error="磁盘已满")
    return bulletin


def _plan_indicator(village: Region) -> dict[str, Any]:
    plan = _plan(village)
    return {"plan_id": plan.pk, "indicator_id": plan.indicators.order_by("id").first().pk}


def _dispute(village: Region, *, accept: bool = False) -> Any:
    from zongzhi.cases import services as case_services
    from zongzhi.disputes import services as dispute_services

    dispute_services.load_defaults()
    dispute = dispute_services.dispute_intake(
        actor=None,
        data=dispute_services.DisputeInput(
            title="楼上漏水纠纷",
            description="楼上卫生间漏水至楼下",
            dispute_type="neighbour",
            region_code=village.code,
            parties=[
                dispute_services.PartyInput(role="applicant", name="张三", phone="13800000000"),
                dispute_services.PartyInput(role="respondent", name="李四"),
            ],
        ),
    ).dispute
    if accept:
        case_services.case_transition(actor=None, case_id=dispute.case_id, action="accept")
    return dispute


def _party(village: Region) -> dict[str, Any]:
    dispute = _dispute(village)
    return {"dispute_id": dispute.pk, "party_id": dispute.parties.order_by("pk").first().pk}


def _mediator(village: Region) -> Any:
    from zongzhi.disputes import services as dispute_services

    committee = make_department(village, f"{village.name}人民调解委员会{next(_person_seq)}")
    return dispute_services.mediator_create(
        actor=None,
        data=dispute_services.MediatorInput(
            name="王调解",
            body_kind="peoples_committee",
            body_name=committee.name,
            region_code=village.code,
            department_id=committee.pk,
        ),
    )


def _agreement(village: Region) -> dict[str, Any]:
    from django.utils import timezone

    from zongzhi.cases import services as case_services

    dispute = _dispute(village, accept=True)

    def act(action: str, note: str = "", **data: Any) -> None:
        case_services.case_transition(
            actor=None, case_id=dispute.case_id, action=action, note=note, data=data
        )

    act("mediate", mediation_type="elders", lead_mediator_id=_mediator(village).pk)
    act(
        "mediation_session",
        "双方陈述",
        held_at=timezone.now().isoformat(),
        place="调解室",
        attendees="张三、李四",
    )
    act("mediation_agree", facts="漏水", terms="李四赔偿张三维修费3000元。")
    return {"dispute_id": dispute.pk, "agreement_id": dispute.agreements.get().pk}


def _dispute_case(village: Region) -> Any:
    from zongzhi.cases import services as case_services

    report = case_services.ReportInput(
        channel="hotline",
        kind="dispute",
        title="噪音纠纷",
        description="邻居夜间噪音",
        region_code=village.code,
        is_anonymous=True,
    )
    return case_services.case_report(actor=None, data=report).case


def _campaign(village: Region) -> dict[str, Any]:
    """A screening campaign of the village's township, with one grid: in the village."""
    import datetime as dt

    from zongzhi.disputes import services as dispute_services

    grid = make_grid(village)
    start = dt.date(2026, 1, 5) + dt.timedelta(days=7 * next(_person_seq))
    campaign = dispute_services.screening_open(
        actor=None,
        region_code=village.parent.code,
        period_start=start,
        period_end=start + dt.timedelta(days=6),
    )
    return {"campaign_id": campaign.pk, "grid_id": grid.pk}


_DISPUTE_PARTIES = [{"role": "applicant", "name": "张三"}, {"role": "respondent", "name": "李四"}]


# ---- THE REGISTRY: one entry per URL pattern with a parameter. Keep it sorted by key. ----------
ROUTES: dict[str, Route] = {
    # API (django-ninja, mounted at api/v1/)
    "api/v1/alert-rules/<rule_id>": Route(
        perm=Perm.ALERT_VIEW, build=lambda v: {"rule_id": _alert_rule(v).pk}
    ),
    "api/v1/alerts/<alert_id>": Route(perm=Perm.ALERT_VIEW, build=lambda v: {"alert_id": _alert(v).pk}),
    "api/v1/alerts/<alert_id>/disposition": Route(
        perm=Perm.ALERT_HANDLE,
        build=lambda v: {"alert_id": _alert(v).pk},
        method="post",
        body={"action": "acknowledge", "note": ""},
        fresh=True,
    ),
    "api/v1/assessment/bulletins/<bulletin_id>": Route(
        perm=Perm.ASSESSMENT_VIEW, build=lambda v: {"bulletin_id": _bulletin(v).pk}
    ),
    "api/v1/assessment/bulletins/<bulletin_id>/export.<kind>": Route(
        perm=Perm.ASSESSMENT_VIEW, build=lambda v: {"bulletin_id": _bulletin(v).pk, "kind": "pdf"}
    ),
    "api/v1/assessment/bulletins/<bulletin_id>/publish": Route(
        perm=Perm.ASSESSMENT_MANAGE,
        build=lambda v: {"bulletin_id": _bulletin(v, publish=False).pk},
        method="post",
        fresh=True,
    ),
    "api/v1/assessment/bulletins/<bulletin_id>/retry": Route(
        perm=Perm.ASSESSMENT_MANAGE,
        build=lambda v: {"bulletin_id": _failed_bulletin(v).pk},
        method="post",
        fresh=True,
    ),
    "api/v1/assessment/plans/<plan_id>": Route(
        perm=Perm.ASSESSMENT_VIEW, build=lambda v: {"plan_id": _plan(v).pk}
    ),
    "api/v1/assessment/plans/<plan_id>/drill/<indicator_id>": Route(
        perm=Perm.ASSESSMENT_VIEW, build=_plan_indicator
    ),
    "api/v1/assessment/plans/<plan_id>/indicators": Route(
        perm=Perm.ASSESSMENT_MANAGE,
        build=lambda v: {"plan_id": _plan(v).pk},
        method="put",
        body={"code": "intake_on_time", "weight": 20},
    ),
    "api/v1/assessment/plans/<plan_id>/scores": Route(
        perm=Perm.ASSESSMENT_VIEW, build=lambda v: {"plan_id": _plan(v).pk}
    ),
    "api/v1/cases/<case_id>": Route(perm=Perm.CASE_VIEW, build=lambda v: {"case_id": _case(v).pk}),
    "api/v1/cases/<case_id>/actions/<action>": Route(
        perm=Perm.CASE_SUPERVISE,
        role=Role.LEADER_VIEWER,
        build=lambda v: {"case_id": _case(v).pk, "action": "supervise"},
        method="post",
        body={"note": "请加快办理", "data": {"kind": "supervision"}},
    ),
    "api/v1/disputes/<dispute_id>": Route(
        perm=Perm.CASE_VIEW, build=lambda v: {"dispute_id": _dispute(v).pk}
    ),
    "api/v1/disputes/<dispute_id>/actions/<action>": Route(
        perm=Perm.DISPUTE_MEDIATE,
        role=Role.CENTER_OPERATOR,
        build=lambda v: {"dispute_id": _dispute(v).pk, "action": "assess_risk"},
        method="post",
        body={"note": "", "data": {"risk_level": "medium"}},
    ),
    "api/v1/disputes/<dispute_id>/agreements/<agreement_id>/pdf": Route(
        perm=Perm.CASE_VIEW, build=_agreement
    ),
    "api/v1/disputes/<dispute_id>/parties": Route(
        perm=Perm.DISPUTE_MEDIATE,
        role=Role.CENTER_OPERATOR,
        build=lambda v: {"dispute_id": _dispute(v).pk},
        method="post",
        body={"role": "respondent", "name": "王五"},
        ok=201,
    ),
    "api/v1/disputes/<dispute_id>/parties/<party_id>": Route(
        perm=Perm.DISPUTE_MEDIATE,
        role=Role.CENTER_OPERATOR,
        build=_party,
        method="put",
        body={"role": "applicant", "name": "张三", "phone": "13800000000"},
    ),
    "api/v1/disputes/<dispute_id>/parties/<party_id>/reveal": Route(
        perm=Perm.DISPUTE_MEDIATE,
        role=Role.CENTER_OPERATOR,
        build=_party,
        method="post",
        body={"reason": "调解需要联系当事人"},
    ),
    "api/v1/disputes/from-case/<case_id>": Route(
        perm=Perm.CASE_ACCEPT,
        role=Role.CENTER_OPERATOR,
        build=lambda v: {"case_id": _dispute_case(v).pk},
        method="post",
        body={"dispute_type": "neighbour", "parties": _DISPUTE_PARTIES},
        ok=201,
        fresh=True,
    ),
    "api/v1/grids/<grid_id>": Route(perm=Perm.GRID_VIEW, build=lambda v: {"grid_id": make_grid(v).pk}),
    "api/v1/grids/<grid_id>/boundary": Route(
        perm=Perm.GRID_MANAGE,
        role=Role.SYSTEM_ADMIN,
        build=lambda v: {"grid_id": make_grid(v).pk},
        method="put",
        body={"geometry": _SQUARE, "crs": "wgs84"},
    ),
    "api/v1/houses/<house_id>": Route(perm=Perm.PERSON_VIEW, build=lambda v: {"house_id": _house(v).pk}),
    "api/v1/houses/<house_id>/unmask": Route(
        perm=Perm.PERSON_UNMASK,
        build=lambda v: {"house_id": _house(v).pk},
        method="post",
        body={"reason": "verify"},
    ),
    "api/v1/mediators/<mediator_id>": Route(
        perm=Perm.CASE_VIEW, build=lambda v: {"mediator_id": _mediator(v).pk}
    ),
    "api/v1/memberships/<membership_id>": Route(
        perm=Perm.SPECIAL_VIEW, build=lambda v: {"membership_id": _membership(v).pk}
    ),
    "api/v1/memberships/<membership_id>/close": Route(
        perm=Perm.SPECIAL_MANAGE,
        build=lambda v: {"membership_id": _membership(v).pk},
        method="post",
        body={"reason": "期满"},
        fresh=True,
    ),
    "api/v1/organizations/<organization_id>": Route(
        perm=Perm.PERSON_VIEW, build=lambda v: {"organization_id": _organization(v).pk}
    ),
    "api/v1/organizations/<organization_id>/unmask": Route(
        perm=Perm.PERSON_UNMASK,
        build=lambda v: {"organization_id": _organization(v).pk},
        method="post",
        body={"reason": "verify"},
    ),
    "api/v1/places/<place_id>": Route(perm=Perm.PERSON_VIEW, build=lambda v: {"place_id": _place(v).pk}),
    "api/v1/places/<place_id>/unmask": Route(
        perm=Perm.PERSON_UNMASK,
        build=lambda v: {"place_id": _place(v).pk},
        method="post",
        body={"reason": "verify"},
    ),
    "api/v1/regions/<code>": Route(perm=Perm.REGION_VIEW, build=lambda v: {"code": v.code}),
    "api/v1/residents/<resident_id>": Route(
        perm=Perm.PERSON_VIEW, build=lambda v: {"resident_id": _resident(v).pk}
    ),
    "api/v1/residents/<resident_id>/memberships": Route(
        perm=Perm.SPECIAL_MANAGE,
        build=lambda v: {"resident_id": _resident(v).pk},
        method="post",
        body=_ENROL,
        ok=201,
        fresh=True,
    ),
    "api/v1/residents/<resident_id>/unmask": Route(
        perm=Perm.PERSON_UNMASK,
        build=lambda v: {"resident_id": _resident(v).pk},
        method="post",
        body={"reason": "visit"},
    ),
    # rules are seen by case staff and by catalogue managers; the check uses the latter
    "api/v1/rules/<rule_id>": Route(
        perm=Perm.CATALOGUE_MANAGE, role=Role.SYSTEM_ADMIN, build=lambda v: {"rule_id": _rule(v).pk}
    ),
    "api/v1/rules/<rule_id>/revise": Route(
        perm=Perm.CATALOGUE_MANAGE,
        role=Role.SYSTEM_ADMIN,
        build=lambda v: {"rule_id": _rule(v).pk},
        method="post",
        body={"effective_from": "2031-01-01"},
        ok=201,
        fresh=True,
    ),
    "api/v1/rules/<rule_id>/versions": Route(
        perm=Perm.CATALOGUE_MANAGE, role=Role.SYSTEM_ADMIN, build=lambda v: {"rule_id": _rule(v).pk}
    ),
    "api/v1/screenings/<campaign_id>": Route(
        perm=Perm.CASE_VIEW, build=lambda v: {"campaign_id": _campaign(v)["campaign_id"]}
    ),
    "api/v1/screenings/<campaign_id>/close": Route(
        perm=Perm.SCREENING_MANAGE,
        build=lambda v: {"campaign_id": _campaign(v)["campaign_id"]},
        method="post",
        fresh=True,
        ok_in_village=403,  # the village sees its township's campaign; the township closes it
    ),
    "api/v1/screenings/<campaign_id>/grids/<grid_id>/none": Route(
        perm=Perm.SCREENING_MANAGE,
        build=_campaign,
        method="post",
        body={"note": "本周未发现矛盾纠纷"},
        fresh=True,
    ),
    "api/v1/supervisions/<supervision_id>/reply": Route(
        perm=Perm.CASE_DISPATCH,
        role=Role.CENTER_OPERATOR,
        build=lambda v: {"supervision_id": _supervision(v).pk},
        method="post",
        body={"text": "已督促责任单位"},
        fresh=True,
    ),
    "api/v1/visits/<visit_id>": Route(perm=Perm.PERSON_VIEW, build=lambda v: {"visit_id": _visit(v)}),
    # Web pages
    "alerts/<int:alert_id>/": Route(perm=Perm.ALERT_VIEW, build=lambda v: {"alert_id": _alert(v).pk}),
    "alerts/<int:alert_id>/dispose/": Route(
        perm=Perm.ALERT_HANDLE,
        build=lambda v: {"alert_id": _alert(v).pk},
        method="post",
        body={"action": "acknowledge", "note": ""},
        ok=302,
        fresh=True,
    ),
    # rule pages exist only for those who may configure rules
    "alerts/rules/<int:rule_id>/": Route(
        perm=Perm.ALERT_MANAGE, build=lambda v: {"rule_id": _alert_rule(v).pk}
    ),
    "assessment/bulletins/<int:bulletin_id>/": Route(
        perm=Perm.ASSESSMENT_VIEW, build=lambda v: {"bulletin_id": _bulletin(v).pk}
    ),
    "assessment/bulletins/<int:bulletin_id>/export.xlsx": Route(
        perm=Perm.ASSESSMENT_VIEW, build=lambda v: {"bulletin_id": _bulletin(v).pk}
    ),
    "assessment/bulletins/<int:bulletin_id>/export.pdf": Route(
        perm=Perm.ASSESSMENT_VIEW, build=lambda v: {"bulletin_id": _bulletin(v).pk}
    ),
    "assessment/bulletins/<int:bulletin_id>/publish/": Route(
        perm=Perm.ASSESSMENT_MANAGE,
        build=lambda v: {"bulletin_id": _bulletin(v, publish=False).pk},
        method="post",
        ok=302,
        fresh=True,
    ),
    "assessment/bulletins/<int:bulletin_id>/retry/": Route(
        perm=Perm.ASSESSMENT_MANAGE,
        build=lambda v: {"bulletin_id": _failed_bulletin(v).pk},
        method="post",
        ok=302,
        fresh=True,
    ),
    "assessment/plans/<int:plan_id>/": Route(
        perm=Perm.ASSESSMENT_VIEW, build=lambda v: {"plan_id": _plan(v).pk}
    ),
    "assessment/plans/<int:plan_id>/drill/<int:indicator_id>/": Route(
        perm=Perm.ASSESSMENT_VIEW, build=_plan_indicator
    ),
    "cases/<int:case_id>/": Route(perm=Perm.CASE_VIEW, build=lambda v: {"case_id": _case(v).pk}),
    "cases/<int:case_id>/actions/<str:action>/": Route(
        perm=Perm.CASE_SUPERVISE,
        role=Role.LEADER_VIEWER,
        build=lambda v: {"case_id": _case(v).pk, "action": "supervise"},
        method="post",
        body={"supervise-note": "请加快办理", "supervise-kind": "supervision"},
        ok=302,
    ),
    "cases/<int:case_id>/attachments/<int:attachment_id>/": Route(perm=Perm.CASE_VIEW, build=_attachment),
    "cases/<int:case_id>/subjects/": Route(perm=Perm.CASE_VIEW, build=lambda v: {"case_id": _case(v).pk}),
    "cases/<int:case_id>/subjects/<int:link_id>/unlink/": Route(
        perm=Perm.CASE_REPORT, build=_case_subject, method="post", ok=302, fresh=True
    ),
    "cases/subjects/<str:kind>/<int:subject_id>/": Route(
        perm=Perm.PERSON_VIEW, build=lambda v: {"kind": "resident", "subject_id": _resident(v).pk}
    ),
    "disputes/<int:dispute_id>/": Route(perm=Perm.CASE_VIEW, build=lambda v: {"dispute_id": _dispute(v).pk}),
    "disputes/<int:dispute_id>/actions/<str:action>/": Route(
        perm=Perm.DISPUTE_MEDIATE,
        role=Role.CENTER_OPERATOR,
        build=lambda v: {"dispute_id": _dispute(v).pk, "action": "assess_risk"},
        method="post",
        body={"assess_risk-risk_level": "medium"},
        ok=302,
    ),
    "disputes/<int:dispute_id>/agreements/<int:agreement_id>/": Route(perm=Perm.CASE_VIEW, build=_agreement),
    "disputes/<int:dispute_id>/agreements/<int:agreement_id>/pdf/": Route(
        perm=Perm.CASE_VIEW, build=_agreement
    ),
    "disputes/<int:dispute_id>/parties/<int:party_id>/reveal/": Route(
        perm=Perm.DISPUTE_MEDIATE,
        role=Role.CENTER_OPERATOR,
        build=_party,
        method="post",
        body={"reason": "调解需要联系当事人"},
    ),
    "disputes/<int:dispute_id>/parties/add/": Route(
        perm=Perm.DISPUTE_MEDIATE,
        role=Role.CENTER_OPERATOR,
        build=lambda v: {"dispute_id": _dispute(v).pk},
        method="post",
        body={"party-role": "respondent", "party-kind": "person", "party-name": "王五"},
        ok=302,
    ),
    "disputes/for-case/<int:case_id>/": Route(
        perm=Perm.CASE_VIEW, build=lambda v: {"case_id": _dispute_case(v).pk}
    ),
    "grids/<int:grid_id>/": Route(perm=Perm.GRID_VIEW, build=lambda v: {"grid_id": make_grid(v).pk}),
    # the boundary editor exists only for those who may edit the grid
    "grids/<int:grid_id>/boundary/": Route(
        perm=Perm.GRID_MANAGE, role=Role.SYSTEM_ADMIN, build=lambda v: {"grid_id": make_grid(v).pk}
    ),
    "m/screenings/<int:campaign_id>/grids/<int:grid_id>/": Route(perm=Perm.CASE_VIEW, build=_campaign),
    "m/visits/<str:kind>/<int:record_id>/": Route(
        perm=Perm.VISIT_RECORD, build=lambda v: {"kind": "special", "record_id": _membership(v).pk}
    ),
    "mediators/<int:mediator_id>/": Route(
        perm=Perm.CASE_VIEW, build=lambda v: {"mediator_id": _mediator(v).pk}
    ),
    "people/houses/<int:house_id>/": Route(perm=Perm.PERSON_VIEW, build=lambda v: {"house_id": _house(v).pk}),
    "people/houses/<int:house_id>/edit/": Route(
        perm=Perm.PERSON_MANAGE, build=lambda v: {"house_id": _house(v).pk}
    ),
    "people/organizations/<int:organization_id>/": Route(
        perm=Perm.PERSON_VIEW, build=lambda v: {"organization_id": _organization(v).pk}
    ),
    "people/organizations/<int:organization_id>/edit/": Route(
        perm=Perm.PERSON_MANAGE, build=lambda v: {"organization_id": _organization(v).pk}
    ),
    "people/places/<int:place_id>/": Route(perm=Perm.PERSON_VIEW, build=lambda v: {"place_id": _place(v).pk}),
    "people/places/<int:place_id>/edit/": Route(
        perm=Perm.PERSON_MANAGE, build=lambda v: {"place_id": _place(v).pk}
    ),
    "people/residents/<int:resident_id>/": Route(
        perm=Perm.PERSON_VIEW, build=lambda v: {"resident_id": _resident(v).pk}
    ),
    "people/residents/<int:resident_id>/edit/": Route(
        perm=Perm.PERSON_MANAGE, build=lambda v: {"resident_id": _resident(v).pk}
    ),
    "people/residents/<int:resident_id>/enrol/": Route(
        perm=Perm.SPECIAL_MANAGE, build=lambda v: {"resident_id": _resident(v).pk}
    ),
    "people/special/<int:membership_id>/": Route(
        perm=Perm.SPECIAL_VIEW, build=lambda v: {"membership_id": _membership(v).pk}
    ),
    "people/special/<int:membership_id>/close/": Route(
        perm=Perm.SPECIAL_MANAGE,
        build=lambda v: {"membership_id": _membership(v).pk},
        method="post",
        body={"reason": "期满"},
        ok=302,
        fresh=True,
    ),
    "people/special/<int:membership_id>/edit/": Route(
        perm=Perm.SPECIAL_MANAGE, build=lambda v: {"membership_id": _membership(v).pk}
    ),
    "people/unmask/<str:kind>/<int:record_id>/": Route(
        perm=Perm.PERSON_UNMASK,
        build=lambda v: {"kind": "resident", "record_id": _resident(v).pk},
        method="post",
        body={"reason": "visit"},
    ),
    "people/visits/<int:visit_id>/photos/<int:photo_id>/": Route(perm=Perm.PERSON_VIEW, build=_visit_photo),
    "regions/<str:code>/": Route(perm=Perm.REGION_VIEW, build=lambda v: {"code": v.code}),
    "screenings/<int:campaign_id>/": Route(
        perm=Perm.CASE_VIEW, build=lambda v: {"campaign_id": _campaign(v)["campaign_id"]}
    ),
    "screenings/<int:campaign_id>/close/": Route(
        perm=Perm.SCREENING_MANAGE,
        build=lambda v: {"campaign_id": _campaign(v)["campaign_id"]},
        method="post",
        ok=302,
        fresh=True,
    ),
    "supervisions/<int:supervision_id>/reply/": Route(
        perm=Perm.CASE_DISPATCH,
        role=Role.CENTER_OPERATOR,
        build=lambda v: {"supervision_id": _supervision(v).pk},
        method="post",
        body={"text": "已督促责任单位"},
        ok=302,
        fresh=True,
    ),
}

# Routes with a parameter that are deliberately NOT region-scoped. Every entry needs a reason, and
# should have its own tests for whatever guards it instead.
NOT_REGION_SCOPED: dict[str, str] = {
    "api/v1/alert-rules/kinds/<kind>": "the parameter list of a kind of warning rule: static, no data",
    "api/v1/categories/<code>": "the case catalogue is shared by every region (Category.scope_perm = None)",
    "api/v1/public/cases/<number>": "public portal: a citizen looks a case up by number + tracking code",
    "api/v1/public/cases/<number>/rating": "public portal: a citizen rates a case with its tracking code",
    "exports/<int:job_id>/": "an export job belongs to the user who asked for it (404 for anyone else, "
    "tested in zongzhi/cases/tests/test_web.py); its rows were scoped as that user when it ran",
    "exports/<int:job_id>/download/": "as exports/<int:job_id>/: owner only",
    "api/v1/people/jobs/<job_id>": "a base-data import/export job belongs to the user who started it "
    "(404 for anyone else, tested in zongzhi/people/tests/test_imports.py and test_exports.py); its "
    "rows were scoped as that user when it ran",
    "api/v1/people/jobs/<job_id>/file": "as api/v1/people/jobs/<job_id>: owner only",
    "people/import/jobs/<int:job_id>/": "as api/v1/people/jobs/<job_id>: owner only",
    "people/import/jobs/<int:job_id>/errors/": "as api/v1/people/jobs/<job_id>: owner only",
}
# -------------------------------------------------------------------------------------------------

SKIPPED_PREFIXES = ("admin/", "i18n/", settings.STATIC_URL.lstrip("/"), settings.MEDIA_URL.lstrip("/"))
API_PREFIX = "api/"


@dataclass(frozen=True)
class Found:
    key: str  # the full pattern, e.g. "grids/<int:grid_id>/"
    name: str | None  # the qualified URL name, e.g. "grid-detail" or "api:get_grid"
    params: tuple[str, ...]

    @property
    def is_api(self) -> bool:
        return self.key.startswith(API_PREFIX)


def walk(patterns: list[Any], prefix: str = "", namespace: str = "") -> Iterator[Found]:
    for entry in patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            ns = ":".join(filter(None, [namespace, entry.namespace or ""]))
            yield from walk(entry.url_patterns, route, ns)
        elif isinstance(entry, URLPattern):
            name = ":".join(filter(None, [namespace, entry.name or ""])) if entry.name else None
            # ``regex.groupindex`` holds the parameters of path() and re_path() patterns alike.
            yield Found(key=route, name=name, params=tuple(entry.pattern.regex.groupindex))


def routes_with_parameters() -> list[Found]:
    found = [
        f
        for f in walk(get_resolver().url_patterns)
        if f.params and not any(p and f.key.startswith(p) for p in SKIPPED_PREFIXES)
    ]
    return sorted(found, key=lambda f: f.key)


FOUND = routes_with_parameters()


def test_every_route_with_a_parameter_has_a_builder():
    missing = [f for f in FOUND if f.key not in ROUTES and f.key not in NOT_REGION_SCOPED]
    assert not missing, (
        "These URL patterns take an object parameter but tests/test_scoping_conformance.py does not "
        "know how to build an object for them. Add an entry to ROUTES (or, with a reason, to "
        "NOT_REGION_SCOPED) — see the module docstring:\n"
        + "\n".join(f"  {f.key!r}  (name={f.name!r}, params={list(f.params)})" for f in missing)
    )


def test_registry_has_no_stale_entries():
    stale = sorted((set(ROUTES) | set(NOT_REGION_SCOPED)) - {f.key for f in FOUND})
    assert not stale, (
        f"ROUTES / NOT_REGION_SCOPED name patterns that no longer exist; remove or rename them: {stale}"
    )


def test_walker_sees_web_and_api_routes():
    keys = {f.key for f in FOUND}
    assert {"grids/<int:grid_id>/", "regions/<str:code>/"} <= keys
    assert not any(k.startswith("admin/") for k in keys)
    assert {"api/v1/grids/<grid_id>", "api/v1/regions/<code>"} <= keys


def _role_for(route: Route) -> str:
    if route.role is not None:
        assert route.perm in ROLE_PERMISSIONS[route.role], f"{route.role} does not carry {route.perm}"
        return route.role
    roles = roles_with(route.perm)
    assert roles, f"no role carries {route.perm}"
    return roles[0]


def _role_without(perm: str) -> str | None:
    return next((r for r in Role.values if perm not in ROLE_PERMISSIONS[r]), None)


def _url(found: Found, kwargs: dict[str, Any]) -> str:
    """The URL of ``found`` for ``kwargs``: reversed by name, else filled into the pattern."""
    if found.name:
        try:
            return reverse(found.name, kwargs=kwargs)
        except NoReverseMatch:  # e.g. a name shared by several patterns: fill the pattern instead
            pass
    url = found.key
    for param in found.params:
        value = str(kwargs[param])
        for token in (
            f"<{param}>",
            *(f"<{conv}:{param}>" for conv in ("int", "str", "slug", "uuid", "path")),
        ):
            url = url.replace(token, value)
    return "/" + url


def _request(client: Client, route: Route, url: str) -> Any:
    send = getattr(client, route.method)
    if route.body is None:
        return send(url)
    if url.startswith("/" + API_PREFIX):
        return send(url, route.body, content_type="application/json")
    return send(url, route.body)


def _client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.django_db
@pytest.mark.parametrize("found", [f for f in FOUND if f.key in ROUTES], ids=lambda f: f.key)
def test_route_hides_objects_outside_the_users_scope(found: Found) -> None:
    route = ROUTES[found.key]
    tree = make_tree()
    own = tree["A1a"]  # village 甲一社区; A1b is its sibling, B1a a cousin under another county
    url = _url(found, route.build(own))
    role = _role_for(route)

    def status_for(region: Region, role: str = role) -> int:
        department = None
        if role == Role.DEPARTMENT_HANDLER:
            department = make_department(region)
        user = make_user(role, region, department=department)
        target = _url(found, route.build(own)) if route.fresh else url
        return _request(_client_for(user), route, target).status_code

    expectations = {
        "granted in own village": (own, route.ok if route.ok_in_village is None else route.ok_in_village),
        "granted at parent township": (tree["A1"], route.ok),
        "granted at the root province": (tree["P"], route.ok),
        "granted in sibling village": (tree["A1b"], 404),
        "granted in cousin county": (tree["B"], 404),
    }
    got = {label: status_for(region) for label, (region, _) in expectations.items()}
    assert got == {label: status for label, (_, status) in expectations.items()}, f"{found.key} as {role}"

    other = _role_without(route.perm)
    if other is not None:
        assert status_for(own, other) == 404, f"{found.key}: {other} lacks {route.perm} yet saw the object"

    response = _request(Client(), route, url)
    if found.is_api:
        assert response.status_code == 401, (
            f"{found.key} answered {response.status_code} to an anonymous caller"
        )
    else:
        assert response.status_code == 302, (
            f"{found.key} answered {response.status_code} to an anonymous caller"
        )
        assert response["Location"].startswith(reverse(settings.LOGIN_URL)), response["Location"]
