"""`baton login`: check a token (or make an API key from a password) and store it for the other commands.

A token given as `--token VALUE` shows in `ps` to every user of the machine and stays in the shell's
history, so the command also takes it from BATON_TOKEN or from standard input (`--token -`). The stored
login lives in a folder and a file only their owner can read (0700 and 0600)."""

from __future__ import annotations

import json
import os
import socket
import sys
from pathlib import Path
from typing import Annotated

import typer

from baton.cli_runs import CONFIG_ENV, Api, config_path, fail

TOKEN_ENV = "BATON_TOKEN"
FROM_STDIN = "-"
CLI_SCOPES = [
    "workflows:read", "workflows:write", "executions:read", "executions:write", "connections:read",
]  # fmt: skip


def login(
    url: Annotated[str, typer.Option(help="The Baton API, e.g. http://127.0.0.1:8000")],
    token: Annotated[
        str | None,
        typer.Option(
            envvar=TOKEN_ENV,
            help="An API key (POST /api/v1/me/api-keys) or an access token. Prefer `--token -` (read from "
            f"standard input, or asked for without echo at a terminal) or {TOKEN_ENV}: a value on the "
            "command line shows in `ps` and stays in your shell history. Or log in with --email",
        ),
    ] = None,
    email: Annotated[
        str | None,
        typer.Option(help="Log in with your account instead (asks for the password) and make an API key"),
    ] = None,
    workspace: Annotated[str | None, typer.Option(help="Workspace id (default: your only workspace)")] = None,
) -> None:
    """Check a token against a Baton API and store it for `baton runs`, `baton approvals` and `baton
    workflows`. With --email, log in with your password: the CLI makes itself an API key (a login token
    lasts 15 minutes; the key lasts until you revoke it in GET /api/v1/me/api-keys)."""
    if token == FROM_STDIN:
        token = _token_from_stdin()
    elif token is not None and _given_on_the_command_line():
        typer.secho(
            f"note: a token on the command line shows in `ps` and your shell history; next time use "
            f"`--token -` (standard input) or {TOKEN_ENV}",
            fg="yellow",
            err=True,
        )
    if token is None:
        if email is None:
            fail(f"give --token - (an API key, read from standard input), {TOKEN_ENV}, or --email", 2)
        token = _key_for(url, email, typer.prompt("Password", hide_input=True))
    api = Api(url, token, workspace or "")
    workspaces = api.get("/api/v1/workspaces")["items"]
    if workspace is None:
        if len(workspaces) != 1:
            names = ", ".join(f"{w['id']} ({w['name']})" for w in workspaces) or "none"
            fail(f"pick a workspace with --workspace: you belong to {names}")
        workspace = str(workspaces[0]["id"])
    elif workspace not in {w["id"] for w in workspaces}:
        fail(f"workspace {workspace} is not one of yours")
    path = config_path()
    private_folder(path.parent, ours=not os.environ.get(CONFIG_ENV))
    # it holds a token: readable by its owner only, from the moment it exists
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as saved:
        saved.write(json.dumps({"url": url, "token": token, "workspace": workspace}))
    path.chmod(0o600)  # a file left by an older version
    typer.echo(f"Logged in to {url}, workspace {workspace} (saved in {path}).")


def private_folder(folder: Path, *, ours: bool) -> None:
    """Makes the folder of the stored login 0700. One left 0755 by an older version is tightened when it is
    Baton's own (~/.config/baton); a folder named through BATON_CLI_CONFIG may be shared, so it is only made
    private when this creates it."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    if ours and folder.stat().st_mode & 0o077:
        folder.chmod(0o700)


def _given_on_the_command_line() -> bool:
    return any(arg == "--token" or arg.startswith("--token=") for arg in sys.argv[1:])


def _token_from_stdin() -> str:
    if sys.stdin.isatty():
        return str(typer.prompt("Token", hide_input=True)).strip()
    token = sys.stdin.readline().strip()
    if not token:
        fail("--token -: standard input held no token", 2)
    return token


def _key_for(url: str, email: str, password: str) -> str:
    """Logs in and makes an API key for this machine's CLI; the login token is not kept."""
    from api.schemas.accounts import ApiKeyCreated
    from baton.client import ApiError, Client

    with Client(url, max_retries=1) as client:
        try:
            client.auth.login(email, password)
            name = f"baton CLI on {socket.gethostname()}"[:100]
            created: ApiKeyCreated = client.me.create_api_key(name, CLI_SCOPES)
        except ApiError as exc:
            fail(f"could not log in to {url}: {exc.detail}")
    typer.echo(f"Made the API key {created.prefix}… ({', '.join(CLI_SCOPES)}) for this CLI.")
    return created.key
