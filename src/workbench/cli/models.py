"""`workbench models`: the catalog with prices and key status."""

from __future__ import annotations

import json

from workbench.catalog import format_price, key_status
from workbench.config import Settings
from workbench.safety import sanitize

#: Columns of the table. At a narrow width the first layout that fits is used (see
#: ``choose_layout``); ids, names and key status always stay. A layout whose key is "short" says
#: only set / missing / not needed in the column and names the missing variables below the table.
COLUMNS = ("id", "name", "provider", "input $/M", "output $/M", "key")
LAYOUTS: tuple[tuple[tuple[str, ...], bool], ...] = (
    (COLUMNS, False),
    (COLUMNS, True),
    (("id", "name", "input $/M", "output $/M", "key"), True),
    (("id", "name", "output $/M", "key"), True),
    (("id", "name", "key"), True),
)
_NO_WRAP = {"id", "input $/M", "output $/M"}
_RIGHT = {"input $/M", "output $/M"}


def model_rows(settings: Settings) -> list[dict]:
    """One dict per model, for the table and for --json."""
    rows = []
    for model in settings.models.values():
        provider = settings.providers[model.provider]
        p = model.prices
        rows.append({
            "id": model.id,
            "name": model.name,
            "provider": model.provider,
            "input_per_m": None if p.input_per_m is None else format(p.input_per_m, "f"),
            "output_per_m": None if p.output_per_m is None else format(p.output_per_m, "f"),
            "routed": model.routed,
            "key": key_status(provider),
        })
    return rows


def _cells(settings: Settings, short_key: bool) -> list[dict[str, str]]:
    """The table's text per model and column (sanitised: names come from the user's config)."""
    out = []
    for row, model in zip(model_rows(settings), settings.models.values()):
        out.append({
            "id": sanitize(row["id"]),
            "name": sanitize(model.name) + (" *" if model.routed else ""),
            "provider": sanitize(row["provider"]),
            "input $/M": format_price(model.prices.input_per_m),
            "output $/M": format_price(model.prices.output_per_m),
            "key": _short(row["key"]) if short_key else sanitize(row["key"]),
        })
    return out


def _short(status: str) -> str:
    return "missing" if status.startswith("missing") else status


def _width(layout: tuple[str, ...], cells: list[dict[str, str]], whole_lines: bool) -> int:
    """Columns the table needs: with every row on one line, or else with no word cut (a
    no-wrap column always takes its whole text)."""
    total = len(layout) + 1  # a box table: one rule per column plus one
    for col in layout:
        texts = [col] + [row[col] for row in cells]
        if whole_lines or col in _NO_WRAP:
            total += 2 + max(len(t) for t in texts)
        else:
            total += 2 + max((len(w) for t in texts for w in t.split()), default=1)
    return total


def choose_layout(settings: Settings, width: int) -> tuple[tuple[str, ...], bool]:
    """The fullest layout whose rows each fit on one line of ``width`` columns; failing that,
    the fullest with no word cut; failing that, the last (ids fold rather than vanish)."""
    for whole_lines in (True, False):
        for layout, short_key in LAYOUTS:
            if _width(layout, _cells(settings, short_key), whole_lines) <= width:
                return layout, short_key
    return LAYOUTS[-1]


def print_models(settings: Settings, as_json: bool = False) -> int:
    """Print the models; exit code 0."""
    rows = model_rows(settings)
    if as_json:
        print(json.dumps(rows, indent=2))
        return 0
    # Rich only for the table: `models --json` (what scripts call) starts without it (Q2)
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console()
    layout, short_key = choose_layout(settings, console.width)
    table = Table(title="Models (prices: US$ per million tokens)", title_justify="left")
    for col in layout:
        # fold rather than "…": an id is what -m takes, so it must print whole even when too wide
        table.add_column(col, justify="right" if col in _RIGHT else "left", overflow="fold",
                         no_wrap=col in _NO_WRAP and col != "id")
    for row in _cells(settings, short_key):
        table.add_row(*(Text(row[c]) for c in layout))
    console.print(table)
    if any(m.routed for m in settings.models.values()):
        console.print("* a routing tier: the gateway picks the underlying model per request")
    if short_key:
        for line in _missing_keys(settings):
            console.print(Text(line))
    left_out = [c for c in COLUMNS if c not in layout]
    if left_out:
        console.print(f"not shown at this width: {', '.join(left_out)} (see `workbench models --json`)")
    _local_hint(settings, console)
    source = settings.source if settings.source and settings.source.exists() else None
    console.print(f"config: {source or 'none (built-in catalog only)'}")
    return 0


def _missing_keys(settings: Settings) -> list[str]:
    """One line per provider whose key is missing, naming its variable (the short key column
    says only "missing")."""
    lines = []
    for name in dict.fromkeys(m.provider for m in settings.models.values()):
        provider = settings.providers[name]
        status = key_status(provider)
        if not status.startswith("missing"):
            continue
        what = f"${provider.api_key_env} is not set" if provider.api_key_env else "no api_key_env in the config"
        lines.append(sanitize(f"key missing: {what} (provider {name})"))
    return lines


def _local_hint(settings: Settings, console) -> None:  # noqa: ANN001 (a rich Console, imported late)
    from workbench.local import local_models

    ids = [m.id for m in local_models() if m.id not in settings.models]
    if ids:
        console.print(f"with --local: {', '.join(ids)} (Gemma 3 270M on this machine)")
