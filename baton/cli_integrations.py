"""`baton integrations import spec.yaml`: the operator imports a service described by an OpenAPI 3 document
into the catalogue (integrations.openapi), on the server, as POST /api/v1/integrations/import does."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from baton.cli_common import _database_unreachable, _settings
from core.errors import BatonError

if TYPE_CHECKING:
    from core.settings import Settings

integrations_app = typer.Typer(help="The integration catalogue: import services described by OpenAPI")


@integrations_app.command("import")
def import_command(
    document: Annotated[Path, typer.Argument(help="The OpenAPI 3 document (YAML or JSON)", exists=True)],
    service_id: Annotated[
        str | None, typer.Option("--id", help="Integration id (default: from info.title)")
    ] = None,
    base_url: Annotated[
        str | None, typer.Option(help="Where the service is (default: the document's first server)")
    ] = None,
) -> None:
    """Import (or import again) a service: each operation becomes an action, listed in the catalogue and
    runnable as a step by the workers started after it.

    Example: `baton integrations import petstore.yaml --id petstore --base-url https://pets.example.com`.
    """
    settings = _settings()
    try:
        lines = asyncio.run(_import(settings, document.read_bytes(), service_id, base_url))
    except BatonError as exc:
        where = f" at {exc.path}" if exc.path else ""
        typer.secho(f"error{where}: {exc.detail}", fg="red", err=True)
        raise typer.Exit(2) from exc
    except (OSError, ConnectionError) as exc:
        raise _database_unreachable(settings, exc) from exc
    for line in lines:
        typer.echo(line)


async def _import(
    settings: Settings, source: bytes, service_id: str | None, base_url: str | None
) -> list[str]:
    from redis.asyncio import Redis
    from redis.exceptions import RedisError

    from core.catalogue import forget_integrations
    from core.db import create_engine
    from core.redis_keys import RedisKeys
    from integrations.openapi.imports import import_service

    engine = create_engine(settings)
    try:
        async with engine.begin() as connection:
            integration = await import_service(connection, source, service_id=service_id, base_url=base_url)
    finally:
        await engine.dispose()
    lines = [f"Imported {integration.id} ({integration.name}): {len(integration.actions)} actions"]
    lines += [f"  {spec.id}" for spec in integration.actions.values()]
    redis = Redis.from_url(settings.redis_url, decode_responses=True)
    try:
        await forget_integrations(redis, RedisKeys(settings.redis_key_prefix), [integration.id])
    except RedisError as exc:
        lines.append(f"could not drop the cached catalogue entry ({exc}); it expires within an hour")
    finally:
        await redis.aclose()
    lines.append("API processes learn of it within 30 s; restart the workers to run its actions.")
    return lines
