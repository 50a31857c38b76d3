"""Baton composition root: the `baton` CLI, the embedded dev stack, migrations and seeding."""
