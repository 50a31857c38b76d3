"""A local stand-in for HubSpot's CRM v3 contacts API (https://developers.hubspot.com/docs/api/crm/contacts)
on 127.0.0.1: create (409 CONFLICT "Existing ID: N" for a known email), update by id or by email
(idProperty=email), search (EQ/CONTAINS_TOKEN filters AND-ed, limit/after paging), list; HubSpot's error
shapes. It accepts the bearer tokens in `tokens` (an OAuth server's set, shared)."""

from __future__ import annotations

import itertools
import re
from typing import Any
from urllib.parse import unquote

from tests.fakes import FakeService, bearer, body_of
from tests.http_server import Reply, Seen

KNOWN = {"email", "firstname", "lastname", "company", "phone", "lifecyclestage"}


def error(status: int, category: str, message: str) -> Reply:
    return Reply(
        status, {"status": "error", "message": message, "correlationId": "c0ffee", "category": category}
    )


class HubSpotAPI(FakeService):
    def __init__(self, tokens: set[str]) -> None:
        super().__init__()
        self.contacts: dict[str, dict[str, Any]] = {}
        ids = itertools.count(101)

        def authorized(handler: Any) -> Any:
            def wrapped(seen: Seen, match: re.Match[str]) -> Reply:
                if bearer(seen) not in tokens:
                    return error(401, "INVALID_AUTHENTICATION", "Authentication credentials not found.")
                return handler(seen, match)  # type: ignore[no-any-return]

            return wrapped

        def unknown(properties: dict[str, Any]) -> Reply | None:
            bad = sorted(set(properties) - KNOWN)
            if bad:
                return error(
                    400, "VALIDATION_ERROR", f'Property values were not valid: "{bad[0]}" does not exist'
                )
            return None

        def by_email(email: str) -> dict[str, Any] | None:
            return next((c for c in self.contacts.values() if c["properties"].get("email") == email), None)

        def create(seen: Seen, _: re.Match[str]) -> Reply:
            properties = body_of(seen)["properties"]
            if refused := unknown(properties):
                return refused
            if (existing := by_email(properties.get("email"))) is not None:
                return error(409, "CONFLICT", f"Contact already exists. Existing ID: {existing['id']}")
            contact_id = str(next(ids))
            at = "2026-12-08T03:10:00Z"
            made = {"id": contact_id, "properties": {**properties, "hs_object_id": contact_id},
                    "createdAt": at, "updatedAt": at, "archived": False}  # fmt: skip
            self.contacts[contact_id] = made
            return Reply(201, made)

        def update(seen: Seen, match: re.Match[str]) -> Reply:
            key = unquote(match.group(1))
            found = by_email(key) if seen.query.get("idProperty") == ["email"] else self.contacts.get(key)
            if found is None:
                return error(404, "OBJECT_NOT_FOUND", "resource not found")
            properties = body_of(seen)["properties"]
            if refused := unknown(properties):
                return refused
            found["properties"].update(properties)
            found["updatedAt"] = "2026-12-08T03:11:00Z"
            return Reply(200, found)

        def search(seen: Seen, _: re.Match[str]) -> Reply:
            body = body_of(seen)
            found = list(self.contacts.values())
            for group in body.get("filterGroups", []):
                for f in group["filters"]:
                    if f["operator"] == "EQ":
                        found = [c for c in found if c["properties"].get(f["propertyName"]) == f["value"]]
                    elif f["operator"] == "CONTAINS_TOKEN":
                        found = [
                            c for c in found if f["value"] in str(c["properties"].get(f["propertyName"], ""))
                        ]
            start, size = int(body.get("after") or 0), int(body.get("limit") or 10)
            wanted = body.get("properties") or ["email", "firstname", "lastname"]
            page = [
                {**c, "properties": {k: v for k, v in c["properties"].items() if k in wanted}}
                for c in found[start : start + size]
            ]
            answer: dict[str, Any] = {"total": len(found), "results": page}
            if start + size < len(found):
                answer["paging"] = {"next": {"after": str(start + size)}}
            return Reply(200, answer)

        self.route("POST", "/crm/v3/objects/contacts")(authorized(create))
        self.route("PATCH", r"/crm/v3/objects/contacts/([^/]+)")(authorized(update))
        self.route("POST", "/crm/v3/objects/contacts/search")(authorized(search))
        self.route("GET", "/crm/v3/objects/contacts")(authorized(lambda *_: Reply(200, {"results": []})))
