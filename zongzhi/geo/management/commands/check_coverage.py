"""Coverage check of a region's grids: ``manage.py check_coverage --region CODE [--json]``.

Prints overlaps, gaps, grids outside their village, grids without a boundary, population outside
the limits and the number of located rows in no grid; exits with status 1 when anything is found."""

from __future__ import annotations

import json
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from zongzhi.geo.coverage import coverage_report, unassigned_points
from zongzhi.orgs.models import Region


class Command(BaseCommand):
    help = "检查区域内网格的覆盖情况（重叠、缝隙、越界、人口）。Check grid coverage of a region; exit 1 on problems."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--region", required=True, help="区划代码 (12-digit region code)")
        parser.add_argument("--json", action="store_true", help="输出 JSON (print the report as JSON)")

    def handle(self, *args: Any, **options: Any) -> None:
        region = Region.objects.filter(code=options["region"]).first()
        if region is None:
            raise CommandError(f"区划不存在：{options['region']}")
        report = coverage_report(region, unassigned=unassigned_points(region))
        if options["json"]:
            self.stdout.write(json.dumps(report.summary(), ensure_ascii=False, indent=2))
        else:
            for line in report.lines():
                self.stdout.write(line)
        if not report.ok:
            sys.exit(1)
