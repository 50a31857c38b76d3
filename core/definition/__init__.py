"""The workflow definition contract (shared/DEFINITION.md) as pydantic models."""
