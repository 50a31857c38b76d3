"""Unpausing a run that is not paused changes nothing, so it is refused (409) with what the run waits for
instead; a pause asked for during a wait is still withdrawn by an unpause before it takes hold."""

from __future__ import annotations

from typing import Any

from tests.integrations.conftest import Studio
from tests.integrations.test_pause import ended, waiting_for

STEPS: list[dict[str, Any]] = [
    {"id": "approve", "type": "approval", "message": "Refund 40 EUR?"},
    {"id": "after", "type": "set", "values": {"done": True}},
]


async def test_unpausing_a_run_that_waits_for_an_approval_is_409_naming_the_approval(studio: Studio) -> None:
    execution_id = await studio.start(await studio.publish(STEPS))
    assert await studio.until(execution_id, waiting_for("approval", "approve")) is not None
    path = f"{studio.base}/executions/{execution_id}"

    refused = await studio.client.post(f"{path}/unpause", headers=studio.headers, json={})
    assert refused.status_code == 409, refused.text
    assert refused.json()["detail"].startswith(
        "the run is not paused: it waits for approval of step `approve`"
    ), refused.json()

    decided = await studio.client.post(
        f"{path}/steps/approve/decision", headers=studio.headers, json={"approved": True}
    )
    assert decided.status_code == 200, decided.text
    done = await studio.until(execution_id, ended)
    assert done is not None
    assert done["status"] == "SUCCESS", done


async def test_an_unpause_withdraws_a_pause_asked_for_while_the_run_waits(studio: Studio) -> None:
    execution_id = await studio.start(await studio.publish(STEPS))
    assert await studio.until(execution_id, waiting_for("approval", "approve")) is not None
    path = f"{studio.base}/executions/{execution_id}"
    paused = await studio.client.post(f"{path}/pause", headers=studio.headers, json={})
    assert paused.status_code == 202, paused.text

    unpaused = await studio.client.post(f"{path}/unpause", headers=studio.headers, json={})
    assert unpaused.status_code == 202, unpaused.text
    again = await studio.client.post(f"{path}/unpause", headers=studio.headers, json={})
    assert again.status_code == 409, again.text  # nothing left to withdraw

    await studio.client.post(
        f"{path}/steps/approve/decision", headers=studio.headers, json={"approved": True}
    )
    done = await studio.until(execution_id, ended)
    assert done is not None
    assert done["status"] == "SUCCESS", done  # did not park before `after`
