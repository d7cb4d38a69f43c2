"""`workbench prices`: the prices in force and where each comes from; `workbench prices import
FILE` reads a LiteLLM or OpenRouter price list into the record the settings lay over the catalog.

Imports of the core sit in the functions: `workbench --help` imports this module for its parser (Q2).
"""

from __future__ import annotations

import argparse
import json
import sys
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from workbench.cli.common import CommandError

if TYPE_CHECKING:
    from workbench.config import Settings
    from workbench.domain import ModelInfo

PRECEDENCE = ("A price in your config file wins over an imported one; an imported one wins over "
              "the built-in catalog.")
_SHORT = {"input_per_m": "input", "cached_input_per_m": "cached", "cache_write_per_m": "cache write",
          "output_per_m": "output", "above_tokens": "tier from", "input_above_per_m": "input past tier",
          "cached_input_above_per_m": "cached past tier", "cache_write_above_per_m": "cache write past tier",
          "output_above_per_m": "output past tier"}
#: A file whose modification date is before this has a placeholder for one: zip (and so wheel)
#: members carry 1980-01-01, reproducible builds 1970-01-01. No price list is that old.
_PLACEHOLDER_BEFORE = date(1990, 1, 1)


class PricesError(CommandError):
    """A user mistake in `workbench prices` (one line, exit 2); a CommandError, so the CLI's
    existing handler reports it."""


def run_prices(settings: Settings, args: argparse.Namespace) -> int:
    """Show the prices in force, or import a price list (``args.prices_action == "import"``)."""
    if getattr(args, "prices_action", None) == "import":
        return _run_import(settings, args)
    return _show(settings, as_json=getattr(args, "json", False))


def _run_import(settings: Settings, args: argparse.Namespace) -> int:
    from workbench import prices

    path = Path(args.file).expanduser()
    try:
        source_date = _file_date(path, args.date)
        price_list = prices.read_price_list(path)
        if not price_list.entries:
            raise PricesError(f"{path}: a {price_list.label} price list with no model entries")
        plan = prices.plan_import(settings.models.values(), price_list, explicit_prices_in(settings.source))
    except prices.PriceFileError as exc:
        raise PricesError(f"{path}: {exc}" if not str(exc).startswith(str(path)) else str(exc)) from None
    from workbench.safety import sanitize

    for warning in plan.warnings:  # the list's own words: untrusted
        print(sanitize(f"workbench: warning: {path.name}: {warning}"), file=sys.stderr)
    source = args.source or path.name
    written = None
    if plan.matches and not args.dry_run:
        record = prices.record_import(prices.load_record(), plan, source=source, file=path.resolve(),
                                      source_date=source_date, imported_at=datetime.now(timezone.utc))
        try:
            written = prices.save_record(record)
        except prices.PriceFileError as exc:
            raise PricesError(str(exc)) from None
    if args.json:
        print(json.dumps(_plan_json(plan, source, source_date, args.dry_run, written), indent=2))
    else:
        _print_plan(plan, path, source, source_date, args.dry_run, written)
    if not plan.matches:
        # Exit 0: a valid list that prices none of your models is news, not a usage mistake
        # (a daily import of LiteLLM's list may well cover none of a gateway's ids).
        print(f"workbench: warning: no model of the catalog is priced in {sanitize(path.name)}; nothing recorded "
              "(entries are matched by the models' upstream id or id, with or without a vendor prefix)",
              file=sys.stderr)
    return 0


def _file_date(path: Path, given: str | None) -> date:
    """--date, else the file's modification date (the best guess of when the list was taken);
    a placeholder date (a file from a wheel or zip says 1980-01-01) gives way to today, said on
    stderr."""
    if given is not None:
        try:
            return date.fromisoformat(given)
        except ValueError:
            raise PricesError(f"--date {given!r}: not a date in the form YYYY-MM-DD") from None
    try:
        taken = datetime.fromtimestamp(path.stat().st_mtime).date()
    except FileNotFoundError:
        raise PricesError(f"{path}: no such file") from None
    except (OSError, OverflowError, ValueError) as exc:
        raise PricesError(f"{path}: cannot read the file ({exc})") from None
    if taken >= _PLACEHOLDER_BEFORE:
        return taken
    today = date.today()
    from workbench.safety import sanitize

    print(sanitize(f"workbench: note: {path.name} is dated {taken}, a placeholder (files unpacked from a wheel "
                   f"or zip carry one), not the list's date: dated today, {today}, instead; --date sets it"),
          file=sys.stderr)
    return today


def _money(value: Decimal | int | None, field_name: str = "") -> str:
    # imported late: the catalog pulls in config
    from workbench.catalog import format_price

    if field_name == "above_tokens":
        return "unknown" if value is None else f"{value:,} input tokens"
    return format_price(value)  # type: ignore[arg-type]


def _print_plan(plan, path: Path, source: str, source_date: date, dry_run: bool, written: Path | None) -> None:
    from workbench.safety import sanitize

    pl = plan.price_list
    why = "sample_spec, not text models or not entries" if pl.format == "litellm" else "not model entries"
    skipped = f"; {pl.skipped} skipped ({why})" if pl.skipped else ""
    print(sanitize(f"{path.name}: {pl.label} format, {len(pl.entries)} entries{skipped}, dated {source_date}"))
    total = len(plan.matches) + len(plan.no_price) + len(plan.not_found)
    print(f"matched {len(plan.matches)} of {total} catalog models; {plan.entries_used} entries used, "
          f"{len(pl.entries) - plan.entries_used} unused")
    for match in plan.matches:
        parts = []
        for c in match.changes:
            name = _SHORT[c.field]
            old, new, imported = (_money(v, c.field) for v in (c.old, c.new, c.imported))
            if c.config_wins:
                parts.append(f"{name} {old} kept (config; list says {imported})")
            elif c.changed:
                parts.append(f"{name} {old} → {new}")
            else:
                parts.append(f"{name} {new} unchanged")
        print(sanitize(f"  {match.model_id} ← {match.entry.name}: " + ", ".join(parts)))
    for model_id, entry in plan.no_price.items():
        print(sanitize(f"  {model_id} ← {entry}: no known price in the list (left as it is)"))
    if plan.not_found:
        print("not in the list: " + ", ".join(plan.not_found))
    if dry_run:
        print("dry run: nothing recorded")
    elif written is not None:
        changed = sum(1 for m in plan.matches if any(c.changed for c in m.changes))
        print(sanitize(f"recorded in {written} as {source!r} ({changed} model(s) with a new price in force)"))


def _plan_json(plan, source: str, source_date: date, dry_run: bool, written: Path | None) -> dict:
    def dec(value: Decimal | int | None) -> str | int | None:
        return value if value is None or isinstance(value, int) else format(value, "f")

    return {
        "format": plan.price_list.format, "source": source, "date": source_date.isoformat(),
        "dry_run": dry_run, "record": None if written is None else str(written),
        "entries": len(plan.price_list.entries), "skipped": plan.price_list.skipped,
        "entries_used": plan.entries_used,
        "matched": [{"model": m.model_id, "entry": m.entry.name,
                     "changes": [{"field": c.field, "old": dec(c.old), "imported": dec(c.imported),
                                  "new": dec(c.new), "changed": c.changed, "config_wins": c.config_wins}
                                 for c in m.changes]} for m in plan.matches],
        "no_price": plan.no_price, "not_found": plan.not_found, "warnings": plan.warnings,
    }


def _show(settings: Settings, *, as_json: bool) -> int:
    from workbench import prices

    record = prices.load_record()
    sources = price_sources(settings.models.values(), settings.source, record, explicit_prices_in(settings.source))
    rows = []
    for model in settings.models.values():
        row: dict = {"id": model.id, "name": model.name}
        for f in prices.PRICE_FIELDS:
            value = getattr(model.prices, f)
            row[f] = None if value is None else format(value, "f")
        row["above_tokens"] = model.prices.above_tokens
        row["sources"] = {f: s.to_json() for f, s in sources[model.id].items()}
        rows.append(row)
    if as_json:
        print(json.dumps({"models": rows, "precedence": ["config", "import", "builtin"],
                          "imports": record.get("imports", [])}, indent=2))
        return 0
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from workbench.safety import sanitize

    table = Table(title="Prices in force (US$ per million tokens)", title_justify="left")
    table.add_column("id", no_wrap=True)
    for head in ("input", "cached input", "cache write", "output", "long prompts"):
        table.add_column(head, justify="right", no_wrap=True)
    table.add_column("from")
    for model in settings.models.values():
        p = model.prices
        table.add_row(model.id, *(_money(getattr(p, f)) for f in prices.BASE_FIELDS), _tier_text(p),
                      Text(sanitize(_source_text(sources[model.id]))))
    console = Console()
    console.print(table)
    console.print(PRECEDENCE)
    if record.get("imports"):
        last = record["imports"][-1]
        console.print(Text(sanitize(f"last import: {last.get('source')} dated {last.get('date')}, imported "
                                    f"{str(last.get('imported_at', ''))[:16].replace('T', ' ')} UTC")))
    else:
        console.print("No price list imported: `workbench prices import FILE` reads LiteLLM's "
                      "model_prices_and_context_window.json or OpenRouter's /models JSON.")
    return 0


def _tier_text(p) -> str:
    """'> 200k: $2.50 / $15.00' (input / output past the threshold), or '—' for a flat price."""
    if p.above_tokens is None:
        return "—"
    return f"> {p.above_tokens / 1000:g}k: {_money(p.input_above_per_m)} / {_money(p.output_above_per_m)}"


def _source_text(per_field: dict) -> str:
    """One source for the row when all known prices share it, else each price's own."""
    known = {f: s for f, s in per_field.items() if s.kind != "unknown"}
    labels = {s.label for s in known.values()}
    if not labels:
        return "— (no price known)"
    if len(labels) == 1:
        return labels.pop()
    # a tier's threshold and prices come as one: named once, as "long prompts"
    parts = dict.fromkeys(f"{'long prompts' if f.startswith('above') or '_above_' in f else _SHORT[f]}: {s.label}"
                          for f, s in known.items())
    return "; ".join(parts)


def add_parser(sub, add_common) -> None:
    """The `prices` sub-command with its `import` action."""
    cmd = sub.add_parser("prices", help="the prices in force and where each comes from; import a price list",
                         description="Show each model's input, cached-input, cache-write and output price per "
                                     "million tokens (and its prices past a long-prompt threshold) and where "
                                     "each comes from: the built-in catalog, your config file, or an imported "
                                     "price list. " + PRECEDENCE)
    add_common(cmd)
    cmd.add_argument("--json", action="store_true", help="print JSON")
    actions = cmd.add_subparsers(dest="prices_action", metavar="ACTION", parser_class=type(cmd))
    imp = actions.add_parser(
        "import", help="read a LiteLLM or OpenRouter price list",
        description="Read a price list in LiteLLM's model_prices_and_context_window.json format or OpenRouter's "
                    "/api/v1/models JSON (the format is detected), match its entries to the catalog's models "
                    "(by upstream id or id, with or without a vendor prefix; of several, the one of the provider "
                    "you call through, then the vendor's own, then the fullest) and record their prices with the "
                    "list's date. A price that cannot be one (not finite, or above $10,000 per million tokens) "
                    "stops the import; a negative one is left unknown with a warning. Nothing is downloaded. "
                    + PRECEDENCE)
    add_common(imp)
    imp.add_argument("file", metavar="FILE", help="the price list (JSON)")
    imp.add_argument("--source", metavar="NAME", help="name the list in `workbench prices` (default: the file name)")
    imp.add_argument("--date", metavar="YYYY-MM-DD",
                     help="the date the list was taken (default: the file's modification date; a placeholder "
                          "date such as the 1980-01-01 of files unpacked from a wheel gives way to today, "
                          "with a note)")
    imp.add_argument("--dry-run", action="store_true", help="show what would change; record nothing")
    imp.add_argument("--json", action="store_true", help="print the report as JSON")


# --- where each price in force comes from ----------------------------------------------------


def explicit_prices_in(config: Path | None) -> dict[str, set[str]]:
    """``prices.explicit_price_keys`` of a config file (already validated by load_settings)."""
    from workbench.prices import explicit_price_keys

    if config is None or not config.is_file():
        return {}
    try:
        return explicit_price_keys(tomllib.loads(config.read_text("utf-8")).get("models"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, RecursionError):
        return {}


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
    from workbench.prices import RECORD_FIELDS

    config_label = f"config: {config_file}"
    out: dict[str, dict[str, Source]] = {}
    for model in models:
        imported = record.get("models", {}).get(model.id, {})
        per_field = {}
        for f in RECORD_FIELDS:
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
