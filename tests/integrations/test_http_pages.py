"""`http.request` with `paginate` (integrations/http_pages.py) against local listing services of each kind:
a Link header, a cursor in the body, page numbers and offsets; a failed page resumed where it failed; the
bounds; and the recorded history of the path (a paginated request runs on the `long` profile's queue)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowFailureError, WorkflowHistory
from temporalio.worker import Replayer

from core.codec import data_converter
from core.settings import Settings
from tests.engine import Engine
from tests.http_server import LocalServer, Reply, Seen
from tests.integrations.conftest import Studio
from tests.worker.recording import recording
from worker.interpreter import BatonRun
from worker.main import workflow_runner

PATHS = Path(__file__).parents[1] / "worker" / "histories" / "paths"
ITEMS = [{"id": n} for n in range(1, 21)]  # 20 items
SIZE = 3  # per page: 7 pages, the last with 2


class Listings(LocalServer):
    """One listing of 20 items served four ways; counts the requests per page; fails chosen pages once."""

    def __init__(self) -> None:
        self.served: Counter[tuple[str, int]] = Counter()
        self.fail_once: set[tuple[str, int]] = set()
        self.item_bytes = 0  # pads each item, for the size bound
        super().__init__()

    def _items(self, start: int, count: int) -> list[dict[str, Any]]:
        page = ITEMS[start : start + count]
        return [{**item, "pad": "x" * self.item_bytes} for item in page] if self.item_bytes else page

    def _arg(self, seen: Seen, name: str, default: int) -> int:
        return int(seen.query.get(name, [str(default)])[0])

    def answer(self, seen: Seen) -> Reply:
        kind = seen.path.strip("/")
        if kind in ("link", "elsewhere"):
            number = self._arg(seen, "page", 1)
        elif kind == "cursor":
            number = int(seen.query.get("after", ["c0"])[0][1:]) // SIZE + 1
        elif kind == "page":
            number = self._arg(seen, "p", 1)
        else:
            number = self._arg(seen, "offset", 0) // self._arg(seen, "limit", SIZE) + 1
        self.served[(kind, number)] += 1
        if (kind, number) in self.fail_once:
            self.fail_once.discard((kind, number))
            return Reply(503, {"error": "try again"})
        start = (number - 1) * SIZE
        found = self._items(start, SIZE)
        more = start + SIZE < len(ITEMS)
        if kind == "link":
            headers = (
                {"Link": f'</link?page={number + 1}>; rel="next", </link?page=7>; rel="last"'} if more else {}
            )
            return Reply(200, found, headers)
        if kind == "elsewhere":  # the next link points at another origin
            return Reply(200, found, {"Link": f'<http://localhost:{self._port}/link?page=2>; rel="next"'})
        if kind == "cursor":
            return Reply(200, {"data": found, "meta": {"next": f"c{start + SIZE}" if more else None}})
        if kind == "page":
            return Reply(200, {"results": found})
        limit = self._arg(seen, "limit", SIZE)
        return Reply(200, {"items": self._items(self._arg(seen, "offset", 0), limit)})

    @property
    def _port(self) -> int:
        return int(self.base_url.rsplit(":", 1)[1])

    def pages(self, kind: str) -> dict[int, int]:
        return {number: count for (k, number), count in sorted(self.served.items()) if k == kind}


@pytest.fixture
def listings() -> Iterator[Listings]:
    server = Listings()
    yield server
    server.close()


def listing(url: str, paginate: dict[str, Any], **more: Any) -> list[dict[str, Any]]:
    return [
        {
            "id": "list",
            "type": "action",
            "action": "http.request",
            "input": {"url": url, "paginate": paginate},
            "retry": {"maxAttempts": 3, "initialIntervalSeconds": 0.1},
            **more,
        }
    ]


async def failure(engine: Engine, url: str, paginate: dict[str, Any]) -> str:
    """The message the failed run ends with."""
    with pytest.raises(WorkflowFailureError) as caught:
        await engine.run(listing(url, paginate))
    return str(caught.value.cause)


async def read_all(engine: Engine, url: str, paginate: dict[str, Any]) -> dict[str, Any]:
    result = await engine.run(listing(url, paginate))
    assert result.status == "SUCCESS", result.error
    output: dict[str, Any] = result.result
    return output


async def test_a_link_header_listing_is_read_to_its_last_page_on_the_long_queue(
    engine_worker: Engine, listings: Listings
) -> None:
    handle = await engine_worker.start(listing(f"{listings.base_url}/link", {"type": "link"}))
    result = await handle.result()
    assert result.status == "SUCCESS", result.error
    assert result.result["items"] == ITEMS
    assert result.result["pages"] == {"count": 7, "lastStatus": 200, "stoppedBy": "last page", "more": False}
    assert result.result["body"] is None
    assert listings.pages("link") == dict.fromkeys(range(1, 8), 1)
    history = await handle.fetch_history()
    (scheduled,) = [
        event.activity_task_scheduled_event_attributes
        for event in history.events
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
        and event.activity_task_scheduled_event_attributes.activity_type.name == "http.request"
    ]
    assert scheduled.task_queue.name == f"{engine_worker.task_queue}-long"
    assert scheduled.heartbeat_timeout.ToSeconds() == 60


async def test_a_cursor_read_by_an_expression_from_the_body(
    engine_worker: Engine, listings: Listings
) -> None:
    output = await read_all(
        engine_worker,
        f"{listings.base_url}/cursor",
        {
            "type": "cursor",
            "items": "response.body.data",
            "cursor": "response.body.meta.next",
            "param": "after",
        },
    )
    assert output["items"] == ITEMS
    assert (output["pages"]["count"], output["pages"]["stoppedBy"]) == (7, "last page")
    assert listings.pages("cursor") == dict.fromkeys(range(1, 8), 1)


async def test_page_numbers_end_at_the_first_empty_page(engine_worker: Engine, listings: Listings) -> None:
    output = await read_all(
        engine_worker,
        f"{listings.base_url}/page",
        {"type": "page", "items": "response.body.results", "param": "p"},
    )
    assert output["items"] == ITEMS
    assert (output["pages"]["count"], output["pages"]["stoppedBy"]) == (8, "empty page")


async def test_offsets_end_at_a_short_page_and_send_the_limit(
    engine_worker: Engine, listings: Listings
) -> None:
    output = await read_all(
        engine_worker,
        f"{listings.base_url}/offset",
        {"type": "offset", "items": "response.body.items", "limit": 5},
    )
    assert output["items"] == ITEMS
    # 20 items in pages of 5: the fifth page is empty (a full page may be the last)
    assert (output["pages"]["count"], output["pages"]["stoppedBy"]) == (5, "empty page")
    offsets = sorted(int(r.query["offset"][0]) for r in listings.hits("/offset"))
    assert offsets == [0, 5, 10, 15, 20]
    assert {r.query["limit"][0] for r in listings.hits("/offset")} == {"5"}


async def test_a_paginated_post_sends_no_idempotency_key(engine_worker: Engine, listings: Listings) -> None:
    steps = listing(f"{listings.base_url}/link", {"type": "link", "maxPages": 2})
    steps[0]["input"]["method"] = "POST"
    result = await engine_worker.run(steps)
    assert result.result["items"] == ITEMS[:6]
    assert [r.method for r in listings.hits("/link")] == ["POST", "POST"]
    assert all("Idempotency-Key" not in r.headers for r in listings.hits("/link"))


async def test_max_pages_and_stop_when_end_the_pages_early(engine_worker: Engine, listings: Listings) -> None:
    capped = await read_all(engine_worker, f"{listings.base_url}/link", {"type": "link", "maxPages": 2})
    assert capped["items"] == ITEMS[:6]
    assert capped["pages"] == {"count": 2, "lastStatus": 200, "stoppedBy": "maxPages", "more": True}
    stopped = await read_all(
        engine_worker,
        f"{listings.base_url}/link",
        {"type": "link", "stopWhen": "response.body | selectattr('id', 'equalto', 8) | list | length > 0"},
    )
    assert stopped["items"] == ITEMS[:9]
    assert stopped["pages"]["stoppedBy"] == "stopWhen"


async def test_a_failure_on_page_7_resumes_at_page_7(engine_worker: Engine, listings: Listings) -> None:
    listings.fail_once = {("cursor", 7)}
    output = await read_all(
        engine_worker,
        f"{listings.base_url}/cursor",
        {
            "type": "cursor",
            "items": "response.body.data",
            "cursor": "response.body.meta.next",
            "param": "after",
        },
    )
    assert output["items"] == ITEMS
    assert output["pages"]["resumedAt"] == 7
    assert listings.pages("cursor") == {**dict.fromkeys(range(1, 7), 1), 7: 2}


async def test_the_bounds_fail_the_step_naming_the_limit(engine_worker: Engine, listings: Listings) -> None:
    too_many = await failure(engine_worker, f"{listings.base_url}/link", {"type": "link", "maxPages": 101})
    assert "limit of 100 pages (HTTP_PAGES_MAX)" in too_many
    listings.item_bytes = 200_000  # 600 KB a page: the second page passes the 1 MiB the items may total
    too_big = await failure(engine_worker, f"{listings.base_url}/link", {"type": "link"})
    assert "(HTTP_PAGES_MAX_BYTES)" in too_big
    assert listings.pages("link") == {1: 1, 2: 1}  # not retried: the same pages would fail again


async def test_a_next_link_to_another_origin_is_refused(engine_worker: Engine, listings: Listings) -> None:
    refused = await failure(engine_worker, f"{listings.base_url}/elsewhere", {"type": "link"})
    assert "leaves 127.0.0.1" in refused
    assert listings.pages("link") == {}


@pytest.mark.parametrize(
    ("paginate", "said"),
    [
        ({"type": "cursor"}, "needs `cursor`"),
        ({"type": "link", "items": "{{ response.body }}"}, "'response'"),  # rendered before the call
        ({"type": "link", "items": "steps.x"}, "unknown name 'steps'"),
        ({"type": "link", "stopWhen": "response.body |"}, "stopWhen"),
    ],
)
async def test_a_bad_paginate_fails_at_once_naming_the_field(
    engine_worker: Engine, listings: Listings, paginate: dict[str, Any], said: str
) -> None:
    refused = await failure(engine_worker, f"{listings.base_url}/link", paginate)
    assert "paginate" in refused
    assert said in refused
    assert listings.requests == []


async def test_every_page_carries_the_connections_auth_and_a_bad_paginate_is_a_422_naming_it(
    studio: Studio, listings: Listings
) -> None:
    connection = await studio.connect("http", {"type": "bearer", "token": "tok-pages-123"})
    steps = listing(f"{listings.base_url}/link", {"type": "link", "maxPages": 3}, connectionId=connection)
    execution = await studio.run(await studio.publish(steps))
    assert execution["status"] == "SUCCESS", execution["error"]
    assert execution["steps"]["list"]["output"]["items"] == ITEMS[:9]
    assert [r.headers["Authorization"] for r in listings.hits("/link")] == ["Bearer tok-pages-123"] * 3
    bad = listing(f"{listings.base_url}/link", {"type": "sideways", "maxPages": 0})
    created = await studio.client.post(
        f"{studio.base}/workflows",
        headers=studio.headers,
        json={"name": "bad", "triggerType": "MANUAL", "triggerConfig": {}, "steps": bad},
    )
    assert created.status_code == 422, created.text
    assert "steps[0].input.paginate" in created.text


@recording
async def test_record_a_paginated_request_resumed_after_a_failed_page(
    engine_worker: Engine, listings: Listings
) -> None:
    listings.fail_once = {("link", 3)}
    handle = await engine_worker.start(listing(f"{listings.base_url}/link", {"type": "link"}))
    result = await handle.result()
    assert result.status == "SUCCESS", result.error
    assert result.result["pages"]["resumedAt"] == 3
    PATHS.mkdir(parents=True, exist_ok=True)
    (PATHS / "http_request_paginated.json").write_text((await handle.fetch_history()).to_json())


async def test_the_recorded_paginated_request_replays_on_the_current_worker(settings: Settings) -> None:
    """Also replayed with every other history by tests/worker/test_replay.py."""
    path = PATHS / "http_request_paginated.json"
    replayer = Replayer(
        workflows=[BatonRun], workflow_runner=workflow_runner(), data_converter=data_converter(settings)
    )
    history = WorkflowHistory.from_json(path.stem, path.read_text())
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, f"{path.name} no longer replays: {result.replay_failure}"
