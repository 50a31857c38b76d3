"""The worker tests' fixtures beyond tests/conftest.py: the child-process ones of tests/chaos/conftest.py, for
the step plug-in tests, which start a `baton worker` child that has the plug-in installed."""

from tests.chaos.conftest import children, processes  # noqa: F401 (the fixtures)
