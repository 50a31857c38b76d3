"""HTTP: call any URL (`http.request`), the integration every workflow tool needs first."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from core.models import AuthType
from integrations.sdk import Integration

http = Integration(
    id="http",
    name="HTTP Request",
    description="Call any HTTP API: method, headers, query, JSON/form/raw body, auth from a connection",
    icon="/static/icons/http.svg",
    category="developer",
    auth_type=AuthType.NONE,
    is_popular=True,
)


class RequestInput(BaseModel):
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"] = "GET"
    url: str = Field(json_schema_extra={"format": "uri"}, examples=["https://api.example.com/items"])
    query: dict[str, str | int | float | bool] = Field(default_factory=dict)
    headers: dict[str, str] = Field(default_factory=dict)
    json_body: Any | None = Field(default=None, alias="json", description="Sent as application/json")
    form: dict[str, str] | None = Field(default=None, description="Sent as application/x-www-form-urlencoded")
    body: str | None = Field(default=None, description="Sent as is (set Content-Type in headers)")
    timeout_seconds: float = Field(default=30, gt=0, le=300, alias="timeoutSeconds")


class RequestOutput(BaseModel):
    status: int
    headers: dict[str, str]
    body: Any = Field(description="Parsed JSON when the response is JSON, else text")


http.declare_action(
    "request",
    name="HTTP Request",
    description="Send an HTTP request and return its status, headers and body",
    input_model=RequestInput,
    output_model=RequestOutput,
)
