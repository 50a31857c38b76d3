"""A local stand-in for Microsoft Graph v1.0 (https://learn.microsoft.com/graph/api/user-sendmail,
.../channel-post-messages, .../chatmessage-post-replies) on 127.0.0.1: POST /v1.0/me/sendMail (202, no
body; ErrorInvalidRecipients for an address of the `bounces` domain), POST teams/{id}/channels/{id}/messages
and .../messages/{id}/replies (201 chatMessage), with Graph's error shapes. It accepts the bearer tokens in
`tokens` (an OAuth server's set, shared); `throttled`: the next N calls answer 429 with Retry-After."""

from __future__ import annotations

import itertools
import re
from typing import Any
from urllib.parse import unquote

from tests.fakes import FakeService, bearer, body_of
from tests.http_server import Reply, Seen


def error(status: int, code: str, message: str) -> Reply:
    return Reply(status, {"error": {"code": code, "message": message}})


class GraphAPI(FakeService):
    def __init__(self, tokens: set[str], channels: set[tuple[str, str]]) -> None:
        super().__init__()
        self.mails: list[dict[str, Any]] = []
        self.posts: dict[tuple[str, str], list[dict[str, Any]]] = {c: [] for c in channels}
        self.throttled = 0
        ids = itertools.count(1_700_000_000_000)

        def authorized(handler: Any) -> Any:
            def wrapped(seen: Seen, match: re.Match[str]) -> Reply:
                if bearer(seen) not in tokens:
                    return error(
                        401, "InvalidAuthenticationToken", "Access token has expired or is not yet valid."
                    )
                if self.throttled > 0:
                    self.throttled -= 1
                    reply = error(429, "TooManyRequests", "Too many requests")
                    reply.headers["Retry-After"] = "1"
                    return reply
                return handler(seen, match)  # type: ignore[no-any-return]

            return wrapped

        def send_mail(seen: Seen, _: re.Match[str]) -> Reply:
            body = body_of(seen)
            message = body["message"]
            everyone = [r["emailAddress"]["address"] for r in message.get("toRecipients", [])]
            if any(address.endswith("@bounces.example") for address in everyone):
                return error(400, "ErrorInvalidRecipients", "At least one recipient is not valid.")
            self.mails.append(body)
            return Reply(202, b"")

        def post(seen: Seen, match: re.Match[str]) -> Reply:
            channel = (match.group(1), unquote(match.group(2)))
            if channel not in self.posts:
                return error(404, "NotFound", "Team or channel not found.")
            posted = {"id": str(next(ids)), "createdDateTime": "2026-12-08T03:15:00Z",
                      "webUrl": f"https://teams.microsoft.com/l/message/{channel[1]}/1",
                      "replyToId": match.group(3), **body_of(seen)}  # fmt: skip
            self.posts[channel].append(posted)
            return Reply(201, posted)

        self.route("POST", "/v1.0/me/sendMail")(authorized(send_mail))
        channel = r"/v1.0/teams/([0-9a-f-]+)/channels/([^/]+)/messages"
        self.route("POST", channel + "()")(authorized(post))
        self.route("POST", channel + r"/(\d+)/replies")(authorized(post))
