"""What every model of a workflow definition shares: camelCase wire names, unknown fields refused, and the
patterns of step ids and action names (core.definition.steps, core.definition.agent_tools)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

STEP_ID_PATTERN = r"^[a-z][a-z0-9_]*$"
MAX_STEP_ID_LENGTH = 64
ACTION_NAME_PATTERN = r"^[a-z0-9_]+\.[a-z0-9_]+$"


class DefinitionModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")
