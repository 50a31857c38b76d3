"""What a model call cost, from a table of list prices (USD per million tokens) that a connection's
`prices` extends or overrides; unknown models cost `null`, never a guess.

Names match exactly or by the longest prefix, so dated snapshots (`gpt-4o-2024-08-06`) and tags
(`llama3.1:8b`) take their family's price. The table is list prices as published when written; an
account with other prices sets its own.
"""

from __future__ import annotations

from typing import Any

from integrations.llm.messages import Cost, Usage

# (input, output) USD per million tokens.
LIST_PRICES: dict[str, tuple[float, float]] = {
    "gpt-4o": (2.5, 10.0),
    "gpt-4o-mini": (0.15, 0.6),
    "gpt-4.1": (2.0, 8.0),
    "gpt-4.1-mini": (0.4, 1.6),
    "gpt-4.1-nano": (0.1, 0.4),
    "o3": (2.0, 8.0),
    "o4-mini": (1.1, 4.4),
    "text-embedding-3-small": (0.02, 0.0),
    "text-embedding-3-large": (0.13, 0.0),
    "claude-3-5-haiku": (0.8, 4.0),
    "claude-3-7-sonnet": (3.0, 15.0),
    "claude-sonnet-4": (3.0, 15.0),
    "claude-opus-4": (15.0, 75.0),
    "gemini-2.0-flash": (0.1, 0.4),
    "gemini-2.5-flash": (0.3, 2.5),
    "gemini-2.5-pro": (1.25, 10.0),
}


def _price(model: str, own: dict[str, Any]) -> tuple[float, float] | None:
    table: dict[str, tuple[float, float]] = dict(LIST_PRICES)
    for name, price in own.items():
        if isinstance(price, dict) and price.get("input") is not None:
            table[name] = (float(price["input"]), float(price.get("output") or 0))
    name = model.removeprefix("models/")
    # a dated snapshot (gpt-4o-2024-08-06), an Ollama tag (llama3.1:8b), a Vertex version (name@001)
    matches = [key for key in table if name == key or any(name.startswith(key + s) for s in "-:@")]
    return table[max(matches, key=len)] if matches else None


def cost_of(model: str, usage: Usage, credentials: dict[str, Any]) -> Cost:
    price = _price(model, credentials.get("prices") or {})
    if price is None:
        return Cost(usd=None)
    usd = (usage.input_tokens * price[0] + usage.output_tokens * price[1]) / 1_000_000
    return Cost(usd=round(usd, 8))
