"""The TCP ports a process listens on, read from Linux's /proc (no psutil at run time): `baton dev` lists
its embedded Temporal's internal services (history, matching, worker), whose ports the dev server picks
at random, as Baton's own servers so the egress guard refuses them to workflows."""

from __future__ import annotations

import os
import time
from pathlib import Path

LISTEN = "0A"  # TCP_LISTEN in /proc/net/tcp's `st` column


def listening_ports(pid: int) -> set[int]:
    """The ports `pid` listens on (IPv4 and IPv6); empty where /proc cannot tell (not Linux, gone)."""
    proc = Path("/proc") / str(pid)
    inodes: set[str] = set()
    try:
        for fd in (proc / "fd").iterdir():
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[len("socket:[") : -1])
    except OSError:
        return set()
    ports: set[int] = set()
    for table in ("tcp", "tcp6"):
        try:
            lines = (proc / "net" / table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            # sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
            if len(fields) > 9 and fields[3] == LISTEN and fields[9] in inodes:
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def settled_listening_ports(pid: int, timeout: float = 5.0, interval: float = 0.2) -> set[int]:
    """The ports once the set stops changing (a server opens its services' ports one after another)."""
    deadline = time.monotonic() + timeout
    seen = listening_ports(pid)
    steady = 0
    while steady < 3 and time.monotonic() < deadline:
        time.sleep(interval)
        now = listening_ports(pid)
        steady = steady + 1 if now == seen else 0
        seen = now
    return seen
