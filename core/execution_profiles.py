"""Execution profiles: where and how an action's activity runs. An action declares one by name
(`Integration.action(..., profile="long")`); the interpreter routes its activity to the profile's task
queue with its timeouts, and a worker serves the profiles it is started with (`baton worker --profile`).

The queue is the run's own task queue plus the profile's suffix (`baton` -> `baton-long`), so a worker on a
test's or an installation's own queue finds its profiles beside it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class ExecutionProfile:
    name: str
    # "" for the run's own queue: the workflow worker runs these actions itself
    queue_suffix: str
    # when the step sets no timeout
    default_timeout: timedelta
    # a local activity runs in the workflow's own task: cheap, but it cannot heartbeat and must be short
    local_allowed: bool
    # an attempt that reports nothing for this long is presumed dead (its worker gone) and retried
    heartbeat_timeout: timedelta | None = None

    def task_queue(self, base: str) -> str:
        return f"{base}{self.queue_suffix}"


DEFAULT = ExecutionProfile("default", "", timedelta(minutes=5), local_allowed=True)
# Long calls (exports, crawls, batch APIs): their own workers, so they never hold a slot the short steps
# of every run need; they heartbeat (ActionContext.heartbeat / progress) at least once a minute.
LONG = ExecutionProfile(
    "long", "-long", timedelta(hours=1), local_allowed=False, heartbeat_timeout=timedelta(seconds=60)
)
# CPU-bound work (parsing, conversion): its own queue, so it can be served by processes of its own.
CPU = ExecutionProfile("cpu", "-cpu", timedelta(minutes=15), local_allowed=False)

# Users' scripts (the code step): their own queue, so an operator can serve them from workers of their own,
# on machines of their own if they like; each script runs in a sandbox child under its own limits.
CODE = ExecutionProfile("code", "-code", timedelta(minutes=2), local_allowed=False)

PROFILES: dict[str, ExecutionProfile] = {p.name: p for p in (DEFAULT, LONG, CPU, CODE)}


def profile_named(name: str) -> ExecutionProfile:
    """The profile of that name; an unknown name is a programming error in an integration."""
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown execution profile {name!r}; one of {', '.join(PROFILES)}") from None
