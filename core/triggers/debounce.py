"""Debounced webhooks: a call hands its trigger to its key's BatonDebounce workflow (started by the call when
none holds a burst of the key), which starts one run for the burst, with the last call's trigger, `seconds`
after the last call (worker.debounce; activities.triggers starts the run).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from temporalio.client import Client
from temporalio.common import Priority, WorkflowIDReusePolicy

from core.contract import (
    DEBOUNCE_SIGNAL,
    DEBOUNCE_WORKFLOW,
    DebouncedEvent,
    DebounceStart,
    debounce_workflow_id,
)
from core.settings import Settings
from core.triggers.throttle import throttle_key


async def debounce(
    client: Client,
    settings: Settings,
    workflow_id: str,
    workspace_id: str,
    config: dict[str, Any],
    trigger: Any,
) -> str:
    """Hands a debounced webhook call to its key's debouncer; the debouncer's workflow id (one per workflow
    and key)."""
    key = throttle_key(config, trigger)  # the rendered `key`, hashed ("" without one)
    debouncer = debounce_workflow_id(workflow_id, key)
    await client.start_workflow(
        DEBOUNCE_WORKFLOW,
        DebounceStart(workflow_id, key, float(config["seconds"])),
        id=debouncer,
        task_queue=settings.temporal_task_queue,
        start_signal=DEBOUNCE_SIGNAL,
        start_signal_args=[DebouncedEvent(trigger, datetime.now(UTC).isoformat())],
        id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
        static_summary=f"debounces calls of workflow {workflow_id} ({config['seconds']:g} s of quiet)",
        priority=Priority(fairness_key=workspace_id if settings.temporal_fairness else None),
    )
    return debouncer
