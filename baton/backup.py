"""`baton backup DIR` and `baton restore DIR` for the embedded stack of `baton dev` (its `--data-dir`).

A backup holds:
- `postgres.dump`: pg_dump's custom format, from the embedded PostgreSQL binaries (the running server when
  `baton dev` is up, else one started for the dump on a free port);
- `redis/`: the RDB snapshot and the append-only files (Redis keeps them consistent on disk at all times);
- `temporal.db`: the Temporal dev server's SQLite database, copied with SQLite's online backup API, so a
  running server is fine;
- `blobs/`: the values kept outside run histories (core.blobs; those histories refer to them), copied;
- `manifest.json`: when, from where, and the row counts a restore is checked against.

A restore goes into a data folder that does not exist yet (or is empty): it never overwrites a stack.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from baton.embedded import EmbeddedError, EmbeddedPostgres, free_port, port_accepts, postgres_binaries

Say = Callable[[str], None]
COUNTED_TABLES = ("workspaces", "workflows", "workflow_versions", "workflow_executions", "step_executions")


class BackupError(RuntimeError):
    """Something a user can fix; the message says what."""


@dataclass(frozen=True)
class StackFolders:
    root: Path

    @property
    def postgres(self) -> Path:
        return self.root / "postgres"

    @property
    def redis(self) -> Path:
        return self.root / "redis"

    @property
    def temporal_db(self) -> Path:
        return self.root / "temporal" / "temporal.db"

    @property
    def blobs(self) -> Path:
        return self.root / "blobs"  # BLOB_STORE_URL under `baton dev`


def _count_blobs(folder: Path) -> int:
    return sum(1 for p in folder.rglob("*") if p.is_file() and "~" not in p.name)  # no sidecars


def _running_postgres_port(pgdata: Path) -> int | None:
    """The port of the PostgreSQL serving this data folder, from its postmaster.pid (None when down)."""
    pid_file = pgdata / "postmaster.pid"
    try:
        lines = pid_file.read_text().splitlines()
    except OSError:
        return None
    if len(lines) < 4 or not lines[3].strip().isdigit():
        return None
    port = int(lines[3])
    return port if port_accepts(port) else None


def _pg(tool: str, port: int, *args: str) -> list[str]:
    return [str(postgres_binaries() / tool), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", *args]


def _counts(port: int, database: str) -> dict[str, int]:
    union = " UNION ALL ".join(f"SELECT '{t}', count(*) FROM {t}" for t in COUNTED_TABLES)
    done = subprocess.run(
        _pg("psql", port, "-d", database, "-tAq", "-F", "\t", "-c", union),
        check=True,
        capture_output=True,
        text=True,
    )
    return {name: int(n) for name, n in (line.split("\t") for line in done.stdout.strip().splitlines())}


def _with_postgres(pgdata: Path, say: Say) -> tuple[int, EmbeddedPostgres | None]:
    """A port serving `pgdata`: the running server's, or one started for this command (returned to stop)."""
    port = _running_postgres_port(pgdata)
    if port is not None:
        say(f"  PostgreSQL is running on 127.0.0.1:{port}: dumping from it")
        return port, None
    server = EmbeddedPostgres(pgdata, free_port())
    say(f"  starting the embedded PostgreSQL on 127.0.0.1:{server.port} for the dump")
    server.start()
    return server.port, server


def backup(data_dir: Path, target: Path, say: Say = print) -> dict[str, object]:
    folders = StackFolders(data_dir)
    if not (folders.postgres / "PG_VERSION").exists():
        raise BackupError(
            f"{data_dir} holds no embedded PostgreSQL data; pass the folder `baton dev --data-dir` uses "
            "(default .baton)"
        )
    if target.exists() and any(target.iterdir()):
        raise BackupError(f"{target} is not empty; back up into a new folder")
    target.mkdir(parents=True, exist_ok=True)
    began = time.monotonic()

    say("1/3 PostgreSQL (pg_dump, custom format)")
    try:
        port, started = _with_postgres(folders.postgres, say)
    except EmbeddedError as exc:
        raise BackupError(str(exc)) from exc
    try:
        subprocess.run(
            _pg("pg_dump", port, "-d", "baton", "-Fc", "-f", str(target / "postgres.dump")),
            check=True,
            capture_output=True,
        )
        counts = _counts(port, "baton")
    except subprocess.CalledProcessError as exc:
        raise BackupError(f"pg_dump failed: {exc.stderr.decode(errors='replace').strip()}") from exc
    finally:
        if started is not None:
            started.stop()
    say(
        f"  {(target / 'postgres.dump').stat().st_size // 1024} KiB; "
        + ", ".join(f"{n} {t}" for t, n in counts.items())
    )

    say("2/3 Redis (RDB snapshot and append-only files)")
    copied = 0
    if folders.redis.exists():
        for item in folders.redis.iterdir():
            if item.name == "dump.rdb" or item.name.startswith("appendonly"):
                destination = target / "redis" / item.name
                destination.parent.mkdir(parents=True, exist_ok=True)
                (shutil.copytree if item.is_dir() else shutil.copy2)(item, destination)
                copied += 1
    say(f"  {copied} file(s)" if copied else "  nothing on disk yet (Redis had not saved): skipped")

    say("3/3 Temporal dev server database (SQLite online backup)")
    if folders.temporal_db.exists():
        source = sqlite3.connect(f"file:{folders.temporal_db}?mode=ro", uri=True)
        copy = sqlite3.connect(target / "temporal.db")
        try:
            source.backup(copy)
        finally:
            copy.close()
            source.close()
        say(f"  {(target / 'temporal.db').stat().st_size // 1024} KiB")
    else:
        say("  no temporal.db (Temporal was not embedded): skipped")
    if folders.blobs.exists():
        shutil.copytree(folders.blobs, target / "blobs")
        say(f"  and {_count_blobs(target / 'blobs')} blob(s) its histories refer to")

    manifest: dict[str, object] = {
        "createdAt": datetime.now(UTC).isoformat(),
        "dataDir": str(data_dir.resolve()),
        "counts": counts,
        "redisFiles": copied,
        "temporal": folders.temporal_db.exists(),
    }
    (target / "manifest.json").write_text(json.dumps(manifest, indent=2))
    say(f"Backed up {data_dir} into {target} in {time.monotonic() - began:.1f}s.")
    return manifest


def restore(source: Path, data_dir: Path, say: Say = print) -> dict[str, int]:
    manifest_file = source / "manifest.json"
    if not manifest_file.exists() or not (source / "postgres.dump").exists():
        raise BackupError(f"{source} is not a Baton backup (no manifest.json / postgres.dump)")
    if data_dir.exists() and any(data_dir.iterdir()):
        raise BackupError(
            f"{data_dir} is not empty; restore into a new folder, then run `baton dev --data-dir {data_dir}`"
        )
    manifest = json.loads(manifest_file.read_text())
    folders = StackFolders(data_dir)
    began = time.monotonic()

    say("1/3 PostgreSQL (a new data folder, then pg_restore)")
    server = EmbeddedPostgres(folders.postgres, free_port())
    try:
        server.start()
        subprocess.run(
            _pg(
                "pg_restore",
                server.port,
                "-d",
                "baton",
                "--no-owner",
                "--exit-on-error",
                str(source / "postgres.dump"),
            ),
            check=True,
            capture_output=True,
        )
        counts = _counts(server.port, "baton")
    except subprocess.CalledProcessError as exc:
        raise BackupError(f"pg_restore failed: {exc.stderr.decode(errors='replace').strip()}") from exc
    except EmbeddedError as exc:
        raise BackupError(str(exc)) from exc
    finally:
        server.stop()
    expected = manifest.get("counts", {})
    if counts != expected:
        raise BackupError(f"the restored database does not match the backup: {counts} != {expected}")
    say("  " + ", ".join(f"{n} {t}" for t, n in counts.items()) + " (as in the backup)")

    say("2/3 Redis")
    folders.redis.mkdir(parents=True, exist_ok=True)
    if (source / "redis").exists():
        shutil.copytree(source / "redis", folders.redis, dirs_exist_ok=True)
        say(f"  {sum(1 for _ in (source / 'redis').iterdir())} file(s)")
    else:
        say("  none in the backup")

    say("3/3 Temporal dev server database")
    if (source / "temporal.db").exists():
        folders.temporal_db.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source / "temporal.db", folders.temporal_db)
        say(f"  {folders.temporal_db.stat().st_size // 1024} KiB")
    else:
        say("  none in the backup")
    if (source / "blobs").exists():
        shutil.copytree(source / "blobs", folders.blobs)
        say(f"  and {_count_blobs(folders.blobs)} blob(s) its histories refer to")
    took = time.monotonic() - began
    say(f"Restored {source} (taken {manifest.get('createdAt')}) into {data_dir} in {took:.1f}s.")
    say(f"Start it with `baton dev --data-dir {data_dir}`.")
    return counts
