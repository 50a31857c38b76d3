"""The code step's sandbox against what scripts do to get out: the published n8n escapes of 2025-2026
(expression and Code node: `this.constructor.constructor('return process')`, its template-literal bypass,
`Function('return process')`, `Error.prepareStackTrace` reaching host frames, Pyodide's `import js` bridge to
the host's `process`), prototype pollution, endless loops (also ones that catch the stop), huge
allocations, import/require/fetch/process/__import__/open/os, recursion, the clock and the environment.

Each script runs for real in a sandbox child (integrations/sandbox/runner.py); an escape would show up as a
reachable host object, a result the sandbox should not have, or a run that does not end."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from integrations.sandbox.protocol import Answer, Job, Language
from integrations.sandbox.runner import Sandbox, os_limits

NOW_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z, the time passed in


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    box = Sandbox()
    yield box
    await box.close()


async def run(sandbox: Sandbox, language: Language, source: str, data: Any = None, **limits: Any) -> Answer:
    job = Job(
        language=language,
        source=source,
        input=data,
        now_ms=NOW_MS,
        timeout_seconds=limits.get("timeout", 1.0),
        memory_bytes=limits.get("memory", 64 * 2**20),
        max_output_bytes=limits.get("output", 64 * 1024),
    )
    return await sandbox.run(job)


def result(answer: Answer) -> Any:
    assert answer.ok, (answer.kind, answer.message)
    return json.loads(answer.result_json)


# -- JavaScript: the n8n family and the host objects they reach for ------------------------------------

UNREACHABLE_JS = {
    "constructor chain (CVE-2025-68613)": "return this.constructor.constructor('return typeof process')()",
    "template literal bypass of its fix": (
        "return this[`constructor`][`constructor`](`return typeof process`)()"
    ),
    "Function('return process')": "return Function('return typeof process')()",
    "prototype of a plain object": "return ({}).__proto__.constructor.constructor('return typeof require')()",
    "prepareStackTrace reaching frames": (
        "Error.prepareStackTrace = (_, frames) => frames[0].getThis();\n"
        "const that = Error().stack;\n"
        "return that ? that.constructor.constructor('return typeof process')() : 'undefined'"
    ),
    "process.binding": "return typeof globalThis.process?.binding",
    "mainModule.require": "return typeof globalThis.process?.mainModule?.require",
    "require": "return typeof require",
    "module": "return typeof module",
    "fetch": "return typeof fetch",
    "XMLHttpRequest": "return typeof XMLHttpRequest",
    "WebSocket": "return typeof WebSocket",
    "Deno": "return typeof Deno",
    "WebAssembly": "return typeof WebAssembly",
    "SharedArrayBuffer": "return typeof SharedArrayBuffer",
    "timers": "return typeof setTimeout",
    "performance clock": "return typeof performance",
}


@pytest.mark.parametrize("source", UNREACHABLE_JS.values(), ids=UNREACHABLE_JS.keys())
async def test_javascript_reaches_no_host_object(sandbox: Sandbox, source: str) -> None:
    assert result(await run(sandbox, "javascript", source)) == "undefined"


async def test_javascript_dynamic_import_loads_nothing(sandbox: Sandbox) -> None:
    answer = await run(
        sandbox,
        "javascript",
        "let loaded = 'pending';\nimport('fs').then(m => { loaded = typeof m.readFileSync }, () => {});\n"
        "return loaded",
    )
    assert answer.ok is False or result(answer) == "pending"


async def test_prototype_pollution_stays_in_its_own_script(sandbox: Sandbox) -> None:
    polluted = await run(sandbox, "javascript", "Object.prototype.isAdmin = true;\nreturn ({}).isAdmin")
    assert result(polluted) is True
    assert result(await run(sandbox, "javascript", "return ({}).isAdmin ?? 'clean'")) == "clean"


async def test_a_proto_key_in_the_input_is_a_key_not_a_prototype(sandbox: Sandbox) -> None:
    data = json.loads('{"__proto__": {"isAdmin": true}}')
    answer = await run(sandbox, "javascript", "return [input.isAdmin ?? null, Object.keys(input)]", data)
    assert result(answer) == [None, ["__proto__"]]


async def test_a_proto_key_in_the_result_comes_back_as_data(sandbox: Sandbox) -> None:
    answer = await run(sandbox, "javascript", 'return JSON.parse(\'{"__proto__": {"isAdmin": true}}\')')
    assert result(answer) == {"__proto__": {"isAdmin": True}}


# -- loops, memory, recursion, output ------------------------------------------------------------------

ENDLESS = {
    ("javascript", "plain"): "while (true) {}",
    ("javascript", "catching the stop"): "while (true) { try { while (true) {} } catch (e) {} }",
    ("javascript", "in a getter of the result"): "return {get x() { while (true) {} }}",
    ("javascript", "in toString of a thrown value"): "throw {toString() { while (true) {} }}",
    ("python", "plain"): "while True:\n    pass",
    ("python", "catching the stop"): (
        "while True:\n    try:\n        while True:\n            pass\n"
        "    except BaseException:\n        pass"
    ),
}


@pytest.mark.parametrize(
    ("language", "source"), [(k[0], v) for k, v in ENDLESS.items()], ids=[f"{k[0]}: {k[1]}" for k in ENDLESS]
)
async def test_an_endless_script_fails_on_its_time_limit(
    sandbox: Sandbox, language: Language, source: str
) -> None:
    started = time.monotonic()
    answer = await run(sandbox, language, source, timeout=0.5)
    assert answer.ok is False
    assert answer.kind in ("timeout", "error"), answer.message  # a thrown value's endless toString: an error
    assert time.monotonic() - started < 10


HUGE = {
    ("javascript", "array"): "const a = []; while (true) a.push('x'.repeat(1000));",
    ("javascript", "one string"): "return 'x'.repeat(2 ** 29).length",
    ("javascript", "array buffer"): "return new ArrayBuffer(2 ** 32).byteLength",
    ("javascript", "typed array"): "return new Float64Array(2 ** 28).length",
    ("python", "string"): "'x' * 10**10",
    ("python", "list"): "[0] * 10**9",
    ("python", "growing list"): "a = []\nwhile True:\n    a.append('x' * 1000)",
    ("python", "bytes"): "bytearray(10**10)",
}


@pytest.mark.parametrize(
    ("language", "source"), [(k[0], v) for k, v in HUGE.items()], ids=[f"{k[0]}: {k[1]}" for k in HUGE]
)
async def test_a_huge_allocation_fails_the_script_not_the_worker(
    sandbox: Sandbox, language: Language, source: str
) -> None:
    answer = await run(sandbox, language, source, memory=32 * 2**20)
    assert answer.ok is False
    assert answer.kind in ("memory", "error"), answer.message
    # the next script runs as usual
    assert result(await run(sandbox, language, "return 1" if language == "javascript" else "1")) == 1


async def test_a_memory_limit_names_the_line_in_python(sandbox: Sandbox) -> None:
    answer = await run(sandbox, "python", "a = 1\nb = 'x' * 10**9", memory=32 * 2**20)
    assert (answer.kind, answer.line, answer.column) == ("memory", 2, 5)
    assert "32 MiB" in answer.message


@pytest.mark.parametrize(
    ("language", "source", "line"),
    [
        ("javascript", "function f(n) {\n  return f(n + 1);\n}\nreturn f(0)", 2),
        ("python", "def f(n):\n    return f(n + 1)\nf(0)", 2),
    ],
)
async def test_endless_recursion_fails_with_its_line(
    sandbox: Sandbox, language: Language, source: str, line: int
) -> None:
    answer = await run(sandbox, language, source)
    assert answer.kind == "error"
    assert "recursion" in answer.message.lower() or "call stack" in answer.message
    assert answer.line == line


async def test_a_result_past_the_output_limit_fails(sandbox: Sandbox) -> None:
    answer = await run(sandbox, "javascript", "return {toJSON() { return 'x'.repeat(100000) }}", output=1024)
    assert answer.kind == "output"
    answer = await run(sandbox, "python", "'x' * 100000", output=1024)
    assert answer.kind == "output"


# -- Python: imports, builtins, dunders, files, the environment ----------------------------------------

REFUSED_PY = {
    "__import__": "__import__('os')",
    "eval of __import__": "eval(\"__import__('os')\")",
    "open": "open('/etc/passwd').read()",
    "pathlib": "import pathlib\npathlib.Path('/etc/passwd').read_text()",
    "os.system": "import os\nos.system('id')",
    "os.listdir": "import os\nos.listdir('/')",
    "subprocess": "import subprocess",
    "socket": "import socket",
    "urllib": "import urllib.request",
    "ctypes": "import ctypes",
    "Pyodide's js bridge (CVE-2025-68668)": "import js\njs.process",
    "pyodide": "import pyodide",
    "sys.modules": "import sys\nsys.modules['os']",
    "subclasses walk": "().__class__.__bases__[0].__subclasses__()",
    "function globals": "(lambda: 0).__globals__",
    "getattr dunder": "getattr(input, '__class__')",
    "builtins": "import builtins\nbuiltins.__import__('os')",
}


@pytest.mark.parametrize("source", REFUSED_PY.values(), ids=REFUSED_PY.keys())
async def test_python_gets_no_module_file_or_dunder(sandbox: Sandbox, source: str) -> None:
    answer = await run(sandbox, "python", source, {"a": 1})
    assert answer.ok is False, answer.result_json
    assert answer.kind == "error"
    assert answer.line is not None
    assert answer.column is not None


async def test_python_sees_no_environment_variable(sandbox: Sandbox) -> None:
    answer = await run(
        sandbox, "python", "import os\n[os.getenv('HOME'), os.getenv('PATH'), os.getenv('SECRET_KEY')]"
    )
    assert answer.ok is False or result(answer) == [None, None, None]


async def test_python_sleep_waits_for_nothing(sandbox: Sandbox) -> None:
    started = time.monotonic()
    assert result(await run(sandbox, "python", "import time\ntime.sleep(3600)\n'awake'")) == "awake"
    assert time.monotonic() - started < 10


# -- the clock is what was passed in ---------------------------------------------------------------------


async def test_javascript_clocks_all_read_the_time_passed_in(sandbox: Sandbox) -> None:
    answer = await run(
        sandbox,
        "javascript",
        "return [Date.now(), new Date().getTime(), Date(), "
        "Object.getPrototypeOf(new Date()).constructor.now(), "
        "new Intl.DateTimeFormat('en', {timeZone: 'UTC', dateStyle: 'short'}).format(), "
        "Temporal.Now.instant().epochMilliseconds, new Date('2020-02-02').getTime()]",
    )
    assert result(answer) == [
        NOW_MS,
        NOW_MS,
        "Thu Jan 01 2026 00:00:00 GMT+0000 (Coordinated Universal Time)",
        NOW_MS,
        "1/1/26",
        NOW_MS,
        1580601600000,
    ]


async def test_python_clocks_read_the_time_passed_in(sandbox: Sandbox) -> None:
    answer = await run(
        sandbox,
        "python",
        "import time\nfrom datetime import datetime\n[time.time(), datetime.now().isoformat()]",
    )
    assert result(answer) == [NOW_MS / 1000, "2026-01-01T00:00:00"]


@pytest.mark.parametrize(
    ("language", "source"),
    [("javascript", "return Math.random()"), ("python", "import random\nrandom.random()")],
)
async def test_randomness_is_seeded_by_the_time_passed_in(
    sandbox: Sandbox, language: Language, source: str
) -> None:
    first = result(await run(sandbox, language, source))
    assert result(await run(sandbox, language, source)) == first


# -- the child process's own walls ---------------------------------------------------------------------


def test_a_sandbox_child_has_no_network_and_no_environment() -> None:
    """What the worker starts a child under (runner.os_limits), tried on a plain Python: it reaches no
    address (its own network namespace, where the worker may make one) and sees no variable."""
    probe = (
        "import os, socket\n"
        "seen = sorted(k for k in os.environ if k != 'LC_CTYPE')  # Python's own locale coercion (PEP 538)\n"
        "s = socket.socket()\n"
        "s.settimeout(2)\n"
        "try:\n"
        "    s.connect(('127.0.0.1', 5432))\n"
        "    print('connected', seen)\n"
        "except OSError:\n"
        "    print('unreachable', seen)\n"
    )
    if not without_network_permitted():
        pytest.skip("this machine does not let a process make a network namespace (not root, no userns)")
    done = subprocess.run(
        [sys.executable, "-I", "-c", probe],
        preexec_fn=os_limits("python"),
        env={},
        capture_output=True,
        text=True,
    )
    assert done.stdout.strip() == "unreachable []", done.stdout + done.stderr


def without_network_permitted() -> bool:
    probe = "from integrations.sandbox.runner import without_network\nprint(without_network())"
    return (
        subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True).stdout.strip() == "True"
    )
