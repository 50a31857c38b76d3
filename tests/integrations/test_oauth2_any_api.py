"""OAuth2 connections for any HTTP API, end to end: the browser flow (authorization code with PKCE), client
credentials and a service account's JWT bearer grant, against a local provider that follows RFC 6749, 7636
and 7523, with `http.request` runs across a token expiry."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from core.oauth_providers import from_environment, load
from core.settings import Settings
from tests.http_server import LocalServer, Reply, Seen
from tests.integrations.conftest import Studio, eventually

CLIENT_ID, CLIENT_SECRET = "baton-client", "client-SECRET-value"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"


class OAuth2Server(LocalServer):
    """A provider: /authorize answers a code bound to the PKCE challenge, /token speaks the grants (refresh
    tokens rotate and can be revoked), /api/me is a protected API that checks the bearer and its expiry."""

    def __init__(self) -> None:
        self.codes: dict[str, dict[str, str]] = {}
        self.refresh_tokens: set[str] = set()
        self.access: dict[str, float] = {}  # token -> when it expires
        self.expires_in = 3600
        self.public_key: Any = None
        super().__init__()

    def grants(self, grant: str) -> int:
        return sum(1 for r in self.hits("/token") if parse_qs(r.body.decode()).get("grant_type") == [grant])

    def answer(self, seen: Seen) -> Reply:
        if seen.path == "/authorize":
            return self._authorize({k: v[0] for k, v in seen.query.items()})
        if seen.path == "/token":
            return self._token(seen)
        if seen.path == "/api/me":
            token = seen.headers.get("Authorization", "").removeprefix("Bearer ")
            if self.access.get(token, 0) <= time.time():
                return Reply(401, {"error": "invalid_token"})
            return Reply(200, {"me": "ada"})
        return Reply(404, {"error": "not_found"})

    def _authorize(self, query: dict[str, str]) -> Reply:
        if query.get("client_id") != CLIENT_ID or query.get("code_challenge_method") != "S256":
            return Reply(400, {"error": "invalid_request"})
        code = secrets.token_urlsafe(16)
        self.codes[code] = {"challenge": query["code_challenge"], "redirect_uri": query["redirect_uri"]}
        location = f"{query['redirect_uri']}?{urlencode({'code': code, 'state': query['state']})}"
        return Reply(302, "", {"Location": location})

    def _issue(self, refresh: bool, **extra: Any) -> Reply:
        token = "at-" + secrets.token_urlsafe(12)
        self.access[token] = time.time() + self.expires_in
        body: dict[str, Any] = {"access_token": token, "token_type": "Bearer", "expires_in": self.expires_in}
        if refresh:
            body["refresh_token"] = "rt-" + secrets.token_urlsafe(12)
            self.refresh_tokens.add(body["refresh_token"])
        return Reply(200, body | extra)

    def _client_ok(self, seen: Seen, form: dict[str, str]) -> bool:
        basic = seen.headers.get("Authorization", "")
        if basic.startswith("Basic "):
            return base64.b64decode(basic[6:]).decode() == f"{CLIENT_ID}:{CLIENT_SECRET}"
        return (form.get("client_id"), form.get("client_secret")) == (CLIENT_ID, CLIENT_SECRET)

    def _token(self, seen: Seen) -> Reply:
        form = {k: v[0] for k, v in parse_qs(seen.body.decode()).items()}
        grant = form.get("grant_type")
        if grant == JWT_BEARER:
            try:
                claims = jwt.decode(
                    form["assertion"],
                    self.public_key,
                    algorithms=["RS256"],
                    audience=self.base_url + "/token",
                )
            except jwt.PyJWTError as exc:
                return Reply(400, {"error": "invalid_grant", "error_description": str(exc)})
            if claims["exp"] - claims["iat"] > 3600 or "scope" not in claims:
                return Reply(400, {"error": "invalid_grant"})
            return self._issue(refresh=False)
        if not self._client_ok(seen, form):
            return Reply(401, {"error": "invalid_client"})
        if grant == "authorization_code":
            pending = self.codes.pop(form.get("code", ""), None)
            verifier = form.get("code_verifier", "")
            digest = hashlib.sha256(verifier.encode()).digest()
            challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
            if pending is None or pending["challenge"] != challenge:
                return Reply(400, {"error": "invalid_grant", "error_description": "PKCE verification failed"})
            id_token = jwt.encode(
                {"sub": "42", "email": "ada@example.com"}, "provider-signing-key-0123456789abcdef"
            )
            return self._issue(refresh=True, id_token=id_token)
        if grant == "refresh_token":
            if form.get("refresh_token") not in self.refresh_tokens:
                return Reply(400, {"error": "invalid_grant", "error_description": "Token has been revoked."})
            self.refresh_tokens.discard(form["refresh_token"])  # rotation: each refresh token works once
            return self._issue(refresh=True)
        if grant == "client_credentials":
            return self._issue(refresh=False)
        return Reply(400, {"error": "unsupported_grant_type"})


@pytest.fixture
def provider() -> Iterator[OAuth2Server]:
    server = OAuth2Server()
    yield server
    server.close()


@pytest.fixture
def settings(settings: Settings, provider: OAuth2Server) -> Settings:
    return with_google_at(settings, provider)


def with_google_at(settings: Settings, provider: OAuth2Server) -> Settings:
    """The settings with the google provider's client, its authorize and token URLs on `provider`."""
    return settings.model_copy(
        update={
            "public_url": "https://baton.example.com",
            "oauth_refresh_margin_seconds": 0,
            "oauth_clients": {
                "google": {
                    "clientId": CLIENT_ID,
                    "clientSecret": CLIENT_SECRET,
                    "authorizeUrl": provider.base_url + "/authorize",
                    "tokenUrl": provider.base_url + "/token",
                }
            },
        }
    )


async def _expired(provider: OAuth2Server) -> None:
    async def all_expired() -> bool:
        return all(at <= time.time() for at in provider.access.values())

    assert await eventually(all_expired, 10)


def _calls(provider: OAuth2Server, connection_id: str) -> list[dict[str, Any]]:
    step = {
        "type": "action",
        "action": "http.request",
        "connectionId": connection_id,
        "input": {"url": provider.base_url + "/api/me"},
    }
    return [{"id": "first", **step}, {"id": "second", **step}]


async def _browser_connection(studio: Studio) -> dict[str, Any]:
    authorize = f"{studio.base}/connections/oauth/providers/google/authorize"
    started = await studio.client.get(authorize, headers=studio.headers)
    assert started.status_code == 307, started.text
    sent = parse_qs(urlsplit(started.headers["location"]).query)
    assert sent["access_type"] == ["offline"]
    assert sent["scope"] == ["openid email"]
    async with httpx.AsyncClient() as browser:  # the user's browser at the provider's consent page
        consented = await browser.get(started.headers["location"])
    assert consented.status_code == 302, consented.text
    back = urlsplit(consented.headers["location"])
    assert f"{back.scheme}://{back.netloc}{back.path}" == "https://baton.example.com/api/v1/oauth/callback"
    done = await studio.client.get(back.path, params=dict(parse_qs(back.query)))
    assert done.status_code == 200, done.text
    replayed = await studio.client.get(back.path, params=dict(parse_qs(back.query)))
    assert (replayed.status_code, replayed.json()["path"]) == (400, "state")  # the state works once
    connection: dict[str, Any] = done.json()
    return connection


async def test_a_browser_connection_refreshes_once_across_an_expiry_and_the_run_succeeds(
    studio: Studio, provider: OAuth2Server
) -> None:
    provider.expires_in = 1
    connection = await _browser_connection(studio)
    assert (connection["integrationId"], connection["name"]) == ("http", "Google (ada@example.com)")
    await _expired(provider)
    provider.expires_in = 3600

    execution = await studio.run(await studio.publish(_calls(provider, connection["id"])))
    assert execution["status"] == "SUCCESS", execution["error"]
    assert [execution["steps"][s]["output"]["body"] for s in ("first", "second")] == [{"me": "ada"}] * 2
    assert (provider.grants("authorization_code"), provider.grants("refresh_token")) == (1, 1)
    assert provider.hits("/token")[1].body.decode().count("code_verifier") == 0
    assert len(provider.refresh_tokens) == 1  # the rotated one, stored: the first no longer works
    row = await studio.db.fetchrow("SELECT credentials::text AS c FROM connections")
    assert all(token not in row["c"] for token in [*provider.access, *provider.refresh_tokens])


async def test_a_revoked_refresh_token_fails_the_run_saying_to_reconnect(
    studio: Studio, provider: OAuth2Server
) -> None:
    provider.expires_in = 1
    connection = await _browser_connection(studio)
    provider.refresh_tokens.clear()  # the user revoked Baton's access at the provider
    await _expired(provider)

    execution = await studio.run(await studio.publish(_calls(provider, connection["id"])))
    assert execution["status"] == "FAILED"
    assert "Reconnect" in execution["error"]
    assert "revoked" in execution["error"]
    assert provider.grants("refresh_token") == 1  # not retried: it cannot help
    assert provider.hits("/api/me") == []
    shown = await studio.client.get(f"{studio.base}/connections/{connection['id']}", headers=studio.headers)
    assert shown.json()["testStatus"] == "FAILED"


async def test_client_credentials_get_a_token_on_first_use_and_again_after_it_expires(
    studio: Studio, provider: OAuth2Server
) -> None:
    provider.expires_in = 3
    connection = await studio.connect(
        "http",
        {
            "type": "oauth2",
            "grant": "client_credentials",
            "tokenUrl": provider.base_url + "/token",
            "clientId": CLIENT_ID,
            "clientSecret": CLIENT_SECRET,
            "scopes": ["read"],
        },
    )
    workflow = await studio.publish(_calls(provider, connection)[:1])
    first = await studio.run(workflow)
    assert first["status"] == "SUCCESS", first["error"]
    assert provider.grants("client_credentials") == 1
    await _expired(provider)
    second = await studio.run(workflow)
    assert second["status"] == "SUCCESS", second["error"]
    assert provider.grants("client_credentials") == 2
    assert CLIENT_SECRET not in json.dumps([first, second])


async def test_a_service_account_signs_an_assertion_for_each_token(
    studio: Studio, provider: OAuth2Server
) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    provider.public_key = key.public_key()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    account = {
        "type": "service_account",
        "client_email": "robot@project.iam.gserviceaccount.com",
        "private_key_id": "k1",
        "private_key": pem,
        "token_uri": provider.base_url + "/token",
    }
    provider.expires_in = 3
    connection = await studio.connect(
        "http",
        {
            "type": "oauth2",
            "grant": "jwt_bearer",
            "provider": "google",
            "serviceAccount": account,
            "scopes": ["https://www.googleapis.com/auth/spreadsheets"],
        },
    )
    workflow = await studio.publish(_calls(provider, connection)[:1])
    assert (await studio.run(workflow))["status"] == "SUCCESS"
    await _expired(provider)
    execution = await studio.run(workflow)
    assert execution["status"] == "SUCCESS", execution["error"]
    assert provider.grants(JWT_BEARER) == 2
    assertion = parse_qs(provider.hits("/token")[0].body.decode())["assertion"][0]
    claims = jwt.decode(assertion, provider.public_key, algorithms=["RS256"], audience=account["token_uri"])
    assert claims["iss"] == account["client_email"]
    assert claims["scope"] == "https://www.googleapis.com/auth/spreadsheets"


def test_the_catalogue_ships_the_common_providers_and_an_operator_adds_one(tmp_path: Any) -> None:
    shipped = load()
    for provider_id in (
        "google", "microsoft", "slack", "github", "hubspot", "notion",
        "airtable", "salesforce", "quickbooks", "dropbox", "zoom",
    ):  # fmt: skip
        assert shipped[provider_id].token_url.startswith("https://"), provider_id
        assert shipped[provider_id].base_url
    extra = tmp_path / "providers.json"
    extra.write_text(json.dumps({"acme": {"name": "Acme", "tokenUrl": "https://id.acme.test/token"}}))
    catalogue = load(str(extra), {"zoom": {"name": "Zoom EU", "tokenUrl": "https://eu.zoom.test/token"}})
    assert catalogue["acme"].token_auth == "client_secret_post"
    assert catalogue["zoom"].name == "Zoom EU"
    assert catalogue["google"] == shipped["google"]


async def test_an_operator_added_provider_sends_its_client_with_basic_auth(
    studio: Studio, provider: OAuth2Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    added = {
        "acme": {"name": "Acme", "tokenUrl": provider.base_url + "/token", "tokenAuth": "client_secret_basic"}
    }
    monkeypatch.setenv("OAUTH_PROVIDERS", json.dumps(added))
    from_environment.cache_clear()
    try:
        connection = await studio.connect(
            "http",
            {
                "type": "oauth2",
                "grant": "client_credentials",
                "provider": "acme",
                "clientId": CLIENT_ID,
                "clientSecret": CLIENT_SECRET,
            },
        )
        execution = await studio.run(await studio.publish(_calls(provider, connection)[:1]))
    finally:
        from_environment.cache_clear()
    assert execution["status"] == "SUCCESS", execution["error"]
    sent = provider.hits("/token")[0]
    assert sent.headers["Authorization"].startswith("Basic ")
    assert CLIENT_SECRET not in sent.body.decode()


async def test_an_unknown_provider_is_refused_naming_the_known_ones(studio: Studio) -> None:
    answer = await studio.client.get(
        f"{studio.base}/connections/oauth/providers/nope/authorize", headers=studio.headers
    )
    assert answer.status_code == 404
    assert answer.json()["path"] == "provider"
    assert "google" in answer.json()["detail"]
    refused = await studio.client.post(
        f"{studio.base}/connections",
        headers=studio.headers,
        json={"integrationId": "http", "name": "x", "credentials": {"type": "oauth2", "grant": "jwt_bearer"}},
    )
    assert refused.status_code == 422
    assert "serviceAccount" in refused.text


async def test_a_connection_to_a_provider_without_a_client_fails_at_once_saying_so(
    studio: Studio, provider: OAuth2Server
) -> None:
    connection = await studio.connect(
        "http", {"type": "oauth2", "grant": "client_credentials", "provider": "zoom"}
    )
    execution = await studio.run(await studio.publish(_calls(provider, connection)[:1]))
    assert execution["status"] == "FAILED"
    assert "OAUTH_CLIENTS" in execution["error"]
    assert execution["steps"]["first"]["attempts"] == 1  # no retry can help
    assert provider.requests == []
