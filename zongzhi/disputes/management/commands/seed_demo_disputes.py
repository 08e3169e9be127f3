from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from zongzhi.disputes.demo import seed_demo_disputes


class Command(BaseCommand):
    help = (
        "Demo data for disputes (after seed_demo and seed_demo_cases): mediators of the demo townships, "
        "disputes in every stage and this week's screening campaigns. Safe to run again."
    )

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("--city", default=settings.ZZ_DEMO_CITY_CODE)

    def handle(self, *args: object, **options: object) -> None:
        try:
            r = seed_demo_disputes(city_code=str(options["city"]))
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        if r.skipped:
            self.stdout.write("演示矛盾纠纷已存在，未重复创建; demo disputes exist already")
            return
        outcomes = ", ".join(f"{k}={v}" for k, v in sorted(r.by_outcome.items()))
        self.stdout.write(
            f"演示矛盾纠纷：调解员 {r.mediators} 名，纠纷 {r.disputes} 件（{outcomes}），排查 {r.campaigns} 次"
        )
