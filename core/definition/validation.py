"""Validation of a workflow definition on save; every problem names its JSON path (`steps[2].input.to`).

Structure comes from the pydantic models; then the checks pydantic cannot do: unique step ids, expressions
that parse and read only data that exists when the step runs, known actions with inputs matching their JSON
Schema (jsonschema, leaving expression-valued fields aside), bounds, and subworkflow cycles.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import jsonschema
from pydantic import ValidationError

from core.contract import WEBHOOK_RESPOND_ACTION
from core.definition.steps import (
    STEP_TYPES,
    TRIGGER_CONFIGS,
    ActionStep,
    AgentStep,
    LoopStep,
    RespondStep,
    Step,
    SubworkflowStep,
    WaitStep,
    WorkflowDefinition,
    refused_response_header,
)
from core.errors import InvalidDefinition
from core.expressions import ExpressionError, compile_expression, has_expression, names_used
from core.models.enums import TriggerType

MAX_STEPS = 2_000
MAX_DEPTH = 12

ActionSchemaLookup = Callable[[str], Mapping[str, Any] | None]


@dataclass(frozen=True)
class Issue:
    path: str
    message: str


def pydantic_path(location: tuple[int | str, ...], prefix: str = "") -> str:
    """A pydantic error location as a JSON path, without the union-member names pydantic inserts."""
    text = prefix
    previous: int | str | None = None
    for part in location:
        if isinstance(part, str) and (
            (isinstance(previous, int) and part in STEP_TYPES)
            or part.startswith(("literal[", "list[", "function-", "tagged-union", "union["))
        ):
            previous = part
            continue
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
        previous = part
    return text


def validate_definition(
    data: Mapping[str, Any],
    *,
    action_schema: ActionSchemaLookup,
    workflow_id: str | None = None,
    subworkflow_graph: Mapping[str, list[str]] | None = None,
    trigger_schema: ActionSchemaLookup | None = None,
) -> WorkflowDefinition:
    """Returns the parsed definition or raises InvalidDefinition listing every issue (the first in `path`).
    `trigger_schema` gives the configSchema of a polling trigger (`rss.new_item`), None when unknown."""
    issues = _structure_issues(data)
    if issues:
        raise _invalid(issues)
    definition = WorkflowDefinition.model_validate(data)
    issues = list(_semantic_issues(definition, action_schema))
    if trigger_schema is not None and definition.trigger_type == "POLLING":
        issues += _polling_issues(definition.trigger_config, trigger_schema)
    if workflow_id is not None and subworkflow_graph is not None:
        issues += _cycle_issues(definition, workflow_id, subworkflow_graph)
    if issues:
        raise _invalid(issues)
    return definition


def _polling_issues(config: Mapping[str, Any], trigger_schema: ActionSchemaLookup) -> list[Issue]:
    trigger = str(config.get("trigger", ""))
    schema = trigger_schema(trigger)
    if schema is None:
        return [Issue("triggerConfig.trigger", f"unknown polling trigger {trigger!r}")]
    validator = jsonschema.Draft202012Validator(dict(schema))
    return [
        Issue(
            "triggerConfig.config"
            + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path),
            error.message,
        )
        for error in validator.iter_errors(config.get("config") or {})
    ]


def _invalid(issues: list[Issue]) -> InvalidDefinition:
    first = issues[0]
    # every problem in the sentence (a caller fixing one at a time learnt of the next on each save)
    error = InvalidDefinition("; ".join(f"{i.path}: {i.message}" for i in issues), path=first.path)
    error.issues = [{"path": i.path, "message": i.message} for i in issues]
    return error


def _structure_issues(data: Mapping[str, Any]) -> list[Issue]:
    try:
        WorkflowDefinition.model_validate(data)
    except ValidationError as exc:
        if isinstance(data, Mapping) and "triggerType" in data:
            # the trigger config alone, for a precise path (its errors surface without one otherwise)
            config_issues = _trigger_config_issues(data)
            if config_issues:
                return config_issues
        issues = []
        for error in exc.errors(include_url=False):
            location = tuple(error["loc"])
            if not location and isinstance(data, Mapping) and "triggerType" in data:
                # raised by the trigger-config check: validate it alone for a precise path
                return _trigger_config_issues(data)
            issues.append(Issue(pydantic_path(location) or "$", error["msg"]))
        return issues
    return []


def _trigger_config_issues(data: Mapping[str, Any]) -> list[Issue]:
    trigger_type = data["triggerType"]
    known = isinstance(trigger_type, str) and trigger_type in TriggerType.__members__
    config_model = TRIGGER_CONFIGS.get(TriggerType(trigger_type)) if known else None
    if config_model is None:
        return [Issue("triggerType", f"unknown trigger type (one of {', '.join(TRIGGER_CONFIGS)})")]
    try:
        config_model.model_validate(data.get("triggerConfig") or {})
    except ValidationError as exc:
        return [Issue(pydantic_path(tuple(e["loc"]), "triggerConfig"), e["msg"]) for e in exc.errors()]
    return []


def iter_steps(steps: list[Step], path: str) -> Iterator[tuple[Step, str, int]]:
    """Every step of a tree with its JSON path and nesting depth, in document order."""
    yield from _walk(steps, path, 1)


def _walk(steps: list[Step], path: str, depth: int) -> Iterator[tuple[Step, str, int]]:
    for index, step in enumerate(steps):
        here = f"{path}[{index}]"
        yield step, here, depth
        for child_steps, child_path in child_lists(step, here):
            yield from _walk(child_steps, child_path, depth + 1)


def child_lists(step: Step, path: str) -> list[tuple[list[Step], str]]:
    return step.children(path)


def _own_strings(step: Step, path: str) -> Iterator[tuple[str, str]]:
    """The step's own string values (not those of nested steps) with their paths."""
    nested = step.child_fields | {"on_error"}
    for field_name, field in type(step).model_fields.items():
        if field_name in nested or field_name in {"id", "type", "name"}:
            continue
        yield from _strings(getattr(step, field_name), f"{path}.{field.alias or field_name}")


def _strings(value: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield value, path
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, f"{path}[{index}]")


def _semantic_issues(definition: WorkflowDefinition, action_schema: ActionSchemaLookup) -> Iterator[Issue]:
    seen: dict[str, str] = {}
    count = 0
    for step, path, depth in iter_steps(definition.steps, "steps"):
        count += 1
        if step.id in seen:
            yield Issue(f"{path}.id", f"duplicate step id {step.id!r} (first used at {seen[step.id]})")
        seen.setdefault(step.id, path)
        if depth > MAX_DEPTH:
            yield Issue(path, f"steps are nested {depth} deep; the limit is {MAX_DEPTH}")
        if isinstance(step, ActionStep):
            yield from _action_issues(step, path, action_schema)
        if isinstance(step, AgentStep):
            for index, tool in enumerate(step.tools):
                if tool.action is not None and action_schema(tool.action) is None:
                    yield Issue(f"{path}.tools[{index}].action", f"unknown action {tool.action!r}")
        yield from _response_header_issues(step, path)
        if isinstance(step, LoopStep):
            yield from _wait_in_loop_issues(step, path)
    if count > MAX_STEPS:
        yield Issue("steps", f"the workflow has {count} steps; the limit is {MAX_STEPS}")
    yield from _reference_issues(definition.steps, "steps", frozenset(), in_loop=False)


def _wait_in_loop_issues(loop: LoopStep, path: str) -> Iterator[Issue]:
    """A `wait` step inside a loop is refused: an event is handed to the run by step id, and a loop's
    iterations share it (at once with `concurrency`, or in child runs past `loop_batch_size` items), so an
    iteration could wait for ever. A subworkflow called per item waits in a run of its own."""
    for step, inner_path, _ in iter_steps(loop.steps, f"{path}.steps"):
        if isinstance(step, WaitStep):
            yield Issue(
                inner_path,
                "a wait step cannot be inside a loop: call a subworkflow per item and wait in it (each of "
                "its runs waits for its own event)",
            )


def _response_header_issues(step: Step, path: str) -> Iterator[Issue]:
    """A respond step (or the catalogue's webhook.respond) may not set cookies or CORS headers: its answer
    is served from Baton's own origin. (Names computed at run time are dropped from the answer.)"""
    headers: Any
    if isinstance(step, RespondStep):
        headers, where = step.headers, f"{path}.headers"
    elif (
        isinstance(step, ActionStep)
        and step.action == WEBHOOK_RESPOND_ACTION
        and isinstance(step.input, dict)
    ):
        headers, where = step.input.get("headers"), f"{path}.input.headers"
    else:
        return
    for name in headers if isinstance(headers, dict) else ():
        if refused_response_header(str(name)):
            yield Issue(f"{where}.{name}", "a workflow may not set cookies or CORS headers on Baton's origin")


def _action_issues(step: ActionStep, path: str, action_schema: ActionSchemaLookup) -> Iterator[Issue]:
    schema = action_schema(step.action)
    if schema is None:
        yield Issue(f"{path}.action", f"unknown action {step.action!r}")
        return
    if isinstance(step.input, str):
        if not has_expression(step.input):
            yield Issue(f"{path}.input", "must be an object or one expression giving an object")
        return
    validator = jsonschema.Draft202012Validator(dict(schema))
    for error in validator.iter_errors(step.input):
        if _touches_expression(step.input, list(error.absolute_path)):
            continue
        location = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
        if error.validator == "required":
            missing = error.message.split("'")[1] if "'" in error.message else ""
            location += f".{missing}" if missing else ""
            yield Issue(f"{path}.input{location}", "is required")
        else:
            yield Issue(f"{path}.input{location}", error.message)


def _touches_expression(instance: Any, error_path: list[Any]) -> bool:
    value = instance
    for part in error_path:
        if isinstance(value, str) and has_expression(value):
            return True
        try:
            value = value[part]
        except (KeyError, IndexError, TypeError):
            return False
    return isinstance(value, str) and has_expression(value)


def _reference_issues(
    steps: list[Step], path: str, visible: frozenset[str], *, in_loop: bool
) -> Iterator[Issue]:
    for index, step in enumerate(steps):
        here = f"{path}[{index}]"
        for text, where in _own_strings(step, here):
            # an agent's tool input reads the model's arguments as `item` and the call's number as `index`
            tool_input = isinstance(step, AgentStep) and where.startswith(f"{here}.tools[")
            yield from _expression_issues(text, where, visible, in_loop=in_loop or tool_input)
        inner_loop = in_loop or isinstance(step, LoopStep)
        after = set(visible)
        for child_steps, child_path in child_lists(step, here):
            # an onError step sees the failed step's error, a notify step its approval's links
            sees_parent = child_path.endswith((".onError", ".notify"))
            scope = visible | {step.id} if sees_parent else visible
            yield from _reference_issues(child_steps, child_path, scope, in_loop=inner_loop)
            after |= {s.id for s, _, _ in iter_steps(child_steps, child_path)}
        visible = frozenset(after | {step.id})


def _expression_issues(text: str, where: str, visible: frozenset[str], *, in_loop: bool) -> Iterator[Issue]:
    if "{{" not in text:
        return
    try:
        compile_expression(text)
    except ExpressionError as exc:
        yield Issue(where, exc.message)
        return
    for name in sorted(names_used(text)):
        if name[0] == "steps" and len(name) == 2 and name[1] not in visible:
            yield Issue(where, f"`steps.{name[1]}` is not a step that has run before this one")
        elif name[0] in {"item", "index"} and not in_loop:
            yield Issue(where, f"`{name[0]}` only exists inside a loop's steps")


def workflow_calls(definition: WorkflowDefinition) -> Iterator[tuple[str, str]]:
    """The workflows a definition runs as subworkflows (its subworkflow steps, its agents' workflow
    tools), each with the JSON path of its `workflowId`."""
    for step, path, _ in iter_steps(definition.steps, "steps"):
        if isinstance(step, SubworkflowStep):
            yield step.workflow_id, f"{path}.workflowId"
        elif isinstance(step, AgentStep):
            for index, tool in enumerate(step.tools):
                if tool.workflow_id is not None:
                    yield tool.workflow_id, f"{path}.tools[{index}].workflowId"


def subworkflow_ids(definition: WorkflowDefinition) -> list[str]:
    return [workflow_id for workflow_id, _ in workflow_calls(definition)]


def _cycle_issues(
    definition: WorkflowDefinition, workflow_id: str, graph: Mapping[str, list[str]]
) -> list[Issue]:
    issues = []
    for called, where in workflow_calls(definition):
        if called == workflow_id:
            issues.append(Issue(where, "a workflow cannot call itself"))
            continue
        trail = _path_back(called, workflow_id, graph)
        if trail:
            chain = " -> ".join([workflow_id, *trail])
            issues.append(Issue(where, f"calling it makes a cycle: {chain}"))
    return issues


def _path_back(start: str, target: str, graph: Mapping[str, list[str]]) -> list[str] | None:
    stack: list[tuple[str, list[str]]] = [(start, [start])]
    seen: set[str] = set()
    while stack:
        node, trail = stack.pop()
        if node == target:
            return trail
        if node in seen:
            continue
        seen.add(node)
        stack.extend((child, [*trail, child]) for child in graph.get(node, []))
    return None
