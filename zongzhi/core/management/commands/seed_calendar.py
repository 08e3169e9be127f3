from django.core.management.base import BaseCommand

from zongzhi.core.calendar import calendar_seed, chinesecalendar_days


class Command(BaseCommand):
    help = "Seed the working calendar (holidays and 调休 make-up workdays) from the chinesecalendar package."

    def handle(self, *args: object, **options: object) -> None:
        days = chinesecalendar_days()
        written = calendar_seed(days)
        years = sorted({d.year for d, _, _ in days})
        self.stdout.write(
            f"工作日历已载入 {written} 天（{years[0]}–{years[-1]}）; calendar seeded: {written} days"
        )
