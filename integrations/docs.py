"""Writes `docs/integrations.md` from the declarations (`baton docs`), so the page never drifts from code.

Fields come from the same JSON Schemas the catalogue endpoints serve (pydantic's `model_json_schema()`).
"""

from __future__ import annotations

from typing import Any

from integrations.catalogue import builtin_integrations
from integrations.openapi import DOCS_SECTION as OPENAPI_SECTION
from integrations.sdk import Integration

HEADER = """# Integrations

Generated from the code by `baton docs` (do not edit by hand; `tests/integrations/test_docs.py` fails when
this page and the declarations differ). How to add one: [adding-an-integration.md](adding-an-integration.md).

Every action runs as a Temporal activity named after it (`slack.send_message`). Connections hold the
credentials listed under each integration, encrypted at rest; any of them may carry `baseUrl` to reach a
self-hosted or enterprise variant (or set `INTEGRATION_BASE_URLS`). A connection may also set its own
`rateLimit` (`{"limit": N, "windowSeconds": S}`), which lowers the integration's: steps over it wait for
the next window instead of failing.
"""


def _type(schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        return str(schema["$ref"]).rsplit("/", 1)[-1]
    if "anyOf" in schema:
        return " or ".join(_type(s) for s in schema["anyOf"] if s.get("type") != "null") or "null"
    if "enum" in schema:
        return " or ".join(f"`{v}`" for v in schema["enum"])
    if "const" in schema:
        return f"`{schema['const']}`"
    kind = schema.get("type", "any")
    if kind == "array":
        return f"list of {_type(schema.get('items', {}))}"
    if (
        kind == "object"
        and "additionalProperties" in schema
        and isinstance(schema["additionalProperties"], dict)
    ):
        return f"object of {_type(schema['additionalProperties'])}"
    return str(kind)


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def fields_table(schema: dict[str, Any]) -> list[str]:
    properties: dict[str, Any] = schema.get("properties", {})
    if not properties:
        return ["No fields."]
    required = set(schema.get("required", []))
    lines = ["| field | type | required | default | description |", "|---|---|---|---|---|"]
    for name, field in properties.items():
        default = f"`{field['default']}`" if "default" in field and field["default"] is not None else ""
        lines.append(
            f"| `{name}` | {_cell(_type(field))} | {'yes' if name in required else ''} | {_cell(default)} "
            f"| {_cell(field.get('description', ''))} |"
        )
    return lines


def integration_section(integration: Integration) -> list[str]:
    lines = [f"## {integration.name} (`{integration.id}`)", "", integration.description + ".", ""]
    facts = [
        f"auth: `{integration.auth_type.value}`",
        f"category: {integration.category}",
    ]
    if integration.is_popular:
        facts.append("popular")
    if integration.base_url:
        facts.append(f"API: {integration.base_url}")
    if integration.rate_limit:
        limit = integration.rate_limit
        facts.append(f"rate limit: {limit.limit} calls per {limit.window_seconds} s per connection")
    if integration.docs_url and integration.docs_url.startswith("http"):
        facts.append(f"[service docs]({integration.docs_url})")
    lines += ["; ".join(facts) + ".", ""]
    if integration.oauth2:
        scopes = ", ".join(f"`{s}`" for s in integration.oauth2.scopes)
        lines += [
            f"OAuth2: authorize at {integration.oauth2.authorize_url}, tokens from "
            f"{integration.oauth2.token_url}; scopes {scopes}. Tokens refresh before they expire.",
            "",
        ]
    if integration.example:
        lines += [integration.example.strip(), ""]
    if integration.credentials_model is not None:
        lines += [
            "**Connection credentials**",
            "",
            *fields_table(integration.credentials_model.model_json_schema()),
            "",
        ]
    for trigger in integration.triggers.values():
        interval = (
            f", polls every {trigger.polling_interval} s by default" if trigger.polling_interval else ""
        )
        lines += [
            f"### Trigger `{trigger.id}`: {trigger.name}",
            "",
            f"{trigger.description} ({trigger.trigger_type.value}{interval}).",
            "",
            *fields_table(trigger.config_schema()),
            "",
        ]
    for action in integration.actions.values():
        lines += [f"### Action `{action.id}`: {action.name}", "", action.description + ".", ""]
        if not action.side_effects and not action.interpreted:
            lines += ["Reads only: a retry simply runs it again.", ""]
        lines += [
            "Input:",
            "",
            *fields_table(action.input_schema()),
            "",
            "Output:",
            "",
            *fields_table(action.output_schema()),
            "",
        ]
    return lines


def render() -> str:
    lines = [HEADER, "| integration | auth | triggers | actions |", "|---|---|---|---|"]
    for integration in builtin_integrations():
        triggers = ", ".join(f"`{t.id}`" for t in integration.triggers.values())
        actions = ", ".join(f"`{a.id}`" for a in integration.actions.values())
        lines.append(f"| {integration.name} | {integration.auth_type.value} | {triggers} | {actions} |")
    lines.append("")
    for integration in builtin_integrations():
        lines += integration_section(integration)
    lines.append(OPENAPI_SECTION)
    return "\n".join(lines).rstrip() + "\n"
