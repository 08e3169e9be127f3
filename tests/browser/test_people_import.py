"""The base-data import in a real browser: an operator uploads residents from an Excel file, watches
the job, reads and downloads the bad rows, and uploads the same file again without duplicates.

The second upload runs in the live server's own request thread (as the task queue runs tasks
inline here), with the file read ahead by a forked child process, as a large file is in service.
Screenshots go to test-output/screenshots/.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook

from tests.browser.conftest import DESKTOP, BrowserWorld, Site
from zongzhi.people.models import Resident
from zongzhi.people.tests.conftest import make_id

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

GOOD = 30


def _residents_xlsx(path: Path, grid_code: str) -> dict[int, str]:
    """``GOOD`` good residents and two bad rows; returns the bad rows' numbers and reasons."""
    from zongzhi.people.imports import RESIDENT

    headers = RESIDENT.headers
    wb = Workbook()
    ws = wb.active
    ws.append(headers)

    def row(id_number: str, grid: str, name: str) -> list[str]:
        values = {
            "证件类型": "身份证",
            "证件号码": id_number,
            "姓名": name,
            "联系电话": "13812345678",
            "网格编码": grid,
        }
        return [values.get(h, "") for h in headers]

    for i in range(GOOD):
        ws.append(row(make_id(seq=f"{i:03d}"), grid_code, f"居民{i}"))
    good_id = make_id(seq="900")
    bad_digit = good_id[:17] + ("0" if good_id[17] != "0" else "1")
    ws.append(row(bad_digit, grid_code, "错号"))  # row GOOD + 2
    ws.append(row(make_id(seq="901"), "999999999999999", "无网格"))  # row GOOD + 3
    wb.save(path)
    return {GOOD + 2: "身份证号码校验位错误。", GOOD + 3: "网格编码不存在或不在您的管辖范围内。"}


def _upload(page: Any, path: Path) -> None:
    page.goto("/people/import/")
    page.locator("#f-entity").select_option("resident")
    page.locator("#f-file").set_input_files(str(path))
    with page.expect_navigation():
        page.get_by_role("button", name="开始导入").click()
    assert "/people/import/jobs/" in page.url


def test_operator_imports_residents_downloads_the_bad_rows_and_imports_again(
    site: Site, bworld: BrowserWorld, settings: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from zongzhi.core.models import BackgroundJob
    from zongzhi.people import imports

    path = tmp_path / "居民.xlsx"
    bad = _residents_xlsx(path, bworld.grid.code)
    queued: list[int] = []
    real_task = imports.run_people_import
    # Hold the first job back (the queue runs tasks inline in tests) so the page has something to wait for.
    monkeypatch.setattr(imports, "run_people_import", lambda job_id: queued.append(job_id))

    op = site.page(DESKTOP)
    site.login(op, bworld.operator.username)
    _upload(op, path)
    progress = op.locator("#import-progress")
    assert progress.get_attribute("data-status") == "pending"
    assert progress.get_attribute("hx-trigger") == "every 1s"
    site.shot(op, "01-pending")
    assert queued, "the import job was not queued"

    # The worker runs the job; the page notices on its next poll.
    with op.expect_response(
        lambda r: "/people/import/jobs/" in r.url and r.request.headers.get("hx-request") == "true"
    ):
        real_task.call_local(queued[0])
    op.get_by_test_id("errors-download").wait_for()
    assert op.locator("#import-progress").get_attribute("data-status") == "done"
    assert op.get_by_test_id("created").inner_text() == str(GOOD)
    assert op.get_by_test_id("updated").inner_text() == "0"
    assert op.get_by_test_id("bad").inner_text() == "2"
    shown = op.locator("#import-progress tbody tr").evaluate_all(
        "(rows) => rows.map(r => Array.from(r.cells, c => c.innerText.trim()))"
    )
    assert {int(r[0]): r[2] for r in shown} == bad
    assert {r[1] for r in shown} == {"证件号码", "网格编码"}
    site.shot(op, "02-done")

    with op.expect_download() as info:
        op.get_by_test_id("errors-download").click()
    with open(info.value.path(), "rb") as fh:
        rows = list(load_workbook(io.BytesIO(fh.read())).active.iter_rows(values_only=True))
    assert rows[0][:3] == ("行号", "出错列", "错误原因")
    # in the file each reason names its column too: a row can have several problems in one cell
    assert {int(r[0]): r[2] for r in rows[1:]} == {int(r[0]): f"{r[1]}：{r[2]}" for r in shown}
    assert {r[5] for r in rows[1:]} == {"错号", "无网格"}  # the original cells follow, to fix and re-upload
    assert Resident.objects.count() == GOOD

    # The same file again, run at once in the server's request thread and read by a child process:
    # nothing is created twice.
    monkeypatch.setattr(imports, "run_people_import", real_task)
    settings.ZZ_IMPORT_READ_AHEAD_MB = 0
    _upload(op, path)
    op.get_by_test_id("errors-download").wait_for()
    assert op.get_by_test_id("created").inner_text() == "0"
    assert op.get_by_test_id("updated").inner_text() == str(GOOD)
    assert op.get_by_test_id("bad").inner_text() == "2"
    site.shot(op, "03-again")
    assert Resident.objects.count() == GOOD

    # Both runs are listed on the import page, newest first, with their counts.
    op.goto("/people/import/")
    recent = op.locator("table tbody tr").evaluate_all("(rows) => rows.map(r => r.innerText)")
    assert len(recent) == 2
    assert "新增 0 · 更新 30 · 错误 2" in recent[0] and "新增 30 · 更新 0 · 错误 2" in recent[1]
    statuses = list(BackgroundJob.objects.filter(kind=imports.IMPORT_KIND).values_list("status", flat=True))
    assert statuses == [BackgroundJob.Status.DONE] * 2
    site.shot(op, "04-recent")
