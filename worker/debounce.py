"""`BatonDebounce`: one per debounced key of a webhook (`debounce-{workflowId}-{keyHash}`), started by the
key's first call (signal-with-start) and fed every later call as a signal. It keeps the last call and, once
no call has come for `seconds`, starts the burst's one run with it (`baton.fire_debounced`), then ends; a
call that comes while the run is being started begins the next burst in the same debouncer. A key whose
calls never pause continues as new when Temporal suggests it, carrying the call it holds."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.triggers import TriggerActivities
from core.contract import (
    DEBOUNCE_SIGNAL,
    DEBOUNCE_WORKFLOW,
    DebouncedEvent,
    DebounceFire,
    DebounceStart,
)


@workflow.defn(name=DEBOUNCE_WORKFLOW, sandboxed=False)
class BatonDebounce:
    def __init__(self) -> None:
        self._last: DebouncedEvent | None = None
        self._events = 0
        self._first_at: str | None = None

    @workflow.signal(name=DEBOUNCE_SIGNAL)
    def event(self, event: DebouncedEvent) -> None:
        self._last = event
        self._events += 1
        self._first_at = self._first_at or event.at

    @workflow.run
    async def run(self, start: DebounceStart) -> int:
        if start.pending is not None:  # carried over a continue-as-new
            self._last, self._events, self._first_at = start.pending, start.events, start.first_at
        quiet = timedelta(seconds=start.seconds)
        fired = start.fired
        while True:
            await workflow.wait_condition(lambda: self._events > 0)
            while True:  # until `seconds` pass without a call
                seen = self._events
                try:
                    await workflow.wait_condition(
                        lambda seen=seen: self._events != seen,  # type: ignore[misc]
                        timeout=quiet,
                        timeout_summary="quiet time",
                    )
                except TimeoutError:
                    break
                if workflow.info().is_continue_as_new_suggested():
                    workflow.continue_as_new(
                        DebounceStart(
                            start.workflow_id,
                            start.key,
                            start.seconds,
                            self._last,
                            self._events,
                            self._first_at,
                            fired,
                        )
                    )
            assert self._last is not None
            burst = DebounceFire(
                start.workflow_id,
                str(workflow.uuid4()),
                self._last.trigger,
                self._events,
                self._first_at,
                self._last.at,
            )
            self._last, self._events, self._first_at = None, 0, None
            await workflow.execute_activity_method(
                TriggerActivities.fire_debounced,
                burst,
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=RetryPolicy(maximum_interval=timedelta(seconds=10)),
                summary=f"start the run of a burst of {burst.events} call(s)",
            )
            fired += 1
            if self._events == 0:  # no call came while the run was being started
                return fired
