"""Model fields shared by every app."""

from __future__ import annotations

from typing import Any

from django.db import models


class PathField(models.CharField):  # type: ignore[type-arg]
    """A materialised region path (``330000000000/330100000000/``).

    Subtree queries are half-open ranges (``path >= p AND path < p || '~'``); they are right only
    when the column sorts byte by byte. SQLite's default collation does; on PostgreSQL the column is
    declared ``COLLATE "C"`` so that a database created with a language collation (ICU, en_US...)
    still orders paths correctly and the B-tree index serves the range. See ADR 0001."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 80)
        super().__init__(*args, **kwargs)

    def db_parameters(self, connection: Any) -> dict[str, Any]:
        params = super().db_parameters(connection)
        if connection.vendor == "postgresql":
            params["collation"] = "C"
        return params
