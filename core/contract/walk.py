"""Walks of a definition's raw JSON (the run's `definition`, not validated models): the steps nested
anywhere, their ids in order, the integrations its actions use, its approvals."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from core.contract.names import WEBHOOK_RESPOND_ACTION
from core.definition.steps import STEP_MODELS

# Where a definition's raw JSON nests steps (the wire names of the step models' `child_fields`, and
# `onError`): lists of steps, a dict of lists (`cases`) or a list of lists (`branches`). The built-in
# types' keys first, in the order the walk has always taken, then those of plug-in step types.
_BUILT_IN_CHILD_KEYS = ("then", "else", "cases", "default", "steps", "branches", "onError")
_CHILD_KEYS = _BUILT_IN_CHILD_KEYS + tuple(
    sorted(
        {model.model_fields[name].alias or name for model in STEP_MODELS for name in model.child_fields}
        - set(_BUILT_IN_CHILD_KEYS)
    )
)


def _step_dicts(steps: Any) -> Iterator[dict[str, Any]]:
    """Every step of a definition's raw `steps`, nested ones included, and nothing else: an action's input
    that happens to hold `{"type": "action"}` is data, not a step."""
    pending = [steps]
    while pending:
        value = pending.pop()
        if isinstance(value, list):
            pending.extend(reversed(value))
        elif isinstance(value, dict) and "type" in value and "id" in value:
            yield value
            for key in _CHILD_KEYS:
                child = value.get(key)
                if isinstance(child, dict):  # `cases`
                    pending.extend(reversed(list(child.values())))
                elif isinstance(child, list):
                    pending.append(child)


def find_step(steps: Any, step_id: str) -> dict[str, Any] | None:
    """The raw step named `step_id`, wherever it is nested (None: no such step)."""
    return next((step for step in _step_dicts(steps) if step["id"] == step_id), None)


def step_ids_in_order(steps: Any) -> list[str]:
    """A definition's step ids in the order a run meets them (each step before the steps nested in it)."""
    return [str(step["id"]) for step in _step_dicts(steps)]


def _is_respond(step: Any) -> bool:
    return isinstance(step, dict) and (
        step.get("type") == "respond"
        or (step.get("type") == "action" and step.get("action") == WEBHOOK_RESPOND_ACTION)
    )


def responds_before_the_end(steps: Any) -> bool:
    """Whether a run of these steps may reply to a sync webhook before it ends: a respond step anywhere but
    as the last top-level step. When not, the reply is the run's result and waiting for it is enough."""
    if not isinstance(steps, list):
        return False
    found = sum(1 for value in _step_dicts(steps) if _is_respond(value))
    last_is_respond = bool(steps) and _is_respond(steps[-1])
    return found > (1 if last_is_respond else 0)


def action_integrations(steps: Any) -> list[str]:
    """The integrations named by the action steps of a definition, nested ones included, sorted."""
    found: set[str] = set()
    for value in _step_dicts(steps):
        action = value.get("action")
        if value.get("type") == "action" and isinstance(action, str) and "." in action:
            found.add(action.split(".", 1)[0])
    return sorted(found)


def approval_steps(steps: Any) -> dict[str, list[str] | None]:
    """The approval steps of a definition, nested ones included: step id -> its approvers (None: anyone).
    An agent step's tool calls are not among them: a decision for one is taken only while it waits (an
    early or repeated decision must not approve a call the model has not made yet)."""
    found: dict[str, list[str] | None] = {}
    for value in _step_dicts(steps):
        if value.get("type") == "approval" and isinstance(value.get("id"), str):
            approvers = value.get("approvers")
            found[value["id"]] = list(approvers) if isinstance(approvers, list) else None
    return found
