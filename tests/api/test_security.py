"""Security points of SECURITY.md that no other test file holds: headers on every answer, CORS only for the
origins configured, a webhook's calls per minute, and access tokens that are forged, tampered with, of the
wrong kind, signed with `alg=none` or expired."""

from __future__ import annotations

import base64
import json
import time
import uuid

import httpx
import jwt

from core.security import TokenSigner
from core.settings import Settings
from tests.api.conftest import api_client_for, sign_up
from tests.api.test_webhooks import webhook_workflow


async def test_answers_carry_security_headers(api_client: httpx.AsyncClient) -> None:
    headers = await sign_up(api_client, "headers@example.com")
    me = await api_client.get("/api/v1/me", headers=headers)
    assert me.status_code == 200
    assert me.headers["x-content-type-options"] == "nosniff"
    assert me.headers["x-frame-options"] == "DENY"
    assert me.headers["referrer-policy"] == "no-referrer"
    assert me.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"
    assert me.headers["cache-control"] == "no-store"  # workspace data is never cached
    assert "strict-transport-security" not in me.headers  # plain HTTP here
    refused = await api_client.get("/api/v1/me")
    assert refused.status_code == 401
    assert refused.headers["x-content-type-options"] == "nosniff"
    docs = await api_client.get("/docs")
    # Swagger UI runs its scripts, from Baton's origin only
    assert "script-src 'self' 'unsafe-inline'" in docs.headers["content-security-policy"]
    assert docs.headers["x-frame-options"] == "DENY"
    over_https = await api_client.get("https://baton.test/api/v1/health")
    assert over_https.headers["strict-transport-security"].startswith("max-age=")


async def test_cors_answers_only_the_origins_configured(settings: Settings) -> None:
    preflight = {"Origin": "https://app.example.com", "Access-Control-Request-Method": "POST"}
    async with api_client_for(settings) as closed:
        answer = await closed.options("/api/v1/auth/login", headers=preflight)
        assert "access-control-allow-origin" not in answer.headers
    opened = settings.model_copy(update={"cors_origins": ["https://app.example.com"]})
    async with api_client_for(opened) as client:
        answer = await client.options("/api/v1/auth/login", headers=preflight)
        assert answer.status_code == 200
        assert answer.headers["access-control-allow-origin"] == "https://app.example.com"
        other = await client.options(
            "/api/v1/auth/login", headers={**preflight, "Origin": "https://evil.example.com"}
        )
        assert "access-control-allow-origin" not in other.headers


async def test_a_webhook_takes_a_limited_number_of_calls_a_minute(settings: Settings) -> None:
    limited = settings.model_copy(update={"webhook_rate_limit_per_minute": 3})
    async with api_client_for(limited) as client:
        _, _, _, hook = await webhook_workflow(client, email="limited@example.com")
        answers = [(await client.post(f"/hooks/{hook['token']}", json={})) for _ in range(4)]
        assert [a.status_code for a in answers] == [202, 202, 202, 429]
        body = answers[-1].json()
        assert body["error"] == "rate_limited"
        assert "WEBHOOK_RATE_LIMIT_PER_MINUTE" in body["detail"]
        assert 1 <= int(answers[-1].headers["Retry-After"]) <= 60


def _segment(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


async def test_forged_tampered_and_expired_tokens_are_refused(
    api_client: httpx.AsyncClient, settings: Settings
) -> None:
    headers = await sign_up(api_client, "tokens@example.com")
    token = headers["Authorization"].removeprefix("Bearer ")
    claims = jwt.decode(token, options={"verify_signature": False})
    header, payload, signature = token.split(".")

    def attempt(forged: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {forged}"}

    unsigned = f"{_segment({'alg': 'none', 'typ': 'JWT'})}.{payload}."
    elevated = f"{header}.{_segment({**claims, 'sub': str(uuid.uuid4())})}.{signature}"
    other_key = jwt.encode(claims, "not-the-secret-key-at-all-not-at-all", algorithm="HS256")
    other_algorithm = jwt.encode(claims, "x" * 64, algorithm="HS512")
    signer = TokenSigner(settings)
    refresh, _ = signer.issue(claims["sub"], "refresh")  # a valid token of another kind
    expired = jwt.encode(
        {**claims, "iat": int(time.time()) - 3600, "exp": int(time.time()) - 60},
        signer._key,  # noqa: SLF001 (the real key: only the expiry is wrong)
        algorithm="HS256",
    )
    for forged in (unsigned, elevated, other_key, other_algorithm, refresh, expired, token + "x"):
        answer = await api_client.get("/api/v1/me", headers=attempt(forged))
        assert answer.status_code == 401, forged
        assert answer.json()["error"] == "unauthenticated"
    assert (await api_client.get("/api/v1/me", headers=headers)).status_code == 200
