from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from zongzhi.analytics.facts import facts_rebuild
from zongzhi.analytics.rollups import rollups_rebuild


class Command(BaseCommand):
    help = "Rebuild the per-case facts from the case timelines, then the rollups from the facts."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--rollups-only", action="store_true", help="keep the facts, rebuild the rollups")

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        if not options["rollups_only"]:
            n = facts_rebuild(progress=lambda done: self.stderr.write(f"\r{done} facts", ending=""))
            self.stderr.write("")
            self.stdout.write(f"案件事实：{n} 条; facts: {n}")
        cells = rollups_rebuild(
            progress=lambda day, written: self.stderr.write(f"\r{day} {written} cells", ending="")
        )
        self.stderr.write("")
        self.stdout.write(f"统计汇总：{cells} 格; rollup cells: {cells} ({time.monotonic() - started:.1f} s)")
