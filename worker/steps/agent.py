"""Agent steps: a model calling tools in a loop, every model turn and every tool call its own activity.

A turn is an `llm.chat` call (the step's connection and model, its tools' schemas); each tool call the model
asks for runs as what the tool is: an action through the run's action path (idempotency key, rate limit,
usage, its own row), a published workflow as a child run, an MCP server's tool through `mcp.call_tool`.
Each call has its own record key under the step's (`chat/turn-2`, `chat/call-3`), so its row, its
idempotency key and the output kept under that key are its own: after a worker crash the run replays from
Temporal's history, and a call whose result never reached it answers from what it kept instead of calling
again. A tool with `requireApproval` makes the step wait for a decision (an approval's wait, with the tool
and the proposed arguments; a decision may carry edited arguments). The conversation is kept per session
key in the workspace's data store (`store.get` / `store.set`), trimmed to the step's `memory` policy.

What a model writes (arguments, text) is handed to the calls as given, never rendered as expressions.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError, ChildWorkflowError

with workflow.unsafe.imports_passed_through():
    from core.contract import Decision, StepRecord
    from core.definition.agent_tools import AgentMemory, AgentTool
    from core.definition.steps import ActionStep, AgentStep, SubworkflowStep
    from core.models.enums import ExecutionStatus
    from core.runs.live import progressing
    from core.runs.waits import ApprovalWait
    from integrations.catalogue import action_input_schema
    from worker.run_scope import Scope, StepFailed, describe_failure
    from worker.steps.context import StepContext, step_handler
    from worker.steps.subworkflows import child_run
    from worker.steps.waits import as_text, signed_links

CHAT_ACTION = "llm.chat"
MCP_ACTION = "mcp.call_tool"
MEMORY_PREFIX = "agent:"
# A tool's result as the model reads it is cut here (a page of a service's answer is plenty).
MAX_TOOL_RESULT_CHARS = 16_000
# What memory keeps is a data store value (at most 256 KiB): the oldest messages go first.
MAX_MEMORY_CHARS = 200_000
ANY_ARGUMENTS = {"type": "object", "additionalProperties": True}


@dataclass
class Tally:
    """What the step's turns and calls came to: the run view reads it as the step's output."""

    turns: list[dict[str, Any]] = field(default_factory=list)
    calls: list[dict[str, Any]] = field(default_factory=list)
    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0
    cost_usd: float = 0.0
    cost_known: bool = True

    def add_turn(self, number: int, reply: dict[str, Any]) -> None:
        usage = reply.get("usage") or {}
        cost = (reply.get("cost") or {}).get("usd")
        self.input_tokens += int(usage.get("inputTokens") or 0)
        self.output_tokens += int(usage.get("outputTokens") or 0)
        self.total_tokens += int(usage.get("totalTokens") or 0)
        if cost is None:
            self.cost_known = False
        else:
            self.cost_usd += float(cost)
        self.turns.append(
            {
                "turn": number,
                "text": reply.get("text", ""),
                "toolCalls": reply.get("toolCalls") or [],
                "finishReason": reply.get("finishReason"),
                "usage": usage,
                "costUsd": cost,
                "model": reply.get("model"),
            }
        )

    def usage(self) -> dict[str, int]:
        return {
            "inputTokens": self.input_tokens,
            "outputTokens": self.output_tokens,
            "totalTokens": self.total_tokens,
        }

    def output(self, answer: str, session: str | None) -> dict[str, Any]:
        return {
            "answer": answer,
            "turns": self.turns,
            "toolCalls": self.calls,
            "usage": self.usage(),
            "costUsd": round(self.cost_usd, 8) if self.cost_known else None,
            "sessionKey": session,
        }


@step_handler(AgentStep)
async def agent(ctx: StepContext, step: AgentStep) -> Any:
    message = as_text(ctx.render(step.message, "message"))
    system = ctx.render(step.system, "system") if step.system is not None else None
    session = _session_key(ctx, step.memory)
    earlier = await _remembered(ctx, step, session) if session is not None else []
    conversation: list[dict[str, Any]] = [*earlier, {"role": "user", "content": message}]
    tools = {tool.name: tool for tool in step.tools}
    specs = [_spec(tool) for tool in step.tools]
    tally, calls = Tally(), 0
    for number in range(1, step.max_turns + 1):
        _progress(ctx, step, number, f"turn {number}: asking {step.model}")
        request: dict[str, Any] = {"model": step.model, "messages": conversation}
        if system:
            request["system"] = as_text(system)
        if step.temperature is not None:
            request["temperature"] = step.temperature
        if specs:
            request["tools"] = specs
        if step.stream:
            request["stream"] = True
        chat = ActionStep(
            id=step.id, action=CHAT_ACTION, connection_id=step.connection_id, retry=step.retry, name=step.name
        )
        reply: dict[str, Any] = await ctx.call_action(chat, f"{ctx.key}/turn-{number}", request)
        tally.add_turn(number, reply)
        _check_limits(step, tally, number)
        asked = reply.get("toolCalls") or []
        conversation.append(_assistant(reply.get("text") or "", asked))
        if not asked:
            answer = reply.get("text") or ""
            break
        for asked_call in asked:
            calls += 1
            result = await _call_tool(ctx, step, tools, asked_call, calls, tally)
            conversation.append(
                {
                    "role": "tool",
                    "toolCallId": asked_call.get("id") or f"call-{calls}",
                    "name": asked_call.get("name"),
                    "content": _as_content(result),
                }
            )
    else:
        raise StepFailed(
            step.id,
            f"step {step.id!r}: the model still called tools after {step.max_turns} turns (its maxTurns); "
            "no answer",
            "AgentLimit",
        )
    if session is not None and step.memory is not None:
        kept = trimmed(conversation, step.memory)
        store = ActionStep(id=step.id, action="store.set", name=step.name)
        await ctx.call_action(store, f"{ctx.key}/memory-write", {"key": session, "value": kept})
    return tally.output(answer, session)


def _session_key(ctx: StepContext, memory: AgentMemory | None) -> str | None:
    if memory is None:
        return None
    key = as_text(ctx.render(memory.session_key, "memory.sessionKey"))
    if not key:
        raise StepFailed(ctx.step.id, f"step {ctx.step.id!r} memory.sessionKey is empty", "InvalidValue")
    return MEMORY_PREFIX + key


async def _remembered(ctx: StepContext, step: AgentStep, session: str) -> list[dict[str, Any]]:
    read = ActionStep(id=step.id, action="store.get", name=step.name)
    found = await ctx.call_action(read, f"{ctx.key}/memory-read", {"key": session, "default": []})
    value = found.get("value")
    return [m for m in value if isinstance(m, dict)] if isinstance(value, list) else []


def trimmed(conversation: list[dict[str, Any]], memory: AgentMemory) -> list[dict[str, Any]]:
    """The last messages the policy keeps (N messages, about N tokens, the store's value size), starting
    at a user's message so no tool answer is kept without the call it answers."""
    kept = conversation[-memory.max_messages :]
    budget = MAX_MEMORY_CHARS if memory.max_tokens is None else min(MAX_MEMORY_CHARS, memory.max_tokens * 4)
    while kept and len(json.dumps(kept)) > budget:
        kept = kept[1:]
    while kept and kept[0].get("role") != "user":
        kept = kept[1:]
    return kept


def _spec(tool: AgentTool) -> dict[str, Any]:
    """The function the model is offered: the tool's name, description and arguments' JSON Schema (the
    action's input schema unless the tool gives its own)."""
    parameters = tool.parameters
    if parameters is None and tool.action is not None:
        parameters = action_input_schema(tool.action)
    return {"name": tool.name, "description": tool.description, "parameters": parameters or ANY_ARGUMENTS}


def _assistant(text: str, asked: list[dict[str, Any]]) -> dict[str, Any]:
    said: dict[str, Any] = {"role": "assistant", "content": text}
    if asked:
        said["toolCalls"] = asked
    return said


def _as_content(result: Any) -> str:
    text = result if isinstance(result, str) else json.dumps(result, default=str)
    return text if len(text) <= MAX_TOOL_RESULT_CHARS else text[:MAX_TOOL_RESULT_CHARS] + "…(cut)"


def _check_limits(step: AgentStep, tally: Tally, turn: int) -> None:
    if step.max_tokens is not None and tally.total_tokens > step.max_tokens:
        raise StepFailed(
            step.id,
            f"step {step.id!r} used {tally.total_tokens} tokens in {turn} turns, over its maxTokens "
            f"({step.max_tokens})",
            "AgentLimit",
        )
    if step.max_cost_usd is not None and tally.cost_usd > step.max_cost_usd:
        raise StepFailed(
            step.id,
            f"step {step.id!r} cost ${tally.cost_usd:.6f} in {turn} turns, over its maxCostUsd "
            f"(${step.max_cost_usd:g})",
            "AgentLimit",
        )


def _progress(ctx: StepContext, step: AgentStep, done: int, message: str) -> None:
    """The step's row says where the agent is (its live state), written with the next call's."""
    ctx.note(
        StepRecord(
            ctx.key,
            step.id,
            step.type,
            ExecutionStatus.RUNNING.value,
            started_at=ctx.started,
            state=progressing({"done": done, "total": step.max_turns, "message": message}),
        )
    )
    ctx.show(f"{step.label} (agent): {message}")


async def _call_tool(
    ctx: StepContext,
    step: AgentStep,
    tools: dict[str, AgentTool],
    asked: dict[str, Any],
    number: int,
    tally: Tally,
) -> Any:
    """One tool call the model asked for; its result, or an error the model reads (an unknown tool, a
    rejected call, a failed action), recorded on the step's output."""
    name = str(asked.get("name") or "")
    given = asked.get("arguments")
    arguments: dict[str, Any] = given if isinstance(given, dict) else {}
    record: dict[str, Any] = {"call": number, "id": asked.get("id"), "name": name, "arguments": arguments}
    tally.calls.append(record)
    tool = tools.get(name)
    if tool is None:
        record["error"] = f"there is no tool named {name!r}"
        return {"error": record["error"]}
    if tool.require_approval:
        decision = await _approval(ctx, step, tool, arguments, number)
        record["approval"] = {"approved": decision.approved, "by": decision.by, "comment": decision.comment}
        if not decision.approved:
            why = f": {decision.comment}" if decision.comment else ""
            record["error"] = f"a person rejected this call{why}"
            return {"error": record["error"]}
        if decision.arguments is not None:
            arguments = record["arguments"] = decision.arguments
            record["approval"]["editedArguments"] = True
    _progress(ctx, step, len(tally.turns), f"calling {name}")
    key, began = f"{ctx.key}/call-{number}", workflow.now().isoformat()
    # an action's activity writes its row when it succeeds; a child run's call, and a failed one, are noted
    kind = "subworkflow" if tool.workflow_id is not None else "action"
    try:
        result = await _run_tool(ctx, step, tool, arguments, number, key)
    except (StepFailed, ActivityError, ApplicationError, ChildWorkflowError) as error:
        failure = describe_failure(step.id, error)
        record["error"] = failure.message
        ended = StepRecord(key, step.id, kind, ExecutionStatus.FAILED.value, arguments, failure.as_output())
        ctx.note(
            replace(ended, error=failure.message, started_at=began, completed_at=workflow.now().isoformat())
        )
        return {"error": failure.message}
    if tool.workflow_id is not None:
        ended = StepRecord(key, step.id, kind, ExecutionStatus.SUCCESS.value, arguments, result)
        ctx.note(replace(ended, started_at=began, completed_at=workflow.now().isoformat()))
    # the step's output keeps what the model read (a long result cut as it was), so it stays bounded
    record["result"] = (
        result if len(json.dumps(result, default=str)) <= MAX_TOOL_RESULT_CHARS else _as_content(result)
    )
    return result


async def _approval(
    ctx: StepContext, step: AgentStep, tool: AgentTool, arguments: dict[str, Any], number: int
) -> Decision:
    wait = ApprovalWait(
        message=f"{step.label} wants to call {tool.name} with {json.dumps(arguments, default=str)[:1000]}",
        approvers=tool.approvers or [],
        tool=tool.name,
        arguments=arguments,
        call=number,
    )
    ctx.waits(wait)
    if step.notify:  # ask for it: the notify steps read this call and its links' stand-ins in the output
        asking = {"tool": tool.name, "arguments": arguments, "call": number, "message": wait.message}
        asking.update(await signed_links(ctx, None, number))
        # each call's notify steps have rows and idempotency keys of their own (`ask/3`), as a loop's items
        scope = Scope(
            dict(ctx.scope.steps),
            dict(ctx.scope.vars),
            ctx.scope.item,
            ctx.scope.index,
            f"{ctx.scope.iteration}/{number}",
        )
        scope.set_output(step.id, asking)
        await ctx.run_steps(step.notify, scope)
    await ctx.flush()
    try:
        decision: Decision = await ctx.delivered(None)
    finally:
        ctx.waited(wait)
    return decision


async def _run_tool(
    ctx: StepContext, step: AgentStep, tool: AgentTool, arguments: dict[str, Any], number: int, key: str
) -> Any:
    data: Any = arguments
    if tool.input is not None:  # the tool's input reads the arguments as `item`, the call's number as `index`
        scope = Scope(dict(ctx.scope.steps), dict(ctx.scope.vars), arguments, number, ctx.scope.iteration)
        data = ctx.render(tool.input, f"tools.{tool.name}.input", scope)
    if tool.workflow_id is not None:
        child = SubworkflowStep(id=step.id, workflow_id=tool.workflow_id, name=f"{step.label}: {tool.name}")
        return await child_run(ctx, child, data, None)
    if tool.mcp is not None:
        call = ActionStep(id=step.id, action=MCP_ACTION, connection_id=tool.connection_id, retry=step.retry)
        data = {"url": tool.mcp.url, "tool": tool.mcp.tool, "arguments": data, "failOnToolError": False}
        return await ctx.call_action(call, key, data)
    assert tool.action is not None
    action = ActionStep(
        id=step.id,
        action=tool.action,
        connection_id=tool.connection_id,
        retry=step.retry,
        name=f"{step.label}: {tool.name}",
    )
    if not isinstance(data, dict):
        raise StepFailed(step.id, f"tool {tool.name!r}: its input must be an object", "InvalidInput")
    return await ctx.call_action(action, key, data)
