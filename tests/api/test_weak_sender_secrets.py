"""A sender's signing secret is the whole HMAC key: one anybody could guess is refused with 422 naming the
field and what is needed, while the secrets real senders issue are taken."""

from __future__ import annotations

import base64
import secrets

import httpx
import pytest

from core.triggers.signatures import new_standard_secret
from tests.api.test_webhooks import Hooked

WEAK = [
    ("github", " " * 8),
    ("github", " " * 40),
    ("github", "a" * 64),
    ("github", "abab" * 10),
    ("github", "fifteen chars!!"),
    ("github", "a b c d e f g h i j"),  # long enough only if whitespace counted
    ("slack", "0" * 32),
    ("stripe", "whsec_" + "a" * 30),
    ("stripe", "whsec_short1234"),
    ("baton-v1", "\t" * 20),
    ("standard", "whsec_" + base64.b64encode(bytes(16)).decode()),
    ("standard", "whsec_" + base64.b64encode(b"\x01\x02" * 16).decode()),
]

REAL = [
    ("github", secrets.token_hex(20)),  # what GitHub's documentation suggests generating
    ("github", "github-webhook-secret"),
    ("slack", "8f742231b10e8888abcd99yyyzzz85a5"),  # Slack's documentation's example
    ("stripe", "whsec_" + secrets.token_urlsafe(24)[:32]),
    ("stripe", "whsec_" + secrets.token_hex(32)),  # the Stripe CLI's
    ("standard", new_standard_secret()),
    ("standard", "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()),
    ("baton-v1", "whsec_made_before_standard_webhooks"),
]


async def test_a_weak_sender_secret_is_refused_with_its_field_and_what_is_needed(
    api_client: httpx.AsyncClient,
) -> None:
    hooked = await Hooked.publish(api_client)
    for scheme, secret in WEAK:
        response = await hooked.put_secret({"scheme": scheme, "secret": secret})
        assert response.status_code == 422, (scheme, secret, response.text)
        answer = response.json()
        assert answer["path"] == "secret"
        assert "at least" in answer["detail"], answer
        if secret.strip():
            assert secret not in response.text
    assert (await hooked.listed())["hasSecret"] is False


@pytest.mark.parametrize(("scheme", "secret"), REAL, ids=[f"{s}-{i}" for i, (s, _) in enumerate(REAL)])
async def test_the_secrets_real_senders_issue_are_taken(
    api_client: httpx.AsyncClient, scheme: str, secret: str
) -> None:
    hooked = await Hooked.publish(api_client)
    response = await hooked.put_secret({"scheme": scheme, "secret": secret})
    assert response.status_code == 200, response.text
    listed = await hooked.listed()
    assert (listed["hasSecret"], listed["signatureScheme"]) == (True, scheme)
