"""Baton's own worker metrics, exported by the Temporal runtime's Prometheus endpoint next to the SDK's
(`WORKER_METRICS_PORT`): runs started and finished by outcome, action durations by action.

Outside an activity (a direct call in a test) they are not counted."""

from __future__ import annotations

from temporalio import activity
from temporalio.common import MetricMeter

STEP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)


def _meter() -> MetricMeter | None:
    try:
        return activity.metric_meter()
    except RuntimeError:
        return None


def count(name: str, description: str, **attributes: str) -> None:
    meter = _meter()
    if meter is not None:
        meter.create_counter(name, description).add(1, attributes)


def observe_seconds(name: str, description: str, seconds: float, **attributes: str) -> None:
    meter = _meter()
    if meter is not None:
        meter.create_histogram_float(name, description, "s").record(seconds, attributes)
