"""Pagination for lists that may hold millions of rows.

Django's ``Paginator`` runs ``COUNT(*)`` over the whole filtered list on every page view, which is
what dominates a list page once a scope holds hundreds of thousands of cases. ``ListPaginator``
takes a count the page already knows (the queue's number on its tab, computed in the same pass as the
other queues) and otherwise counts no further than ``cap`` rows (``SELECT COUNT(*) FROM (… LIMIT
cap + 1)``): the page then says "more than cap" and the user narrows the list with filters.

A page's rows are picked before they are loaded (``page_slice``): first the ids of the page, in the
list's order, from the narrow rows (an index-only read where an index covers the filter and the
order), then those rows with their joined tables and wide columns. Sorting a large scope with its
joins and every column is what made SQLite's list pages slow; PostgreSQL reads the same plan.
"""

from __future__ import annotations

from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.utils.functional import cached_property

COUNT_CAP = 10_000


class ListPaginator(Paginator):
    def __init__(self, object_list: Any, per_page: int, *, count: int | None = None, cap: int | None = None):
        super().__init__(object_list, per_page)
        self.known_count = count
        self.cap = COUNT_CAP if cap is None else cap
        self.capped = False

    @cached_property
    def count(self) -> int:
        if self.known_count is not None:
            return self.known_count
        n = len(self.object_list[: self.cap + 1]) if isinstance(self.object_list, list) else None
        if n is None:  # a queryset: SELECT COUNT(*) FROM (… LIMIT cap + 1), in no particular order
            n = self.object_list.order_by()[: self.cap + 1].count()  # type: ignore[attr-defined]
        self.capped = n > self.cap
        return min(n, self.cap)

    def page(self, number: Any) -> Page:
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        return Page(page_slice(self.object_list, bottom, top), number, self)


def page_slice(rows: Any, start: int, stop: int | None) -> Any:
    """``rows[start:stop]``; for a queryset, the rows whose ids the same query picks in its own order
    (``WHERE pk IN (SELECT pk … ORDER BY … LIMIT …)``), loaded with their joins and sorted again."""
    if not isinstance(rows, QuerySet) or rows.query.is_sliced or rows.query.distinct or stop is None:
        return rows[start:stop]
    return rows.filter(pk__in=rows.values("pk")[start:stop])
