"""Suites and models shared by the suite tests (parsing and sessions)."""

from __future__ import annotations

import argparse
from decimal import Decimal
from pathlib import Path

from workbench import paths
from workbench.domain import ModelInfo, Prices, ProviderConfig

GOOD = '''
[suite]
id = "mini"
title = "Mini suite"
system = "Be brief."
temperature = 0.3
criteria = ["correctness"]

[[tasks]]
id = "one"
title = "First"
kind = "structural"
prompt = "Write a function."

[[tasks]]
id = "two"
title = "Second"
kind = "algorithmic"
language = "go"
prompt = "Review this."
code = """
package main
"""

[[tasks]]
id = "dijkstra"
title = "Third"
kind = "algorithmic"
prompt = "Implement Dijkstra."
'''

PROVIDER = ProviderConfig(name="gw", kind="openai", base_url="https://gw.test/v1", api_key_env="GW_KEY")
PRICED = ModelInfo(id="priced", provider="gw", name="Priced", upstream="up-p", prices=Prices(Decimal("1"), Decimal("2")))
NO_INPUT = ModelInfo(id="no-input", provider="gw", name="No Input", upstream="up-n",
                     prices=Prices(None, Decimal("3")))


def write_user_suite(name: str, text: str) -> Path:
    folder = paths.data_dir() / "suites"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text, "utf-8")
    return folder / name


def suite_args(*argv: str) -> argparse.Namespace:
    from workbench.cli.suite import add_parser

    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command")
    add_parser(sub, lambda p: p.add_argument("--config"))
    return parser.parse_args(["suite", *argv])
