"""Materialised region paths. Pure functions.

A path is the chain of 12-digit statistical codes from the root down, each followed by "/":
``330000000000/330100000000/330102000000/``. ``A`` is an ancestor-or-self of ``B`` exactly when
``B.startswith(A)``. Prefix queries are written as a half-open range so that a plain B-tree index
serves them on SQLite and PostgreSQL alike (no LIKE, no operator classes).
"""

from __future__ import annotations

from django.db.models import Q

SEP = "/"
# Greater than every character a path can hold (digits and "/").
_RANGE_END = "~"


def child_path(parent_path: str, code: str) -> str:
    return f"{parent_path}{code}{SEP}"


def ancestors_or_self(path: str) -> list[str]:
    """All prefixes of ``path`` that are paths themselves, shortest first."""
    parts = [p for p in path.split(SEP) if p]
    return [SEP.join(parts[: i + 1]) + SEP for i in range(len(parts))]


def is_within(path: str, root: str) -> bool:
    return path.startswith(root)


def minimal_cover(paths: list[str] | set[str]) -> list[str]:
    """Drop every path that lies under another one in the set."""
    result: list[str] = []
    for path in sorted(set(paths)):
        if not result or not path.startswith(result[-1]):
            result.append(path)
    return result


def subtree_q(field: str, roots: list[str]) -> Q:
    """``field`` lies in any of the subtrees rooted at ``roots`` (an empty list matches nothing)."""
    q = Q(pk__in=[])
    for root in minimal_cover(roots):
        q |= Q(**{f"{field}__gte": root, f"{field}__lt": root + _RANGE_END})
    return q


def code_of(path: str) -> str:
    parts = [p for p in path.split(SEP) if p]
    return parts[-1] if parts else ""
