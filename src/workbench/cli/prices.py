"""`workbench prices`: the prices in force and where each comes from; `workbench prices import
FILE` reads a LiteLLM or OpenRouter price list into the record the settings lay over the catalog.

Imports of the core sit in the functions: `workbench --help` imports this module for its parser (Q2).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from workbench.cli.common import CommandError

if TYPE_CHECKING:
    from workbench.config import Settings

PRECEDENCE = ("A price in your config file wins over an imported one; an imported one wins over "
              "the built-in catalog.")
_SHORT = {"input_per_m": "input", "cached_input_per_m": "cached", "output_per_m": "output"}


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
    except prices.PriceFileError as exc:
        raise PricesError(str(exc)) from None
    if not price_list.entries:
        raise PricesError(f"{path}: a {price_list.label} price list with no model entries")
    explicit = prices.explicit_prices_in(settings.source)
    plan = prices.plan_import(settings.models.values(), price_list, explicit)
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
        from workbench.safety import sanitize

        print(f"workbench: warning: no model of the catalog is priced in {sanitize(path.name)}; nothing recorded "
              "(entries are matched by the models' upstream id or id, with or without a vendor prefix)",
              file=sys.stderr)
    return 0


def _file_date(path: Path, given: str | None) -> date:
    """--date, else the file's modification date (the best guess of when the list was taken)."""
    if given is not None:
        try:
            return date.fromisoformat(given)
        except ValueError:
            raise PricesError(f"--date {given!r}: not a date in the form YYYY-MM-DD") from None
    try:
        return datetime.fromtimestamp(path.stat().st_mtime).date()
    except FileNotFoundError:
        raise PricesError(f"{path}: no such file") from None
    except OSError as exc:
        raise PricesError(f"{path}: cannot read the file ({exc})") from None


def _money(value: Decimal | None) -> str:
    from workbench.catalog import format_price  # imported late: the catalog pulls in config

    return format_price(value)


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
            if c.config_wins:
                parts.append(f"{name} {_money(c.old)} kept (config; list says {_money(c.imported)})")
            elif c.changed:
                parts.append(f"{name} {_money(c.old)} → {_money(c.new)}")
            else:
                parts.append(f"{name} {_money(c.new)} unchanged")
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
    def dec(value: Decimal | None) -> str | None:
        return None if value is None else format(value, "f")

    return {
        "format": plan.price_list.format, "source": source, "date": source_date.isoformat(),
        "dry_run": dry_run, "record": None if written is None else str(written),
        "entries": len(plan.price_list.entries), "skipped": plan.price_list.skipped,
        "entries_used": plan.entries_used,
        "matched": [{"model": m.model_id, "entry": m.entry.name,
                     "changes": [{"field": c.field, "old": dec(c.old), "imported": dec(c.imported),
                                  "new": dec(c.new), "changed": c.changed, "config_wins": c.config_wins}
                                 for c in m.changes]} for m in plan.matches],
        "no_price": plan.no_price, "not_found": plan.not_found,
    }


def _show(settings: Settings, *, as_json: bool) -> int:
    from workbench import prices

    record = prices.load_record()
    sources = prices.price_sources(settings.models.values(), settings.source, record,
                                   prices.explicit_prices_in(settings.source))
    rows = []
    for model in settings.models.values():
        row = {"id": model.id, "name": model.name}
        for f in prices.PRICE_FIELDS:
            value = getattr(model.prices, f)
            row[f] = None if value is None else format(value, "f")
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
    for head in ("input", "cached input", "output"):
        table.add_column(head, justify="right", no_wrap=True)
    table.add_column("from")
    for model in settings.models.values():
        table.add_row(model.id, *(_money(getattr(model.prices, f)) for f in prices.PRICE_FIELDS),
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


def _source_text(per_field: dict) -> str:
    """One source for the row when all known prices share it, else each price's own."""
    known = {f: s for f, s in per_field.items() if s.kind != "unknown"}
    labels = {s.label for s in known.values()}
    if not labels:
        return "— (no price known)"
    if len(labels) == 1:
        return labels.pop()
    return "; ".join(f"{_SHORT[f]}: {s.label}" for f, s in known.items())


def add_parser(sub, add_common) -> None:
    """The `prices` sub-command with its `import` action."""
    cmd = sub.add_parser("prices", help="the prices in force and where each comes from; import a price list",
                         description="Show each model's input, cached-input and output price per million tokens "
                                     "and where it comes from: the built-in catalog, your config file, or an "
                                     "imported price list. " + PRECEDENCE)
    add_common(cmd)
    cmd.add_argument("--json", action="store_true", help="print JSON")
    actions = cmd.add_subparsers(dest="prices_action", metavar="ACTION", parser_class=type(cmd))
    imp = actions.add_parser(
        "import", help="read a LiteLLM or OpenRouter price list",
        description="Read a price list in LiteLLM's model_prices_and_context_window.json format or OpenRouter's "
                    "/api/v1/models JSON (the format is detected), match its entries to the catalog's models "
                    "(by upstream id or id, with or without a vendor prefix) and record their prices with the "
                    "list's date. Nothing is downloaded. " + PRECEDENCE)
    add_common(imp)
    imp.add_argument("file", metavar="FILE", help="the price list (JSON)")
    imp.add_argument("--source", metavar="NAME", help="name the list in `workbench prices` (default: the file name)")
    imp.add_argument("--date", metavar="YYYY-MM-DD", help="the date the list was taken (default: the file's date)")
    imp.add_argument("--dry-run", action="store_true", help="show what would change; record nothing")
    imp.add_argument("--json", action="store_true", help="print the report as JSON")
