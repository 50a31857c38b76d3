"""`baton runs`: watch and steer runs from a terminal, against any Baton API, with a token stored by
`baton login` (baton.cli_login: in ~/.config/baton/cli.json, or BATON_CLI_CONFIG); `baton approvals`
(baton.cli_approvals) shares its login and API calls."""

from __future__ import annotations

import json
import os
import time
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn

import httpx
import typer

from core.runs.waits import parse_wait

CONFIG_ENV = "BATON_CLI_CONFIG"
STATUS_MARKS = {
    "SUCCESS": "✓",
    "FAILED": "✗",
    "TIMEOUT": "✗",
    "CANCELLED": "⊘",
    "RUNNING": "…",
    "PENDING": "·",
}
TERMINAL = {"SUCCESS", "FAILED", "TIMEOUT", "CANCELLED"}

runs_app = typer.Typer(
    help="Runs of your workflows: list them, show one as a tree of its steps, follow one live.\n\n"
    "Log in first: `baton login --url https://baton.example.com --token -` and paste the token (create "
    "one with POST /api/v1/me/api-keys, scopes executions:read, and executions:write to decide approvals).",
    no_args_is_help=True,
)


def config_path() -> Path:
    return Path(os.environ.get(CONFIG_ENV) or Path.home() / ".config" / "baton" / "cli.json")


def fail(message: str, code: int = 1) -> NoReturn:
    typer.secho(f"error: {message}", fg="red", err=True)
    raise typer.Exit(code)


class Api:
    """The stored login: the API's address, the token, the workspace."""

    def __init__(self, url: str, token: str, workspace: str) -> None:
        self.url, self.workspace, self.token = url.rstrip("/"), workspace, token
        self.http = httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {token}"}, timeout=30)

    @classmethod
    def stored(cls) -> Api:
        path = config_path()
        if not path.exists():
            fail("not logged in: run `baton login --url URL --token -` first (the token on standard input)")
        saved = json.loads(path.read_text())
        return cls(saved["url"], saved["token"], saved["workspace"])

    @property
    def base(self) -> str:
        return f"/api/v1/workspaces/{self.workspace}"

    def get(self, path: str, **params: Any) -> Any:
        return self._answer(
            self._send("GET", path, params={k: v for k, v in params.items() if v is not None})
        )

    def post(self, path: str, body: Any) -> Any:
        return self._answer(self._send("POST", path, json=body))

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return self.http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            fail(f"cannot reach Baton at {self.url} ({exc}); is it running, and is the URL right?")

    @staticmethod
    def _answer(response: httpx.Response) -> Any:
        if response.status_code == 401:
            fail("the token was refused (expired or revoked?): run `baton login` again")
        if response.status_code >= 400:
            try:
                body = response.json()
                detail = body.get("detail") or body
            except ValueError:
                detail = response.text[:200]
            fail(f"{response.status_code}: {detail}")
        return response.json()


def _ago(value: str | None) -> str:
    if not value:
        return "-"
    return datetime.fromisoformat(value.replace("Z", "+00:00")).strftime("%Y-%m-%d %H:%M:%S")


def _duration(ms: int | None) -> str:
    if ms is None:
        return "-"
    return f"{ms} ms" if ms < 10_000 else f"{ms / 1000:.1f} s"


def _live(live: dict[str, Any] | None) -> str:
    """`approve: waiting for approval: ...`, `retrying fetch (attempt 2/5)`: what an open run does."""
    if not live:
        return ""
    if slot := live.get("slot"):
        key = f" (key {slot['key']})" if slot.get("key") else ""
        return f"waiting for a concurrency slot{key}: place {slot['place']}, {slot['limit']} at once"
    for step in live.get("steps", []):
        kind = step.get("kind")
        if (wait := parse_wait(step)) is not None:
            return wait.sentence(step["stepId"])
        if kind == "waiting":  # a wait this version does not know
            return f"waiting for {step.get('for')} on {step['stepId']}"
        if kind == "retrying":
            of = f"/{step['maxAttempts']}" if step.get("maxAttempts") else ""
            at = _ago(step.get("nextAttemptAt"))
            return f"retrying {step['stepId']} (attempt {step['attempt'] + 1}{of} at {at})"
        if kind == "rateLimited":
            return f"rate-limited on {step['stepId']} until {_ago(step.get('resumesAt'))}"
    return str(live.get("state", ""))


def json_option(name: str, value: str, example: str) -> Any:
    """An option given as JSON, or a clear error with an example of what to give."""
    try:
        return json.loads(value)
    except json.JSONDecodeError as exc:
        fail(f"{name} is not JSON ({exc.msg} at column {exc.colno}): give e.g. '{example}'")


@runs_app.command("list")
def runs_list(
    state: Annotated[
        str | None,
        typer.Option(help="Runs not ended that are: pending, running, retrying, rateLimited, waiting"),
    ] = None,
    status: Annotated[str | None, typer.Option(help="SUCCESS, FAILED, RUNNING, ...")] = None,
    workflow: Annotated[str | None, typer.Option(help="A workflow id")] = None,
    limit: Annotated[int, typer.Option(min=1, max=200)] = 20,
) -> None:
    """The newest runs, with what each open one is doing."""
    api = Api.stored()
    page = api.get(f"{api.base}/executions", state=state, status=status, workflowId=workflow, limit=limit)
    if not page["items"]:
        typer.echo("No runs match.")
        return
    for run in page["items"]:
        mark = STATUS_MARKS.get(run["status"], "?")
        doing = _live(run.get("live"))
        typer.echo(
            f"{mark} {run['id']}  {run['status']:<9} {_ago(run.get('startedAt')):<19}  "
            f"{_duration(run.get('duration')):>9}  {doing}".rstrip()
        )


def _step_line(item: dict[str, Any]) -> str:
    mark = STATUS_MARKS.get(item["status"], "?")
    where = f"[{']['.join(str(i) for i in item['iteration'])}] " if item["iteration"] else ""
    parts = [f"{'  ' * item['depth']}{mark} {where}{item['name']} ({item['stepType']})"]
    if item.get("branchTaken"):
        parts.append(f"→ {item['branchTaken']}")
    if item.get("attempts", 1) > 1:
        parts.append(f"{item['attempts']} attempts")
    parts.append(_duration(item.get("duration")))
    state = item.get("state") or {}
    if (wait := parse_wait(state)) is not None:
        parts.append(wait.sentence(item["name"]))
    elif state.get("kind") == "waiting":
        parts.append(f"waiting for {state.get('for')}")
    elif state.get("kind") == "retrying":
        parts.append(f"retrying: {state.get('lastError')}")
    elif item.get("error"):
        parts.append(f"error: {item['error']}")
    return "  ".join(parts)


def _service_answer(row: dict[str, Any]) -> dict[str, Any] | None:
    """What the service answered a failed action step (its output's `error.response`), if it answered."""
    error = row.get("output", {}).get("error") if isinstance(row.get("output"), dict) else None
    answer = error.get("response") if isinstance(error, dict) else None
    return answer if isinstance(answer, dict) else None


def _answer_lines(answer: dict[str, Any], indent: str) -> str:
    body = answer.get("body")
    text = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False)
    if answer.get("bodyTruncated"):
        text += f" … ({answer.get('bodyBytes')} bytes in all)"
    kind = (answer.get("headers") or {}).get("content-type")
    lines = [f"answered {answer.get('status')}" + (f" ({kind})" if kind else ""), *text.splitlines()]
    return "\n".join(indent + line for line in lines)


@runs_app.command("show")
def runs_show(execution_id: Annotated[str, typer.Argument(help="The run's execution id")]) -> None:
    """One run as a tree of its steps: states, branches taken, attempts, timings."""
    api = Api.stored()
    run = api.get(f"{api.base}/executions/{execution_id}")
    timeline = api.get(f"{api.base}/executions/{execution_id}/timeline")
    doing = _live(run.get("live"))
    typer.echo(f"Run {run['id']}: {run['status']}{f' — {doing}' if doing else ''}")
    typer.echo(f"  started {_ago(run.get('startedAt'))}, took {_duration(run.get('duration'))}")
    if run.get("error"):
        typer.echo(f"  error: {run['error']}")
    answers = {
        row.get("stepKey") or row["stepId"]: answer
        for row in run.get("stepExecutions") or []
        if (answer := _service_answer(row)) is not None
    }
    for item in timeline["items"]:
        typer.echo(_step_line(item))
        if item["key"] in answers:
            typer.echo(_answer_lines(answers[item["key"]], "  " * item["depth"] + "    "))


@runs_app.command("pause")
def runs_pause(
    execution_id: Annotated[str, typer.Argument(help="The run's execution id")],
    reason: Annotated[str | None, typer.Option(help="Why (shown with the paused run)")] = None,
) -> None:
    """Park a run before its next step (steps under way finish first) until `baton runs unpause`."""
    api = Api.stored()
    api.post(f"{api.base}/executions/{execution_id}/pause", {"reason": reason})
    typer.echo(
        f"Run {execution_id} pauses before its next step; `baton runs unpause {execution_id}` resumes it."
    )


@runs_app.command("unpause")
def runs_unpause(
    execution_id: Annotated[str, typer.Argument(help="The run's execution id")],
    step_input: Annotated[
        str | None,
        typer.Option(help='A step parked by onError "pause": try it again with this JSON input'),
    ] = None,
    latest_version: Annotated[
        bool, typer.Option(help="A parked step: go on from it on the latest published version")
    ] = False,
    give_up: Annotated[bool, typer.Option(help="A parked step: fail it, and the run")] = False,
) -> None:
    """Let a paused run go on, or decide for a step parked by `onError: "pause"`."""
    body: dict[str, Any] = {"giveUp": give_up, "latestVersion": latest_version}
    if step_input is not None:
        body["stepInput"] = json_option("--step-input", step_input, '{"url": "https://..."}')
    api = Api.stored()
    api.post(f"{api.base}/executions/{execution_id}/unpause", body)
    what = "gives up" if give_up else "goes on"
    typer.echo(f"Run {execution_id} {what}; `baton runs watch {execution_id}` follows it.")


@runs_app.command("retry")
def runs_retry(
    execution_id: Annotated[str, typer.Argument(help="A failed, timed-out or cancelled run")],
) -> None:
    """Run a failed run again from its start, with the same trigger data (a new execution)."""
    api = Api.stored()
    run = api.post(f"{api.base}/executions/{execution_id}/retry", {})
    typer.echo(f"Retried {execution_id} as {run['id']}; `baton runs watch {run['id']}` follows it.")


@runs_app.command("resume")
def runs_resume(
    execution_id: Annotated[str, typer.Argument(help="A failed, timed-out or cancelled run")],
    from_step: Annotated[
        str | None, typer.Option(help="Start at this step instead of the one that failed")
    ] = None,
    trigger: Annotated[
        str | None, typer.Option(help="Run with this trigger data (JSON) instead of the failed run's")
    ] = None,
    step_outputs: Annotated[
        str | None,
        typer.Option(
            help="Outputs of earlier steps to use instead, as JSON by step id: '{\"lookup\": {...}}'"
        ),
    ] = None,
    latest_version: Annotated[bool, typer.Option(help="Run the workflow's latest published version")] = False,
) -> None:
    """Run a failed run again from the step that failed (or --from-step), reusing what succeeded before it."""
    body: dict[str, Any] = {"latestVersion": latest_version}
    if from_step is not None:
        body["fromStep"] = from_step
    if trigger is not None:
        body["triggerData"] = json_option("--trigger", trigger, '{"email": "ada@example.com"}')
    if step_outputs is not None:
        body["stepOutputs"] = json_option("--step-outputs", step_outputs, '{"lookup": {"id": 42}}')
    api = Api.stored()
    run = api.post(f"{api.base}/executions/{execution_id}/resume", body)
    typer.echo(f"Resumed {execution_id} as {run['id']}; `baton runs watch {run['id']}` follows it.")


@runs_app.command("replay")
def runs_replay(
    resume: Annotated[
        bool, typer.Option("--resume", help="Resume each run from its failed step instead of retrying it")
    ] = False,
    workflow: Annotated[str | None, typer.Option(help="Runs of this workflow only")] = None,
    status: Annotated[
        list[str] | None, typer.Option(help="Runs that ended so (repeat it; default FAILED and TIMEOUT)")
    ] = None,
    since: Annotated[str | None, typer.Option(help="Runs created at or after this time (ISO 8601)")] = None,
    until: Annotated[str | None, typer.Option(help="Runs created before this time (ISO 8601)")] = None,
    error: Annotated[str | None, typer.Option(help="Runs whose error has this text")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="At most this many, oldest first")] = 100,
    dry_run: Annotated[bool, typer.Option(help="Count what matches and start nothing")] = False,
    latest_version: Annotated[bool, typer.Option(help="--resume: on the latest published version")] = False,
    wait: Annotated[bool, typer.Option(help="Follow the batch until every run is replayed")] = True,
) -> None:
    """Retry (or --resume) every run that matches, as one durable batch, and follow its progress.

    Try it with --dry-run first: `baton runs replay --workflow WF --error timeout --dry-run`."""
    action = "resume" if resume else "retry"
    body: dict[str, Any] = {"limit": limit, "dryRun": dry_run, "latestVersion": latest_version}
    for name, value in (
        ("workflowId", workflow),
        ("since", since),
        ("until", until),
        ("errorContains", error),
    ):
        if value is not None:
            body[name] = value
    if status:
        body["status"] = [s.upper() for s in status]
    api = Api.stored()
    batch = api.post(f"{api.base}/executions/{action}", body)
    if dry_run:
        shown = ", ".join(batch.get("executionIds") or []) or "none"
        typer.echo(f"{batch['matched']} runs match; a {action} would replay {batch['total']}: {shown}")
        return
    typer.echo(f"Batch {batch['batchId']}: {action} of {batch['total']} runs.")
    while wait and batch["status"] != "COMPLETED":
        time.sleep(1)
        batch = api.get(f"{api.base}/executions/batches/{batch['batchId']}")
        typer.echo(
            f"  {batch['done']}/{batch['total']} done: {batch['started']} started, {batch['skipped']} skipped"
        )
    if wait:
        for outcome in batch.get("outcomes", []):
            if outcome.get("skipped"):
                typer.echo(f"  skipped {outcome['executionId']}: {outcome['skipped']}")
    else:
        typer.echo(f"`baton runs batch {batch['batchId']}` shows its progress.")


@runs_app.command("batch")
def runs_batch(batch_id: Annotated[str, typer.Argument(help="A batch from `baton runs replay`")]) -> None:
    """A bulk retry's or resume's progress, and the run each replayed run started."""
    api = Api.stored()
    batch = api.get(f"{api.base}/executions/batches/{batch_id}")
    typer.echo(
        f"Batch {batch_id} ({batch['action']}): {batch['status']}, {batch['done']}/{batch['total']} done, "
        f"{batch['started']} started, {batch['skipped']} skipped"
    )
    for outcome in batch.get("outcomes", []):
        what = f"-> {outcome['started']}" if outcome.get("started") else f"skipped: {outcome.get('skipped')}"
        typer.echo(f"  {outcome['executionId']} {what}")


@runs_app.command("watch")
def runs_watch(execution_id: Annotated[str, typer.Argument(help="The run's execution id")]) -> None:
    """Follow a run live (its event stream) until it ends."""
    api = Api.stored()
    run = api.get(f"{api.base}/executions/{execution_id}")
    typer.echo(f"Run {execution_id}: {run['status']}")
    if run["status"] in TERMINAL:
        return
    path = f"{api.base}/executions/{execution_id}/events"
    try:
        with api.http.stream("GET", path, timeout=httpx.Timeout(30, read=None)) as stream:
            if stream.status_code >= 400:
                stream.read()
                Api._answer(stream)
            for line in stream.iter_lines():
                if not line.startswith("data: "):
                    continue
                event = json.loads(line[6:])
                when = _ago(event.get("timestamp")) if event.get("timestamp") else "now".ljust(19)
                typer.echo(f"{when}  {event.get('message') or event.get('status')}")
                if event.get("type") == "execution" and event.get("status") in TERMINAL:
                    return
    except httpx.TransportError as exc:
        fail(f"the event stream broke ({exc}); run `baton runs watch {execution_id}` again to resume")
