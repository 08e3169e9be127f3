"""The visit schedule policies in the configuration admin: system administrators change them
(through the service, audited, memberships moved to the new schedule); nobody else does."""

from __future__ import annotations

from typing import Any

import pytest

from zongzhi.core.models import AuditLog
from zongzhi.people.models import VisitSchedulePolicy

pytestmark = pytest.mark.django_db


def test_sysadmin_edits_visit_policies_in_the_admin(world: Any) -> None:
    c = world.client(world.sysadmin)
    assert c.get("/admin/people/visitschedulepolicy/").status_code == 200
    policy = VisitSchedulePolicy.objects.get(group="drug_user", min_risk_level=3)
    res = c.post(
        f"/admin/people/visitschedulepolicy/{policy.pk}/change/", {"frequency": "monthly", "grace_days": "2"}
    )
    assert res.status_code == 302, res.content.decode()[:3000]
    policy.refresh_from_db()
    assert (policy.frequency, policy.grace_days) == ("monthly", 2)
    assert AuditLog.objects.filter(action="people.visit_policy.set").exists()
    res = c.post(
        "/admin/people/visitschedulepolicy/add/",
        {"group": "key_youth", "min_risk_level": "5", "frequency": "weekly", "grace_days": "0"},
    )
    assert res.status_code == 302
    assert VisitSchedulePolicy.objects.filter(group="key_youth", min_risk_level=5).exists()


def test_other_admin_roles_cannot_change_policies(world: Any) -> None:
    for user in (world.auditor, world.secadmin):
        c = world.client(user)
        assert c.get("/admin/people/visitschedulepolicy/").status_code == 403
    # a center director is no administrator at all
    assert world.client(world.director).get("/admin/people/visitschedulepolicy/").status_code in (302, 403)
