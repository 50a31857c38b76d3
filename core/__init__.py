"""Baton's shared kernel: settings, storage, schema and helpers that every other package builds on."""
