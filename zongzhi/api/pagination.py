"""Lists for ninja's ``paginate``: the page is cut in SQL, only its rows are shaped."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from django.db.models import QuerySet

from zongzhi.core.paging import page_slice


class MappedQuerySet:
    """A queryset seen through a row function. ``paginate`` slices it (LIMIT/OFFSET in the query)
    and counts it (COUNT(*)), so a list endpoint shapes 50 rows, not every visible row."""

    def __init__(self, queryset: QuerySet[Any], row: Callable[[Any], Any]) -> None:
        self._qs = queryset
        self._row = row

    def all(self) -> MappedQuerySet:
        return self

    def count(self) -> int:
        return self._qs.count()

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, key: int | slice) -> Any:
        if isinstance(key, slice) and key.step is None:
            return [self._row(item) for item in page_slice(self._qs, key.start or 0, key.stop)]
        if isinstance(key, slice):
            return [self._row(item) for item in self._qs[key]]
        return self._row(self._qs[key])

    def __iter__(self) -> Iterator[Any]:
        return (self._row(item) for item in self._qs.iterator())
