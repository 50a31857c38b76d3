"""The `wait` steps of a run that wait for an event, and what the `deliver` update does with an event
(core.runs.waits.Event): the run's side of core.runs.events.

An event resumes a step waiting for its name when the step's `match` accepts it. The update's validator
evaluates `match`, so an event the step does not want is refused before it enters the run's history (an
event sent to every run waiting for its name costs nothing in the runs it does not match). A `match` that
cannot be evaluated in the validator (it errs, or needs a patch marker) is accepted there and evaluated again
by the update's handler, which leaves the step waiting when it does not match. The run's own resume URL is
addressed to the run: its call needs no `match`. Pure workflow code: no I/O, no clock."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.approvals import ApprovalActivities
    from core.contract import RunInput
    from core.runs.resume_links import ResumeUrlRequest
    from core.runs.waits import Delivery, Event
    from worker.run_state import RECORD_TIMEOUT

RESUME_URL = "resume-url"
# Since this patch a run whose definition reads `execution.resumeUrl` seals its stand-in as it starts (a
# local activity); runs begun before it (none could read it) replay without it.
RESUME_URL_PATCH = "resume-url"


@dataclass
class EventWaiting:
    """One `wait` step waiting: the event name it takes, its `match`, and the event once one resumed it."""

    step_id: str
    name: str
    matches: Callable[[Event], bool]
    event: Event | None = None


def events_waited(run: Any) -> dict[str, EventWaiting]:
    """The run's `wait` steps waiting now, by step id (kept on the run object, made on first use)."""
    waits: dict[str, EventWaiting] = run.__dict__.setdefault("_event_waits", {})
    return waits


def not_waiting_for(delivery: Delivery, event: Event) -> ApplicationError:
    return ApplicationError(
        f"step {delivery.step_id!r} is not waiting for the event {event.name!r}", type="NotWaiting"
    )


def validate_event(run: Any, delivery: Delivery, event: Event) -> None:
    """Refuses an event the step does not wait for, or whose `match` is false (nothing is recorded)."""
    waiting = events_waited(run).get(delivery.step_id)
    if waiting is None or waiting.event is not None:
        if run._input is None:
            return  # the run's code has not run yet (its first task): the handler checks once it has
        raise not_waiting_for(delivery, event)
    if event.via == RESUME_URL:
        return
    if event.name != waiting.name:
        raise not_waiting_for(delivery, event)
    try:
        accepted = waiting.matches(event)
    except Exception:  # noqa: BLE001 (not decidable here: the handler evaluates it again)
        return
    if not accepted:
        raise ApplicationError(
            f"the event does not match what step {delivery.step_id!r} waits for", type="NoMatch"
        )


async def take_event(run: Any, delivery: Delivery, event: Event) -> dict[str, Any]:
    """Resumes the step with the event when it still waits for it and `match` accepts it."""
    waits = events_waited(run)
    if delivery.step_id not in waits:
        # accepted with the run's first task: wait for the run to reach its step, or to pass it
        await workflow.wait_condition(lambda: delivery.step_id in waits or run._passed(delivery.step_id))
    waiting = waits.get(delivery.step_id)
    if waiting is None or waiting.event is not None:
        raise not_waiting_for(delivery, event)
    if event.via != RESUME_URL:
        try:
            accepted = event.name == waiting.name and bool(waiting.matches(event))
        except Exception:  # noqa: BLE001 (a match that fails is no match: the step goes on waiting)
            accepted = False
        if not accepted:
            return {"stepId": delivery.step_id, "resumed": False}
    waiting.event = event
    return {"stepId": delivery.step_id, "resumed": True}


async def seal_resume_url(run: Any, run_input: RunInput, execution: dict[str, Any]) -> None:
    """Puts the stand-in of the run's resume URL in `execution` (`{{ execution.resumeUrl }}`) when its
    definition reads it: sealed by a local activity (core.runs.resume_links), only then."""
    if "resumeUrl" not in json.dumps(run_input.definition) or not run.patched(RESUME_URL_PATCH):
        return
    execution["resumeUrl"] = await workflow.execute_local_activity_method(
        ApprovalActivities.resume_url,
        ResumeUrlRequest(run_input.execution_id),
        start_to_close_timeout=RECORD_TIMEOUT,
        summary="seal the run's resume URL",
    )
