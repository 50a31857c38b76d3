"""The steps docs/integrations.md shows for an integration (its `example`, which tests/integrations/
test_docs.py keeps on the page), checked as a definition the server takes, in order."""

from __future__ import annotations

import json
import re
from typing import Any

from core.definition.validation import validate_definition
from integrations.catalogue import INTEGRATIONS, action_input_schema


def example_steps(integration_id: str) -> list[dict[str, Any]]:
    """The example's steps, once validated together (raises as the server would refuse them)."""
    blocks = re.findall(r"```json\n(.*?)```", INTEGRATIONS[integration_id].example, re.S)
    steps: list[dict[str, Any]] = [json.loads(block) for block in blocks]
    validate_definition(
        {"triggerType": "WEBHOOK", "triggerConfig": {}, "steps": steps}, action_schema=action_input_schema
    )
    return steps
