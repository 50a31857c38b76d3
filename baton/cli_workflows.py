"""`baton workflows pull|diff|push`: a workspace's workflows as YAML files, kept in git, reviewed in pull
requests, promoted from one workspace to another (baton/workflow_files.py does the work)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer

from baton.cli_runs import Api, fail
from baton.client import ApiError, Client
from baton.workflow_files import Change, FileError, apply, load_folder, plan, pull

T = TypeVar("T")

workflows_app = typer.Typer(
    help="Workflows as code: one YAML file per workflow, named by its key.\n\n"
    "  baton workflows pull flows/            # the workspace's workflows, as files\n"
    "  baton workflows diff flows/            # what a push would change (exit 1 if anything: --check)\n"
    "  baton workflows push flows/ -m 'why'   # create, update and publish them; --prune deletes the rest\n\n"
    "Promote staging to production: pull with --workspace STAGING, push with --workspace PRODUCTION. "
    "Connections are named in the files and found by name where they are pushed. Log in first with "
    "`baton login` (an API key with workflows:read, workflows:write and connections:read).",
    no_args_is_help=True,
)

Folder = Annotated[Path, typer.Argument(help="The folder of workflow files (<key>.yaml)")]
WorkspaceOption = Annotated[
    str | None, typer.Option("--workspace", "-w", help="Workspace id (default: the one `baton login` chose)")
]
Prune = Annotated[bool, typer.Option(help="Also delete the workspace's workflows that no file describes")]


def _against(workspace: str | None, work: Callable[[Client, str], T]) -> T:
    """`work` with a client of the stored login, on `workspace` (or the login's); its errors as CLI errors
    naming the file and JSON path, or what Baton answered."""
    stored = Api.stored()
    client = Client(stored.url, token=stored.token)
    try:
        return work(client, workspace or stored.workspace)
    except FileError as exc:
        fail(str(exc))
    except ApiError as exc:
        where = f" (at {exc.path})" if exc.path else ""
        fail(f"Baton answered {exc.status} {exc.error}: {exc.detail}{where}")
    finally:
        client.close()


@workflows_app.command("pull")
def pull_command(folder: Folder, workspace: WorkspaceOption = None) -> None:
    """Write every workflow of the workspace to FOLDER as <key>.yaml (a workflow without a key gets one made
    from its name, saved on it so the next push finds it)."""
    written = _against(workspace, lambda client, target: pull(client, target, folder))
    for name, keyed_now in written:
        typer.echo(f"  {folder / name}" + ("  (the workflow got this key)" if keyed_now else ""))
    typer.echo(f"Pulled {len(written)} workflows into {folder}.")


@workflows_app.command("diff")
def diff_command(
    folder: Folder,
    workspace: WorkspaceOption = None,
    prune: Prune = False,
    check: Annotated[bool, typer.Option(help="Exit 1 when a push would change anything (for CI)")] = False,
) -> None:
    """Show what `push` would do: each workflow created, updated, published or deleted, with a diff."""
    changes = _against(
        workspace, lambda client, target: plan(client, target, load_folder(folder), prune=prune)
    )
    for change in changes:
        typer.echo(change.line())
        if change.action in ("update", "delete", "create"):
            typer.echo(change.diff())
    pending = [c for c in changes if c.action != "same"]
    typer.echo(f"{len(pending)} to change, {len(changes) - len(pending)} unchanged.")
    if check and pending:
        raise typer.Exit(1)


@workflows_app.command("push")
def push_command(
    folder: Folder,
    workspace: WorkspaceOption = None,
    prune: Prune = False,
    message: Annotated[
        str, typer.Option("--message", "-m", help="The change description of the versions published")
    ] = "baton workflows push",
) -> None:
    """Apply FOLDER to the workspace: create what is new, update and publish what changed (one version
    each, described by --message), nothing for what is the same. Every file is checked before any change."""

    def push(client: Client, target: str) -> list[Change]:
        changes = plan(client, target, load_folder(folder), prune=prune)
        apply(client, target, changes, message)
        return changes

    changes = _against(workspace, push)
    for change in changes:
        typer.echo(change.line())
    done = [c for c in changes if c.action != "same"]
    typer.echo(f"Pushed {folder}: {len(done)} changed, {len(changes) - len(done)} unchanged.")
