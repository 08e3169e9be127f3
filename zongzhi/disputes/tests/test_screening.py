"""Screening campaigns (排查): a township opens one for a week, one report per grid; grid workers
record "no dispute found" or the disputes found in their grid on the phone; completion per grid and
per village; closing; who sees and may do what."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from tests.factories import make_user
from zongzhi.disputes.models import Dispute, ScreeningCampaign, ScreeningReport
from zongzhi.notifications.models import Notification
from zongzhi.orgs.roles import Role
from zongzhi.orgs.services import grid_member_add

from .builders import World

pytestmark = pytest.mark.django_db

MONDAY = dt.date(2026, 11, 2)


def open_on_the_page(world: World, **over: Any) -> Any:
    data = {
        "region": world.r["A1"].code,
        "period_start": MONDAY.isoformat(),
        "period_end": (MONDAY + dt.timedelta(days=6)).isoformat(),
        "note": "重点排查邻里、土地、劳资纠纷",
    }
    data.update(over)
    return world.client(world.township_op).post("/screenings/", data)


def found_form(**over: Any) -> dict[str, Any]:
    data = {
        "form": "found",
        "idempotency_key": "grid-found-1",
        "dispute_type": "land_forest",
        "title": "宅基地边界纠纷",
        "description": "两户因宅基地边界发生争执",
        "applicant": "赵大",
        "applicant_phone": "13811112222",
        "respondent": "钱二",
        "people_count": "2",
        "risk_level": "medium",
        "flags": ["threat"],
    }
    data.update(over)
    return data


def test_a_weekly_screening_from_opening_to_closing(world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        res = open_on_the_page(world)
    assert res.status_code == 302, res.content.decode()[:2000]
    campaign = ScreeningCampaign.objects.get()
    assert campaign.region == world.r["A1"] and "甲一街道" in campaign.title
    # one report per grid of the township, each pending; the grid workers are told
    assert sorted(campaign.reports.values_list("grid_id", "status")) == sorted(
        [(world.grid.pk, "pending"), (world.grid2.pk, "pending"), (world.grid_b.pk, "pending")]
    )
    assert Notification.objects.filter(user=world.grid_worker, kind="screening").count() == 1

    # the grid worker's phone: their grid, then "no dispute found"
    gw = world.client(world.grid_worker)
    listing = gw.get("/m/screenings/").content.decode()
    assert f'href="/m/screenings/{campaign.pk}/grids/{world.grid.pk}/"' in listing
    assert f"/grids/{world.grid2.pk}/" not in listing
    page = gw.get(f"/m/screenings/{campaign.pk}/grids/{world.grid.pk}/")
    assert page.status_code == 200
    res = gw.post(
        f"/m/screenings/{campaign.pk}/grids/{world.grid.pk}/", {"form": "none", "note": "已走访12户，未发现"}
    )
    assert res.status_code == 302
    report = ScreeningReport.objects.get(campaign=campaign, grid=world.grid)
    assert (report.status, report.reported_by, report.note) == (
        "none_found",
        world.grid_worker,
        "已走访12户，未发现",
    )

    # another grid's worker records the dispute found there
    gw2_user = make_user(Role.GRID_WORKER, world.r["A1a"], username="gw2_a1a")
    grid_member_add(actor=None, grid=world.grid2, user=gw2_user, role="worker")
    gw2 = world.client(gw2_user)
    # a worker may not report for a grid that is not theirs
    res = gw.post(f"/m/screenings/{campaign.pk}/grids/{world.grid2.pk}/", found_form())
    assert res.status_code == 422 and "只有本网格的网格员可以填报" in res.content.decode()
    assert not Dispute.objects.exists()
    res = gw2.post(f"/m/screenings/{campaign.pk}/grids/{world.grid2.pk}/", found_form())
    assert res.status_code == 302, res.content.decode()[:2000]
    dispute = Dispute.objects.select_related("case", "screening_report").get()
    assert dispute.screening_report.grid_id == world.grid2.pk
    assert (dispute.case.channel, dispute.case.kind, dispute.case.grid_id) == (
        "patrol",
        "dispute",
        world.grid2.pk,
    )
    assert dispute.case.region == world.r["A1a"] and dispute.risk_level == "medium"
    assert list(dispute.flags.values_list("flag_type__code", "raised_by__username")) == [
        ("threat", "gw2_a1a")
    ]
    report2 = ScreeningReport.objects.get(campaign=campaign, grid=world.grid2)
    assert (report2.status, report2.found_count) == ("found", 1)
    # once a dispute is found, the grid cannot say "none"
    res = gw2.post(f"/m/screenings/{campaign.pk}/grids/{world.grid2.pk}/", {"form": "none"})
    assert res.status_code == 422
    assert ScreeningReport.objects.get(pk=report2.pk).status == "found"

    # completion per grid and per village, on the township's page and through the API
    html = world.client(world.township_op).get(f"/screenings/{campaign.pk}/").content.decode()
    assert f'data-grid="{world.grid.code}" data-status="none_found"' in html
    assert f'data-grid="{world.grid2.code}" data-status="found"' in html
    assert f'data-grid="{world.grid_b.code}" data-status="pending"' in html
    assert "2 / 3" in html and "66.7%" in html and dispute.case.number in html
    body = world.api(world.township_op, "get", f"/screenings/{campaign.pk}").json()
    assert (body["grids"], body["reported"], body["found"], body["none_found"], body["completion"]) == (
        3,
        2,
        1,
        1,
        "66.7",
    )
    assert {r["grid_id"]: r["status"] for r in body["reports"]} == {
        world.grid.pk: "none_found",
        world.grid2.pk: "found",
        world.grid_b.pk: "pending",
    }

    # a village's staff see the campaign with their own grids only; the village may not close it
    mine = world.api(world.village_op, "get", f"/screenings/{campaign.pk}").json()
    assert {r["grid_id"] for r in mine["reports"]} == {world.grid.pk, world.grid2.pk}
    assert world.api(world.village_op, "post", f"/screenings/{campaign.pk}/close").status_code == 403
    # another county does not see it at all
    assert world.api(world.cousin_op, "get", f"/screenings/{campaign.pk}").status_code == 404
    assert world.client(world.cousin_op).get(f"/screenings/{campaign.pk}/").status_code == 404

    # the township closes it: no more reports
    res = world.client(world.township_op).post(f"/screenings/{campaign.pk}/close/")
    assert res.status_code == 302
    campaign.refresh_from_db()
    assert not campaign.is_open and campaign.closed_by == world.township_op
    res = world.api(
        world.grid_worker, "post", f"/screenings/{campaign.pk}/grids/{world.grid.pk}/none", {"note": ""}
    )
    assert res.status_code == 409 and res.json()["detail"]["code"] == "campaign_closed"
    assert "目前没有需要填报的排查" in gw.get("/m/screenings/").content.decode()


def test_a_dispute_settled_on_the_spot_during_screening(world):
    campaign = world.api(
        world.township_op,
        "post",
        "/screenings",
        {"region_code": world.r["A1"].code, "period_start": "2026-11-09", "period_end": "2026-11-15"},
    )
    assert campaign.status_code == 201, campaign.content.decode()
    cid = campaign.json()["id"]
    res = world.client(world.grid_worker).post(
        f"/m/screenings/{cid}/grids/{world.grid.pk}/",
        found_form(resolved_on_site="on", result="当场调解，双方认可边界", risk_level="low", flags=[]),
    )
    assert res.status_code == 302, res.content.decode()[:2000]
    dispute = Dispute.objects.select_related("case").get()
    assert (dispute.outcome, dispute.resolved_level, dispute.case.state) == ("on_site", "village", "resolved")
    # and it counts as resolved locally
    from zongzhi.disputes import selectors

    today = dispute.case.created_at
    f = selectors.dispute_rates(
        world.township_op, world.r["A1"], today - dt.timedelta(days=1), today + dt.timedelta(days=1)
    )
    assert (f.total, f.resolved, f.resolved_locally) == (1, 1, 1)


def test_opening_refuses_bad_input(world):
    res = open_on_the_page(world, region=world.r["A1a"].code)
    assert res.status_code == 422  # not a township: not even offered
    res = world.api(
        world.township_op,
        "post",
        "/screenings",
        {"region_code": world.r["A1a"].code, "period_start": "2026-11-02", "period_end": "2026-11-08"},
    )
    assert res.status_code == 422 and res.json()["detail"] == {
        **res.json()["detail"],
        "field": "region_code",
        "code": "not_township",
    }
    res = world.api(
        world.township_op,
        "post",
        "/screenings",
        {"region_code": world.r["A1"].code, "period_start": "2026-11-08", "period_end": "2026-11-02"},
    )
    assert res.status_code == 422 and res.json()["detail"]["field"] == "period_end"
    # a township elsewhere is out of scope
    res = world.api(
        world.township_op,
        "post",
        "/screenings",
        {"region_code": world.r["A2"].code, "period_start": "2026-11-02", "period_end": "2026-11-08"},
    )
    assert res.status_code == 422 and res.json()["detail"]["code"] == "out_of_scope"
    assert open_on_the_page(world).status_code == 302
    res = open_on_the_page(world)
    assert res.status_code == 422 and "该期间的排查已发起" in res.content.decode()
    assert ScreeningCampaign.objects.count() == 1
    # grid workers do not open campaigns
    res = world.api(
        world.grid_worker,
        "post",
        "/screenings",
        {"region_code": world.r["A1"].code, "period_start": "2026-11-16", "period_end": "2026-11-22"},
    )
    assert res.status_code == 422 and res.json()["detail"]["code"] == "out_of_scope"
