"""Price lists: LiteLLM and OpenRouter formats, matching to the catalog, the prices.json record,
the overlay in load_settings (import beats built-in, config beats import) and `workbench prices`.

Sample files under tests/data/prices/ are hand-made excerpts in each documented shape."""

from __future__ import annotations

import argparse
import json
import os
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from workbench import paths, prices
from workbench.config import ConfigError, load_settings
from workbench.domain import ChatRequest
from workbench.cli.prices import PricesError, add_parser, run_prices
from workbench.cli.common import CommandError

DATA = Path(__file__).resolve().parents[1] / "data" / "prices"
LITELLM = DATA / "litellm_excerpt.json"
OPENROUTER = DATA / "openrouter_excerpt.json"
D = Decimal

PROVIDER = """
[providers.mine]
kind = "openai"
base_url = "https://llm.example.com/v1"
api_key_env = "MINE_KEY"
"""


def parse(*argv: str) -> argparse.Namespace:
    """Arguments as the CLI would parse them, through this module's own add_parser."""
    parser = argparse.ArgumentParser(prog="workbench")
    sub = parser.add_subparsers(dest="command")
    add_parser(sub, lambda p: p.add_argument("--config"))
    return parser.parse_args(["prices", *argv])


def run(settings, *argv: str) -> int:
    return run_prices(settings, parse(*argv))


def config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, "utf-8")
    return path


def record() -> dict:
    return json.loads(prices.record_file().read_text("utf-8"))


# --- per-token → per-million, exact ----------------------------------------------------------


@pytest.mark.parametrize(("value", "expected"), [
    (D("2.5e-06"), "2.5"), (D("1.4e-07"), "0.14"), (D("1e-05"), "10"), (D("2.19e-06"), "2.19"),
    ("0.0000025", "2.5"), ("0.00000015", "0.15"), (" 0.000015 ", "15"), ("0", "0"), (0, "0"), (D("0.0"), "0"),
    ("0.0000000000001", "0.0000001"), (2.5e-06, "2.5"),
])
def test_per_million_is_exact(value, expected: str) -> None:
    result = prices.per_million(value)
    assert isinstance(result, Decimal)
    assert format(result, "f") == expected


@pytest.mark.parametrize("value", [None, "-1", -1, D("-0.000001"), "not a price", "", True, False, "NaN",
                                   D("Infinity"), [], {}])
def test_unknown_prices_stay_unknown(value) -> None:
    assert prices.per_million(value) is None


def test_litellm_floats_read_with_parse_float_decimal_stay_exact(tmp_path: Path) -> None:
    # more digits than a binary float holds: only parse_float=Decimal keeps them all
    long = tmp_path / "long.json"
    long.write_text('{"m": {"input_cost_per_token": 1.00000000000000000001e-06, "mode": "chat"}}')
    assert prices.read_price_list(long).entries[0].prices["input_per_m"] == D("1.00000000000000000001")
    # 2.19e-06 as a binary float times a million is 2.1899999999999998; the Decimal path is not.
    assert 2.19e-06 * 1_000_000 != 2.19
    entries = {e.name: e for e in prices.read_price_list(LITELLM).entries}
    assert entries["deepseek/deepseek-r1"].prices["output_per_m"] == D("2.19")
    assert str(entries["deepseek/deepseek-r1"].prices["output_per_m"]) == "2.19"


# --- formats ---------------------------------------------------------------------------------


def test_detect_format() -> None:
    assert prices.detect_format(json.loads(LITELLM.read_text())) == "litellm"
    assert prices.detect_format(json.loads(OPENROUTER.read_text())) == "openrouter"
    assert prices.detect_format({"data": []}) == "openrouter"
    assert prices.detect_format(json.loads((DATA / "only_sample_spec.json").read_text())) is None
    assert prices.detect_format(json.loads((DATA / "unknown_format.json").read_text())) is None
    assert prices.detect_format([{"id": "x"}]) is None
    assert prices.detect_format("text") is None


def test_litellm_entries() -> None:
    pl = prices.read_price_list(LITELLM)
    assert pl.format == "litellm"
    by = {e.name: e for e in pl.entries}
    # sample_spec and the two embedding models are skipped; the ten chat entries are kept
    assert "sample_spec" not in by and "glm-5" not in by and "text-embedding-3-small" not in by
    assert pl.skipped == 3 and len(pl.entries) == 10
    assert by["gpt-4o"].prices == {"input_per_m": D("2.5"), "cached_input_per_m": D("1.25"), "output_per_m": D("10")}
    assert by["gpt-4o"].provider == "openai"
    # DeepSeek's cache-hit key is the cached price
    assert by["deepseek/deepseek-reasoner"].prices["cached_input_per_m"] == D("0.14")
    # null input: unknown, not 0; the output is still read
    assert by["moonshot/kimi-k2.5"].prices == {"input_per_m": None, "cached_input_per_m": None,
                                               "output_per_m": D("3.2")}
    # -1 and a non-number: unknown; the entry has no known price at all
    assert not by["hunyuan-turbo"].known
    # 0.0 is free, a known price
    assert by["ollama/qwen3-coder-30b"].prices["output_per_m"] == D(0)


def test_openrouter_entries() -> None:
    pl = prices.read_price_list(OPENROUTER)
    assert pl.format == "openrouter" and pl.label == "OpenRouter /models"
    by = {e.name: e for e in pl.entries}
    assert pl.skipped == 2 and len(pl.entries) == 9  # the entry without an id, the string
    assert by["deepseek/deepseek-r1"].prices == {"input_per_m": D("0.4"), "cached_input_per_m": D("0.2"),
                                                 "output_per_m": D("2")}
    assert by["openai/gpt-4o"].prices["input_per_m"] == D("2.5")
    assert by["qwen/qwen3-32b"].prices["cached_input_per_m"] is None  # absent: unknown
    assert by["deepseek/deepseek-r1:free"].prices["output_per_m"] == D(0)  # "0": free
    assert not by["openrouter/auto"].known  # "-1": a router's price depends on its pick
    assert not by["z-ai/glm-5"].known  # no pricing at all


# --- matching --------------------------------------------------------------------------------


def test_builtin_catalog_against_litellm() -> None:
    settings = load_settings(None)
    plan = prices.plan_import(settings.models.values(), prices.read_price_list(LITELLM), {})
    used = {m.model_id: m.entry.name for m in plan.matches}
    # the vendor's own prefix beats openrouter/…; case and "together_ai/Qwen/" prefixes are ignored
    assert used == {"deepseek-r1": "deepseek/deepseek-r1", "kimi-k2.5": "moonshot/kimi-k2.5",
                    "qwen3-32b": "together_ai/Qwen/Qwen3-32B"}
    assert plan.no_price == {"hunyuan-turbo": "hunyuan-turbo"}
    # glm-5 is only an embedding entry; qwen3-coder-30b only a free local ollama/ entry
    assert "glm-5" in plan.not_found and "qwen3-coder-30b" in plan.not_found
    assert plan.entries_used == 3
    r1 = {c.field: c for c in next(m for m in plan.matches if m.model_id == "deepseek-r1").changes}
    assert (r1["output_per_m"].old, r1["output_per_m"].new) == (D("2.50"), D("2.19"))
    assert (r1["input_per_m"].old, r1["input_per_m"].new) == (None, D("0.55"))
    qwen = {c.field: c for c in next(m for m in plan.matches if m.model_id == "qwen3-32b").changes}
    assert not qwen["output_per_m"].changed and qwen["input_per_m"].changed


def test_matching_by_upstream_and_prefixes(tmp_path: Path) -> None:
    settings = load_settings(config(tmp_path, PROVIDER + """
[[models]]
id = "my-reasoner"
provider = "mine"
model = "deepseek-reasoner"

[[models]]
id = "or-r1"
provider = "mine"
model = "deepseek/deepseek-r1"

[[models]]
id = "gpt-4o"
provider = "mine"

[[models]]
id = "r1-free"
provider = "mine"
model = "DeepSeek/DeepSeek-R1:free"
"""))
    litellm = prices.read_price_list(LITELLM)
    openrouter = prices.read_price_list(OPENROUTER)
    m = settings.models
    assert prices.match_entry(m["my-reasoner"], litellm).name == "deepseek/deepseek-reasoner"
    assert prices.match_entry(m["gpt-4o"], litellm).name == "gpt-4o"  # by id
    assert prices.match_entry(m["gpt-4o"], openrouter).name == "openai/gpt-4o"
    # exact upstream id beats longer prefixed forms
    assert prices.match_entry(m["or-r1"], litellm).name == "deepseek/deepseek-r1"
    assert prices.match_entry(m["or-r1"], openrouter).name == "deepseek/deepseek-r1"
    # the :free variant is a different model: only an upstream that names it gets it
    assert prices.match_entry(m["deepseek-r1"], openrouter).name == "deepseek/deepseek-r1"
    assert prices.match_entry(m["r1-free"], openrouter).name == "deepseek/deepseek-r1:free"


def test_a_provider_named_by_the_model_wins(tmp_path: Path) -> None:
    settings = load_settings(config(tmp_path, """
[providers.openrouter]
kind = "openai"
base_url = "https://openrouter.ai/api/v1"
api_key_env = "OPENROUTER_API_KEY"

[[models]]
id = "r1-via-openrouter"
provider = "openrouter"
model = "deepseek/deepseek-r1"
"""))
    entry = prices.match_entry(settings.models["r1-via-openrouter"], prices.read_price_list(LITELLM))
    assert entry.name == "openrouter/deepseek/deepseek-r1"
    assert entry.prices["input_per_m"] == D("0.7")


# --- import command ----------------------------------------------------------------------------


def test_import_records_prices_with_source_and_dates(capsys) -> None:
    before = datetime.now(timezone.utc).replace(microsecond=0)
    assert run(load_settings(None), "import", str(LITELLM), "--date", "2025-09-15") == 0
    out = capsys.readouterr().out
    assert "LiteLLM format, 10 entries; 3 skipped" in out
    assert "matched 3 of 10 catalog models" in out
    assert "deepseek-r1 ← deepseek/deepseek-r1: input unknown → $0.55, cached unknown → $0.14, " \
           "output $2.50 → $2.19" in out
    assert "qwen3-32b ← together_ai/Qwen/Qwen3-32B: input unknown → $0.10, output $0.28 unchanged" in out
    assert "hunyuan-turbo ← hunyuan-turbo: no known price" in out
    assert "not in the list: deepseek-v4-flash" in out
    rec = record()
    assert rec["version"] == 1
    assert set(rec["models"]) == {"deepseek-r1", "kimi-k2.5", "qwen3-32b"}
    out_price = rec["models"]["deepseek-r1"]["output_per_m"]
    assert out_price["price"] == "2.19" and out_price["source"] == "litellm_excerpt.json"
    assert out_price["date"] == "2025-09-15" and out_price["entry"] == "deepseek/deepseek-r1"
    stamp = datetime.fromisoformat(out_price["imported_at"].replace("Z", "+00:00"))
    assert before <= stamp <= datetime.now(timezone.utc)
    assert set(rec["models"]["kimi-k2.5"]) == {"output_per_m"}  # its unknown input is not recorded
    assert rec["imports"][-1]["format"] == "litellm"
    assert rec["imports"][-1]["file"] == str(LITELLM)
    assert prices.record_file() == paths.data_dir() / "prices.json"
    assert [p.name for p in prices.record_file().parent.iterdir()] == ["prices.json"]  # no temp file left


def test_import_date_defaults_to_the_file_date_and_source_to_a_name(tmp_path: Path) -> None:
    copy = tmp_path / "or.json"
    copy.write_text(OPENROUTER.read_text())
    noon = datetime(2025, 3, 4, 12, tzinfo=timezone.utc).timestamp()
    os.utime(copy, (noon, noon))
    assert run(load_settings(None), "import", str(copy), "--source", "OpenRouter March") == 0
    item = record()["models"]["deepseek-r1"]["input_per_m"]
    assert item == {**item, "price": "0.4", "source": "OpenRouter March", "date": "2025-03-04"}


def test_dry_run_writes_nothing(capsys) -> None:
    assert run(load_settings(None), "import", str(OPENROUTER), "--dry-run") == 0
    out = capsys.readouterr().out
    assert "OpenRouter /models format" in out and "dry run: nothing recorded" in out
    assert "deepseek-r1 ← deepseek/deepseek-r1: input unknown → $0.40" in out
    assert "glm-5 ← z-ai/glm-5: no known price" in out
    assert not prices.record_file().exists()
    assert load_settings(None).models["deepseek-r1"].prices.output_per_m == D("2.50")


def test_import_json_report(capsys) -> None:
    assert run(load_settings(None), "import", str(LITELLM), "--date", "2025-09-15", "--json", "--dry-run") == 0
    report = json.loads(capsys.readouterr().out)
    assert report["format"] == "litellm" and report["dry_run"] and report["record"] is None
    kimi = next(m for m in report["matched"] if m["model"] == "kimi-k2.5")
    assert kimi["changes"] == [{"field": "output_per_m", "old": "3.0", "imported": "3.2", "new": "3.2",
                                "changed": True, "config_wins": False}]
    assert report["no_price"] == {"hunyuan-turbo": "hunyuan-turbo"}


def test_no_model_matched_warns_and_exits_0(capsys) -> None:
    assert run(load_settings(None), "import", str(DATA / "litellm_no_catalog_model.json")) == 0
    captured = capsys.readouterr()
    assert "matched 0 of 10" in captured.out
    assert "warning: no model of the catalog is priced" in captured.err and "nothing recorded" in captured.err
    assert not prices.record_file().exists()


@pytest.mark.parametrize(("argv", "message"), [
    (["import", str(DATA / "not_json.csv")], "not_json.csv: not JSON"),
    (["import", str(DATA / "unknown_format.json")], "neither LiteLLM's"),
    (["import", str(DATA / "only_sample_spec.json")], "neither LiteLLM's"),
    (["import", str(DATA / "openrouter_empty.json")], "OpenRouter /models price list with no model entries"),
    (["import", str(DATA / "absent.json")], "absent.json: no such file"),
    (["import", str(DATA)], "is a directory"),
    (["import", str(LITELLM), "--date", "15/09/2025"], "--date '15/09/2025': not a date"),
])
def test_errors_are_one_line_command_errors(argv: list[str], message: str) -> None:
    with pytest.raises(PricesError) as info:
        run(load_settings(None), *argv)
    assert isinstance(info.value, CommandError)  # the CLI reports these in one line, exit 2
    assert message in str(info.value) and "\n" not in str(info.value)
    assert not prices.record_file().exists()


# --- the overlay -------------------------------------------------------------------------------


def test_import_beats_builtin_and_config_beats_import(tmp_path: Path, capsys) -> None:
    path = config(tmp_path, PROVIDER + """
[[models]]
id = "deepseek-r1"
provider = "global-apis"
output_per_m = 3

[[models]]
id = "mine-4o"
provider = "mine"
model = "gpt-4o"
cached_input_per_m = 1
""")
    before = load_settings(path)
    assert run(before, "import", str(LITELLM), "--date", "2025-09-15") == 0
    out = capsys.readouterr().out
    assert "output $3.00 kept (config; list says $2.19)" in out
    after = load_settings(path)
    r1 = after.models["deepseek-r1"].prices
    assert (r1.input_per_m, r1.cached_input_per_m, r1.output_per_m) == (D("0.55"), D("0.14"), D("3"))
    mine = after.models["mine-4o"].prices  # a config model without its own price takes the import
    assert (mine.input_per_m, mine.cached_input_per_m, mine.output_per_m) == (D("2.5"), D("1"), D("10"))
    assert after.models["kimi-k2.5"].prices.output_per_m == D("3.2")
    assert after.models["kimi-k2.5"].prices.input_per_m is None  # still unknown, never 0
    assert after.models["glm-5"].prices == before.models["glm-5"].prices
    # the config's own price was recorded anyway: removing it from the config lets the import in
    assert record()["models"]["deepseek-r1"]["output_per_m"]["price"] == "2.19"
    assert load_settings(None).models["deepseek-r1"].prices.output_per_m == D("2.19")


def test_a_later_unknown_never_replaces_an_earlier_known_price(tmp_path: Path) -> None:
    settings = load_settings(None)
    assert run(settings, "import", str(OPENROUTER), "--date", "2025-01-01") == 0
    later = tmp_path / "later.json"
    later.write_text(json.dumps({"data": [
        {"id": "deepseek/deepseek-r1", "pricing": {"prompt": "0.0000005", "completion": "-1"}}]}))
    assert run(load_settings(None), "import", str(later), "--date", "2025-02-01") == 0
    r1 = load_settings(None).models["deepseek-r1"].prices
    # input from the later list; cached (absent) and output (-1) kept from the earlier one
    assert (r1.input_per_m, r1.cached_input_per_m, r1.output_per_m) == (D("0.5"), D("0.2"), D("2"))
    fields = record()["models"]["deepseek-r1"]
    assert fields["input_per_m"]["date"] == "2025-02-01" and fields["output_per_m"]["date"] == "2025-01-01"
    assert len(record()["imports"]) == 2


def test_free_is_a_price(tmp_path: Path) -> None:
    path = config(tmp_path, PROVIDER + '[[models]]\nid = "r1-free"\nprovider = "mine"\n'
                                       'model = "deepseek/deepseek-r1:free"\n')
    assert run(load_settings(path), "import", str(OPENROUTER)) == 0
    free = load_settings(path).models["r1-free"].prices
    assert (free.input_per_m, free.cached_input_per_m, free.output_per_m) == (D(0), D(0), D(0))


def test_a_damaged_record_is_a_config_error_naming_it() -> None:
    prices.record_file().parent.mkdir(parents=True)
    prices.record_file().write_text("{not json")
    with pytest.raises(ConfigError) as info:
        load_settings(None)
    assert str(info.value).startswith(str(prices.record_file())) and "not JSON" in str(info.value)
    prices.record_file().write_text(json.dumps({"version": 1, "models": {"deepseek-r1": {
        "output_per_m": {"price": "-2", "source": "x"}}}}))
    with pytest.raises(ConfigError) as info:
        load_settings(None)
    assert "models.deepseek-r1.output_per_m" in str(info.value) and "\n" not in str(info.value)


def test_a_failed_write_keeps_the_old_record(monkeypatch: pytest.MonkeyPatch) -> None:
    assert run(load_settings(None), "import", str(LITELLM)) == 0
    old = prices.record_file().read_text()

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(prices.os, "replace", broken_replace)
    with pytest.raises(PricesError, match="cannot write the price record"):
        run(load_settings(None), "import", str(OPENROUTER))
    assert prices.record_file().read_text() == old
    assert [p.name for p in prices.record_file().parent.iterdir()] == ["prices.json"]


def test_answers_store_the_imported_prices_in_force() -> None:
    from workbench.runner import new_result
    from workbench.store import open_store
    from workbench.domain import RunRecord
    from workbench.store.answers import create_run, start_answer
    from workbench.tokens import TokenCounter

    assert run(load_settings(None), "import", str(LITELLM)) == 0
    settings = load_settings(None)
    model = settings.models["deepseek-r1"]
    store = open_store(paths.store_file())
    try:
        result = new_result(model, settings.providers[model.provider], ChatRequest(prompt="hi"), TokenCounter())
        answer_id = start_answer(store, create_run(store, RunRecord("hi")), result.start_record())
        row = store.conn.execute("SELECT input_per_m, output_per_m, cached_input_per_m FROM answers WHERE id = ?",
                                 (answer_id,)).fetchone()
    finally:
        store.close()
    assert [D(v) for v in row] == [D("0.55"), D("2.19"), D("0.14")]


# --- workbench prices ------------------------------------------------------------------------


def test_prices_json_says_where_each_price_comes_from(tmp_path: Path, capsys) -> None:
    path = config(tmp_path, '[[models]]\nid = "deepseek-r1"\nprovider = "global-apis"\noutput_per_m = 3\n')
    assert run(load_settings(path), "import", str(LITELLM), "--date", "2025-09-15") == 0
    capsys.readouterr()
    assert run(load_settings(path), "--json") == 0
    shown = json.loads(capsys.readouterr().out)
    rows = {r["id"]: r for r in shown["models"]}
    assert shown["precedence"] == ["config", "import", "builtin"]
    r1 = rows["deepseek-r1"]
    assert (r1["input_per_m"], r1["cached_input_per_m"], r1["output_per_m"]) == ("0.55", "0.14", "3")
    assert r1["sources"]["output_per_m"] == {"kind": "config", "label": f"config: {path}", "file": str(path)}
    assert r1["sources"]["input_per_m"]["kind"] == "import"
    assert r1["sources"]["input_per_m"]["label"] == "import: litellm_excerpt.json 2025-09-15"
    assert r1["sources"]["input_per_m"]["entry"] == "deepseek/deepseek-r1"
    glm = rows["glm-5"]
    assert glm["sources"]["output_per_m"] == {"kind": "builtin", "label": "built-in catalog"}
    assert glm["input_per_m"] is None and glm["sources"]["input_per_m"]["kind"] == "unknown"
    assert shown["imports"][0]["source"] == "litellm_excerpt.json"


def test_prices_table(tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "300")  # rows never wrap
    assert run(load_settings(None)) == 0
    out = capsys.readouterr().out
    assert "Prices in force" in out and "No price list imported" in out
    assert "config file wins over an imported one" in out
    glm_line = next(line for line in out.splitlines() if "glm-5" in line)
    assert "unknown" in glm_line and "$1.92" in glm_line and "built-in catalog" in glm_line
    path = config(tmp_path, '[[models]]\nid = "deepseek-r1"\nprovider = "global-apis"\noutput_per_m = 3\n')
    assert run(load_settings(path), "import", str(LITELLM), "--date", "2025-09-15") == 0
    capsys.readouterr()
    assert run(load_settings(path)) == 0
    out = capsys.readouterr().out
    r1_line = next(line for line in out.splitlines() if "deepseek-r1" in line)
    assert "$0.55" in r1_line and "$0.14" in r1_line and "$3.00" in r1_line
    assert "input: import: litellm_excerpt.json 2025-09-15" in r1_line and f"output: config: {path}" in r1_line
    kimi_line = next(line for line in out.splitlines() if "kimi-k2.5" in line)
    # one source for the whole row when every known price shares it
    assert kimi_line.split("│")[-2].strip() == "import: litellm_excerpt.json 2025-09-15"
    assert "last import: litellm_excerpt.json dated 2025-09-15" in out

