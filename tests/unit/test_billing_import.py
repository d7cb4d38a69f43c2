"""`workbench prices import` and the config, for money's sake: the first-party (then the fullest)
of several entries for a model, cache-write and tier prices imported, a placeholder file date,
JSON nested too deeply, prices that cannot be prices (1e400, NaN, above $10,000/M), negative
ones said aloud; and a store from before migration 004 still read.

litellm_billing.json holds LiteLLM's own entries (tests/data/prices/README.md)."""

from __future__ import annotations

import json
import os
import sqlite3
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from cli_helpers import assert_usage_error, cli, wide_terminal  # noqa: F401 (an autouse fixture)

from workbench import paths, prices
from workbench.catalog import cost_of
from workbench.config import load_settings
from workbench.store.db import migrations, open_store

D = Decimal
BILLING = Path(__file__).resolve().parents[1] / "data" / "prices" / "litellm_billing.json"
GATEWAY = """
[providers.gw]
kind = "openai"
base_url = "https://gw.example/v1"
api_key_env = "GW_KEY"

[[models]]
id = "sonnet-4"
provider = "gw"
model = "claude-sonnet-4"
vendor = "Anthropic"

[[models]]
id = "gemini-pro"
provider = "gw"
model = "gemini-2.5-pro"
vendor = "Google"
"""


def write_config(home: Path, text: str) -> Path:
    path = home / "config" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, "utf-8")
    return path


def litellm(tmp_path: Path, body: str) -> Path:
    """A LiteLLM-format list with one entry for the built-in deepseek-r1, its numbers as given."""
    path = tmp_path / "list.json"
    path.write_text('{"deepseek/deepseek-r1": {"litellm_provider": "deepseek", "mode": "chat", ' + body + "}}")
    return path


def record() -> dict:
    return json.loads(prices.record_file().read_text("utf-8"))


# --- 4(a) which entry prices a model ----------------------------------------------------------------


def entries_used(home: Path) -> dict[str, str]:
    settings = load_settings(write_config(home, GATEWAY))
    plan = prices.plan_import(settings.models.values(), prices.read_price_list(BILLING), {})
    return {m.model_id: m.entry.name for m in plan.matches}


def test_the_vendors_own_entry_wins(isolated_home: Path) -> None:
    # Google's own gemini/ entry, not OpenRouter's resale listed under google/ (no tier, no cached price)
    assert entries_used(isolated_home)["gemini-pro"] == "gemini/gemini-2.5-pro"


def test_of_two_resellers_the_fuller_entry_wins(isolated_home: Path) -> None:
    # No first-party entry is called "claude-sonnet-4": of the two resellers listing it under
    # anthropic/, the one with the cached, cache-write and tier prices, not the first in the
    # file (gmi/, input and output only, which made every cache read cost the full input price)
    assert entries_used(isolated_home)["sonnet-4"] == "openrouter/anthropic/claude-sonnet-4"


def test_imported_cache_write_and_tier_prices_are_in_force(isolated_home: Path, capsys) -> None:
    path = write_config(isolated_home, GATEWAY)
    code, out, _ = cli(capsys, "prices", "import", str(BILLING), "--date", "2026-07-30")
    assert code == 0
    assert "tier from unknown → 200,000 input tokens" in out and "cache write unknown → $3.75" in out
    sonnet = load_settings(path).models["sonnet-4"].prices
    assert (sonnet.cached_input_per_m, sonnet.cache_write_per_m, sonnet.above_tokens) == (D("0.3"), D("3.75"), 200_000)
    assert (sonnet.input_above_per_m, sonnet.output_above_per_m) == (D("6"), D("22.5"))
    gemini = load_settings(path).models["gemini-pro"].prices
    # a 250k-token prompt to Gemini 2.5 Pro: $2.50/M in, $15/M out, as Google bills it
    assert cost_of(gemini, 250_000, 2_000).total_usd == D("0.625") + D("0.03")
    assert record()["models"]["gemini-pro"]["above_tokens"]["tokens"] == 200_000
    code, out, _ = cli(capsys, "prices", "--json")
    row = next(r for r in json.loads(out)["models"] if r["id"] == "gemini-pro")
    assert (row["above_tokens"], row["input_above_per_m"], row["sources"]["above_tokens"]["kind"]) == (
        200_000, "2.5", "import")
    code, out, _ = cli(capsys, "prices")
    assert "> 200k: $2.50 / $15.00" in next(line for line in out.splitlines() if "gemini-pro" in line)


# --- 4(b) the file's date ---------------------------------------------------------------------------


def test_a_placeholder_file_date_gives_way_to_today_with_a_note(isolated_home: Path, tmp_path: Path, capsys) -> None:
    write_config(isolated_home, GATEWAY)
    copy = tmp_path / "model_prices_and_context_window_backup.json"
    copy.write_text(BILLING.read_text())
    wheel_time = datetime(1980, 1, 1).timestamp()  # what a file unpacked from a wheel carries
    os.utime(copy, (wheel_time, wheel_time))
    code, _, err = cli(capsys, "prices", "import", str(copy))
    assert code == 0
    assert "dated 1980-01-01, a placeholder" in err and "--date" in err
    assert {item["date"] for fields in record()["models"].values() for item in fields.values()} == {
        date.today().isoformat()}


def test_help_says_what_a_missing_date_becomes(capsys) -> None:
    with pytest.raises(SystemExit):
        cli(capsys, "prices", "import", "--help")
    assert "1980-01-01" in " ".join(capsys.readouterr().out.split())


# --- 4(c) nesting -------------------------------------------------------------------------------------


def test_json_nested_too_deeply_is_one_line(tmp_path: Path, capsys) -> None:
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    assert_usage_error(cli(capsys, "prices", "import", str(deep)), "deep.json", "nested too deeply")


def test_a_config_nested_too_deeply_is_one_line_naming_it(isolated_home: Path, capsys) -> None:
    path = write_config(isolated_home, "x = " + "[" * 100_000 + "]" * 100_000 + "\n")
    assert_usage_error(cli(capsys, "models"), str(path), "nested too deeply")


# --- 4(d) prices that cannot be prices ---------------------------------------------------------------


@pytest.mark.parametrize(("body", "needles"), [
    ('"input_cost_per_token": 1e400, "output_cost_per_token": 2.19e-06',
     ("deepseek-r1", "input_per_m", "input_cost_per_token 1E+400", "not a believable price")),
    ('"input_cost_per_token": 5.5e-07, "output_cost_per_token": 0.02',
     ("deepseek-r1", "output_per_m", "$20,000.00 per million")),
    ('"input_cost_per_token": 5.5e-07, "output_cost_per_token": NaN', ("output_per_m", "not a finite number")),
    ('"input_cost_per_token": Infinity, "output_cost_per_token": 2.19e-06', ("input_per_m", "not a finite number")),
])
def test_a_price_that_cannot_be_one_stops_the_import(tmp_path: Path, capsys, body: str, needles: tuple) -> None:
    line = assert_usage_error(cli(capsys, "prices", "import", str(litellm(tmp_path, body))), *needles)
    assert "nothing imported" in line
    assert not prices.record_file().exists()


def test_a_negative_price_is_left_unknown_with_a_warning(tmp_path: Path, capsys) -> None:
    path = litellm(tmp_path, '"input_cost_per_token": -5.5e-07, "output_cost_per_token": 2.19e-06')
    code, _, err = cli(capsys, "prices", "import", str(path), "--date", "2026-01-02")
    assert code == 0
    assert "warning" in err and "deepseek-r1" in err and "input_per_m" in err and "negative" in err
    assert set(record()["models"]["deepseek-r1"]) == {"output_per_m"}
    r1 = load_settings(None).models["deepseek-r1"].prices
    assert (r1.input_per_m, r1.output_per_m) == (None, D("2.19"))


@pytest.mark.parametrize(("line", "key"), [
    ("output_per_m = 20000", "output_per_m"),
    ("input_above_per_m = 2.5", "input_above_per_m"),  # a tier price needs its threshold
    ("above_tokens = 200000", "above_tokens"),  # a threshold needs its prices
    ("above_tokens = 0\ninput_above_per_m = 1", "above_tokens"),
])
def test_bad_prices_in_the_config_are_one_line_naming_the_file_and_key(isolated_home: Path, capsys,
                                                                        line: str, key: str) -> None:
    path = write_config(isolated_home, f'[[models]]\nid = "deepseek-r1"\nprovider = "global-apis"\n{line}\n')
    assert_usage_error(cli(capsys, "models"), str(path), f"models[0] (id 'deepseek-r1').{key}")


def test_a_recorded_price_of_1e400_is_refused(capsys) -> None:
    prices.record_file().parent.mkdir(parents=True)
    prices.record_file().write_text(json.dumps({"version": 1, "models": {"deepseek-r1": {
        "output_per_m": {"price": "1E+400", "source": "hand-edited"}}}}))
    assert_usage_error(cli(capsys, "models"), str(prices.record_file()), "models.deepseek-r1.output_per_m")


# --- 5. a store from before migration 004 ----------------------------------------------------------


def test_a_store_from_before_cache_writes_is_migrated_and_read() -> None:
    path = paths.store_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path)
    for version, sql in migrations():
        if version <= 3:
            conn.executescript(sql)
    conn.execute("PRAGMA user_version = 3")
    conn.execute("INSERT INTO runs (created_at, prompt) VALUES ('2026-01-01T00:00:00Z', 'old')")
    conn.execute("INSERT INTO answers (run_id, model_id, model_name, provider, upstream_model, status, input_tokens,"
                 " output_tokens, cost_usd, input_cost_usd, output_cost_usd, created_at, updated_at)"
                 " VALUES (1, 'm', 'M', 'p', 'm', 'ok', 10, 5, '0.00002', '0.00001', '0.00001', 'x', 'x')")
    conn.commit()
    conn.close()
    store = open_store(path)
    try:
        from workbench.store.db import migrations as schema_files

        assert store.schema_version == schema_files()[-1][0] >= 4  # migrated to the latest
        from workbench.store.answers import get_answer

        old = get_answer(store, 1)
    finally:
        store.close()
    assert (old.cost_usd, old.input_cost_usd, old.cache_write_tokens, old.billing_note) == (D("0.00002"), D("0.00001"),
                                                                                            0, None)
