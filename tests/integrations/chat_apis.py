"""Local stand-ins for chat services' APIs on 127.0.0.1, speaking their documented shapes and keeping
state: the Telegram Bot API (https://core.telegram.org/bots/api) and Discord's REST API
(https://discord.com/developers/docs/resources/message, .../resources/webhook)."""

from __future__ import annotations

import itertools
import json
import re
import time
from typing import Any

from tests.fakes import FakeService, body_of
from tests.http_server import Reply, Seen
from tests.integrations.test_http_files import multipart_parts


def form_fields(seen: Seen) -> dict[str, Any]:
    """A multipart/form-data body's parts: text parts as text, file parts as (filename, type, bytes)."""
    content_type = seen.headers.get("Content-Type") or seen.headers.get("content-type") or ""
    fields: dict[str, Any] = {}
    for name, part in multipart_parts(content_type, seen.body).items():
        payload = part.get_payload(decode=True) or b""
        filename = part.get_filename()
        fields[name] = (filename, part.get_content_type(), payload) if filename else payload.decode()
    return fields


class TelegramAPI(FakeService):
    """POST /bot<token>/<method>: getMe, sendMessage, sendDocument (multipart), getUpdates; `flood` makes
    the next N sendMessage calls answer 429 with `parameters.retry_after`."""

    def __init__(self, tokens: set[str], chats: set[int]) -> None:
        super().__init__()
        self.tokens = tokens
        self.chats: dict[int, list[dict[str, Any]]] = {chat: [] for chat in chats}
        self.updates: list[dict[str, Any]] = []
        self.flood = 0
        ids = itertools.count(1)

        def failed(code: int, description: str, **parameters: Any) -> Reply:
            body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
            if parameters:
                body["parameters"] = parameters
            return Reply(code, body)

        def sent(chat_id: Any, **fields: Any) -> Reply:
            try:
                chat = int(chat_id)
            except (TypeError, ValueError):
                return failed(400, "Bad Request: chat not found")
            if chat not in self.chats:
                return failed(400, "Bad Request: chat not found")
            message = {
                "message_id": next(ids),
                "date": int(time.time()),
                "chat": {"id": chat, "type": "group"},
            }
            message.update(fields)
            self.chats[chat].append(message)
            return Reply(200, {"ok": True, "result": message})

        def send_message(seen: Seen) -> Reply:
            if self.flood > 0:
                self.flood -= 1
                return failed(429, "Too Many Requests: retry after 1", retry_after=1)
            body = body_of(seen)
            if not body.get("text"):
                return failed(400, "Bad Request: message text is empty")
            extra = {k: body[k] for k in ("reply_parameters", "parse_mode") if k in body}
            return sent(body.get("chat_id"), text=body["text"], **extra)

        def send_document(seen: Seen) -> Reply:
            fields = form_fields(seen)
            filename, content_type, data = fields["document"]
            document = {"file_id": f"BQAC{next(ids)}", "file_name": filename, "mime_type": content_type,
                        "file_size": len(data), "bytes": data.hex()}  # fmt: skip
            extra = {"caption": fields["caption"]} if "caption" in fields else {}
            if "reply_parameters" in fields:
                extra["reply_parameters"] = json.loads(fields["reply_parameters"])
            return sent(fields.get("chat_id"), document=document, **extra)

        def get_updates(seen: Seen) -> Reply:
            body = body_of(seen)
            offset = int(body.get("offset") or 0)
            allowed = body.get("allowed_updates")
            with self.lock:
                if offset:  # Telegram forgets what the offset confirms
                    self.updates = [u for u in self.updates if u["update_id"] >= offset]
                found = [u for u in self.updates if not allowed or any(k in u for k in allowed)]
            return Reply(200, {"ok": True, "result": found[: int(body.get("limit") or 100)]})

        methods = {
            "getMe": lambda _: Reply(
                200, {"ok": True, "result": {"id": 1, "is_bot": True, "username": "baton_bot"}}
            ),
            "sendMessage": send_message,
            "sendDocument": send_document,
            "getUpdates": get_updates,
        }

        def dispatch(seen: Seen, match: re.Match[str]) -> Reply:
            if match.group(1) not in self.tokens:
                return failed(401, "Unauthorized")
            method = methods.get(match.group(2))
            return method(seen) if method else failed(404, "Not Found")

        self.route("POST", r"/bot([^/]+)/(\w+)")(dispatch)

    def receive(self, update_id: int, kind: str, chat: int, text: str) -> None:
        """An update someone's message made (for the trigger)."""
        message = {"message_id": update_id, "chat": {"id": chat}, "date": int(time.time()), "text": text}
        with self.lock:
            self.updates.append({"update_id": update_id, kind: message})


class DiscordAPI(FakeService):
    """REST v10 at /api/v10: POST channels/{id}/messages (a bot's; `nonce` + `enforce_nonce` answer the
    message already made with that nonce), GET users/@me; and webhooks at /api/webhooks/{id}/{token}
    (POST, `?wait=true` answers the message; GET answers the webhook). `limited`: the next N webhook posts
    answer 429 with Retry-After; `lose_answers`: the next N bot posts are made but answered 502."""

    def __init__(self, bot_token: str, webhooks: dict[str, str], channels: set[str]) -> None:
        super().__init__()
        self.channels: dict[str, list[dict[str, Any]]] = {channel: [] for channel in channels}
        self.limited = 0
        self.lose_answers = 0
        self.nonces: dict[str, dict[str, Any]] = {}
        ids = itertools.count(1_100_000_000_000_000_000)

        def error(status: int, code: int, message: str) -> Reply:
            return Reply(status, {"code": code, "message": message})

        def made(channel: str, body: dict[str, Any], author: dict[str, Any]) -> Reply:
            if not body.get("content") and not body.get("embeds"):
                return error(400, 50006, "Cannot send an empty message")
            message = {
                "id": str(next(ids)),
                "channel_id": channel,
                "content": body.get("content", ""),
                "embeds": body.get("embeds", []),
                "author": author,
                "timestamp": "2026-12-08T02:50:00.000000+00:00",
            }
            if "message_reference" in body:
                message["message_reference"] = body["message_reference"]
            self.channels[channel].append(message)
            return Reply(200, message)

        def bot_post(seen: Seen, match: re.Match[str]) -> Reply:
            if seen.headers.get("Authorization") != f"Bot {bot_token}":
                return error(401, 0, "401: Unauthorized")
            channel, body = match.group(1), body_of(seen)
            if channel not in self.channels:
                return error(404, 10003, "Unknown Channel")
            nonce = body.get("nonce")
            if body.get("enforce_nonce") and nonce in self.nonces:
                return Reply(200, self.nonces[nonce])
            reply = made(channel, body, {"id": "1", "username": "baton", "bot": True})
            if nonce and reply.status == 200:
                self.nonces[nonce] = reply.body
            if self.lose_answers > 0:
                self.lose_answers -= 1
                return error(502, 0, "Bad Gateway")
            return reply

        def webhook(seen: Seen, match: re.Match[str]) -> Reply:
            channel = webhooks.get(f"{match.group(1)}/{match.group(2)}")
            if channel is None:
                return error(401, 50027, "Invalid Webhook Token")
            if seen.method == "GET":
                return Reply(200, {"id": match.group(1), "type": 1, "channel_id": channel})
            if self.limited > 0:
                self.limited -= 1
                return Reply(
                    429,
                    {"message": "You are being rate limited.", "retry_after": 1.0, "global": False},
                    {"Retry-After": "1", "X-RateLimit-Scope": "shared"},
                )
            body = body_of(seen)
            reply = made(channel, body, {"id": match.group(1), "username": body.get("username", "hook")})
            return reply if seen.query.get("wait") == ["true"] or reply.status != 200 else Reply(204, b"")

        self.route("POST", r"/api/v10/channels/(\d+)/messages")(bot_post)
        self.route("GET", r"/api/v10/users/@me")(
            lambda seen, _: (
                Reply(200, {"id": "1", "username": "baton", "bot": True})
                if seen.headers.get("Authorization") == f"Bot {bot_token}"
                else error(401, 0, "401: Unauthorized")
            )
        )
        self.route("POST", r"/api/webhooks/(\d+)/([\w-]+)")(webhook)
        self.route("GET", r"/api/webhooks/(\d+)/([\w-]+)")(webhook)

    def webhook_url(self, hook: str) -> str:
        return f"{self.base_url}/api/webhooks/{hook}"
