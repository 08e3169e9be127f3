"""Session lifetime (等保 会话超时): an absolute limit from sign-in and an idle timeout."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse

from zongzhi.core.audit import client_ip

from . import services

_LAST_SEEN = "zz_last_seen"
_AUTH_AT = "zz_auth_at"
# Refresh the last-seen mark at most this often, so a busy page does not write the session on every request.
_TOUCH_SECONDS = 30


class SessionIdleTimeoutMiddleware:
    """Ends a signed-in session after ZZ_SESSION_IDLE_MINUTES without a request, and in any case
    SESSION_COOKIE_AGE seconds after sign-in.

    Django's own SESSION_COOKIE_AGE alone is not an absolute limit: every time the session is
    saved (as the last-seen mark is), the expiry moves forward. So the sign-in time is kept in the
    session and checked here. Both kinds of sign-out are audited (``logout`` with a reason)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and hasattr(request, "session"):
            session = request.session
            now = int(time.time())
            auth_at = session.get(_AUTH_AT)
            last = session.get(_LAST_SEEN)
            reason = None
            if auth_at is not None and now - int(auth_at) > settings.SESSION_COOKIE_AGE:
                reason = "expired"
            elif last is not None and now - int(last) > settings.ZZ_SESSION_IDLE_MINUTES * 60:
                reason = "idle"
            if reason is not None:
                services.user_logged_out(user=user, ip=client_ip(request), reason=reason)  # type: ignore[arg-type]
                logout(request)
            else:
                if auth_at is None:
                    session[_AUTH_AT] = now
                if last is None or now - int(last) > _TOUCH_SECONDS:
                    session[_LAST_SEEN] = now
        return self.get_response(request)
