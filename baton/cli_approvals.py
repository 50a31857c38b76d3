"""`baton approvals`: the approvals your runs wait on, listed and decided from a terminal (the login and
the API calls are `baton runs`', baton.cli_runs): a plain approval, a human step that asks for a choice or
values, an agent's tool call with its arguments."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from baton.cli_runs import Api, _ago, fail, json_option

approvals_app = typer.Typer(
    help="Approvals your runs wait on: list the pending ones, approve or reject one.", no_args_is_help=True
)


@approvals_app.command("list")
def approvals_list(
    status: Annotated[str, typer.Option(help="pending, decided or all")] = "pending",
) -> None:
    """Approvals your runs wait on (or were decided), newest first."""
    api = Api.stored()
    items = api.get(f"{api.base}/approvals", status=status)["items"]
    if not items:
        typer.echo("Nothing waits for an approval." if status == "pending" else "No approvals match.")
        return
    for a in items:
        right = "you may decide" if a["canDecide"] else "not yours to decide"
        expires = f", expires {_ago(a['expiresAt'])}" if a.get("expiresAt") else ""
        typer.echo(f"{a['executionId']} {a['stepId']}: {a['message'] or '(no message)'}")
        typer.echo(f"    {a['workflowName']} · asked {_ago(a['requestedAt'])}{expires} · {right}")
        if a.get("choices"):
            typer.echo(f"    choose one (--choice): {', '.join(a['choices'])}")
        for field in a.get("fields") or []:
            required = ", required" if field.get("required") else ""
            typer.echo(f"    --value {field['name']}=... ({field.get('type', 'text')}{required})")
        if a.get("tool"):
            proposed = json.dumps(a.get("arguments") or {})
            typer.echo(f"    calls {a['tool']} with {proposed} (to change them: --arguments JSON)")


@approvals_app.command("decide")
def approvals_decide(
    execution_id: Annotated[str, typer.Argument(help="The run waiting")],
    step_id: Annotated[str, typer.Argument(help="Its approval step")],
    approve: Annotated[bool, typer.Option("--approve/--reject", help="The decision")],
    comment: Annotated[str | None, typer.Option(help="Why (kept with the decision)")] = None,
    choice: Annotated[
        str | None, typer.Option(help="A step with choices: the one chosen (`baton approvals` lists them)")
    ] = None,
    value: Annotated[
        list[str] | None,
        typer.Option(help="A step with fields: NAME=VALUE, once per field (--value amount=40)"),
    ] = None,
    arguments: Annotated[
        str | None,
        typer.Option(help="An agent's tool call: approve it with these arguments, a JSON object"),
    ] = None,
) -> None:
    """Approve or reject an approval step a run waits on; one that asks for a choice or values takes them
    (`baton approvals decide RUN ask --approve --choice refund --value amount=40`)."""
    values: dict[str, str] = {}
    for pair in value or []:
        name, sep, given = pair.partition("=")
        if not sep or not name:
            raise typer.BadParameter(f"{pair!r}: write NAME=VALUE", param_hint="--value")
        values[name] = given
    body: dict[str, object] = {"approved": approve, "comment": comment}
    if choice is not None:
        body["choice"] = choice
    if values:
        body["values"] = values
    if arguments is not None:
        given = json_option("--arguments", arguments, '{"orderId": "A-1", "amount": 20}')
        if not isinstance(given, dict):
            fail("--arguments must be a JSON object (the tool's arguments by name)")
        body["arguments"] = given
    api = Api.stored()
    answer = api.post(f"{api.base}/executions/{execution_id}/steps/{step_id}/decision", body)
    picked = f" ({choice})" if choice else ""
    verdict = "Approved" if answer.get("approved") else "Rejected"
    typer.echo(f"{verdict} {step_id} of run {execution_id}{picked}.")
