"""The one interface every provider adapter implements, and the registry that picks one by
``kind``. HTTP plumbing the adapters share is in ``providers.http``."""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Protocol

from workbench.domain import ChatRequest, ModelInfo, ProviderConfig
from workbench.providers import errors
from workbench.providers.events import StreamEvent

if TYPE_CHECKING:  # only an annotation here; importing httpx costs start-up time (Q2)
    import httpx


class Provider(Protocol):
    """A streaming chat adapter for one API dialect.

    ``stream`` yields typed events and raises only ``ProviderError`` subclasses (and
    ``CancelledError``). Leaving the iterator early closes the HTTP response. The runner sends
    the request again after a failure raised before the first event (providers/retry.py says
    which; ``http_status_error`` and ``transport_error`` give errors what it reads).
    """

    kind: str
    #: False when the server is known not to report usage (the meter stays an estimate).
    reports_usage: bool

    def stream(self, client: httpx.AsyncClient, model: ModelInfo, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        ...


# kind → (module, class); imported on first use so one dialect's code loads only when needed
ADAPTERS = {
    "openai": ("workbench.providers.openai", "OpenAIProvider"),
    "anthropic": ("workbench.providers.anthropic", "AnthropicProvider"),
    "gemini": ("workbench.providers.gemini", "GeminiProvider"),
    "ollama": ("workbench.providers.ollama", "OllamaProvider"),
}


def make_provider(config: ProviderConfig, api_key: str | None) -> Provider:
    """The adapter for a provider config."""
    entry = ADAPTERS.get(config.kind)
    if entry is None:
        raise errors.ProviderError(f"provider kind {config.kind!r} is not supported ({', '.join(ADAPTERS)})")
    try:
        module = importlib.import_module(entry[0])
    except ImportError:
        raise errors.ProviderError(f"provider kind {config.kind!r} is not available in this build") from None
    return getattr(module, entry[1])(config, api_key)
