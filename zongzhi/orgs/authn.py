"""Authentication: the lockout-aware password backend and API-token auth for the REST API."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest
from django.utils import timezone

from zongzhi.core.audit import client_ip

from . import services
from .models import User


class LockoutModelBackend(ModelBackend):
    """Password sign-in that refuses a locked account and counts failures (used by every login form,
    the admin's included)."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> User | None:
        if username is None:
            username = kwargs.get(User.USERNAME_FIELD)
        if not username or password is None:
            return None
        ip = client_ip(request)
        user = User.objects.filter(username=username).first()
        if user is not None and user.locked_until and user.locked_until > timezone.now():
            user.check_password(password)  # same cost as a real attempt: no timing oracle
            services.user_login_blocked(user=user, ip=ip)
            return None
        result = super().authenticate(request, username=username, password=password, **kwargs)
        if result is None:
            services.user_login_failed(username=username, ip=ip)
            return None
        services.user_login_succeeded(user=result, ip=ip)
        return result  # type: ignore[return-value]
