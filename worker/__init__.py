"""The Temporal side of Baton: workflows and the worker process that hosts them with the activities."""
