"""The local model's ids (issue 13, items 9 and 10): what a newcomer who saw `gemma3-270m` in
the app is told without --local, what `--local models` lists, and what reaches the local server
(its temperature and a fresh seed per request)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

import workbench.local as local
from servers.openai_stub import SSE, StubServer, completion
from workbench.cli import EXIT_USAGE, main
from workbench.config import load_settings
from workbench.domain import ChatRequest, ModelInfo, ProviderConfig
from workbench.providers.openai import OpenAIProvider


def _no_server(*_a, **_k):
    raise AssertionError("no local server may be started here")


@pytest.fixture(autouse=True)
def narrow(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")


def _one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


@pytest.mark.parametrize("argv", [["ask", "-m", "gemma3-270m", "hi"], ["-m", "gemma3-270m-t1"]])
def test_a_local_id_without_local_says_to_add_it(argv: list[str], capsys: pytest.CaptureFixture,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(local, "start_local_servers", _no_server)
    assert main(argv) == EXIT_USAGE
    line = _one_line(capsys.readouterr().err)
    assert f"'{argv[argv.index('-m') + 1]}' is the local model" in line
    assert "add --local" in line and "`local` extra" in line


def test_an_unknown_id_near_a_known_one_is_suggested(capsys: pytest.CaptureFixture) -> None:
    assert main(["ask", "-m", "deepseek-r2", "hi"]) == EXIT_USAGE
    line = _one_line(capsys.readouterr().err)
    assert "unknown model 'deepseek-r2' (did you mean deepseek-r1?)" in line
    assert main(["ask", "-m", "gemma3-270", "hi"]) == EXIT_USAGE
    assert "(did you mean gemma3-270m with --local?)" in capsys.readouterr().err
    assert main(["ask", "-m", "gpt-17", "hi"]) == EXIT_USAGE
    assert "did you mean" not in capsys.readouterr().err


def test_local_models_lists_the_local_ids_without_starting_a_server(capsys: pytest.CaptureFixture,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(local, "start_local_servers", _no_server)
    monkeypatch.setattr(local, "start_local_server", _no_server)
    assert main(["--local", "models", "--json"]) == 0
    rows = {r["id"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["gemma3-270m"]["key"] == rows["gemma3-270m-t1"]["key"] == "not needed"
    assert "deepseek-r1" in rows  # the catalog stays
    assert main(["models", "--local"]) == 0
    table = capsys.readouterr().out
    assert "gemma3-270m " in table and "gemma3-270m-t1" in table and "not needed" in table


def test_models_without_local_names_the_local_ids(capsys: pytest.CaptureFixture) -> None:
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "with --local: gemma3-270m, gemma3-270m-t1" in out
    assert main(["models", "--json"]) == 0
    assert "gemma3-270m" not in capsys.readouterr().out  # scripts get the catalog as it is


@dataclass
class _FakeServer:
    base_url: str

    def stop(self) -> None:
        pass


def test_local_panes_send_their_temperature_and_a_fresh_seed_every_request(
        openai_stub: StubServer, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    # `--local` as it runs, with the stub in place of the llama.cpp servers: every request of
    # every round must carry a seed of its own, or each fresh server repeats its answers.
    monkeypatch.setattr(local, "start_local_servers",
                        lambda count, progress: [_FakeServer(openai_stub.base_url) for _ in range(count)])
    openai_stub.script = SSE(completion("An answer."))
    for _ in range(2):
        assert main(["ask", "--local", "--json", "hi"]) == 0
        results = json.loads(capsys.readouterr().out)["results"]
        assert [r["status"] for r in results] == ["ok", "ok"]
    bodies = [r.json for r in openai_stub.requests]
    assert len(bodies) == 4
    assert {b["model"] for b in bodies} == {local.MODEL_ALIAS}
    assert sorted(b["temperature"] for b in bodies) == [0.2, 0.2, 1.0, 1.0]
    seeds = [b.get("seed") for b in bodies]
    assert all(isinstance(s, int) and 0 <= s < 2**31 for s in seeds), seeds
    assert len(set(seeds)) == 4, seeds


def test_a_cloud_provider_gets_no_seed() -> None:
    # a seed asked of a cloud API would pin its sampling and may be refused: only local servers
    cloud = OpenAIProvider(ProviderConfig(name="gw", kind="openai", base_url="https://gw.test/v1"), "k")
    model = ModelInfo(id="m", provider="gw", name="M", upstream="m")
    assert "seed" not in cloud.build_payload(model, ChatRequest(prompt="hi"))
    mine = OpenAIProvider(ProviderConfig(name="l", kind="openai", base_url="http://localhost:8080/v1"), None)
    assert isinstance(mine.build_payload(model, ChatRequest(prompt="hi"))["seed"], int)


def test_listed_local_models_are_local_and_free(isolated_home: Path) -> None:
    settings = local.with_local_models_listed(load_settings(isolated_home / "none.toml"))
    for model_id in ("gemma3-270m", "gemma3-270m-t1"):
        model = settings.models[model_id]
        assert settings.providers[model.provider].is_local
        assert model.prices.output_per_m == 0
