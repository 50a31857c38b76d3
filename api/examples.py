"""Example requests and answers for the OpenAPI document (`/docs`, `/redoc`): one story, the README's
first workflow, told through the endpoints a newcomer calls first. tests/api/test_docs.py checks each
example against its operation's schema, so they cannot drift from the code."""

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


def page(*items: Any) -> dict[str, Any]:
    return {"items": list(items), "nextCursor": None}


# "METHOD path" -> (request body or None, success status, answer or None)
EXAMPLES: dict[str, tuple[Any, int, Any]] = {
    f"POST {V1}/auth/register": (
        {"email": "ada@example.com", "password": PASSWORD, "firstName": "Ada", "lastName": "Lovelace"},
        201,
        USER,
    ),
    f"POST {V1}/auth/login": ({"email": "ada@example.com", "password": PASSWORD}, 200, TOKENS),
    f"POST {V1}/auth/refresh": ({"refreshToken": "eyJhbGciOiJIUzI1NiJ9.…"}, 200, TOKENS),
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
        {"description": "Answers each signup"},
        200,
        {**WORKFLOW, "description": "Answers each signup"},
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
    f"POST {EX}/steps/{{step_id}}/decision": ({"approved": True, "comment": "Looks right"}, 200, None),
}
