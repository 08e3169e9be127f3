"""The same journeys through the web pages (Django test client): the window's one-stop intake, the
dispute page's action panels, the agreement as an A4 page and a PDF, failure → transfer, withdrawal,
and the errors shown on the form (nothing written)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from zongzhi.cases.models import Case
from zongzhi.disputes.models import Dispute, MediationAgreement, Party

from .builders import ID_ZHANG, PHONE_ZHANG, World

pytestmark = pytest.mark.django_db


def intake_form(world: World, **over: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "idempotency_key": "web-1",
        "channel": "walk_in",
        "dispute_type": "neighbour",
        "title": "楼上漏水纠纷",
        "description": "楼上卫生间漏水至楼下，协商未果。",
        "region": f"{world.r['A1a'].code} 甲一社区",
        "address": "甲一社区3幢",
        "people_count": "2",
        "amount": "3000",
        "urgency": "normal",
        "risk_level": "medium",
        "flags": ["threat"],
        "risk_note": "张三情绪激动",
        "accept": "on",
        "parties-TOTAL_FORMS": "3",
        "parties-INITIAL_FORMS": "2",
        "parties-MIN_NUM_FORMS": "0",
        "parties-MAX_NUM_FORMS": "20",
        "parties-0-role": "applicant",
        "parties-0-kind": "person",
        "parties-0-name": "张三",
        "parties-0-gender": "male",
        "parties-0-ethnicity": "汉族",
        "parties-0-id_number": ID_ZHANG,
        "parties-0-phone": PHONE_ZHANG,
        "parties-0-address": "甲一社区3幢201室",
        "parties-1-role": "respondent",
        "parties-1-kind": "person",
        "parties-1-name": "李四",
        "parties-1-phone": "13987654321",
        "parties-2-role": "",
        "parties-2-kind": "person",
        "parties-2-name": "",
    }
    data.update(over)
    return data


def post_action(world: World, user: Any, dispute: Dispute, action: str, **fields: Any) -> Any:
    data = {f"{action}-{k}": v for k, v in fields.items()}
    return world.client(user).post(f"/disputes/{dispute.pk}/actions/{action}/", data)


def web_intake(world: World, **over: Any) -> Dispute:
    res = world.client(world.village_op).post("/disputes/new/", intake_form(world, **over))
    assert res.status_code == 302, res.content.decode()[:3000]
    return Dispute.objects.get(pk=int(res["Location"].rstrip("/").rsplit("/", 1)[-1]))


def web_mediate_and_session(world: World, dispute: Dispute) -> None:
    res = post_action(
        world,
        world.village_op,
        dispute,
        "mediate",
        mediation_type="elders",
        lead_mediator=str(world.mediator.pk),
        mediators=[str(world.elder.pk), str(world.township_mediator.pk)],
    )
    assert res.status_code == 302, res.content.decode()[:3000]
    res = post_action(
        world,
        world.mediator_user,
        dispute,
        "mediation_session",
        held_at=timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
        place="甲一社区调解室",
        attendees="张三、李四、王调解",
        note="双方陈述意见，调解员释法说理。",
    )
    assert res.status_code == 302, res.content.decode()[:3000]


def test_walk_in_to_agreement_confirmation_and_followup_through_the_pages(world):
    c = world.client(world.village_op)
    page = c.get("/disputes/new/")
    assert page.status_code == 200 and "登记矛盾纠纷" in page.content.decode()
    dispute = web_intake(world)
    assert dispute.case.state == "accepted" and dispute.risk_level == "medium"
    assert dispute.case.kind == "dispute" and dispute.case.channel == "walk_in"
    assert Party.objects.filter(dispute=dispute).count() == 2  # the blank third row is ignored
    html = c.get(f"/disputes/{dispute.pk}/").content.decode()
    assert "张三" in html and "138****5678" in html and PHONE_ZHANG not in html and ID_ZHANG not in html
    assert 'data-flag="threat"' in html and 'data-action="mediate"' in html
    # the register masks names
    listing = c.get("/disputes/").content.decode()
    assert dispute.case.number in listing and "张*" in listing and "张三" not in listing

    web_mediate_and_session(world, dispute)
    res = post_action(
        world,
        world.mediator_user,
        dispute,
        "mediation_agree",
        facts="李四家卫生间防水层老化，漏水至张三家。",
        terms="李四赔偿张三维修费人民币3000元。",
        performance_method="转账",
        performance_deadline=(timezone.localdate() + dt.timedelta(days=10)).isoformat(),
    )
    assert res.status_code == 302, res.content.decode()[:3000]
    dispute.refresh_from_db()
    assert dispute.outcome == "agreement" and dispute.case.state == "resolved"
    agreement = MediationAgreement.objects.get(dispute=dispute)

    page = c.get(f"/disputes/{dispute.pk}/agreements/{agreement.pk}/")
    text = page.content.decode()
    assert page.status_code == 200 and "人民调解协议书" in text and agreement.number in text
    assert "张三" in text and "李四赔偿张三维修费人民币3000元。" in text and ID_ZHANG in text
    assert 'class="zz-a4"' in text and "navbar" not in text  # a clean A4 page, no navigation
    pdf = c.get(f"/disputes/{dispute.pk}/agreements/{agreement.pk}/pdf/")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"

    res = post_action(
        world, world.mediator_user, dispute, "judicial_confirm", status="applied", court="甲区人民法院"
    )
    assert res.status_code == 302, res.content.decode()[:3000]
    res = post_action(
        world,
        world.mediator_user,
        dispute,
        "judicial_confirm",
        status="confirmed",
        reference="（2026）浙0102民特1号",
    )
    assert res.status_code == 302
    res = post_action(world, world.village_op, dispute, "reply", method="phone", note="电话告知双方")
    assert res.status_code == 302
    res = post_action(world, world.village_op, dispute, "followup", performance="performed", note="已履行")
    assert res.status_code == 302
    agreement.refresh_from_db()
    assert (agreement.judicial_status, agreement.performance) == ("confirmed", "performed")
    html = c.get(f"/disputes/{dispute.pk}/").content.decode()
    assert 'data-judicial="confirmed"' in html and 'data-performance="performed"' in html


def test_not_performed_reopens_through_the_page(world):
    dispute = web_intake(world)
    web_mediate_and_session(world, dispute)
    post_action(
        world,
        world.mediator_user,
        dispute,
        "mediation_agree",
        facts="f",
        terms="t",
        performance_deadline=(timezone.localdate() + dt.timedelta(days=3)).isoformat(),
    )
    res = post_action(
        world, world.village_op, dispute, "followup", performance="not_performed", note="对方拒不付款"
    )
    assert res.status_code == 302
    dispute.refresh_from_db()
    assert dispute.case.state == "accepted" and dispute.outcome == "" and dispute.case.reopen_count == 1
    html = world.client(world.village_op).get(f"/disputes/{dispute.pk}/").content.decode()
    assert 'data-event="reopen_dispute"' in html and 'data-action="mediate"' in html


def test_failure_then_transfer_and_withdrawal_through_the_pages(world):
    dispute = web_intake(world)
    web_mediate_and_session(world, dispute)
    res = post_action(world, world.mediator_user, dispute, "mediation_fail", note="")
    assert res.status_code == 422 and "请填写" in res.content.decode()  # the reason is required
    res = post_action(world, world.mediator_user, dispute, "mediation_fail", note="被申请人拒绝调解")
    assert res.status_code == 302
    res = post_action(
        world,
        world.village_op,
        dispute,
        "transfer",
        transfer_to="litigation",
        receiving_body="",
        note="引导诉讼",
    )
    assert res.status_code == 422 and "请填写接收单位" in res.content.decode()
    res = post_action(
        world,
        world.village_op,
        dispute,
        "transfer",
        transfer_to="litigation",
        receiving_body="甲区人民法院",
        reference_number="（2026）浙0102民初55号",
        department=str(world.court.pk),
        note="调解不成，引导当事人诉讼",
    )
    assert res.status_code == 302, res.content.decode()[:3000]
    dispute.refresh_from_db()
    assert dispute.outcome == "transferred" and dispute.receiving_body == "甲区人民法院"
    html = world.client(world.village_op).get(f"/disputes/{dispute.pk}/").content.decode()
    assert "（2026）浙0102民初55号" in html

    other = web_intake(world, idempotency_key="web-2", title="宅基地边界纠纷", dispute_type="land_forest")
    web_mediate_and_session(world, other)
    res = post_action(world, world.mediator_user, other, "withdraw", note="双方已自行和解")
    assert res.status_code == 302
    other.refresh_from_db()
    assert other.outcome == "withdrawn" and other.case.state == "resolved"


def test_intake_errors_are_shown_and_nothing_is_saved(world):
    c = world.client(world.village_op)
    res = c.post("/disputes/new/", intake_form(world, **{"parties-0-id_number": ID_ZHANG[:-1] + "0"}))
    assert res.status_code == 422
    text = res.content.decode()
    assert "身份证号码校验位错误" in text and "张三" in text  # the error on the row, the input kept
    res = c.post("/disputes/new/", intake_form(world, **{"parties-1-name": "", "parties-1-phone": ""}))
    assert res.status_code == 422 and "请填写当事人姓名或名称" in res.content.decode()
    res = c.post("/disputes/new/", intake_form(world, dispute_type=""))
    assert res.status_code == 422 and "请选择纠纷类型" in res.content.decode()
    assert not Case.objects.exists() and not Dispute.objects.exists()


def test_an_action_the_state_does_not_allow_shows_the_reason(world):
    dispute = web_intake(world)
    res = post_action(world, world.village_op, dispute, "mediation_agree", facts="f", terms="t")
    assert res.status_code == 422 and "不能执行" in res.content.decode()
    assert dispute.case.events.count() == 2


def test_complete_the_record_of_a_hotline_dispute(world):
    from zongzhi.cases import services as case_services

    case = case_services.case_report(
        actor=world.village_op,
        data=case_services.ReportInput(
            channel="hotline",
            kind="dispute",
            title="噪音纠纷",
            description="邻居夜间噪音",
            region_code=world.r["A1a"].code,
        ),
    ).case
    c = world.client(world.village_op)
    page = c.get(f"/disputes/for-case/{case.pk}/")
    assert page.status_code == 200 and "建立纠纷档案" in page.content.decode()
    data = {k: v for k, v in intake_form(world).items() if k.startswith("parties-")}
    data.update({"dispute_type": "neighbour", "people_count": "2", "risk_level": "low"})
    res = c.post(f"/disputes/for-case/{case.pk}/", data)
    assert res.status_code == 302, res.content.decode()[:2000]
    dispute = Dispute.objects.get(case=case)
    assert c.get(f"/disputes/for-case/{case.pk}/")["Location"] == f"/disputes/{dispute.pk}/"
    assert "矛盾纠纷档案" in c.get(f"/cases/{case.pk}/").content.decode()
