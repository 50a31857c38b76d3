"""The console's sign-in: a session cookie the page cannot read, a CSRF token it must send back with every
request that changes something, sign-out that ends the session, and bearer tokens unaffected."""

from __future__ import annotations

import httpx

from core.settings import Settings
from tests.api.conftest import PASSWORD, api_client_for, sign_up

SESSION = "/api/v1/auth/session"


def _set_cookies(answer: httpx.Response) -> dict[str, str]:
    """Each Set-Cookie header by cookie name (the whole header, flags included, lower-cased)."""
    return {header.split("=", 1)[0]: header.lower() for header in answer.headers.get_list("set-cookie")}


async def _signed_in(client: httpx.AsyncClient, email: str) -> str:
    """Signs in through the console's endpoint; the client keeps the cookies. Returns the CSRF token."""
    answer = await client.post(SESSION, json={"email": email, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return str(answer.json()["csrfToken"])


async def test_sign_in_sets_an_httponly_lax_session_cookie_and_a_readable_csrf_cookie(
    api_client: httpx.AsyncClient,
) -> None:
    await sign_up(api_client, "cookie@example.com")
    answer = await api_client.post(SESSION, json={"email": "cookie@example.com", "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["user"]["email"] == "cookie@example.com"
    cookies = _set_cookies(answer)
    session, csrf = cookies["baton_session"], cookies["baton_csrf"]
    assert "httponly" in session
    assert "samesite=lax" in session
    assert "path=/api/" in session
    assert "secure" not in session  # plain http (baton dev on 127.0.0.1) must still sign in
    assert "httponly" not in csrf  # the page reads it to send it back
    assert f"baton_csrf={body['csrfToken'].lower()}" in csrf
    assert "baton_session" not in answer.text  # the session token itself never reaches the page
    assert (await api_client.get("/api/v1/me")).json()["email"] == "cookie@example.com"


async def test_the_session_cookie_is_secure_over_https(settings: Settings) -> None:
    async with api_client_for(settings) as client:
        client.base_url = httpx.URL("https://baton.test")
        await sign_up(client, "tls@example.com")
        answer = await client.post(SESSION, json={"email": "tls@example.com", "password": PASSWORD})
        cookies = _set_cookies(answer)
        assert "secure" in cookies["baton_session"]
        assert "secure" in cookies["baton_csrf"]


async def test_a_cookie_request_that_changes_something_needs_the_csrf_header(
    api_client: httpx.AsyncClient,
) -> None:
    await sign_up(api_client, "csrf@example.com")
    csrf = await _signed_in(api_client, "csrf@example.com")
    refused = await api_client.post("/api/v1/workspaces", json={"name": "Forged", "slug": "forged"})
    assert refused.status_code == 403, refused.text
    assert "X-CSRF-Token" in refused.json()["detail"]
    wrong = await api_client.post(
        "/api/v1/workspaces", json={"name": "Forged", "slug": "forged"}, headers={"X-CSRF-Token": csrf[:-2]}
    )
    assert wrong.status_code == 403
    made = await api_client.post(
        "/api/v1/workspaces", json={"name": "Mine", "slug": "mine"}, headers={"X-CSRF-Token": csrf}
    )
    assert made.status_code == 201, made.text
    listed = await api_client.get("/api/v1/workspaces")  # reading needs no CSRF token
    assert [w["slug"] for w in listed.json()["items"]] == ["mine"]


async def test_bearer_tokens_need_no_csrf_even_beside_a_session_cookie(api_client: httpx.AsyncClient) -> None:
    bearer = await sign_up(api_client, "bearer@example.com")
    await _signed_in(api_client, "bearer@example.com")  # the cookie is sent too
    made = await api_client.post("/api/v1/workspaces", json={"name": "Tok", "slug": "tok"}, headers=bearer)
    assert made.status_code == 201, made.text
    api_client.cookies.clear()
    again = await api_client.post("/api/v1/workspaces", json={"name": "Tok2", "slug": "tok2"}, headers=bearer)
    assert again.status_code == 201, again.text


async def test_sign_out_clears_the_cookies_and_ends_the_session(api_client: httpx.AsyncClient) -> None:
    await sign_up(api_client, "bye@example.com")
    csrf = await _signed_in(api_client, "bye@example.com")
    stolen = api_client.cookies.get("baton_session")
    assert stolen
    forced = await api_client.delete(SESSION)  # another site cannot sign the user out
    assert forced.status_code == 403
    out = await api_client.delete(SESSION, headers={"X-CSRF-Token": csrf})
    assert out.status_code == 204, out.text
    cookies = _set_cookies(out)
    assert "max-age=0" in cookies["baton_session"]
    assert "max-age=0" in cookies["baton_csrf"]
    assert (await api_client.get("/api/v1/me")).status_code == 401
    api_client.cookies.set("baton_session", stolen, domain="baton.test", path="/api/")  # a copy kept
    replayed = await api_client.get("/api/v1/me")
    assert replayed.status_code == 401
    assert "signed out" in replayed.json()["detail"]


async def test_console_sign_in_shares_the_login_throttle(api_client: httpx.AsyncClient) -> None:
    await sign_up(api_client, "guess@example.com")
    answers = [
        (
            await api_client.post(SESSION, json={"email": "guess@example.com", "password": f"wrong {i}"})
        ).status_code
        for i in range(7)
    ]
    assert answers[:5] == [401] * 5
    assert 429 in answers[5:]
    assert "baton_session" not in api_client.cookies
