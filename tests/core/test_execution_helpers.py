"""When a sync webhook must ask the run for an early reply, and when waiting for its result is enough."""

from __future__ import annotations

from typing import Any

import pytest

from core.contract import responds_before_the_end

RESPOND = {"id": "reply", "type": "respond", "status": 200, "body": {}}
RESPOND_ACTION = {"id": "reply", "type": "action", "action": "webhook.respond", "input": {"status": 201}}
SET = {"id": "note", "type": "set", "values": {"a": 1}}


@pytest.mark.parametrize(
    ("steps", "early"),
    [
        ([SET], False),  # no respond step: the result is the reply
        ([SET, RESPOND], False),  # responds as the run ends
        ([SET, RESPOND_ACTION], False),
        ([RESPOND, SET], True),  # replies, then goes on working
        ([RESPOND_ACTION, SET], True),
        ([{"id": "c", "type": "condition", "if": "x", "then": [RESPOND], "else": []}, SET], True),
        ([{"id": "c", "type": "condition", "if": "x", "then": [RESPOND], "else": []}, RESPOND], True),
        ([], False),
        (None, False),
    ],
)
def test_a_reply_before_the_end_needs_the_early_path(steps: Any, early: bool) -> None:
    assert responds_before_the_end(steps) is early
