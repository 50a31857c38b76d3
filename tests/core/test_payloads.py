"""Baton's payload converter writes the bytes the SDK's writes and reads back what the SDK's reads."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

import pytest
from temporalio.converter import DefaultPayloadConverter

from core.contract import LoopBatch, RunInput, RunResult
from core.payloads import BatonPayloadConverter

SDK = DefaultPayloadConverter()
OURS = BatonPayloadConverter()


@dataclasses.dataclass
class Stamped:
    at: datetime
    tags: set[str]
    counts: dict[int, int]
    after: int = dataclasses.field(default=0, init=False)


RUN = RunInput(
    execution_id="e-1",
    workflow_id="w-1",
    workspace_id="ws-1",
    version=3,
    trigger_data={"body": {"zeta": 1, "alpha": ["é", 2.5, None, True]}},
    definition={"steps": [{"id": "a", "type": "set", "values": {"x": "{{ trigger.body.zeta }}"}}]},
    batch=LoopBatch(loop_path="0", items=[1, 2], offset=0),
)

VALUES: list[Any] = [
    None,
    b"raw bytes",
    "text",
    {"b": 1, "a": {"d": [1, 2], "c": None}},
    [1, "two", 3.0],
    RUN,
    RunResult("SUCCESS", result={"ok": True}, response={"status": 200, "body": {"tier": "gold"}}),
    2**70,  # beyond orjson: the standard library's way
    {"tags": ("a", "b")},
    float("nan"),
]


@pytest.mark.parametrize("value", VALUES, ids=lambda v: type(v).__name__)
def test_payloads_decode_alike_with_either_converter(value: Any) -> None:
    ours = OURS.to_payloads([value])[0]
    theirs = SDK.to_payloads([value])[0]
    assert ours.metadata == theirs.metadata
    hint = type(value) if dataclasses.is_dataclass(value) else None
    for payload in (ours, theirs):
        mine, sdk = (
            OURS.from_payloads([payload], [hint] if hint else None)[0],
            SDK.from_payloads([payload], [hint] if hint else None)[0],
        )
        if value != value:  # NaN: the SDK's bare NaN is read; ours is written null, as JSON can
            assert sdk != sdk if payload is theirs else (mine, sdk) == (None, None)
        else:
            assert mine == sdk == ({"tags": ["a", "b"]} if value == {"tags": ("a", "b")} else value)


def test_keys_are_sorted_and_separators_compact_as_in_the_sdk() -> None:
    payload = OURS.to_payloads([{"b": 1, "a": [1, 2]}])[0]
    assert payload.data == b'{"a":[1,2],"b":1}'
    assert payload.data == SDK.to_payloads([{"b": 1, "a": [1, 2]}])[0].data


def test_a_dataclass_with_datetimes_sets_int_keys_and_init_false_fields_round_trips() -> None:
    value = Stamped(datetime(2026, 12, 3, 20, 0, tzinfo=UTC), {"x"}, {1: 2})
    value.after = 7
    payload = OURS.to_payloads([value])[0]
    assert payload.data == SDK.to_payloads([value])[0].data
    back = OURS.from_payloads([payload], [Stamped])[0]
    assert back == SDK.from_payloads([payload], [Stamped])[0]
    assert (back.at, back.tags, back.counts, back.after) == (value.at, value.tags, value.counts, 7)


def test_a_payload_missing_a_required_field_or_of_the_wrong_shape_is_refused_as_by_the_sdk() -> None:
    missing = SDK.to_payloads([{"execution_id": "e"}])[0]
    with pytest.raises(TypeError):
        OURS.from_payloads([missing], [RunInput])
    wrong = SDK.to_payloads([{"execution_id": 5, "workflow_id": "w", "workspace_id": "s", "version": 1}])[0]
    with pytest.raises(TypeError, match="execution_id"):
        OURS.from_payloads([wrong], [RunInput])
