from django.core.management.base import BaseCommand

from zongzhi.cases.services import catalogue_load_defaults


class Command(BaseCommand):
    help = "Load the default catalogue of case types (existing codes are kept as edited)."

    def handle(self, *args: object, **options: object) -> None:
        created, kept = catalogue_load_defaults(actor=None)
        self.stdout.write(f"事项分类：新增 {created}，保留 {kept}; catalogue: {created} created, {kept} kept")
