"""Start-up (Q2): the first frame waits for nothing it does not show.

The stream reader process, the HTTP client (httpx and a TLS context), the store, the tokenizer
and the garbage collector's freeze all come after the compare screen's first frame
(``WorkbenchApp._after_first_frame``); ``benchmarks/startup_bench.py`` measures the effect.
"""

from __future__ import annotations

import dataclasses
import gc
import json
import os
import subprocess
import sys

from servers.fixtures import write_stub_config
from textual.app import App

import workbench.ui.app as app_module
from workbench.catalog import resolve_models
from workbench.config import load_settings
from workbench.providers import http
from workbench.providers.reader_process import ReaderProcess
from workbench.rounds import StoreAccess
from workbench.tokens import TokenCounter
from workbench.ui.app import WorkbenchApp
from workbench.ui.compare.screen import CompareScreen
from workbench.ui.services import Services

#: Never imported by importing the app: they load after the first frame, or when first used.
NOT_AT_IMPORT = ("tiktoken", "httpx", "pygments", "markdown_it")


def imported_by(statement: str, watched: tuple[str, ...]) -> list[str]:
    """Which of ``watched`` (or their submodules) a fresh interpreter has after ``statement``."""
    code = (f"import json, sys\n{statement}\n"
            f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {list(watched)!r})))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env=dict(os.environ), check=False)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_importing_the_app_leaves_the_tokenizer_for_later() -> None:
    assert imported_by("import workbench.ui.app", NOT_AT_IMPORT) == []


def test_the_probe_sees_an_import() -> None:
    # guards against a vacuous pass: the same probe reports a module that was imported
    assert "tiktoken" in imported_by("import tiktoken", NOT_AT_IMPORT)


async def test_reader_client_store_and_freeze_wait_for_the_first_frame(isolated_home, monkeypatch) -> None:
    """What the first frame of the compare screen found done, and that each thing is done after."""
    frames: list[bool] = []  # one entry per frame of the compare screen drawn
    seen: dict[str, int] = {}  # what was started → how many frames had been drawn by then

    def note(what: str) -> None:
        seen.setdefault(what, len(frames))

    real_display, real_start, real_open = App._display, ReaderProcess.start, StoreAccess.open
    real_client = http.make_client
    real_freeze = gc.freeze

    def display(self, screen, renderable):
        if isinstance(screen, CompareScreen) and renderable is not None:
            frames.append(True)
        return real_display(self, screen, renderable)

    async def start(self):
        note("reader")
        await real_start(self)

    async def open_store(self):
        note("store")
        return await real_open(self)

    def client(*args, **kwargs):
        note("client")
        return real_client(*args, **kwargs)

    def freeze():
        note("freeze")
        real_freeze()

    monkeypatch.setattr(App, "_display", display)
    monkeypatch.setattr(ReaderProcess, "start", start)
    monkeypatch.setattr(StoreAccess, "open", open_store)
    monkeypatch.setattr(http, "make_client", client)
    monkeypatch.setattr(app_module, "make_client", client, raising=False)  # if it was imported by name
    monkeypatch.setattr(gc, "freeze", freeze)
    settings = load_settings(write_stub_config(isolated_home, "http://127.0.0.1:9/v1", ["stub-a", "stub-b"]))
    settings = dataclasses.replace(settings, ui=dataclasses.replace(settings.ui, stream_reader="process"))
    app = WorkbenchApp(settings, resolve_models(settings, ["stub-a", "stub-b"]),
                       store_path=isolated_home / "data" / "t.sqlite3")
    async with app.run_test(size=(120, 40)) as pilot:
        for _ in range(200):  # each pause lets the deferred steps run a little; bounded by steps
            if {"reader", "store", "client", "freeze"} <= seen.keys():
                break
            await pilot.pause(0.02)
        assert {"reader", "store", "client", "freeze"} <= seen.keys(), f"not all started after start-up: {seen}"
        assert all(drawn >= 1 for drawn in seen.values()), f"started before the first frame: {seen}"
        assert app.stream_reader is not None and app.stream_reader.running
        assert app.store is not None


async def test_a_prompt_sent_before_the_deferred_steps_still_gets_a_reader_and_a_client(isolated_home) -> None:
    """Made on first use: the services do not depend on the start-up steps having run."""
    settings_path = isolated_home / "config.toml"
    settings_path.write_text('[ui]\nstream_reader = "process"\n', "utf-8")
    services = Services(load_settings(settings_path), StoreAccess(isolated_home / "t.sqlite3"), TokenCounter())
    assert not services.has_http_client and not services.has_stream_reader
    reader = services.stream_reader
    assert isinstance(reader, ReaderProcess) and not reader.running and services.stream_reader is reader
    client = services.http_client
    assert services.http_client is client and services.has_http_client
    await client.aclose()
    services.read_inline()  # the reader could not start: streams are read in the app from then on
    assert services.stream_reader is None and not services.has_stream_reader
