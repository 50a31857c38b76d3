"""The `llm` integration and its connections: one connection names its provider (OpenAI or any server
that speaks OpenAI's chat completions, Azure OpenAI, Anthropic, Google Gemini) and holds its key."""

from __future__ import annotations

from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from core.models import AuthType
from integrations.sdk import Integration, RateLimit

Provider = Literal["openai", "azure_openai", "anthropic", "gemini"]

DEFAULT_BASE_URLS: dict[str, str] = {
    "openai": "https://api.openai.com/v1",
    "anthropic": "https://api.anthropic.com",
    "gemini": "https://generativelanguage.googleapis.com/v1beta",
}

llm = Integration(
    id="llm",
    name="LLM",
    description="Chat with a language model, extract JSON that matches a schema, and embed text: OpenAI "
    "(and any server that speaks its API: vLLM, Ollama, LM Studio), Azure OpenAI, Anthropic, Google Gemini",
    icon="/static/icons/llm.svg",
    category="ai",
    auth_type=AuthType.API_KEY,
    is_popular=True,
    # A connection's key is usually limited in requests per minute; the provider's own 429s slow us further.
    rate_limit=RateLimit(500, 60),
)


class ModelPrice(BaseModel):
    input: float = Field(ge=0, description="USD per million input tokens")
    output: float = Field(default=0, ge=0, description="USD per million output tokens")


class LlmCredentials(BaseModel):
    """What an `llm` connection holds; `provider` decides which of the other fields it needs."""

    model_config = ConfigDict(extra="forbid")

    provider: Provider = Field(
        description="openai (also any OpenAI-compatible server), azure_openai, anthropic or gemini"
    )
    apiKey: str = Field(min_length=1, description="The provider's API key (Ollama: any text)")  # noqa: N815
    baseUrl: str | None = Field(  # noqa: N815
        default=None,
        description="Another API root: a vLLM, Ollama (http://host:11434/v1) or LM Studio server, a proxy; "
        "defaults to the provider's",
    )
    organization: str | None = Field(default=None, description="openai: the OpenAI-Organization header")
    endpoint: str | None = Field(
        default=None, description="azure_openai: https://<resource>.openai.azure.com"
    )
    deployment: str | None = Field(default=None, description="azure_openai: the model deployment's name")
    apiVersion: str | None = Field(  # noqa: N815
        default=None, description="azure_openai: the API version (e.g. 2024-10-21)"
    )
    anthropicVersion: str = Field(  # noqa: N815
        default="2023-06-01", description="anthropic: the anthropic-version header"
    )
    prices: dict[str, ModelPrice] = Field(
        default_factory=dict,
        description="Prices of models Baton's table does not know (or that this account pays differently), "
        "by model name or name prefix",
    )

    @model_validator(mode="after")
    def _azure_needs_its_fields(self) -> Self:
        if self.provider == "azure_openai":
            missing = [n for n in ("endpoint", "deployment", "apiVersion") if not getattr(self, n)]
            if missing:
                raise ValueError(f"an azure_openai connection needs {', '.join(missing)}")
        return self


llm.credentials_model = LlmCredentials


def provider_of(credentials: dict[str, Any]) -> str:
    return str(credentials.get("provider") or "openai")
