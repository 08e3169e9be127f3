"""Revoke an API token: ``manage.py revoke_api_token --prefix zz_XXXXXXX`` (or ``--id N``)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from zongzhi.core.errors import DomainError
from zongzhi.orgs import services
from zongzhi.orgs.models import ApiToken


class Command(BaseCommand):
    help = "吊销接口令牌（立即生效）。Revoke an API token by its prefix or id; takes effect at once."

    def add_arguments(self, parser: CommandParser) -> None:
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--prefix", help="令牌前缀，如 zz_AbCdEfG (the token's prefix)")
        which.add_argument("--id", type=int, help="令牌 id")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["id"] is not None:
            tokens = list(ApiToken.objects.select_related("user").filter(pk=options["id"]))
            label = f"id={options['id']}"
        else:
            prefix = options["prefix"].strip()
            # Active tokens only: an old revoked token may share the prefix.
            tokens = list(
                ApiToken.objects.select_related("user").filter(prefix=prefix, revoked_at__isnull=True)
            )
            if not tokens and ApiToken.objects.filter(prefix=prefix).exists():
                raise CommandError(f"前缀为 {prefix} 的令牌已被吊销。")
            label = f"前缀={prefix}"
        if not tokens:
            raise CommandError(f"找不到令牌：{label}")
        if len(tokens) > 1:
            ids = ", ".join(str(t.pk) for t in tokens)
            raise CommandError(f"前缀 {label} 对应多个令牌（id: {ids}），请用 --id 指定。")
        token = tokens[0]
        try:
            services.api_token_revoke(actor=None, token=token)
        except DomainError as exc:
            raise CommandError(str(exc.message)) from exc
        self.stdout.write(
            self.style.SUCCESS(f"已吊销令牌 id={token.pk} 前缀={token.prefix} 用户={token.user.username}")
        )
