"""A local stand-in for the Notion API (https://developers.notion.com/reference) on 127.0.0.1, keeping
databases, pages and their blocks: POST /v1/pages, POST /v1/databases/{id}/query (a property `equals`
filter, page_size/start_cursor pagination), PATCH /v1/blocks/{id}/children, GET /v1/users/me. It refuses
calls without `Notion-Version` as Notion does; `limited`: the next N calls answer 429 with Retry-After."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from tests.fakes import FakeService, bearer, body_of
from tests.http_server import Reply, Seen


def error(status: int, code: str, message: str) -> Reply:
    return Reply(status, {"object": "error", "status": status, "code": code, "message": message})


def plain(value: dict[str, Any]) -> Any:
    """A property value as the text or number a filter compares."""
    kind = next(k for k in value if k not in {"id", "type"})
    inner = value[kind]
    if isinstance(inner, list):
        return "".join(part.get("text", {}).get("content", "") for part in inner)
    if isinstance(inner, dict):
        return inner.get("name")
    return inner


def same_id(a: str, b: str) -> bool:
    return a.replace("-", "") == b.replace("-", "")


class NotionAPI(FakeService):
    def __init__(self, token: str, databases: set[str]) -> None:
        super().__init__()
        self.databases: dict[str, list[dict[str, Any]]] = {d: [] for d in databases}
        self.blocks: dict[str, list[dict[str, Any]]] = {}
        self.limited = 0

        def checked(handler: Callable[..., Reply]) -> Callable[..., Reply]:
            def wrapped(seen: Seen, *match: Any) -> Reply:
                if bearer(seen) != token:
                    return error(401, "unauthorized", "API token is invalid.")
                if not seen.headers.get("Notion-Version"):
                    return error(400, "missing_version", "Notion-Version header failed validation.")
                if self.limited > 0:
                    self.limited -= 1
                    reply = error(429, "rate_limited", "You have been rate limited.")
                    reply.headers["Retry-After"] = "1"
                    return reply
                return handler(seen, *match)

            return wrapped

        def database(database_id: str) -> list[dict[str, Any]] | None:
            return next((rows for d, rows in self.databases.items() if same_id(d, database_id)), None)

        def not_found(what: str) -> Reply:
            return error(404, "object_not_found", f"Could not find {what}. Make sure it is shared.")

        def blocks(children: list[dict[str, Any]]) -> list[dict[str, Any]]:
            return [
                {**child, "object": "block", "id": str(uuid.uuid4()), "has_children": False}
                for child in children
            ]

        def create(seen: Seen, _: Any) -> Reply:
            body = body_of(seen)
            parent = body.get("parent") or {}
            page_id = str(uuid.uuid4())
            page = {
                "object": "page",
                "id": page_id,
                "created_time": "2026-12-08T02:56:00.000Z",
                "parent": parent,
                "properties": body.get("properties", {}),
                "url": f"https://www.notion.so/{page_id.replace('-', '')}",
            }
            if "database_id" in parent:
                rows = database(parent["database_id"])
                if rows is None:
                    return not_found(f"database with ID: {parent['database_id']}")
                if not any("title" in v for v in page["properties"].values()):
                    return error(400, "validation_error", "body.properties: a title property is required.")
                rows.append(page)
            self.blocks[page_id] = blocks(body.get("children", []))
            return Reply(200, page)

        def query(seen: Seen, match: Any) -> Reply:
            rows = database(match.group(1))
            if rows is None:
                return not_found(f"database with ID: {match.group(1)}")
            body = body_of(seen)
            found = list(rows)
            if flt := body.get("filter"):
                kind = next(k for k in flt if k != "property")
                wanted = flt[kind]["equals"]
                found = [
                    r for r in found if plain(r["properties"].get(flt["property"], {"x": None})) == wanted
                ]
            start = int(body.get("start_cursor") or 0)
            size = int(body.get("page_size") or 100)
            more = start + size < len(found)
            return Reply(
                200,
                {
                    "object": "list",
                    "results": found[start : start + size],
                    "has_more": more,
                    "next_cursor": str(start + size) if more else None,
                },
            )

        def append(seen: Seen, match: Any) -> Reply:
            block = next((b for b in self.blocks if same_id(b, match.group(1))), None)
            if block is None:
                return not_found(f"block with ID: {match.group(1)}")
            added = blocks(body_of(seen)["children"])
            self.blocks[block].extend(added)
            return Reply(200, {"object": "list", "results": added, "has_more": False, "next_cursor": None})

        self.route("POST", "/v1/pages")(checked(create))
        self.route("POST", r"/v1/databases/([0-9a-f-]+)/query")(checked(query))
        self.route("PATCH", r"/v1/blocks/([0-9a-f-]+)/children")(checked(append))
        self.route("GET", "/v1/users/me")(checked(lambda *_: Reply(200, {"object": "user", "type": "bot"})))
