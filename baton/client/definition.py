"""A definition checked on the client with the server's own validation (core.definition): a bad step fails
before any call, with the same JSON path and message the server's 422 would give."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel

from baton.client.errors import InvalidInput
from core.definition.validation import validate_definition
from core.errors import InvalidDefinition
from integrations.catalogue import action_input_schema

StepLike = dict[str, Any] | BaseModel


def step_json(step: StepLike) -> dict[str, Any]:
    """A step as the API takes it: a dict as given, a step model (ActionStep(...)) in its JSON shape."""
    if isinstance(step, BaseModel):
        return step.model_dump(by_alias=True, mode="json", exclude_none=True)
    return dict(step)


def checked(
    trigger_type: str | None, trigger_config: dict[str, Any] | None, steps: Sequence[StepLike] | None
) -> list[dict[str, Any]] | None:
    """The steps in JSON shape, after the checks the server makes that need no database: structure,
    expressions and what they read, unique ids, bounds, and the inputs of the actions this install knows
    (an action it does not know is left to the server, which may have more integrations)."""
    if steps is None and trigger_config is None:
        return None
    as_json = [step_json(step) for step in steps] if steps is not None else None
    definition: dict[str, Any] = {"triggerType": trigger_type or "MANUAL", "steps": as_json or []}
    if trigger_config is not None and trigger_type is not None:
        definition["triggerConfig"] = trigger_config
    try:
        validate_definition(definition, action_schema=lambda action: action_input_schema(action) or {})
    except InvalidDefinition as exc:
        raise InvalidInput(
            422,
            "invalid_definition",
            exc.detail,
            exc.path,
            body={
                "error": "invalid_definition",
                "detail": exc.detail,
                "path": exc.path,
                "issues": exc.issues,
            },
        ) from None
    return as_json
