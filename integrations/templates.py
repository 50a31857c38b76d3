"""The default workflow templates `baton seed` installs; each has a stable slug, hence a stable id."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from core.models import TriggerType

# Fixed namespace so a template's id is the same on every installation (uuid5 of its slug).
TEMPLATE_NAMESPACE = uuid.UUID("6f1c2a7e-3b0d-4c52-9a51-0b7a7f4e2d10")


@dataclass(frozen=True)
class Template:
    slug: str
    name: str
    description: str
    category: str
    trigger_type: TriggerType
    trigger_config: dict[str, Any]
    steps: list[dict[str, Any]]
    icon: str | None = None
    tags: list[str] = field(default_factory=list)
    is_popular: bool = False

    @property
    def id(self) -> str:
        return str(uuid.uuid5(TEMPLATE_NAMESPACE, self.slug))

    @property
    def required_integrations(self) -> list[str]:
        """Integrations its steps (and polling trigger) use, derived so it never disagrees with the steps."""
        found: set[str] = set()

        def walk(value: Any) -> None:
            if isinstance(value, dict):
                if value.get("type") == "action" and isinstance(value.get("action"), str):
                    found.add(value["action"].split(".", 1)[0])
                for child in value.values():
                    walk(child)
            elif isinstance(value, list):
                for child in value:
                    walk(child)

        walk(self.steps)
        if self.trigger_type is TriggerType.POLLING:
            found.add(str(self.trigger_config["trigger"]).split(".", 1)[0])
        return sorted(found)


TEMPLATES: tuple[Template, ...] = (
    Template(
        slug="webhook-to-slack",
        name="Post incoming webhooks to Slack",
        description="Every HTTP call to the workflow's URL becomes a Slack message with its JSON body.",
        category="communication",
        trigger_type=TriggerType.WEBHOOK,
        trigger_config={"methods": ["POST"], "mode": "async"},
        steps=[
            {
                "id": "notify",
                "type": "action",
                "name": "Post to Slack",
                "action": "slack.send_message",
                "input": {"channel": "#alerts", "text": "New event: {{ trigger.body | tojson }}"},
            }
        ],
        icon="/static/icons/slack.svg",
        tags=["webhook", "slack", "notifications"],
        is_popular=True,
    ),
    Template(
        slug="uptime-check",
        name="Check a URL every 5 minutes and alert on failure",
        description="Requests a URL on a schedule; when it does not answer 2xx, posts to Slack.",
        category="monitoring",
        trigger_type=TriggerType.SCHEDULE,
        trigger_config={"cron": "*/5 * * * *", "timezone": "UTC", "overlap": "skip"},
        steps=[
            {
                "id": "probe",
                "type": "action",
                "name": "Request the URL",
                "action": "http.request",
                "input": {"method": "GET", "url": "https://example.com/health", "timeoutSeconds": 10},
                "onError": "continue",
            },
            {
                "id": "down",
                "type": "condition",
                "name": "Is it down?",
                "if": "{{ steps.probe.output.error is defined or steps.probe.output.status >= 300 }}",
                "then": [
                    {
                        "id": "alert",
                        "type": "action",
                        "name": "Alert on Slack",
                        "action": "slack.send_message",
                        "input": {"channel": "#ops", "text": "example.com is down"},
                    }
                ],
            },
        ],
        icon="/static/icons/http.svg",
        tags=["schedule", "http", "monitoring"],
        is_popular=True,
    ),
    Template(
        slug="gmail-to-slack",
        name="Forward new Gmail emails to Slack",
        description="Polls Gmail for new emails with a label and posts each subject to a Slack channel.",
        category="communication",
        trigger_type=TriggerType.POLLING,
        trigger_config={"trigger": "gmail.new_email", "config": {"label": "INBOX"}},
        steps=[
            {
                "id": "forward",
                "type": "action",
                "name": "Post the email to Slack",
                "action": "slack.send_message",
                "input": {
                    "channel": "#inbox",
                    "text": "From {{ trigger.from }}: {{ trigger.subject }}",
                },
            }
        ],
        icon="/static/icons/gmail.svg",
        tags=["gmail", "slack", "email"],
        is_popular=True,
    ),
    Template(
        slug="approved-email",
        name="Send an email after a human approves it",
        description="Waits (for days if needed, at no cost) for an approval before sending an email.",
        category="productivity",
        trigger_type=TriggerType.MANUAL,
        trigger_config={},
        steps=[
            {
                "id": "review",
                "type": "approval",
                "name": "Approve the email",
                "message": "Send '{{ trigger.subject }}' to {{ trigger.to }}?",
                "timeoutSeconds": 259200,
                "defaultDecision": "reject",
            },
            {
                "id": "approved",
                "type": "condition",
                "if": "{{ steps.review.output.approved }}",
                "then": [
                    {
                        "id": "send",
                        "type": "action",
                        "name": "Send the email",
                        "action": "gmail.send_email",
                        "input": {
                            "to": "{{ trigger.to }}",
                            "subject": "{{ trigger.subject }}",
                            "body": "{{ trigger.body }}",
                        },
                    }
                ],
            },
        ],
        icon="/static/icons/gmail.svg",
        tags=["approval", "gmail", "human-in-the-loop"],
    ),
)


# The `workflow_templates` columns, each the Template attribute of the same name.
TEMPLATE_COLUMNS = (
    "id", "name", "description", "category", "trigger_type", "trigger_config", "steps", "icon", "tags",
    "is_popular", "required_integrations",
)


def template_rows() -> list[dict[str, Any]]:
    """`workflow_templates` rows as the code declares them (`usage_count` is the database's to keep)."""
    return [{column: getattr(t, column) for column in TEMPLATE_COLUMNS} for t in TEMPLATES]
