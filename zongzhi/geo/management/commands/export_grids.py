"""Export grids as GeoJSON: ``manage.py export_grids --region CODE [--crs wgs84|gcj02|bd09] [-o FILE]``.

The output imports back unchanged with ``import_grids`` (it names its CRS)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from zongzhi.geo.coords import CRS_CHOICES
from zongzhi.geo.selectors import grids_feature_collection
from zongzhi.orgs.models import Grid, Region
from zongzhi.orgs.paths import subtree_q


class Command(BaseCommand):
    help = "导出区域内网格边界为 GeoJSON。Export a region's grids as a GeoJSON FeatureCollection."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--region", required=True, help="区划代码 (12-digit region code)")
        parser.add_argument("--crs", choices=CRS_CHOICES, default="wgs84", help="输出坐标系 (default wgs84)")
        parser.add_argument("-o", "--output", default=None, help="输出文件 (default: stdout)")

    def handle(self, *args: Any, **options: Any) -> None:
        region = Region.objects.filter(code=options["region"]).first()
        if region is None:
            raise CommandError(f"区划不存在：{options['region']}")
        grids = Grid.objects.filter(subtree_q("region_path", [region.path])).select_related("village")
        data = grids_feature_collection(grids, crs=options["crs"])
        text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
        if options["output"]:
            Path(options["output"]).write_text(text, encoding="utf-8")
            self.stderr.write(f"已导出 {len(data['features'])} 个网格到 {options['output']}")
        else:
            self.stdout.write(text)
