from django.core.management.base import BaseCommand

from zongzhi.cases.services import sla_sweep


class Command(BaseCommand):
    help = "Run the deadline sweep once (reminders, supervision, listed supervision, auto-archive)."

    def handle(self, *args: object, **options: object) -> None:
        r = sla_sweep()
        self.stdout.write(
            f"examined={r.examined} reminders={r.reminders} supervisions={r.supervisions} "
            f"listed={r.listed} archived={r.archived} lost_races={r.lost_races}"
        )
