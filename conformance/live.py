"""Live mode's spending: the tokens the gateway's real provider billed for the suite's requests, read from the
`usage` of every answer the client received, an estimated cost, and the cap (--live-token-budget) that stops the
suite from sending a request that could take it over."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # conformance.client meters its exchanges with this module
    from conformance.client import Exchange

# List prices in USD per million tokens (input, output), November 2026; cache writes cost 1.25x input, cache reads
# 0.1x input. A model the table does not know is priced as Sonnet, and the report says so.
PRICES = {"opus": (5.0, 25.0), "sonnet": (3.0, 15.0), "haiku": (1.0, 5.0)}
DEFAULT_FAMILY = "sonnet"
DEFAULT_TOKEN_BUDGET = 100_000
CONTEXT_WINDOW = 200_000  # the API's standard context window, in tokens


def price_family(model: str) -> tuple[str, bool]:
    """(family, known) for a model id."""
    return next(((family, True) for family in PRICES if family in model), (DEFAULT_FAMILY, False))


@dataclass
class Spend:
    input_tokens: int = 0
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0
    output_tokens: int = 0
    billed_requests: int = 0

    @property
    def total(self) -> int:
        return self.input_tokens + self.cache_creation_input_tokens + self.cache_read_input_tokens + self.output_tokens


@dataclass
class TokenMeter:
    budget: int
    model: str
    spent: Spend = field(default_factory=Spend)
    refused: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def over_budget(self, body: bytes) -> str:
        """Before a Messages request: why it must not be sent, when tokens spent so far plus its max_tokens and its
        input (4 bytes a token) could exceed the budget (empty: send it). A prompt over the context window is refused
        by the provider unbilled: only its max_tokens counts. Reserves nothing: the answer's usage is recorded."""
        try:
            max_tokens = int(json.loads(body).get("max_tokens") or 0)
        except (ValueError, AttributeError, TypeError):
            max_tokens = 0
        input_estimate = len(body) // 4
        estimate = max_tokens + (input_estimate if input_estimate <= CONTEXT_WINDOW else 0)
        with self._lock:
            if self.spent.total + estimate <= self.budget:
                return ""
            self.refused += 1
            return (f"not sent: --live-token-budget {self.budget} tokens; {self.spent.total} spent, this request could take "
                    f"up to {estimate} more (max_tokens {max_tokens} plus its input)")

    def record(self, usage: dict[str, Any] | None) -> None:
        if not usage:
            return
        with self._lock:
            for name in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens", "output_tokens"):
                value = usage.get(name)
                if isinstance(value, int) and value > 0:
                    setattr(self.spent, name, getattr(self.spent, name) + value)
            self.spent.billed_requests += 1

    def cost_usd(self) -> float:
        family, _ = price_family(self.model)
        price_in, price_out = PRICES[family]
        s = self.spent
        return (s.input_tokens * price_in + s.cache_creation_input_tokens * price_in * 1.25
                + s.cache_read_input_tokens * price_in * 0.1 + s.output_tokens * price_out) / 1_000_000

    def summary(self) -> str:
        family, known = price_family(self.model)
        s = self.spent
        priced = f"{family} list prices" + ("" if known else f" (model {self.model!r} not in the price table)")
        return (f"{s.total} tokens billed over {s.billed_requests} answers ({s.input_tokens} input, "
                f"{s.cache_creation_input_tokens} cache write, {s.cache_read_input_tokens} cache read, {s.output_tokens} output), "
                f"about ${self.cost_usd():.4f} at {priced}; budget {self.budget} tokens"
                + (f", {self.refused} request(s) not sent to stay within it" if self.refused else ""))


def answer_usage(exchange: Exchange) -> dict[str, Any] | None:
    """The usage a successful Messages answer reports: a JSON Message's `usage`, or for a stream message_start's usage
    with the last message_delta's cumulative counts laid over it."""
    if exchange.status is None or not 200 <= exchange.status < 300:
        return None
    if exchange.content_type == "text/event-stream":
        usage: dict[str, Any] = {}
        for event in exchange.sse().events:
            data = event.json()
            if not isinstance(data, dict):
                continue
            if data.get("type") == "message_start" and isinstance(data.get("message"), dict):
                usage.update(data["message"].get("usage") or {})
            elif data.get("type") == "message_delta" and isinstance(data.get("usage"), dict):
                usage.update({k: v for k, v in data["usage"].items() if v is not None})
        return usage or None
    payload = exchange.json()
    return payload.get("usage") if isinstance(payload, dict) and isinstance(payload.get("usage"), dict) else None
