"""A hosted form with a file field: the browser's multipart form is checked (a required file missing is a
422 page beside its field), its file kept as the run's (`trigger.files`, with the field's name) and its
text fields typed in `trigger.body`; an empty file input (nothing chosen) keeps no file."""

from __future__ import annotations

import json
from pathlib import Path

import asyncpg
import httpx
import pytest

from core.settings import Settings
from tests.api.test_webhooks import finished, webhook_workflow

FORM = {
    "title": "Send your CV",
    "fields": [
        {"name": "name", "required": True},
        {"name": "years", "type": "number"},
        {"name": "cv", "type": "file", "required": True},
        {"name": "letter", "type": "file"},
    ],
}
STEPS = [
    {"id": "keep", "type": "set", "values": {"body": "{{ trigger.body }}", "files": "{{ trigger.files }}"}}
]


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    return settings.model_copy(update={"blob_store_url": f"file://{tmp_path}/blobs"})


async def test_a_form_with_a_file_field(api_with_worker: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    client = api_with_worker
    _, _, _, hook = await webhook_workflow(
        client, STEPS, {"methods": ["POST"], "form": FORM}, "cv@example.com"
    )
    address = f"/forms/{hook['token']}"
    shown = await client.get(address)
    assert "enctype=multipart/form-data" in shown.text
    assert "<input type=file id=f-cv name=cv" in shown.text

    missing = await client.post(
        address, data={"name": "Ada"}, files={"letter": ("", b"", "application/octet-stream")}
    )
    assert missing.status_code == 422
    assert "id=f-cv-error" in missing.text

    sent = await client.post(
        address,
        data={"name": "Ada", "years": "7"},
        files={
            "cv": ("cv.pdf", b"%PDF-1.7 ada", "application/pdf"),
            "letter": ("", b"", "application/octet-stream"),
        },
    )
    assert sent.status_code == 200, sent.text
    execution_id = sent.headers["x-baton-execution-id"]
    assert (await finished(db, execution_id))["status"] == "SUCCESS"
    kept = json.loads(
        await db.fetchval("SELECT output FROM step_executions WHERE execution_id = $1", execution_id)
    )
    assert kept["body"] == {"name": "Ada", "years": 7}
    assert [(f["name"], f["field"], f["size"]) for f in kept["files"]] == [("cv.pdf", "cv", 12)]
