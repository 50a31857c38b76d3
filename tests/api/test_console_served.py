"""The console is served by the API from its committed build: its page on its own routes, its hashed assets
cached for a year, a CSP that runs only Baton's own scripts, and the API's paths left alone."""

from __future__ import annotations

import re

import httpx

from api.console import CONSOLE_DIR


async def test_root_serves_the_console_page_and_its_script(api_client: httpx.AsyncClient) -> None:
    page = await api_client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert page.text == (CONSOLE_DIR / "index.html").read_text()
    csp = page.headers["content-security-policy"]
    assert "script-src 'self';" in csp
    assert "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert page.headers["cache-control"] == "no-cache"  # a new build is picked up at once
    assert "<script>" not in page.text  # nothing inline: the CSP would refuse it

    script = re.search(r'src="(/console/assets/[^"]+\.js)"', page.text)
    assert script is not None
    asset = await api_client.get(script.group(1))
    assert asset.status_code == 200
    assert asset.headers["content-type"].split(";")[0] in ("text/javascript", "application/javascript")
    assert asset.headers["cache-control"] == "public, max-age=31536000, immutable"
    style = re.search(r'href="(/console/assets/[^"]+\.css)"', page.text)
    assert style is not None
    assert (await api_client.get(style.group(1))).headers["content-type"].startswith("text/css")


async def test_client_side_routes_get_the_page_and_api_paths_keep_their_json(
    api_client: httpx.AsyncClient,
) -> None:
    for path in ("/sign-in", "/w/ws-1/runs", "/w/ws-1/runs/ex-1", "/w/ws-1/approvals"):
        answer = await api_client.get(path)
        assert answer.status_code == 200, path
        assert answer.headers["content-type"].startswith("text/html"), path
    for path in ("/api/v1/nothing-here", "/hooks", "/console/assets/missing.js", "/anything-else"):
        answer = await api_client.get(path)
        assert answer.status_code == 404, path
        assert not answer.headers["content-type"].startswith("text/html"), path
    assert (await api_client.get("/healthz")).status_code == 200
    assert (await api_client.get("/openapi.json")).json()["info"]["title"] == "Baton"
    assert (await api_client.get("/docs")).headers["content-type"].startswith("text/html")
    assert (await api_client.get("/api/v1/me")).status_code == 401
