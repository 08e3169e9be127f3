"""The workflow document is generated from the table, and the table and the handlers agree."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings

from zongzhi.cases import services
from zongzhi.cases.models import CaseState
from zongzhi.cases.states import SAME, SYSTEM_ACTIONS, TRANSITIONS, render_markdown

DOC = Path(settings.BASE_DIR) / "docs" / "workflows" / "case.md"


def test_doc_is_current():
    assert DOC.exists(), "run: python manage.py render_workflow"
    assert DOC.read_text(encoding="utf-8") == render_markdown(), (
        "docs/workflows/case.md is stale: run python manage.py render_workflow"
    )


def test_doc_lists_every_action_and_state():
    text = render_markdown()
    for t in TRANSITIONS:
        assert f"| `{t.action}` | {t.label} |" in text
    for state in CaseState.values:
        assert f"`{state}`" in text
    for action in SYSTEM_ACTIONS:
        assert f"`{action}`" in text


def test_every_action_has_a_handler_and_every_handler_an_action():
    actions = [t.action for t in TRANSITIONS]
    assert len(actions) == len(set(actions)), "an action appears twice in the table"
    assert set(services._HANDLERS) == set(actions)


def test_table_is_well_formed():
    states = set(CaseState.values)
    for t in TRANSITIONS:
        assert t.sources and set(t.sources) <= states, t.action
        assert t.target == SAME or t.target in states, t.action
        assert t.actor in ("center", "department", "any"), t.action
        # an action every kind has needs a case permission; a kind-specific one may need its kind's
        assert t.perm.startswith(("case.", *(f"{k}." for k in t.kinds))), t.action
    # system actions never collide with user actions
    assert not set(SYSTEM_ACTIONS) & {t.action for t in TRANSITIONS}
