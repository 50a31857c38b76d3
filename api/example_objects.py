"""The objects of the OpenAPI examples' story (api/examples.py): one workspace, its first workflow, a run
of it and what surrounds them, written once so every endpoint's example shows the same ids and values."""

from __future__ import annotations

from typing import Any

V1 = "/api/v1"
WS = f"{V1}/workspaces/{{workspace_id}}"
WF = f"{WS}/workflows/{{workflow_id}}"
EX = f"{WS}/executions/{{execution_id}}"

USER_ID = "3f0c1f7e-5b0a-4c8e-9a43-6f1d2a7b9c10"
WORKSPACE_ID = "8b6f2d4a-1c3e-4f5a-9b7c-0d2e4f6a8b1c"
WORKFLOW_ID = "c2a4e6f8-0b1d-4e3f-8a5c-7e9b1d3f5a70"
EXECUTION_ID = "e1d3f5a7-9b0c-4d2e-8f4a-6c8e0a2b4d61"
AT = "2026-12-03T09:30:00Z"
LATER = "2026-12-03T09:30:00.180000Z"

STEPS: list[dict[str, Any]] = [
    {
        "id": "lookup",
        "type": "action",
        "action": "http.request",
        "input": {"method": "GET", "url": "https://crm.example.com/people/{{ trigger.body.email }}"},
        "retry": {"maxAttempts": 5},
    },
    {
        "id": "vip",
        "type": "condition",
        "if": "{{ steps.lookup.output.body.tier == 'gold' }}",
        "then": [{"id": "gold", "type": "respond", "body": {"welcome": "gold"}}],
        "else": [{"id": "plain", "type": "respond", "body": {"welcome": "standard"}}],
    },
]
WORKFLOW_IN = {
    "name": "Greet new signups",
    "triggerType": "WEBHOOK",
    "triggerConfig": {"methods": ["POST"], "mode": "sync"},
    "steps": STEPS,
}
WORKFLOW = {
    "id": WORKFLOW_ID,
    "workspaceId": WORKSPACE_ID,
    "userId": USER_ID,
    "name": "Greet new signups",
    "description": None,
    "triggerType": "WEBHOOK",
    "triggerConfig": {"methods": ["POST"], "mode": "sync", "syncTimeoutSeconds": 30},
    "connectionId": None,
    "steps": STEPS,
    "isActive": True,
    "isDraft": False,
    "version": 1,
    "tags": [],
    "folder": None,
    "key": "greet-new-signups",
    "totalExecutions": 0,
    "successfulExecutions": 0,
    "failedExecutions": 0,
    "lastExecutedAt": None,
    "createdAt": AT,
    "updatedAt": AT,
    "publishedAt": AT,
}
# at most 5 runs per signup email at once (the others wait their turn)
LIMIT = {"limit": 5, "key": "{{ trigger.body.email }}"}
VERSION = {
    "id": "5d7f9b1c-3e5a-4c7e-9b1d-3f5a7c9e1b20",
    "workflowId": WORKFLOW_ID,
    "version": 1,
    "name": "Greet new signups",
    "description": None,
    "triggerType": "WEBHOOK",
    "triggerConfig": WORKFLOW["triggerConfig"],
    "steps": STEPS,
    "changeDescription": "First version",
    "createdAt": AT,
    "createdBy": USER_ID,
}
EXECUTION = {
    "id": EXECUTION_ID,
    "executionId": EXECUTION_ID,
    "workflowId": WORKFLOW_ID,
    "status": "SUCCESS",
    "triggerData": {"body": {"email": "ada@example.com"}, "headers": {}, "query": {}, "method": "POST"},
    "context": {},
    "result": {"welcome": "gold"},
    "error": None,
    "startedAt": AT,
    "completedAt": LATER,
    "duration": 180,
    "retryCount": 0,
    "maxRetries": 0,
    "createdAt": AT,
    "live": None,
    "temporalUiUrl": f"http://127.0.0.1:8233/namespaces/default/workflows/run-{EXECUTION_ID}",
}
STEP_EXECUTION = {
    "id": "7a9c1e3f-5b7d-4f9a-8c2e-4a6c8e0b2d43",
    "stepId": "lookup",
    "stepType": "action",
    "status": "SUCCESS",
    "input": {"method": "GET", "url": "https://crm.example.com/people/ada@example.com"},
    "output": {"status": 200, "headers": {}, "body": {"tier": "gold"}},
    "error": None,
    "startedAt": AT,
    "completedAt": "2026-12-03T09:30:00.120000Z",
    "duration": 120,
    "retryCount": 0,
    "state": None,
    "stepKey": "lookup",
    "attempts": 1,
    "branchTaken": None,
}
WORKSPACE = {
    "id": WORKSPACE_ID,
    "name": "Acme",
    "slug": "acme",
    "plan": "FREE",
    "maxWorkflows": 5,
    "maxExecutions": 1000,
    "createdAt": AT,
    "updatedAt": AT,
    "role": "OWNER",
}
USER = {
    "id": USER_ID,
    "email": "ada@example.com",
    "firstName": "Ada",
    "lastName": "Lovelace",
    "emailVerified": False,
    "isActive": True,
    "createdAt": AT,
    "updatedAt": AT,
    "lastLoginAt": None,
}
TOKENS = {
    "accessToken": "eyJhbGciOiJIUzI1NiJ9.…",
    "refreshToken": "eyJhbGciOiJIUzI1NiJ9.…",
    "tokenType": "bearer",
    "expiresIn": 900,
}
API_KEY = {
    "id": "9e1b3d5f-7a9c-4e1b-8d3f-5a7c9e1b3d52",
    "name": "laptop",
    "prefix": "bat_4kq8",
    "scopes": ["workflows:read", "workflows:write", "executions:read", "executions:write"],
    "isActive": True,
    "lastUsedAt": None,
    "expiresAt": None,
    "createdAt": AT,
}
PASSWORD = "correct horse battery staple"


CONNECTION_ID = "4c6e8a0b-2d4f-4a6c-8e0a-2b4d6f8a0c13"
CONNECTION = {
    "id": CONNECTION_ID,
    "workspaceId": WORKSPACE_ID,
    "userId": USER_ID,
    "integrationId": "slack",
    "name": "Team Slack",
    "isActive": True,
    "expiresAt": None,
    "lastTestedAt": AT,
    "testStatus": "SUCCESS",
    "rateLimit": {"limit": 50, "windowSeconds": 60},
    "createdAt": AT,
    "updatedAt": AT,
}
MEMBER = {
    "userId": "a1c3e5f7-9b1d-4f3a-8c5e-7a9c1e3f5b72",
    "email": "grace@example.com",
    "firstName": "Grace",
    "lastName": "Hopper",
    "role": "ADMIN",
    "createdAt": AT,
}
INTEGRATION = {
    "id": "slack",
    "name": "Slack",
    "description": "Send messages to channels and people",
    "icon": "/static/icons/slack.svg",
    "category": "communication",
    "authType": "OAUTH2",
    "isActive": True,
    "isPopular": True,
    "docsUrl": "https://api.slack.com/methods",
    "websiteUrl": "https://slack.com",
}
TEMPLATE = {
    "id": "8288076d-7e28-5697-b9f2-8a5e8cd6b3a5",
    "name": "Post incoming webhooks to Slack",
    "description": "Every call to the webhook becomes a Slack message",
    "category": "communication",
    "triggerType": "WEBHOOK",
    "triggerConfig": {"methods": ["POST"], "mode": "async"},
    "steps": [{"id": "post", "type": "action", "action": "slack.send_message",
               "input": {"channel": "#general", "text": "{{ trigger.body.text }}"}}],
    "icon": "/static/icons/slack.svg",
    "tags": ["slack"],
    "isPopular": True,
    "usageCount": 12,
    "requiredIntegrations": ["slack"],
    "createdAt": AT,
    "updatedAt": AT,
}  # fmt: skip
EXPORT = {
    "batonExport": 1,
    "name": "Greet new signups",
    "description": None,
    "triggerType": "WEBHOOK",
    "triggerConfig": WORKFLOW_IN["triggerConfig"],
    "steps": STEPS,
    "tags": [],
    "folder": None,
    "connectionId": None,
}
TIMELINE_ITEM: dict[str, Any] = {
    "stepId": "lookup",
    "key": "lookup",
    "iteration": [],
    "name": "lookup",
    "stepType": "action",
    "parentStepId": None,
    "branch": None,
    "depth": 0,
    "status": "SUCCESS",
    "branchTaken": None,
    "attempts": 1,
    "startedAt": AT,
    "completedAt": "2026-12-03T09:30:00.120000Z",
    "duration": 120,
    "error": None,
    "state": None,
}
APPROVAL: dict[str, Any] = {
    "executionId": EXECUTION_ID,
    "stepId": "ok",
    "workflowId": WORKFLOW_ID,
    "workflowName": "Refunds",
    "status": "pending",
    "message": "Refund 40 EUR?",
    "approvers": [],
    "requestedAt": AT,
    "expiresAt": "2026-12-04T09:30:00Z",
    "defaultDecision": "reject",
    "decision": None,
    "decidedAt": None,
    "canDecide": True,
    "decideUrl": f"/api/v1/workspaces/{WORKSPACE_ID}/executions/{EXECUTION_ID}/steps/ok/decision",
}
LOG_ENTRY = {
    "id": "0f2d4b6a-8c0e-4a2c-9e4b-6d8f0a2c4e65",
    "executionId": EXECUTION_ID,
    "workflowId": WORKFLOW_ID,
    "timestamp": AT,
    "level": "info",
    "message": "Execution started",
    "stepId": None,
    "metadata": {"status": "RUNNING"},
}
WEBHOOK = {
    "id": "2e4a6c8e-0a2c-4e6a-8c0e-2a4c6e8a0b26",
    "workflowId": WORKFLOW_ID,
    "workflowName": "Greet new signups",
    "url": "http://127.0.0.1:8000/hooks/wh_3kfT9q…",
    "token": "wh_3kfT9q…",
    "isActive": True,
    "hasSecret": False,
    "signatureScheme": None,
    "totalCalls": 3,
    "lastCalledAt": AT,
    "createdAt": AT,
}
HOOKED = {"executionId": EXECUTION_ID, "status": "PENDING", "replayed": False}
RUNNING = {**EXECUTION, "status": "RUNNING", "result": None, "completedAt": None, "duration": None}
# a bulk retry or resume, as it starts
BATCH = {"batchId": "3f2a1b0c-9d8e-4f7a-b6c5-d4e3f2a1b0c9", "action": "retry", "status": "RUNNING",
         "matched": 3, "total": 3, "done": 0, "started": 0, "skipped": 0, "outcomes": [],
         "executionIds": None}  # fmt: skip
RUN_STARTED = {**EXECUTION, "status": "PENDING", "result": None, "completedAt": None, "duration": None,
               "startedAt": None}  # fmt: skip
EVENTS = (
    "retry: 1000\n\n"
    'event: execution\ndata: {"type": "execution", "status": "RUNNING", "error": null}\n\n'
    'id: MjAyNi0xMi0wM1QwOTozMDowMC4xMlo\nevent: step\ndata: {"type": "step", "stepId": "lookup", '
    '"status": "SUCCESS", "duration": 120}\n\n'
)

STORED = {"key": "crm/cursor", "value": {"lastSeenId": 41}, "version": 3, "expiresAt": "2026-12-04T09:30:00Z",
          "createdAt": "2026-12-01T08:00:00Z", "updatedAt": "2026-12-03T09:30:00Z"}  # fmt: skip


def page(*items: Any) -> dict[str, Any]:
    return {"items": list(items), "nextCursor": None}
