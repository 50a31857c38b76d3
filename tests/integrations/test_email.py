"""The email integration against real local servers: aiosmtpd (SMTP with AUTH) and pymap (an IMAP4rev1
server from PyPI, in-memory backend). STARTTLS and implicit TLS are not exercised here: they need a
certificate the client trusts, and the code paths differ only in aiosmtplib's/imaplib's own flags."""

from __future__ import annotations

import imaplib
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from tests.integrations.conftest import Studio, eventually

USER, PASSWORD = "ada@example.com", "s3cret-mail-pw"
# Plain-text AUTH is what these local servers can offer without a trusted certificate.
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Mailbox:
    def __init__(self) -> None:
        self.received: list[Envelope] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802, ARG002
        self.received.append(envelope)
        return "250 Message accepted for delivery"


def authenticate(server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any) -> AuthResult:  # noqa: ARG001
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (USER.encode(), PASSWORD.encode())
    return AuthResult(success=ok, handled=False)


@pytest.fixture
def smtp_server() -> Iterator[tuple[Mailbox, int]]:
    mailbox, port = Mailbox(), free_port()
    controller = Controller(
        mailbox,
        hostname="127.0.0.1",
        port=port,
        authenticator=authenticate,
        auth_required=True,
        auth_require_tls=False,
    )
    controller.start()
    yield mailbox, port
    controller.stop()


async def smtp_connection(studio: Studio, port: int, password: str) -> str:
    """An email connection that sends through the local SMTP server on `port` as USER."""
    credentials = {"username": USER, "password": password, "smtpHost": "127.0.0.1", "smtpPort": port}
    return await studio.connect("email", {**credentials, "smtpSecurity": "none"})


@pytest.fixture
def imap_port() -> Iterator[int]:
    port = free_port()
    pymap = shutil.which("pymap") or str(Path(sys.executable).with_name("pymap"))
    server = subprocess.Popen(
        [
            pymap,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "dict",
            "--demo-user",
            USER,
            "--demo-password",
            PASSWORD,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 15
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                raise RuntimeError("the pymap IMAP server did not start") from None
            time.sleep(0.1)
    yield port
    server.terminate()
    server.wait(10)


def deliver(port: int, sender: str, subject: str, body: str) -> None:
    """New mail arrives (APPEND, as a delivery agent would put it in the mailbox)."""
    client = imaplib.IMAP4("127.0.0.1", port)
    client.login(USER, PASSWORD)
    headers = (
        f"From: {sender}\r\nTo: {USER}\r\nSubject: {subject}\r\nMessage-ID: <{time.time_ns()}@example.com>"
    )
    message = f"{headers}\r\n\r\n{body}\r\n"
    client.append("INBOX", None, None, message.encode())
    client.logout()


async def test_send_delivers_through_smtp_with_auth(studio: Studio, smtp_server: tuple[Mailbox, int]) -> None:
    mailbox, port = smtp_server
    connection = await smtp_connection(studio, port, PASSWORD)
    execution = await studio.run_action(
        "mail",
        "email.send",
        connection,
        {
            "to": "bob@example.com",
            "bcc": ["audit@example.com"],
            "subject": "Report for {{ trigger.day }}",
            "text": "All green.",
            "html": "<p>All <b>green</b>.</p>",
        },
        {"day": "Monday"},
    )
    assert execution["status"] == "SUCCESS", execution["error"]
    envelope = mailbox.received[0]
    assert envelope.mail_from == USER
    assert sorted(envelope.rcpt_tos) == ["audit@example.com", "bob@example.com"]
    content = envelope.content.decode() if isinstance(envelope.content, bytes) else str(envelope.content)
    assert "Subject: Report for Monday" in content
    assert "audit@example.com" not in content  # Bcc goes in the envelope only
    output = execution["steps"]["mail"]["output"]
    assert output["messageId"] in content
    assert sorted(output["accepted"]) == ["audit@example.com", "bob@example.com"]


async def test_a_wrong_smtp_password_says_to_reconnect(
    studio: Studio, smtp_server: tuple[Mailbox, int]
) -> None:
    _, port = smtp_server
    connection = await smtp_connection(studio, port, "wrong")
    execution = await studio.run_action(
        "mail", "email.send", connection, {"to": "bob@example.com", "subject": "x", "text": "y"}
    )
    assert execution["status"] == "FAILED"
    assert "Reconnect" in execution["error"]
    tested = await studio.client.post(f"{studio.base}/connections/{connection}/test", headers=studio.headers)
    assert tested.json()["ok"] is False


async def test_new_email_over_imap_fires_once_per_new_message(studio: Studio, imap_port: int) -> None:
    deliver(imap_port, "boss@example.com", "Before publishing", "old")
    connection = await studio.connect(
        "email",
        {
            "username": USER,
            "password": PASSWORD,
            "imapHost": "127.0.0.1",
            "imapPort": imap_port,
            "imapSecurity": "none",
        },
    )
    tested = await studio.client.post(f"{studio.base}/connections/{connection}/test", headers=studio.headers)
    assert tested.json()["ok"] is True, tested.text
    workflow = await studio.poll(
        "email.new_email",
        {"mailbox": "INBOX", "from": "boss@"},
        connection,
        [
            {
                "id": "got",
                "type": "set",
                "values": {"subject": "{{ trigger.subject }}", "text": "{{ trigger.text }}"},
            }
        ],
    )

    async def baselined() -> Any:
        return await studio.db.fetchval(
            "SELECT cursor FROM poll_states WHERE workflow_id = $1 AND baseline_at IS NOT NULL", workflow
        )

    assert await eventually(baselined)
    deliver(imap_port, "newsletter@example.com", "Deals", "buy")
    deliver(imap_port, "boss@example.com", "Quarterly numbers", "See attached.")

    async def runs() -> list[dict[str, Any]]:
        return [
            e["steps"]["got"]["output"] for e in await studio.executions(workflow) if e["status"] == "SUCCESS"
        ]

    found = await eventually(runs)
    assert [r["subject"] for r in found] == ["Quarterly numbers"]
    assert found[0]["text"].strip() == "See attached."
