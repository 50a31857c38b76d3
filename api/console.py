"""The console (the web UI of `console/`), served from its build inside the package: `/` and the console's
own client-side routes answer its index.html, `/console/assets/*` its hashed scripts and styles.

Only the console's route prefixes are claimed (not a catch-all), so an unknown path under `/api/v1`,
`/hooks` or anywhere else keeps answering the API's JSON 404. The page gets a CSP of its own: scripts,
styles and connections from Baton's origin only, nothing inline, never in a frame.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.types import Scope

CONSOLE_DIR = Path(__file__).parent / "static" / "console"
ASSETS_URL = "/console/assets"
# The client-side routes (console/src/App.tsx): a reload or a shared link on any of them gets the page.
PAGES = ("/", "/sign-in", "/w/{rest:path}")
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
PAGE_HEADERS = {"content-security-policy": CSP, "cache-control": "no-cache"}
ASSET_HEADERS = {"content-security-policy": CSP, "cache-control": "public, max-age=31536000, immutable"}


class HashedAssets(StaticFiles):
    """Vite names every asset after a hash of its content: a name never changes meaning, so cache it for
    a year."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code == 200:
            response.headers.update(ASSET_HEADERS)
        return response


def install_console(app: FastAPI) -> None:
    """Serves the console's page on its routes and its assets (see the module)."""
    index = CONSOLE_DIR / "index.html"

    async def page() -> Response:
        if not index.is_file():  # a checkout whose console was never built (the build is committed)
            return JSONResponse(
                {
                    "error": "not_found",
                    "detail": "the console is not built: cd console && npm ci && npm run build",
                },
                status_code=404,
            )
        return FileResponse(index, media_type="text/html", headers=PAGE_HEADERS)

    for path in PAGES:
        app.add_api_route(path, page, methods=["GET", "HEAD"], include_in_schema=False)
    app.mount(
        ASSETS_URL, HashedAssets(directory=CONSOLE_DIR / "assets", check_dir=False), name="console-assets"
    )
