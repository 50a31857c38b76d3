"""The `baton` command: run the whole platform (`dev`) or its pieces against configured servers."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from pathlib import Path
from typing import Annotated

import typer

from baton.cli_approvals import approvals_app
from baton.cli_common import (
    _logging,
    _serving_settings,
    _settings,
    _temporal_unreachable,
    _uvicorn,
)
from baton.cli_integrations import integrations_app
from baton.cli_login import login
from baton.cli_ops import ops
from baton.cli_runs import runs_app
from baton.cli_workflows import workflows_app

app = typer.Typer(
    help=(
        "Baton: durable workflow automation on Temporal.\n\n"
        "Start everything on this machine with `baton dev`. In production, run `baton migrate` and "
        "`baton seed` once per release, then as many `baton api` and `baton worker` processes as you need, "
        "configured through DATABASE_URL, REDIS_URL, MONGODB_URL, TEMPORAL_ADDRESS and SECRET_KEY."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.command()
def dev(
    data_dir: Annotated[Path, typer.Option(help="Folder for all embedded servers' data and logs")] = Path(
        ".baton"
    ),
    host: Annotated[str, typer.Option(help="Address the API listens on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="API port")] = 8000,
    postgres_port: Annotated[int, typer.Option(help="Embedded PostgreSQL port")] = 54329,
    redis_port: Annotated[int, typer.Option(help="Embedded Redis port")] = 63790,
    temporal_port: Annotated[int, typer.Option(help="Embedded Temporal gRPC port")] = 7233,
    temporal_ui_port: Annotated[int, typer.Option(help="Temporal Web UI port")] = 8233,
    single_process: Annotated[
        bool,
        typer.Option(
            "--single-process/--split",
            help="The API and the worker as one process (`baton serve`, the default: about 140 MB less "
            "memory, eager run starts) or, with --split, as two (`baton api` and `baton worker`, as in "
            "production: a CPU core each)",
        ),
    ] = True,
    verbose: Annotated[
        bool,
        typer.Option(
            "--verbose",
            "-v",
            help="Show the processes' own logs (DEBUG, the SDK's, every traceback) instead of one line per "
            "request and run event",
        ),
    ] = False,
) -> None:
    """Run the whole platform on this machine: embedded PostgreSQL, Redis and Temporal (for each whose
    DATABASE_URL / REDIS_URL / TEMPORAL_ADDRESS is not set), migrations, seed data, the API and a worker.
    Ctrl-C stops everything; the next start finds the same data."""
    from baton.devstack import DevConfig, DevOptions, supervise
    from core.settings import redact_url

    options = DevOptions(
        data_dir.resolve(),
        host,
        port,
        postgres_port,
        redis_port,
        temporal_port,
        temporal_ui_port,
        single_process,
        verbose,
    )
    settings = _settings()
    configured = settings.model_fields_set
    config = DevConfig(
        database_url=settings.database_url if "database_url" in configured else None,
        database_shown=redact_url(settings.database_url),
        redis_url=settings.redis_url if "redis_url" in configured else None,
        redis_shown=redact_url(settings.redis_url),
        temporal_address=settings.temporal_address if "temporal_address" in configured else None,
        temporal_ui_url=settings.temporal_ui_url,
        temporal_namespace=settings.temporal_namespace,
        environment_set="environment" in configured,
        secret_key_set="secret_key" in configured,
    )
    supervise(options, config)  # does not return: the supervisor runs in this process's place


@app.command()
def api(
    host: Annotated[str | None, typer.Option(help="Listen address (default API_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="Listen port (default API_PORT)")] = None,
    workers: Annotated[int, typer.Option(help="Uvicorn worker processes")] = 1,
) -> None:
    """Run the REST API (FastAPI on uvicorn) against the configured servers."""
    _uvicorn("api.app:create_app", host, port, workers=workers)


@app.command("codec-server")
def codec_server(
    host: Annotated[str | None, typer.Option(help="Listen address (default CODEC_HOST, 127.0.0.1)")] = None,
    port: Annotated[int | None, typer.Option(help="Listen port (default CODEC_PORT, 8234)")] = None,
) -> None:
    """Serve the Temporal Web UI's codec endpoint, so an operator sees the run inputs and results Baton
    seals with ENCRYPTION_KEY. Start the UI with this address as its codec endpoint, e.g.
    `temporal server start-dev --ui-codec-endpoint http://127.0.0.1:8234` (`baton dev` does it), or set
    it in the UI's settings (Data Encoder). It decodes any payload it gets: keep it on a private address,
    behind the same access control as the Web UI."""
    _uvicorn("api.codec:create_codec_app", host, port, api=False)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Listen address (default API_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="Listen port (default API_PORT)")] = None,
) -> None:
    """Run the API and a worker in one process (what `baton dev --single-process` runs): runs start eagerly
    on this process's own worker; add more `baton serve` or `baton worker` processes to scale out."""
    _uvicorn("baton.serve:create_serving_app", host, port)


@app.command()
def worker(
    profile: Annotated[
        list[str] | None,
        typer.Option(
            help="Execution profile to serve (repeatable: --profile default --profile long); default: all. "
            "`default` serves the workflows and the short actions; `long` and `cpu` their actions' queues"
        ),
    ] = None,
) -> None:
    """Run a Temporal worker serving Baton's task queues (run several for more throughput)."""
    from core.execution_profiles import PROFILES
    from worker.main import run_worker

    unknown = [name for name in profile or [] if name not in PROFILES]
    if unknown:
        raise typer.BadParameter(f"unknown profile {unknown[0]!r}; one of {', '.join(PROFILES)}")
    settings = _serving_settings()
    _logging(settings.log_level)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        if not await run_worker(settings, stop, profile or None):
            # its shutdown waits on a task that does not end (run_worker logged which): asyncio.run would
            # wait for it too, so the process leaves now; Temporal retries the task on another worker
            logging.shutdown()
            os._exit(1)

    try:
        asyncio.run(main())
    except TimeoutError as exc:
        raise _temporal_unreachable(settings) from exc


app.add_typer(ops)  # the operator's commands, at the top level
app.command("login")(login)
app.add_typer(runs_app, name="runs")
app.add_typer(approvals_app, name="approvals")
app.add_typer(workflows_app, name="workflows")
app.add_typer(integrations_app, name="integrations")
