"""Baton's FastAPI control plane."""
