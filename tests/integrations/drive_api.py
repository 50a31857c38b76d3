"""A local stand-in for the Google Drive API v3 (https://developers.google.com/drive/api/reference/rest/v3)
on 127.0.0.1: files.list (a `'ID' in parents` / `mimeType = '...'` query, AND-ed; pageSize/pageToken),
files.get (metadata; `alt=media` the bytes), files.export (a Google Doc as text/plain or PDF bytes), and
the resumable upload (POST /upload/drive/v3/files?uploadType=resumable answers a session Location; PUT
the bytes there makes the file). Google's error shapes; it accepts the bearer tokens in `tokens`."""

from __future__ import annotations

import itertools
import re
from typing import Any

from tests.fakes import FakeService, bearer, body_of
from tests.http_server import Reply, Seen

TERM = re.compile(r"'([^']*)' in parents|mimeType = '([^']*)'")


def error(code: int, status: str, message: str) -> Reply:
    return Reply(code, {"error": {"code": code, "message": message, "status": status}})


class DriveAPI(FakeService):
    def __init__(self, tokens: set[str]) -> None:
        super().__init__()
        self.files: dict[str, dict[str, Any]] = {}
        self.contents: dict[str, bytes] = {}
        self.sessions: dict[str, dict[str, Any]] = {}
        ids = itertools.count(1)

        def authorized(handler: Any) -> Any:
            def wrapped(seen: Seen, match: re.Match[str]) -> Reply:
                if bearer(seen) not in tokens:
                    return error(401, "UNAUTHENTICATED", "Request had invalid authentication credentials.")
                return handler(seen, match)  # type: ignore[no-any-return]

            return wrapped

        def listing(seen: Seen, _: re.Match[str]) -> Reply:
            query = {k: v[-1] for k, v in seen.query.items()}
            found = list(self.files.values())
            for parent, mime in TERM.findall(query.get("q", "")):
                if parent:
                    found = [f for f in found if parent in f["parents"]]
                if mime:
                    found = [f for f in found if f["mimeType"] == mime]
            start = int(query.get("pageToken") or 0)
            size = int(query.get("pageSize") or 100)
            answer: dict[str, Any] = {"files": found[start : start + size]}
            if start + size < len(found):
                answer["nextPageToken"] = str(start + size)
            return Reply(200, answer)

        def get(seen: Seen, match: re.Match[str]) -> Reply:
            found = self.files.get(match.group(1))
            if found is None:
                return error(404, "NOT_FOUND", f"File not found: {match.group(1)}.")
            if seen.query.get("alt") == ["media"]:
                if found["mimeType"].startswith("application/vnd.google-apps."):
                    return error(
                        403, "PERMISSION_DENIED", "Only files with binary content can be downloaded."
                    )
                return Reply(200, self.contents[found["id"]], {"content-type": found["mimeType"]})
            return Reply(200, found)

        def export(seen: Seen, match: re.Match[str]) -> Reply:
            found = self.files.get(match.group(1))
            if found is None:
                return error(404, "NOT_FOUND", f"File not found: {match.group(1)}.")
            kind = seen.query["mimeType"][0]
            return Reply(200, b"%PDF-export of " + self.contents[found["id"]], {"content-type": kind})

        def start(seen: Seen, _: re.Match[str]) -> Reply:
            if seen.query.get("uploadType") != ["resumable"]:
                return error(400, "INVALID_ARGUMENT", "Unsupported upload type")
            session = f"s{next(ids)}"
            self.sessions[session] = {
                "metadata": body_of(seen),
                "type": seen.headers.get("X-Upload-Content-Type"),
                "length": int(seen.headers.get("X-Upload-Content-Length") or -1),
            }
            location = f"{self.base_url}/upload/drive/v3/files?uploadType=resumable&upload_id={session}"
            return Reply(200, b"", {"Location": location})

        def finish(seen: Seen, _: re.Match[str]) -> Reply:
            session = self.sessions.pop(seen.query["upload_id"][0], None)
            if session is None:
                return error(404, "NOT_FOUND", "No such upload session.")
            if len(seen.body) != session["length"]:
                return error(
                    400, "INVALID_ARGUMENT", "The upload's length differs from X-Upload-Content-Length."
                )
            made = self.add(
                session["metadata"]["name"], session["type"], seen.body, session["metadata"].get("parents")
            )
            return Reply(200, made)

        self.add_id = ids
        self.route("GET", "/drive/v3/files")(authorized(listing))
        self.route("GET", r"/drive/v3/files/([\w-]+)")(authorized(get))
        self.route("GET", r"/drive/v3/files/([\w-]+)/export")(authorized(export))
        self.route("POST", "/upload/drive/v3/files")(authorized(start))
        self.route("PUT", "/upload/drive/v3/files")(authorized(finish))

    def add(self, name: str, mime: str, content: bytes, parents: list[str] | None = None) -> dict[str, Any]:
        file_id = f"1Drive{next(self.add_id):05d}abcdef"
        made = {"id": file_id, "name": name, "mimeType": mime, "parents": parents or ["root"],
                "modifiedTime": "2026-12-08T03:05:00.000Z"}  # fmt: skip
        if not mime.startswith("application/vnd.google-apps."):
            made["size"] = str(len(content))
        self.files[file_id] = made
        self.contents[file_id] = content
        return made
