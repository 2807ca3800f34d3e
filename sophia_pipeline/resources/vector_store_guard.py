"""The index sync's calls to the vector store, retried and behind a circuit breaker.

A vector store that fails every call for a while (a Pinecone outage, a LanceDB folder on
a dying disk) should cost each call a few quick retries, then open the breaker so the
asset fails at once with a message that names the dependency, instead of every call of
every retry of the step waiting out its own errors. Nothing is lost either way: the
manifest is written only after the index, so the next run writes what this one did not.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pybreaker
import tenacity

from sophia_pipeline.reliability.errors import DependencyFailure
from sophia_pipeline.reliability.retry import describe_exception

from .vector_store import VectorStore

NAME = "vector_store"


class VectorStoreUnavailable(RuntimeError):
    """The vector store failed past its retries, or its breaker is open."""


class GuardedVectorStore:
    """``store``'s methods, each retried (``attempts`` in all, exponential back-off) and
    counted by ``breaker``. ValueError and TypeError are our own mistakes (a wrong
    dimension, a bad argument): raised at once, never retried, never counted."""

    def __init__(
        self,
        store: VectorStore,
        breaker: pybreaker.CircuitBreaker,
        *,
        attempts: int = 3,
        base_delay_s: float = 0.5,
    ) -> None:
        self._store = store
        self._breaker = breaker
        self._retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(attempts),
            wait=tenacity.wait_exponential(multiplier=base_delay_s, max=8),
            retry=tenacity.retry_if_not_exception_type((ValueError, TypeError)),
            reraise=True,
        )
        self._attempts = attempts

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._store, name)
        if not callable(target):
            return target

        def guarded(*args: Any, **kwargs: Any) -> Any:
            try:
                return self._breaker.call(self._retried, name, target, *args, **kwargs)
            except pybreaker.CircuitBreakerError:
                raise VectorStoreUnavailable(
                    f"{NAME}: circuit breaker open after repeated failures; {name} not "
                    "called (the next run writes what this one did not)"
                ) from None
            except DependencyFailure as exc:
                raise VectorStoreUnavailable(
                    f"{NAME}: {name} failed {self._attempts} times: {exc.reason}"
                ) from exc

        return guarded

    def _retried(self, name: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return self._retrying(fn, *args, **kwargs)
        except (ValueError, TypeError):
            raise
        except Exception as exc:
            # A DependencyFailure counts toward the breaker (reliability.breaker).
            raise DependencyFailure(NAME, describe_exception(exc)) from exc
