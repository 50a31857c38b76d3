"""The committed OpenAPI document (console/openapi.json, from which the console's build generates its
TypeScript types) is the one the app describes."""

from __future__ import annotations

from api.openapi_document import DOCUMENT, described, text
from core.settings import Settings


def test_the_committed_openapi_document_is_what_the_app_describes() -> None:
    wanted = text(described())
    assert DOCUMENT.exists(), "run `python -m api.openapi_document` and commit console/openapi.json"
    stale = "console/openapi.json is stale: run `python -m api.openapi_document`"
    assert DOCUMENT.read_text() == wanted, stale


def test_the_document_does_not_depend_on_the_settings() -> None:
    other = Settings(_env_file=None, environment="test", public_url="https://baton.example.com")
    assert text(described(other)) == text(described())
