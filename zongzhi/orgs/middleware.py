from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse

_KEY = "zz_last_seen"


class SessionIdleTimeoutMiddleware:
    """Ends a signed-in session after ZZ_SESSION_IDLE_MINUTES without a request (等保 会话超时)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and hasattr(request, "session"):
            now = int(time.time())
            last = request.session.get(_KEY)
            if last is not None and now - int(last) > settings.ZZ_SESSION_IDLE_MINUTES * 60:
                logout(request)
            elif last is None or now - int(last) > 30:
                request.session[_KEY] = now
        return self.get_response(request)
