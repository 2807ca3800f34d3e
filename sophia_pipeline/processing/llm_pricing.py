"""What one LLM call cost, from its token counts: a chat-completions reply carries
``usage`` (prompt and completion tokens) but no price, and Portkey's response does not
add one, so the price per token is ours to keep.

Prices are USD per million tokens, standard (not batch, not cached-input) list prices
as published on https://openai.com/api/pricing and https://www.anthropic.com/pricing,
checked 2025-06. Providers change them: update the table (and its date) when they do.
A model not in the table costs nothing here and is reported as unpriced, so the spend
it hides is visible (``priced`` false in ``executive_intelligence.llm_usage``).
"""

from __future__ import annotations

from dataclasses import dataclass

PRICES_CHECKED = "2025-06"


@dataclass(frozen=True)
class Price:
    input_per_mtok: float
    output_per_mtok: float


PRICES: dict[str, Price] = {
    # OpenAI
    "gpt-4o-mini": Price(0.15, 0.60),
    "gpt-4o": Price(2.50, 10.00),
    "gpt-4.1": Price(2.00, 8.00),
    "gpt-4.1-mini": Price(0.40, 1.60),
    "gpt-4.1-nano": Price(0.10, 0.40),
    "gpt-3.5-turbo": Price(0.50, 1.50),
    # Anthropic
    "claude-3-5-haiku": Price(0.80, 4.00),
    "claude-3-haiku": Price(0.25, 1.25),
    "claude-3-5-sonnet": Price(3.00, 15.00),
    "claude-3-7-sonnet": Price(3.00, 15.00),
    "claude-sonnet-4": Price(3.00, 15.00),
    "claude-opus-4": Price(15.00, 75.00),
}


def price_of(model: str) -> Price | None:
    """The price of ``model``: exact name, else the longest table name it starts with
    (providers answer with dated snapshots such as ``gpt-4o-mini-2024-07-18``), after
    dropping a routing prefix (``openai/gpt-4o``, ``@openai-prod/gpt-4o``)."""
    name = model.strip().lower().rsplit("/", 1)[-1]
    if name in PRICES:
        return PRICES[name]
    prefixes = [p for p in PRICES if name.startswith(p + "-")]
    return PRICES[max(prefixes, key=len)] if prefixes else None


@dataclass(frozen=True)
class Cost:
    usd: float
    priced: bool  # false: the model is not in the table, ``usd`` is 0


def cost_of(model: str, prompt_tokens: int, completion_tokens: int) -> Cost:
    price = price_of(model)
    if price is None:
        return Cost(0.0, False)
    usd = (
        prompt_tokens * price.input_per_mtok + completion_tokens * price.output_per_mtok
    ) / 1_000_000
    return Cost(usd, True)
