"""Replaying failed runs on the real stack: resume from a chosen step, on an edited trigger or with edited
outputs of the steps before it; and bulk retry and resume by filter (dry run that counts, at most N, a
durable batch with its progress)."""

from __future__ import annotations

from typing import Any

from tests.integrations.conftest import Studio, eventually

# `double` doubles the trigger's n; `check` fails the run when the double is over 10; `done` notes it.
STEPS: list[dict[str, Any]] = [
    {"id": "double", "type": "set", "values": {"v": "{{ trigger.n * 2 }}"}},
    {
        "id": "check",
        "type": "condition",
        "if": "{{ steps.double.output.v > 10 }}",
        "then": [{"id": "too_big", "type": "stop", "status": "FAILED", "message": "too big"}],
        "else": [{"id": "done", "type": "set", "values": {"ok": "{{ steps.double.output.v }}"}}],
    },
]


async def failed_run(studio: Studio, workflow_id: str, n: int = 10) -> dict[str, Any]:
    run = await studio.run(workflow_id, {"n": n})
    assert run["status"] == "FAILED", run
    return run


async def resumed(studio: Studio, execution_id: str, body: dict[str, Any]) -> dict[str, Any]:
    answer = await studio.client.post(
        f"{studio.base}/executions/{execution_id}/resume", headers=studio.headers, json=body
    )
    assert answer.status_code == 202, answer.text
    done = await studio.until(answer.json()["id"], lambda e: e["status"] not in ("PENDING", "RUNNING"))
    assert done is not None
    return done


async def test_resume_from_a_chosen_step_on_an_edited_trigger(studio: Studio) -> None:
    workflow_id = await studio.publish(STEPS)
    failed = await failed_run(studio, workflow_id)
    run = await resumed(studio, failed["id"], {"fromStep": "double", "triggerData": {"n": 2}})
    assert run["status"] == "SUCCESS", run
    assert run["triggerData"] == {"n": 2}
    assert run["context"]["resumedFrom"] == failed["id"]
    assert run["steps"]["double"]["output"] == {"v": 4}  # ran again, on the edited trigger
    assert run["steps"]["done"]["output"] == {"ok": 4}


async def test_resume_with_an_edited_output_of_an_earlier_step(studio: Studio) -> None:
    workflow_id = await studio.publish(STEPS)
    failed = await failed_run(studio, workflow_id)
    run = await resumed(studio, failed["id"], {"fromStep": "check", "stepOutputs": {"double": {"v": 3}}})
    assert run["status"] == "SUCCESS", run
    assert run["triggerData"] == {"n": 10}  # the failed run's
    assert run["steps"]["done"]["output"] == {"ok": 3}


async def test_resume_refuses_steps_the_workflow_does_not_have(studio: Studio) -> None:
    workflow_id = await studio.publish(STEPS)
    failed = await failed_run(studio, workflow_id)
    for body, path in (
        ({"fromStep": "nope"}, "fromStep"),
        ({"stepOutputs": {"ghost": {}}}, "stepOutputs.ghost"),
        ({"fromStep": "double", "stepOutputs": {"double": {"v": 1}}}, "stepOutputs.double"),
    ):
        answer = await studio.client.post(
            f"{studio.base}/executions/{failed['id']}/resume", headers=studio.headers, json=body
        )
        assert answer.status_code == 422, answer.text
        assert answer.json()["path"] == path


async def test_bulk_retry_and_resume_by_filter_as_a_batch_with_progress(studio: Studio) -> None:
    workflow_id = await studio.publish(STEPS)
    other = await studio.publish(STEPS)
    failed = [await failed_run(studio, workflow_id, n) for n in (10, 11, 12)]
    assert (await studio.run(workflow_id, {"n": 1}))["status"] == "SUCCESS"
    await failed_run(studio, other)

    async def bulk(action: str, body: dict[str, Any], expected: int) -> dict[str, Any]:
        answer = await studio.client.post(
            f"{studio.base}/executions/{action}", headers=studio.headers, json=body
        )
        assert answer.status_code == expected, answer.text
        found: dict[str, Any] = answer.json()
        return found

    counted = await bulk("retry", {"workflowId": workflow_id, "dryRun": True}, 200)
    assert (counted["status"], counted["matched"], counted["total"]) == ("DRY_RUN", 3, 3)
    assert counted["executionIds"] == [run["id"] for run in failed]  # oldest first
    capped = await bulk("retry", {"workflowId": workflow_id, "dryRun": True, "limit": 2}, 200)
    assert (capped["matched"], capped["total"]) == (3, 2)
    assert (await bulk("retry", {"errorContains": "TOO BIG", "dryRun": True}, 200))["matched"] == 4
    assert (await bulk("retry", {"errorContains": "no such error", "dryRun": True}, 200))["matched"] == 0
    assert (await bulk("retry", {"status": ["RUNNING"], "dryRun": True}, 422))["path"] == "status[0]"

    # a fix published, then every failed run of the workflow resumed on it
    fixed = [STEPS[0], {**STEPS[1], "if": "{{ steps.double.output.v > 100 }}"}]
    patched = await studio.client.patch(
        f"{studio.base}/workflows/{workflow_id}", headers=studio.headers, json={"steps": fixed}
    )
    assert patched.status_code == 200, patched.text
    assert (await studio.client.post(f"{studio.base}/workflows/{workflow_id}/publish", headers=studio.headers,
                                     json={})).status_code == 201  # fmt: skip
    batch = await bulk("resume", {"workflowId": workflow_id, "latestVersion": True}, 202)
    assert (batch["status"], batch["total"]) == ("RUNNING", 3)

    async def completed() -> dict[str, Any] | None:
        answer = await studio.client.get(
            f"{studio.base}/executions/batches/{batch['batchId']}", headers=studio.headers
        )
        assert answer.status_code == 200, answer.text
        found: dict[str, Any] = answer.json()
        return found if found["status"] == "COMPLETED" else None

    done = await eventually(completed, 30)
    assert done is not None, "the batch did not complete"
    assert (done["done"], done["started"], done["skipped"]) == (3, 3, 0)
    assert [o["executionId"] for o in done["outcomes"]] == [run["id"] for run in failed]
    for outcome in done["outcomes"]:
        run = await studio.until(outcome["started"], lambda e: e["status"] not in ("PENDING", "RUNNING"))
        assert run is not None
        assert (run["status"], run["context"]["resumedFrom"]) == ("SUCCESS", outcome["executionId"])

    # an unknown batch is 404 (as another workspace's is)
    missing = await studio.client.get(f"{studio.base}/executions/batches/not-a-batch", headers=studio.headers)
    assert missing.status_code == 404, missing.text
