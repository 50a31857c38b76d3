"""`baton` run as an operator runs it: `python -m baton ARGS` in a child process, its output captured as
text, for the tests of the commands (seed, migrate, rotate-keys, retention, setup-temporal, ...)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path


def baton(
    *args: str,
    env: Mapping[str, str] | None = None,
    timeout: float = 120,
    cwd: Path | None = None,
    **variables: str,
) -> subprocess.CompletedProcess[str]:
    """`python -m baton ARGS` with `env` (this process's environment when None) and `variables` added
    (`DATABASE_URL=...`); it never raises for a non-zero exit: tests read `returncode`."""
    return subprocess.run(
        [sys.executable, "-m", "baton", *args],
        env={**(os.environ if env is None else env), **variables},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        cwd=cwd,
    )
