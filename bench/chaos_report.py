"""Runs the chaos and fuzz tests (`pytest -m "chaos or fuzz"`) and prints their figures as a table: runs
attempted, completed and lost, duplicated effects, webhooks acknowledged against executions, servers
restarted, fuzz cases tried and 5xx answers found.

    python -m bench.chaos_report            # all of them (about five minutes on 2 cores)
    python -m bench.chaos_report -k worker  # extra arguments go to pytest
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path


def main(arguments: list[str]) -> int:
    with tempfile.TemporaryDirectory() as folder:
        report = Path(folder) / "chaos.jsonl"
        print('running pytest -m "chaos or fuzz" ...', flush=True)
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-m",
                "chaos or fuzz",
                "-q",
                "-p",
                "no:cacheprovider",
                *arguments,
            ],
            env={**os.environ, "BATON_CHAOS_REPORT": str(report)},
            check=False,
        )
        lines = report.read_text().splitlines() if report.exists() else []
    print("\nChaos figures")
    if not lines:
        print("  (no chaos or fuzz test recorded figures)")
    for line in lines:
        figures = json.loads(line)
        print(f"- {figures.pop('test')}")
        width = max(len(name) for name in figures)
        for name, value in figures.items():
            print(f"    {name:<{width}}  {value}")
    print(f"\npytest exit code {done.returncode} ({'passed' if done.returncode == 0 else 'FAILED'})")
    return done.returncode or (0 if lines else 1)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
