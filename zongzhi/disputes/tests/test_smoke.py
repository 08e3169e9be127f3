import pytest

from .builders import agreed

pytestmark = pytest.mark.django_db


def test_agreed(world):
    d = agreed(world)
    assert d.outcome == "agreement"
    assert d.case.state == "resolved"
