"""Issue an API bearer token for a user: ``manage.py create_api_token --user NAME --name PURPOSE [--days N]``."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from zongzhi.core.errors import DomainError
from zongzhi.orgs import services
from zongzhi.orgs.models import User


class Command(BaseCommand):
    help = (
        "为用户签发接口令牌（明文只显示一次）。Issue an API token for a user; the clear token is shown once."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--user", required=True, help="账号 (username) the token authenticates as")
        parser.add_argument("--name", required=True, help="用途 (what the token is for)")
        parser.add_argument(
            "--days", type=int, default=None, help="有效天数 (days until it expires; default: never)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            user = User.objects.get(username=options["user"])
        except User.DoesNotExist as exc:
            raise CommandError(f"用户不存在：{options['user']}") from exc
        if not user.is_active:
            raise CommandError(f"用户已停用：{user.username}")
        days = options["days"]
        if days is not None and days < 1:
            raise CommandError("--days 必须是正整数 (--days must be a positive integer)")
        expires_at = timezone.now() + timedelta(days=days) if days is not None else None
        try:
            token, clear = services.api_token_create(
                actor=None, user=user, name=options["name"], expires_at=expires_at
            )
        except DomainError as exc:
            raise CommandError(str(exc.message)) from exc
        expiry = (
            timezone.localtime(token.expires_at).strftime("%Y-%m-%d %H:%M")
            if token.expires_at
            else "永不过期"
        )
        self.stdout.write(f"令牌 id={token.pk} 前缀={token.prefix} 用户={user.username} 过期={expiry}")
        self.stdout.write(clear)
        self.stderr.write(
            self.style.WARNING(
                "请立即妥善保存此令牌：它不会再次显示，系统只保存其摘要。"
                " (Store this token now: it is not shown again; only its digest is stored.)"
            )
        )
