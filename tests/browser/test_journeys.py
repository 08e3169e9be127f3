"""Whole journeys through the web UI in a real browser (Chromium via Playwright).

Each journey is what one or more people do with the pages, on the device they use: a citizen on a
phone, an operator at a desk, a department handler, a grid worker on patrol. Screenshots of the
main steps go to test-output/screenshots/.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from openpyxl import load_workbook

from tests.browser.conftest import DESKTOP, HANGZHOU, PHONE, BrowserWorld, Site
from zongzhi.cases.models import Case, CaseState

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _no_horizontal_overflow(page: Any) -> None:
    """On a phone nothing may stick out sideways (a page that scrolls left-right is broken)."""
    wide = page.evaluate(
        """() => {
          const vw = document.documentElement.clientWidth;
          const out = [];
          if (document.documentElement.scrollWidth > vw) out.push('document ' + document.documentElement.scrollWidth);
          const clipped = (el) => {
            for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
              if (getComputedStyle(p).overflowX !== 'visible') return true;  // scrolls or clips itself
            }
            return false;
          };
          for (const el of document.querySelectorAll('body *')) {
            const r = el.getBoundingClientRect();
            if (r.width && r.right > vw + 1 && getComputedStyle(el).position !== 'fixed' && !clipped(el)) {
              out.push(el.tagName + '#' + el.id + '.' + el.getAttribute('class') + ' right=' + Math.round(r.right));
            }
          }
          return out.slice(0, 10);
        }"""
    )
    assert not wide, f"wider than the {page.viewport_size['width']}px viewport: {wide}"


def _field_box(page: Any, field_id: str) -> Any:
    """The column that holds a form field, its label and its errors."""
    return page.locator(f"#{field_id}").locator("xpath=ancestor::div[contains(@class,'col')][1]")


# --- 1. the closed loop, from a citizen's phone to a reopened case -------------------------------------


def test_citizen_report_to_reopen(site: Site, bworld: BrowserWorld) -> None:
    w = bworld
    # A citizen on a phone reports a neighbourhood dispute.
    citizen = site.page(PHONE)
    citizen.goto("/public/report/")
    site.shot(citizen, "01-report-form")
    _no_horizontal_overflow(citizen)
    citizen.get_by_label("事项类别").select_option("0201")
    citizen.get_by_label("标题").fill("楼上装修噪音扰民")
    citizen.get_by_label("具体情况").fill("楼上每天晚上十点以后还在装修，多次沟通无果。")
    citizen.get_by_label("所在区域").select_option(w.r["A1"].code)
    citizen.get_by_label("详细地址").fill("甲一社区3幢2单元")
    citizen.get_by_label("姓名").fill("张三")
    citizen.get_by_label("手机号").fill("13800138000")
    citizen.get_by_label("我已阅读并同意《个人信息处理说明》").check()
    site.shot(citizen, "02-report-filled")
    with citizen.expect_navigation():
        citizen.get_by_role("button", name="提交").click()
    assert citizen.url.endswith("/public/done/")
    number = citizen.get_by_test_id("number").inner_text().strip()
    code = citizen.get_by_test_id("code").inner_text().strip()
    assert number and code
    site.shot(citizen, "03-receipt")
    _no_horizontal_overflow(citizen)
    case = Case.objects.get(number=number)
    assert case.state == CaseState.REPORTED and case.region == w.r["A1"]

    # The street's center operator at a desktop accepts and dispatches it.
    op = site.page(DESKTOP)
    site.login(op, w.township_operator.username)
    assert op.url.endswith("/workbench/")
    assert op.locator(".zz-queues .nav-link.active").inner_text().startswith("待受理")
    row = op.locator(f"tr[data-case='{number}']")
    row.wait_for()
    assert "楼上装修噪音扰民" in row.inner_text()
    site.shot(op, "04-workbench-to-accept")
    row.get_by_role("link", name=number).click()
    op.wait_for_url(f"**/cases/{case.pk}/")
    assert "138****8000" in op.content() and "13800138000" not in op.content()
    site.shot(op, "05-case-detail")
    op.locator("[data-action-toggle][data-action='accept']").click()
    with op.expect_navigation():
        op.get_by_role("button", name="确认受理").click()
    assert op.get_by_role("alert").filter(has_text=number).is_visible()
    op.locator("[data-action-toggle][data-action='dispatch']").click()
    panel = op.locator("#panel-dispatch")
    assert panel.is_visible()
    assert "权责清单建议：甲一街道办事处" in panel.inner_text()
    site.shot(op, "06-dispatch-panel")
    with op.expect_navigation():
        panel.get_by_role("button", name="确认分流派单").click()
    case.refresh_from_db()
    assert case.state == CaseState.DISPATCHED and case.lead_department == w.township_office

    # The street office's handler signs for it and resolves it.
    handler = site.page(DESKTOP)
    site.login(handler, w.office_handler.username)
    assert handler.url.endswith("/desk/")
    desk_row = handler.locator(f"tr[data-case='{number}']")
    desk_row.wait_for()
    site.shot(handler, "07-desk")
    desk_row.get_by_role("link", name=number).click()
    handler.wait_for_url(f"**/cases/{case.pk}/")  # else the toggle below may be looked for on the desk
    handler.locator("[data-action-toggle][data-action='acknowledge']").click()
    with handler.expect_navigation():
        handler.get_by_role("button", name="确认签收").click()
    handler.locator("[data-action-toggle][data-action='resolve']").click()
    handler.get_by_label("办理结果").fill("已上门调解，双方约定晚八点后停止施工。")
    site.shot(handler, "08-resolve")
    with handler.expect_navigation():
        handler.get_by_role("button", name="确认办结").click()
    case.refresh_from_db()
    assert case.state == CaseState.RESOLVED

    # The operator tells the citizen the outcome (反馈).
    op.reload()
    op.locator("[data-action-toggle][data-action='reply']").click()
    op.get_by_label("答复内容").fill("您反映的装修噪音问题已调解，施工方承诺晚八点后停工。")
    with op.expect_navigation():
        op.get_by_role("button", name="确认反馈").click()
    case.refresh_from_db()
    assert case.state == CaseState.REPLIED
    site.shot(op, "09-replied")

    # The citizen looks the case up and is not satisfied: the case goes back to handling.
    citizen.goto("/public/track/")
    citizen.get_by_label("事项编号").fill(number)
    citizen.get_by_label("查询码").fill(code)
    with citizen.expect_navigation():
        citizen.get_by_role("button", name="查询").click()
    track = citizen.get_by_test_id("track")
    assert "已反馈" in track.inner_text()
    assert "施工方承诺晚八点后停工" in track.inner_text()
    site.shot(citizen, "10-track-replied")
    _no_horizontal_overflow(citizen)
    citizen.get_by_label("不满意").check()
    citizen.get_by_label("意见（可选）").fill("晚上还是很吵。")
    with citizen.expect_navigation():
        citizen.get_by_role("button", name="提交评价").click()
    case.refresh_from_db()
    assert case.state == CaseState.HANDLING and case.reopen_count == 1
    assert citizen.get_by_test_id("state").inner_text() == str(CaseState.HANDLING.label)
    assert "重新办理" in citizen.get_by_test_id("track").inner_text()
    assert citizen.get_by_role("alert").filter(has_text="感谢您的评价").is_visible()
    assert citizen.get_by_role("button", name="提交评价").count() == 0
    site.shot(citizen, "11-track-reopened")


# --- 2. a grid worker reports with a photo and GPS, resolved on the spot -------------------------------


def test_grid_worker_reports_resolved_on_site(site: Site, bworld: BrowserWorld, png_bytes: Any) -> None:
    w = bworld
    phone = site.page(PHONE, permissions=["geolocation"], geolocation=HANGZHOU)
    site.login(phone, w.grid_worker.username)
    assert phone.url.endswith("/m/")
    site.shot(phone, "01-home")
    _no_horizontal_overflow(phone)
    phone.get_by_role("link", name="上报事件 / 自行处置").click()
    phone.wait_for_url("**/m/report/")
    assert phone.locator("#result-field").is_hidden()
    site.shot(phone, "02-form")
    _no_horizontal_overflow(phone)

    phone.get_by_label("标题").fill("井盖松动")
    phone.get_by_label("具体内容").fill("甲一社区东门井盖松动，行人易绊倒。")
    phone.get_by_label("地址").fill("甲一社区东门")
    phone.get_by_role("button", name="获取当前位置").click()
    phone.locator("#geo-status").filter(has_text="已定位").wait_for()
    assert phone.get_by_label("经度").input_value() == "120.150000"
    assert phone.get_by_label("纬度").input_value() == "30.280000"
    phone.get_by_label("现场照片").set_input_files(
        {"name": "manhole.png", "mimeType": "image/png", "buffer": png_bytes(64, 48)}
    )
    phone.get_by_label("已自行处置（就地化解）").check()
    assert phone.locator("#result-field").is_visible()
    phone.get_by_label("处置结果").fill("已现场固定井盖并设置警示。")
    site.shot(phone, "03-filled")
    _no_horizontal_overflow(phone)
    with phone.expect_navigation():
        phone.get_by_role("button", name="提交").click()

    assert phone.url.endswith("/m/")
    case = Case.objects.get(title="井盖松动")
    assert case.resolved_on_site and case.state == CaseState.RESOLVED
    assert case.result == "已现场固定井盖并设置警示。"
    assert abs(case.lon - 120.15) < 1e-6 and abs(case.lat - 30.28) < 1e-6
    assert case.attachments.count() == 1
    mine = phone.locator(f"[data-case='{case.number}']")
    assert "自行处置" in mine.inner_text()
    assert phone.get_by_role("alert").filter(has_text=case.number).is_visible()
    site.shot(phone, "04-my-reports")
    _no_horizontal_overflow(phone)

    # The photo is served (through the scoping layer) and the map renders on the case page.
    phone.locator(f"[data-case='{case.number}']").get_by_role("link", name="井盖松动").click()
    phone.wait_for_url(f"**/cases/{case.pk}/")
    img = phone.get_by_role("img", name="manhole.png")
    img.wait_for()
    assert phone.evaluate("(el) => el.complete && el.naturalWidth", img.element_handle()) == 64
    assert phone.locator(".zz-map.leaflet-container").count() == 1
    assert phone.locator(".zz-map .zz-map-note").is_visible()  # no base map configured: it says so
    site.shot(phone, "05-case-detail")
    _no_horizontal_overflow(phone)


# --- 3. an operator exports what the filter shows -----------------------------------------------------------


def _seed_cases(w: BrowserWorld) -> dict[str, list[str]]:
    from zongzhi.cases import services

    made: dict[str, list[str]] = {"02": [], "01": []}
    for code, title in [
        ("0201", "邻里噪音"),
        ("0202", "赡养纠纷"),
        ("0101", "可疑人员"),
        ("0201", "漏水纠纷"),
    ]:
        result = services.case_report(
            actor=w.operator,
            data=services.ReportInput(
                channel="hotline",
                kind="dispute",
                title=title,
                description=title + "，请处理",
                category_code=code,
                region_code=w.r["A1a"].code,
                reporter_name="李四",
                reporter_phone="13955556666",
            ),
        )
        made[code[:2]].append(result.case.number)
    return made


def _xlsx_rows(path: str | Path) -> list[tuple[Any, ...]]:
    with open(path, "rb") as fh:
        wb = load_workbook(io.BytesIO(fh.read()))
    return list(wb.active.iter_rows(values_only=True))


def _filter_by_category(page: Any, name: str) -> None:
    with page.expect_response(lambda r: "/workbench/" in r.url and "category=" in r.url):
        page.get_by_label("分类", exact=True).select_option(label=name)
    page.wait_for_load_state("networkidle")


def test_operator_exports_the_filtered_list(site: Site, bworld: BrowserWorld) -> None:
    made = _seed_cases(bworld)
    op = site.page(DESKTOP)
    site.login(op, bworld.operator.username)
    assert op.locator("#case-table tr[data-case]").count() == 4
    _filter_by_category(op, "矛盾纠纷")
    shown = sorted(
        op.locator("#case-table tr[data-case]").evaluate_all("(rows) => rows.map(r => r.dataset.case)")
    )
    assert shown == sorted(made["02"])
    assert "category=02" in op.url  # the filter is in the address bar (bookmarkable, back button)
    site.shot(op, "01-filtered")

    with op.expect_download() as info:
        op.get_by_test_id("export").click()
    download = info.value
    assert download.suggested_filename.endswith(".xlsx")
    rows = _xlsx_rows(download.path())
    assert rows[0][0] == "编号"
    assert sorted(r[0] for r in rows[1:]) == sorted(made["02"])
    assert all("13955556666" not in map(str, r) for r in rows)

    # The queue tabs keep the filter too; 全部 lists every queue.
    op.locator("[data-queue='all']").click()
    op.wait_for_url("**queue=all**")
    shown = sorted(
        op.locator("#case-table tr[data-case]").evaluate_all("(rows) => rows.map(r => r.dataset.case)")
    )
    assert shown == sorted(made["02"])
    assert op.get_by_label("分类", exact=True).input_value() == "02"
    op.get_by_label("分类", exact=True).select_option("")
    op.locator("#case-table tr[data-case]").nth(3).wait_for()
    assert op.locator("#case-table tr[data-case]").count() == 4


def test_large_export_runs_in_the_background(
    site: Site, bworld: BrowserWorld, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from zongzhi.cases import exports
    from zongzhi.core.models import BackgroundJob

    made = _seed_cases(bworld)
    settings.ZZ_EXPORT_SYNC_LIMIT = 0
    queued: list[int] = []
    real_task = exports.run_case_export
    # Hold the job back (the queue runs tasks inline in tests) so the page has something to wait for.
    monkeypatch.setattr(exports, "run_case_export", lambda job_id: queued.append(job_id))

    op = site.page(DESKTOP)
    site.login(op, bworld.operator.username)
    _filter_by_category(op, "治安安全")
    op.get_by_test_id("export").click()
    op.wait_for_url("**/exports/*/")
    progress = op.locator("#export-progress")
    assert progress.get_attribute("data-status") == "pending"
    assert progress.get_attribute("hx-trigger") == "every 1s"
    site.shot(op, "01-pending")
    assert queued, "the export job was not queued"

    # The worker runs the job; the page notices on its next poll.
    with op.expect_response(lambda r: "/exports/" in r.url and r.request.headers.get("hx-request") == "true"):
        real_task.call_local(queued[0])
    op.get_by_test_id("download").wait_for()
    assert op.locator("#export-progress").get_attribute("data-status") == "done"
    site.shot(op, "02-done")
    with op.expect_download() as info:
        op.get_by_test_id("download").click()
    rows = _xlsx_rows(info.value.path())
    assert rows[0][0] == "编号"
    assert [r[0] for r in rows[1:]] == made["01"]
    assert BackgroundJob.objects.get(pk=queued[0]).status == BackgroundJob.Status.DONE


# --- 4. bad input is explained next to the field and nothing typed is lost --------------------------------


def test_intake_form_errors_keep_the_input(site: Site, bworld: BrowserWorld) -> None:
    op = site.page(DESKTOP)
    site.login(op, bworld.operator.username)
    op.goto("/cases/new/")
    op.get_by_label("具体内容").fill("小区门口占道经营，影响通行。")
    op.get_by_label("所在区域").fill(f"{bworld.r['A1a'].code} 甲一社区")
    op.get_by_label("地址").fill("甲一社区北门")
    op.get_by_label("经度").fill("200")
    op.get_by_label("纬度").fill("30.2")
    site.shot(op, "01-filled")
    with op.expect_navigation():
        op.get_by_role("button", name="登记", exact=True).click()

    assert op.get_by_role("alert").filter(has_text="请修正下列标红的项目").is_visible()
    title_box = _field_box(op, "id_title")
    assert "请填写标题" in title_box.locator(".errorlist").inner_text()
    lon_box = _field_box(op, "id_lon")
    assert "经度须为 73 到 136 之间的数字" in lon_box.locator(".errorlist").inner_text()
    assert "须同时填写" not in lon_box.inner_text()  # lat was given: only the range is wrong
    assert op.locator("#id_title").get_attribute("aria-invalid") == "true"
    # what was typed is still there
    assert op.get_by_label("具体内容").input_value() == "小区门口占道经营，影响通行。"
    assert op.get_by_label("经度").input_value() == "200"
    assert op.get_by_label("纬度").input_value() == "30.2"
    assert op.get_by_label("地址").input_value() == "甲一社区北门"
    site.shot(op, "02-errors")
    assert Case.objects.count() == 0

    # Corrected, with the region picked from the suggestion list ("<code> <name>"), it registers.
    op.get_by_label("标题").fill("占道经营")
    op.get_by_label("经度").fill("120.15")
    region = op.get_by_label("所在区域")
    region.fill("")
    region.press_sequentially("甲一")
    option = op.locator(f"#region-options option[value^='{bworld.r['A1a'].code}']")
    option.wait_for(state="attached")
    region.fill(option.get_attribute("value"))
    with op.expect_navigation():
        op.get_by_role("button", name="登记", exact=True).click()
    case = Case.objects.get()
    assert op.url.endswith(f"/cases/{case.pk}/")
    assert case.region == bworld.r["A1a"] and case.title == "占道经营"
    assert op.get_by_role("alert").filter(has_text=case.number).is_visible()
    site.shot(op, "03-registered")


# --- 5. the English interface --------------------------------------------------------------------------------------


def test_language_switch_to_english(site: Site, bworld: BrowserWorld) -> None:
    catalogue = Path(settings.BASE_DIR) / "zongzhi" / "locale" / "en" / "LC_MESSAGES" / "django.mo"
    if not catalogue.exists():
        pytest.skip(f"no compiled English catalogue at {catalogue.relative_to(settings.BASE_DIR)}")
    op = site.page(DESKTOP)
    site.login(op, bworld.operator.username)
    with op.expect_navigation():
        op.get_by_label("Language").select_option("en")
    assert op.locator("html").get_attribute("lang") == "en"
    assert "Workbench" in op.locator("nav").inner_text()
    assert op.locator(".zz-queues .nav-link.active").inner_text().startswith("To accept")
    assert op.get_by_test_id("export").inner_text().strip() == "Export to Excel"
    site.shot(op, "01-workbench-en")
    with op.expect_navigation():
        op.get_by_label("Language").select_option("zh-hans")
    assert "工作台" in op.locator("nav").inner_text()
