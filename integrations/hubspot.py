"""HubSpot (CRM API v3): create, update and search contacts.

An OAuth2 connection through HubSpot (the `hubspot` entry of core/oauth_providers.json, with the contacts
scopes; OAUTH_CLIENTS["hubspot"] holds the client) or a private app's access token (`pat-...`), as a
bearer. HubSpot answers errors as `{"status": "error", "message": "...", "category": "..."}`: 401 means
reconnect, 429 is retried after its Retry-After, 409 CONFLICT (a contact with that email exists) becomes an
update of that contact when `update_if_exists` asks for it, other 4xx (VALIDATION_ERROR: an unknown
property) are the user's to fix. https://developers.hubspot.com/docs/api/crm/contacts
"""

from __future__ import annotations

import re
from typing import Any, Literal
from urllib.parse import quote

from pydantic import BaseModel, Field

from core.models import AuthType
from integrations.context import ActionContext, ActionError
from integrations.sdk import Integration, OAuth2Credentials, RateLimit, provider_oauth2

hubspot = Integration(
    id="hubspot",
    name="HubSpot",
    description="Create, update and search HubSpot contacts",
    icon="/static/icons/hubspot.svg",
    category="crm",
    auth_type=AuthType.OAUTH2,
    is_popular=True,
    docs_url="https://developers.hubspot.com/docs/api/crm/contacts",
    website_url="https://www.hubspot.com",
    oauth2=provider_oauth2("hubspot", ("oauth", "crm.objects.contacts.read", "crm.objects.contacts.write")),
    base_url="https://api.hubapi.com",
    # 100 requests every 10 seconds for a private app (110 for an OAuth app).
    rate_limit=RateLimit(100, 10),
    example="""A sign-up kept as a contact (updated when the email is known), then the contacts of a company:

```json
{"id": "contact", "type": "action", "action": "hubspot.create_contact",
 "input": {"properties": {"email": "{{ trigger.email }}", "firstname": "{{ trigger.first_name }}",
                          "lifecyclestage": "lead"}, "update_if_exists": true}}
```

```json
{"id": "colleagues", "type": "action", "action": "hubspot.search_contacts",
 "input": {"filters": [{"propertyName": "company", "operator": "EQ", "value": "{{ trigger.company }}"}],
           "properties": ["email", "firstname"], "max_pages": 3}}
```
""",
)


hubspot.credentials_model = OAuth2Credentials

CONTACTS = "crm/v3/objects/contacts"
EXISTING_ID = re.compile(r"Existing ID: (\d+)")


async def call(ctx: ActionContext, method: str, path: str, **kwargs: Any) -> Any:
    return (await ctx.request(method, path, headers=ctx.bearer(), **kwargs)).json()


async def test_connection(ctx: ActionContext) -> None:
    await call(ctx, "GET", CONTACTS, params={"limit": 1})


hubspot.test = test_connection


class Contact(BaseModel):
    id: str
    properties: dict[str, Any] = Field(default_factory=dict)
    createdAt: str | None = None  # noqa: N815
    updatedAt: str | None = None  # noqa: N815
    archived: bool = False


class ContactOutput(Contact):
    created: bool = Field(default=True, description="False when an existing contact was updated instead")


class CreateContactInput(BaseModel):
    properties: dict[str, Any] = Field(
        min_length=1, description="Property internal names -> values (email, firstname, lastname, phone...)"
    )
    update_if_exists: bool = Field(
        default=False, description="When a contact with this email exists, update it instead of failing"
    )


@hubspot.action(
    "create_contact", name="Create Contact", description="Create a contact (or update it by email)"
)
async def create_contact(data: CreateContactInput, ctx: ActionContext) -> ContactOutput:
    try:
        made = await call(ctx, "POST", CONTACTS, json={"properties": data.properties})
    except ActionError as exc:
        existing = EXISTING_ID.search(exc.message) if exc.type == "HTTP409" else None
        if not data.update_if_exists or existing is None:
            raise
        updated = await call(
            ctx, "PATCH", f"{CONTACTS}/{existing.group(1)}", json={"properties": data.properties}
        )
        return ContactOutput.model_validate({**updated, "created": False})
    return ContactOutput.model_validate(made)


class UpdateContactInput(BaseModel):
    contact: str = Field(
        min_length=1, max_length=254, description="The contact's id, or its email with by_email"
    )
    by_email: bool = Field(default=False, description="`contact` is the contact's email (idProperty=email)")
    properties: dict[str, Any] = Field(min_length=1, description="The properties to change (others are kept)")


@hubspot.action("update_contact", name="Update Contact", description="Change properties of a contact")
async def update_contact(data: UpdateContactInput, ctx: ActionContext) -> Contact:
    if not data.by_email and not data.contact.isdigit():
        raise ActionError(
            "input.contact: a contact id is digits (or set by_email)", type="InvalidInput", retryable=False
        )
    params = {"idProperty": "email"} if data.by_email else {}
    path = f"{CONTACTS}/{quote(data.contact, safe='@')}"
    return Contact.model_validate(
        await call(ctx, "PATCH", path, params=params, json={"properties": data.properties})
    )


Operator = Literal[
    "EQ", "NEQ", "LT", "LTE", "GT", "GTE", "BETWEEN", "IN", "NOT_IN", "HAS_PROPERTY", "NOT_HAS_PROPERTY",
    "CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN",
]  # fmt: skip


class Filter(BaseModel):
    propertyName: str  # noqa: N815
    operator: Operator
    value: Any = None
    values: list[Any] | None = None
    highValue: Any = None  # noqa: N815


class SearchContactsInput(BaseModel):
    filters: list[Filter] = Field(default_factory=list, max_length=6, description="All must match (AND)")
    query: str | None = Field(
        default=None, description="Text searched in the default properties (name, email...)"
    )
    properties: list[str] = Field(
        default_factory=list, description="The properties to return (default: a few)"
    )
    sorts: list[dict[str, str]] = Field(
        default_factory=list, description='e.g. [{"propertyName": "createdate", "direction": "DESCENDING"}]'
    )
    limit: int = Field(default=100, ge=1, le=200, description="Contacts per request")
    after: str | None = Field(default=None, description="Continue from a previous search's `after`")
    max_pages: int = Field(default=1, ge=1, le=50, description="Follow paging for up to this many requests")


class SearchOutput(BaseModel):
    total: int = Field(description="How many contacts match in all")
    results: list[Contact]
    after: str | None = Field(
        default=None, description="Where the next search would continue; none at the end"
    )


@hubspot.action(
    "search_contacts",
    name="Search Contacts",
    description="Contacts matching filters, following pages",
    side_effects=False,
)
async def search_contacts(data: SearchContactsInput, ctx: ActionContext) -> SearchOutput:
    body: dict[str, Any] = {"limit": data.limit, "properties": data.properties, "sorts": data.sorts}
    if data.filters:
        body["filterGroups"] = [{"filters": [f.model_dump(exclude_none=True) for f in data.filters]}]
    if data.query:
        body["query"] = data.query
    total = 0

    async def fetch(after: str | None) -> tuple[list[Any], str | None]:
        nonlocal total
        answer = await call(
            ctx, "POST", f"{CONTACTS}/search", json={**body, **({"after": after} if after else {})}
        )
        total = int(answer.get("total") or 0)
        found = [Contact.model_validate(c) for c in answer.get("results") or []]
        return found, ((answer.get("paging") or {}).get("next") or {}).get("after")

    results, after = await ctx.pages(fetch, data.after, data.max_pages, "contacts")
    return SearchOutput(total=total, results=results, after=after)
