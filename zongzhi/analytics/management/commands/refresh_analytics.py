from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from zongzhi.analytics.rollups import analytics_refresh


class Command(BaseCommand):
    help = "Refresh the facts and rollups incrementally (what the periodic task does every minute)."

    def handle(self, *args: Any, **options: Any) -> None:
        r = analytics_refresh()
        self.stdout.write(
            f"事实 {r['facts']} 条，汇总片 {r['slices']} 个; facts {r['facts']}, slices {r['slices']}"
        )
