"""A local stand-in for Airtable's Web API (https://airtable.com/developers/web/api) on 127.0.0.1: tables
with a fixed set of fields; GET /v0/{base}/{table} (filterByFormula of `{Field} = 'value'` terms, AND-ed,
sort, fields[], pageSize/offset pagination), POST (create), PATCH (update by id, or performUpsert).
`limited`: the next N calls answer 429 as Airtable does, without a Retry-After."""

from __future__ import annotations

import itertools
import re
from typing import Any
from urllib.parse import unquote

from tests.fakes import FakeService, bearer, body_of
from tests.http_server import Reply, Seen

TERM = re.compile(r"\{([^}]+)\}\s*=\s*'([^']*)'")


def error(status: int, kind: str, message: str) -> Reply:
    return Reply(status, {"error": {"type": kind, "message": message}})


def matcher(formula: str) -> Any:
    """A predicate for the formulas this server understands, or None for any other."""
    terms = TERM.findall(formula)
    rest = TERM.sub("", formula).replace("AND(", "").replace(")", "").replace(",", "").strip()
    if not terms or rest:
        return None
    return lambda fields: all(str(fields.get(name, "")) == value for name, value in terms)


class AirtableAPI(FakeService):
    def __init__(self, token: str, base: str, tables: dict[str, set[str]]) -> None:
        super().__init__()
        self.tables: dict[str, list[dict[str, Any]]] = {name: [] for name in tables}
        self.limited = 0
        ids = itertools.count(10_000_000_000_000)

        def record(fields: dict[str, Any]) -> dict[str, Any]:
            return {"id": f"rec{next(ids)}", "createdTime": "2026-12-08T03:00:00.000Z", "fields": fields}

        self.record = record

        def table(handler: Any) -> Any:
            def wrapped(seen: Seen, match: re.Match[str]) -> Reply:
                if bearer(seen) != token:
                    return error(401, "AUTHENTICATION_REQUIRED", "Authentication required")
                if self.limited > 0:
                    self.limited -= 1
                    return Reply(
                        429, {"errors": [{"error": "RATE_LIMIT_REACHED", "message": "Rate limit exceeded"}]}
                    )
                name = unquote(match.group(2))
                if match.group(1) != base or name not in self.tables:
                    return error(
                        403,
                        "INVALID_PERMISSIONS_OR_MODEL_NOT_FOUND",
                        "Invalid permissions, or the requested model was not found.",
                    )
                return handler(seen, name)  # type: ignore[no-any-return]

            return wrapped

        def unknown(records: list[dict[str, Any]], name: str) -> Reply | None:
            for item in records:
                for field in item.get("fields", {}):
                    if field not in tables[name]:
                        return error(422, "UNKNOWN_FIELD_NAME", f'Unknown field name: "{field}"')
            return None

        def listing(seen: Seen, name: str) -> Reply:
            query = {k: v[-1] for k, v in seen.query.items()}
            rows = list(self.tables[name])
            if formula := query.get("filterByFormula"):
                keep = matcher(formula)
                if keep is None:
                    return error(
                        422, "INVALID_FILTER_BY_FORMULA", "The formula for filtering records is invalid"
                    )
                rows = [r for r in rows if keep(r["fields"])]
            if "sort[0][field]" in query:
                key = query["sort[0][field]"]
                rows.sort(
                    key=lambda r: str(r["fields"].get(key, "")),
                    reverse=query.get("sort[0][direction]") == "desc",
                )
            if "maxRecords" in query:
                rows = rows[: int(query["maxRecords"])]
            if wanted := seen.query.get("fields[]"):
                rows = [{**r, "fields": {k: v for k, v in r["fields"].items() if k in wanted}} for r in rows]
            start = int(query.get("offset", "itr0").removeprefix("itr"))
            size = int(query.get("pageSize", 100))
            answer: dict[str, Any] = {"records": rows[start : start + size]}
            if start + size < len(rows):
                answer["offset"] = f"itr{start + size}"
            return Reply(200, answer)

        def create(seen: Seen, name: str) -> Reply:
            body = body_of(seen)
            if refused := unknown(body["records"], name):
                return refused
            made = [record(r["fields"]) for r in body["records"]]
            self.tables[name].extend(made)
            return Reply(200, {"records": made})

        def update(seen: Seen, name: str) -> Reply:
            body = body_of(seen)
            if refused := unknown(body["records"], name):
                return refused
            merge_on = (body.get("performUpsert") or {}).get("fieldsToMergeOn")
            changed, created = [], []
            for item in body["records"]:
                if merge_on:
                    key = [item["fields"].get(f) for f in merge_on]
                    found = next(
                        (r for r in self.tables[name] if [r["fields"].get(f) for f in merge_on] == key), None
                    )
                else:
                    found = next((r for r in self.tables[name] if r["id"] == item.get("id")), None)
                    if found is None:
                        return error(404, "MODEL_ID_NOT_FOUND", f"Record {item.get('id')} not found")
                if found is None:
                    found = record({})
                    self.tables[name].append(found)
                    created.append(found["id"])
                found["fields"].update(item["fields"])
                changed.append(found)
            answer: dict[str, Any] = {"records": changed}
            if merge_on:
                answer |= {
                    "createdRecords": created,
                    "updatedRecords": [r["id"] for r in changed if r["id"] not in created],
                }
            return Reply(200, answer)

        path = r"/v0/([^/]+)/([^/]+)"
        self.route("GET", path)(table(listing))
        self.route("POST", path)(table(create))
        self.route("PATCH", path)(table(update))
