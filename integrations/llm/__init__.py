"""Language models as a Baton integration: connections per provider and the `llm.*` actions."""

from integrations.llm.actions import chat, embed, extract
from integrations.llm.connection import llm

__all__ = ["chat", "embed", "extract", "llm"]
