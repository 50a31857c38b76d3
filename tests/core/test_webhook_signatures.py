"""Each sender's scheme against its own published example or reference library, and what each refuses."""

from __future__ import annotations

import hashlib
import hmac
import time
from datetime import UTC, datetime

import pytest
from standardwebhooks.webhooks import Webhook

from core.triggers.signatures import (
    SignatureRefused,
    new_standard_secret,
    sign_standard,
    standard_key,
    verify,
)

NOW = 1_780_000_000.0


class Headers(dict[str, str]):
    """Looks names up case-insensitively, as Starlette's request headers do."""

    def __init__(self, **values: str) -> None:
        super().__init__({k.lower().replace("_", "-"): v for k, v in values.items()})

    def get(self, key: str, default: str | None = None) -> str | None:  # type: ignore[override]
        return super().get(key.lower(), default)


def test_standard_webhooks_calls_signed_by_the_reference_library_pass() -> None:
    secret = new_standard_secret()
    body = '{"type": "invoice.paid", "amount": 10}'
    stamp = datetime.fromtimestamp(NOW, UTC)
    signature = Webhook(secret).sign("msg_2x", stamp, body)
    assert signature == sign_standard(secret, "msg_2x", int(NOW), body.encode())
    headers = Headers(webhook_id="msg_2x", webhook_timestamp=str(int(NOW)), webhook_signature=signature)
    assert verify("standard", secret, body.encode(), headers, NOW) == "id:msg_2x"
    # during a rotation a sender signs with both secrets, space-separated: either one passes
    other = new_standard_secret()
    both = Headers(
        webhook_id="msg_2x",
        webhook_timestamp=str(int(NOW)),
        webhook_signature=f"{Webhook(other).sign('msg_2x', stamp, body)} {signature}",
    )
    assert verify("standard", secret, body.encode(), both, NOW) == "id:msg_2x"
    with pytest.raises(SignatureRefused, match="webhook-signature"):
        verify("standard", secret, body.replace("10", "99").encode(), headers, NOW)  # the body is signed
    # and what we sign, the reference library accepts
    now = int(time.time())
    ours = Headers(
        webhook_id="msg_3",
        webhook_timestamp=str(now),
        webhook_signature=sign_standard(secret, "msg_3", now, b"{}"),
    )
    assert Webhook(secret).verify("{}", dict(ours)) == {}


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"webhook_signature": "v1,AAAA"}, "webhook-signature"),
        ({"webhook_id": "msg_other"}, "webhook-signature"),  # the id is signed
        ({"webhook_timestamp": str(int(NOW) + 1)}, "webhook-signature"),  # and so is the timestamp
        ({"webhook_timestamp": str(int(NOW) - 301)}, "301 s away"),
        ({"webhook_timestamp": str(int(NOW) + 301)}, "301 s away"),
        ({"webhook_timestamp": "soon"}, "webhook-timestamp"),
        ({"webhook_id": ""}, "webhook-id"),
    ],
)
def test_standard_webhooks_refuses_an_altered_or_stale_call(change: dict[str, str], reason: str) -> None:
    secret = new_standard_secret()
    body = b'{"n": 1}'
    headers = {
        "webhook_id": "msg_1",
        "webhook_timestamp": str(int(NOW)),
        "webhook_signature": sign_standard(secret, "msg_1", int(NOW), body),
        **change,
    }
    with pytest.raises(SignatureRefused, match=reason):
        verify("standard", secret, body, Headers(**headers), NOW)


def test_github_s_published_example_passes_and_a_changed_body_does_not() -> None:
    # docs.github.com, "Validating webhook deliveries"
    secret, body = "It's a Secret to Everybody", b"Hello, World!"
    expected = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    key = verify("github", secret, body, Headers(x_hub_signature_256=expected), NOW)
    assert key == "sig:" + expected
    for headers in (Headers(), Headers(x_hub_signature_256=expected.replace("7", "8"))):
        with pytest.raises(SignatureRefused, match="X-Hub-Signature-256"):
            verify("github", secret, body, headers, NOW)
    with pytest.raises(SignatureRefused):
        verify("github", secret, b"Hello, World?", Headers(x_hub_signature_256=expected), NOW)


def test_slack_s_published_example_passes_within_five_minutes_only() -> None:
    # api.slack.com, "Verifying requests from Slack"
    secret = "8f742231b10e8888abcd99yyyzzz85a5"
    body = (
        b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&"
        b"channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&"
        b"response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZR"
        b"skXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
    )
    headers = Headers(
        x_slack_request_timestamp="1531420618",
        x_slack_signature="v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
    )
    assert verify("slack", secret, body, headers, 1531420618 + 60).startswith("sig:v0=")
    with pytest.raises(SignatureRefused, match="X-Slack-Request-Timestamp is 301 s away"):
        verify("slack", secret, body, headers, 1531420618 + 301)
    with pytest.raises(SignatureRefused, match="X-Slack-Signature"):
        verify("slack", secret, body + b"&x=1", headers, 1531420618 + 60)


def test_stripe_signatures_cover_the_timestamp_and_any_v1_entry_passes() -> None:
    secret, body = "whsec_stripe_endpoint_secret", b'{"id": "evt_1", "type": "charge.succeeded"}'
    stamp = int(NOW)
    good = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    header = f"t={stamp},v1={'0' * 64},v1={good},v0=ignored"
    assert verify("stripe", secret, body, Headers(stripe_signature=header), NOW) == "sig:" + good
    with pytest.raises(SignatureRefused, match="Stripe-Signature"):
        verify("stripe", secret, body, Headers(stripe_signature=f"t={stamp + 1},v1={good}"), NOW)
    with pytest.raises(SignatureRefused, match="301 s away"):
        verify("stripe", secret, body, Headers(stripe_signature=header), NOW + 301)
    with pytest.raises(SignatureRefused, match="Stripe-Signature's t"):
        verify("stripe", secret, body, Headers(stripe_signature=f"v1={good}"), NOW)


def test_secrets_and_schemes_that_cannot_work_are_named() -> None:
    with pytest.raises(SignatureRefused, match="unknown"):
        verify("md5", "s3cret", b"", Headers(), NOW)
    for bad in ("whsec_not base64!", "whsec_c2hvcnQ="):
        with pytest.raises(ValueError, match="Standard Webhooks secret"):
            standard_key(bad)
    secret = new_standard_secret()
    assert standard_key(secret.rstrip("=")) == standard_key(secret)  # padding is optional
