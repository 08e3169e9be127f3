"""Cases linked to residents, houses, places and organizations: one subject per link (database
constraint), link/unlink services, the scoped lists both ways, the pages."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import IntegrityError, transaction
from django.test import Client
from django.utils import timezone

from tests.factories import make_grid, make_tree, make_user
from zongzhi.cases import services as case_services
from zongzhi.cases.models import CaseSubject
from zongzhi.cases.subjects import case_link_subject, case_unlink_subject, cases_for_subject, subjects_of_case
from zongzhi.core.errors import NotFound
from zongzhi.core.models import AuditLog
from zongzhi.orgs.roles import Role
from zongzhi.people import services as people_services
from zongzhi.people.records import HouseInput, ResidentInput
from zongzhi.people.validators import id_check_digit

pytestmark = pytest.mark.django_db


def _id(seq: str) -> str:
    first17 = f"33010619900101{seq}"
    return first17 + id_check_digit(first17)


@pytest.fixture
def w() -> dict[str, Any]:
    r = make_tree()
    grid = make_grid(r["A1a"])
    case = case_services.case_report(
        actor=None,
        data=case_services.ReportInput(
            channel="web",
            title="楼上漏水",
            description="楼上漏水",
            region_code=r["A1a"].code,
            is_anonymous=True,
        ),
    ).case
    other_case = case_services.case_report(
        actor=None,
        data=case_services.ReportInput(
            channel="web", title="噪声", description="夜间噪声", region_code=r["B1a"].code, is_anonymous=True
        ),
    ).case
    resident = people_services.resident_create(
        actor=None, data=ResidentInput(id_type="id_card", id_number=_id("123"), name="张三"), grid=grid
    )
    house = people_services.house_create(actor=None, data=HouseInput(address="文三路1号"), grid=grid)
    return {
        "r": r,
        "case": case,
        "other_case": other_case,
        "resident": resident,
        "house": house,
        "operator": make_user(Role.CENTER_OPERATOR, r["A"], username="op"),
        "worker": make_user(Role.GRID_WORKER, r["A1a"], username="gw"),
        "sibling": make_user(Role.CENTER_DIRECTOR, r["B"], username="dir_b"),
        "handler_like": make_user(Role.LEADER_VIEWER, r["A"], username="leader"),
    }


def _client(user: Any) -> Client:
    c = Client()
    c.force_login(user)
    return c


def test_exactly_one_subject_per_link_is_enforced_by_the_database(w: dict[str, Any]) -> None:
    common = {"case": w["case"], "region_path": w["case"].region_path, "created_at": timezone.now()}
    with pytest.raises(IntegrityError), transaction.atomic():
        CaseSubject.objects.create(**common)
    with pytest.raises(IntegrityError), transaction.atomic():
        CaseSubject.objects.create(**common, resident=w["resident"], house=w["house"])
    CaseSubject.objects.create(**common, resident=w["resident"])
    with pytest.raises(IntegrityError), transaction.atomic():
        CaseSubject.objects.create(**common, resident=w["resident"])


def test_link_list_and_unlink(w: dict[str, Any]) -> None:
    link = case_link_subject(actor=w["operator"], case=w["case"], subject=w["resident"], note="当事人")
    assert case_link_subject(actor=w["operator"], case=w["case"], subject=w["resident"]) == link  # idempotent
    case_link_subject(actor=w["worker"], case=w["case"], subject=w["house"])
    assert list(cases_for_subject(w["worker"], w["resident"])) == [w["case"]]
    assert list(cases_for_subject(w["sibling"], w["resident"])) == []
    pairs = subjects_of_case(w["operator"], w["case"])
    assert [(link.kind, s) for link, s in pairs] == [("resident", w["resident"]), ("house", w["house"])]
    # the leader (viewer) sees the case but not the people: the links are there, the records hidden
    assert [s for _l, s in subjects_of_case(w["handler_like"], w["case"])] == [None, None]
    row = AuditLog.objects.filter(action="case.subject.link").first()
    assert row is not None and row.data["kind"] in ("resident", "house")
    case_unlink_subject(actor=w["operator"], link=link)
    assert list(cases_for_subject(w["worker"], w["resident"])) == []
    assert AuditLog.objects.filter(action="case.subject.unlink").count() == 1


def test_linking_outside_scope_is_not_found(w: dict[str, Any]) -> None:
    with pytest.raises(NotFound):
        case_link_subject(actor=w["operator"], case=w["other_case"], subject=w["resident"])
    with pytest.raises(NotFound):
        case_link_subject(actor=w["sibling"], case=w["other_case"], subject=w["resident"])
    assert not CaseSubject.objects.exists()


def test_people_pages_show_linked_cases_within_scope(w: dict[str, Any]) -> None:
    case_link_subject(actor=None, case=w["case"], subject=w["resident"])
    case_link_subject(actor=None, case=w["other_case"], subject=w["resident"])  # a case in county B
    res = _client(w["worker"]).get(f"/cases/subjects/resident/{w['resident'].pk}/")
    assert res.status_code == 200
    html = res.content.decode()
    assert w["case"].number in html and w["other_case"].number not in html
    assert _client(w["sibling"]).get(f"/cases/subjects/resident/{w['resident'].pk}/").status_code == 404
    assert _client(w["worker"]).get(f"/cases/subjects/bogus/{w['resident'].pk}/").status_code == 404
    page = _client(w["worker"]).get(f"/people/residents/{w['resident'].pk}/").content.decode()
    assert f"/cases/subjects/resident/{w['resident'].pk}/" in page


def test_case_page_links_and_unlinks_a_resident_by_id_number(w: dict[str, Any]) -> None:
    c = _client(w["operator"])
    assert "涉及的人、房、场所、组织" in c.get(f"/cases/{w['case'].pk}/").content.decode()
    res = c.post(
        f"/cases/{w['case'].pk}/subjects/", {"kind": "resident", "ref": _id("123"), "note": "反映人"}
    )
    assert res.status_code == 302
    link = CaseSubject.objects.get()
    assert link.resident == w["resident"] and link.note == "反映人"
    panel = c.get(f"/cases/{w['case'].pk}/subjects/").content.decode()
    assert f"/people/residents/{w['resident'].pk}/" in panel and "3301**********" in panel
    # an ID number outside the scope (or unknown) links nothing
    c.post(f"/cases/{w['case'].pk}/subjects/", {"kind": "resident", "ref": _id("999")})
    assert CaseSubject.objects.count() == 1
    assert c.post(f"/cases/{w['case'].pk}/subjects/{link.pk}/unlink/").status_code == 302
    assert not CaseSubject.objects.exists()
    assert _client(w["sibling"]).get(f"/cases/{w['case'].pk}/subjects/").status_code == 404
