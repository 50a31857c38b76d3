"""The typed waits (core.runs.waits): the rows' wire form is unchanged, and every reader (logs, CLI, the
inbox, unpause) says the same sentence for the same wait, including the waits of a paused or parked step."""

from __future__ import annotations

from typing import Any

import pytest

from activities.records import live_message
from baton.cli_runs import _live
from core.contract import StepRecord

WIRE_FORMS: list[dict[str, Any]] = [
    {
        "kind": "waiting",
        "for": "approval",
        "message": "Refund 40 EUR?",
        "approvers": ["boss"],
        "expiresAt": "2026-12-24T09:00:00+00:00",
        "defaultDecision": "reject",
    },
    {"kind": "waiting", "for": "delay", "until": "2026-12-24T09:00:00+00:00"},
    {"kind": "waiting", "for": "subworkflow", "childExecutionId": "e-2", "workflowId": "w-2"},
    {"kind": "waiting", "for": "pause", "pausedBy": "u-1", "reason": "CRM migration"},
    {"kind": "waiting", "for": "fix", "lastError": "HTTP 500", "attempt": 3},
]


@pytest.mark.parametrize("state", WIRE_FORMS, ids=lambda state: state["for"])
def test_each_wait_reads_and_writes_the_rows_wire_form_unchanged(state: dict[str, Any]) -> None:
    from core.runs.waits import parse_wait

    wait = parse_wait(state)
    assert wait is not None
    assert wait.state() == state


def test_a_state_that_does_not_wait_or_waits_for_something_unknown_is_no_wait() -> None:
    from core.runs.waits import parse_wait

    assert parse_wait({"kind": "running"}) is None
    assert parse_wait({"kind": "waiting", "for": "a-later-kind"}) is None
    assert parse_wait(None) is None


def record(state: dict[str, Any]) -> StepRecord:
    return StepRecord("push", "push", "action", "RUNNING", state=state, error=state.get("lastError"))


def test_the_log_says_what_a_paused_or_parked_step_waits_for() -> None:
    """They were logged as `waits for its subworkflow run None`."""
    paused = live_message(record(WIRE_FORMS[3]))
    parked = live_message(record(WIRE_FORMS[4]))
    assert paused == "paused before Step 'push': CRM migration"
    assert parked.startswith("Step 'push' failed: waiting for an operator")
    assert "HTTP 500" in parked
    assert "subworkflow" not in paused + parked


def test_the_log_and_the_cli_say_the_same_sentence_for_a_wait() -> None:
    for state in WIRE_FORMS:
        logged = live_message(record(state)).replace("Step 'push'", "push")
        shown = _live({"state": "waiting", "steps": [{"stepId": "push", **state}]})
        assert logged == shown, state
    assert _live({"state": "waiting", "steps": [{"stepId": "approve", **WIRE_FORMS[0]}]}) == (
        "approve: waiting for approval: Refund 40 EUR? (expires 2026-12-24T09:00:00+00:00, then reject)"
    )
