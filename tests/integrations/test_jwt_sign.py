"""crypto.jwt_sign signs with the key a connection holds: the token verifies with the public key, later
steps read it, and neither the key nor the token is in the logs; unusable keys are refused with a reason."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import re
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from core.definition.validation import validate_definition
from core.redaction import REDACTED
from integrations.catalogue import action_input_schema
from integrations.context import ActionError
from integrations.crypto import JwtSignInput, crypto, jwt_sign
from tests.engine import history_payloads
from tests.integrations.conftest import Studio

# RFC 7515 appendix A.1: the HMAC key (a JWK's `k`, base64url) and the claims it signs
RFC7515_KEY = "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow"
RFC7515_CLAIMS = {"iss": "joe", "exp": 1300819380, "http://example.com/is_root": True}
# ... and the token it publishes, whose signature verifies with that key
RFC7515_TOKEN = (
    "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9"
    ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
    ".dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
)


def rsa_key(size: int = 2048) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=size)


def pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


async def sign(credentials: dict[str, Any], **data: Any) -> str:
    async with httpx.AsyncClient() as http:
        context = crypto.context(credentials, http, logging.getLogger("test"))
        return (await jwt_sign(JwtSignInput.model_validate(data), context)).token


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


async def test_hs256_with_the_rfc_7515_key_verifies_and_is_signed_with_the_hmac_of_its_input() -> None:
    key = base64.urlsafe_b64decode(RFC7515_KEY + "==")
    unexpired: jwt.types.Options = {"verify_exp": False}
    assert jwt.decode(RFC7515_TOKEN, key, algorithms=["HS256"], options=unexpired) == RFC7515_CLAIMS
    token = await sign({"secret": RFC7515_KEY, "secretEncoding": "base64"}, claims=RFC7515_CLAIMS)
    header, payload, signature = token.split(".")
    assert json.loads(base64.urlsafe_b64decode(header + "==")) == {"alg": "HS256", "typ": "JWT"}
    assert signature == b64url(hmac.new(key, f"{header}.{payload}".encode(), hashlib.sha256).digest())
    assert jwt.decode(token, key, algorithms=["HS256"], options=unexpired) == RFC7515_CLAIMS


async def test_es256_and_rs256_tokens_verify_with_the_public_key() -> None:
    for algorithm, private, other in (
        ("ES256", ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())),
        ("RS256", rsa_key(), rsa_key()),
    ):
        token = await sign({"privateKey": pem(private), "keyId": "k-2026"}, algorithm=algorithm,
                           claims={"sub": "ada"}, header={"cty": "demo"})  # fmt: skip
        assert jwt.decode(token, private.public_key(), algorithms=[algorithm]) == {"sub": "ada"}
        assert jwt.get_unverified_header(token) == {"alg": algorithm, "typ": "JWT", "kid": "k-2026",
                                                    "cty": "demo"}  # fmt: skip
        with pytest.raises(jwt.InvalidSignatureError):  # signed by this key, not any other
            jwt.decode(token, other.public_key(), algorithms=[algorithm])


@pytest.mark.parametrize(
    ("credentials", "data", "message"),
    [
        ({}, {}, "needs a connection that holds the signing key"),
        ({"secret": "s" * 32}, {"algorithm": "HS512"}, "HMAC key is 32 bytes long"),
        ({"secret": "s" * 64}, {"algorithm": "RS256"}, "RS256 signs with a private key"),
        ({"privateKey": "ES"}, {"algorithm": "ES256"}, "not an unencrypted PEM private key"),
        ({"secret": "s" * 64}, {"header": {"alg": "none"}}, "header.alg is set by `algorithm`"),
    ],
)
async def test_a_key_that_cannot_sign_fails_the_step_without_retrying_and_says_why(
    credentials: dict[str, Any], data: dict[str, Any], message: str
) -> None:
    with pytest.raises(ActionError, match=re.escape(message)) as caught:
        await sign(credentials, **data)
    assert not caught.value.retryable
    assert "s" * 32 not in caught.value.message


async def test_an_rsa_key_does_not_sign_es256() -> None:
    with pytest.raises(ActionError, match="ES256 needs an EC P-256 private key"):
        await sign({"privateKey": pem(rsa_key())}, algorithm="ES256")


async def test_a_connection_with_an_unusable_key_is_refused_on_save_naming_the_field(studio: Studio) -> None:
    not_a_key = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----"
    for credentials, reason in (
        ({"secret": "short"}, "at least 32 bytes"),
        ({"secret": "s" * 32, "privateKey": pem(ec.generate_private_key(ec.SECP256R1()))}, "either `secret`"),
        ({}, "either `secret`"),
        ({"privateKey": pem(rsa_key(1024))}, "RS256 needs at least 2048"),
        ({"privateKey": pem(ec.generate_private_key(ec.SECP384R1()))}, "ES256 needs P-256"),
        ({"privateKey": not_a_key}, "not an unencrypted PEM"),
    ):  # fmt: skip
        answer = await studio.client.post(
            f"{studio.base}/connections",
            headers=studio.headers,
            json={"integrationId": "crypto", "name": "key", "credentials": credentials},
        )
        assert 400 <= answer.status_code < 500, answer.text
        assert "credentials" in answer.text, answer.text
        assert reason in answer.text, answer.text
        assert credentials.get("secret", "\0") not in answer.text


async def test_a_run_signs_with_the_connections_key_and_later_steps_read_the_token_the_logs_do_not(
    studio: Studio,
) -> None:
    private = rsa_key()
    key_pem = pem(private)
    connection_id = await studio.connect("crypto", {"privateKey": key_pem, "keyId": "app-42"})
    steps = [
        {"id": "sign", "type": "action", "action": "crypto.jwt_sign", "connectionId": connection_id,
         "input": {"algorithm": "RS256", "claims": {"iss": "baton", "sub": "{{ trigger.user }}"},
                   "expiresIn": 600}},
        {"id": "use", "type": "set", "values": {"authorization": "Bearer {{ steps.sign.output.token }}"}},
    ]  # fmt: skip
    execution = await studio.run(await studio.publish(steps), {"user": "ada"})
    assert execution["status"] == "SUCCESS", execution
    token = execution["steps"]["sign"]["output"]["token"]
    claims = jwt.decode(token, private.public_key(), algorithms=["RS256"])
    assert (claims["iss"], claims["sub"], claims["exp"] - claims["iat"]) == ("baton", "ada", 600)
    assert jwt.get_unverified_header(token)["kid"] == "app-42"
    assert execution["steps"]["use"]["output"] == {"authorization": f"Bearer {token}"}

    assert studio.engine.logs is not None
    await studio.engine.logs.flush()
    logged = await studio.db.fetchval(
        "SELECT string_agg(metadata::text, ' ') FROM execution_logs WHERE execution_id = $1", execution["id"]
    )
    assert REDACTED in logged
    assert token not in logged
    assert token.split(".")[2] not in logged
    key_body = "".join(key_pem.splitlines()[1:-1])[:64]
    history = await history_payloads(studio.engine.client, f"run-{execution['id']}")
    seen = b"".join(p.data for p in history).decode(errors="replace")
    for where, text in (
        ("the logs", logged),
        ("Temporal's history", seen),
        ("the API", json.dumps(execution)),
    ):
        assert key_body not in text.replace("\\n", ""), f"the private key is in {where}"


def test_the_integration_page_example_is_a_valid_pair_of_steps() -> None:
    example = re.search(r"```json\n(.*?)```", crypto.example, re.S)
    assert example is not None
    steps = json.loads(example.group(1))
    definition = {"triggerType": "WEBHOOK", "triggerConfig": {"mode": "sync"}, "steps": steps}
    validate_definition(definition, action_schema=action_input_schema)
