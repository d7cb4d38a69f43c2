"""`workbench models`: the catalog with prices and key status."""

from __future__ import annotations

import json

from workbench.catalog import format_price, key_status
from workbench.config import Settings
from workbench.safety import sanitize


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

    table = Table(title="Models (prices: US$ per million tokens)", title_justify="left")
    for col, kw in (("id", {"no_wrap": True}), ("name", {}), ("provider", {}),
                    ("input $/M", {"justify": "right", "no_wrap": True}),
                    ("output $/M", {"justify": "right", "no_wrap": True}), ("key", {})):
        table.add_column(col, **kw)
    for row, model in zip(rows, settings.models.values()):
        name = sanitize(model.name) + (" *" if model.routed else "")
        table.add_row(sanitize(row["id"]), Text(name), row["provider"], format_price(model.prices.input_per_m),
                      format_price(model.prices.output_per_m), row["key"])
    console = Console()
    console.print(table)
    if any(m.routed for m in settings.models.values()):
        console.print("* a routing tier: the gateway picks the underlying model per request")
    source = settings.source if settings.source and settings.source.exists() else None
    console.print(f"config: {source or 'none (built-in catalog only)'}")
    return 0
