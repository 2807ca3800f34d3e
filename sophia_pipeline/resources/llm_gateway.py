"""The LLM gateway: chat completions through Portkey, every request's usage recorded.

One resource (``llm_gateway``) in both profiles. Without ``PORTKEY_API_KEY`` it is
*unconfigured*: ``configured`` is false and the callers (the ``gong_summaries`` asset,
``serving/answer.py``) take their extractive path instead, with no network at all.
Configured, it sends OpenAI-style chat completions through the Portkey SDK to the
gateway (``PORTKEY_BASE_URL``, Portkey's cloud by default; any server speaking the
chat-completions protocol works, which is how the tests run it against a local one),
routed by a virtual key or a provider slug, for the model ``SOPHIA_LLM_MODEL``.

Every reply's usage (prompt and completion tokens, and the model that answered) becomes
one row of ``executive_intelligence.llm_usage``, priced by ``processing/llm_pricing.py``
because the reply carries token counts but no cost. Answers served from the semantic
cache are recorded too (``record_cache_hit``: a request answered, no tokens, no cost),
which is what makes ``llm_cost_efficiency`` (requests answered per USD) count caching.
A failed usage write is logged, never raised: the answer has been paid for already, and
failing the caller would lose it as well.

Secrets arrive as ``EnvVar`` inside Dagster (``defs/resources.py``); outside Dagster
(the HTTP/MCP services, the CLI) ``gateway_from_settings`` builds the same resource from
the settings' secret values, since an ``EnvVar`` only resolves inside Dagster.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import dagster as dg
from pydantic import PrivateAttr

from sophia_pipeline.processing.llm_pricing import cost_of
from sophia_pipeline.settings import DEFAULT_LLM_MODEL, Settings
from sophia_pipeline.store import executive
from sophia_pipeline.store.common import now_utc
from sophia_pipeline.store.warehouse import Warehouse

log = logging.getLogger(__name__)

Message = dict[str, str]


class LlmNotConfiguredError(RuntimeError):
    """A completion was asked of a gateway without an API key."""


class LlmCallError(RuntimeError):
    """The gateway or the model failed to answer (after the client's own retry)."""


@dataclass(frozen=True)
class LlmReply:
    text: str
    model: str  # the model that answered, as the reply names it
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    priced: bool  # false: the model is not in the price table (cost 0)
    usage_id: str


class LLMGateway(dg.ConfigurableResource):
    """Chat completions through Portkey; see the module docstring."""

    api_key: str | None = None
    virtual_key: str | None = None
    provider: str | None = None
    base_url: str | None = None  # unset: Portkey's cloud (https://api.portkey.ai/v1)
    model: str = DEFAULT_LLM_MODEL
    timeout_s: float = 30.0
    max_tokens: int = 400
    # Where usage rows go; None records nothing (a gateway used outside any warehouse).
    warehouse: Warehouse | None = None

    _client: Any = PrivateAttr(default=None)

    @property
    def configured(self) -> bool:
        return bool(self.api_key and self.api_key.strip())

    @property
    def provider_name(self) -> str:
        """What the usage rows call the provider."""
        if self.provider:
            return self.provider
        return "portkey-virtual-key" if self.virtual_key else "portkey"

    def client(self) -> Any:
        if not self.configured:
            raise LlmNotConfiguredError("PORTKEY_API_KEY is not set: no LLM is configured")
        if self._client is None:
            from portkey_ai import Portkey

            # Every argument explicit: unset, the SDK would read PORTKEY_* from the
            # process environment itself, bypassing the settings.
            self._client = Portkey(
                api_key=self.api_key,
                base_url=self.base_url or "https://api.portkey.ai/v1",
                virtual_key=self.virtual_key or None,
                provider=self.provider or None,
            )
        return self._client

    def chat(
        self, messages: Sequence[Message], *, purpose: str, temperature: float = 0.2
    ) -> LlmReply:
        """One chat completion; its usage is recorded before this returns."""
        try:
            response = self.client().chat.completions.create(
                model=self.model,
                messages=list(messages),
                max_tokens=self.max_tokens,
                temperature=temperature,
                timeout=self.timeout_s,
            )
        except LlmNotConfiguredError:
            raise
        except Exception as exc:
            # The SDK's errors name the URL and status, never the key.
            raise LlmCallError(f"LLM request failed: {type(exc).__name__}: {exc}") from exc
        reply = _reply_of(response, self.model)
        self.record([self._usage_row(reply, purpose, cache_hit=False)])
        return reply

    def record_cache_hit(self, model: str, purpose: str) -> None:
        """A request answered from the semantic cache: counted, free."""
        hit = LlmReply("", model, 0, 0, 0.0, True, uuid.uuid4().hex)
        self.record([self._usage_row(hit, purpose, cache_hit=True)])

    def _usage_row(self, reply: LlmReply, purpose: str, *, cache_hit: bool) -> dict[str, Any]:
        now = now_utc()
        return {
            "usage_id": reply.usage_id,
            "usage_date": now.date(),
            "called_at": now,
            "provider": self.provider_name,
            "model": reply.model,
            "purpose": purpose,
            "requests": 1,
            "cache_hits": int(cache_hit),
            "input_tokens": reply.prompt_tokens,
            "output_tokens": reply.completion_tokens,
            "cost_usd": reply.cost_usd,
            "priced": reply.priced,
        }

    def record(self, rows: list[dict[str, Any]]) -> None:
        if self.warehouse is None or not rows:
            return
        try:
            executive.record_llm_usage(self.warehouse, rows)
        except Exception as exc:
            log.warning("recording %d LLM usage row(s) failed: %s", len(rows), exc)


def _reply_of(response: Any, asked_model: str) -> LlmReply:
    choices = getattr(response, "choices", None) or []
    message = getattr(choices[0], "message", None) if choices else None
    text = getattr(message, "content", None) if message is not None else None
    if not isinstance(text, str) or not text.strip():
        raise LlmCallError("LLM reply holds no text")
    usage = getattr(response, "usage", None)
    prompt = int(getattr(usage, "prompt_tokens", 0) or 0)
    completion = int(getattr(usage, "completion_tokens", 0) or 0)
    model = str(getattr(response, "model", None) or asked_model)
    cost = cost_of(model, prompt, completion)
    if not cost.priced:
        log.warning("model %r is not in the LLM price table; its cost is recorded as 0", model)
    return LlmReply(
        text.strip(), model, prompt, completion, cost.usd, cost.priced, uuid.uuid4().hex
    )


def gateway_from_settings(settings: Settings, warehouse: Warehouse | None) -> LLMGateway:
    """The gateway for a process outside Dagster (services, CLI), from the settings'
    values; unconfigured when ``PORTKEY_API_KEY`` is unset."""
    llm = settings.llm
    return LLMGateway(
        api_key=llm.api_key.get_secret_value() if llm.configured and llm.api_key else None,
        virtual_key=llm.virtual_key.get_secret_value() if llm.virtual_key else None,
        provider=llm.provider,
        base_url=llm.base_url,
        model=llm.model,
        timeout_s=llm.timeout_s,
        max_tokens=llm.max_tokens,
        warehouse=warehouse,
    )
