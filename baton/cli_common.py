"""What every `baton` command shares: its settings, its logging, its way out."""

from __future__ import annotations

import logging
import os
import sys
from typing import Any, NoReturn

import typer

from baton import console
from core.settings import Settings, get_settings, redact_url


def _settings() -> Settings:
    try:
        return get_settings()
    except ValueError as exc:
        typer.secho(f"error: invalid configuration: {exc}", fg="red", err=True)
        raise typer.Exit(2) from exc


def _serving_settings() -> Settings:
    """The settings of a process that serves (the API, a worker): never with a forgeable SECRET_KEY."""
    settings = _settings()
    if (reason := settings.unsafe_secret()) is not None:
        typer.secho(f"error: {reason}.", fg="red", err=True)
        raise typer.Exit(2)
    return settings


def _exit_without_teardown(code: int = 0) -> NoReturn:
    """Ends a short-lived command that used a Temporal client. The client's Rust threads can crash the
    interpreter while it finalizes (temporalio/sdk-python#300: a segfault or SIGABRT after the work is done),
    so flush what was printed and leave without the teardown."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _logging(level: str) -> None:
    if console.configure():  # a process of `baton dev`: its console's lines
        return
    logging.basicConfig(level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # httpx logs every request's full URL at INFO: a credential sent as a query parameter (an API key in
    # `?key=`) would land in the logs. Its warnings still show.
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLogger().level))


def _uvicorn_logging(settings: Settings) -> dict[str, Any]:
    """uvicorn.run's logging options: its own, or none under `baton dev` (the console formats its lines)."""
    _logging(settings.log_level)
    if os.environ.get(console.CONSOLE_ENV):
        return {"log_config": None, "log_level": None}
    return {"log_level": settings.log_level.lower()}


def _uvicorn(
    app_factory: str, host: str | None, port: int | None, *, api: bool = True, **options: Any
) -> None:
    """Serves the app `app_factory` names on uvicorn, logging as Baton logs. `api`: it answers the REST
    API (`baton api`, `baton serve`): on API_HOST:API_PORT unless given, trusting a proxy's forwarded
    headers; otherwise the codec server, on CODEC_HOST:CODEC_PORT."""
    import uvicorn

    from api.server import HTTP

    settings = _serving_settings()
    if api:
        host, port = host or settings.api_host, port or settings.api_port
        options |= {"proxy_headers": True, "http": HTTP}
    else:
        host, port = host or settings.codec_host, port or settings.codec_port
    uvicorn.run(app_factory, factory=True, host=host, port=port, **_uvicorn_logging(settings), **options)


def _database_unreachable(settings: Settings, exc: Exception) -> typer.Exit:
    typer.secho(
        f"error: cannot use PostgreSQL at {redact_url(settings.database_url)} "
        f"({type(exc).__name__}: {exc}).\n"
        "Check DATABASE_URL and that the server is running, or use `baton dev` for an embedded one.",
        fg="red",
        err=True,
    )
    return typer.Exit(1)


def _temporal_unreachable(settings: Settings) -> typer.Exit:
    typer.secho(
        f"error: cannot reach Temporal at {settings.temporal_address} (TEMPORAL_ADDRESS). "
        "Start it, or use `baton dev`.",
        fg="red",
        err=True,
    )
    return typer.Exit(1)
