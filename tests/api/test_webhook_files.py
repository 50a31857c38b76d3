"""Files through a webhook and the API (core.files, api.uploads, api.routes.files): a multipart upload's files
are `trigger.files` and its text fields `trigger.body`, a binary body is one file, both streamed to the blob
store; a later step sends a file on; `GET .../executions/{id}/files/{fileId}` serves it as an attachment
that is never sniffed, to the run's workspace only; too large is 413, without a blob store 415."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import asyncpg
import httpx
import pytest

from core.settings import Settings
from tests.api.conftest import api_client_for, sign_up
from tests.api.test_webhook_signatures import hex_hmac
from tests.api.test_webhooks import finished, webhook_workflow
from tests.http_server import Reply, ScriptedServer

PDF = b"%PDF-1.7\n" + os.urandom(300_000)
LIMIT = 400_000


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    return settings.model_copy(
        update={"blob_store_url": f"file://{tmp_path}/blobs", "webhook_file_max_bytes": LIMIT}
    )


async def step_output(db: asyncpg.Connection, execution_id: str, step_id: str) -> dict[str, object]:
    raw = await db.fetchval(
        "SELECT output FROM step_executions WHERE execution_id = $1 AND step_id = $2", execution_id, step_id
    )
    return dict(json.loads(raw))


async def test_an_uploaded_file_reaches_the_run_goes_on_and_is_served_to_its_workspace_only(
    api_with_worker: httpx.AsyncClient, db: asyncpg.Connection, http_server: ScriptedServer
) -> None:
    client = api_with_worker
    target = http_server.script("/store", Reply(201, {"ok": True}))
    steps = [
        {
            "id": "seen",
            "type": "set",
            "values": {
                "title": "{{ trigger.body.title }}",
                "count": "{{ trigger.files | length }}",
                "name": "{{ trigger.files[0].name }}",
                "field": "{{ trigger.files[0].field }}",
            },
        },
        {
            "id": "send",
            "type": "action",
            "action": "http.request",
            "input": {"method": "PUT", "url": target, "file": "{{ trigger.files[0] }}"},
        },
    ]
    base, headers, _, hook = await webhook_workflow(client, steps)
    response = await client.post(
        f"/hooks/{hook['token']}",
        data={"title": "Invoice 7"},
        files={"invoice": ("../../invoice 7.pdf", PDF, "application/pdf")},
    )
    assert response.status_code == 202, response.text
    execution_id = response.json()["executionId"]
    assert (await finished(db, execution_id))["status"] == "SUCCESS"
    assert await step_output(db, execution_id, "seen") == {
        "title": "Invoice 7",
        "count": 1,
        "name": "invoice 7.pdf",
        "field": "invoice",
    }
    (sent,) = http_server.hits("/store")
    assert sent.body == PDF

    trigger = json.loads(
        await db.fetchval("SELECT trigger_data FROM workflow_executions WHERE id = $1", execution_id)
    )
    (file,) = trigger["files"]
    assert file["sha256"] == hashlib.sha256(PDF).hexdigest()
    assert (file["size"], file["contentType"]) == (len(PDF), "application/pdf")

    url = f"{base}/executions/{execution_id}/files/{file['fileId']}"
    served = await client.get(url, headers=headers)
    assert served.status_code == 200, served.text
    assert served.content == PDF
    assert served.headers["content-length"] == str(len(PDF))
    assert served.headers["content-type"] == "application/pdf"
    assert served.headers["content-disposition"].startswith('attachment; filename="invoice 7.pdf"')
    assert served.headers["x-content-type-options"] == "nosniff"

    stranger = await sign_up(client, "stranger@example.com")
    other = (await client.post("/api/v1/workspaces", headers=stranger, json={"name": "Other"})).json()
    refused = await client.get(
        f"/api/v1/workspaces/{other['id']}/executions/{execution_id}/files/{file['fileId']}", headers=stranger
    )
    assert refused.status_code == 404
    assert (await client.get(url, headers=stranger)).status_code == 404  # not a member
    missing = await client.get(
        f"{base}/executions/{execution_id}/files/{execution_id}.{'0' * 32}", headers=headers
    )
    assert missing.status_code == 404


async def test_a_binary_body_is_one_file_named_by_its_content_disposition(
    api_with_worker: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    steps = [
        {
            "id": "seen",
            "type": "set",
            "values": {"file": "{{ trigger.files[0] }}", "body": "{{ trigger.body }}"},
        }
    ]
    _, _, _, hook = await webhook_workflow(api_with_worker, steps, email="binary@example.com")
    response = await api_with_worker.post(
        f"/hooks/{hook['token']}",
        content=PDF,
        headers={"Content-Type": "application/pdf", "Content-Disposition": 'attachment; filename="scan.pdf"'},
    )
    assert response.status_code == 202, response.text
    execution_id = response.json()["executionId"]
    assert (await finished(db, execution_id))["status"] == "SUCCESS"
    seen = await step_output(db, execution_id, "seen")
    assert seen["body"] is None
    assert seen["file"]["name"] == "scan.pdf"  # type: ignore[index]
    assert seen["file"]["size"] == len(PDF)  # type: ignore[index]


async def test_an_upload_past_the_limit_is_413_to_a_debounced_webhook_400_and_without_a_blob_store_415(
    api_client: httpx.AsyncClient, settings: Settings
) -> None:
    _, _, _, hook = await webhook_workflow(api_client, email="limits@example.com")
    too_large = await api_client.post(
        f"/hooks/{hook['token']}",
        content=b"x" * (LIMIT + 1),
        headers={"Content-Type": "application/octet-stream"},
    )
    assert too_large.status_code == 413
    assert too_large.json()["error"] == "payload_too_large"
    malformed = await api_client.post(
        f"/hooks/{hook['token']}",
        content=b"--b\r\nContent-Disposition: form-data\r\n\r\nx",
        headers={"Content-Type": "multipart/form-data; boundary=b"},
    )
    assert malformed.status_code == 400, malformed.text
    assert malformed.json()["path"] == "body"
    assert "multipart" in malformed.json()["detail"]
    debounced = {"methods": ["POST"], "mode": "async", "debounce": {"seconds": 30}}
    _, _, _, held = await webhook_workflow(api_client, config=debounced, email="debounced@example.com")
    refused = await api_client.post(
        f"/hooks/{held['token']}", content=PDF, headers={"Content-Type": "application/pdf"}
    )
    assert refused.status_code == 400, refused.text
    assert refused.json()["path"] == "body"
    assert "debounced" in refused.json()["detail"]
    async with api_client_for(settings.model_copy(update={"blob_store_url": ""})) as without:
        refused = await without.post(
            f"/hooks/{hook['token']}", content=PDF, headers={"Content-Type": "application/pdf"}
        )
        assert refused.status_code == 415
        assert "BLOB_STORE_URL" in refused.json()["detail"]


async def test_a_sync_webhook_answers_with_a_file_as_an_attachment_whatever_its_headers_say(
    api_with_worker: httpx.AsyncClient,
) -> None:
    steps = [
        {
            "id": "reply",
            "type": "respond",
            "status": 200,
            "headers": {"Content-Type": "text/html", "X-Report": "weekly"},
            "file": "{{ trigger.files[0] }}",
        }
    ]
    config = {"methods": ["POST"], "mode": "sync"}
    _, _, _, hook = await webhook_workflow(api_with_worker, steps, config, email="reply@example.com")
    response = await api_with_worker.post(
        f"/hooks/{hook['token']}", files={"report": ("<script>.html", PDF, "application/pdf")}
    )
    assert response.status_code == 200, response.text[:300]
    assert response.content == PDF
    assert response.headers["content-type"] == "application/pdf"  # the file's, not the step's text/html
    assert response.headers["content-length"] == str(len(PDF))
    assert response.headers["content-disposition"].startswith('attachment; filename="script.html"')
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-security-policy"] == "sandbox"
    assert response.headers["x-report"] == "weekly"


async def test_a_signed_webhook_checks_its_signature_over_the_raw_uploaded_bytes(
    api_with_worker: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    steps = [{"id": "seen", "type": "set", "values": {"sha": "{{ trigger.files[0].sha256 }}"}}]
    base, headers, _, hook = await webhook_workflow(api_with_worker, steps, email="signed@example.com")
    secret = "github-webhook-secret-for-files"
    answer = await api_with_worker.put(
        f"{base}/webhooks/{hook['id']}/secret", headers=headers, json={"scheme": "github", "secret": secret}
    )
    assert answer.status_code < 300, answer.text
    url, binary = f"/hooks/{hook['token']}", {"Content-Type": "application/octet-stream"}
    wrong = await api_with_worker.post(
        url, content=PDF, headers={**binary, "X-Hub-Signature-256": f"sha256={hex_hmac('nope', PDF)}"}
    )
    assert wrong.status_code == 401
    signed = await api_with_worker.post(
        url, content=PDF, headers={**binary, "X-Hub-Signature-256": f"sha256={hex_hmac(secret, PDF)}"}
    )
    assert signed.status_code == 202, signed.text
    execution_id = signed.json()["executionId"]
    assert (await finished(db, execution_id))["status"] == "SUCCESS"
    assert await step_output(db, execution_id, "seen") == {"sha": hashlib.sha256(PDF).hexdigest()}
