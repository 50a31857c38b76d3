"""Security headers on every answer, and CORS when CORS_ORIGINS names the browser origins allowed.

The API answers JSON to programs, so browsers are told to treat it as such: no MIME sniffing, never in a
frame, no referrer, nothing cached (answers carry workspace data), and a Content-Security-Policy that lets
nothing run, except on the interactive docs (`/docs`, `/redoc`), whose pages run Swagger UI and ReDoc from
Baton's own origin (and nothing from elsewhere), and on webhook answers, which a sync workflow's `respond`
step shapes (an HTML page for a form, say).
HSTS is sent when the request came over HTTPS (directly or through a proxy that says so).
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

COMMON = [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer")]
# Not on webhook answers: a sync webhook's `respond` step may answer a page meant for a browser.
API_ONLY = [(b"x-frame-options", b"DENY"), (b"cross-origin-opener-policy", b"same-origin")]
LOCKED = (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'")
# Swagger UI and ReDoc: their scripts from /docs-assets, their inline start-up script and styles, ReDoc's
# web worker; the only connection is to the OpenAPI document and the API itself (Swagger's "Try it out").
DOCS = (
    b"content-security-policy",
    b"default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    b"img-src 'self' data:; worker-src 'self' blob:; frame-ancestors 'none'",
)
HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")
NO_STORE = (b"cache-control", b"no-store")
PAGES = ("/docs", "/redoc")
HOOKS = "/hooks/"


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        extra = list(COMMON)
        if not path.startswith(HOOKS):
            extra += API_ONLY
            extra.append(DOCS if path.startswith(PAGES) else LOCKED)
        if scope.get("scheme") == "https":
            extra.append(HSTS)

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(name, value) for name, value in extra if name not in present]
                if b"cache-control" not in present and path.startswith("/api/"):
                    headers.append(NO_STORE)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, sending)
