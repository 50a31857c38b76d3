"""The async client's resources, one module per area of the API; each method is one endpoint described
with `baton.client.endpoints` (or, for the few that need more than a call, written out). The blocking
resources (baton/client/sync.py) are derived from these classes at import by baton/client/portal.py."""
