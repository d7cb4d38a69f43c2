"""The HTTP transport (Q3): proxies from the environment with loopback always direct, custom CA
bundles, timeouts that bound a stall, and the provider settings behind them.

Every server here is our own on 127.0.0.1; the "remote" host ``example.invalid`` is only ever
reached through the test's proxy (which is the stub server: a plain-http proxy request is an
ordinary request whose path is the absolute URL), so no test touches the internet.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from servers.openai_stub import SSE, Hang, StubServer, _Handler, _QuietServer, chunk, completion
from workbench.config import ConfigError, load_settings
from workbench.domain import AnswerStatus, ChatRequest, ModelInfo, ProviderConfig
from workbench.providers import errors
from workbench.providers.http import request_timeout, tls_context
from workbench.providers.events import RetryNotice
from workbench.providers.openai import OpenAIProvider
from workbench.providers.http import make_client
from workbench.runner import new_result, stream_answer
from workbench.tokens import TokenCounter

PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")
CA_VARIABLES = ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")


class FakeSleep:
    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


async def answer(base_url: str, *, client: httpx.AsyncClient | None = None, **provider_kw: Any):
    """(result, retry notices) of one answer from an openai-style server at ``base_url``."""
    provider = ProviderConfig(name="p", kind="openai", base_url=base_url, **provider_kw)
    model = ModelInfo(id="stub-a", provider="p", name="A", upstream="stub-a")
    result = new_result(model, provider, ChatRequest(prompt="hi"), TokenCounter())
    seen: list = []
    if client is None:
        async with make_client() as own:
            await stream_answer(own, result, seen.append, sleep=FakeSleep(), rand=lambda: 0.0)
    else:
        await stream_answer(client, result, seen.append, sleep=FakeSleep(), rand=lambda: 0.0)
    return result, [e for e in seen if isinstance(e, RetryNotice)]


# --- proxies ------------------------------------------------------------------------------


@pytest.fixture
def proxy(monkeypatch: pytest.MonkeyPatch):
    """A recording stand-in proxy, set as HTTP_PROXY, with NO_PROXY unset (it lacks loopback)."""
    for name in PROXY_VARS:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    with StubServer(SSE(completion("Answered through the proxy."))) as server:
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{server.port}")
        yield server


async def test_a_remote_host_goes_through_the_environments_proxy(proxy: StubServer) -> None:
    result, _ = await answer("http://example.invalid/v1")
    assert result.status is AnswerStatus.OK, result.error
    assert result.text == "Answered through the proxy."
    (request,) = proxy.requests
    assert request.path == "http://example.invalid/v1/chat/completions"  # absolute form: a proxy request
    assert request.headers["host"] == "example.invalid"


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
async def test_loopback_is_never_proxied(proxy: StubServer, openai_stub: StubServer, host: str) -> None:
    openai_stub.script = SSE(completion("Straight from the local server."))
    result, _ = await answer(f"http://{host}:{openai_stub.port}/v1")
    assert result.status is AnswerStatus.OK, result.error
    assert result.text == "Straight from the local server."
    assert len(openai_stub.requests) == 1
    assert proxy.requests == []


async def test_ipv6_loopback_is_mounted_direct_too(proxy: StubServer) -> None:
    # ::1 may not be served on this machine, so this looks at the routing only (httpx's own
    # lookup): direct is the client's default transport, proxied is any other.
    async with make_client() as client:
        direct = client._transport
        assert client._transport_for_url(httpx.URL("http://[::1]:11434/api/chat")) is direct
        assert client._transport_for_url(httpx.URL("http://127.0.0.1:8080/v1")) is direct
        assert client._transport_for_url(httpx.URL("http://example.invalid/v1")) is not direct


async def test_no_proxy_still_applies_to_other_hosts(proxy: StubServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_PROXY", "example.invalid")
    async with make_client() as client:
        assert client._transport_for_url(httpx.URL("http://example.invalid/v1")) is client._transport
        assert client._transport_for_url(httpx.URL("http://other.invalid/v1")) is not client._transport


# --- CA bundles ---------------------------------------------------------------------------

class TLSStub(StubServer):
    """The stub server behind TLS, with a certificate for 127.0.0.1 from ``ca``."""

    def __init__(self, ca: Any, script: Any = None) -> None:
        super().__init__(script)
        self._ca = ca

    @property
    def base_url(self) -> str:
        return f"https://127.0.0.1:{self.port}/v1"

    def start(self) -> TLSStub:
        import ssl
        import threading

        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
        handler = type("_BoundHandler", (_Handler,), {"stub": self})
        self._httpd = _QuietServer(("127.0.0.1", 0), handler)
        # The handshake runs in accept(); one the client refuses is dropped there, quietly.
        self._httpd.socket = context.wrap_socket(self._httpd.socket, server_side=True)
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()
        return self


@pytest.fixture
def tls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """(server, path of the CA's PEM); no CA variable set, so only certifi's roots are trusted."""
    trustme = pytest.importorskip("trustme")  # the dev extra has it
    for name in (*CA_VARIABLES, "SSL_CERT_DIR"):
        monkeypatch.delenv(name, raising=False)
    ca = trustme.CA()
    pem = tmp_path / "company-ca.pem"
    ca.cert_pem.write_to_path(str(pem))
    with TLSStub(ca, SSE(completion("Over TLS."))) as server:
        yield server, pem


async def test_an_unknown_ca_is_a_tls_failure_and_not_retried(tls) -> None:
    server, _ = tls
    result, notices = await answer(server.base_url)
    assert result.status is AnswerStatus.ERROR
    assert isinstance(result.error, errors.ConnectError)
    assert result.error.message.startswith("TLS failure") and "CERTIFICATE_VERIFY_FAILED" in result.error.message
    assert notices == []


@pytest.mark.parametrize("variable", CA_VARIABLES)
async def test_a_ca_bundle_from_the_environment(tls, monkeypatch: pytest.MonkeyPatch, variable: str) -> None:
    server, pem = tls
    monkeypatch.setenv(variable, str(pem))
    result, _ = await answer(server.base_url)
    assert result.status is AnswerStatus.OK, result.error
    assert result.text == "Over TLS."


async def test_a_providers_ca_bundle_with_the_shared_client(tls) -> None:
    server, pem = tls
    async with make_client() as shared:  # made without the CA: the provider's setting must win
        result, _ = await answer(server.base_url, client=shared, ca_bundle=str(pem))
        other, _ = await answer(server.base_url, client=shared)
    assert result.status is AnswerStatus.OK, result.error
    assert other.status is AnswerStatus.ERROR  # the CA is the provider's, not everyone's


def test_a_providers_ca_is_added_to_the_default_roots(tls) -> None:
    _, pem = tls
    base = len(tls_context().get_ca_certs())
    assert base > 0
    assert len(tls_context(str(pem)).get_ca_certs()) == base + 1


def test_a_ca_variable_naming_a_missing_file_is_skipped(tmp_path: Path) -> None:
    context = tls_context(environ={"SSL_CERT_FILE": str(tmp_path / "absent.pem")})
    assert len(context.get_ca_certs()) > 0  # certifi's, and the app still starts


# --- timeouts -----------------------------------------------------------------------------


async def test_a_stall_between_chunks_hits_the_read_timeout(openai_stub: StubServer) -> None:
    openai_stub.script = SSE([chunk("one "), 0.05, chunk("two")], then="stall")
    result, notices = await answer(openai_stub.base_url, read_timeout=0.3)
    assert result.status is AnswerStatus.INTERRUPTED and result.text == "one two"
    assert isinstance(result.error, errors.ReadTimeoutError) and "0.3 s" in result.error.message
    assert notices == [] and len(openai_stub.requests) == 1  # the body had begun: never replayed


async def test_headers_that_never_come_hit_the_read_timeout_and_are_retried(openai_stub: StubServer) -> None:
    openai_stub.script = Hang()
    result, notices = await answer(openai_stub.base_url, read_timeout=0.2, max_retries=1)
    assert result.status is AnswerStatus.ERROR
    assert isinstance(result.error, errors.ReadTimeoutError)
    assert [n.message for n in notices] == ["no response (timeout) — retrying in 0.5 s (try 2 of 2)"]
    assert len(openai_stub.requests) == 2


async def test_the_providers_timeouts_reach_httpx() -> None:
    seen: list[dict] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.extensions["timeout"])
        return httpx.Response(200, headers={"content-type": "text/event-stream"},
                              content=chunk("x") + chunk(finish="stop"))

    config = ProviderConfig(name="p", kind="openai", base_url="https://gw.test/v1", connect_timeout=3, read_timeout=7)
    assert request_timeout(config).connect == 3 and request_timeout(config).read == 7
    model = ModelInfo(id="m", provider="p", name="M", upstream="m")
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        async for _ in OpenAIProvider(config, None).stream(client, model, ChatRequest(prompt="hi")):
            pass
    assert seen[0]["connect"] == 3 and seen[0]["read"] == 7


# --- settings -----------------------------------------------------------------------------

PROVIDER = '[providers.mine]\nkind = "openai"\nbase_url = "https://llm.example.com/v1"\n'


def load(tmp_path: Path, extra: str):
    path = tmp_path / "config.toml"
    path.write_text(PROVIDER + extra, "utf-8")
    return load_settings(path).providers["mine"]


def test_max_retries_and_ca_bundle_settings(tmp_path: Path) -> None:
    (tmp_path / "certs").mkdir()
    (tmp_path / "certs" / "ca.pem").write_text("-----BEGIN CERTIFICATE-----\n", "utf-8")
    mine = load(tmp_path, 'max_retries = 0\nca_bundle = "certs/ca.pem"\n')
    assert mine.max_retries == 0
    assert mine.ca_bundle == str(tmp_path / "certs" / "ca.pem")  # relative to the config file
    default = load(tmp_path, "")
    assert (default.max_retries, default.ca_bundle) == (2, None)


@pytest.mark.parametrize(("extra", "key", "problem"), [
    ("max_retries = -1\n", "providers.mine.max_retries", "from 0 to 10"),
    ("max_retries = 11\n", "providers.mine.max_retries", "from 0 to 10"),
    ("max_retries = 1.5\n", "providers.mine.max_retries", "wrong type"),
    ("max_retries = true\n", "providers.mine.max_retries", "wrong type"),
    ('ca_bundle = "nowhere.pem"\n', "providers.mine.ca_bundle", "no such file"),
    ("ca_bundle = 1\n", "providers.mine.ca_bundle", "wrong type"),
])
def test_bad_settings_name_the_file_and_key(tmp_path: Path, extra: str, key: str, problem: str) -> None:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, extra)
    message = str(info.value)
    assert message.startswith(f"{tmp_path / 'config.toml'}: {key}: ") and problem in message



def test_a_ca_variable_naming_a_file_that_is_not_pem_is_skipped(tmp_path: Path) -> None:
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate", "utf-8")
    assert len(tls_context(environ={"REQUESTS_CA_BUNDLE": str(junk)}).get_ca_certs()) > 0


async def test_a_providers_ca_bundle_that_went_bad_is_a_clear_error(tmp_path: Path) -> None:
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate", "utf-8")
    result, notices = await answer("https://127.0.0.1:9/v1", ca_bundle=str(junk))  # never reached
    assert isinstance(result.error, errors.ConnectError) and "ca_bundle" in result.error.message
    assert result.status is AnswerStatus.ERROR and notices == []
