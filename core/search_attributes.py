"""The Temporal search attributes Baton sets on every run (name -> Temporal type), without importing the
SDK: the embedded dev server registers them at start (baton/embedded.py), core.temporal uses them."""

SEARCH_ATTRIBUTES: dict[str, str] = {
    "BatonWorkspaceId": "Keyword",
    "BatonWorkflowId": "Keyword",
    "BatonWorkflowVersion": "Int",
    "BatonTriggerType": "Keyword",
}
