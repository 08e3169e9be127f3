from django.core.management.base import BaseCommand

from zongzhi.cases.services import deadlines_recompute


class Command(BaseCommand):
    help = "Recompute working-day deadlines of open cases after the working calendar changed."

    def handle(self, *args: object, **options: object) -> None:
        changed = deadlines_recompute(actor="system")
        self.stdout.write(f"重新计算时限：{changed} 件; deadlines recomputed: {changed}")
