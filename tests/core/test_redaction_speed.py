"""Redaction, and every pattern Baton runs on a run's data, take time linear in the text: 1 MB values of
the shapes that made a backtracking pattern read the rest of the text from every position finish in well
under a second, and what was hidden is still hidden."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.redaction import REDACTED, SECRET_VALUE, Secrets, redact, scrub

MB = 1_000_000
# Generous for a slow shared machine: linear code takes ~0.1 s here; the patterns this replaced took
# minutes to hours on these values. CPU seconds of the child, so a busy machine does not fail it.
SECONDS = 2.0
# A quadratic call holds the GIL and cannot be interrupted: it runs in a child process killed after this.
KILLED_AFTER = 30.0
ROOT = Path(__file__).resolve().parents[2]

SHAPES = {
    "letters": f"'a' * {MB}",
    "schemes without a user": f"'a://' * ({MB} // 4)",
    "users without a password's end": f"'a://a:' * ({MB} // 6)",
    "a long scheme then a user without a colon": f"'x' * 40 + '://' + 'u' * {MB}",
    "colons": f"'a:' * ({MB} // 2)",
    "unclosed JWT starts": f"'eyJ' * ({MB} // 3)",
    "JWT-like segments without a third": f"('eyJ' + 'a' * 9 + '.') * ({MB} // 13)",
    "bearer words": f"'Bearer ' * ({MB} // 7)",
    "short bearer tokens": f"'Basic abc ' * ({MB} // 10)",
    "token prefixes": f"'xoxb-ghp_sk_live_github_pat_' * ({MB} // 29)",
    "bot token starts": f"'1234567:AA' * ({MB} // 10)",
    "digits": f"'1' * {MB}",
    "backslashes": f"'\\\\' * {MB}",
    "whitespace": f"' \\t\\n' * ({MB} // 3)",
    "expression openers": f"'{{{{' * ({MB} // 2)",
    "a key of a megabyte": f"{{'passw' * ({MB} // 5): 'x'}}",
    "many small values": f"[{{'url': 'a://a:' * 10, 'note': 'eyJ' * 10}} for _ in range({MB} // 90)]",
}


def _seconds_in_child(setup: str, call: str) -> float:
    code = "\n".join(
        ["import time", setup, "t = time.process_time()", call, "print(time.process_time() - t)"]
    )
    try:
        done = subprocess.run(
            [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=KILLED_AFTER,
            check=True,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        pytest.fail(f"`{call}` did not finish in {KILLED_AFTER:g}s")
    except subprocess.CalledProcessError as exc:
        pytest.fail(f"`{call}` failed: {exc.stderr[-2000:]}")
    return float(done.stdout.strip())


@pytest.mark.parametrize("shape", list(SHAPES))
def test_redacting_a_megabyte_takes_linear_time_whatever_its_shape(shape: str) -> None:
    seconds = _seconds_in_child(
        f"from core.redaction import redact, Secrets\nvalue = {SHAPES[shape]}",
        "redact(value, Secrets.of({'apiKey': 'sk-abcdefghijkl', 'password': 'hunter22'}))",
    )
    assert seconds < SECONDS, f"{shape}: {seconds:.1f}s"


@pytest.mark.parametrize("shape", ["expression openers", "letters", "backslashes", "colons"])
def test_finding_expressions_in_a_megabyte_takes_linear_time(shape: str) -> None:
    seconds = _seconds_in_child(
        f"from core.expressions import has_expression, names_used\nvalue = {SHAPES[shape]}",
        "has_expression(value); names_used(value); names_used('{{ trigger.x }}' + value)",
    )
    assert seconds < SECONDS, f"{shape}: {seconds:.1f}s"


@pytest.mark.parametrize("shape", ["backslashes", "letters", "whitespace"])
def test_storing_a_megabyte_as_jsonb_takes_linear_time(shape: str) -> None:
    seconds = _seconds_in_child(
        f"from core.db import jsonb\nvalue = [{SHAPES[shape]} + '\\x00', {SHAPES[shape]}]", "jsonb(value)"
    )
    assert seconds < SECONDS, f"{shape}: {seconds:.1f}s"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("postgres://ada:hu/nt+er2==@db:5432/x", f"postgres://ada:{REDACTED}@db:5432/x"),
        (
            "a redis://:s3cret@cache and amqp://bob:pw:with:colons@mq/vhost, not http://x/y@z",
            f"a redis://:{REDACTED}@cache and amqp://bob:{REDACTED}@mq/vhost, not http://x/y@z",
        ),
        ("git+https://u:tok@h https://v:pass@h2", f"git+https://u:{REDACTED}@h https://v:{REDACTED}@h2"),
        ("https://u:nested://w:p@h", f"https://u:{REDACTED}@h"),
        ("x" * 40 + "://user:pw12@host", "x" * 40 + f"://user:{REDACTED}@host"),
        ("https://user:no-at-sign then@later", "https://user:no-at-sign then@later"),
        ("https://user:@host", "https://user:@host"),
        ("Bearer eyJhbGciOiJI.eyJzdWIiOiIx.SflKxwRJSMeKKF2Q", REDACTED),
        ("token=eyJhbGciOiJI.eyJzdWIiOiIx.SflKxwRJSMeKKF2Q;", f"token={REDACTED};"),
        ("eyJ" * 3000, "eyJ" * 3000),
        ("a://a:" * 500 + "b@c", "a://a:" + REDACTED + "@c"),
        (
            "https://api.telegram.org/bot123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/getMe",
            f"https://api.telegram.org/bot{REDACTED}/getMe",
        ),
        ("order 123456789:AAA but not a token", "order 123456789:AAA but not a token"),
    ],
)
def test_redaction_still_hides_what_it_hid(value: str, expected: str) -> None:
    assert redact(value) == expected


def test_a_connections_secret_is_hidden_inside_a_long_value() -> None:
    secrets = Secrets.of({"apiKey": "sk-abcdefghijkl"})
    value = "a" * 20_000 + "sk-abcdefghijkl" + "a://a:" * 1000
    assert redact(value, secrets) == "a" * 20_000 + REDACTED + "a://a:" * 1000


# The pattern the scan replaced (with an empty user allowed): right, but quadratic on long values.
BACKTRACKING_URL_PASSWORD = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://[^:/@\s]*:)[^@\s]+@", re.IGNORECASE)
PIECES = ["a", "Z", "1", ":", "/", "@", " ", "\n", ".", "+", "-", "_", "://", "http", "u:p@", "x://u:", "%40"]


@pytest.mark.fuzz
@settings(max_examples=3000, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=30).map("".join))
def test_url_passwords_are_hidden_exactly_where_the_backtracking_pattern_hid_them(text: str) -> None:
    expected = BACKTRACKING_URL_PASSWORD.sub(rf"\g<scheme>{REDACTED}@", SECRET_VALUE.sub(REDACTED, text))
    assert redact(text) == expected


def test_a_secret_inside_a_credentials_nested_object_is_hidden_and_its_other_fields_are_not() -> None:
    """A service account's JSON (an OAuth2 connection's `serviceAccount`) holds its private key one level
    down: an echo of it is hidden like any credential, while its client email stays readable."""
    pem = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n"
    secrets = Secrets.of(
        {"type": "oauth2", "serviceAccount": {"client_email": "robot@example.iam", "private_key": pem}}
    )
    echoed = {"body": f"key {pem} for robot@example.iam"}
    assert scrub(echoed, secrets) == {"body": f"key {REDACTED} for robot@example.iam"}
    assert redact(echoed, secrets)["body"].startswith(f"key {REDACTED} for")
