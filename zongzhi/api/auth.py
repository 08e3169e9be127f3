"""API authentication: the browser session (with CSRF) or a bearer token."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from ninja.security import HttpBearer, SessionAuth

from zongzhi.orgs.services import api_token_authenticate


class TokenAuth(HttpBearer):
    """``Authorization: Bearer zz_…``: authenticates as the token's user and nothing more (scoping
    applies to that user). Unknown, revoked or expired tokens are refused (401). No CSRF check: a
    bearer token is not an ambient credential the browser sends by itself."""

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        user = api_token_authenticate(token.strip())
        if user is not None:
            request.user = user
        return user


class ActiveSessionAuth(SessionAuth):
    """The browser session. ninja checks CSRF on unsafe methods before looking at the session."""

    def _get_key(self, request: HttpRequest) -> str | None:
        # Without a session cookie there is no ambient credential to protect: answer 401 (not a
        # CSRF 403) to a client that sent no or a bad token.
        if settings.SESSION_COOKIE_NAME not in request.COOKIES:
            return None
        return super()._get_key(request)

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        if key is None:
            return None
        user = super().authenticate(request, key)
        return user if user is not None and user.is_active else None


AUTH = [TokenAuth(), ActiveSessionAuth()]
