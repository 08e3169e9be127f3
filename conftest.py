"""Project-wide pytest fixtures."""

from __future__ import annotations

import pytest


@pytest.fixture
def tree(db):  # type: ignore[no-untyped-def]
    from tests.factories import make_tree

    return make_tree()


@pytest.fixture
def make_user(db):  # type: ignore[no-untyped-def]
    from tests.factories import make_user as _make_user

    return _make_user


@pytest.fixture(autouse=True)
def _fresh_cache():  # type: ignore[no-untyped-def]
    """Throttles, the calendar version and the grid-index version live in the cache: start clean."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()
