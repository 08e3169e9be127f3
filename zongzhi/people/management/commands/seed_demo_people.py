from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from zongzhi.people.demo import describe, seed_demo_people


class Command(BaseCommand):
    help = (
        "Demo base data (after seed_demo): houses, residents, places, organizations, special-population "
        "members with visits and missed visits in every demo grid. Synthetic people only. Safe to run again."
    )

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("--city", default=settings.ZZ_DEMO_CITY_CODE)

    def handle(self, *args: object, **options: object) -> None:
        try:
            report = seed_demo_people(city_code=str(options["city"]))
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        if report.skipped:
            self.stdout.write("演示基础数据已存在，未重复创建; demo base data exists already")
            return
        counts = describe(report)
        self.stdout.write(
            "演示基础数据：房屋 {houses}，人口 {residents}，场所 {places}，组织 {organizations}，"
            "特殊人群 {memberships}，走访 {visits}，逾期未走访 {misses}".format(**counts)
        )
