from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from zongzhi.cases.states import render_markdown

TARGET = Path(settings.BASE_DIR) / "docs" / "workflows" / "case.md"


class Command(BaseCommand):
    help = "Render the case workflow table (cases/states.py) into docs/workflows/case.md."

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("--check", action="store_true", help="exit 1 when the file is stale")

    def handle(self, *args: object, **options: object) -> None:
        text = render_markdown()
        if options["check"]:
            if not TARGET.exists() or TARGET.read_text(encoding="utf-8") != text:
                self.stderr.write(f"{TARGET} is stale: run manage.py render_workflow")
                raise SystemExit(1)
            return
        TARGET.parent.mkdir(parents=True, exist_ok=True)
        TARGET.write_text(text, encoding="utf-8")
        self.stdout.write(f"wrote {TARGET}")
