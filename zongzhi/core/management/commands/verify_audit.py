"""Verify the audit log's SM3 hash chain: ``manage.py verify_audit``. Exits 1 at the first bad row."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from zongzhi.core.audit import verify_audit_chain


class Command(BaseCommand):
    help = "校验审计日志的 SM3 哈希链；发现篡改时以非零状态退出并指出第一条异常记录。"

    def handle(self, *args: Any, **options: Any) -> None:
        report = verify_audit_chain()
        if report.ok:
            self.stdout.write(self.style.SUCCESS(f"审计链完整：已校验 {report.checked} 条记录。"))
            return
        if report.first_bad_id is not None:
            raise CommandError(
                f"审计链校验失败：第一条异常记录 id={report.first_bad_id}（{report.reason}）；"
                f"此前 {report.checked} 条记录完好。"
            )
        raise CommandError(f"审计链校验失败：{report.reason}；已校验 {report.checked} 条记录。")
