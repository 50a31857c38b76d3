"""Services described by OpenAPI 3 documents, imported as integrations: the document read into a service
description (document, schemas), the integration built from it (service), the import and the loading of
imported services when a process starts (imports)."""

# The section docs/integrations.md ends with (integrations.docs); its JSON blocks are checked by
# tests/integrations/test_openapi_import.py.
DOCS_SECTION = """## Services described by OpenAPI

Any HTTP API with an OpenAPI 3.0 or 3.1 document becomes an integration: each operation an action named
after its `operationId` in snake_case (`findPets` -> `find_pets`), its input one field per path, query and
header parameter plus `body` for the request body (JSON, a form, or text sent as is), its output
`{status, headers, body}` with `body` described by the first 2xx response. `$ref`s inside the document are
inlined (recursive types stop at a depth of 8; a document expanding past 50,000 schema nodes is refused).
Instance admins import, and import again to update (actions gone from the document are deactivated):

    baton integrations import petstore.yaml --id pets --base-url https://pets.example.com/api

or `POST /api/v1/integrations/import` with `{"document": "<the YAML or JSON text>", "id": "pets",
"baseUrl": "https://pets.example.com/api"}`. A bad document is a 422 naming where it is wrong
(`"path": "components.schemas.Pet.properties.id.type"`). The service is then in `GET /integrations` (category
`imported`); API processes learn of it within 30 seconds (definitions may then name its actions), workers
run its actions once restarted after the import; calls go through the egress guard like `http.request`.

Security schemes map to connection kinds: an apiKey to `{"type": "header"}` or `{"type": "query"}` (the
name defaults to the scheme's, so `{"type": "header", "value": "..."}` is enough), http bearer and basic to
`bearer` and `basic`, oauth2 and OpenID Connect to an OAuth2 connection (`{"type": "oauth2", ...}` as for
`http`; an authorization-code flow also enables the integration's browser flow with `OAUTH_CLIENTS`). The
base URL is the document's first server, then the import's `baseUrl`, `INTEGRATION_BASE_URLS`, and a
connection's `baseUrl`, each overriding the one before.

```json
{"id": "new_pet", "type": "action", "action": "pets.add_pet", "connectionId": "…",
 "input": {"body": {"name": "{{ trigger.body.name }}", "tag": "dog"}}}
```
```json
{"id": "dogs", "type": "action", "action": "pets.find_pets", "input": {"tags": ["dog"], "limit": 10}}
```
"""
