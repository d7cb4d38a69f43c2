"""config: the built-in catalog plus a user file (I2, I3); every error names the file and key."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from workbench import paths
from workbench.config import ConfigError, api_key_for, load_settings

PROVIDER = """
[providers.mine]
kind = "openai"
base_url = "https://llm.example.com/v1/"
api_key_env = "MINE_KEY"
"""


def write(tmp_path: Path, text: str, name: str = "config.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, "utf-8")
    return path


def error_of(tmp_path: Path, text: str) -> ConfigError:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    err = info.value
    assert err.file == str(path)
    assert str(err).startswith(f"{path}: ")
    assert "\n" not in str(err)
    return err


def test_no_file_means_the_builtin_catalog(tmp_path: Path) -> None:
    settings = load_settings(tmp_path / "absent.toml")
    assert len(settings.models) == 10
    assert set(settings.providers) == {"global-apis"}
    assert settings.providers["global-apis"].api_key_env == "GLOBAL_APIS_KEY"


def test_missing_file_that_must_exist(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(tmp_path / "absent.toml", must_exist=True)
    assert "absent.toml" in str(info.value) and "no such file" in str(info.value)


def test_user_file_extends_the_catalog(tmp_path: Path) -> None:
    text = PROVIDER + """
[[models]]
id = "my-model"
provider = "mine"
name = "My Model"
model = "vendor/my-model-v2"
input_per_m = 0.35
output_per_m = "1.10"
cached_input_per_m = 0
temperature = 1
"""
    settings = load_settings(write(tmp_path, text))
    assert len(settings.models) == 11
    model = settings.models["my-model"]
    assert (model.name, model.upstream, model.provider, model.temperature) == ("My Model", "vendor/my-model-v2", "mine", 1.0)
    assert model.prices.input_per_m == Decimal("0.35")  # exactly, not 0.34999…
    assert model.prices.output_per_m == Decimal("1.10")
    assert model.prices.cached_input_per_m == Decimal(0)
    assert settings.providers["mine"].base_url == "https://llm.example.com/v1"  # trailing / dropped


def test_user_config_overrides_a_builtin_model_by_id(tmp_path: Path) -> None:
    text = """
[[models]]
id = "deepseek-r1"
provider = "global-apis"
name = "DeepSeek-R1 (my price)"
input_per_m = 0.55
output_per_m = 2.19
"""
    settings = load_settings(write(tmp_path, text))
    assert len(settings.models) == 10
    r1 = settings.models["deepseek-r1"]
    assert r1.name == "DeepSeek-R1 (my price)"
    assert (r1.prices.input_per_m, r1.prices.output_per_m) == (Decimal("0.55"), Decimal("2.19"))


def test_user_config_updates_a_builtin_model_key_by_key(tmp_path: Path) -> None:
    # only the new input price: the rest of the built-in entry is kept
    settings = load_settings(write(tmp_path, '[[models]]\nid = "qwen3-coder-30b"\ninput_per_m = 0.1\n'))
    model = settings.models["qwen3-coder-30b"]
    assert (model.name, model.provider) == ("Qwen3-Coder-30B", "global-apis")
    assert (model.prices.input_per_m, model.prices.output_per_m) == (Decimal("0.1"), Decimal("0.35"))


def test_user_config_overrides_a_builtin_provider(tmp_path: Path) -> None:
    text = '[providers.global-apis]\nkind = "openai"\nbase_url = "http://127.0.0.1:9/v1"\n'
    settings = load_settings(write(tmp_path, text))
    assert settings.providers["global-apis"].base_url == "http://127.0.0.1:9/v1"
    assert settings.providers["global-apis"].is_local


def test_defaults_ui_and_keys(tmp_path: Path) -> None:
    text = """
[defaults]
models = ["deepseek-r1", "glm-5"]
temperature = 0
system = "Be terse."
max_tokens = 512

[ui]
theme = "workbench-light"
flush_hz = 30
stream_reader = "inline"

[keys]
stop-streams = "ctrl+c"
"""
    settings = load_settings(write(tmp_path, text))
    assert settings.defaults.models == ("deepseek-r1", "glm-5")
    assert (settings.defaults.temperature, settings.defaults.system, settings.defaults.max_tokens) == (0.0, "Be terse.", 512)
    assert (settings.ui.theme, settings.ui.flush_hz, settings.ui.stream_reader) == ("workbench-light", 30.0, "inline")
    assert settings.keymap == {"stop-streams": "ctrl+c"}


def test_bad_toml(tmp_path: Path) -> None:
    err = error_of(tmp_path, "[providers.mine\nkind = 'openai'\n")
    assert "not valid TOML" in str(err)
    assert "line 1" in str(err)


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(b'name = "\xff\xfe"\n')
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    assert str(path) in str(info.value) and "cannot read" in str(info.value)


UNKNOWN_KEYS = [
    ("[colours]\nx = 1\n", "colours"),
    (PROVIDER + "timeout = 3\n", "providers.mine.timeout"),
    ('[[models]]\nid = "x"\nprovider = "global-apis"\nprice = 1\n', "models[0].price"),
    ("[defaults]\nmodel = 'x'\n", "defaults.model"),
    ("[ui]\ncolour = 'red'\n", "ui.colour"),
]


@pytest.mark.parametrize(("text", "key"), UNKNOWN_KEYS, ids=[k for _, k in UNKNOWN_KEYS])
def test_unknown_key(tmp_path: Path, text: str, key: str) -> None:
    err = error_of(tmp_path, text)
    assert err.key == key
    assert f": {key}: unknown" in str(err)


WRONG_VALUES = [
    ('[[models]]\nid = "x"\nprovider = "global-apis"\noutput_per_m = "cheap"\n', "models[0] (id 'x').output_per_m"),
    ('[[models]]\nid = "x"\nprovider = "global-apis"\ninput_per_m = true\n', "models[0] (id 'x').input_per_m"),
    ('[[models]]\nid = "x"\nprovider = "global-apis"\ninput_per_m = -1\n', "models[0] (id 'x').input_per_m"),
    ('[[models]]\nid = "x"\nprovider = "global-apis"\nrouted = "yes"\n', "models[0] (id 'x').routed"),
    ('[[models]]\nid = "x"\nprovider = "global-apis"\ntemperature = true\n', "models[0] (id 'x').temperature"),
    ('[[models]]\nid = 7\nprovider = "global-apis"\n', "models[0].id"),
    ('[[models]]\nid = "x"\n', "models[0] (id 'x').provider"),
    (PROVIDER + "read_timeout = '10'\n", "providers.mine.read_timeout"),
    (PROVIDER + "read_timeout = -1\n", "providers.mine.read_timeout"),
    (PROVIDER + "connect_timeout = 0\n", "providers.mine.connect_timeout"),
    (PROVIDER + "allow_inline_key = 'no'\napi_key = 'sk-inline'\n", "providers.mine.allow_inline_key"),
    ("providers = 3\n", "providers"),
    ("[models]\nid = 'x'\n", "models"),
    ("[defaults]\nmodels = 'deepseek-r1'\n", "defaults.models"),
    ("[defaults]\nmax_tokens = 1.5\n", "defaults.max_tokens"),
    ("[defaults]\nmax_tokens = 0\n", "defaults.max_tokens"),
    ("[defaults]\ntemperature = 3\n", "defaults.temperature"),
    ("[ui]\nflush_hz = 500\n", "ui.flush_hz"),
    ("[ui]\nstream_reader = 'thread'\n", "ui.stream_reader"),
    ("[keys]\nquit = 1\n", "keys"),
]


@pytest.mark.parametrize(("text", "key"), WRONG_VALUES, ids=[f"{i}-{k}" for i, (_, k) in enumerate(WRONG_VALUES)])
def test_wrong_type_or_value(tmp_path: Path, text: str, key: str) -> None:
    err = error_of(tmp_path, text)
    assert err.key == key
    assert f": {key}: " in str(err)


def test_unknown_provider(tmp_path: Path) -> None:
    err = error_of(tmp_path, '[[models]]\nid = "x"\nprovider = "nowhere"\n')
    assert "x" in err.key and err.key.endswith(".provider")
    assert "unknown provider 'nowhere'" in str(err)


def test_bad_kind(tmp_path: Path) -> None:
    err = error_of(tmp_path, PROVIDER.replace('"openai"', '"cohere"'))
    assert err.key == "providers.mine.kind"
    assert "'cohere'" in str(err) and "openai" in str(err)


def test_bad_base_url(tmp_path: Path) -> None:
    err = error_of(tmp_path, PROVIDER.replace("https://llm.example.com/v1/", "llm.example.com"))
    assert err.key == "providers.mine.base_url"


def test_inline_api_key_is_refused(tmp_path: Path) -> None:
    err = error_of(tmp_path, PROVIDER + 'api_key = "sk-inline-secret"\n')
    assert err.key == "providers.mine.api_key"
    assert "api_key_env" in str(err)
    assert "sk-inline-secret" not in str(err)


def test_inline_api_key_when_insisted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MINE_KEY", raising=False)
    settings = load_settings(write(tmp_path, PROVIDER + 'api_key = "sk-inline"\nallow_inline_key = true\n'))
    provider = settings.providers["mine"]
    assert api_key_for(provider) == "sk-inline"
    assert "sk-inline" not in repr(provider)
    monkeypatch.setenv("MINE_KEY", " sk-env \n")
    assert api_key_for(provider) == "sk-env"  # the environment wins


def test_duplicate_id_in_one_file(tmp_path: Path) -> None:
    text = '[[models]]\nid = "x"\nprovider = "global-apis"\n\n[[models]]\nid = "x"\nprovider = "global-apis"\n'
    err = error_of(tmp_path, text)
    assert err.key == "models[1].id"
    assert "duplicate" in str(err)


def test_defaults_naming_an_unknown_model(tmp_path: Path) -> None:
    err = error_of(tmp_path, '[defaults]\nmodels = ["deepseek-r1", "gpt-17"]\n')
    assert err.key == "defaults.models[1]"
    assert "'gpt-17'" in str(err)


def test_defaults_with_too_many_models(tmp_path: Path) -> None:
    ids = ", ".join(f'"m{i}"' for i in range(11))
    err = error_of(tmp_path, f"[defaults]\nmodels = [{ids}]\n")
    assert err.key == "defaults.models"


def test_timeouts(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, PROVIDER + "read_timeout = 2.5\nconnect_timeout = 3\n"))
    assert (settings.providers["mine"].read_timeout, settings.providers["mine"].connect_timeout) == (2.5, 3.0)
    builtin = settings.providers["global-apis"]
    assert (builtin.read_timeout, builtin.connect_timeout) == (300.0, 10.0)


def test_config_file_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = Path(paths.home_override())
    assert paths.config_file() == home / "config" / "config.toml"
    assert paths.store_file() == home / "data" / "workbench.sqlite3"
    monkeypatch.setenv("WORKBENCH_CONFIG", str(tmp_path / "env.toml"))
    assert paths.config_file() == tmp_path / "env.toml"
    assert paths.config_file(tmp_path / "flag.toml") == tmp_path / "flag.toml"  # --config wins


def test_workbench_home_unset_uses_platformdirs(monkeypatch: pytest.MonkeyPatch) -> None:
    import platformdirs

    monkeypatch.delenv("WORKBENCH_HOME")
    assert paths.config_file() == platformdirs.user_config_path("workbench") / "config.toml"
    assert paths.data_dir() == platformdirs.user_data_path("workbench")


def test_frames_per_second_is_lower_over_ssh_unless_configured():
    from workbench.domain import UiSettings

    assert UiSettings().frames_per_second({}) == 20.0
    assert UiSettings().stream_reader == "auto"
    assert UiSettings().reads_in_a_process(cpus=2) and not UiSettings().reads_in_a_process(cpus=1)
    assert UiSettings(stream_reader="process").reads_in_a_process(cpus=1)
    assert not UiSettings(stream_reader="inline").reads_in_a_process(cpus=8)
    assert UiSettings().frames_per_second({"SSH_CONNECTION": "10.0.0.1 5000 10.0.0.2 22"}) == 8.0
    assert UiSettings(flush_hz=30.0).frames_per_second({"SSH_TTY": "/dev/pts/1"}) == 30.0
