"""The async client's resources, one module per area of the API; each method is one endpoint described
with `baton.client.endpoints` (or, for the few that need more than a call, written out). The blocking
resources in baton/client/blocking/ are generated from these modules by baton/client/generate.py."""
