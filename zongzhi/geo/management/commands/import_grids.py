"""Import grid polygons: ``manage.py import_grids FILE [--crs wgs84|gcj02|bd09] [--dry-run] [--user NAME]``.

Every bad feature is printed with its index and reason; the good ones are imported. Exit status 1
when any feature was rejected. Without ``--user`` the import runs as the installation's operator."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from zongzhi.core.errors import DomainError
from zongzhi.geo.coords import CRS_CHOICES
from zongzhi.geo.services import grids_import, regions_boundary_import
from zongzhi.orgs.models import User


class Command(BaseCommand):
    help = "从 GeoJSON 导入网格边界（或 --boundaries：区划边界）。Import grids (or region boundaries) from GeoJSON."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="GeoJSON FeatureCollection")
        parser.add_argument(
            "--crs", choices=CRS_CHOICES, default=None, help="输入坐标系 (default: as declared, else wgs84)"
        )
        parser.add_argument("--dry-run", action="store_true", help="只校验不写入 (validate only)")
        parser.add_argument(
            "--user", default=None, help="以该用户身份导入 (act as this user; scoping applies)"
        )
        parser.add_argument(
            "--boundaries",
            action="store_true",
            help="导入区划边界（属性 region_code） (import Region boundaries)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"文件不存在：{path}")
        actor = None
        if options["user"]:
            actor = User.objects.filter(username=options["user"], is_active=True).first()
            if actor is None:
                raise CommandError(f"用户不存在或已停用：{options['user']}")
        service = regions_boundary_import if options["boundaries"] else grids_import
        try:
            report = service(
                actor=actor, data=path.read_bytes(), crs=options["crs"], dry_run=options["dry_run"]
            )
        except DomainError as exc:
            raise CommandError(str(exc.message)) from exc
        for w in report.warnings:
            self.stderr.write(self.style.WARNING(f"第 {w.index} 个要素：{w.message}"))
        for e in report.errors:
            self.stderr.write(self.style.ERROR(f"第 {e.index} 个要素：{e.message} [{e.code}]"))
        verb = "将" if report.dry_run else "已"
        self.stdout.write(
            f"{verb}新建 {len(report.created)}，{verb}更新 {len(report.updated)}，"
            f"错误 {len(report.errors)}，共 {report.total} 个要素（坐标系 {report.crs}）"
        )
        if report.errors:
            sys.exit(1)
