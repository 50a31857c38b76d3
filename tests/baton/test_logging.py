"""What Baton's processes log: never a request URL, which may carry a credential in its query string."""

from __future__ import annotations

import logging

import httpx
import pytest

from baton.cli_common import _logging
from tests.http_server import Reply, ScriptedServer


async def test_a_credential_in_a_query_string_never_reaches_the_logs(
    http_server: ScriptedServer, caplog: pytest.LogCaptureFixture
) -> None:
    url = http_server.script("/search", Reply(200, {"ok": True}))
    _logging("INFO")
    caplog.set_level(logging.INFO)  # pytest's capture at INFO, as a worker logs
    async with httpx.AsyncClient() as client:
        await client.get(url, params={"api_key": "sk_live_secret"})
    assert "sk_live_secret" not in caplog.text
    assert not logging.getLogger("httpx").isEnabledFor(logging.INFO)
