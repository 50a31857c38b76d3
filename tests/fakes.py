"""Local stand-ins for third-party APIs that speak their documented request and response shapes and keep
state (Slack Web API, Gmail API v1, GitHub REST, an OAuth2 token endpoint), on 127.0.0.1.

Each is a small routing HTTP server: handlers get the parsed request and answer a Reply; every request is
recorded with its arrival time so tests can check what the service saw (auth, idempotency keys, pacing).
"""

from __future__ import annotations

import base64
import itertools
import json
import re
import time
from collections.abc import Callable
from email import message_from_bytes, policy
from typing import Any
from urllib.parse import parse_qs

from tests.http_server import LocalServer, Reply, Seen

Handler = Callable[[Seen, re.Match[str]], Reply]


class FakeService(LocalServer):
    def __init__(self) -> None:
        self.routes: list[tuple[str, re.Pattern[str], Handler]] = []
        super().__init__()

    def route(self, method: str, pattern: str) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.routes.append((method, re.compile(pattern + "$"), handler))
            return handler

        return register

    def answer(self, seen: Seen) -> Reply:
        for method, pattern, handler in self.routes:
            match = pattern.match(seen.path)
            if match and method == seen.method:
                return handler(seen, match)
        return Reply(404, {"message": "Not Found"})


def bearer(seen: Seen) -> str | None:
    value = seen.headers.get("Authorization") or seen.headers.get("authorization") or ""
    return value.removeprefix("Bearer ") if value.startswith("Bearer ") else None


def body_of(seen: Seen) -> Any:
    return json.loads(seen.body) if seen.body else {}


class SlackAPI(FakeService):
    """https://api.slack.com/methods: chat.postMessage, chat.update, conversations.history, auth.test, and the
    upload flow (files.getUploadURLExternal, the upload URL, files.completeUploadExternal)."""

    def __init__(self, tokens: set[str]) -> None:
        super().__init__()
        self.tokens = tokens
        self.channels: dict[str, list[dict[str, Any]]] = {}
        clock = itertools.count(1)

        def authorized(handler: Callable[[Seen], dict[str, Any]]) -> Handler:
            def wrapped(seen: Seen, _: re.Match[str]) -> Reply:
                if bearer(seen) not in self.tokens:
                    return Reply(200, {"ok": False, "error": "invalid_auth"})
                return Reply(200, handler(seen))

            return wrapped

        def post(seen: Seen) -> dict[str, Any]:
            body = body_of(seen)
            channel = str(body.get("channel", "")).lstrip("#")
            if not channel or not body.get("text"):
                return {"ok": False, "error": "channel_not_found" if not channel else "no_text"}
            message = {
                "type": "message",
                "user": "U0BATON",
                "text": body["text"],
                "ts": f"{1700000000 + next(clock)}.000100",
            }
            self.channels.setdefault(channel, []).append(message)
            return {"ok": True, "channel": channel, "ts": message["ts"], "message": message}

        def update(seen: Seen) -> dict[str, Any]:
            body = body_of(seen)
            for message in self.channels.get(body.get("channel", ""), []):
                if message["ts"] == body.get("ts"):
                    message["text"] = body["text"]
                    return {"ok": True, "channel": body["channel"], "ts": body["ts"], "text": body["text"]}
            return {"ok": False, "error": "message_not_found"}

        def history(seen: Seen) -> dict[str, Any]:
            channel = seen.query.get("channel", [""])[0]
            oldest = float(seen.query.get("oldest", ["0"])[0])
            messages = [m for m in self.channels.get(channel, []) if float(m["ts"]) > oldest]
            return {"ok": True, "messages": list(reversed(messages)), "has_more": False}

        def upload_url(seen: Seen) -> dict[str, Any]:
            form = {k: v[0] for k, v in parse_qs(seen.body.decode()).items()}
            if not form.get("filename") or not form.get("length", "").isdigit():
                return {"ok": False, "error": "invalid_arguments"}
            file_id = f"F{next(clock):08d}"
            self.uploads[file_id] = {"name": form["filename"], "length": int(form["length"]), "bytes": None}
            return {"ok": True, "upload_url": f"{self.base_url}/upload/{file_id}", "file_id": file_id}

        def receive_upload(seen: Seen, match: re.Match[str]) -> Reply:
            upload = self.uploads.get(match.group(1))
            if upload is None:
                return Reply(404, "Not Found")
            upload["bytes"] = seen.body
            return Reply(200, f"OK - {len(seen.body)}")

        def complete(seen: Seen) -> dict[str, Any]:
            body = body_of(seen)
            shared = []
            for item in body.get("files") or []:
                upload = self.uploads.get(item.get("id", ""))
                if upload is None or upload["bytes"] is None or len(upload["bytes"]) != upload["length"]:
                    return {"ok": False, "error": "upload_not_found"}
                upload.update(title=item.get("title"), channel=body.get("channel_id"))
                upload["comment"] = body.get("initial_comment")
                shared.append({"id": item["id"], "name": upload["name"], "title": item.get("title")})
            return {"ok": True, "files": shared}

        self.uploads: dict[str, dict[str, Any]] = {}
        self.route("POST", "/api/files.getUploadURLExternal")(authorized(upload_url))
        self.route("POST", r"/upload/(F\d+)")(receive_upload)
        self.route("POST", "/api/files.completeUploadExternal")(authorized(complete))
        self.route("POST", "/api/chat.postMessage")(authorized(post))
        self.route("POST", "/api/chat.update")(authorized(update))
        self.route("GET", "/api/conversations.history")(authorized(history))
        self.route("POST", "/api/auth.test")(
            authorized(lambda _: {"ok": True, "team": "Baton", "user": "bot"})
        )

    @property
    def api_url(self) -> str:
        return self.base_url + "/api"


class GmailAPI(FakeService):
    """https://developers.google.com/gmail/api/reference/rest: messages.send/list/get, users.getProfile."""

    def __init__(self, tokens: set[str]) -> None:
        super().__init__()
        self.tokens = tokens
        self.sent: list[Any] = []
        self.inbox: list[dict[str, Any]] = []
        ids = itertools.count(1)

        def unauthenticated() -> Reply:
            return Reply(
                401,
                {
                    "error": {
                        "code": 401,
                        "message": "Request had invalid authentication credentials.",
                        "status": "UNAUTHENTICATED",
                    }
                },
            )

        def send(seen: Seen, _: re.Match[str]) -> Reply:
            if bearer(seen) not in self.tokens:
                return unauthenticated()
            raw = base64.urlsafe_b64decode(body_of(seen)["raw"])
            message = message_from_bytes(raw, policy=policy.default)
            self.sent.append(message)
            return Reply(200, {"id": f"sent{next(ids)}", "threadId": "t1", "labelIds": ["SENT"]})

        def listing(seen: Seen, _: re.Match[str]) -> Reply:
            if bearer(seen) not in self.tokens:
                return unauthenticated()
            query = seen.query.get("q", [""])[0]
            label = seen.query.get("labelIds", [None])[0]
            found = [
                m
                for m in self.inbox
                if (not label or label in m["labelIds"])
                and (not query.startswith("from:") or query[5:].split()[0] in m["from"])
            ]
            newest_first = sorted(found, key=lambda m: -m["internalDate"])
            return Reply(
                200,
                {
                    "messages": [{"id": m["id"], "threadId": m["id"]} for m in newest_first],
                    "resultSizeEstimate": len(found),
                },
            )

        def get(seen: Seen, match: re.Match[str]) -> Reply:
            if bearer(seen) not in self.tokens:
                return unauthenticated()
            message = next((m for m in self.inbox if m["id"] == match.group(1)), None)
            if message is None:
                return Reply(
                    404,
                    {
                        "error": {
                            "code": 404,
                            "message": "Requested entity was not found.",
                            "status": "NOT_FOUND",
                        }
                    },
                )
            headers = [
                {"name": "From", "value": message["from"]},
                {"name": "Subject", "value": message["subject"]},
            ]
            payload: dict[str, Any] = {"headers": headers}
            if seen.query.get("format") == ["full"] and message["attachments"]:
                text = {"mimeType": "text/plain", "filename": "", "body": {"size": 2, "data": "aGk"}}
                payload |= {"mimeType": "multipart/mixed", "parts": [text, *self._parts(message)]}
            return Reply(
                200,
                {
                    "id": message["id"],
                    "threadId": message["id"],
                    "labelIds": message["labelIds"],
                    "snippet": message["snippet"],
                    "internalDate": str(message["internalDate"]),
                    "payload": payload,
                },
            )

        def attachment(seen: Seen, match: re.Match[str]) -> Reply:
            if bearer(seen) not in self.tokens:
                return unauthenticated()
            message = next((m for m in self.inbox if m["id"] == match.group(1)), None)
            found = [a for a in (message or {}).get("attachments", []) if a["id"] == match.group(2)]
            if not found:
                return Reply(404, {"error": {"code": 404, "message": "Not Found", "status": "NOT_FOUND"}})
            data = base64.urlsafe_b64encode(found[0]["bytes"]).decode().rstrip("=")
            return Reply(200, {"size": len(found[0]["bytes"]), "data": data})

        def profile(seen: Seen, _: re.Match[str]) -> Reply:
            if bearer(seen) not in self.tokens:
                return unauthenticated()
            return Reply(200, {"emailAddress": "ada@example.com", "messagesTotal": len(self.inbox)})

        self.route("POST", "/gmail/v1/users/me/messages/send")(send)
        self.route("GET", "/gmail/v1/users/me/messages")(listing)
        self.route("GET", "/gmail/v1/users/me/messages/([A-Za-z0-9]+)")(get)
        self.route("GET", "/gmail/v1/users/me/profile")(profile)
        self.route("GET", "/gmail/v1/users/me/messages/([A-Za-z0-9]+)/attachments/([A-Za-z0-9_-]+)")(
            attachment
        )

    @staticmethod
    def _parts(message: dict[str, Any]) -> list[dict[str, Any]]:
        return [
            {
                "mimeType": a["type"],
                "filename": a["name"],
                "body": {"attachmentId": a["id"], "size": len(a["bytes"])},
            }
            for a in message["attachments"]
        ]

    def receive(
        self,
        sender: str,
        subject: str,
        label: str = "INBOX",
        attachments: tuple[tuple[str, str, bytes], ...] = (),
    ) -> str:
        with self.lock:
            message_id = f"in{len(self.inbox) + 1}"
            self.inbox.append(
                {
                    "id": message_id,
                    "from": sender,
                    "subject": subject,
                    "snippet": subject[:20],
                    "labelIds": [label],
                    "internalDate": 1_700_000_000_000 + len(self.inbox),
                    "attachments": [
                        {"id": f"att-{message_id}-{n}", "name": name, "type": kind, "bytes": data}
                        for n, (name, kind, data) in enumerate(attachments)
                    ],
                }
            )
            return message_id


class GitHubAPI(FakeService):
    """https://docs.github.com/en/rest/issues: issues create/list, comments create, GET /user."""

    def __init__(self, tokens: set[str]) -> None:
        super().__init__()
        self.tokens = tokens
        self.issues: dict[str, list[dict[str, Any]]] = {}
        self.comments: list[dict[str, Any]] = []
        self.remaining = 4999
        ids = itertools.count(1000)

        def headers() -> dict[str, str]:
            return {
                "x-ratelimit-limit": "5000",
                "x-ratelimit-remaining": str(self.remaining),
                "x-ratelimit-reset": str(int(time.time()) + 3600),
            }

        def authorized(handler: Handler) -> Handler:
            def wrapped(seen: Seen, match: re.Match[str]) -> Reply:
                if bearer(seen) not in self.tokens:
                    return Reply(
                        401,
                        {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"},
                    )
                self.remaining -= 1
                reply = handler(seen, match)
                return Reply(reply.status, reply.body, {**headers(), **reply.headers})

            return wrapped

        def create(seen: Seen, match: re.Match[str]) -> Reply:
            body = body_of(seen)
            if not body.get("title"):
                return Reply(
                    422,
                    {
                        "message": "Validation Failed",
                        "errors": [{"resource": "Issue", "field": "title", "code": "missing_field"}],
                    },
                )
            repo = f"{match.group(1)}/{match.group(2)}"
            issues = self.issues.setdefault(repo, [])
            issue = {
                "id": next(ids),
                "number": len(issues) + 1,
                "title": body["title"],
                "body": body.get("body"),
                "state": "open",
                "labels": [{"name": n} for n in body.get("labels", [])],
                "html_url": f"https://github.com/{repo}/issues/{len(issues) + 1}",
                "user": {"login": "octocat"},
                "created_at": f"2026-11-25T10:{len(issues):02d}:00Z",
            }
            issues.append(issue)
            return Reply(201, issue)

        def listing(_: Seen, match: re.Match[str]) -> Reply:
            issues = self.issues.get(f"{match.group(1)}/{match.group(2)}", [])
            return Reply(200, sorted(issues, key=lambda i: i["created_at"], reverse=True))

        def comment(seen: Seen, match: re.Match[str]) -> Reply:
            repo = f"{match.group(1)}/{match.group(2)}"
            number = int(match.group(3))
            if not any(i["number"] == number for i in self.issues.get(repo, [])):
                return Reply(404, {"message": "Not Found"})
            made = {
                "id": next(ids),
                "body": body_of(seen)["body"],
                "html_url": f"https://github.com/{repo}/issues/{number}#c",
            }
            self.comments.append(made)
            return Reply(201, made)

        self.route("POST", r"/repos/([^/]+)/([^/]+)/issues")(authorized(create))
        self.route("GET", r"/repos/([^/]+)/([^/]+)/issues")(authorized(listing))
        self.route("POST", r"/repos/([^/]+)/([^/]+)/issues/(\d+)/comments")(authorized(comment))
        self.route("GET", "/user")(authorized(lambda *_: Reply(200, {"login": "octocat"})))

    def open_issue(self, repo: str, title: str) -> None:
        """An issue opened by someone else (on github.com), for the trigger."""
        owner, name = repo.split("/")
        token = next(iter(self.tokens))
        seen = Seen(
            "POST",
            f"/repos/{owner}/{name}/issues",
            {},
            {"Authorization": f"Bearer {token}"},
            json.dumps({"title": title}).encode(),
            time.monotonic(),
        )
        with self.lock:
            self.answer(seen)


class OAuthServer(FakeService):
    """An RFC 6749 token endpoint: authorization_code and refresh_token grants; refresh tokens rotate (each
    works once, as Slack's and many others' do), so refreshing twice by mistake shows as invalid_grant."""

    def __init__(self, expires_in: int = 3600) -> None:
        super().__init__()
        self.expires_in = expires_in
        self.valid_access: set[str] = set()
        self.refresh_tokens: set[str] = set()
        self.refreshes = 0
        counter = itertools.count(1)

        def issue() -> dict[str, Any]:
            n = next(counter)
            access, refresh = f"access-{n}", f"refresh-{n}"
            self.valid_access.add(access)
            self.refresh_tokens.add(refresh)
            return {
                "access_token": access,
                "refresh_token": refresh,
                "expires_in": self.expires_in,
                "token_type": "Bearer",
            }

        @self.route("POST", "/token")
        def token(seen: Seen, _: re.Match[str]) -> Reply:
            form = {k: v[0] for k, v in parse_qs(seen.body.decode()).items()}
            if form.get("client_id") != "client" or form.get("client_secret") != "secret":
                return Reply(401, {"error": "invalid_client"})
            if form.get("grant_type") == "authorization_code":
                return (
                    Reply(200, issue())
                    if form.get("code") == "good-code"
                    else Reply(400, {"error": "invalid_grant"})
                )
            if form.get("grant_type") == "refresh_token":
                if form.get("refresh_token") not in self.refresh_tokens:
                    return Reply(
                        400, {"error": "invalid_grant", "error_description": "refresh token is invalid"}
                    )
                self.refresh_tokens.discard(form["refresh_token"])
                self.refreshes += 1
                time.sleep(0.05)  # a real endpoint takes a moment: concurrent steps overlap it
                return Reply(200, issue())
            return Reply(400, {"error": "unsupported_grant_type"})
