"""docs/integrations.md is generated from the declarations and kept in step with them."""

from __future__ import annotations

from pathlib import Path

from integrations.catalogue import INTEGRATIONS
from integrations.docs import render

PAGE = Path(__file__).resolve().parents[2] / "docs" / "integrations.md"


def test_the_committed_page_is_what_the_code_declares() -> None:
    assert PAGE.read_text() == render(), "docs/integrations.md is out of date: run `baton docs` and commit it"


def test_the_page_names_every_integration_trigger_action_and_field() -> None:
    page = render()
    for integration in INTEGRATIONS.values():
        assert f"(`{integration.id}`)" in page
        for trigger in integration.triggers.values():
            assert f"### Trigger `{trigger.id}`" in page
        for action in integration.actions.values():
            assert f"### Action `{action.id}`" in page
            for field in action.input_schema().get("properties", {}):
                assert f"| `{field}` |" in page
