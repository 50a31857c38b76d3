"""How long `baton dev` takes to be ready (cold: empty data folder; warm: second start) and what it weighs.

Prints: seconds until /readyz answers 200, and the resident memory of every process it started.
"""

from __future__ import annotations

import signal
import subprocess
import tempfile
import time
from pathlib import Path

import psutil

from baton.embedded import free_port
from bench.stack import PORT_OPTIONS, dev_command, dev_env, ready


def start_once(data_dir: Path, label: str) -> None:
    ports = [free_port() for _ in range(len(PORT_OPTIONS))]
    env = dev_env()
    args = dev_command(data_dir, ports)
    started = time.monotonic()
    process = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while not ready(f"http://127.0.0.1:{ports[0]}/readyz"):
            if process.poll() is not None or time.monotonic() - started > 120:
                raise SystemExit(f"{label}: baton dev did not become ready")
            time.sleep(0.05)
        elapsed = time.monotonic() - started
        time.sleep(1)  # let the processes settle before weighing them
        children = psutil.Process(process.pid).children(recursive=True)
        rss: dict[str, float] = {}
        for child in [psutil.Process(process.pid), *children]:
            name = " ".join(child.cmdline()[1:4]) if child.name().startswith("python") else child.name()
            rss[name] = rss.get(name, 0) + child.memory_info().rss / 2**20
        print(f"{label}: ready in {elapsed:.2f} s; RSS {sum(rss.values()):.0f} MB in all")
        for name, mb in sorted(rss.items(), key=lambda item: -item[1]):
            print(f"    {mb:7.1f} MB  {name}")
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(60)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="baton-bench-") as folder:
        data_dir = Path(folder) / "data"
        start_once(data_dir, "cold start (empty data folder)")
        start_once(data_dir, "warm start (existing data)")


if __name__ == "__main__":
    main()
