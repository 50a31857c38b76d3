"""A worker crash repeats at most the one call that was in flight per run, never the steps that already
acted: an action runs as a local activity, and the worker that replays the run after a crash starts its
attempts again at 1, so the output an acting step keeps under its key is looked for on every attempt.

Deterministic: a run of three acting steps (an HTTP call that carries an Idempotency-Key, a Slack message,
which carries none, then an HTTP call the service holds), the worker SIGKILLed while the service holds the
third reply, so the first two steps' results never reached Temporal; a new worker finishes the run."""

from __future__ import annotations

import asyncio
import json
import threading

from sqlalchemy.ext.asyncio import AsyncEngine

from baton.seeding import seed
from core.crypto import CredentialCipher
from tests.chaos.conftest import Children, record
from tests.factories import create_user, create_workflow, create_workspace
from tests.fakes import SlackAPI
from tests.http_server import Reply, ScriptedServer, Seen


class HoldingServer(ScriptedServer):
    """Answers /hold only once `release` is set (the first call), everything else at once."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.held = threading.Event()
        super().__init__()

    def answer(self, seen: Seen) -> Reply:
        if seen.path == "/hold" and not self.release.is_set():
            self.held.set()
            self.lock.release()  # let other requests through while this one waits
            try:
                self.release.wait(60)
            finally:
                self.lock.acquire()
        return super().answer(seen)


async def test_a_worker_crash_repeats_no_step_that_already_acted(
    engine: AsyncEngine,
    children: Children,
) -> None:
    settings, db = children.settings, children.db
    await seed(engine)
    service = HoldingServer()
    slack = SlackAPI({"xoxb-good"})
    try:
        first = service.script("/first", Reply(200, {"ok": True}))
        hold = service.script("/hold", Reply(200, {"ok": True}))
        user, workspace = await create_user(db), await create_workspace(db)
        sealed = CredentialCipher.from_settings(settings).seal(
            {"accessToken": "xoxb-good", "baseUrl": slack.api_url}
        )
        connection = str(
            await db.fetchval(
                "INSERT INTO connections (user_id, workspace_id, integration_id, name, credentials) "
                "VALUES ($1, $2, 'slack', 'slack', $3) RETURNING id",
                user,
                workspace,
                json.dumps(sealed),
            )
        )
        steps = [
            {"id": "charge", "type": "action", "action": "http.request",
             "input": {"method": "POST", "url": first, "json": {"n": 1}}},
            {"id": "tell", "type": "action", "action": "slack.send_message", "connectionId": connection,
             "input": {"channel": "general", "text": "charged"}},
            {"id": "ship", "type": "action", "action": "http.request",
             "input": {"method": "POST", "url": hold, "json": {"n": 3}}},
        ]  # fmt: skip
        workflow_id = await create_workflow(db, steps, workspace_id=workspace, user_id=user)
        worker = children.start(["worker"])
        handle = await children.engine.start(steps, {}, workflow_id=workflow_id)
        assert await asyncio.to_thread(service.held.wait, 60), "the third step never called the service"
        worker.kill()  # the first two steps acted; their results live only in the dead worker's task
        service.release.set()
        worker.start()
        result = await asyncio.wait_for(handle.result(), 90)
        worker.stop()

        messages = slack.channels.get("general", [])
        record(
            "worker SIGKILL while the third of three acting steps was in flight",
            http_calls_step1=len(service.hits("/first")),
            slack_messages_step2=len(messages),
            http_calls_step3=len(service.hits("/hold")),
        )
        assert result.status == "SUCCESS"
        assert len(service.hits("/first")) == 1  # acted before the crash: not called again
        assert len(messages) == 1  # Slack sends no key: a second call would be a second message
        assert 1 <= len(service.hits("/hold")) <= 2  # the one call in flight may be made again
        keys = {hit.headers.get("Idempotency-Key") for hit in service.hits("/hold")}
        assert len(keys) == 1  # ...under the same key
    finally:
        service.release.set()
        service.close()
        slack.close()
