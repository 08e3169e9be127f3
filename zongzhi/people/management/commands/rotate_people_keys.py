"""Re-encrypt sealed base data under the current key (``ZZ_FIELD_KEY_ID``)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from zongzhi.core.crypto import current_key_id
from zongzhi.people.rotation import SEALED_FIELDS, pending, rotate_keys


class Command(BaseCommand):
    help = "Re-encrypt residents, houses, places, organizations, memberships and visits under the current field key."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=1000)
        parser.add_argument("--dry-run", action="store_true", help="only count the rows to re-encrypt")

    def handle(self, *args: Any, **options: Any) -> None:
        kid = current_key_id()
        if options["dry_run"]:
            for model in SEALED_FIELDS:
                self.stdout.write(f"{model._meta.label_lower}: {pending(model)} row(s) not under {kid}")
            return
        counts = rotate_keys(
            batch_size=max(1, options["batch_size"]),
            progress=lambda label, n: self.stdout.write(f"  {label}: {n}"),
        )
        total = sum(counts.values())
        self.stdout.write(self.style.SUCCESS(f"re-encrypted {total} row(s) under key {kid}: {counts}"))
