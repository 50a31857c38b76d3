"""A local stand-in for the Google Sheets API v4 values endpoints
(https://developers.google.com/sheets/api/reference/rest/v4/spreadsheets.values) on 127.0.0.1: one
spreadsheet of named sheets (grids of cells); values.get, values.append (after the last row with data in
the range's columns) and values.update, by A1 ranges (`Sheet!A1:C3`, `'My sheet'!A:C`, `Sheet`), with
Google's error shapes. It accepts the access tokens in `tokens` (an OAuth server's set, shared)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote

from tests.fakes import FakeService, bearer, body_of
from tests.http_server import Reply, Seen

CELL = re.compile(r"^([A-Z]*)(\d*)$")


def error(code: int, status: str, message: str) -> Reply:
    return Reply(code, {"error": {"code": code, "message": message, "status": status}})


def column(letters: str) -> int:
    index = 0
    for letter in letters:
        index = index * 26 + ord(letter) - 64
    return index - 1


def letters(index: int) -> str:
    name = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        name = chr(65 + rest) + name
    return name


class SheetsAPI(FakeService):
    def __init__(self, tokens: set[str], spreadsheet: str, sheets: dict[str, list[list[Any]]]) -> None:
        super().__init__()
        self.sheets = sheets

        def parse(a1: str) -> tuple[str, int, int, int, int] | None:
            """sheet, first row, first column, last row, last column (0-based, inclusive; big when open)."""
            sheet, _, cells = a1.partition("!")
            sheet = sheet.strip("'").replace("''", "'")
            if sheet not in self.sheets:
                return None
            start, _, end = (cells or "A1:ZZ100000").partition(":")
            first, last = CELL.match(start), CELL.match(end or start)
            if not first or not last:
                return None
            row0 = int(first.group(2) or 1) - 1
            col0 = column(first.group(1) or "A")
            row1 = int(last.group(2) or 100000) - 1
            col1 = column(last.group(1) or "ZZ")
            return sheet, row0, col0, row1, col1

        def name(sheet: str, row0: int, col0: int, row1: int, col1: int) -> str:
            quoted = f"'{sheet}'" if " " in sheet else sheet
            return f"{quoted}!{letters(col0)}{row0 + 1}:{letters(col1)}{row1 + 1}"

        def write(sheet: str, row0: int, col0: int, values: list[list[Any]]) -> dict[str, Any]:
            grid = self.sheets[sheet]
            for r, row in enumerate(values):
                while len(grid) <= row0 + r:
                    grid.append([])
                line = grid[row0 + r]
                for c, value in enumerate(row):
                    while len(line) <= col0 + c:
                        line.append("")
                    line[col0 + c] = str(value) if value is not None else ""
            width = max(len(row) for row in values)
            return {
                "spreadsheetId": spreadsheet,
                "updatedRange": name(sheet, row0, col0, row0 + len(values) - 1, col0 + width - 1),
                "updatedRows": len(values),
                "updatedColumns": width,
                "updatedCells": sum(len(row) for row in values),
            }

        def values(seen: Seen, match: re.Match[str]) -> Reply:
            if bearer(seen) not in tokens:
                return error(401, "UNAUTHENTICATED", "Request had invalid authentication credentials.")
            if match.group(1) != spreadsheet:
                return error(404, "NOT_FOUND", "Requested entity was not found.")
            a1, action = unquote(match.group(2)), match.group(3)
            found = parse(a1)
            if found is None:
                return error(400, "INVALID_ARGUMENT", f"Unable to parse range: {a1}")
            sheet, row0, col0, row1, col1 = found
            grid = self.sheets[sheet]
            if seen.method == "GET":
                rows = [row[col0 : col1 + 1] for row in grid[row0 : row1 + 1]]
                while rows and not any(rows[-1]):
                    rows.pop()
                answer: dict[str, Any] = {"range": name(sheet, row0, col0, min(row1, 999), min(col1, 25)),
                                          "majorDimension": "ROWS"}  # fmt: skip
                if rows:
                    answer["values"] = rows
                return Reply(200, answer)
            body = body_of(seen)
            if not seen.query.get("valueInputOption"):
                return error(400, "INVALID_ARGUMENT", "'valueInputOption' is required but not specified")
            if action == ":append":
                last = max((i for i, row in enumerate(grid) if any(row[col0 : col1 + 1])), default=row0 - 1)
                updates = write(sheet, max(last + 1, row0), col0, body["values"])
                return Reply(200, {"spreadsheetId": spreadsheet, "tableRange": a1, "updates": updates})
            return Reply(200, write(sheet, row0, col0, body["values"]))

        self.route("GET", r"/v4/spreadsheets/([^/]+)/values/([^/:]+)()")(values)
        self.route("PUT", r"/v4/spreadsheets/([^/]+)/values/([^/:]+)()")(values)
        self.route("POST", r"/v4/spreadsheets/([^/]+)/values/([^/:]+)(:append)")(values)
