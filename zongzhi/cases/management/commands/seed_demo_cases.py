from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from zongzhi.cases.demo import seed_demo_cases


class Command(BaseCommand):
    help = (
        "Demo data for the loop (after seed_demo): working calendar, catalogue, responsibility rules "
        "and cases in every stage. Safe to run again."
    )

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("--city", default=settings.ZZ_DEMO_CITY_CODE)

    def handle(self, *args: object, **options: object) -> None:
        try:
            r = seed_demo_cases(city_code=str(options["city"]))
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        if r.skipped:
            self.stdout.write(
                f"演示事件已存在，未重复创建; demo cases exist already (rules added: {r.rules})"
            )
            return
        states = ", ".join(f"{k}={v}" for k, v in sorted(r.by_state.items()))
        self.stdout.write(
            f"演示数据：日历 {r.calendar_days} 天，分类 {r.categories} 个，权责规则 {r.rules} 条，事件 {r.cases} 件（{states}）"
        )
