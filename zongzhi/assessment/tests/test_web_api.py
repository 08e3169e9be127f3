"""Assessment pages and API on the hand-built month: scoped plans, scores, drill-down, plan
configuration, bulletins (requested, built in the background, published, printed, exported to
.xlsx and PDF)."""

from __future__ import annotations

import datetime as dt
import io

import pytest
import time_machine
from django.test import override_settings
from openpyxl import load_workbook
from pypdf import PdfReader

from tests.factories import make_user
from zongzhi.assessment import formulas, services
from zongzhi.assessment.models import AssessmentPlan, Bulletin, BulletinStatus
from zongzhi.assessment.tests.conftest import AS_OF, Month

pytestmark = pytest.mark.django_db
MARCH = "period=month&year=2026&n=3"


def plan_of(m: Month) -> AssessmentPlan:
    return services.plan_create(
        actor=None,
        region=m.w.r["A"],
        name="乡镇月度考核",
        subject_kind="region",
        indicators=[
            services.IndicatorInput(code="intake_on_time", weight=40, target=0.9, curve="step"),
            services.IndicatorInput(code="satisfaction", weight=30, target=0.9),
            services.IndicatorInput(code="closure_rate", weight=30, target=1.0, curve="proportional"),
        ],
    )


def test_scores_page_is_scoped_and_shows_the_ranking(month: Month) -> None:
    plan = plan_of(month)
    w = month.w
    with time_machine.travel(AS_OF, tick=False):
        page = w.client(w.director).get(f"/assessment/?plan={plan.pk}&{MARCH}")
        assert page.status_code == 200
        body = page.content.decode()
        # A2 first (57.14), A1 second (50.00); A1 intake 8/10 = 80.0 %, A2 satisfaction "—"
        assert body.index("甲二街道") < body.index("甲一街道")
        assert "57.14" in body and "50.00" in body and "80.0%" in body and "—" in body
        assert w.client(w.city_leader).get(f"/assessment/?plan={plan.pk}&{MARCH}").status_code == 200
        assert w.client(w.sibling_operator).get(f"/assessment/?plan={plan.pk}").status_code == 404
        assert plan.name not in w.client(w.sibling_operator).get("/assessment/").content.decode()
        assert w.client(w.handler).get("/assessment/").status_code == 404  # no assessment.view
        assert w.client(None).get("/assessment/").status_code == 302


def test_drill_page_adds_up(month: Month) -> None:
    plan = plan_of(month)
    intake = plan.indicators.get(code="intake_on_time")
    w = month.w
    with time_machine.travel(AS_OF, tick=False):
        r = w.client(w.director).get(
            f"/assessment/plans/{plan.pk}/drill/{intake.pk}/?subject=r:{w.r['A1'].path}&{MARCH}"
        )
    body = r.content.decode()
    assert r.status_code == 200
    assert 'data-testid="drill-numerator">8<' in body and 'data-testid="drill-denominator">10<' in body
    assert body.count("data-case=") == 10 and body.count("✓") == 8
    for key in ("c1", "c2", "c6", "c10"):
        assert month.c[key].number in body
    assert month.c["c7"].number not in body  # February
    assert (
        w.client(w.director)
        .get(f"/assessment/plans/{plan.pk}/drill/{intake.pk}/?subject=r:nowhere/")
        .status_code
        == 404
    )


def test_plan_configuration_page(month: Month) -> None:
    w = month.w
    c = w.client(w.director)
    r = c.post(
        "/assessment/plans/",
        {
            "name": "网格员考核",
            "region": w.r["A"].code,
            "subject_kind": "grid_worker",
            "period_kind": "quarter",
            "with_defaults": "on",
        },
    )
    assert r.status_code == 302
    plan = AssessmentPlan.objects.get(name="网格员考核")
    codes = set(plan.indicators.values_list("code", flat=True))
    assert "visits_on_time" in codes and "dispatch_accuracy" in codes and "supervision_count" in codes
    assert "report_coverage" in codes
    page = c.get(f"/assessment/plans/{plan.pk}/").content.decode()
    assert "走访按时率" in page and "按走访截止" in page
    # a rate's target above 100 % is refused with the field named; nothing saved
    r = c.post(
        f"/assessment/plans/{plan.pk}/",
        {"code": "closure_rate", "weight": "10", "target": "95", "curve": "linear"},
    )
    assert r.status_code == 422 and "0到1之间" in r.content.decode()
    assert plan.indicators.get(code="closure_rate").target == 0.9
    r = c.post(
        f"/assessment/plans/{plan.pk}/",
        {"code": "closure_rate", "weight": "25", "target": "0.8", "curve": "step"},
    )
    assert r.status_code == 302
    item = plan.indicators.get(code="closure_rate")
    assert (item.weight, item.target, item.curve) == (25, 0.8, "step")
    r = c.post(f"/assessment/plans/{plan.pk}/", {"remove": "closure_rate"})
    assert not plan.indicators.filter(code="closure_rate").exists()
    # the operator may look but not change; county B does not see it
    assert w.client(w.operator).get(f"/assessment/plans/{plan.pk}/").status_code == 200
    assert (
        w.client(w.operator).post(f"/assessment/plans/{plan.pk}/", {"remove": "visits_on_time"}).status_code
        == 404
    )
    assert w.client(w.sibling_operator).get(f"/assessment/plans/{plan.pk}/").status_code == 404


def pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def test_bulletin_generate_publish_print_export(month: Month, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    plan = plan_of(month)
    w = month.w
    form = {"plan": plan.pk, "period": "month", "year": 2026, "n": 3, "note": "3月考核情况通报"}
    with time_machine.travel(dt.datetime(2026, 3, 20, 12, tzinfo=AS_OF.tzinfo), tick=False):
        r = w.client(w.director).post("/assessment/bulletins/", form)
        assert r.status_code == 422 and "尚未结束" in r.content.decode()
    with time_machine.travel(AS_OF, tick=False), django_capture_on_commit_callbacks() as jobs:
        r = w.client(w.director).post("/assessment/bulletins/", form)
    assert r.status_code == 302
    # requested: kept with who and when, built by the background job once committed
    bulletin = Bulletin.objects.get()
    assert bulletin.status == BulletinStatus.QUEUED and len(jobs) == 1
    assert (bulletin.generated_by, bulletin.requested_at, bulletin.generated_at) == (w.director, AS_OF, None)
    page = w.client(w.director).get(f"/assessment/bulletins/{bulletin.pk}/").content.decode()
    assert "正在后台生成" in page and "hx-trigger" in page
    assert w.client(w.director).get(f"/assessment/bulletins/{bulletin.pk}/export.pdf").status_code == 404
    built_at = AS_OF + dt.timedelta(minutes=1)
    with time_machine.travel(built_at, tick=False):
        jobs[0]()  # the huey task (immediate in the tests)
    bulletin.refresh_from_db()
    assert bulletin.status == BulletinStatus.DRAFT and bulletin.generated_at == built_at
    assert bulletin.xlsx_file.name.endswith(".xlsx") and bulletin.pdf_file.name.endswith(".pdf")
    assert dt.datetime.fromisoformat(bulletin.snapshot["as_of"]) == built_at
    assert bulletin.title == "乡镇月度考核 2026年3月考核通报"
    ranks = [(row["name"], row["rank"], row["total"]) for row in bulletin.snapshot["rows"]]
    assert ranks == [("甲二街道", 1, 57.14), ("甲一街道", 2, 50.0)]
    # a draft is for the managers only
    assert w.client(w.operator).get(f"/assessment/bulletins/{bulletin.pk}/").status_code == 404
    assert w.client(w.operator).post(f"/assessment/bulletins/{bulletin.pk}/publish/").status_code == 404
    assert w.client(w.director).post(f"/assessment/bulletins/{bulletin.pk}/publish/").status_code == 302
    bulletin.refresh_from_db()
    assert bulletin.status == BulletinStatus.PUBLISHED and bulletin.published_by == w.director
    for user in (w.operator, w.city_leader):
        page = w.client(user).get(f"/assessment/bulletins/{bulletin.pk}/")
        assert page.status_code == 200 and "57.14" in page.content.decode()
    printable = w.client(w.operator).get(f"/assessment/bulletins/{bulletin.pk}/?print=1").content.decode()
    assert "data-print" in printable and "zz-nav" not in printable
    assert w.client(w.sibling_operator).get(f"/assessment/bulletins/{bulletin.pk}/").status_code == 404
    # the snapshot does not move when the facts change later
    services.plan_indicator_save(
        actor=None, plan_id=plan.pk, data=services.IndicatorInput(code="satisfaction", weight=60)
    )
    bulletin.refresh_from_db()
    assert bulletin.snapshot["rows"][0]["total"] == 57.14
    # .xlsx
    r = w.client(w.operator).get(f"/assessment/bulletins/{bulletin.pk}/export.xlsx")
    assert r.status_code == 200
    sheet = load_workbook(io.BytesIO(r.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:4] == ("排名", "考核对象", "总分", "受理及时率")
    assert rows[1][:3] == (1, "甲二街道", 57.14)
    assert rows[2][:3] == (2, "甲一街道", 50)
    assert rows[2][3:7] == (0.8, 8, 10, 0)
    # PDF: the kept file, its Chinese text extractable
    r = w.client(w.operator).get(f"/assessment/bulletins/{bulletin.pk}/export.pdf")
    assert r.status_code == 200 and r["Content-Type"] == "application/pdf"
    assert r.content == bulletin.pdf_file.open("rb").read()
    text = pdf_text(r.content)
    for expected in (
        "乡镇月度考核 2026年3月考核通报",
        "考核期：2026-03-01 至 2026-03-31",
        "生成人：dir_a",
        "3月考核情况通报",
        "总分排名",  # the chart
        "甲二街道",
        "57.14",
        "受理及时率（40分）",
        "80.0% / 0.00",  # A1's intake on time: 8 / 10, step curve below target
        "— / —",  # A2's satisfaction: no rating
        "考评指标及口径",
        "按登记日期：期内登记的案件",
    ):
        assert expected in text, expected
    assert text.index("甲二街道") < text.index("甲一街道")  # the ranking order


def test_a_failed_bulletin_keeps_its_error_and_can_be_retried(
    month: Month,
    django_capture_on_commit_callbacks,  # type: ignore[no-untyped-def]
) -> None:
    plan = plan_of(month)
    w = month.w
    with (
        override_settings(ZZ_PDF_CJK_FONT="/nonexistent/font.ttf"),
        time_machine.travel(AS_OF, tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        bulletin = services.bulletin_generate(
            actor=w.director, plan_id=plan.pk, period_kind="month", period=formulas.month_period(2026, 3)
        )
    bulletin.refresh_from_db()
    assert bulletin.status == BulletinStatus.FAILED and "未找到中文字体" in bulletin.error
    assert not bulletin.pdf_file and bulletin.generated_at is None
    page = w.client(w.director).get(f"/assessment/bulletins/{bulletin.pk}/").content.decode()
    assert "生成失败" in page and "重新生成" in page
    assert w.client(w.director).post(f"/assessment/bulletins/{bulletin.pk}/publish/").status_code == 302
    bulletin.refresh_from_db()
    assert bulletin.status == BulletinStatus.FAILED  # refused: not built
    assert w.client(w.operator).post(f"/assessment/bulletins/{bulletin.pk}/retry/").status_code == 404
    with time_machine.travel(AS_OF, tick=False), django_capture_on_commit_callbacks(execute=True):
        r = w.client(w.director).post(f"/assessment/bulletins/{bulletin.pk}/retry/")
    assert r.status_code == 302
    bulletin.refresh_from_db()
    assert bulletin.status == BulletinStatus.DRAFT and bulletin.error == "" and bulletin.pdf_file


def test_the_bulletin_job_is_registered_with_huey() -> None:
    from huey.contrib.djhuey import HUEY

    import zongzhi.assessment.tasks  # noqa: F401 - huey discovers the module by its name "tasks"

    assert "zongzhi.assessment.tasks.run_bulletin" in HUEY._registry._registry


def test_api(month: Month, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    w = month.w
    with time_machine.travel(AS_OF, tick=False), django_capture_on_commit_callbacks(execute=True):
        r = w.api(
            w.director,
            "post",
            "/assessment/plans",
            {"name": "API方案", "region_code": w.r["A"].code, "subject_kind": "region"},
        )
        assert r.status_code == 201
        plan_id = r.json()["id"]
        assert len(r.json()["indicators"]) == len(formulas.INDICATORS)  # the default list
        bad = {
            "name": "x",
            "region_code": w.r["A"].code,
            "subject_kind": "department",
            "indicators": [{"code": "report_coverage", "weight": 5}],
        }
        r = w.api(w.director, "post", "/assessment/plans", bad)
        assert r.status_code == 422 and r.json()["detail"]["field"] == "code"
        r = w.api(w.director, "post", "/assessment/plans", {**bad, "region_code": w.r["B"].code})
        assert r.status_code == 422 and r.json()["detail"]["field"] == "region_code"
        r = w.api(
            w.director,
            "put",
            f"/assessment/plans/{plan_id}/indicators",
            {"code": "closure_rate", "weight": 5, "target": 2},
        )
        assert r.status_code == 422 and r.json()["detail"]["field"] == "target"
        scores = w.api(w.operator, "get", f"/assessment/plans/{plan_id}/scores?{MARCH}").json()
        a1 = next(row for row in scores["rows"] if row["subject_name"] == "甲一街道")
        figure = next(f for f in a1["figures"] if f["code"] == "dispatch_accuracy")
        assert (figure["numerator"], figure["denominator"], figure["value"]) == (4, 5, 0.8)
        drill = w.api(
            w.operator,
            "get",
            f"/assessment/plans/{plan_id}/drill/{figure['indicator_id']}?subject={a1['subject_key']}&{MARCH}",
        ).json()
        assert len(drill["rows"]) == 5 and sum(r["in_numerator"] for r in drill["rows"]) == 4
        assert w.api(w.sibling_operator, "get", f"/assessment/plans/{plan_id}/scores").status_code == 404
        assert (
            w.api(w.operator, "get", f"/assessment/plans/{plan_id}/scores?period=custom").status_code == 422
        )
        r = w.api(
            w.director,
            "post",
            "/assessment/bulletins",
            {"plan_id": plan_id, "period_kind": "month", "year": 2026, "n": 3},
        )
        assert r.status_code == 201 and r.json()["status"] == "queued" and r.json()["pdf_url"] is None
        bulletin_id = r.json()["id"]
    with time_machine.travel(AS_OF, tick=False):
        got = w.api(w.director, "get", f"/assessment/bulletins/{bulletin_id}").json()
        assert got["status"] == "draft" and got["generated_by"] == "dir_a"
        pdf = w.client(w.director).get(got["pdf_url"])
        assert pdf.status_code == 200 and "甲一街道" in pdf_text(pdf.content)
        xlsx = w.client(w.director).get(got["xlsx_url"])
        assert load_workbook(io.BytesIO(xlsx.content)).active.cell(1, 1).value == "排名"
        assert (
            w.client(w.director).get(f"/api/v1/assessment/bulletins/{bulletin_id}/export.doc").status_code
            == 404
        )
        assert w.api(w.operator, "post", f"/assessment/bulletins/{bulletin_id}/publish").status_code == 404
        assert w.api(w.director, "post", f"/assessment/bulletins/{bulletin_id}/publish").status_code == 200
        assert w.api(w.director, "post", f"/assessment/bulletins/{bulletin_id}/publish").status_code == 409
        assert [b["id"] for b in w.api(w.city_leader, "get", "/assessment/bulletins").json()] == [bulletin_id]
        catalogue = w.api(w.operator, "get", "/assessment/indicators").json()
        assert {i["code"] for i in catalogue} == set(formulas.INDICATORS)
        assert w.api(w.handler, "get", "/assessment/indicators").status_code == 404


def test_manage_rules_in_services(month: Month) -> None:
    w = month.w
    plan = plan_of(month)
    with pytest.raises(Exception) as e:
        services.plan_update(actor=w.operator, plan_id=plan.pk, name="改名")
    assert getattr(e.value, "status", None) == 403
    director_b = make_user("center_director", w.r["B"])
    with pytest.raises(Exception) as e:
        services.plan_update(actor=director_b, plan_id=plan.pk, name="改名")
    assert getattr(e.value, "status", None) == 404
    with pytest.raises(Exception) as e:
        services.plan_create(actor=None, region=w.r["A"], name="乡镇月度考核", subject_kind="region")
    assert getattr(e.value, "field", None) == "name"
