"""Temporal activities: every step that touches the outside world."""
