"""Definitions are validated on save; every problem names its JSON path."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from core.definition.steps import definition_json_schema
from core.definition.validation import validate_definition
from core.errors import InvalidDefinition
from integrations.catalogue import get_action


def action_schema(action_id: str) -> Mapping[str, Any] | None:
    spec = get_action(action_id)
    return spec.input_schema() if spec else None


def problems(definition: dict[str, Any], **options: Any) -> list[tuple[str, str]]:
    with pytest.raises(InvalidDefinition) as caught:
        validate_definition(definition, action_schema=action_schema, **options)
    return [(issue["path"], issue["message"]) for issue in caught.value.issues]


def manual(*steps: dict[str, Any]) -> dict[str, Any]:
    return {"triggerType": "MANUAL", "triggerConfig": {}, "steps": list(steps)}


def test_the_shared_example_definition_is_valid() -> None:
    definition = validate_definition(
        {
            "triggerType": "WEBHOOK",
            "triggerConfig": {"methods": ["POST"], "mode": "async"},
            "steps": [
                {
                    "id": "lookup",
                    "type": "action",
                    "action": "http.request",
                    "input": {
                        "method": "GET",
                        "url": "https://crm.example.com/people/{{ trigger.body.email }}",
                    },
                    "retry": {"maxAttempts": 5},
                },
                {
                    "id": "vip",
                    "type": "condition",
                    "if": "{{ steps.lookup.output.body.tier == 'gold' }}",
                    "then": [
                        {
                            "id": "ok",
                            "type": "approval",
                            "message": "Send the gold welcome?",
                            "timeoutSeconds": 86400,
                            "defaultDecision": "approve",
                        }
                    ],
                },
                {
                    "id": "notify",
                    "type": "action",
                    "action": "slack.send_message",
                    "connectionId": "c1",
                    "input": {"channel": "#signups", "text": "New signup: {{ trigger.body.email }}"},
                    "onError": "continue",
                },
            ],
        },
        action_schema=action_schema,
    )
    assert [step.id for step in definition.steps] == ["lookup", "vip", "notify"]


def test_an_unknown_step_type_names_the_step() -> None:
    [(path, message)] = problems(manual({"id": "a", "type": "teleport"}))
    assert path == "steps[0]"
    assert "teleport" in message


def test_a_bad_field_deep_in_a_branch_names_its_path() -> None:
    [(path, _)] = problems(
        manual(
            {
                "id": "c",
                "type": "condition",
                "if": "x",
                "then": [
                    {"id": "l", "type": "loop", "items": "[]", "steps": [{"id": "Bad Id", "type": "set"}]}
                ],
            }
        )
    )
    assert path == "steps[0].then[0].steps[0].id"


def test_duplicate_step_ids_are_refused() -> None:
    [(path, message)] = problems(
        manual(
            {"id": "a", "type": "set"},
            {"id": "c", "type": "condition", "if": "x", "then": [{"id": "a", "type": "set"}]},
        )
    )
    assert path == "steps[1].then[0].id"
    assert "duplicate step id 'a'" in message


def test_action_input_is_checked_against_its_schema_with_expressions_left_aside() -> None:
    found = problems(
        manual(
            {
                "id": "mail",
                "type": "action",
                "action": "gmail.send_email",
                "input": {"to": "{{ trigger.to }}", "subject": 42},
            }
        )
    )
    assert ("steps[0].input.subject", "42 is not of type 'string'") in found
    assert ("steps[0].input.body", "is required") in found
    assert all(not path.endswith(".to") for path, _ in found)


def test_unknown_actions_are_refused() -> None:
    assert problems(manual({"id": "x", "type": "action", "action": "fax.send"})) == [
        ("steps[0].action", "unknown action 'fax.send'")
    ]


def test_references_must_point_to_steps_that_ran_before() -> None:
    found = problems(
        manual(
            {"id": "early", "type": "set", "values": {"x": "{{ steps.later.output }}"}},
            {"id": "later", "type": "set"},
            {
                "id": "par",
                "type": "parallel",
                "branches": [
                    [{"id": "left", "type": "set"}],
                    [{"id": "right", "type": "set", "values": {"y": "{{ steps.left.output }}"}}],
                ],
            },
            {
                "id": "after",
                "type": "set",
                "values": {"z": "{{ steps.left.output }} {{ steps.right.output }}"},
            },
        )
    )
    assert found == [
        ("steps[0].values.x", "`steps.later` is not a step that has run before this one"),
        ("steps[2].branches[1][0].values.y", "`steps.left` is not a step that has run before this one"),
    ]


def test_item_and_index_only_exist_in_loops() -> None:
    assert problems(manual({"id": "a", "type": "set", "values": {"v": "{{ item }}"}})) == [
        ("steps[0].values.v", "`item` only exists inside a loop's steps")
    ]


def test_expressions_must_parse_and_read_only_known_names() -> None:
    found = problems(
        manual({"id": "a", "type": "set", "values": {"v": "{{ trigger.( }}", "w": "{{ config }}"}})
    )
    assert found[0][0] == "steps[0].values.v"
    assert found[0][1].startswith("syntax error")
    assert found[1][0] == "steps[0].values.w"
    assert found[1][1].startswith("unknown name 'config'")


def test_trigger_config_is_checked_for_its_trigger_type() -> None:
    assert problems(
        {"triggerType": "SCHEDULE", "triggerConfig": {"cron": "* * * * *", "intervalSeconds": 5}, "steps": []}
    ) == [("triggerConfig", "Value error, give exactly one of `cron` or `intervalSeconds`")]


def test_bounds_on_nesting() -> None:
    step: dict[str, Any] = {"id": "s14", "type": "set"}
    for depth in range(13, 0, -1):
        step = {"id": f"s{depth}", "type": "condition", "if": "x", "then": [step]}
    found = problems(manual(step))
    assert any("nested 13 deep; the limit is 12" in message for _, message in found)


def test_subworkflow_cycles_are_found() -> None:
    definition = manual({"id": "call", "type": "subworkflow", "workflowId": "b"})
    assert problems(definition, workflow_id="a", subworkflow_graph={"b": ["c"], "c": ["a"]}) == [
        ("steps[0].workflowId", "calling it makes a cycle: a -> b -> c -> a")
    ]
    assert problems(
        manual({"id": "me", "type": "subworkflow", "workflowId": "a"}), workflow_id="a", subworkflow_graph={}
    ) == [("steps[0].workflowId", "a workflow cannot call itself")]


def test_the_json_schema_of_a_definition_is_generated_from_the_models() -> None:
    schema = definition_json_schema()
    assert schema["title"] == "Baton workflow definition"
    step_types = {
        ref.rsplit("/", 1)[1]
        for ref in schema["$defs"]["ConditionStep"]["properties"]["then"]["items"]["oneOf"]
        for ref in [ref["$ref"]]
    }
    assert {"ActionStep", "LoopStep", "ApprovalStep", "StopStep"} <= step_types
    assert "onError" in schema["$defs"]["ActionStep"]["properties"]
