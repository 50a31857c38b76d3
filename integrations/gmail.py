"""Gmail: the seed's own example (`gmail.new_email` trigger, `gmail.send_email` action)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from core.models import AuthType, TriggerType
from integrations.sdk import Integration, OAuth2

gmail = Integration(
    id="gmail",
    name="Gmail",
    description="Send and receive emails",
    icon="/static/icons/gmail.svg",
    category="communication",
    auth_type=AuthType.OAUTH2,
    is_popular=True,
    docs_url="https://developers.google.com/gmail/api",
    website_url="https://mail.google.com",
    oauth2=OAuth2(
        authorize_url="https://accounts.google.com/o/oauth2/v2/auth",
        token_url="https://oauth2.googleapis.com/token",
        scopes=(
            "https://www.googleapis.com/auth/gmail.send",
            "https://www.googleapis.com/auth/gmail.readonly",
        ),
        extra_authorize_params=(("access_type", "offline"), ("prompt", "consent")),
    ),
)


class NewEmailConfig(BaseModel):
    label: str | None = Field(default=None, description="Only emails with this label (e.g. INBOX)")
    from_: str | None = Field(default=None, alias="from", description="Only emails from this sender")


gmail.trigger(
    "new_email",
    name="New Email",
    description="Triggers when a new email is received",
    trigger_type=TriggerType.POLLING,
    config_model=NewEmailConfig,
    polling_interval=300,
)


class SendEmailInput(BaseModel):
    to: str = Field(json_schema_extra={"format": "email"})
    subject: str
    body: str


class SendEmailOutput(BaseModel):
    messageId: str  # noqa: N815 - the seed's output field name


gmail.declare_action(
    "send_email",
    name="Send Email",
    description="Send an email via Gmail",
    input_model=SendEmailInput,
    output_model=SendEmailOutput,
)
