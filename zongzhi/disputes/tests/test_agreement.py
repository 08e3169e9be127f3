"""The mediation agreement (调解协议书): generated from the template with the parties as signed, shown as
a clean A4 page and downloaded as a PDF whose text (extracted with pypdf) holds the parties and the
terms in Chinese, in an embedded font; numbering; every opening audited."""

from __future__ import annotations

import io
import re

import pytest
from pypdf import PdfReader

from zongzhi.core.models import AuditLog
from zongzhi.disputes import services
from zongzhi.disputes.models import MediationAgreement

from .builders import ID_LI, ID_ZHANG, PHONE_ZHANG, agreed

pytestmark = pytest.mark.django_db

TERMS = "李四于期限内赔偿张三维修费人民币3000元。"


def pdf_text(content: bytes) -> str:
    reader = PdfReader(io.BytesIO(content))
    return "".join(page.extract_text() for page in reader.pages)


def flat(text: str) -> str:
    return re.sub(r"\s+", "", text)


def test_the_pdf_holds_the_parties_and_terms_in_an_embedded_cjk_font(world):
    d = agreed(world)
    agreement = MediationAgreement.objects.get(dispute=d)
    res = world.client(world.village_op).get(f"/disputes/{d.pk}/agreements/{agreement.pk}/pdf/")
    assert res.status_code == 200 and res["Content-Type"] == "application/pdf"
    assert res["Cache-Control"] == "no-store"
    text = flat(pdf_text(res.content))
    for expected in (
        "人民调解协议书",
        agreement.number,
        "申请人：张三",
        "被申请人：李四",
        ID_ZHANG,
        ID_LI,
        PHONE_ZHANG,
        TERMS,
    ):
        assert expected in text, expected
    assert "楼上卫生间漏水至楼下。" in text and "王调解" in text and "甲一社区人民调解委员会" in text
    # the signatures block
    assert "申请人（签名/盖章）" in text and "被申请人（签名/盖章）" in text and "调解员（签名）" in text
    # A4, and the Chinese drawn with an embedded TrueType font (never boxes)
    page = PdfReader(io.BytesIO(res.content)).pages[0]
    assert (round(float(page.mediabox.width)), round(float(page.mediabox.height))) == (595, 842)
    fonts = [f.get_object() for f in page["/Resources"]["/Font"].values()]
    embedded = [
        f for f in fonts if f.get("/FontDescriptor") and "/FontFile2" in f["/FontDescriptor"].get_object()
    ]
    assert embedded, fonts
    assert AuditLog.objects.filter(action="disputes.agreement_document", data__format="pdf").count() == 1


def test_the_pdf_through_the_api(world):
    d = agreed(world)
    agreement = MediationAgreement.objects.get(dispute=d)
    res = world.api(world.village_op, "get", f"/disputes/{d.pk}/agreements/{agreement.pk}/pdf")
    assert res.status_code == 200 and res["Content-Type"] == "application/pdf"
    text = flat(pdf_text(res.content))
    assert "张三" in text and "李四" in text and TERMS in text
    # another dispute's id with this agreement: not found
    other = agreed(world)
    assert (
        world.api(world.village_op, "get", f"/disputes/{other.pk}/agreements/{agreement.pk}/pdf").status_code
        == 404
    )


def test_the_document_keeps_the_parties_as_signed(world):
    d = agreed(world)
    agreement = MediationAgreement.objects.get(dispute=d)
    applicant = d.parties.get(role="applicant")
    services.party_update(
        actor=world.village_op,
        party_id=applicant.pk,
        party=services.PartyInput(role="applicant", name="张三丰", phone="13700000000"),
    )
    text = flat(
        pdf_text(
            world.client(world.village_op).get(f"/disputes/{d.pk}/agreements/{agreement.pk}/pdf/").content
        )
    )
    assert "申请人：张三，" in text and "张三丰" not in text and PHONE_ZHANG in text
    page = world.client(world.village_op).get(f"/disputes/{d.pk}/agreements/{agreement.pk}/").content.decode()
    assert "张三丰" not in page and PHONE_ZHANG in page and TERMS in page


def test_agreement_numbers_are_unique_where_short_names_coincide(world):
    """甲一社区 (a village) and 甲一街道 (its township) both abbreviate to 甲一."""
    from django.utils import timezone

    from .builders import act, intake

    first = MediationAgreement.objects.get(dispute=agreed(world))
    d = intake(world.village_op, world.r["A1a"])
    act(world.village_op, d, "escalate", "需街道协调")
    act(world.township_op, d, "accept")
    act(world.township_op, d, "mediate", mediation_type="police", lead_mediator_id=world.township_mediator.pk)
    act(
        world.township_op,
        d,
        "mediation_session",
        "调解",
        held_at=timezone.now().isoformat(),
        place="街道",
        attendees="双方",
    )
    act(world.township_op, d, "mediation_agree", facts="f", terms="t")
    second = MediationAgreement.objects.get(dispute=d)
    year = timezone.localdate().year
    assert (first.number, second.number) == (f"（{year}）甲一调字第001号", f"（{year}）甲一调字第002号")
    assert second.organization_name == "甲一街道司法所"
