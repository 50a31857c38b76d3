"""JavaScript in a V8 isolate (mini-racer): the script is a function body that receives `input` and
`return`s the result; V8 has no require, process, fetch, file or socket API, and the prelude below freezes
the clock at the time passed in, makes Math.random seeded, and removes what could read time or share memory
(timers, WebAssembly, SharedArrayBuffer, Atomics)."""

from __future__ import annotations

import json
import re
from typing import Any

from integrations.sandbox.protocol import (
    MAX_LOG_LINE,
    MAX_LOG_LINES,
    Answer,
    Job,
    failed,
    kept_logs,
    out_of_memory,
    timed_out,
)

# Runs before the script in the same fresh context. Date, Intl's date formatting and Temporal.Now all read
# the frozen `now`; the real Date stays unreachable (its prototype's constructor is the frozen one).
PRELUDE = r"""
(() => {
  const NOW = %(now)d;
  const RealDate = Date;
  function FrozenDate(...args) {
    if (!new.target) return new RealDate(NOW).toString();
    return args.length === 0 ? new RealDate(NOW) : new RealDate(...args);
  }
  FrozenDate.prototype = RealDate.prototype;
  Object.defineProperty(RealDate.prototype, "constructor", {value: FrozenDate});
  FrozenDate.now = () => NOW;
  FrozenDate.parse = RealDate.parse;
  FrozenDate.UTC = RealDate.UTC;
  globalThis.Date = FrozenDate;

  const DTF = Intl.DateTimeFormat.prototype;
  const format = Object.getOwnPropertyDescriptor(DTF, "format").get;
  Object.defineProperty(DTF, "format", {get() { const f = format.call(this); return (d) => f(d ?? NOW); }});
  const formatToParts = DTF.formatToParts;
  DTF.formatToParts = function (d) { return formatToParts.call(this, d ?? NOW); };

  if (typeof Temporal === "object") {
    const instant = () => Temporal.Instant.fromEpochMilliseconds(NOW);
    const zoned = (tz) => instant().toZonedDateTimeISO(tz ?? "UTC");
    Object.defineProperty(Temporal, "Now", {value: Object.freeze({
      instant, timeZoneId: () => "UTC", zonedDateTimeISO: zoned,
      plainDateTimeISO: (tz) => zoned(tz).toPlainDateTime(),
      plainDateISO: (tz) => zoned(tz).toPlainDate(),
      plainTimeISO: (tz) => zoned(tz).toPlainTime(),
    })});
  }

  let seed = NOW %% 2147483647 || 1;
  Math.random = () => (seed = (seed * 48271) %% 2147483647) / 2147483647;

  for (const name of ["setTimeout", "clearTimeout", "__timer_manager", "WebAssembly", "SharedArrayBuffer",
                      "Atomics"]) {
    if (!delete globalThis[name]) globalThis[name] = undefined;
  }
  const logs = [];
  const log = (...parts) => { if (logs.length < %(max_lines)d) logs.push(parts.map(
    (p) => typeof p === "string" ? p : JSON.stringify(p)).join(" ").slice(0, %(max_line)d)); };
  globalThis.console = Object.freeze({log, info: log, warn: log, error: log, debug: log});
  globalThis.__batonLogs = () => logs;
})();
"""
# The script becomes the body of this function: line numbers are the script's own, columns on its first
# line are shifted by the prefix's length (taken off again in failure()).
PREFIX = "globalThis.__batonMain = function (input) {"
LOCATION = re.compile(r"^<anonymous>:(\d+): (.*)$")


def failure(kind: str, error: Exception, source: str) -> Answer:
    """V8's message as the user's: `<anonymous>:3: TypeError: ...`, the source line, a caret under the
    column."""
    text = str(error)
    lines = text.splitlines()
    found = LOCATION.match(lines[0]) if lines else None
    if found is None:
        return failed("error", text.strip() or type(error).__name__)
    # past the script's last line: the function's closing brace, that is, the script ended too soon
    line = min(int(found.group(1)), source.count("\n") + 1)
    column = lines[2].find("^") + 1 if len(lines) > 2 and "^" in lines[2] else None
    if column is not None and line == 1:
        column = max(1, column - len(PREFIX))
    return failed("syntax" if kind == "syntax" else "error", found.group(2), line, column)


class JavaScriptEngine:
    """A fresh V8 context, made before the job arrives (V8's start is not the script's wait)."""

    def __init__(self) -> None:
        from py_mini_racer import MiniRacer

        self.context = MiniRacer()

    def run(self, job: Job) -> Answer:
        return run_javascript(self.context, job)


def run_javascript(context: Any, job: Job) -> Answer:
    from py_mini_racer import JSEvalException, JSOOMException, JSParseException, JSTimeoutException

    limits: dict[str, Any] = {"timeout_sec": job.timeout_seconds, "max_memory": job.memory_bytes}
    try:
        context.eval(PRELUDE % {"now": job.now_ms, "max_lines": MAX_LOG_LINES, "max_line": MAX_LOG_LINE})
        context.eval(PREFIX + job.source + "\n};", **limits)
        # JSON.parse, not a literal: a "__proto__" key of the input stays a key (a literal would set the
        # object's prototype)
        input_text = json.dumps(json.dumps(job.input, ensure_ascii=True))
        context.eval(f"globalThis.__batonInput = JSON.parse({input_text})", **limits)
        result = context.eval(
            "(() => { const r = __batonMain(__batonInput);"
            " return r === undefined ? 'null' : JSON.stringify(r) ?? 'null'; })()",
            **limits,
        )
        logs = context.eval("JSON.stringify(__batonLogs())", **limits)
    except JSTimeoutException:
        return timed_out(job)
    except JSOOMException:
        return out_of_memory(job)
    except JSParseException as error:
        return failure("syntax", error, job.source)
    except JSEvalException as error:
        return failure("error", error, job.source)
    if not isinstance(result, str):
        return failed("result", "the script returned a value that JSON cannot hold")
    return Answer(ok=True, result_json=result, logs=kept_logs(json.loads(str(logs))))
