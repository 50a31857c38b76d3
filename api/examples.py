"""Example requests and answers for the OpenAPI document (`/docs`, `/redoc`): one story, the README's
first workflow, told through the endpoints a newcomer calls first. tests/api/test_docs.py checks each
example against its operation's schema, so they cannot drift from the code."""

from __future__ import annotations

from datetime import date
from typing import Any

from api.example_objects import (
    API_KEY,
    APPROVAL,
    AT,
    BATCH,
    CONNECTION,
    EVENTS,
    EX,
    EXECUTION,
    EXECUTION_ID,
    EXPORT,
    HOOKED,
    INTEGRATION,
    LIMIT,
    LOG_ENTRY,
    MEMBER,
    PASSWORD,
    RUN_STARTED,
    RUNNING,
    STEP_EXECUTION,
    STORED,
    TEMPLATE,
    TIMELINE_ITEM,
    TOKENS,
    USER,
    USER_ID,
    V1,
    VERSION,
    WEBHOOK,
    WF,
    WORKFLOW,
    WORKFLOW_ID,
    WORKFLOW_IN,
    WORKSPACE,
    WORKSPACE_ID,
    WS,
    page,
)
from core.analytics import report

# "METHOD path" -> (request body or None, success status, answer or None)
EXAMPLES: dict[str, tuple[Any, int, Any]] = {
    f"POST {V1}/auth/register": (
        {"email": "ada@example.com", "password": PASSWORD, "firstName": "Ada", "lastName": "Lovelace"},
        201,
        USER,
    ),
    f"POST {V1}/auth/login": ({"email": "ada@example.com", "password": PASSWORD}, 200, TOKENS),
    f"POST {V1}/auth/refresh": ({"refreshToken": "eyJhbGciOiJIUzI1NiJ9.…"}, 200, TOKENS),
    f"POST {V1}/auth/session": (
        {"email": "ada@example.com", "password": PASSWORD},
        200,
        {"user": USER, "csrfToken": "Qm9vdHN0cmFwcGVkLWNzcmYtdG9rZW4tZXhhbXBsZQ", "expiresIn": 43200},
    ),
    f"GET {V1}/me": (None, 200, USER),
    f"POST {V1}/me/api-keys": (
        {"name": "laptop", "scopes": API_KEY["scopes"]},
        201,
        {**API_KEY, "key": "bat_4kq8Jm2v…"},
    ),
    f"GET {V1}/me/api-keys": (None, 200, page(API_KEY)),
    f"POST {V1}/workspaces": ({"name": "Acme"}, 201, WORKSPACE),
    f"GET {V1}/workspaces": (None, 200, page(WORKSPACE)),
    f"GET {WS}": (None, 200, WORKSPACE),
    f"PATCH {WS}": ({"name": "Acme Corp"}, 200, {**WORKSPACE, "name": "Acme Corp"}),
    f"POST {WS}/workflows": (
        WORKFLOW_IN,
        201,
        {**WORKFLOW, "isActive": False, "isDraft": True, "version": 0, "publishedAt": None},
    ),
    f"GET {WS}/workflows": (None, 200, page(WORKFLOW)),
    f"GET {WF}": (None, 200, WORKFLOW),
    f"PATCH {WF}": (
        {"description": "Answers each signup", "concurrency": LIMIT},
        200,
        {**WORKFLOW, "description": "Answers each signup", "concurrency": LIMIT},
    ),
    f"POST {WF}/publish": ({"changeDescription": "First version"}, 201, VERSION),
    f"GET {WF}/versions": (None, 200, page(VERSION)),
    f"GET {WF}/versions/{{version}}": (None, 200, VERSION),
    f"POST {WF}/run": (
        {"payload": {"body": {"email": "ada@example.com"}}},
        202,
        {
            **EXECUTION,
            "status": "PENDING",
            "result": None,
            "completedAt": None,
            "duration": None,
            "startedAt": None,
        },
    ),
    f"GET {WS}/executions": (None, 200, page(EXECUTION)),
    f"GET {EX}": (None, 200, {**EXECUTION, "stepExecutions": [STEP_EXECUTION]}),
    f"POST {WF}/steps/{{step_id}}/test": (
        {"context": {"trigger": {"body": {"email": "ada@example.com"}}}},
        202,
        {**EXECUTION, "stepExecutions": [STEP_EXECUTION]},
    ),
    f"POST {EX}/steps/{{step_id}}/decision": (
        {"approved": True, "comment": "Looks right"}, 200, {"stepId": "ok", "approved": True, "by": USER_ID}
    ),
    "GET /healthz": (None, 200, {"status": "ok"}),
    "GET /readyz": (None, 200, {"status": "ready", "checks": {"postgres": "ok", "redis": "ok",
                                                                "temporal": "ok", "logStore": "ok"}}),
    f"POST {V1}/auth/verify-email": (
        {"token": "eyJhbGciOiJIUzI1NiJ9.…"}, 200, {**USER, "emailVerified": True}
    ),
    f"GET {WS}/members": (None, 200, page(MEMBER)),
    f"POST {WS}/members": ({"email": "grace@example.com", "role": "ADMIN"}, 201, MEMBER),
    f"PATCH {WS}/members/{{user_id}}": ({"role": "VIEWER"}, 200, {**MEMBER, "role": "VIEWER"}),
    f"GET {WS}/audit-logs": (None, 200, page({
        "id": "6a8c0e2a-4c6e-4a8c-9e2a-4c6e8a0c2e47", "userId": USER_ID, "workspaceId": WORKSPACE_ID,
        "action": "workflow.published", "entityType": "workflow", "entityId": WORKFLOW_ID,
        "changes": None, "metadata": {"version": 1}, "ipAddress": "127.0.0.1", "userAgent": "curl/8.5.0",
        "createdAt": AT})),
    f"GET {V1}/integrations": (None, 200, page(INTEGRATION)),
    f"GET {V1}/integrations/{{integration_id}}": (None, 200, {**INTEGRATION, "triggers": [], "actions": [{
        "id": "slack.send_message", "name": "Send a message", "description": "Post a message to a channel",
        "inputSchema": {"type": "object", "required": ["channel", "text"],
                        "properties": {"channel": {"type": "string"}, "text": {"type": "string"}}},
        "outputSchema": {"type": "object", "properties": {"ts": {"type": "string"}}}, "isActive": True}]}),
    f"POST {V1}/integrations/import": (
        {"document": "openapi: 3.0.0\ninfo: {title: Petstore, version: 1.0.0}\n"
                     "servers: [{url: https://pets.example.com/api}]\npaths:\n  /pets:\n    get:\n"
                     "      operationId: findPets\n      responses: {'200': {description: ok}}\n",
         "id": "pets"},
        201,
        {"id": "pets", "name": "Petstore", "description": "Petstore", "icon": "/static/icons/http.svg",
         "category": "imported", "authType": "NONE", "isActive": True, "isPopular": False,
         "docsUrl": "docs/integrations.md#services-described-by-openapi",
         "websiteUrl": "docs/integrations.md",
         "triggers": [], "actions": [{
             "id": "pets.find_pets", "name": "GET /pets", "description": "GET /pets",
             "inputSchema": {"type": "object", "properties": {}, "additionalProperties": False},
             "outputSchema": {"type": "object", "required": ["status", "headers"], "properties": {
                 "status": {"type": "integer"}, "headers": {"type": "object"}, "body": {}}},
             "isActive": True}]},
    ),
    f"POST {WS}/mcp": (
        {"jsonrpc": "2.0", "id": 2, "method": "tools/call",
         "params": {"name": "create_invoice", "arguments": {"customer": "ACME", "amount": 100}}},
        200,
        {"jsonrpc": "2.0", "id": 2, "result": {
            "content": [{"type": "text", "text": '{"status": "SUCCESS", "result": {"total": 120}}'}],
            "structuredContent": {"executionId": EXECUTION_ID, "status": "SUCCESS", "result": {"total": 120}},
            "isError": False}},
    ),
    f"GET {V1}/templates": (None, 200, page(TEMPLATE)),
    f"GET {V1}/templates/{{template_id}}": (None, 200, TEMPLATE),
    f"POST {WS}/templates/{{template_id}}/use": (None, 201, {**WORKFLOW, "name": TEMPLATE["name"],
                                                              "isActive": False, "isDraft": True}),
    f"POST {WS}/connections": ({"integrationId": "slack", "name": "Team Slack",
                                "credentials": {"accessToken": "xoxb-…"}}, 201, CONNECTION),
    f"GET {WS}/connections": (None, 200, page(CONNECTION)),
    f"GET {WS}/connections/{{connection_id}}": (None, 200, CONNECTION),
    f"PATCH {WS}/connections/{{connection_id}}": (
        {"name": "Ops Slack"}, 200, {**CONNECTION, "name": "Ops Slack"}),
    f"POST {WS}/connections/{{connection_id}}/test": (None, 200, {
        "ok": True, "testStatus": "SUCCESS", "detail": "Slack answered auth.test for workspace Acme",
        "failure": None}),
    f"POST {WS}/workflows/import": ({"workflow": EXPORT, "connectionMap": {}}, 201,
                                    {**WORKFLOW, "isActive": False, "isDraft": True}),
    f"GET {WF}/export": (None, 200, EXPORT),
    f"POST {WF}/duplicate": (None, 201, {**WORKFLOW, "name": "Copy of Greet new signups", "isActive": False}),
    f"POST {WF}/activate": (None, 200, WORKFLOW),
    f"POST {WF}/deactivate": (None, 200, {**WORKFLOW, "isActive": False}),
    f"POST {WF}/versions/{{version}}/restore": (None, 201, {**VERSION, "version": 2,
                                                              "changeDescription": "Restored version 1"}),
    f"GET {EX}/timeline": (None, 200, {"executionId": EXECUTION_ID, "status": "SUCCESS", "live": None,
                                       "items": [TIMELINE_ITEM]}),
    f"POST {EX}/cancel": (None, 202, {**EXECUTION, "status": "CANCELLED"}),
    f"POST {EX}/pause": ({"reason": "the CRM is being migrated"}, 202, RUNNING),
    f"POST {EX}/unpause": (
        {"stepInput": {"url": "https://crm.example.com/v2/contacts", "method": "POST"}}, 202, RUNNING
    ),
    f"POST {EX}/retry": (None, 202, RUN_STARTED),
    f"POST {EX}/resume": ({"latestVersion": True}, 202, RUN_STARTED),
    f"POST {WS}/executions/retry": (
        {"workflowId": WORKFLOW_ID, "status": ["FAILED"], "errorContains": "timeout", "limit": 100},
        202,
        BATCH,
    ),
    # with "dryRun": true, 200 and {"status": "DRY_RUN", "batchId": null, "executionIds": [...]}
    f"POST {WS}/executions/resume": (
        {"workflowId": WORKFLOW_ID, "latestVersion": True},
        202,
        {**BATCH, "action": "resume"},
    ),
    f"GET {WS}/executions/batches/{{batch_id}}": (None, 200, {
        **BATCH, "status": "COMPLETED", "done": 3, "started": 3,
        "outcomes": [{"executionId": EXECUTION_ID, "started": "0b6c9a2e-4f1d-5a3b-9c8e-7d6f5e4a3b2c",
                      "skipped": None}]}),
    f"GET {WS}/approvals": (None, 200, page(APPROVAL)),
    f"GET {EX}/logs": (None, 200, page(LOG_ENTRY)),
    f"GET {WS}/webhooks": (None, 200, page(WEBHOOK)),
    f"POST {WS}/webhooks/{{webhook_id}}/rotate-secret": (None, 201, {
        "webhookId": WEBHOOK["id"], "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "signatureScheme": "standard", "signatureHeader": "webhook-signature"}),
    f"PUT {WS}/webhooks/{{webhook_id}}/secret": (
        {"scheme": "github", "secret": "the GitHub webhook's secret"}, 200,
        {"webhookId": WEBHOOK["id"], "signatureScheme": "github", "signatureHeader": "X-Hub-Signature-256"}),
    **{f"{method} /hooks/{{token}}": (None if method == "GET" else {"email": "ada@example.com"}, 202, HOOKED)
       for method in ("GET", "POST", "PUT", "PATCH", "DELETE")},
    f"GET {WF}/schedule": (None, 200, {
        "scheduleId": f"schedule-{WORKFLOW_ID}", "paused": False, "note": "armed by Baton",
        "nextRunTimes": ["2026-12-03T10:00:00Z", "2026-12-03T11:00:00Z"],
        "recentRuns": [{"scheduledAt": "2026-12-03T09:00:00Z", "startedAt": "2026-12-03T09:00:00.020000Z",
                        "executionId": EXECUTION_ID}],
        "runsTotal": 41, "missedCatchupWindow": 0, "skippedOverlap": 1, "runningExecutionIds": []}),
    f"POST {WF}/backfill": (
        {"from": "2026-12-01T00:00:00Z", "to": "2026-12-02T00:00:00Z", "overlap": "buffer_all"}, 202,
        {"workflowId": WORKFLOW_ID, "from": "2026-12-01T00:00:00Z", "to": "2026-12-02T00:00:00Z",
         "overlap": "buffer_all", "detail": "the schedule starts a run for each of its slots in the range"}),
    f"GET {WS}/analytics": (None, 200, report([], date(2026, 12, 1), date(2026, 12, 3), {})),
    f"GET {V1}/approval-links/{{token}}": (None, 200, {  # JSON when asked for (Accept); a page for browsers
        "message": "Refund 40 EUR?", "workflowName": "Refunds", "expiresAt": "2026-12-04T09:30:00Z",
        "decision": "approve"}),
    f"POST {V1}/approval-links/{{token}}": (
        None, 200, {"stepId": "ok", "approved": True, "by": "approval-link"}),
    f"GET {V1}/oauth/callback": (None, 200, CONNECTION),
    f"PUT {V1}/admin/workspaces/{{workspace_id}}/plan": ({"plan": "PROFESSIONAL"}, 200,
                                                          {**WORKSPACE, "plan": "PROFESSIONAL"}),
    f"GET {WS}/data-store": (None, 200, page(STORED)),
    f"GET {WS}/data-store/{{key}}": (None, 200, STORED),
    f"PUT {WS}/data-store/{{key}}": ({"value": {"lastSeenId": 41}, "ttlSeconds": 86400}, 200, STORED),
    f"POST {WS}/data-store/{{key}}/increment": ({"by": 1}, 200, {**STORED, "key": "signups/today",
                                                                 "value": 42, "version": 42}),
    f"POST {WS}/events": ({"name": "order.paid", "data": {"orderId": "A-1", "amount": 40},
                           "idempotencyKey": "order-A-1-paid"}, 202, {
        "id": "5c2f8e1a-7d3b-5f4e-9a6c-1b0d2e3f4a5b", "name": "order.paid", "receivedAt": AT, "waiting": 1,
        "resumed": [EXECUTION_ID]}),
    f"POST {V1}/resume/{{token}}": (  # any body: JSON, else its text, is the event's data
        {"approved": True, "by": "the supplier's system"}, 200,
        {"executionId": EXECUTION_ID, "stepId": "wait_for_supplier", "resumed": True}),
    "POST /hooks/{token}/chat": ({"message": "Where is my order A-1?", "sessionId": "visitor-42"}, 200, {
        "answer": "Your order A-1 has shipped.", "sessionId": "visitor-42", "executionId": EXECUTION_ID}),
}  # fmt: skip
CHAT_EVENTS = (
    f'event: start\ndata: {{"executionId": "{EXECUTION_ID}", "sessionId": "visitor-42"}}\n\n'
    'event: token\ndata: {"text": "Your order A-1 ", "stepId": "reply"}\n\n'
    'event: token\ndata: {"text": "has shipped.", "stepId": "reply"}\n\n'
    f'event: answer\ndata: {{"executionId": "{EXECUTION_ID}", "sessionId": "visitor-42", '
    '"answer": "Your order A-1 has shipped."}\n\n'
)
# Streams: an example of what they send
STREAM_EXAMPLES = {
    f"GET {EX}/events": EVENTS,
    f"GET {WS}/events": EVENTS,
    "POST /hooks/{token}/chat": CHAT_EVENTS,
}
