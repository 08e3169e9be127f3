from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from zongzhi.assessment.demo import seed_demo_insight


class Command(BaseCommand):
    help = (
        "Demo data for insight (after the other demo seeds): the city's early-warning rules with a "
        "first scan, and the city center's assessment plans with last month's bulletins. Safe to run again."
    )

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("--city", default=settings.ZZ_DEMO_CITY_CODE)

    def handle(self, *args: object, **options: object) -> None:
        try:
            r = seed_demo_insight(city_code=str(options["city"]))
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"演示研判与考核：预警规则 {r.rules} 条，预警 {r.alerts} 条，考核方案 {r.plans} 个，通报 {r.bulletins} 份; "
            f"alert rules {r.rules}, alerts {r.alerts}, plans {r.plans}, bulletins {r.bulletins}"
        )
