"""Imported price lists (`workbench prices import`) and where each price in force comes from.

Two public formats are read: LiteLLM's ``model_prices_and_context_window.json`` (a dict of model
name → per-token numbers) and OpenRouter's ``GET /api/v1/models`` (``{"data": [...]}`` with
per-token decimal strings). Entries are matched to the catalog's models; what matched is kept,
price by price with its source and date, in ``<data dir>/prices.json``. ``load_settings`` lays that
record over the built-in catalog, but a price the user's own config file sets wins: it was
written on purpose, an import is a bulk guess. An unknown price in a list never replaces a known
one, and never becomes 0 (C2: unknown is shown as unknown). A price that cannot be one (not
finite, or above ``MAX_PRICE_PER_M``) stops the import; a negative one is left unknown, said.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timezone
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from workbench.domain import ModelInfo
from workbench.paths import data_dir

# The prices of a model, named as in the config file (and in the record): the base ones, then
# those of a tiered model's requests past ``above_tokens`` input tokens (domain.Prices).
BASE_FIELDS = ("input_per_m", "cached_input_per_m", "cache_write_per_m", "output_per_m")
TIER_FIELDS = ("input_above_per_m", "cached_input_above_per_m", "cache_write_above_per_m", "output_above_per_m")
PRICE_FIELDS = BASE_FIELDS + TIER_FIELDS
# The threshold of a tiered model: a token count, recorded beside its prices.
THRESHOLD_FIELD = "above_tokens"
RECORD_FIELDS = PRICE_FIELDS + (THRESHOLD_FIELD,)
RECORD_VERSION = 1
#: No text model costs anywhere near this per million tokens (the dearest list at $600/M): a
#: price above it is a typo or a broken list, and it would print 400-digit dollars in `rank`.
MAX_PRICE_PER_M = Decimal(10_000)
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
    prices: dict[str, Decimal | None]  # the three base prices always; the others when the list gives them
    provider: str | None = None  # LiteLLM's litellm_provider; "openrouter" for OpenRouter lists
    above_tokens: int | None = None  # the threshold of the *_above_per_m prices
    #: field → ("refuse" or "warn", what is wrong): prices the list gives that cannot be used
    problems: dict[str, tuple[str, str]] = field(default_factory=dict)

    @property
    def known(self) -> bool:
        """True when at least one price is known."""
        return self.known_count > 0

    @property
    def known_count(self) -> int:
        """How many prices are known (of two entries for a model, the fuller one is preferred)."""
        return sum(v is not None for v in self.prices.values())


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
    except RecursionError:  # json's decoder recurses once per level of nesting
        raise PriceFileError(f"{path}: not a price list (JSON nested too deeply to read)") from None
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


# LiteLLM's keys for each price (per token). DeepSeek's entries name the cache-hit price
# differently; "cache_creation" is a write to the (5-minute) prompt cache.
_LITELLM_KEYS = {
    "input_per_m": ("input_cost_per_token",),
    "cached_input_per_m": ("cache_read_input_token_cost", "input_cost_per_token_cache_hit"),
    "cache_write_per_m": ("cache_creation_input_token_cost",),
    "output_per_m": ("output_cost_per_token",),
}
# A tier: "input_cost_per_token_above_200k_tokens" and the like (not "…_above_1hr", the 1-hour
# cache, nor "…_priority", another service level).
_LITELLM_TIER = re.compile(r"(input_cost_per_token|output_cost_per_token|cache_read_input_token_cost|"
                           r"cache_creation_input_token_cost)_above_(\d+)k_tokens")
_TIER_OF = {keys[0]: f.replace("_per_m", "_above_per_m") for f, keys in _LITELLM_KEYS.items()}


def _parse_litellm(data: dict) -> PriceList:
    entries, skipped = [], 0
    for name, spec in data.items():
        # sample_spec documents the keys with 0.0 placeholders: read as prices it would say "free".
        if name == "sample_spec" or not isinstance(spec, dict) or spec.get("mode") not in _TEXT_MODES:
            skipped += 1
            continue
        raw: dict[str, tuple[str, Any]] = {}
        for f, keys in _LITELLM_KEYS.items():
            key = next((k for k in keys if k in spec), keys[0])
            if f != "cache_write_per_m" or key in spec:  # the three first prices are always read
                raw[f] = (key, spec.get(key))
        tiers = sorted((int(m.group(2)) * 1000, m.group(1), key) for key in spec
                       if isinstance(key, str) and (m := _LITELLM_TIER.fullmatch(key)))
        threshold = tiers[0][0] if tiers else None  # one tier is modelled: the first
        for at, base_key, key in tiers:
            if at == threshold:
                raw[_TIER_OF[base_key]] = (key, spec[key])
        provider = spec.get("litellm_provider")
        entries.append(_entry(str(name), raw, provider if isinstance(provider, str) else None, threshold))
    return PriceList("litellm", entries, skipped)


def _entry(name: str, raw: dict[str, tuple[str, Any]], provider: str | None,
           above_tokens: int | None = None) -> PriceEntry:
    """An entry from field → (the list's key, its per-token value), each value checked."""
    prices, problems = {}, {}
    for f, (key, value) in raw.items():
        prices[f] = per_million(value)
        problem = price_problem(value)
        if problem is not None:
            problems[f] = (problem[0], f"{key} {value} {problem[1]}")
    if above_tokens is not None and not any(prices.get(f) is not None for f in TIER_FIELDS):
        above_tokens = None  # a threshold without a known price past it says nothing
    return PriceEntry(name, prices, provider, above_tokens, problems)


def _parse_openrouter(models: list) -> PriceList:
    entries, skipped = [], 0
    for item in models:
        if not isinstance(item, dict) or not isinstance(item.get("id"), str) or not item["id"].strip():
            skipped += 1
            continue
        pricing = item.get("pricing") if isinstance(item.get("pricing"), dict) else {}
        raw = {"input_per_m": ("prompt", pricing.get("prompt")),
               "cached_input_per_m": ("input_cache_read", pricing.get("input_cache_read")),
               "output_per_m": ("completion", pricing.get("completion"))}
        # "0" is OpenRouter's word for "no such charge" (the model bills no cache writes apart),
        # not a price at which written tokens would be free: only a charge is read.
        if per_million(pricing.get("input_cache_write")) or price_problem(pricing.get("input_cache_write")):
            raw["cache_write_per_m"] = ("input_cache_write", pricing["input_cache_write"])
        entries.append(_entry(item["id"].strip(), raw, "openrouter"))
    return PriceList("openrouter", entries, skipped)


def per_million(value: Any) -> Decimal | None:
    """A per-token price (Decimal, int or decimal string) as US$ per million tokens, exactly.

    None for anything that is not a known price: absent, not a number, not finite, or negative
    (OpenRouter's "-1" marks a router whose price depends on the model it picks). "0" is free.
    """
    number = _number(value)
    if number is None or not number.is_finite() or number < 0:
        return None
    # scaleb moves the decimal point: exact, no rounding, no float on the way.
    return number.scaleb(6).normalize() if number else Decimal(0)


def _number(value: Any) -> Decimal | None:
    # bool is an int subclass: `true` is not a price. A float only comes from a caller that
    # parsed without parse_float=Decimal; str() keeps its shortest form rather than its binary tail.
    if isinstance(value, bool) or not isinstance(value, (str, int, float, Decimal)):
        return None
    try:
        return Decimal(value.strip() if isinstance(value, str) else str(value))
    except InvalidOperation:
        return None


def price_problem(value: Any) -> tuple[str, str] | None:
    """("refuse", why) for a per-token number that cannot be a price (not finite, or above
    ``MAX_PRICE_PER_M`` per million), ("warn", why) for a negative one, None otherwise (a
    price, or no number at all: absent and non-numbers are plainly unknown)."""
    number = _number(value)
    if number is None:
        return None
    if not number.is_finite():
        return "refuse", "is not a finite number"
    if number < 0:
        return "warn", "is negative (left unknown)"
    per_m = number.scaleb(6)
    if per_m > MAX_PRICE_PER_M:
        shown = f"{per_m:,.2f}" if per_m < 10**9 else f"{per_m:.2e}"  # never 400 digits
        return "refuse", f"per token is ${shown} per million tokens, above ${MAX_PRICE_PER_M:,}: not a believable price"
    return None


# --- matching entries to the catalog -------------------------------------------------------


@dataclass(frozen=True)
class Change:
    """One price of one model before and after an import."""

    field: str  # a PRICE_FIELDS name, or THRESHOLD_FIELD (then old and imported are token counts)
    old: Decimal | int | None
    imported: Decimal | int
    config_wins: bool  # the user's config sets this price: the import is recorded, not in force

    @property
    def new(self) -> Decimal | int | None:
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
    warnings: list[str] = field(default_factory=list)  # negative prices of matched entries, left unknown

    @property
    def entries_used(self) -> int:
        """Entries of the list that priced at least one catalog model."""
        return len({m.entry.name for m in self.matches})


def _variants(name: str) -> list[tuple[str, int, list[str]]]:
    """A name and its forms without vendor prefixes: (name, prefixes stripped, the prefixes)."""
    parts = name.strip().lower().split("/")
    return [("/".join(parts[i:]), i, parts[:i]) for i in range(len(parts)) if parts[i]]


#: The names price lists give a vendor's own API where they differ from the vendor's name
#: (LiteLLM's litellm_provider): an entry from there is the first-party price.
_FIRST_PARTY = {
    "google": {"gemini", "vertex_ai", "vertex_ai-language-models"},
    "qwen": {"dashscope"}, "alibaba": {"dashscope"}, "zhipu": {"zai", "zhipuai"}, "z.ai": {"zai"},
    "moonshot": {"moonshot", "moonshotai"}, "mistral": {"mistral", "codestral"}, "xai": {"xai"},
    "cohere": {"cohere", "cohere_chat"}, "tencent": {"hunyuan", "tencent"},
}


def _first_party(vendor: str | None) -> set[str]:
    """The provider names whose entries are the vendor's own prices."""
    if not vendor:
        return set()
    name = vendor.strip().lower()
    return {name, name.replace(" ", "")} | _FIRST_PARTY.get(name, set())


def match_entry(model: ModelInfo, price_list: PriceList) -> PriceEntry | None:
    """The entry of the list that best names this model, or None.

    Tried: the upstream id, then the catalog id, each with and without vendor prefixes on
    either side ("openrouter/deepseek/deepseek-r1" ~ "deepseek-r1"), case ignored. Of several:
    the entry of the provider the model is called through (it bills it), then the vendor's own
    (``ModelInfo.vendor``), then one a reseller lists under the vendor's name ("gmi/anthropic/…"),
    then the fewest prefixes stripped, then more known prices (a reseller's entry without a
    cached price must not beat a fuller one), then the first. A free (0) price under another
    provider's prefix is not taken: "ollama/qwen3" is free because it runs locally.
    """
    via = {model.provider.lower()}
    vendor = _first_party(model.vendor)
    wanted: dict[str, tuple[int, int]] = {}
    for rank, name in enumerate((model.upstream, model.id)):
        for variant, depth, _ in _variants(name):
            wanted.setdefault(variant, (rank, depth))
    best: tuple | None = None
    for order, entry in enumerate(price_list.entries):
        provider = {entry.provider.lower()} if entry.provider else set()
        for variant, depth, prefixes in _variants(entry.name):
            hit = wanted.get(variant)
            if hit is None:
                continue
            named = set(prefixes) | provider
            if depth and not named & (via | vendor) and any(v == 0 for v in entry.prices.values()):
                continue
            who = 0 if named & via else 1 if provider & vendor else 2 if named & vendor else 3
            key = (hit[0], who, hit[1] + depth, -entry.known_count, order)
            if best is None or key < best[0]:
                best = (key, entry)
    return None if best is None else best[1]


def plan_import(models: Iterable[ModelInfo], price_list: PriceList, explicit: dict[str, set[str]]) -> ImportPlan:
    """Match every catalog model against the list and say what would change.

    A matched entry with a price that cannot be one (``price_problem``) stops the whole import
    (PriceFileError naming the model and the field); a negative one is a warning in the plan.
    """
    plan = ImportPlan(price_list)
    for model in models:
        entry = match_entry(model, price_list)
        if entry is None:
            plan.not_found.append(model.id)
            continue
        for f, (kind, why) in entry.problems.items():
            where = f"model {model.id} (entry {entry.name}): {f}"
            if kind == "refuse":
                raise PriceFileError(f"{where}: {why}; nothing imported")
            plan.warnings.append(f"{where}: {why}")
        if not entry.known:
            plan.no_price[model.id] = entry.name
            continue
        mine = explicit.get(model.id, set())
        changes = [Change(f, getattr(model.prices, f), entry.prices[f], f in mine)
                   for f in PRICE_FIELDS if entry.prices.get(f) is not None]
        if entry.above_tokens is not None:
            changes.append(Change(THRESHOLD_FIELD, model.prices.above_tokens, entry.above_tokens,
                                  THRESHOLD_FIELD in mine))
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
    except (ValueError, RecursionError):
        raise PriceRecordError(path, "", f"not JSON; {hint}") from None
    if not isinstance(data, dict) or data.get("version") != RECORD_VERSION or not isinstance(data.get("models"), dict):
        raise PriceRecordError(path, "version", f"not a version {RECORD_VERSION} price record; {hint}")
    for model_id, fields in data["models"].items():
        if not isinstance(fields, dict) or set(fields) - set(RECORD_FIELDS):
            raise PriceRecordError(path, f"models.{model_id}", f"must map {', '.join(RECORD_FIELDS)} to prices; {hint}")
        for name, item in fields.items():
            if record_value(name, item) is None or not isinstance(item.get("source"), str):
                what = "a token count > 0" if name == THRESHOLD_FIELD else f"a price from 0 to {MAX_PRICE_PER_M}"
                raise PriceRecordError(path, f"models.{model_id}.{name}", f"needs {what} and a source; {hint}")
    data.setdefault("imports", [])
    return data


def record_value(name: str, item: Any) -> Decimal | int | None:
    """The value of one recorded field: a price (Decimal) or, for the threshold, a token count;
    None when it is not a usable one (a hand-edited or damaged record)."""
    if not isinstance(item, dict):
        return None
    if name == THRESHOLD_FIELD:
        tokens = item.get("tokens")
        return tokens if isinstance(tokens, int) and not isinstance(tokens, bool) and tokens > 0 else None
    return per_million_str(item.get("price"))


def per_million_str(value: Any) -> Decimal | None:
    """A stored price string back to Decimal (None when it is not a price from 0 to MAX_PRICE_PER_M)."""
    if not isinstance(value, str):
        return None
    try:
        price = Decimal(value)
    except InvalidOperation:
        return None
    return price if price.is_finite() and 0 <= price <= MAX_PRICE_PER_M else None


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
            value = ({"tokens": int(change.imported)} if change.field == THRESHOLD_FIELD
                     else {"price": format(change.imported, "f")})
            fields[change.field] = {**value, "source": source, "date": source_date.isoformat(),
                                    "imported_at": stamp, "entry": match.entry.name}
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


# --- the overlay ---------------------------------------------------------------------------


def explicit_price_keys(user_models: Any) -> dict[str, set[str]]:
    """Model id → the prices the user's own ``[[models]]`` tables set (these beat an import)."""
    out: dict[str, set[str]] = {}
    for table in user_models if isinstance(user_models, list) else []:
        if isinstance(table, dict) and isinstance(table.get("id"), str):
            out.setdefault(table["id"], set()).update(f for f in RECORD_FIELDS if table.get(f) is not None)
    return out


def apply_imported(models: dict[str, ModelInfo], record: dict,
                   explicit: dict[str, set[str]]) -> dict[str, ModelInfo]:
    """The models whose prices the record changes, with those prices in force."""
    out = {}
    for model_id, fields in record.get("models", {}).items():
        model = models.get(model_id)
        if model is None:  # a model since removed from the config: its prices wait unused
            continue
        taken = {f: record_value(f, item) for f, item in fields.items() if f not in explicit.get(model_id, set())}
        if taken:
            out[model_id] = replace(model, prices=replace(model.prices, **taken))
    return out
