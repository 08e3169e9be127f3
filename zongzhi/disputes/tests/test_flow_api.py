"""The dispute through the API: walk-in → mediation → agreement → judicial confirmation → follow-up
(performed, and not performed → reopen), failure → transfer, withdrawal, partial agreement, and
the refusals (409 for illegal moves, 422 for missing input, 403 for the wrong person)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from tests.factories import make_department
from zongzhi.cases.models import Case, CaseEvent
from zongzhi.disputes.models import Dispute, MediationAgreement
from zongzhi.notifications.models import Notification

from .builders import ID_ZHANG, PHONE_ZHANG, World, make_mediator

pytestmark = pytest.mark.django_db


def body(world: World, **over: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "title": "楼上漏水纠纷",
        "description": "楼上卫生间漏水至楼下，协商未果。",
        "dispute_type": "neighbour",
        "region_code": world.r["A1a"].code,
        "people_count": 2,
        "amount": "3000.00",
        "risk_level": "medium",
        "flags": ["repeated_visits"],
        "parties": [
            {
                "role": "applicant",
                "name": "张三",
                "gender": "male",
                "ethnicity": "汉族",
                "id_number": ID_ZHANG,
                "phone": PHONE_ZHANG,
                "address": "甲一社区3幢201室",
            },
            {"role": "respondent", "name": "李四", "phone": "13987654321", "address": "甲一社区3幢301室"},
        ],
    }
    data.update(over)
    return data


def ok(res: Any, status: int = 200) -> dict[str, Any]:
    assert res.status_code == status, res.content.decode()
    return res.json()


def act(world: World, user: Any, dispute_id: int, action: str, note: str = "", **data: Any) -> Any:
    return world.api(user, "post", f"/disputes/{dispute_id}/actions/{action}", {"note": note, "data": data})


def error(res: Any, status: int) -> dict[str, Any]:
    assert res.status_code == status, res.content.decode()
    return res.json()["detail"]


def walk_in(world: World, **over: Any) -> dict[str, Any]:
    return ok(world.api(world.village_op, "post", "/disputes", body(world, **over)), 201)


def mediate(world: World, d: dict[str, Any], user: Any = None, **over: Any) -> dict[str, Any]:
    data = {
        "mediation_type": "elders",
        "lead_mediator_id": world.mediator.pk,
        "mediator_ids": [world.elder.pk, world.township_mediator.pk],
    }
    data.update(over)
    return ok(act(world, user or world.village_op, d["id"], "mediate", **data))


def session(world: World, d: dict[str, Any], user: Any = None) -> dict[str, Any]:
    return ok(
        act(
            world,
            user or world.mediator_user,
            d["id"],
            "mediation_session",
            "双方陈述，调解员释法说理，双方同意协商赔偿。",
            held_at=timezone.now().isoformat(),
            place="甲一社区调解室",
            attendees="张三、李四、王调解、李乡贤",
        )
    )


def agree(
    world: World, d: dict[str, Any], user: Any = None, deadline: dt.date | None = None
) -> dict[str, Any]:
    return ok(
        act(
            world,
            user or world.mediator_user,
            d["id"],
            "mediation_agree",
            facts="李四家卫生间防水层老化，漏水至张三家，造成吊顶损坏。",
            terms="一、李四赔偿张三维修费人民币3000元；二、李四负责修复卫生间防水。",
            performance_method="现金或转账",
            performance_deadline=(deadline or timezone.localdate() + dt.timedelta(days=15)).isoformat(),
        )
    )


def test_walk_in_to_agreement_confirmation_and_followup_performed(world, django_capture_on_commit_callbacks):
    d = walk_in(world)
    assert d["state"] == "accepted"  # one-stop: registered and accepted in one call
    assert [e["action"] for e in d["timeline"]] == ["report", "accept"]
    assert d["risk_level"] == "medium" and [f["code"] for f in d["flags"]] == ["repeated_visits"]
    assert d["flags"][0]["raised_by"] == "op_a1a"
    # lists mask the parties; the detail shows names (mediating staff) but masks ID and phone
    assert d["applicants"] == ["张*"]
    applicant = next(p for p in d["parties"] if p["role"] == "applicant")
    assert applicant["name"] == "张三" and applicant["phone"] == "138****5678"
    assert applicant["id_number"] == ID_ZHANG[:4] + "*" * 10 + ID_ZHANG[-4:]
    assert "mediate" in d["allowed_actions"] and "escalate" in d["allowed_actions"]

    d = ok(act(world, world.village_op, d["id"], "assess_risk", "双方情绪平稳", risk_level="low", flags=[]))
    assert d["risk_level"] == "low" and d["flags"] == []
    history = d["flag_history"]
    assert history[0]["code"] == "repeated_visits" and history[0]["cleared_by"] == "op_a1a"
    assert [a["risk_level"] for a in d["assessments"]] == ["low", "medium"]

    with django_capture_on_commit_callbacks(execute=True):
        d = mediate(world, d)
    assert d["state"] == "handling" and d["lead_department"] == "甲一社区人民调解委员会"
    m = d["mediations"][0]
    assert (m["round"], m["mediation_type"], m["lead_mediator"]) == (1, "elders", "王调解")
    assert sorted(m["participants"]) == ["李乡贤", "赵司法"]
    case = Case.objects.get(pk=d["case_id"])
    assert case.handle_due_at == case.due_at and case.stage == "handle"
    assert Notification.objects.filter(user=world.mediator_user, title__startswith="新调解任务").exists()

    d = session(world, d)
    assert d["mediations"][0]["sessions"][0]["place"] == "甲一社区调解室"
    d = agree(world, d)
    assert d["state"] == "resolved" and d["outcome"] == "agreement" and d["resolved_level"] == "village"
    agreement = d["agreements"][0]
    year = timezone.localdate().year
    assert agreement["number"] == f"（{year}）甲一调字第001号"
    assert agreement["performance"] == "pending" and agreement["judicial_status"] == "none"
    assert d["mediations"][0]["outcome"] == "agreement"

    # judicial confirmation: applied, then confirmed
    d = ok(
        act(world, world.mediator_user, d["id"], "judicial_confirm", status="applied", court="甲区人民法院")
    )
    assert d["agreements"][0]["judicial_status"] == "applied"
    d = ok(
        act(
            world,
            world.mediator_user,
            d["id"],
            "judicial_confirm",
            status="confirmed",
            reference="（2026）浙0102民特12号",
        )
    )
    assert d["agreements"][0]["judicial_status"] == "confirmed"
    assert d["agreements"][0]["judicial_ref"] == "（2026）浙0102民特12号"
    detail = error(act(world, world.mediator_user, d["id"], "judicial_confirm", status="applied"), 409)
    assert detail["code"] == "illegal_judicial_status"

    # the loop goes on: reply, rate, archive; the follow-up happens at the deadline
    ok(
        world.api(
            world.village_op,
            "post",
            f"/cases/{d['case_id']}/actions/reply",
            {"note": "电话告知双方", "data": {"method": "phone"}},
        )
    )
    d = ok(
        act(
            world,
            world.village_op,
            d["id"],
            "followup",
            "双方确认已付款，防水已修复",
            performance="performed",
        )
    )
    assert d["agreements"][0]["performance"] == "performed" and d["state"] == "replied"
    detail = error(act(world, world.village_op, d["id"], "followup", performance="not_performed"), 409)
    assert detail["code"] == "followup_done"
    actions = [e["action"] for e in d["timeline"]]
    assert actions == [
        "report",
        "accept",
        "assess_risk",
        "mediate",
        "mediation_session",
        "mediation_agree",
        "judicial_confirm",
        "judicial_confirm",
        "reply",
        "followup",
    ]
    # and the agreement as a PDF through the API
    res = world.api(world.village_op, "get", agreement["pdf_url"].removeprefix("/api/v1"))
    assert res.status_code == 200 and res["Content-Type"] == "application/pdf"
    assert res.content.startswith(b"%PDF")


def test_not_performed_reopens_the_dispute_even_when_archived(world):
    d = walk_in(world)
    d = mediate(world, d)
    session(world, d)
    d = agree(world, d)
    case_id = d["case_id"]
    ok(
        world.api(
            world.village_op,
            "post",
            f"/cases/{case_id}/actions/reply",
            {"note": "已告知", "data": {"method": "phone"}},
        )
    )
    ok(
        world.api(
            world.village_op, "post", f"/cases/{case_id}/actions/rate", {"data": {"rating": "satisfied"}}
        )
    )
    ok(world.api(world.village_op, "post", f"/cases/{case_id}/actions/archive", {}))
    assert Case.objects.get(pk=case_id).state == "archived"

    d = ok(act(world, world.village_op, d["id"], "followup", "李四至今未付款", performance="not_performed"))
    # the follow-up reopened it through the table: a system transition right after
    assert d["state"] == "accepted" and d["outcome"] == ""
    assert [e["action"] for e in d["timeline"]][-2:] == ["followup", "reopen_dispute"]
    reopen = d["timeline"][-1]
    assert (reopen["from_state"], reopen["to_state"], reopen["actor"]) == ("archived", "accepted", "系统")
    case = Case.objects.get(pk=case_id)
    assert (
        case.reopen_count == 1 and case.archived_at is None and case.rating == "" and case.stage == "dispatch"
    )
    assert d["agreements"][0]["performance"] == "not_performed"
    assert "mediate" in d["allowed_actions"] and "transfer" in d["allowed_actions"]
    # the center transfers it to the court for enforcement
    d = ok(
        act(
            world,
            world.village_op,
            d["id"],
            "transfer",
            "协议经司法确认，当事人不履行，引导申请强制执行",
            transfer_to="litigation",
            receiving_body="甲区人民法院",
            reference_number="（2026）浙0102执100号",
            receiving_department_id=world.court.pk,
        )
    )
    assert d["state"] == "resolved" and d["outcome"] == "transferred"
    assert (d["receiving_body"], d["transfer_ref"], d["lead_department"]) == (
        "甲区人民法院",
        "（2026）浙0102执100号",
        "甲区人民法院",
    )


def test_manual_reopen_for_non_performance(world):
    d = walk_in(world)
    d = mediate(world, d)
    session(world, d)
    d = agree(world, d)
    error(act(world, world.village_op, d["id"], "reopen_dispute"), 422)  # the note is required
    d = ok(act(world, world.village_op, d["id"], "reopen_dispute", "申请人反映对方拒不履行"))
    assert d["state"] == "accepted" and d["agreements"][0]["performance"] == "not_performed"
    # a second round reaches a new agreement with its own number
    d = mediate(
        world, d, mediation_type="court", lead_mediator_id=world.township_mediator.pk, mediator_ids=[]
    )
    assert d["lead_department"] == "甲一街道司法所" and d["mediations"][1]["round"] == 2
    session(world, d, user=world.village_op)
    d = agree(world, d, user=world.village_op)
    assert [a["number"][-4:] for a in d["agreements"]] == ["001号", "002号"]


def test_failed_mediation_then_transfer(world):
    d = walk_in(world, dispute_type="labour", title="装修工人讨薪纠纷", people_count=6, amount="42000")
    assert d["scale"] == "group"
    d = mediate(world, d, mediation_type="administrative")
    session(world, d)
    error(act(world, world.mediator_user, d["id"], "mediation_fail"), 422)  # reason required
    d = ok(act(world, world.mediator_user, d["id"], "mediation_fail", "被申请人拒绝调解"))
    assert d["state"] == "accepted" and d["mediations"][0]["outcome"] == "failed"
    assert d["outcome"] == ""
    d = ok(
        act(
            world,
            world.village_op,
            d["id"],
            "transfer",
            "调解不成，引导申请劳动仲裁",
            transfer_to="arbitration",
            receiving_body="甲区劳动人事争议仲裁委员会",
            reference_number="甲劳仲案字〔2026〕第88号",
        )
    )
    assert d["state"] == "resolved" and d["outcome"] == "transferred" and d["transfer_to"] == "arbitration"
    case = Case.objects.get(pk=d["case_id"])
    assert "甲区劳动人事争议仲裁委员会" in case.result and "第88号" in case.result
    assert case.lead_department_id == world.committee.pk


def test_transfer_from_handling_closes_the_round(world):
    d = mediate(world, walk_in(world))
    d = ok(
        act(
            world,
            world.village_op,
            d["id"],
            "transfer",
            "涉嫌故意伤害，移交公安",
            transfer_to="police",
            receiving_body="甲一派出所",
        )
    )
    assert d["mediations"][0]["outcome"] == "failed" and d["outcome"] == "transferred"


def test_withdrawal(world):
    d = mediate(world, walk_in(world))
    d = ok(act(world, world.mediator_user, d["id"], "withdraw", "申请人表示双方已自行和解，撤回申请"))
    assert d["state"] == "resolved" and d["outcome"] == "withdrawn"
    assert d["mediations"][0]["outcome"] == "withdrawn"


def test_partial_agreement_goes_back_to_the_center(world):
    d = mediate(world, walk_in(world))
    session(world, d)
    error(act(world, world.mediator_user, d["id"], "mediation_partial", facts="f", terms="t"), 422)  # note
    d = ok(
        act(
            world,
            world.mediator_user,
            d["id"],
            "mediation_partial",
            "精神损失费部分未达成一致",
            facts="漏水造成财产损失，双方对精神损失费有争议。",
            terms="李四赔偿维修费3000元。",
        )
    )
    assert d["state"] == "accepted" and d["outcome"] == ""
    assert d["agreements"][0]["is_partial"] and d["mediations"][0]["outcome"] == "partial"
    assert "mediate" not in d["allowed_actions"]  # the mediator hands back; the center decides
    assert "mediate" in ok(world.api(world.village_op, "get", f"/disputes/{d['id']}"))["allowed_actions"]


def test_illegal_moves_are_409_and_write_nothing(world):
    d = walk_in(world, accept=False)
    assert d["state"] == "reported"
    before = CaseEvent.objects.filter(case_id=d["case_id"]).count()
    for action, data in [
        ("mediate", {"mediation_type": "elders", "lead_mediator_id": world.mediator.pk}),
        ("mediation_agree", {"facts": "f", "terms": "t"}),
        ("followup", {"performance": "performed"}),
        ("reopen_dispute", {}),
        ("transfer", {"transfer_to": "police", "receiving_body": "x"}),
        ("judicial_confirm", {"status": "applied", "court": "c"}),
    ]:
        detail = error(act(world, world.village_op, d["id"], action, "说明", **data), 409)
        assert detail["code"] == "illegal_transition" and detail["current_state"] == "reported", action
    assert CaseEvent.objects.filter(case_id=d["case_id"]).count() == before
    ok(world.api(world.village_op, "post", f"/cases/{d['case_id']}/actions/accept", {}))
    d = mediate(world, d)
    # an agreement needs a recorded session first
    detail = error(act(world, world.mediator_user, d["id"], "mediation_agree", facts="f", terms="t"), 409)
    assert detail["code"] == "no_session"
    assert Dispute.objects.get(pk=d["id"]).outcome == ""
    assert not MediationAgreement.objects.exists()
    # a dispute action on a case that is not a dispute
    other = ok(
        world.api(
            world.village_op,
            "post",
            "/cases",
            {
                "channel": "hotline",
                "kind": "event",
                "title": "路灯不亮",
                "description": "村口路灯不亮",
                "region_code": world.r["A1a"].code,
            },
        ),
        201,
    )
    ok(world.api(world.village_op, "post", f"/cases/{other['id']}/actions/accept", {}))
    res = world.api(
        world.village_op,
        "post",
        f"/cases/{other['id']}/actions/mediate",
        {"data": {"mediation_type": "elders", "lead_mediator_id": world.mediator.pk}},
    )
    assert error(res, 409)["code"] == "illegal_transition"
    # an unknown action is 422
    assert error(act(world, world.village_op, d["id"], "teleport"), 422)["field"] == "action"


def test_bad_input_names_the_field(world):
    detail = error(
        world.api(world.village_op, "post", "/disputes", body(world, dispute_type="nonsense")), 422
    )
    assert detail["field"] == "dispute_type"
    bad_id = body(world)
    bad_id["parties"][0]["id_number"] = ID_ZHANG[:-1] + "0"
    detail = error(world.api(world.village_op, "post", "/disputes", bad_id), 422)
    assert (detail["field"], detail["code"]) == ("parties.0.id_number", "id_check_digit")
    bad_code = body(world)  # an organization's credit code is checked to its check character
    bad_code["parties"][1].update(
        kind="organization", name="某物业服务有限公司", id_number="91330100MA2KXXXX1Y"
    )
    detail = error(world.api(world.village_op, "post", "/disputes", bad_code), 422)
    assert (detail["field"], detail["code"]) == ("parties.1.id_number", "credit_code_check_digit")
    bad_phone = body(world)
    bad_phone["parties"][0]["phone"] = "12345"
    detail = error(world.api(world.village_op, "post", "/disputes", bad_phone), 422)
    assert (detail["field"], detail["code"]) == ("parties.0.phone", "phone_format")
    only_applicants = body(world)
    only_applicants["parties"][1]["role"] = "applicant"
    detail = error(world.api(world.village_op, "post", "/disputes", only_applicants), 422)
    assert detail["code"] == "respondent_required"
    detail = error(world.api(world.village_op, "post", "/disputes", body(world, flags=["bogus"])), 422)
    assert detail["field"] == "flags"
    assert not Case.objects.exists() and not Dispute.objects.exists()  # nothing half-saved
    d = walk_in(world)
    detail = error(act(world, world.village_op, d["id"], "mediate", mediation_type="elders"), 422)
    assert detail["field"] == "lead_mediator_id"
    no_department = make_mediator(world.r["A1a"], "无单位调解员", None, body="elder")
    detail = error(
        act(
            world,
            world.village_op,
            d["id"],
            "mediate",
            mediation_type="elders",
            lead_mediator_id=no_department.pk,
        ),
        422,
    )
    assert detail["field"] == "department_id"
    outside = make_mediator(
        world.r["A1b"], "邻村调解员", make_department(world.r["A1b"], "甲一村人民调解委员会")
    )
    detail = error(
        act(
            world, world.village_op, d["id"], "mediate", mediation_type="elders", lead_mediator_id=outside.pk
        ),
        422,
    )
    assert detail["field"] == "lead_mediator_id"


def test_who_may_record_outcomes(world):
    d = mediate(world, walk_in(world), mediator_ids=[])
    other_user = __import__("tests.factories", fromlist=["make_user"]).make_user(
        "mediator", world.r["A1a"], username="med2"
    )
    make_mediator(world.r["A1a"], "另一调解员", world.committee, user=other_user)
    res = act(
        world,
        other_user,
        d["id"],
        "mediation_session",
        "x",
        held_at=timezone.now().isoformat(),
        place="p",
        attendees="a",
    )
    assert error(res, 403)["code"] == "forbidden"  # not a mediator of this round
    res = act(world, world.grid_worker, d["id"], "assess_risk", risk_level="high")
    assert res.status_code == 403  # grid workers do not mediate
    session(world, d)  # the round's lead mediator may
    # a leader sees the dispute but may not mediate
    detail = ok(world.api(world.leader, "get", f"/disputes/{d['id']}"))
    assert "mediation_agree" not in detail["allowed_actions"]
    assert error(act(world, world.leader, d["id"], "mediation_fail", "x"), 403)["code"] == "forbidden"


def test_high_risk_suggests_escalation_and_warns_the_township(world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        d = walk_in(world, risk_level="high", flags=["threat", "prior_violence"])
    advice = d["escalation_advice"]
    assert advice["suggested"] and advice["target_level"] == "township"
    assert Notification.objects.filter(
        user=world.township_op, title__startswith="高风险矛盾纠纷预警"
    ).exists()
    # the owning center escalates, with the reason; the township accepts and mediates at its level
    d = ok(act(world, world.village_op, d["id"], "escalate", "当事人扬言报复，村级难以化解"))
    assert d["state"] == "reported" and d["owner_region_code"] == world.r["A1"].code
    assert d["escalations"][0]["reason"] == "当事人扬言报复，村级难以化解"
    assert d["escalations"][0]["to_region"] == world.r["A1"].code
    assert not d["escalation_advice"]["suggested"]
    ok(world.api(world.township_op, "post", f"/cases/{d['case_id']}/actions/accept", {}))
    d = mediate(
        world,
        d,
        user=world.township_op,
        mediation_type="police",
        lead_mediator_id=world.township_mediator.pk,
        mediator_ids=[],
    )
    session(world, d, user=world.township_op)
    d = agree(world, d, user=world.township_op)
    assert d["resolved_level"] == "township"
    assert d["agreements"][0]["number"].startswith(f"（{timezone.localdate().year}）甲一调字")


def test_idempotent_intake(world):
    first = world.api(world.village_op, "post", "/disputes", body(world), HTTP_IDEMPOTENCY_KEY="k-1")
    again = world.api(world.village_op, "post", "/disputes", body(world), HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == 201 and again.status_code == 200
    assert first.json()["id"] == again.json()["id"]
    changed = body(world)
    changed["parties"][1]["name"] = "王五"
    res = world.api(world.village_op, "post", "/disputes", changed, HTTP_IDEMPOTENCY_KEY="k-1")
    assert error(res, 422)["field"] == "Idempotency-Key"
    assert Dispute.objects.count() == 1


def test_update_and_parties(world):
    d = walk_in(world)
    d = ok(
        world.api(world.village_op, "patch", f"/disputes/{d['id']}", {"people_count": 40, "amount": "100000"})
    )
    assert d["scale"] == "mass" and d["people_count"] == 40 and d["amount"] == "100000.00"
    assert d["escalation_advice"]["suggested"]  # a mass dispute belongs with the county
    party = ok(
        world.api(
            world.village_op,
            "post",
            f"/disputes/{d['id']}/parties",
            {
                "role": "respondent",
                "kind": "organization",
                "name": "某物业服务有限公司",
                "id_number": "91330100MA2KXXXX1H",
                "representative": "王经理",
            },
        ),
        201,
    )
    assert party["name"] == "某物业服务有限公司" and party["id_type"] == "统一社会信用代码"
    clear = ok(
        world.api(
            world.village_op,
            "post",
            f"/disputes/{d['id']}/parties/{d['parties'][0]['id']}/reveal",
            {"reason": "调解需要联系当事人"},
        )
    )
    assert clear["phone"] == PHONE_ZHANG and clear["id_number"] == ID_ZHANG
    from zongzhi.core.models import AuditLog

    assert AuditLog.objects.filter(action="disputes.party_reveal", data__reason="调解需要联系当事人").exists()


def test_a_session_keeps_its_attachments(world):
    import base64

    from zongzhi.cases.models import CaseAttachment

    d = mediate(world, walk_in(world))
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    res = world.api(
        world.mediator_user,
        "post",
        f"/disputes/{d['id']}/actions/mediation_session",
        {
            "note": "双方在调解笔录上签字。",
            "data": {
                "held_at": timezone.now().isoformat(),
                "place": "甲一社区调解室",
                "attendees": "张三、李四、王调解",
            },
            "attachments": [{"name": "调解笔录.png", "content_base64": base64.b64encode(png).decode()}],
        },
    )
    d = ok(res)
    s = d["mediations"][0]["sessions"][0]
    assert (s["place"], s["attendees"]) == ("甲一社区调解室", "张三、李四、王调解")
    attachment = CaseAttachment.objects.get(case_id=d["case_id"])
    assert s["attachment_ids"] == [attachment.pk] and attachment.original_name == "调解笔录.png"
    assert attachment.event_seq == d["timeline"][-1]["seq"]
    assert d["timeline"][-1]["action"] == "mediation_session"
