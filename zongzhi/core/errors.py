"""Domain errors raised by services and translated once, at the edge (web views and the API).

Every error carries a stable machine ``code`` (for the API) and a human message (Chinese, for the UI).
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    status = 400
    code = "error"

    def __init__(self, message: str, *, code: str | None = None, **data: Any) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.data = data

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": str(self.message), **self.data}


class FieldError(DomainError):
    """Bad input: names the field and the reason."""

    status = 422
    code = "invalid"

    def __init__(self, field: str, message: str, *, code: str = "invalid", **data: Any) -> None:
        super().__init__(message, code=code, field=field, **data)
        self.field = field


class NotFound(DomainError):
    """The object does not exist — or lies outside the user's scope, which looks the same."""

    status = 404
    code = "not_found"


class PermissionDeniedError(DomainError):
    """The user sees the object but may not perform this action on it."""

    status = 403
    code = "forbidden"


class Conflict(DomainError):
    """The object is not in a state that allows the action (another actor got there first)."""

    status = 409
    code = "conflict"
