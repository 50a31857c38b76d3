"""Builds the FastAPI application: resources in the lifespan, error handlers, routers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager

from api.console import install_console
from api.docs import install_docs
from api.errors import install_error_handlers
from api.headers import SecurityHeaders
from api.limits import BodySizeLimit, check_request_text
from api.mcp_server import mcp_session_manager
from api.metrics import ApiMetrics, MetricsMiddleware
from api.metrics import router as metrics_router
from api.resources import Resources
from api.routes import (
    analytics,
    approval_links,
    approvals,
    auth,
    catalogue,
    chat,
    connections,
    datastore,
    drafts,
    events,
    executions,
    files,
    forms,
    health,
    hooks,
    live,
    logs,
    mcp,
    me,
    resume,
    templates,
    values,
    webhooks,
    workflows,
    workspaces,
)
from core.blobs import run_value_limit
from core.outages import raise_if_cancelled
from core.settings import Settings, get_settings
from integrations.openapi.imports import keep_imported_services, load_imported_services

API_PREFIX = "/api/v1"
CODEC_PATH = "/codec"
# The requests whose body becomes a run's trigger: webhook calls and manual runs (MAX_VALUE_BYTES applies)
TRIGGER_BODIES = re.compile(rf"^(?:{API_PREFIX})?/hooks/|^{API_PREFIX}/workspaces/[^/]+/workflows/[^/]+/run$")
STATIC_DIR = Path(__file__).parent / "static"
logger = logging.getLogger("baton.api")


async def flush_webhook_stats(resources: Resources) -> None:
    """Writes the webhook call counts kept in Redis to PostgreSQL every WEBHOOK_STATS_FLUSH_SECONDS."""
    while True:
        await asyncio.sleep(resources.settings.webhook_stats_flush_seconds)
        try:
            await resources.webhooks.flush_stats()
        except Exception:
            raise_if_cancelled()  # a cancel redis-py turned into an error: stop, do not flush again
            logger.warning("could not flush webhook stats; they are kept for the next flush", exc_info=True)
        raise_if_cancelled()  # a cancel redis-py swallowed whole (the call returned): stop all the same


Companion = Callable[[Resources], AbstractAsyncContextManager[object]]


async def load_imported_catalogue(resources: Resources) -> None:
    """The services imported from OpenAPI documents, so definitions naming their actions validate; with
    PostgreSQL out of reach the API starts all the same (/readyz says so) without them."""
    try:
        await load_imported_services(resources.engine)
    except Exception:
        logger.warning("could not load the imported integrations; definitions using them fail", exc_info=True)


async def serve_mcp(manager: StreamableHTTPSessionManager, ready: asyncio.Event, stop: asyncio.Event) -> None:
    """Runs the workspaces' MCP servers (api.routes.mcp) until `stop`: in a task of its own, which enters
    and leaves the SDK's task group (a lifespan may start in one task and end in another)."""
    async with manager.run():
        ready.set()
        await stop.wait()


def create_app(settings: Settings | None = None, *, companion: Companion | None = None) -> FastAPI:
    """The API. `companion`: something to run beside it for the app's lifetime, given its resources (the
    composition root's `baton serve` runs the worker there)."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        resources = app.state.resources = Resources.create(settings)
        await load_imported_catalogue(resources)
        flusher = asyncio.create_task(flush_webhook_stats(resources), name="webhook-stats")
        importer = asyncio.create_task(keep_imported_services(resources.engine), name="imported-services")
        mcp_ready, stop_mcp = asyncio.Event(), asyncio.Event()
        mcp = asyncio.create_task(serve_mcp(app.state.mcp, mcp_ready, stop_mcp), name="mcp")
        await mcp_ready.wait()
        try:
            if companion is None:
                yield
            else:
                async with companion(resources):
                    yield
        finally:
            flusher.cancel()
            importer.cancel()
            stop_mcp.set()
            for task in (flusher, importer):
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await mcp
            with contextlib.suppress(Exception):
                await resources.webhooks.flush_stats()  # the last calls counted by this process
            await resources.close()

    app = FastAPI(
        title="Baton",
        version="0.1.0",
        summary="Durable workflow automation on Temporal",
        lifespan=lifespan,
        dependencies=[Depends(check_request_text)],
        docs_url=None,  # api.docs serves /docs and /redoc from local assets
        redoc_url=None,
    )
    install_error_handlers(app)
    # the codec endpoint applies the same limit itself, so its 413 carries the CORS headers the Web UI reads
    # a webhook's body and a manual run's payload are a run's trigger: with a blob store, as large as a value
    hook_bytes = max(settings.max_body_bytes, run_value_limit(settings))
    app.add_middleware(
        BodySizeLimit,
        max_bytes=settings.max_body_bytes,
        exempt=(f"{CODEC_PATH}/",),
        larger=((TRIGGER_BODIES, hook_bytes),),
        files=tuple((path, settings.webhook_file_max_bytes) for path in ("/hooks/", f"{API_PREFIX}/hooks/")),
    )
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["*"],
            allow_headers=["*"],
            expose_headers=["X-Baton-Execution-Id", "Retry-After", "Idempotent-Replayed"],
            max_age=600,
        )
    app.add_middleware(SecurityHeaders)
    app.state.metrics = ApiMetrics()
    app.state.settings = settings
    app.state.mcp = mcp_session_manager()
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)  # outermost: sees every answer
    app.include_router(health.router)
    # The public ingress first: routes are matched in order, and it takes the most calls.
    app.include_router(hooks.router)  # /hooks/{token}
    app.include_router(chat.router)  # /hooks/{token}/chat
    app.include_router(hooks.router, prefix=API_PREFIX, include_in_schema=False)
    app.include_router(forms.router)  # /forms/{token}: the pages of webhooks with a form
    app.include_router(metrics_router)
    for resource in (
        auth,
        me,
        workspaces,
        catalogue,
        templates,
        connections,
        workflows,
        drafts,
        executions,
        files,
        values,
        approvals,
        approval_links,
        logs,
        live,
        analytics,
        webhooks,
        datastore,
        events,
        resume,
        mcp,
    ):
        app.include_router(resource.router, prefix=API_PREFIX)
    app.include_router(connections.oauth_router, prefix=API_PREFIX)
    app.include_router(workspaces.admin_router, prefix=API_PREFIX)
    # The catalogue's icons (`/static/icons/{integrationId}.svg`), for UIs listing integrations.
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    if settings.codec_in_api:  # the Temporal Web UI's codec endpoint, for `baton dev` (see CODEC_IN_API)
        from api.codec import create_codec_app

        app.mount(CODEC_PATH, create_codec_app(settings), name="codec")
    install_docs(app)
    install_console(app)  # last: its routes are the console's own, after every API route
    return app
