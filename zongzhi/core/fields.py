"""Model fields shared by every app."""

from __future__ import annotations

import re
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


class CoveringIndex(models.Index):
    """An index that carries extra columns for index-only reads: ``INCLUDE`` where the database has
    it (PostgreSQL); elsewhere (SQLite) the same columns as trailing key columns, so the index still
    covers the query there (and SQLite's top-N sort can test the sort key before reading the row)."""

    def create_sql(self, model: Any, schema_editor: Any, using: str = "", **kwargs: Any) -> Any:
        if self.include and not schema_editor.connection.features.supports_covering_indexes:
            keys = models.Index(
                *self.expressions,
                fields=[*self.fields, *self.include],
                name=self.name,
                db_tablespace=self.db_tablespace,
                opclasses=self.opclasses,
                condition=self.condition,
            )
            return keys.create_sql(model, schema_editor, using=using, **kwargs)
        return super().create_sql(model, schema_editor, using=using, **kwargs)


@models.CharField.register_lookup
class InConstants(models.Lookup):  # type: ignore[type-arg]
    """``field__in_constants=("a", "b")``: ``IN`` over a fixed list of code constants written into the
    SQL as literals, not bound parameters. SQLite uses a partial index (``WHERE state IN (…)``) only
    when it can see that the query's condition implies the index's, which it cannot through bound
    parameters; with the same literals it can. Only plain identifiers are accepted."""

    lookup_name = "in_constants"
    prepare_rhs = False

    def get_prep_lookup(self) -> Any:
        values = tuple(str(v) for v in self.rhs)
        for v in values:
            if not _CONSTANT.fullmatch(v):
                raise ValueError(f"in_constants takes identifiers only, not {v!r}")
        if not values:
            raise ValueError("in_constants needs at least one value")
        return values

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        lhs, params = self.process_lhs(compiler, connection)
        literals = ", ".join(f"'{v}'" for v in self.rhs)
        return f"{lhs} IN ({literals})", list(params)


_CONSTANT = re.compile(r"[A-Za-z0-9_]+")
