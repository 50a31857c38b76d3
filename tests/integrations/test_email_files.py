"""Email attachments as files: the SMTP and Gmail send actions attach files (a download here), and a received
message's attachments become files of the run (IMAP on a local pymap server, Gmail on the local Gmail API),
byte for byte; the attachments of a message sent past the size mail servers accept are refused."""

from __future__ import annotations

import hashlib
import imaplib
import os
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from core.settings import Settings
from tests.fakes import GmailAPI
from tests.http_server import Reply, ScriptedServer, serving
from tests.integrations.conftest import Studio, eventually
from tests.integrations.test_email import PASSWORD, USER, Mailbox, imap_port, smtp_server  # noqa: F401

GOOGLE_TOKEN = "ya29.valid-SECRET"
REPORT = b"%PDF-1.4\n" + os.urandom(80_000)
SHEET = os.urandom(30_000)

# Plain-text AUTH is what the local SMTP server can offer without a trusted certificate.
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
gmail_api = serving(lambda: GmailAPI({GOOGLE_TOKEN}))


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    return settings.model_copy(update={"blob_store_url": f"file://{tmp_path}/blobs"})


def download(url: str) -> dict[str, Any]:
    return {
        "id": "report",
        "type": "action",
        "action": "http.request",
        "input": {"url": url, "responseFormat": "file"},
    }


def attached(raw: bytes) -> dict[str, tuple[str, Any]]:
    message = message_from_bytes(raw, policy=policy.default)
    parts = message.iter_attachments()
    return {
        str(part.get_filename()): (part.get_content_type(), part.get_payload(decode=True)) for part in parts
    }


def imap_credentials(port: int) -> dict[str, Any]:
    return {
        "username": USER,
        "password": PASSWORD,
        "imapHost": "127.0.0.1",
        "imapPort": port,
        "imapSecurity": "none",
    }


def deliver_with_a_sheet(port: int) -> int:
    """A message with SHEET attached arrives in INBOX (APPEND); its UID."""
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "boss@example.com", USER, "Numbers"
    message.set_content("See attached.")
    message.add_attachment(SHEET, maintype="application", subtype="vnd.ms-excel", filename="q3.xls")
    client = imaplib.IMAP4("127.0.0.1", port)
    client.login(USER, PASSWORD)
    client.append("INBOX", None, None, message.as_bytes())
    client.select("INBOX", readonly=True)
    _, found = client.uid("SEARCH", "ALL")
    client.logout()
    return int(found[0].split()[-1])


async def test_smtp_sends_a_downloaded_report_as_an_attachment(
    studio: Studio,
    smtp_server: tuple[Mailbox, int],  # noqa: F811
    http_server: ScriptedServer,
) -> None:
    mailbox, port = smtp_server
    url = http_server.script("/q3.pdf", Reply(200, REPORT, {"content-type": "application/pdf"}))
    credentials = {
        "username": USER,
        "password": PASSWORD,
        "smtpHost": "127.0.0.1",
        "smtpPort": port,
        "smtpSecurity": "none",
    }
    connection = await studio.connect("email", credentials)
    send = {
        "id": "mail",
        "type": "action",
        "action": "email.send",
        "connectionId": connection,
        "input": {
            "to": "bob@example.com",
            "subject": "Q3",
            "text": "Attached.",
            "attachments": ["{{ steps.report.output.file }}"],
        },
    }
    execution = await studio.run(await studio.publish([download(url), send]))
    assert execution["status"] == "SUCCESS", execution["error"]
    content = mailbox.received[0].content
    assert isinstance(content, bytes)
    assert attached(content) == {"q3.pdf": ("application/pdf", REPORT)}


async def test_imap_attachments_become_files_of_the_run(studio: Studio, imap_port: int) -> None:  # noqa: F811
    uid = deliver_with_a_sheet(imap_port)
    connection = await studio.connect("email", imap_credentials(imap_port))
    step = {
        "id": "files",
        "type": "action",
        "action": "email.get_attachments",
        "connectionId": connection,
        "input": {"uid": uid},
    }
    execution = await studio.run(await studio.publish([step]))
    assert execution["status"] == "SUCCESS", execution["error"]
    (file,) = execution["steps"]["files"]["output"]["attachments"]
    assert (file["name"], file["contentType"], file["size"]) == (
        "q3.xls",
        "application/vnd.ms-excel",
        len(SHEET),
    )
    assert file["sha256"] == hashlib.sha256(SHEET).hexdigest()


async def test_gmail_receives_attachments_as_files_and_sends_them_on(
    studio: Studio, gmail_api: GmailAPI
) -> None:
    message_id = gmail_api.receive(
        "billing@vendor.com", "Invoice", attachments=(("inv.pdf", "application/pdf", REPORT),)
    )
    connection = await studio.connect("gmail", {"accessToken": GOOGLE_TOKEN, "baseUrl": gmail_api.base_url})
    steps = [
        {
            "id": "files",
            "type": "action",
            "action": "gmail.get_attachments",
            "connectionId": connection,
            "input": {"messageId": message_id},
        },
        {
            "id": "forward",
            "type": "action",
            "action": "gmail.send_email",
            "connectionId": connection,
            "input": {
                "to": "accounts@example.com",
                "subject": "Fwd: Invoice",
                "body": "For the books.",
                "attachments": "{{ steps.files.output.attachments }}",
            },
        },
    ]
    execution = await studio.run(await studio.publish(steps))
    assert execution["status"] == "SUCCESS", execution["error"]
    (file,) = execution["steps"]["files"]["output"]["attachments"]
    assert (file["name"], file["size"]) == ("inv.pdf", len(REPORT))
    assert file["sha256"] == hashlib.sha256(REPORT).hexdigest()
    assert attached(gmail_api.sent[0].as_bytes()) == {"inv.pdf": ("application/pdf", REPORT)}


async def test_a_new_email_run_keeps_the_attachments_its_trigger_lists(
    studio: Studio,
    imap_port: int,  # noqa: F811
) -> None:
    connection = await studio.connect("email", imap_credentials(imap_port))
    steps = [
        {
            "id": "files",
            "type": "action",
            "action": "email.get_attachments",
            "connectionId": connection,
            "input": {"uid": "{{ trigger.uid }}"},
        },
        {
            "id": "listed",
            "type": "set",
            "values": {"names": "{{ trigger.attachments | map(attribute='name') | list }}"},
        },
    ]
    config = {
        "trigger": "email.new_email",
        "config": {},
        "connectionId": connection,
        "pollingIntervalSeconds": 1,
    }
    workflow = await studio.publish(steps, "POLLING", config)

    async def baselined() -> Any:
        return await studio.db.fetchval(
            "SELECT cursor FROM poll_states WHERE workflow_id = $1 AND baseline_at IS NOT NULL", workflow
        )

    assert await eventually(baselined)
    deliver_with_a_sheet(imap_port)

    async def ran() -> list[dict[str, Any]]:
        return [e for e in await studio.executions(workflow) if e["status"] == "SUCCESS"]

    (execution,) = await eventually(ran)
    assert execution["steps"]["listed"]["output"] == {"names": ["q3.xls"]}
    (file,) = execution["steps"]["files"]["output"]["attachments"]
    assert file["sha256"] == hashlib.sha256(SHEET).hexdigest()
