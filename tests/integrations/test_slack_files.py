"""Slack uploads a file end to end: a published workflow downloads a file and `slack.upload_file` sends it
through Slack's current flow (files.getUploadURLExternal, the bytes to the signed upload URL without the
token, files.completeUploadExternal sharing it in a channel), against the local Slack server."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from core.settings import Settings
from tests.fakes import SlackAPI
from tests.http_server import Reply, ScriptedServer, serving
from tests.integrations.conftest import Studio

TOKEN = "xoxb-valid-SECRET"
IMAGE = b"\x89PNG\r\n\x1a\n" + os.urandom(120_000)

slack_api = serving(lambda: SlackAPI({TOKEN}))


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    return settings.model_copy(update={"blob_store_url": f"file://{tmp_path}/blobs"})


async def test_a_downloaded_chart_is_uploaded_to_a_channel(
    studio: Studio, slack_api: SlackAPI, http_server: ScriptedServer
) -> None:
    chart = http_server.script("/chart.png", Reply(200, IMAGE, {"content-type": "image/png"}))
    connection = await studio.connect("slack", {"accessToken": TOKEN, "baseUrl": slack_api.api_url})
    workflow = await studio.publish(
        [
            {
                "id": "chart",
                "type": "action",
                "action": "http.request",
                "input": {"url": chart, "responseFormat": "file"},
            },
            {
                "id": "share",
                "type": "action",
                "action": "slack.upload_file",
                "connectionId": connection,
                "input": {
                    "file": "{{ steps.chart.output.file }}",
                    "channel_id": "C0GENERAL",
                    "initial_comment": "Weekly chart",
                },
            },
        ]
    )
    execution = await studio.run(workflow)
    assert execution["status"] == "SUCCESS", execution["error"]
    output = execution["steps"]["share"]["output"]
    (upload,) = slack_api.uploads.values()
    assert output["file_id"] in slack_api.uploads
    assert upload["bytes"] == IMAGE
    assert (upload["name"], upload["length"], upload["title"]) == ("chart.png", len(IMAGE), "chart.png")
    assert (upload["channel"], upload["comment"]) == ("C0GENERAL", "Weekly chart")
    (sent,) = slack_api.hits(f"/upload/{output['file_id']}")
    assert "Authorization" not in sent.headers  # the upload URL is signed: the token stays with Slack's API
    assert TOKEN not in str(execution)
