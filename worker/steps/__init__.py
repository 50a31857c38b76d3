"""The interpreter's step handlers, one module per family of step types (worker.interpreter mixes them in)."""
