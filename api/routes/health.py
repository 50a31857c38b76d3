"""Liveness (`/healthz`) and readiness (`/readyz`: PostgreSQL, Redis, Temporal with Baton's search
attributes, and the log store)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import text

from api.deps import ResourcesDep
from api.errors import ErrorBody

router = APIRouter(tags=["operations"])

CHECK_TIMEOUT_SECONDS = 2.0


class Health(BaseModel):
    status: Literal["ok"] = "ok"


class Readiness(BaseModel):
    status: Literal["ready", "not_ready"]
    checks: dict[str, str]


class NotReady(ErrorBody, Readiness):
    pass


@router.get("/healthz", response_model=Health, summary="The process is alive")
async def healthz() -> Health:
    return Health()


async def _check(probe: Callable[[], Awaitable[Any]]) -> str:
    try:
        await asyncio.wait_for(probe(), CHECK_TIMEOUT_SECONDS)
    except TimeoutError:
        return f"down: no answer within {CHECK_TIMEOUT_SECONDS:g}s"
    except Exception as exc:  # every failure is a reason to report the dependency down, with its cause
        return f"down: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}".rstrip(": ")
    return "ok"


@router.get(
    "/readyz",
    response_model=Readiness,
    summary="Every dependency answers",
    responses={
        503: {"model": NotReady, "description": "At least one dependency is down (named in `detail`)"}
    },
)
async def readyz(resources: ResourcesDep) -> Readiness | JSONResponse:
    async def postgres() -> None:
        async with resources.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def redis() -> None:
        await resources.redis.ping()

    async def temporal() -> None:
        await resources.temporal.check_health()
        await resources.temporal.check_search_attributes()  # else every run start would be refused

    names = ["postgresql", "redis", "temporal", f"log_store ({resources.log_store.kind})"]
    results = await asyncio.gather(
        _check(postgres),
        _check(redis),
        _check(temporal),
        _check(resources.log_store.ping),
    )
    checks = dict(zip(names, results, strict=True))
    down = [name for name, result in checks.items() if result != "ok"]
    if not down:
        return Readiness(status="ready", checks=checks)
    body = NotReady(
        error="not_ready", detail=f"Not ready: {', '.join(down)} down", status="not_ready", checks=checks
    )
    return JSONResponse(body.model_dump(), status_code=503)
