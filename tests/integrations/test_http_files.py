"""`http.request` with files (integrations.http_files): a response downloaded as a file (named by
Content-Disposition or the URL, streamed to the blob store), then sent on as multipart/form-data and as a raw
body, byte for byte, with its length declared; a reference to a file that is not there fails the step."""

from __future__ import annotations

import hashlib
import json
import os
import re
import uuid
from email.parser import BytesParser
from email.policy import HTTP
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import WorkflowFailureError, WorkflowHistory
from temporalio.worker import Replayer

from core.blobs import create_blob_store
from core.codec import data_converter
from core.definition.validation import validate_definition
from core.files import store_file
from core.settings import Settings
from integrations.catalogue import INTEGRATIONS, action_input_schema
from tests.engine import Engine, output
from tests.http_server import Reply, ScriptedServer
from tests.worker.recording import HISTORIES, recording
from worker.interpreter import BatonRun
from worker.main import workflow_runner

PATHS = HISTORIES / "paths"
HISTORY = "respond_with_downloaded_file"
DATA = os.urandom(700_000)
DISPOSITION = "attachment; filename=\"r.pdf\"; filename*=UTF-8''r%C3%A9sum%C3%A9%20Q3.pdf"


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    return settings.model_copy(update={"blob_store_url": f"file://{tmp_path}/blobs"})


def multipart_parts(content_type: str, body: bytes) -> dict[str, Any]:
    message = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body)
    parts = message.iter_parts()
    return {str(part.get_param("name", header="content-disposition")): part for part in parts}


async def test_a_download_is_a_file_that_later_steps_upload_as_multipart_and_as_a_raw_body(
    engine_worker: Engine, http_server: ScriptedServer
) -> None:
    source = http_server.script(
        "/reports/latest",
        Reply(
            200,
            DATA,
            {
                "content-type": "application/pdf",
                "content-disposition": DISPOSITION,
            },
        ),
    )
    form = http_server.script("/upload", Reply(201, {"ok": True}))
    raw = http_server.script("/objects/report", Reply(200, {"stored": True}))
    steps = [
        {
            "id": "fetch",
            "type": "action",
            "action": "http.request",
            "input": {"url": source, "responseFormat": "file"},
        },
        {
            "id": "send",
            "type": "action",
            "action": "http.request",
            "input": {
                "method": "POST",
                "url": form,
                "multipart": {"title": "Q3", "document": "{{ steps.fetch.output.file }}"},
            },
        },
        {
            "id": "put",
            "type": "action",
            "action": "http.request",
            "input": {"method": "PUT", "url": raw, "file": "{{ steps.fetch.output.file }}"},
        },
    ]
    handle = await engine_worker.start(steps)
    result = await handle.result()
    assert result.status == "SUCCESS", result.error
    rows = await engine_worker.step_rows(handle)
    file = output(rows["fetch"])["file"]
    assert file["name"] == "résumé Q3.pdf"
    assert (file["size"], file["contentType"]) == (len(DATA), "application/pdf")
    assert file["sha256"] == hashlib.sha256(DATA).hexdigest()
    assert output(rows["fetch"])["body"] is None

    (posted,) = http_server.hits("/upload")
    parts = multipart_parts(posted.headers["Content-Type"], posted.body)
    assert parts["title"].get_content() == "Q3"
    document = parts["document"]
    assert 'filename="résumé Q3.pdf"'.encode() in posted.body  # UTF-8, as browsers send it (RFC 7578)
    assert document.get_content_type() == "application/pdf"
    assert document.get_payload(decode=True) == DATA
    assert int(posted.headers["Content-Length"]) == len(posted.body)

    (put,) = http_server.hits("/objects/report")
    assert put.body == DATA
    assert (put.headers["Content-Type"], put.headers["Content-Length"]) == ("application/pdf", str(len(DATA)))


@pytest.mark.parametrize("whose", ["another workspace's", "nobody's"])
async def test_a_file_reference_this_workspace_has_no_file_for_fails_the_step_without_retrying(
    engine_worker: Engine, http_server: ScriptedServer, settings: Settings, whose: str
) -> None:
    url = http_server.script("/upload", Reply(201, {"ok": True}))
    if whose == "nobody's":
        ref = {
            "fileId": f"{uuid.uuid4()}.{'a' * 32}",
            "name": "x.txt",
            "size": 3,
            "contentType": "text/plain",
            "sha256": "0" * 64,
        }
    else:  # a real file of a run of another workspace, its reference copied into this workspace's workflow
        blobs = create_blob_store(settings)
        other = await store_file(blobs, str(uuid.uuid4()), str(uuid.uuid4()), b"secret", name="x.txt")
        ref = other.as_value()
    steps = [
        {
            "id": "send",
            "type": "action",
            "action": "http.request",
            "input": {"method": "POST", "url": url, "file": ref},
        }
    ]
    handle = await engine_worker.start(steps)
    with pytest.raises(WorkflowFailureError):
        await handle.result()
    row = (await engine_worker.step_rows(handle))["send"]
    assert "no file" in row["error"]
    assert row["retry_count"] == 0
    assert http_server.hits("/upload") == []


async def run_a_download_answered_as_a_file(engine: Engine, server: ScriptedServer) -> Any:
    source = server.script("/export.csv", Reply(200, b"a,b\n1,2\n", {"content-type": "text/csv"}))
    steps = [
        {
            "id": "fetch",
            "type": "action",
            "action": "http.request",
            "input": {"url": source, "responseFormat": "file"},
        },
        {"id": "reply", "type": "respond", "file": "{{ steps.fetch.output.file }}"},
    ]
    handle = await engine.start(steps)
    result = await handle.result()
    assert result.status == "SUCCESS", result.error
    reply = output((await engine.step_rows(handle))["reply"])
    assert reply["file"]["name"] == "export.csv"
    assert reply["file"]["size"] == len(b"a,b\n1,2\n")
    return handle


async def test_a_respond_step_carries_the_file_it_answers_with(
    engine_worker: Engine, http_server: ScriptedServer
) -> None:
    await run_a_download_answered_as_a_file(engine_worker, http_server)


@recording
async def test_record_a_run_that_downloads_a_file_and_answers_with_it(
    engine_worker: Engine, http_server: ScriptedServer
) -> None:
    handle = await run_a_download_answered_as_a_file(engine_worker, http_server)
    PATHS.mkdir(parents=True, exist_ok=True)
    (PATHS / f"{HISTORY}.json").write_text((await handle.fetch_history()).to_json())


async def test_the_recorded_file_run_replays_on_the_current_worker(settings: Settings) -> None:
    replayer = Replayer(
        workflows=[BatonRun], workflow_runner=workflow_runner(), data_converter=data_converter(settings)
    )
    history = WorkflowHistory.from_json(HISTORY, (PATHS / f"{HISTORY}.json").read_text())
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, result.replay_failure


@pytest.mark.parametrize("integration", ["http", "slack", "email", "gmail"])
def test_the_file_examples_on_the_integrations_page_are_valid_steps(integration: str) -> None:
    """The examples docs/integrations.md shows for files (tests/integrations/test_docs.py keeps the page in
    step with the declarations) are steps the server takes."""
    example = INTEGRATIONS[integration].example
    blocks = re.findall(r"```json\n(.*?)```", example, re.S)
    steps = [json.loads(block) for block in blocks if "file" in block or "attachments" in block]
    assert steps, f"{integration} shows no file example"
    definition = {"triggerType": "WEBHOOK", "triggerConfig": {}, "steps": steps}  # in order
    validate_definition(definition, action_schema=action_input_schema)
