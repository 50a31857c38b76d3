"""Google Drive end to end against a local Drive API server: a workflow lists a folder's PDFs across pages,
downloads one into the run (its bytes streamed to the file store, named as Drive names it), exports a
Google Doc as PDF, and uploads the downloaded file to another folder through the resumable upload, byte for
byte with its length declared; a file that is not there fails once in Google's words."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from core.settings import Settings
from tests.factories import action_step
from tests.http_server import serving
from tests.integrations.conftest import Studio
from tests.integrations.drive_api import DriveAPI
from tests.integrations.page_examples import example_steps

TOKEN = "ya29.a0-SECRET-secret-SECRET"
FOLDER = "1FolderAAAAAAAAAAAA"
ARCHIVE = "1ArchiveBBBBBBBBBBB"
PDF = b"%PDF-1.7\n" + os.urandom(300_000)

drive_api = serving(lambda: DriveAPI({TOKEN}))


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    return settings.model_copy(update={"blob_store_url": f"file://{tmp_path}/blobs"})


async def connect(studio: Studio, api: DriveAPI) -> str:
    return await studio.connect("google_drive", {"accessToken": TOKEN, "baseUrl": api.base_url})


async def test_a_folders_pdfs_are_listed_one_downloaded_and_uploaded_elsewhere(
    studio: Studio, drive_api: DriveAPI
) -> None:
    for n in range(3):
        drive_api.add(f"other-{n}.txt", "text/plain", b"x", [FOLDER])
    first = drive_api.add("Contract é.pdf", "application/pdf", PDF, [FOLDER])
    drive_api.add("Old.pdf", "application/pdf", b"%PDF old", [FOLDER])
    drive_api.add("Elsewhere.pdf", "application/pdf", b"%PDF", ["root"])
    doc = drive_api.add("Minutes", "application/vnd.google-apps.document", b"minutes text")
    connection = await connect(studio, drive_api)
    workflow = await studio.publish(
        [
            action_step(
                "pdfs",
                "google_drive.list_files",
                {
                    "query": f"'{FOLDER}' in parents and mimeType = 'application/pdf'",
                    "page_size": 1,
                    "max_pages": 5,
                },
                connection,
            ),
            action_step(
                "contract",
                "google_drive.download_file",
                {"file_id": "{{ steps.pdfs.output.files[0].id }}"},
                connection,
            ),
            action_step("minutes", "google_drive.download_file", {"file_id": doc["id"]}, connection),
            action_step(
                "archive",
                "google_drive.upload_file",
                {"file": "{{ steps.contract.output.file }}", "folder_id": ARCHIVE, "name": "signed.pdf"},
                connection,
            ),
            action_step(
                "meta", "google_drive.get_file", {"file_id": "{{ steps.archive.output.id }}"}, connection
            ),
        ]
    )
    execution = await studio.run(workflow)
    assert execution["status"] == "SUCCESS", execution["error"]
    steps = execution["steps"]
    assert [f["name"] for f in steps["pdfs"]["output"]["files"]] == ["Contract é.pdf", "Old.pdf"]
    assert steps["pdfs"]["output"]["next_page_token"] is None
    kept = steps["contract"]["output"]["file"]
    assert (kept["name"], kept["size"], kept["contentType"]) == (
        "Contract é.pdf",
        len(PDF),
        "application/pdf",
    )
    assert steps["contract"]["output"]["metadata"]["id"] == first["id"]
    assert steps["minutes"]["output"]["file"]["contentType"] == "application/pdf"  # a Google Doc, exported
    uploaded = steps["archive"]["output"]
    assert drive_api.contents[uploaded["id"]] == PDF  # byte for byte
    assert (uploaded["name"], uploaded["parents"]) == ("signed.pdf", [ARCHIVE])
    assert steps["meta"]["output"]["size"] == len(PDF)
    started, sent = drive_api.hits("/upload/drive/v3/files")
    assert (started.method, sent.method) == ("POST", "PUT")
    assert started.headers["X-Upload-Content-Length"] == sent.headers["Content-Length"] == str(len(PDF))
    assert [s.query.get("pageToken") for s in drive_api.hits("/drive/v3/files")] == [None, ["1"]]
    assert TOKEN not in json.dumps(execution)


async def test_a_missing_file_fails_once_in_googles_words(studio: Studio, drive_api: DriveAPI) -> None:
    connection = await connect(studio, drive_api)
    workflow = await studio.publish(
        [action_step("get", "google_drive.download_file", {"file_id": "1NotThereXXXXXX"}, connection)]
    )
    execution = await studio.run(workflow)
    assert execution["status"] == "FAILED"
    assert "File not found: 1NotThereXXXXXX" in execution["error"]
    assert len(drive_api.requests) == 1


def test_the_examples_on_the_integrations_page_are_valid_steps() -> None:
    assert [s["action"] for s in example_steps("google_drive")] == [
        "google_drive.list_files",
        "google_drive.download_file",
        "google_drive.upload_file",
    ]
