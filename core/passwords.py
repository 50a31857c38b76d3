"""Password strength: a password must be hard to guess, not merely long (zxcvbn, which knows the common
passwords, words, names, keyboard walks and dates, and the account's own email and names)."""

from __future__ import annotations

from zxcvbn import zxcvbn

from core.errors import BatonError

MIN_SCORE = 3  # zxcvbn's 0-4: 3 is "safely unguessable: moderate protection from offline attacks"
ESTIMATED_CHARACTERS = 100  # zxcvbn's time grows with length; past this a password is long enough anyway


class WeakPassword(BatonError, status=422, kind="weak_password"):
    """A password too easy to guess (zxcvbn's score below MIN_SCORE)."""


def require_strong_password(password: str, *about_the_user: str) -> None:
    """WeakPassword (422, path `password`) with zxcvbn's warning and suggestions when it is guessable."""
    inputs = [part for value in about_the_user for part in value.replace("@", " ").replace(".", " ").split()]
    result = zxcvbn(password[:ESTIMATED_CHARACTERS], user_inputs=[value for value in inputs if value])
    if result["score"] >= MIN_SCORE:
        return
    feedback = result.get("feedback") or {}
    reasons = [feedback.get("warning") or "This password is easy to guess.", *feedback.get("suggestions", [])]
    raise WeakPassword(
        "password: "
        + " ".join(reason for reason in reasons if reason)
        + ' A few unrelated words ("copper lantern quietly folds") make a strong one.',
        path="password",
    )
