"""Alembic migrations of Baton's PostgreSQL schema (run them with `baton migrate`)."""
