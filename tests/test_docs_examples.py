"""Every JSON example of docs/definition.md is a valid definition (or a valid step, or list of steps), as the
server checks them: the page cannot teach what Baton refuses."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from core.definition.validation import validate_definition
from integrations.catalogue import action_input_schema

PAGE = Path(__file__).parent.parent / "docs" / "definition.md"


def examples() -> list[Any]:
    found = []
    for block in re.findall(r"```json\n(.*?)```", PAGE.read_text(), re.S):
        try:
            found.append(json.loads(block))
        except json.JSONDecodeError:  # several steps, one per line
            found.extend(json.loads(line) for line in block.splitlines() if line.strip())
    return found


def as_definition(example: Any) -> dict[str, Any]:
    if isinstance(example, dict) and "triggerType" in example:
        keys = ("triggerType", "triggerConfig", "steps", "concurrency", "strictExpressions")
        return {k: example[k] for k in keys if k in example}
    steps = example if isinstance(example, list) else [example]
    # a lone step may read steps the page shows elsewhere (`steps.lookup`): they run before it here
    own = set(re.findall(r'"id": "([a-z_0-9]+)"', json.dumps(steps)))
    read = sorted(set(re.findall(r"steps\.([a-z_0-9]+)", json.dumps(steps))) - own)
    before = [{"id": name, "type": "set", "values": {}} for name in read]
    return {"triggerType": "WEBHOOK", "triggerConfig": {"mode": "sync"}, "steps": before + steps}


def test_the_page_has_an_example_of_every_step_type() -> None:
    types = {step.get("type") for example in examples() for step in as_definition(example)["steps"]}
    assert {"action", "condition", "switch", "loop", "parallel", "delay", "approval", "wait", "set",
            "subworkflow", "agent", "respond", "stop"} <= types  # fmt: skip


@pytest.mark.parametrize("example", examples(), ids=lambda e: json.dumps(e)[:60])
def test_every_example_is_valid(example: Any) -> None:
    definition = as_definition(example)
    validate_definition(definition, action_schema=lambda action: action_input_schema(action))
