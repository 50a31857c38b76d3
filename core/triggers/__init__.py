"""Triggers: arming them on Temporal and the webhooks table (`arming`), webhooks and their hot path
(`webhooks`), verifying signed calls (`signatures`), a call's way in (`ingress`), and a schedule's view
and backfill (`schedules`)."""
