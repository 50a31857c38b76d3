"""Triggers: arming them on Temporal and the webhooks table (`arming`), webhooks and their hot path
(`webhooks`), verifying signed calls (`signatures`), and a call's way in (`ingress`)."""
