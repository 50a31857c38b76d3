"""Request and response bodies: camelCase on the wire, as shared/API.md fixes them."""
