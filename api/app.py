"""Builds the FastAPI application: resources in the lifespan, error handlers, routers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api.errors import install_error_handlers
from api.limits import BodySizeLimit
from api.resources import Resources
from api.routes import auth, catalogue, connections, executions, health, me, templates, workflows, workspaces
from core.settings import Settings, get_settings

API_PREFIX = "/api/v1"


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.resources = Resources.create(settings)
        try:
            yield
        finally:
            await app.state.resources.close()

    app = FastAPI(
        title="Baton",
        version="0.1.0",
        summary="Durable workflow automation on Temporal",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.include_router(health.router)
    for resource in (auth, me, workspaces, catalogue, templates, connections, workflows, executions):
        app.include_router(resource.router, prefix=API_PREFIX)
    app.include_router(connections.oauth_router, prefix=API_PREFIX)
    return app
