"""The sandbox the `code.run` action runs scripts in: Python through pydantic-monty, JavaScript through V8
(mini-racer), each in a single-use child process under OS limits (see runner.py for what was chosen and why).

This package's own modules import nothing of Baton's beyond the standard library and the two engines, so the
child process starts without loading the rest of the worker."""
