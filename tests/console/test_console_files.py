"""A run's files in the console: a file uploaded to a webhook is offered for download on the run's page (its
trigger data) and on the step that passed it on; the link serves the file's bytes to the signed-in reader."""

from __future__ import annotations

import json
from pathlib import Path

import asyncpg
import pytest

from core.settings import Settings
from tests.api.conftest import served_api, sign_up
from tests.api.test_webhooks import finished
from tests.browser import headless_page
from tests.console.test_console_browser import EMAIL, _accessible, _text_shows, browser_available
from tests.console.test_console_editor import signed_in

__all__ = ["browser_available"]  # the fixture, used below by name
PDF = b"%PDF-1.7 the invoice"


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    return settings.model_copy(update={"blob_store_url": f"file://{tmp_path}/blobs"})


@pytest.mark.usefixtures("browser_available", "engine_worker")
async def test_a_runs_files_are_offered_for_download(
    settings: Settings, task_queue: str, db: asyncpg.Connection
) -> None:
    wired = settings.model_copy(update={"temporal_task_queue": task_queue})
    async with served_api(wired) as api, headless_page(offline=True) as page:
        headers = await sign_up(api, EMAIL)
        workspace = (await api.post("/api/v1/workspaces", headers=headers, json={"name": "Files"})).json()
        base = f"/api/v1/workspaces/{workspace['id']}"
        steps = [{"id": "keep", "type": "set", "values": {"invoice": "{{ trigger.files[0] }}"}}]
        body = {
            "name": "Invoices",
            "triggerType": "WEBHOOK",
            "triggerConfig": {"methods": ["POST"]},
            "steps": steps,
        }
        workflow = (await api.post(f"{base}/workflows", headers=headers, json=body)).json()
        await api.post(f"{base}/workflows/{workflow['id']}/publish", headers=headers, json={})
        hook = (await api.get(f"{base}/webhooks", headers=headers)).json()["items"][0]
        sent = await api.post(
            f"/hooks/{hook['token']}", files={"invoice": ("invoice 7.pdf", PDF, "application/pdf")}
        )
        execution_id = sent.json()["executionId"]
        assert (await finished(db, execution_id))["status"] == "SUCCESS"

        origin = str(api.base_url).rstrip("/")
        await signed_in(page, origin, "Files")
        await page.open(f"{origin}/w/{workspace['id']}/runs/{execution_id}")
        await _text_shows(page, "Download invoice 7.pdf (20 bytes)")
        href = await page.evaluate("[...document.querySelectorAll('a[download]')].map(a => a.href)[0]")
        assert f"/executions/{execution_id}/files/" in href
        got = await page.call(
            "Runtime.evaluate",
            expression=f"fetch({json.dumps(href)}).then(r => r.text().then(t => [r.status, t]))",
            awaitPromise=True,
            returnByValue=True,
        )
        assert got["result"]["value"] == [200, PDF.decode()]
        await _accessible(page, "run with files")
        assert await page.evaluate("window.__cspViolations") == []
