"""A run's timeline: its steps in the order they ran, loop iterations and parallel branches included, each
placed in the definition (its parent step and the branch it sits in) for a UI or a CLI to draw as a tree."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from core.definition.steps import Step, WorkflowDefinition


@dataclass(frozen=True)
class Placement:
    """Where a step sits in its definition: its parent step (None at the top), the branch of the parent it
    is in (`then`, `else`, `cases.gold`, `default`, `steps`, `branches[1]`, `onError`), its depth, its
    display name and its place in the definition's order."""

    parent: str | None
    branch: str | None
    depth: int
    name: str
    order: int


def placements(definition: dict[str, Any]) -> dict[str, Placement]:
    """Each step id's placement; empty when the definition does not parse (the timeline is then flat)."""
    try:
        parsed = WorkflowDefinition.model_validate(definition)
    except (ValidationError, ValueError):
        return {}
    found: dict[str, Placement] = {}

    def walk(steps: list[Step], parent: str | None, branch: str | None, depth: int) -> None:
        for step in steps:
            found[step.id] = Placement(parent, branch, depth, step.label, len(found))
            for children, path in step.children(""):
                walk(children, step.id, path.lstrip("."), depth + 1)

    walk(parsed.steps, None, None, 0)
    return found


def branch_taken(step_type: str, output: Any) -> str | None:
    """The branch a condition or switch step took, from its output."""
    if not isinstance(output, dict):
        return None
    if step_type == "condition" and "result" in output:
        return "then" if output["result"] else "else"
    if step_type == "switch" and "matched" in output:
        return f"cases.{output['matched']}" if output["matched"] is not None else "default"
    return None


def iteration_of(step_id: str, key: str | None) -> list[int]:
    """The loop item indexes of a row (`send/0/2`: item 2 of the inner loop in item 0 of the outer)."""
    if not key or not key.startswith(step_id):
        return []
    return [int(part) for part in key[len(step_id) :].split("/") if part.isdigit()]


def timeline(definition: dict[str, Any], rows: list[Any]) -> list[dict[str, Any]]:
    """The rows (step_executions) as timeline items, in the order they ran: by start, then (steps started in
    one workflow task share a start) by the sequence the interpreter gave them as they began; rows written
    before it had one: in the definition's order and by loop item."""
    where = placements(definition)
    far = len(where)

    def ran(row: Any) -> tuple[Any, ...]:
        placed = where.get(row.step_id)
        started = row.started_at.timestamp() if row.started_at is not None else float("inf")
        sequence = getattr(row, "sequence", None)
        return (
            started,
            sequence if sequence is not None else float("inf"),
            iteration_of(row.step_id, row.step_key),
            placed.order if placed else far,
        )

    items = []
    for row in sorted(rows, key=ran):
        placed = where.get(row.step_id)
        items.append(
            {
                "step_id": row.step_id,
                "key": row.step_key or row.step_id,
                "sequence": getattr(row, "sequence", None),
                "iteration": iteration_of(row.step_id, row.step_key),
                "name": placed.name if placed else row.step_id,
                "step_type": row.step_type,
                "parent_step_id": placed.parent if placed else None,
                "branch": placed.branch if placed else None,
                "depth": placed.depth if placed else 0,
                "status": row.status,
                "branch_taken": branch_taken(row.step_type, row.output),
                "attempts": row.retry_count + 1,
                "started_at": row.started_at,
                "completed_at": row.completed_at,
                "duration": row.duration,
                "error": row.error,
                "state": row.state,
            }
        )
    return items
