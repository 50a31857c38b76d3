"""A paginated http.request whose worker is SIGKILLed on page 5 resumes at page 5 on the next worker: the
position and the items heartbeated after page 4 reached Temporal within the long queue's heartbeat throttle
(worker.main.HEARTBEAT_THROTTLE), and the retry (once the dead attempt's heartbeat timeout passed) starts
from them. Pages 1 to 4 are requested once."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import asyncpg
from temporalio.client import Client

from core.codec import data_converter
from core.settings import Settings
from tests.chaos.conftest import Process, record, worker_env
from tests.engine import Engine
from tests.http_server import Reply, Seen
from tests.integrations.conftest import eventually
from tests.integrations.test_http_pages import ITEMS, Listings, listing

HELD_PAGE = 5


class HoldingListings(Listings):
    """The listing, holding the first request for page 5 until `release` is set."""

    def __init__(self) -> None:
        self.held = threading.Event()
        self.release = threading.Event()
        super().__init__()

    def answer(self, seen: Seen) -> Reply:
        if seen.query.get("page") == [str(HELD_PAGE)] and not self.held.is_set():
            self.held.set()
            self.lock.release()  # other requests go on while this one waits
            try:
                self.release.wait(120)
            finally:
                self.lock.acquire()
        return super().answer(seen)


async def heartbeated_pages(settings: Settings, client: Client, workflow_id: str) -> int:
    """How many pages the pending http.request's last heartbeat that reached Temporal says were read."""
    description = await client.get_workflow_handle(workflow_id).describe()
    for pending in description.raw_description.pending_activities:
        if pending.activity_type.name == "http.request" and pending.heartbeat_details.payloads:
            decoded = await data_converter(settings).decode(list(pending.heartbeat_details.payloads))
            details: Any = decoded[0] if decoded else None
            if isinstance(details, dict) and isinstance(details.get("pages"), int):
                return int(details["pages"])
    return 0


async def test_a_worker_killed_mid_pagination_resumes_at_the_page_it_was_reading(
    settings: Settings,
    db: asyncpg.Connection,
    temporal_client: Client,
    task_queue: str,
    processes: list[Process],
    tmp_path: Path,
) -> None:
    listings = HoldingListings()
    try:
        worker = Process(["worker"], worker_env(settings, task_queue), tmp_path / "worker.log")
        processes.append(worker)
        worker.start()
        handle = await Engine(temporal_client, db, task_queue).start(
            listing(f"{listings.base_url}/link", {"type": "link"})
        )
        assert await asyncio.to_thread(listings.held.wait, 90), "page 5 was never asked for"

        async def page_4_heartbeated() -> bool:
            return await heartbeated_pages(settings, temporal_client, handle.id) == HELD_PAGE - 1

        assert await eventually(page_4_heartbeated, 30), "the position after page 4 never reached Temporal"
        worker.kill()  # page 5 in flight
        listings.release.set()
        worker.start()
        result = await asyncio.wait_for(handle.result(), 180)  # after the dead attempt's heartbeat timeout
        worker.stop()
        pages = listings.pages("link")
        record("worker SIGKILL mid-pagination (page 5 of 7 in flight)", requests_per_page=pages)
        assert result.status == "SUCCESS", result.error
        assert result.result["items"] == ITEMS
        assert result.result["pages"]["resumedAt"] == HELD_PAGE
        assert pages == {1: 1, 2: 1, 3: 1, 4: 1, 5: 2, 6: 1, 7: 1}
    finally:
        listings.release.set()
        listings.close()
