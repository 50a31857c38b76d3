"""Hides secrets in what logs keep of a step's input and output: values under secret-looking keys
(password, token, apiKey, authorization...) and secret-shaped strings (bearer tokens, Slack, GitHub and
Stripe keys, JWTs, passwords in URLs) become "[redacted]"; so do, for a step that used a connection, the
values under that connection's credential field names and those credentials wherever they show up.

Every value a run writes goes through here, so the time it takes is linear in the text whatever the text
is: the known secrets are found by plain search, each pattern can only start where its literal prefix does
(or, for a JWT, where a run of its characters begins) and never reads to the end of the text from every
start, and a password in a URL is found by one left-to-right scan instead of a pattern that would look
for the closing `@` again from each `scheme://user:` (seconds for 20 KB, hours for 1 MB, with the GIL
held: every tenant's API calls and runs waited)."""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

REDACTED = "[redacted]"
SECRET_KEY = re.compile(
    r"pass(word|wd)?|secret|token|api[-_]?key|auth(orization)?|credential|cookie|session|connection[-_]?string"
    r"|private[-_]?key|signature",
    re.IGNORECASE,
)
SECRET_VALUE = re.compile(
    r"(?i:bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}"
    r"|xox[abposr]-[A-Za-z0-9-]{8,}"
    r"|gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}"
    r"|(sk|rk|pk)_(live|test)_[A-Za-z0-9]{10,}"
    # a Telegram bot's token (`123456789:AA...`, in the URLs of its API); only where a run of digits begins
    r"|(?<![0-9])[0-9]{6,12}:AA[A-Za-z0-9_-]{30,}"
    # only where a run of base64url characters begins: "eyJeyJeyJ..." would otherwise be read to its end
    # from each "eyJ" in it
    r"|(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"
)
# `scheme://user:` of a URL whose password follows (see `_hide_url_passwords`). The scheme is bounded so
# that a long run of letters is not read to its end from each of its letters; a longer one (none is
# registered) still matches by its last 32 characters, which hides the same password.
# The user may be empty: `redis://:password@host` is how Redis URLs carry a password.
URL_USER = re.compile(r"[a-z][a-z0-9+.-]{0,31}://[^:/@\s]*:", re.IGNORECASE)
PASSWORD_END = re.compile(r"[@\s]")


# Credential fields that say where or who, not how to get in: kept in logs.
PUBLIC_CREDENTIAL_FIELDS = frozenset(
    {"type", "name", "baseurl", "host", "port", "database", "username", "user", "email", "scope", "tokentype",
     "expiresat", "ssl", "security", "region", "accountid", "teamid", "from",
     # an LLM connection's (integrations.llm): which provider, where, which deployment, which API version
     "provider", "endpoint", "deployment", "apiversion", "anthropicversion", "organization",
     # a JWT signing key's (integrations.crypto): its id (sent as `kid`) and how the secret is written
     "keyid", "secretencoding"}
)  # fmt: skip
SHORTEST_SECRET = 6  # shorter values (a port, "yes") would blank out ordinary text


@dataclass(frozen=True)
class Secrets:
    """A connection's credentials as redaction sees them: field names (lowercase) and secret values."""

    names: frozenset[str] = frozenset()
    values: tuple[str, ...] = ()

    @classmethod
    def of(cls, credentials: Mapping[str, Any]) -> Secrets:
        """A connection's secrets, with the forms they travel in: a username and password also as the
        base64 of an `Authorization: Basic` header."""
        names = {k.lower() for k in credentials if k.lower() not in PUBLIC_CREDENTIAL_FIELDS}
        values = {
            str(v)
            for k, v in credentials.items()
            if k.lower() in names and isinstance(v, str | int) and len(str(v)) >= SHORTEST_SECRET
        }
        values |= _nested_secret_values(credentials)
        user = credentials.get("username") or credentials.get("user") or credentials.get("email")
        password = credentials.get("password")
        if isinstance(user, str) and isinstance(password, str) and password:
            values.add(base64.b64encode(f"{user}:{password}".encode()).decode())
        return cls(frozenset(names), tuple(sorted(values, key=len, reverse=True)))

    def __or__(self, other: Secrets) -> Secrets:
        values = {*self.values, *other.values}
        return Secrets(self.names | other.names, tuple(sorted(values, key=len, reverse=True)))


NO_SECRETS = Secrets()


def _nested_secret_values(credentials: Mapping[str, Any]) -> set[str]:
    """The secret-named values inside a credential's nested objects (a service account's JSON:
    `serviceAccount.private_key`); the other nested fields (its client_email, token_uri) stay readable."""
    found: set[str] = set()
    pending = [v for v in credentials.values() if isinstance(v, Mapping)]
    while pending:
        nested = pending.pop()
        for key, value in nested.items():
            if isinstance(value, Mapping):
                pending.append(value)
            elif isinstance(value, str) and len(value) >= SHORTEST_SECRET and SECRET_KEY.search(str(key)):
                found.add(value)
    return found


def _secret_key(key: Any, secrets: Secrets) -> bool:
    return isinstance(key, str) and (SECRET_KEY.search(key) is not None or key.lower() in secrets.names)


def scrub(value: Any, secrets: Secrets) -> Any:
    """A copy of `value` without the connection's secret values, wherever they appear (keys and strings),
    and nothing else changed: what an action returns to the run, which later steps read, so a field that
    is merely called "token" keeps its value. An echoed `Authorization: Bearer <token>` becomes
    `Bearer [redacted]`."""
    if not secrets.values:
        return value
    if isinstance(value, dict):
        return {scrub(key, secrets): scrub(item, secrets) for key, item in value.items()}
    if isinstance(value, list):
        return [scrub(item, secrets) for item in value]
    if isinstance(value, str):
        for secret in secrets.values:
            if secret in value:
                value = value.replace(secret, REDACTED)
        return value
    return value


def redact(value: Any, secrets: Secrets = NO_SECRETS) -> Any:
    """A copy of `value` with secrets replaced."""
    if isinstance(value, dict):
        return {
            key: REDACTED
            if _secret_key(key, secrets) and value[key] not in (None, "")
            else redact(item, secrets)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [redact(item, secrets) for item in value]
    if isinstance(value, str):
        for secret in secrets.values:
            value = value.replace(secret, REDACTED)
        return _hide_url_passwords(SECRET_VALUE.sub(REDACTED, value))
    return value


def _hide_url_passwords(text: str) -> str:
    """`text` with the password of every `scheme://user:password@` replaced: the password runs to the
    first `@` or whitespace after `user:`. Where that is remembered from the previous URL, so no part of
    the text is read twice looking for it (`a://a:a://a:...` has a `scheme://user:` every 6 characters
    and no `@`)."""
    if "://" not in text:
        return text
    pieces: list[str] = []
    copied = 0  # text[:copied] is in pieces
    end = -1  # the first "@" or whitespace at or after the last password's start
    for found in URL_USER.finditer(text):
        start = found.end()
        if start < copied:  # a URL inside a password already hidden
            continue
        if end < start:
            stop = PASSWORD_END.search(text, start)
            end = stop.start() if stop else len(text)
        if end > start and end < len(text) and text[end] == "@":
            pieces += [text[copied:start], REDACTED]
            copied = end
    pieces.append(text[copied:])
    return "".join(pieces)
