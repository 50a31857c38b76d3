"""A sandbox child: `python -I -m integrations.sandbox.child <language>` warms its engine, reads one job from
stdin, runs it, writes one answer to stdout and exits. The worker starts it under OS limits (runner.py) and
with an empty environment, so nothing of the worker's (its secrets, its connections) is in this process."""

from __future__ import annotations

import json
import resource
import sys
from typing import Protocol

from integrations.sandbox.protocol import Answer, Job, too_large


class Engine(Protocol):
    def run(self, job: Job) -> Answer: ...


def warmed(language: str) -> Engine:
    if language == "python":
        from integrations.sandbox.python import PythonEngine

        return PythonEngine()
    from integrations.sandbox.javascript import JavaScriptEngine

    return JavaScriptEngine()


def narrow_cpu_limit(job: Job) -> None:
    """The CPU the job may still use: what the warm-up took plus the script's limit and a second (the
    kernel's SIGXCPU backstops the engine's own clock)."""
    used = resource.getrusage(resource.RUSAGE_SELF)
    spent = int(used.ru_utime + used.ru_stime) + 1
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    soft = spent + int(job.timeout_seconds) + 1
    resource.setrlimit(
        resource.RLIMIT_CPU, (soft if hard == resource.RLIM_INFINITY else min(soft, hard), hard)
    )


def answer_for(engine: Engine, job: Job) -> Answer:
    answer = engine.run(job)
    if answer.ok and len(answer.result_json.encode()) > job.max_output_bytes:
        return too_large(job)
    return answer


def main() -> None:
    engine = warmed(sys.argv[1])
    line = sys.stdin.readline()
    if not line:  # the worker went away before giving a job
        return
    job = Job(**json.loads(line))
    narrow_cpu_limit(job)
    answer = answer_for(engine, job)
    sys.stdout.write(json.dumps(answer.to_json(), ensure_ascii=True) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
