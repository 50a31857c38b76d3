"""The built-in step types are written once (`BuiltInStep`): the type checker's union and the runtime's
discriminated `Step` union are made from the same list, so a new step type is not added in two places."""

from __future__ import annotations

from typing import get_args

from pydantic import TypeAdapter

from core.definition import steps


def test_the_step_union_is_made_from_the_one_list_of_built_in_step_types() -> None:
    built_in = get_args(steps.BuiltInStep)
    assert built_in == steps.BUILT_IN_STEP_MODELS
    assert set(built_in) <= set(steps.STEP_MODELS)
    assert {steps.step_type(model) for model in built_in} <= steps.STEP_TYPES
    # every member parses through the runtime union by its `type`
    parsed = TypeAdapter(steps.Step).validate_python({"id": "later", "type": "delay", "seconds": 1})
    assert isinstance(parsed, steps.DelayStep)
