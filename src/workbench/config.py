"""Config file (TOML, I3) → typed, validated settings.

Every problem is reported as one ``ConfigError`` naming the file and the key, so the CLI can
print one line and exit 2 instead of a traceback. The built-in catalog (the ten models of the
field notes) is read by the same code; a user's file extends and overrides it by id.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from importlib import resources
from pathlib import Path
from typing import Any

from workbench.domain import (
    PROVIDER_KINDS,
    Defaults,
    ModelInfo,
    Prices,
    ProviderConfig,
    RoutingPolicy,
    UiSettings,
)
from workbench.prices import (
    MAX_PRICE_PER_M,
    TIER_FIELDS,
    PriceRecordError,
    apply_imported,
    explicit_price_keys,
    load_record,
)

BUILTIN_NAME = "<built-in catalog>"

_PROVIDER_KEYS = {
    "kind", "base_url", "api_key_env", "api_key", "allow_inline_key",
    "connect_timeout", "read_timeout", "max_retries", "ca_bundle",
}
_MODEL_KEYS = {
    "id", "provider", "name", "model", "input_per_m", "output_per_m", "cached_input_per_m",
    "cache_write_per_m", "above_tokens", *TIER_FIELDS,
    "routed", "vendor", "archetype", "id_published", "temperature",
}
_TOP_KEYS = {"providers", "models", "defaults", "ui", "keys", "routing"}
_ROUTING_KEYS = ("easy", "medium", "hard")


class ConfigError(Exception):
    """A config problem, worded for one line: ``FILE: KEY: what is wrong``."""

    def __init__(self, file: str | Path, key: str, problem: str) -> None:
        self.file = str(file)
        self.key = key
        self.problem = problem
        super().__init__(f"{self.file}: {key}: {problem}" if key else f"{self.file}: {problem}")


@dataclass(frozen=True)
class Settings:
    """Everything read from the built-in catalog and the user's config."""

    providers: dict[str, ProviderConfig]
    models: dict[str, ModelInfo]
    defaults: Defaults = Defaults()
    ui: UiSettings = UiSettings()
    keymap: dict[str, str] = field(default_factory=dict)
    source: Path | None = None
    routing: RoutingPolicy = RoutingPolicy()


def load_settings(path: Path | None, *, must_exist: bool = False) -> Settings:
    """Read the built-in catalog, then the user's file at ``path`` if it exists."""
    builtin = _parse_toml_text(
        resources.files("workbench.data").joinpath("catalog.toml").read_text("utf-8"),
        BUILTIN_NAME,
    )
    providers: dict[str, ProviderConfig] = {}
    models: dict[str, ModelInfo] = {}
    raw_models: dict[str, dict] = {}
    _merge(builtin, BUILTIN_NAME, providers, models, raw_models)
    defaults, ui, keymap, routing = Defaults(), UiSettings(), {}, RoutingPolicy()
    user_models: Any = []  # the user's own [[models]] tables: a price set there beats an import
    if path is not None and path.exists():
        try:
            text = path.read_text("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(path, "", f"cannot read the file ({exc})") from None
        data = _parse_toml_text(text, path)
        unknown = set(data) - _TOP_KEYS
        if unknown:
            raise ConfigError(path, sorted(unknown)[0], f"unknown table or key (known: {', '.join(sorted(_TOP_KEYS))})")
        _merge(data, path, providers, models, raw_models)
        user_models = data.get("models", [])
        defaults = _parse_defaults(data.get("defaults", {}), path)
        ui = _parse_ui(data.get("ui", {}), path)
        keymap = _parse_keys(data.get("keys", {}), path)
        routing = _parse_routing(data.get("routing", {}), path)
    elif path is not None and must_exist:
        raise ConfigError(path, "", "no such file")
    _overlay_imported_prices(models, user_models)
    _check_references(providers, models, path or BUILTIN_NAME)
    for i, model_id in enumerate(defaults.models):
        if model_id not in models:
            raise ConfigError(path or BUILTIN_NAME, f"defaults.models[{i}]", f"unknown model id {model_id!r}")
    # Checked after every model is merged: a policy may name a model the same file adds.
    for level in _ROUTING_KEYS:
        model_id = getattr(routing, level)
        if model_id not in models:
            raise ConfigError(path or BUILTIN_NAME, f"routing.{level}",
                              f"unknown model id {model_id!r} (`workbench models` lists the ids)")
    return Settings(providers, models, defaults, ui, keymap, path, routing)


def _overlay_imported_prices(models: dict[str, ModelInfo], user_models: Any) -> None:
    """Lay prices from `workbench prices import` (<data dir>/prices.json) over the catalog.

    An import beats the built-in catalog (it is newer), but a price the user's own config sets
    beats an import (it was written on purpose). A damaged record is a one-line error naming it.
    """
    try:
        record = load_record()
    except PriceRecordError as exc:
        raise ConfigError(exc.file, exc.key, exc.problem) from None
    models.update(apply_imported(models, record, explicit_price_keys(user_models)))


def _parse_toml_text(text: str, file: str | Path) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(file, "", f"not valid TOML: {exc}") from None
    except RecursionError:  # tomllib recurses once per level of nested arrays or tables
        raise ConfigError(file, "", "not valid TOML: nested too deeply to read") from None


def _merge(data: dict[str, Any], file: str | Path, providers: dict, models: dict, raw: dict[str, dict]) -> None:
    """Add a file's providers and models; a model whose id exists already is updated key by
    key (so a user can add an input price to a built-in model without repeating the rest)."""
    raw_providers = data.get("providers", {})
    if not isinstance(raw_providers, dict):
        raise ConfigError(file, "providers", "must be a table of [providers.NAME] tables")
    for name, table in raw_providers.items():
        providers[name] = _parse_provider(name, table, file)
    raw_models = data.get("models", [])
    if not isinstance(raw_models, list):
        raise ConfigError(file, "models", "must be an array of [[models]] tables")
    seen: set[str] = set()
    for i, table in enumerate(raw_models):
        if isinstance(table, dict) and isinstance(table.get("id"), str) and table["id"] in raw:
            table = {**raw[table["id"]], **table}
        model = _parse_model(i, table, file)
        raw[model.id] = table
        if model.id in seen:
            raise ConfigError(file, f"models[{i}].id", f"duplicate id {model.id!r}")
        seen.add(model.id)
        models[model.id] = model


def _parse_provider(name: str, table: Any, file: str | Path) -> ProviderConfig:
    where = f"providers.{name}"
    if not isinstance(table, dict):
        raise ConfigError(file, where, "must be a table")
    _reject_unknown(table, _PROVIDER_KEYS, where, file)
    kind = _req_str(table, "kind", where, file)
    if kind not in PROVIDER_KINDS:
        raise ConfigError(file, f"{where}.kind", f"{kind!r} is not one of {', '.join(PROVIDER_KINDS)}")
    base_url = _req_str(table, "base_url", where, file)
    if not base_url.startswith(("http://", "https://")):
        raise ConfigError(file, f"{where}.base_url", "must start with http:// or https://")
    api_key = _opt(table, "api_key", str, where, file)
    # Type-checked: `allow_inline_key = "no"` is a truthy string and must not let a key in.
    allow_inline = _opt(table, "allow_inline_key", bool, where, file) or False
    if api_key is not None and not allow_inline:
        raise ConfigError(
            file, f"{where}.api_key",
            "keys belong in the environment: set api_key_env instead "
            "(or allow_inline_key = true if you insist)",
        )
    timeouts = {}
    for key, default in (("connect_timeout", 10.0), ("read_timeout", 300.0)):
        value = _opt(table, key, (int, float), where, file)
        # Checked here: 0 or a negative number would time out every request at once.
        if value is not None and not value > 0:
            raise ConfigError(file, f"{where}.{key}", "must be a number of seconds > 0")
        timeouts[key] = float(value) if value is not None else default
    max_retries = _opt(table, "max_retries", int, where, file)
    # Capped: each retry can wait up to a minute, and a pane should not hang for an hour.
    if max_retries is not None and not 0 <= max_retries <= 10:
        raise ConfigError(file, f"{where}.max_retries", "must be a whole number from 0 to 10")
    return ProviderConfig(
        name=name,
        kind=kind,
        base_url=base_url.rstrip("/"),
        api_key_env=_opt(table, "api_key_env", str, where, file),
        api_key=api_key,
        max_retries=max_retries if max_retries is not None else 2,
        ca_bundle=_ca_bundle(table, where, file),
        **timeouts,
    )


def _ca_bundle(table: dict, where: str, file: str | Path) -> str | None:
    """`ca_bundle`: a PEM file, checked now so a typo is a config error, not a TLS failure later."""
    value = _opt(table, "ca_bundle", str, where, file)
    if value is None:
        return None
    path = Path(value).expanduser()
    if not path.is_absolute() and isinstance(file, Path):
        path = file.parent / path  # relative to the config file, not to wherever workbench runs
    if not path.is_file():
        raise ConfigError(file, f"{where}.ca_bundle", f"no such file {str(path)!r} (a PEM file of CA certificates)")
    return str(path)


def _parse_model(i: int, table: Any, file: str | Path) -> ModelInfo:
    where = f"models[{i}]"
    if not isinstance(table, dict):
        raise ConfigError(file, where, "must be a table")
    _reject_unknown(table, _MODEL_KEYS, where, file)
    model_id = _req_str(table, "id", where, file)
    where = f"models[{i}] (id {model_id!r})"
    temperature = _opt(table, "temperature", (int, float), where, file)
    return ModelInfo(
        id=model_id,
        provider=_req_str(table, "provider", where, file),
        name=_opt(table, "name", str, where, file) or model_id,
        upstream=_opt(table, "model", str, where, file) or model_id,
        prices=_prices(table, where, file),
        routed=bool(_opt(table, "routed", bool, where, file) or False),
        vendor=_opt(table, "vendor", str, where, file),
        archetype=_opt(table, "archetype", str, where, file),
        temperature=float(temperature) if temperature is not None else None,
    )


def _parse_defaults(table: Any, file: Path) -> Defaults:
    if not isinstance(table, dict):
        raise ConfigError(file, "defaults", "must be a table")
    _reject_unknown(table, {"models", "temperature", "system", "max_tokens"}, "defaults", file)
    base = Defaults()
    models = table.get("models", list(base.models))
    if not isinstance(models, list) or not all(isinstance(m, str) for m in models) or not models:
        raise ConfigError(file, "defaults.models", "must be a non-empty list of model ids")
    if len(models) > 10:
        raise ConfigError(file, "defaults.models", "at most 10 models take part in a round")
    temperature = _opt(table, "temperature", (int, float), "defaults", file)
    if temperature is not None and not 0 <= temperature <= 2:
        raise ConfigError(file, "defaults.temperature", "must be between 0 and 2")
    max_tokens = _opt(table, "max_tokens", int, "defaults", file)
    if max_tokens is not None and max_tokens <= 0:
        raise ConfigError(file, "defaults.max_tokens", "must be a positive whole number")
    return Defaults(
        models=tuple(models),
        temperature=float(temperature) if temperature is not None else base.temperature,
        system=_opt(table, "system", str, "defaults", file) or "",
        max_tokens=max_tokens,
    )


def _parse_ui(table: Any, file: Path) -> UiSettings:
    if not isinstance(table, dict):
        raise ConfigError(file, "ui", "must be a table")
    _reject_unknown(table, {"theme", "flush_hz", "stream_reader"}, "ui", file)
    flush_hz = _opt(table, "flush_hz", (int, float), "ui", file)
    if flush_hz is not None and not 1 <= flush_hz <= 60:
        raise ConfigError(file, "ui.flush_hz", "must be between 1 and 60")
    stream_reader = _opt(table, "stream_reader", str, "ui", file) or UiSettings.stream_reader
    if stream_reader not in ("auto", "process", "inline"):
        raise ConfigError(file, "ui.stream_reader", 'must be "auto", "process" or "inline"')
    return UiSettings(
        theme=_opt(table, "theme", str, "ui", file) or UiSettings.theme,
        flush_hz=float(flush_hz) if flush_hz is not None else None,
        stream_reader=stream_reader,
    )


def _parse_keys(table: Any, file: Path) -> dict[str, str]:
    if not isinstance(table, dict) or not all(isinstance(v, str) for v in table.values()):
        raise ConfigError(file, "keys", 'must map binding ids to keys, e.g. stop-streams = "escape"')
    return dict(table)


def _parse_routing(table: Any, file: Path) -> RoutingPolicy:
    """`[routing]`: any subset of easy/medium/hard; the rest keep the notes' default map."""
    if not isinstance(table, dict):
        raise ConfigError(file, "routing", 'must be a table, e.g. [routing] hard = "deepseek-r1"')
    _reject_unknown(table, set(_ROUTING_KEYS), "routing", file)
    chosen = {}
    for level, value in table.items():
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(file, f"routing.{level}", "must be a model id (a non-empty string)")
        chosen[level] = value.strip()
    return RoutingPolicy(**chosen)


def _check_references(providers: dict, models: dict, file: str | Path) -> None:
    for model in models.values():
        if model.provider not in providers:
            raise ConfigError(file, f"models (id {model.id!r}).provider", f"unknown provider {model.provider!r}")


def _reject_unknown(table: dict, known: set[str], where: str, file: str | Path) -> None:
    unknown = sorted(set(table) - known)
    if unknown:
        raise ConfigError(file, f"{where}.{unknown[0]}", f"unknown key (known: {', '.join(sorted(known))})")


def _req_str(table: dict, key: str, where: str, file: str | Path) -> str:
    value = table.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(file, f"{where}.{key}", "is required and must be a non-empty string")
    return value


def _opt(table: dict, key: str, types: Any, where: str, file: str | Path) -> Any:
    value = table.get(key)
    if value is None:
        return None
    allowed = types if isinstance(types, tuple) else (types,)
    # bool is an int subclass: `temperature = true` must not pass as 1.
    if not isinstance(value, allowed) or (isinstance(value, bool) and bool not in allowed):
        raise ConfigError(file, f"{where}.{key}", f"has the wrong type ({type(value).__name__})")
    return value


def _prices(table: dict, where: str, file: str | Path) -> Prices:
    """The price keys of a ``[[models]]`` table: the flat ones, and a tier past ``above_tokens``."""
    above = _opt(table, "above_tokens", int, where, file)
    if above is not None and above <= 0:
        raise ConfigError(file, f"{where}.above_tokens", "must be a whole number of input tokens > 0")
    tier = {key: _price(table, key, where, file) for key in TIER_FIELDS}
    given = [key for key, value in tier.items() if value is not None]
    if given and above is None:
        raise ConfigError(file, f"{where}.{given[0]}", "needs above_tokens: the input size past which it applies")
    if above is not None and not given:
        raise ConfigError(file, f"{where}.above_tokens",
                          "needs the prices past it, e.g. input_above_per_m and output_above_per_m")
    return Prices(
        input_per_m=_price(table, "input_per_m", where, file),
        output_per_m=_price(table, "output_per_m", where, file),
        cached_input_per_m=_price(table, "cached_input_per_m", where, file),
        cache_write_per_m=_price(table, "cache_write_per_m", where, file),
        above_tokens=above,
        **tier,
    )


def _price(table: dict, key: str, where: str, file: str | Path) -> Decimal | None:
    value = table.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ConfigError(file, f"{where}.{key}", "must be a number (US$ per million tokens)")
    try:
        # str() first: a TOML float like 0.35 must become Decimal("0.35"), not its binary tail.
        price = Decimal(str(value))
    except InvalidOperation:
        raise ConfigError(file, f"{where}.{key}", f"{value!r} is not a number") from None
    if not price.is_finite() or price < 0:
        raise ConfigError(file, f"{where}.{key}", "must be a number ≥ 0")
    if price > MAX_PRICE_PER_M:
        # a typo (a per-token price times a million twice?) that would print 400-digit dollars
        raise ConfigError(file, f"{where}.{key}",
                          f"{value!r} US$ per million tokens is above {MAX_PRICE_PER_M:,}: not a believable price")
    return price


def api_key_for(provider: ProviderConfig) -> str | None:
    """The key for a provider, from its environment variable (or inline, if insisted)."""
    if provider.api_key_env:
        value = os.environ.get(provider.api_key_env)
        if value:
            return value.strip()
    return provider.api_key
