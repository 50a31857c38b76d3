"""Writes the API's OpenAPI document to console/openapi.json: `python -m api.openapi_document` after a
route or schema changes. The console's build generates its TypeScript types (src/api/schema.d.ts) from that
file, so building the console needs no Python and the generated types are not committed; a test
(tests/api/test_openapi_document.py) fails while the committed file differs from what the app describes."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from api.app import create_app
from core.settings import Settings

DOCUMENT = Path(__file__).parent.parent / "console" / "openapi.json"


def described(settings: Settings | None = None) -> dict[str, Any]:
    """The app's OpenAPI document (the same for any settings: it describes routes and schemas only)."""
    return create_app(settings or Settings(_env_file=None)).openapi()


def text(document: dict[str, Any]) -> str:
    """The document as it is committed: sorted keys, one-space indent, so a change reads as a small diff."""
    return json.dumps(document, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def main() -> None:
    wanted = text(described())
    if not DOCUMENT.exists() or DOCUMENT.read_text() != wanted:
        DOCUMENT.write_text(wanted)
        sys.stdout.write(f"wrote {DOCUMENT}\n")


if __name__ == "__main__":
    main()
