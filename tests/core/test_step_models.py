"""What a step type means is declared on its model: its nested steps, whether its output can be the run's
result, whether it applies its own timeout; the raw-JSON walkers find steps where steps nest, only there."""

from __future__ import annotations

from typing import Any

from core.contract import action_integrations, approval_steps, responds_before_the_end
from core.definition.steps import STEP_MODELS, STEP_TYPES, WorkflowDefinition
from core.definition.validation import iter_steps

NESTED: list[dict[str, Any]] = [
    {
        "id": "call",
        "type": "action",
        "action": "http.request",
        # data, not steps: an input that looks like a step must not count as one
        "input": {"json": {"id": "fake", "type": "action", "action": "slack.send_message"}},
    },
    {
        "id": "check",
        "type": "condition",
        "if": "{{ true }}",
        "then": [{"id": "ask", "type": "approval", "approvers": ["user-1"]}],
        "else": [
            {
                "id": "route",
                "type": "switch",
                "value": "x",
                "cases": {
                    "x": [{"id": "gh", "type": "action", "action": "github.create_issue", "input": {}}]
                },
            }
        ],
    },
    {"id": "both", "type": "parallel", "branches": [[{"id": "reply", "type": "respond"}]]},
    {
        "id": "each",
        "type": "loop",
        "items": "{{ [1] }}",
        "steps": [{"id": "v", "type": "set", "values": {}}],
        "onError": [{"id": "mail", "type": "action", "action": "gmail.send_email", "input": {}}],
    },
]


def test_the_step_types_are_the_models_wire_names() -> None:
    assert sorted(STEP_TYPES) == sorted(
        ["action", "condition", "switch", "loop", "parallel", "delay", "approval", "set", "subworkflow",
         "respond", "stop", "wait", "agent"]
    )  # fmt: skip
    assert len(STEP_MODELS) == len(STEP_TYPES)
    results = {str(m.model_fields["type"].default) for m in STEP_MODELS if m.can_be_result}
    assert results == {
        "action", "set", "delay", "approval", "subworkflow", "respond", "loop", "parallel", "wait", "agent"
    }  # fmt: skip
    timed = {str(m.model_fields["type"].default) for m in STEP_MODELS if m.times_itself}
    assert timed == {"action", "approval", "subworkflow", "wait"}  # a wait's timeout is its own onTimeout


def test_nested_steps_are_found_through_the_models_and_in_raw_json_alike() -> None:
    definition = WorkflowDefinition.model_validate({"triggerType": "MANUAL", "steps": NESTED})
    found = {step.id: path for step, path, _ in iter_steps(definition.steps, "steps")}
    assert found == {
        "call": "steps[0]",
        "check": "steps[1]",
        "ask": "steps[1].then[0]",
        "route": "steps[1].else[0]",
        "gh": "steps[1].else[0].cases.x[0]",
        "both": "steps[2]",
        "reply": "steps[2].branches[0][0]",
        "each": "steps[3]",
        "v": "steps[3].steps[0]",
        "mail": "steps[3].onError[0]",
    }
    assert action_integrations(NESTED) == ["github", "gmail", "http"]  # not slack: that was an input
    assert approval_steps(NESTED) == {"ask": ["user-1"]}
    assert responds_before_the_end(NESTED) is True
