"""Hides secrets in what logs keep of a step's input and output: values under secret-looking keys
(password, token, apiKey, authorization...) and secret-shaped strings (bearer tokens, Slack, GitHub and
Stripe keys, JWTs, passwords in URLs) become "[redacted]"."""

from __future__ import annotations

import re
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
    r"|eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"
)
URL_PASSWORD = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://[^:/@\s]+:)[^@\s]+@", re.IGNORECASE)


def redact(value: Any) -> Any:
    """A copy of `value` with secrets replaced."""
    if isinstance(value, dict):
        return {
            key: REDACTED
            if isinstance(key, str) and SECRET_KEY.search(key) and value[key] not in (None, "")
            else redact(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [redact(item) for item in value]
    if isinstance(value, str):
        return URL_PASSWORD.sub(rf"\g<scheme>{REDACTED}@", SECRET_VALUE.sub(REDACTED, value))
    return value
