"""seed_demo_people: demo base data in every demo grid, through the services; a second run creates
nothing; the synthetic ID numbers and credit codes pass their own checks."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from tests.factories import make_grid, make_tree, make_user
from zongzhi.orgs import services as org_services
from zongzhi.orgs.roles import Role
from zongzhi.people.models import House, Organization, Place, Resident, SpecialGroupMembership, VisitMiss
from zongzhi.people.sealing import ID_NUMBER, unseal
from zongzhi.people.validators import parse_citizen_id, validate_credit_code

pytestmark = pytest.mark.django_db


def test_seed_demo_people_builds_base_data_once() -> None:
    r = make_tree()
    for village in (r["A1a"], r["B1a"]):
        grid = make_grid(village, "第一网格")
        worker = make_user(Role.GRID_WORKER, village)
        org_services.grid_member_add(actor=None, grid=grid, user=worker, role="worker")
    out = StringIO()
    call_command("seed_demo_people", "--city", r["C"].code[:4], stdout=out)
    assert "演示基础数据" in out.getvalue()
    assert House.objects.count() == 12 and Place.objects.count() == 2 and Organization.objects.count() == 2
    assert Resident.objects.count() > 0
    for resident in Resident.objects.all()[:20]:
        parse_citizen_id(unseal(resident.id_number_enc, ID_NUMBER))  # valid check digits
    for org in Organization.objects.all():
        validate_credit_code(org.credit_code)
    assert SpecialGroupMembership.objects.count() == 4
    assert VisitMiss.objects.exists()  # the demo shows overdue visits
    counts = (House.objects.count(), Resident.objects.count(), SpecialGroupMembership.objects.count())
    out = StringIO()
    call_command("seed_demo_people", "--city", r["C"].code[:4], stdout=out)
    assert "已存在" in out.getvalue()
    assert (House.objects.count(), Resident.objects.count(), SpecialGroupMembership.objects.count()) == counts
