"""Load the administrative division tree: ``manage.py import_regions [--root CODE] [--data-dir DIR] [--dry-run]``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from zongzhi.orgs.region_import import UnknownRootError, import_division_tree


class Command(BaseCommand):
    help = (
        "导入行政区划（统计用区划代码）及各级综治中心；可重复执行。"
        " Import the division tree (statistical codes) and its centers; safe to re-run."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--root",
            default=None,
            help="区划代码前缀，如 3301 或 330100 (code prefix, 2/4/6/9 digits; default: whole country)",
        )
        parser.add_argument(
            "--data-dir",
            default=None,
            help="区划数据目录 (directory of the *.csv.gz files; default: SHARED_DATA_DIR/divisions)",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="只统计不写入 (report what would change, write nothing)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        data_dir = Path(options["data_dir"] or Path(settings.SHARED_DATA_DIR) / "divisions")
        if not data_dir.is_dir():
            raise CommandError(_("数据目录不存在：%(dir)s (data directory not found)") % {"dir": data_dir})
        verbose = options["verbosity"] >= 2
        try:
            report = import_division_tree(
                root=options["root"],
                data_dir=data_dir,
                actor=None,
                dry_run=options["dry_run"],
                progress=(lambda message: self.stdout.write(f"  {message}")) if verbose else None,
            )
        except UnknownRootError as exc:
            raise CommandError(f"{exc.message} (unknown root code)") from exc
        except FileNotFoundError as exc:
            raise CommandError(
                _("缺少数据文件：%(file)s (missing data file)") % {"file": exc.args[0]}
            ) from exc

        out = self.stdout
        if report.dry_run:
            out.write(self.style.WARNING(_("试运行：未写入任何数据。 (dry run: nothing was written)")))
        out.write(
            _(
                "新增 %(added)d · 更新 %(updated)d · 未变 %(unchanged)d · 迁移 %(moved)d · 改码 %(recoded)d"
                " · 改名 %(renamed)d"
            )
            % vars(report)
            + f"  (added {report.added}, updated {report.updated}, unchanged {report.unchanged},"
            f" moved {report.moved}, recoded {report.recoded}, renamed {report.renamed})"
        )
        out.write(
            _("新建综治中心 %(centers)d · 路径改写 %(repathed)d · 数据中已无但保留 %(absent)d")
            % {"centers": report.centers_created, "repathed": report.repathed, "absent": report.absent}
            + f"  (centers created {report.centers_created}, paths rewritten {report.repathed},"
            f" absent from data but kept {report.absent})"
        )
        for level, counts in report.levels.items():
            out.write(
                f"  {level}: rows {counts.rows}, added {counts.added}, updated {counts.updated},"
                f" unchanged {counts.unchanged}, bad {counts.bad}"
            )
        if report.placeholders:
            out.write(
                _("占位层级 %(n)d 行已并入上级 (placeholder rows merged into their parent):")
                % {"n": len(report.placeholders)}
            )
            for row in report.placeholders:
                out.write(f"  {row} [{row.code}]")
        if report.bad_rows:
            self.stderr.write(
                self.style.ERROR(_("坏行 %(n)d 行已跳过 (bad rows skipped):") % {"n": len(report.bad_rows)})
            )
            for row in report.bad_rows:
                self.stderr.write(f"  {row}")
        out.write(self.style.SUCCESS(_("用时 %(s).1f 秒 (elapsed %(s).1f s)") % {"s": report.elapsed}))
