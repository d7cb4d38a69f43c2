"""catalog: cost_of (Decimal, unknown ≠ zero), format_usd / format_price, model lookups."""

from __future__ import annotations

from decimal import Decimal

import pytest

from workbench.catalog import (
    Cost,
    UnknownModelError,
    cost_of,
    format_price,
    format_usd,
    key_status,
    resolve_models,
)
from workbench.config import load_settings
from workbench.domain import Prices, ProviderConfig

D = Decimal


def test_cost_is_input_times_input_price_plus_output_times_output_price() -> None:
    cost = cost_of(Prices(D("0.35"), D("1.10")), 1_000_000, 500_000)
    assert cost == Cost(D("0.35"), D("0.55"), D(0))
    assert cost.total_usd == D("0.90")


def test_cost_has_no_binary_float_tail() -> None:
    cost = cost_of(Prices(D("0.1"), D("0.2")), 3, 3)
    assert cost.total_usd == D("0.0000009")
    assert str(cost.total_usd) == "9E-7"


def test_unknown_price_makes_the_part_and_the_total_unknown() -> None:
    cost = cost_of(Prices(None, D("0.25")), 1000, 4000)
    assert cost.input_usd is None
    assert cost.output_usd == D("0.001")
    assert cost.total_usd is None
    assert cost.known_usd == D("0.001")
    assert cost.unknown_parts == ["input"]


def test_unknown_price_with_zero_tokens_costs_zero() -> None:
    cost = cost_of(Prices(None, D("0.25")), 0, 4000)
    assert cost.total_usd == D("0.001")
    assert cost.unknown_parts == []


def test_all_unknown() -> None:
    cost = cost_of(Prices(), 10, 10)
    assert cost.total_usd is None
    assert cost.known_usd == 0
    assert cost.unknown_parts == ["input", "output"]


def test_cached_tokens_at_the_cached_price() -> None:
    prices = Prices(D("2.5"), D("10"), cached_input_per_m=D("1.25"))
    cost = cost_of(prices, 1000, 100, cached_input_tokens=800)
    assert (cost.input_usd, cost.cached_input_usd, cost.output_usd) == (D("0.0005"), D("0.001"), D("0.001"))
    assert cost.total_usd == D("0.0025")


def test_cached_tokens_without_a_cached_price_are_billed_as_input() -> None:
    cost = cost_of(Prices(D("2.5"), D("10")), 1000, 100, cached_input_tokens=800)
    assert cost.input_usd == D("0.0025")
    assert cost.cached_input_usd == 0
    assert cost.total_usd == D("0.0035")


def test_cached_price_known_but_input_price_unknown() -> None:
    prices = Prices(None, D("10"), cached_input_per_m=D("1"))
    cost = cost_of(prices, 1000, 0, cached_input_tokens=1000)
    assert cost.total_usd == D("0.001")  # every input token was cached: nothing unknown
    cost = cost_of(prices, 1500, 0, cached_input_tokens=1000)
    assert cost.total_usd is None and cost.unknown_parts == ["input"]


@pytest.mark.parametrize(("value", "text"), [
    (None, "unknown"),
    (D(0), "$0"),
    (D("0.0010556"), "$0.001056"),
    (D("0.00095"), "$0.00095"),
    (D("0.009999"), "$0.009999"),
    (D("0.000001"), "$0.000001"),
    (D("0.01"), "$0.0100"),
    (D("0.12345"), "$0.1234"),
    (D("1"), "$1.00"),
    (D("1234.567"), "$1,234.57"),
])
def test_format_usd(value, text) -> None:
    assert format_usd(value) == text


@pytest.mark.parametrize("value", [D("2E-7"), D("5E-7"), D("1E-12")])
def test_format_usd_never_shows_a_tiny_cost_as_zero(value) -> None:
    text = format_usd(value)
    assert text == "<$0.000001"
    assert text not in ("$0", "$0.")


@pytest.mark.parametrize(("value", "text"), [
    (None, "unknown"),
    (D("0"), "$0.00"),
    (D("0.25"), "$0.25"),
    (D("2.5"), "$2.50"),
    (D("3"), "$3.00"),
    (D("0.075"), "$0.075"),
    (D("12.345"), "$12.345"),
    (D("1E+1"), "$10.00"),
])
def test_format_price(value, text) -> None:
    assert format_price(value) == text


def test_builtin_catalog_has_ten_models_without_input_prices() -> None:
    settings = load_settings(None)
    assert len(settings.models) == 10
    assert all(m.prices.input_per_m is None for m in settings.models.values())
    assert settings.models["deepseek-r1"].prices.output_per_m == D("2.50")
    assert settings.models["qwen3-coder-30b"].prices.output_per_m == D("0.35")
    assert [m.id for m in settings.models.values() if m.routed] == ["ga-standard"]


def test_resolve_by_id_and_by_name_in_order_without_duplicates() -> None:
    settings = load_settings(None)
    models = resolve_models(settings, ["deepseek-r1", "qwen3-coder-30b", "DEEPSEEK-R1", "kimi k2.5"])
    assert [m.id for m in models] == ["deepseek-r1", "qwen3-coder-30b", "kimi-k2.5"]


def test_resolve_unknown_model() -> None:
    settings = load_settings(None)
    with pytest.raises(UnknownModelError) as info:
        resolve_models(settings, ["deepseek-r1", "gpt-17"])
    assert "'gpt-17'" in str(info.value)
    assert "workbench models" in str(info.value)
    assert len(info.value.known) == 10


def test_key_status(monkeypatch: pytest.MonkeyPatch) -> None:
    remote = ProviderConfig(name="gw", kind="openai", base_url="https://gw.test/v1", api_key_env="WB_KEY")
    monkeypatch.delenv("WB_KEY", raising=False)
    assert key_status(remote) == "missing: $WB_KEY"
    monkeypatch.setenv("WB_KEY", "sk-x")
    assert key_status(remote) == "set"
    local = ProviderConfig(name="l", kind="openai", base_url="http://127.0.0.1:8080/v1")
    assert key_status(local) == "not needed"
    keyless_remote = ProviderConfig(name="r", kind="openai", base_url="https://gw.test/v1")
    assert key_status(keyless_remote).startswith("missing")


def test_local_models_cap_the_output_unless_the_config_does():
    import dataclasses

    from workbench.config import load_settings
    from workbench.local import LOCAL_MAX_TOKENS, with_local_models

    settings = load_settings(None)
    local = with_local_models(settings, ["http://127.0.0.1:1/v1", "http://127.0.0.1:2/v1"])
    assert local.defaults.max_tokens == LOCAL_MAX_TOKENS
    assert {m.provider for m in local.models.values() if m.id.startswith("gemma3")} == {"local", "local-2"}
    capped = dataclasses.replace(settings, defaults=dataclasses.replace(settings.defaults, max_tokens=300))
    assert with_local_models(capped, ["http://127.0.0.1:1/v1"]).defaults.max_tokens == 300
