"""Baton's integration catalogue: one module per service, declared through `integrations.sdk`."""
