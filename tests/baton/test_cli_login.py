"""`baton login` keeps the token out of `ps` and the shell's history (BATON_TOKEN, or `--token -` on
standard input) and stores it in a folder only its owner can enter (0700; one left 0755 is tightened)."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

from core.settings import Settings
from tests.api.conftest import served_api
from tests.baton.test_runs_cli import ops_workspace


async def baton_login(
    *args: str, env: dict[str, str], stdin: bytes | None = None, timeout: float = 60
) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "baton", "login", *args,
        env={**{k: v for k, v in os.environ.items() if k not in ("BATON_CLI_CONFIG", "BATON_TOKEN")}, **env},
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await asyncio.wait_for(process.communicate(stdin or b""), timeout)
    return process.returncode or 0, out.decode()


async def test_the_token_is_read_from_standard_input_or_baton_token(
    settings: Settings, tmp_path: Path
) -> None:
    async with served_api(settings) as api:
        _, workspace, key = await ops_workspace(api, ["executions:read", "workflows:read"])
        url = str(api.base_url)

        piped = tmp_path / "piped.json"
        code, out = await baton_login(
            "--url", url, "--token", "-", env={"BATON_CLI_CONFIG": str(piped)}, stdin=f"{key}\n".encode()
        )
        assert code == 0, out
        assert json.loads(piped.read_text())["token"] == key
        assert "note:" not in out

        from_env = tmp_path / "env.json"
        code, out = await baton_login(
            "--url", url, env={"BATON_CLI_CONFIG": str(from_env), "BATON_TOKEN": key}
        )
        assert code == 0, out
        assert json.loads(from_env.read_text())["workspace"] == workspace["id"]

        empty = tmp_path / "empty.json"
        code, out = await baton_login("--url", url, "--token", "-", env={"BATON_CLI_CONFIG": str(empty)})
        assert code == 2
        assert "standard input held no token" in out
        assert not empty.exists()

        # still taken on the command line, with a word on why not to
        argv = tmp_path / "argv.json"
        code, out = await baton_login("--url", url, "--token", key, env={"BATON_CLI_CONFIG": str(argv)})
        assert code == 0, out
        assert "shows in `ps`" in out


async def test_the_help_recommends_standard_input_or_the_environment() -> None:
    code, out = await baton_login("--help", env={"COLUMNS": "200"})
    assert code == 0, out
    assert "--token -" in out
    assert "BATON_TOKEN" in out


async def test_the_login_folder_is_private_and_an_open_one_is_tightened(
    settings: Settings, tmp_path: Path
) -> None:
    async with served_api(settings) as api:
        _, _, key = await ops_workspace(api, ["executions:read"])
        url = str(api.base_url)

        fresh = tmp_path / "fresh"
        code, out = await baton_login(
            "--url", url, "--token", "-", env={"HOME": str(fresh)}, stdin=key.encode()
        )
        assert code == 0, out
        folder = fresh / ".config" / "baton"
        assert folder.stat().st_mode & 0o777 == 0o700
        assert (folder / "cli.json").stat().st_mode & 0o777 == 0o600

        old = tmp_path / "old"
        folder = old / ".config" / "baton"
        folder.mkdir(parents=True)
        folder.chmod(0o755)  # as an older version left it
        (folder / "cli.json").write_text("{}")
        (folder / "cli.json").chmod(0o644)
        code, out = await baton_login(
            "--url", url, "--token", "-", env={"HOME": str(old)}, stdin=key.encode()
        )
        assert code == 0, out
        assert folder.stat().st_mode & 0o777 == 0o700
        assert (folder / "cli.json").stat().st_mode & 0o777 == 0o600
        assert json.loads((folder / "cli.json").read_text())["token"] == key
