"""Imported price lists (`workbench prices import`) and where each price in force comes from.

Two public formats are read: LiteLLM's ``model_prices_and_context_window.json`` (a dict of model
name → per-token numbers) and OpenRouter's ``GET /api/v1/models`` (``{"data": [...]}`` with
per-token decimal strings). Entries are matched to the catalog's models; what matched is kept,
price by price with its source and date, in ``<data dir>/prices.json``. ``load_settings`` lays that
record over the built-in catalog, but a price the user's own config file sets wins: it was
written on purpose, an import is a bulk guess. An unknown price in a list never replaces a known
one, and never becomes 0 (C2: unknown is shown as unknown).
"""

from __future__ import annotations

import json
import os
import tempfile
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timezone
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from workbench.domain import ModelInfo
from workbench.paths import data_dir

# The three prices of a model, named as in the config file (and in the record).
PRICE_FIELDS = ("input_per_m", "cached_input_per_m", "output_per_m")
RECORD_VERSION = 1
# LiteLLM lists embeddings, image and audio models too; only text generation is priced per token
# the way an answer is. An entry without a mode is kept (older files leave it out).
_TEXT_MODES = {None, "chat", "completion", "responses"}


class PriceFileError(Exception):
    """A price list that cannot be read or is in no known format (one line, exit 2)."""


class PriceRecordError(Exception):
    """``prices.json`` is damaged; worded like a ConfigError: file, key, problem."""

    def __init__(self, file: Path, key: str, problem: str) -> None:
        self.file, self.key, self.problem = file, key, problem
        super().__init__(f"{file}: {key}: {problem}" if key else f"{file}: {problem}")


def record_file() -> Path:
    """Where imported prices are kept."""
    return data_dir() / "prices.json"


# --- reading a price list ------------------------------------------------------------------


@dataclass(frozen=True)
class PriceEntry:
    """One model of a price list, its prices converted to US$ per million tokens."""

    name: str
    prices: dict[str, Decimal | None]
    provider: str | None = None  # LiteLLM's litellm_provider; "openrouter" for OpenRouter lists

    @property
    def known(self) -> bool:
        """True when at least one price is known."""
        return any(v is not None for v in self.prices.values())


@dataclass(frozen=True)
class PriceList:
    """A parsed price list."""

    format: str  # "litellm" or "openrouter"
    entries: list[PriceEntry]
    skipped: int = 0  # entries that are not text models, or not entries at all

    @property
    def label(self) -> str:
        """The format's name for people."""
        return {"litellm": "LiteLLM", "openrouter": "OpenRouter /models"}[self.format]


def read_price_list(path: Path) -> PriceList:
    """Read and parse a price list file; PriceFileError for anything a user must fix."""
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        raise PriceFileError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise PriceFileError(f"{path}: is a directory, not a price list") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PriceFileError(f"{path}: cannot read the file ({exc})") from None
    try:
        # parse_float=Decimal: 2.5e-06 stays exactly 2.5e-06, so $2.50/M is not $2.4999…/M.
        data = json.loads(text, parse_float=Decimal)
    except ValueError as exc:
        raise PriceFileError(f"{path}: not JSON ({exc})") from None
    return parse_price_list(data, str(path))


def detect_format(data: Any) -> str | None:
    """'litellm', 'openrouter', or None when the data looks like neither."""
    # No LiteLLM model is called "data", and none holds a list: {"data": []} is an empty OpenRouter list.
    if isinstance(data, dict) and isinstance(data.get("data"), list):
        return "openrouter"
    if isinstance(data, dict):
        marks = ("input_cost_per_token", "output_cost_per_token", "litellm_provider")
        if any(isinstance(v, dict) and any(k in v for k in marks)
               for name, v in data.items() if name != "sample_spec"):
            return "litellm"
    return None


def parse_price_list(data: Any, where: str = "price list") -> PriceList:
    """The entries of LiteLLM or OpenRouter data (already decoded with Decimal floats)."""
    kind = detect_format(data)
    if kind == "openrouter":
        return _parse_openrouter(data["data"])
    if kind == "litellm":
        return _parse_litellm(data)
    raise PriceFileError(f"{where}: neither LiteLLM's model_prices_and_context_window.json format (model name → "
                         "{input_cost_per_token, …}) nor OpenRouter's /models format ({\"data\": [{\"id\", "
                         "\"pricing\"}]})")


def _parse_litellm(data: dict) -> PriceList:
    entries, skipped = [], 0
    for name, spec in data.items():
        # sample_spec documents the keys with 0.0 placeholders: read as prices it would say "free".
        if name == "sample_spec" or not isinstance(spec, dict) or spec.get("mode") not in _TEXT_MODES:
            skipped += 1
            continue
        # DeepSeek's entries name the cache-hit price differently.
        cached = spec.get("cache_read_input_token_cost", spec.get("input_cost_per_token_cache_hit"))
        prices = {
            "input_per_m": per_million(spec.get("input_cost_per_token")),
            "cached_input_per_m": per_million(cached),
            "output_per_m": per_million(spec.get("output_cost_per_token")),
        }
        provider = spec.get("litellm_provider")
        entries.append(PriceEntry(str(name), prices, provider if isinstance(provider, str) else None))
    return PriceList("litellm", entries, skipped)


def _parse_openrouter(models: list) -> PriceList:
    entries, skipped = [], 0
    for item in models:
        if not isinstance(item, dict) or not isinstance(item.get("id"), str) or not item["id"].strip():
            skipped += 1
            continue
        pricing = item.get("pricing") if isinstance(item.get("pricing"), dict) else {}
        prices = {
            "input_per_m": per_million(pricing.get("prompt")),
            "cached_input_per_m": per_million(pricing.get("input_cache_read")),
            "output_per_m": per_million(pricing.get("completion")),
        }
        entries.append(PriceEntry(item["id"].strip(), prices, "openrouter"))
    return PriceList("openrouter", entries, skipped)


def per_million(value: Any) -> Decimal | None:
    """A per-token price (Decimal, int or decimal string) as US$ per million tokens, exactly.

    None for anything that is not a known price: absent, not a number, not finite, or negative
    (OpenRouter's "-1" marks a router whose price depends on the model it picks). "0" is free.
    """
    # bool is an int subclass: `true` is not a price. A float only comes from a caller that
    # parsed without parse_float=Decimal; str() keeps its shortest form rather than its binary tail.
    if isinstance(value, bool) or not isinstance(value, (str, int, float, Decimal)):
        return None
    try:
        number = Decimal(value.strip() if isinstance(value, str) else str(value))
    except InvalidOperation:
        return None
    if not number.is_finite() or number < 0:
        return None
    # scaleb moves the decimal point: exact, no rounding, no float on the way.
    return number.scaleb(6).normalize() if number else Decimal(0)


# --- matching entries to the catalog -------------------------------------------------------


@dataclass(frozen=True)
class Change:
    """One price of one model before and after an import."""

    field: str
    old: Decimal | None
    imported: Decimal
    config_wins: bool  # the user's config sets this price: the import is recorded, not in force

    @property
    def new(self) -> Decimal | None:
        """The price in force after the import."""
        return self.old if self.config_wins else self.imported

    @property
    def changed(self) -> bool:
        """True when the price in force moves."""
        return self.new != self.old


@dataclass(frozen=True)
class ModelMatch:
    """A catalog model and the entry of the list that prices it."""

    model_id: str
    entry: PriceEntry
    changes: list[Change]


@dataclass
class ImportPlan:
    """What an import would do, before anything is written."""

    price_list: PriceList
    matches: list[ModelMatch] = field(default_factory=list)
    no_price: dict[str, str] = field(default_factory=dict)  # model id → entry with only unknown prices
    not_found: list[str] = field(default_factory=list)  # model ids no entry names

    @property
    def entries_used(self) -> int:
        """Entries of the list that priced at least one catalog model."""
        return len({m.entry.name for m in self.matches})


def _variants(name: str) -> list[tuple[str, int, list[str]]]:
    """A name and its forms without vendor prefixes: (name, prefixes stripped, the prefixes)."""
    parts = name.strip().lower().split("/")
    return [("/".join(parts[i:]), i, parts[:i]) for i in range(len(parts)) if parts[i]]


def match_entry(model: ModelInfo, price_list: PriceList) -> PriceEntry | None:
    """The entry of the list that best names this model, or None.

    Tried: the upstream id (what the provider is sent), then the catalog id, each with and
    without vendor prefixes on either side ("openrouter/deepseek/deepseek-r1" ~ "deepseek-r1").
    Case is ignored. Among several, the best is the one whose prefix or provider names the
    model's provider or vendor, then the one with the fewest prefixes stripped, then the first.
    A free (0) price under another provider's prefix is not taken: "ollama/qwen3" is free because
    it runs locally, which says nothing of what a paid gateway charges for qwen3.
    """
    own = {n.lower() for n in (model.provider, model.vendor or "") if n}
    wanted: dict[str, tuple[int, int]] = {}
    for rank, name in enumerate((model.upstream, model.id)):
        for variant, depth, _ in _variants(name):
            wanted.setdefault(variant, (rank, depth))
    best: tuple | None = None
    for order, entry in enumerate(price_list.entries):
        for variant, depth, prefixes in _variants(entry.name):
            hit = wanted.get(variant)
            if hit is None:
                continue
            named = set(prefixes) | ({entry.provider.lower()} if entry.provider else set())
            if depth and not named & own and any(v == 0 for v in entry.prices.values()):
                continue
            key = (hit[0], 0 if named & own else 1, hit[1] + depth, not entry.known, order)
            if best is None or key < best[0]:
                best = (key, entry)
    return None if best is None else best[1]


def plan_import(models: Iterable[ModelInfo], price_list: PriceList, explicit: dict[str, set[str]]) -> ImportPlan:
    """Match every catalog model against the list and say what would change."""
    plan = ImportPlan(price_list)
    for model in models:
        entry = match_entry(model, price_list)
        if entry is None:
            plan.not_found.append(model.id)
            continue
        if not entry.known:
            plan.no_price[model.id] = entry.name
            continue
        changes = [Change(f, getattr(model.prices, f), entry.prices[f], f in explicit.get(model.id, set()))
                   for f in PRICE_FIELDS if entry.prices[f] is not None]
        plan.matches.append(ModelMatch(model.id, entry, changes))
    return plan


# --- the record: prices.json ---------------------------------------------------------------


def load_record(path: Path | None = None) -> dict:
    """The record of imported prices (empty when nothing was imported), validated."""
    path = path or record_file()
    try:
        text = path.read_text("utf-8")
    except (FileNotFoundError, NotADirectoryError):
        # Nothing imported. (An unusable data dir is the store's to report, in its own words.)
        return {"version": RECORD_VERSION, "models": {}, "imports": []}
    except (OSError, UnicodeDecodeError) as exc:
        raise PriceRecordError(path, "", f"cannot read the imported prices ({exc})") from None
    hint = "delete the file to go back to the catalog's prices, then import again"
    try:
        data = json.loads(text)
    except ValueError:
        raise PriceRecordError(path, "", f"not JSON; {hint}") from None
    if not isinstance(data, dict) or data.get("version") != RECORD_VERSION or not isinstance(data.get("models"), dict):
        raise PriceRecordError(path, "version", f"not a version {RECORD_VERSION} price record; {hint}")
    for model_id, fields in data["models"].items():
        if not isinstance(fields, dict) or set(fields) - set(PRICE_FIELDS):
            raise PriceRecordError(path, f"models.{model_id}", f"must map {', '.join(PRICE_FIELDS)} to prices; {hint}")
        for name, item in fields.items():
            price = item.get("price") if isinstance(item, dict) else None
            if per_million_str(price) is None or not isinstance(item.get("source"), str):
                raise PriceRecordError(path, f"models.{model_id}.{name}", f"needs a price ≥ 0 and a source; {hint}")
    data.setdefault("imports", [])
    return data


def per_million_str(value: Any) -> Decimal | None:
    """A stored price string back to Decimal (None when it is not a price ≥ 0)."""
    if not isinstance(value, str):
        return None
    try:
        price = Decimal(value)
    except InvalidOperation:
        return None
    return price if price.is_finite() and price >= 0 else None


def record_import(record: dict, plan: ImportPlan, *, source: str, file: Path, source_date: date,
                  imported_at: datetime) -> dict:
    """A new record: the old one with this import's known prices laid over it, price by price.

    Price by price, not model by model: a list that leaves the cached price out must not take
    away the cached price an earlier list gave (an unknown never replaces a known price).
    """
    models = {k: dict(v) for k, v in record.get("models", {}).items()}
    stamp = imported_at.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
    for match in plan.matches:
        fields = models.setdefault(match.model_id, {})
        for change in match.changes:
            fields[change.field] = {"price": format(change.imported, "f"), "source": source,
                                    "date": source_date.isoformat(), "imported_at": stamp,
                                    "entry": match.entry.name}
    imports = list(record.get("imports", [])) + [{
        "source": source, "file": str(file), "format": plan.price_list.format, "date": source_date.isoformat(),
        "imported_at": stamp, "models": [m.model_id for m in plan.matches]}]
    return {"version": RECORD_VERSION, "models": models, "imports": imports}


def save_record(record: dict, path: Path | None = None) -> Path:
    """Write the record atomically (a temp file in the same directory, then os.replace), so a
    crash or a second workbench never leaves half a file that would stop settings loading."""
    path = path or record_file()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".prices.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise PriceFileError(f"{path.parent}: cannot write the price record ({exc})") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(record, out, indent=2, sort_keys=True)
            out.write("\n")
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise PriceFileError(f"{path}: cannot write the price record ({exc})") from None
    return path


# --- the overlay and where each price comes from -------------------------------------------


def explicit_price_keys(user_models: Any) -> dict[str, set[str]]:
    """Model id → the prices the user's own ``[[models]]`` tables set (these beat an import)."""
    out: dict[str, set[str]] = {}
    for table in user_models if isinstance(user_models, list) else []:
        if isinstance(table, dict) and isinstance(table.get("id"), str):
            out.setdefault(table["id"], set()).update(f for f in PRICE_FIELDS if table.get(f) is not None)
    return out


def explicit_prices_in(config: Path | None) -> dict[str, set[str]]:
    """``explicit_price_keys`` of a config file (already validated by load_settings)."""
    if config is None or not config.is_file():
        return {}
    try:
        return explicit_price_keys(tomllib.loads(config.read_text("utf-8")).get("models"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return {}


def apply_imported(models: dict[str, ModelInfo], record: dict,
                   explicit: dict[str, set[str]]) -> dict[str, ModelInfo]:
    """The models whose prices the record changes, with those prices in force."""
    out = {}
    for model_id, fields in record.get("models", {}).items():
        model = models.get(model_id)
        if model is None:  # a model since removed from the config: its prices wait unused
            continue
        taken = {f: per_million_str(item["price"]) for f, item in fields.items()
                 if f not in explicit.get(model_id, set())}
        if taken:
            out[model_id] = replace(model, prices=replace(model.prices, **taken))
    return out


@dataclass(frozen=True)
class Source:
    """Where one price in force comes from."""

    kind: str  # "builtin", "config", "import" or "unknown"
    label: str
    detail: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        """For `workbench prices --json`."""
        return {"kind": self.kind, "label": self.label, **self.detail}


def price_sources(models: Iterable[ModelInfo], config_file: Path | None, record: dict,
                  explicit: dict[str, set[str]]) -> dict[str, dict[str, Source]]:
    """Model id → price field → its Source, following the overlay's order: config (``config_file``),
    import, built-in."""
    config_label = f"config: {config_file}"
    out: dict[str, dict[str, Source]] = {}
    for model in models:
        imported = record.get("models", {}).get(model.id, {})
        per_field = {}
        for f in PRICE_FIELDS:
            if getattr(model.prices, f) is None:
                per_field[f] = Source("unknown", "unknown")
            elif f in explicit.get(model.id, set()):
                per_field[f] = Source("config", config_label, {"file": str(config_file)})
            elif f in imported:
                item = imported[f]
                per_field[f] = Source("import", f"import: {item['source']} {item.get('date', '')}".rstrip(),
                                      {k: item.get(k) for k in ("source", "date", "imported_at", "entry")})
            else:
                per_field[f] = Source("builtin", "built-in catalog")
        out[model.id] = per_field
    return out
