"""Bulk inserts of plain rows, for the paths that write thousands of rows at once (the deadline
sweep's notices and timeline rows, inbox messages, base-data imports).

The ORM's ``bulk_create`` builds a model instance per row and prepares every value of every field
through the field; at tens of thousands of rows that costs more than the database's own work.
``RowInserter`` takes tuples in a fixed column order and sends them with ``COPY … FROM STDIN`` on
PostgreSQL (psycopg adapts the Python values, in C: measured faster than formatting the COPY text
in Python) and ``executemany`` elsewhere, where the values that the database driver cannot take as
they are (dates, decimals, JSON) are prepared by their field first, as the ORM would.

Callers are the services that own the table (one write path): the rows must already satisfy the
model's rules; nothing here validates them and no signals are sent.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connection, models


class RowInserter:
    """Insert rows of ``columns`` (attribute names: ``case_id``, not ``case``) into ``model``'s table."""

    def __init__(
        self,
        model: type[models.Model],
        columns: Sequence[str],
        *,
        table: str | None = None,
        binary: bool = False,
    ) -> None:
        """``table``: another table with these columns (a staging copy of the model's table).

        ``binary``: on PostgreSQL, ``COPY`` in the binary format when every column's type is one
        the driver sends as such (text, integers, booleans, dates, times, numbers): the server
        then parses no text (a timestamp's text costs it far more than its 8 bytes). The values
        must be of the column's Python type (``datetime`` for a timestamp, not its ISO text)."""
        by_attname = {f.attname: f for f in model._meta.concrete_fields}
        unknown = [c for c in columns if c not in by_attname]
        if unknown:
            raise ValueError(f"{model.__name__} has no column {', '.join(unknown)}")
        self.fields = [by_attname[c] for c in columns]
        self.pg = connection.vendor == "postgresql"
        qn = connection.ops.quote_name
        self.table = qn(table or model._meta.db_table)
        self.cols = ", ".join(qn(f.column) for f in self.fields)
        self.copy_types: list[str] | None = None
        if binary and self.pg:
            types = [_BARE_TYPE.sub("", f.db_type(connection) or "").strip() for f in self.fields]
            if all(t in _BINARY_COPY_TYPES for t in types):
                self.copy_types = types
        # the values the driver cannot take as they are
        self.adapters: list[tuple[int, Any]] = []
        for i, f in enumerate(self.fields):
            if isinstance(f, models.JSONField):
                self.adapters.append((i, _json_dumper(f)))
            elif not self.pg and isinstance(f, models.DateField | models.DecimalField):
                self.adapters.append((i, lambda v, f=f: f.get_db_prep_save(v, connection)))

    def adapt(self, row: Sequence[Any]) -> Sequence[Any]:
        """``row`` as ``executemany`` takes it (SQLite: dates and decimals prepared by the field)."""
        if not self.adapters:
            return row
        out = list(row)
        for i, adapt in self.adapters:
            out[i] = adapt(out[i])
        return out

    def insert(self, rows: Iterable[Sequence[Any]]) -> int:
        """Insert the rows in the current transaction; returns how many were sent."""
        n = 0
        with connection.cursor() as cur:
            if self.pg:
                binary = " (FORMAT BINARY)" if self.copy_types else ""
                with cur.cursor.copy(f"COPY {self.table} ({self.cols}) FROM STDIN{binary}") as copy:
                    if self.copy_types:
                        copy.set_types(self.copy_types)
                    for row in rows:
                        copy.write_row(self.adapt(row))
                        n += 1
            else:
                batch = [self.adapt(r) for r in rows]
                n = len(batch)
                if batch:
                    marks = ", ".join(["%s"] * len(self.fields))
                    cur.executemany(
                        f"INSERT INTO {self.table} ({self.cols}) VALUES ({marks})",  # noqa: S608 - identifiers are ours
                        batch,
                    )
        return n


_BARE_TYPE = re.compile(r"\(.*?\)")  # varchar(64) → varchar, numeric(12, 2) → numeric
_BINARY_COPY_TYPES = frozenset(
    {
        "varchar",
        "text",
        "bigint",
        "integer",
        "smallint",
        "boolean",
        "date",
        "timestamp with time zone",
        "numeric",
        "double precision",
    }
)


def _json_dumper(field: models.JSONField) -> Any:
    encoder = field.encoder

    def dump(value: Any) -> Any:
        return None if value is None else json.dumps(value, cls=encoder, ensure_ascii=False)

    return dump
