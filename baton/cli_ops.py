"""The operator's `baton` commands: migrations, seeding, plans, Temporal set-up, reconciling, key
rotation, docs, retention, partitions, backups (registered on `baton.cli.app`)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from baton.cli_common import (
    _database_unreachable,
    _exit_without_teardown,
    _logging,
    _settings,
    _temporal_unreachable,
)

ops = typer.Typer()


@ops.command()
def migrate() -> None:
    """Apply pending database migrations (safe to run again: does nothing when up to date)."""
    from baton.migrate import current_revision, upgrade_to_head

    settings = _settings()
    try:
        before = current_revision(settings.database_url)
        upgrade_to_head(settings.database_url)
        after = current_revision(settings.database_url)
    except (OSError, ConnectionError) as exc:
        raise _database_unreachable(settings, exc) from exc
    if before == after:
        typer.echo(f"Database already at the latest revision ({after}).")
    else:
        typer.echo(f"Migrated the database from {before or 'empty'} to {after}.")


@ops.command("seed")
def seed_command() -> None:
    """Write the integration catalogue and the default templates from code (idempotent)."""
    from baton.seeding import seed_database

    settings = _settings()
    try:
        report = asyncio.run(seed_database(settings.database_url, settings, settings.redis_url))
    except (OSError, ConnectionError) as exc:
        raise _database_unreachable(settings, exc) from exc
    for table, line in report.items():
        typer.echo(f"{table}: {line}")


@ops.command("dev-prepare", hidden=True)
def dev_prepare() -> None:
    """`baton dev`'s migrations and seeding, in a child process (the supervisor imports neither): prints
    the seeding report on one line."""
    from baton.migrate import upgrade_to_head
    from baton.seeding import seed_database

    settings = _settings()
    upgrade_to_head(settings.database_url)
    report = asyncio.run(seed_database(settings.database_url, settings, settings.redis_url))
    typer.echo("; ".join(f"{name}: {line}" for name, line in report.items()))


@ops.command("plan")
def plan_command(
    workspace: Annotated[str, typer.Argument(help="The workspace's id or slug")],
    plan: Annotated[str, typer.Argument(help="FREE, STARTER, PROFESSIONAL or ENTERPRISE")],
    max_workflows: Annotated[
        int | None, typer.Option(min=0, help="Workflows the workspace may have (default: the plan's)")
    ] = None,
    max_executions: Annotated[
        int | None, typer.Option(min=0, help="Runs a calendar month (default: the plan's)")
    ] = None,
) -> None:
    """Set a workspace's plan and limits: the instance operator's call, never a tenant's.

    Example: `baton plan acme ENTERPRISE --max-workflows 500`. New workspaces get DEFAULT_PLAN.
    """
    from baton.admin import set_plan

    settings = _settings()
    try:
        line = asyncio.run(set_plan(settings, workspace, plan.upper(), max_workflows, max_executions))
    except (OSError, ConnectionError) as exc:
        raise _database_unreachable(settings, exc) from exc
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(line)


@ops.command("setup-temporal")
def setup_temporal() -> None:
    """Register Baton's search attributes on the Temporal namespace (idempotent; `baton dev` needs not)."""
    from baton.temporal_setup import register_search_attributes
    from core.temporal import connect_temporal

    settings = _settings()

    async def main() -> list[str]:
        return await register_search_attributes(await connect_temporal(settings, timeout=30))

    try:
        added = asyncio.run(main())
    except TimeoutError as exc:
        typer.secho(
            f"error: cannot reach Temporal at {settings.temporal_address} (TEMPORAL_ADDRESS).",
            fg="red",
            err=True,
        )
        raise typer.Exit(1) from exc
    if added:
        typer.echo(f"Registered search attributes: {', '.join(added)}")
    else:
        typer.echo("Search attributes already registered.")
    _exit_without_teardown()


@ops.command()
def reconcile() -> None:
    """Make Temporal (schedules, pollers) and the webhooks table agree with PostgreSQL again.

    Arming a trigger writes PostgreSQL, then Temporal; a crash between the two leaves them apart. This
    re-arms every active workflow and disarms whatever Temporal still runs for inactive or deleted ones.
    Each worker also does this when it starts; it is safe to run at any time."""
    from core.db import create_engine
    from core.redis_keys import create_redis
    from core.temporal import connect_temporal
    from core.triggers.arming import describe
    from worker.main import trigger_arming

    settings = _settings()
    _logging("WARNING")

    async def main() -> list[str]:
        client = await connect_temporal(settings, timeout=10)
        engine = create_engine(settings)
        redis = create_redis(settings)
        try:
            return [describe(a) for a in await trigger_arming(client, settings, engine, redis).reconcile()]
        finally:
            await redis.aclose()
            await engine.dispose()

    try:
        lines = asyncio.run(main())
    except TimeoutError as exc:
        raise _temporal_unreachable(settings) from exc
    except (OSError, ConnectionError) as exc:
        raise _database_unreachable(settings, exc) from exc
    for line in lines:
        typer.echo(line)
    typer.echo(f"Reconciled {len(lines)} workflow(s) with Temporal.")
    _exit_without_teardown()


@ops.command("rotate-keys")
def rotate_keys() -> None:
    """Re-encrypt every connection's credentials with the first key of ENCRYPTION_KEY.

    To rotate: set ENCRYPTION_KEY="new,old", run this, then set ENCRYPTION_KEY="new"."""
    from baton.rotate_keys import rotate_credentials
    from core.crypto import CredentialCipher
    from core.db import create_engine

    settings = _settings()

    async def main() -> tuple[int, list[str]]:
        engine = create_engine(settings)
        try:
            return await rotate_credentials(engine, CredentialCipher.from_settings(settings))
        finally:
            await engine.dispose()

    try:
        rotated, unreadable = asyncio.run(main())
    except (OSError, ConnectionError) as exc:
        raise _database_unreachable(settings, exc) from exc
    typer.echo(f"Re-encrypted {rotated} connection(s) with the current key.")
    if unreadable:
        typer.secho(
            f"{len(unreadable)} connection(s) could not be decrypted with any configured key: "
            f"{', '.join(unreadable)}. Add the key they were sealed with to ENCRYPTION_KEY and run again.",
            fg="red",
            err=True,
        )
        raise typer.Exit(1)


@ops.command()
def docs(
    output: Annotated[Path, typer.Option(help="Where to write the catalogue page")] = Path(
        "docs/integrations.md"
    ),
    check: Annotated[bool, typer.Option("--check", help="Only tell whether the page is up to date")] = False,
) -> None:
    """Write the integrations catalogue page (every integration, trigger, action and field) from the code."""
    from integrations.docs import render

    page = render()
    current = output.read_text() if output.exists() else None
    if check:
        if current != page:
            typer.secho(f"{output} is out of date: run `baton docs` and commit it", fg="red", err=True)
            raise typer.Exit(1)
        typer.echo(f"{output} is up to date")
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(page)
    typer.echo(f"wrote {output} ({'unchanged' if current == page else 'updated'})")


retention_app = typer.Typer(
    help="The data retention policy (executions per plan, logs 30 days, audit logs and analytics a year).",
    no_args_is_help=True,
)
ops.add_typer(retention_app, name="retention")


@retention_app.command("run")
def retention_run(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Count what would be removed; change nothing")
    ] = False,
) -> None:
    """Apply the retention policy now, as the daily maintenance workflow does, and print what it removes.

    Finished executions older than their workspace plan's retention (EXECUTION_RETENTION_DAYS), execution
    logs (EXECUTION_LOG_RETENTION_DAYS), audit logs (AUDIT_LOG_RETENTION_DAYS) and analytics (folded into
    daily rows after ANALYTICS_RAW_DAYS, kept ANALYTICS_RETENTION_DAYS) go, in batches of
    RETENTION_BATCH_SIZE rows. Runs still going are never removed."""
    from core.db import create_engine
    from core.logstore import create_log_store
    from core.ops.retention import Retention

    settings = _settings()

    async def main() -> int:
        engine = create_engine(settings)
        store = create_log_store(settings, engine)
        try:
            report = await Retention(engine, store, settings, typer.echo).run(dry_run=dry_run)
        finally:
            await store.close()
            await engine.dispose()
        return report.total

    typer.echo(
        f"Retention ({'dry run: nothing is removed' if dry_run else 'removing'}), log store: "
        f"{'MongoDB' if settings.mongodb_url else 'PostgreSQL'}"
    )
    try:
        total = asyncio.run(main())
    except (OSError, ConnectionError) as exc:
        raise _database_unreachable(settings, exc) from exc
    typer.echo(f"{'Would remove' if dry_run else 'Removed'} {total} row(s) in all.")


@ops.command("partition")
def partition_command(
    months_ahead: Annotated[
        int, typer.Option(min=1, max=24, help="Monthly partitions to create ahead of this month")
    ] = 3,
    status: Annotated[bool, typer.Option("--status", help="Only show each table's partitions")] = False,
) -> None:
    """Move workflow_executions, step_executions and audit_logs to monthly range partitions on created_at,
    on a live database (the API and workers can keep running).

    Each table gets a unique index built CONCURRENTLY and a validated CHECK, then an empty partitioned
    parent with its months, then a swap in one short transaction that attaches the existing rows as the
    partition of everything before the first month. Safe to run again (converted tables are skipped) and
    after an interruption. From then on, the daily retention run adds months ahead and drops whole months
    past retention. See docs/scaling.md."""
    import time

    from core.db import create_engine
    from core.ops.partitions import Partitions

    settings = _settings()

    async def main() -> None:
        engine = create_engine(settings)
        partitions = Partitions(engine, typer.echo, months_ahead)
        try:
            if not status:
                began = time.monotonic()
                converted = await partitions.convert()
                typer.echo(
                    f"Partitioned {len(converted)} table(s) in {time.monotonic() - began:.1f} s"
                    + (f": {', '.join(converted)}" if converted else " (nothing left to do)")
                )
            for table, parts in (await partitions.status()).items():
                if parts is None:
                    typer.echo(f"{table}: not partitioned")
                    continue
                names = ", ".join(p.name for p in parts)
                typer.echo(f"{table}: {len(parts)} partitions ({names})")
        finally:
            await engine.dispose()

    try:
        asyncio.run(main())
    except (OSError, ConnectionError) as exc:
        raise _database_unreachable(settings, exc) from exc
    except RuntimeError as exc:
        typer.secho(f"error: {exc}", fg="red", err=True)
        raise typer.Exit(1) from exc


@ops.command("backup")
def backup_command(
    target: Annotated[Path, typer.Argument(help="A new (or empty) folder for the backup")],
    data_dir: Annotated[Path, typer.Option(help="The folder `baton dev --data-dir` uses")] = Path(".baton"),
) -> None:
    """Back up the embedded stack of `baton dev`: PostgreSQL (pg_dump), Redis (RDB + AOF files) and the
    Temporal dev server's database. It may be running or stopped.

    For managed servers, use their own backups (see the README's Backups section)."""
    from baton.backup import BackupError, backup

    try:
        backup(data_dir.resolve(), target.resolve(), typer.echo)
    except BackupError as exc:
        typer.secho(f"error: {exc}", fg="red", err=True)
        raise typer.Exit(1) from exc


@ops.command("restore")
def restore_command(
    source: Annotated[Path, typer.Argument(help="A folder written by `baton backup`")],
    data_dir: Annotated[Path, typer.Option(help="A new (or empty) data folder to restore into")] = Path(
        ".baton"
    ),
) -> None:
    """Restore a `baton backup` into a new data folder, then check the restored row counts against the
    backup's. Start it with `baton dev --data-dir FOLDER`."""
    from baton.backup import BackupError, restore

    try:
        restore(source.resolve(), data_dir.resolve(), typer.echo)
    except BackupError as exc:
        typer.secho(f"error: {exc}", fg="red", err=True)
        raise typer.Exit(1) from exc
