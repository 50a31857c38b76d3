"""Live updates: what the worker publishes on Redis `execution:{executionId}` (and on the workspace's
channel, for dashboards) is made from the run's `execution_logs` entries, one event per entry with the
same id. A client that reconnects with `Last-Event-ID` is sent the entries written after that event, read
back from the log store, then the live ones."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

from bson import ObjectId


def new_entry_id() -> str:
    """A log entry's id: an ObjectId (MongoDB's `_id`), as text in PostgreSQL. It grows with time."""
    return str(ObjectId())


def encode_position(at: datetime, entry_id: str) -> str:
    """A place in a time-ordered stream, (time, id): a page cursor, an SSE event id."""
    return base64.urlsafe_b64encode(f"{at.isoformat()}|{entry_id}".encode()).decode()


def decode_position(position: str) -> tuple[datetime, str]:
    """Reads `encode_position` back; ValueError when it is not one."""
    at, separator, entry_id = base64.urlsafe_b64decode(position.encode()).decode().partition("|")
    if not separator or not entry_id:
        raise ValueError("not a stream position")
    return datetime.fromisoformat(at), entry_id


def live_event(entry: dict[str, Any]) -> dict[str, Any]:
    """The event of a log entry: `execution` (the run's status) or `step` (a step's status)."""
    metadata = entry.get("metadata") or {}
    at: datetime = entry["timestamp"]
    return {
        "id": encode_position(at, entry["id"]),
        "type": "step" if entry.get("stepId") else "execution",
        "executionId": entry["executionId"],
        "workflowId": entry.get("workflowId"),
        "timestamp": at.isoformat(),
        "stepId": entry.get("stepId"),
        "key": metadata.get("key"),
        "status": metadata.get("status"),
        "error": metadata.get("error"),
        "message": entry.get("message"),
        # while a step has not ended: what it does (core.runs.live: running, retrying, waiting...)
        "state": metadata.get("state"),
    }
