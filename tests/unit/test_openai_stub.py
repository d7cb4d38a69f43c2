"""The stub server itself (tests/servers/openai_stub.py): scripts, recording, stop."""

from __future__ import annotations

import threading

import httpx
import pytest

from servers.openai_stub import (
    DONE,
    SSE,
    Hang,
    Status,
    StubServer,
    chunk,
    completion,
    cut,
    error_status,
    start_stub,
    stall,
)


def post(base_url: str, model: str = "m", timeout: float = 10.0) -> httpx.Response:
    return httpx.post(f"{base_url}/chat/completions", json={"model": model, "stream": True}, timeout=timeout)


def test_start_stub_returns_url_and_stop() -> None:
    base_url, stop = start_stub(SSE([chunk("hi"), DONE]))
    try:
        assert base_url.startswith("http://127.0.0.1:") and base_url.endswith("/v1")
        response = post(base_url)
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/event-stream"
        assert response.content == chunk("hi") + DONE
    finally:
        stop()
    with pytest.raises(httpx.ConnectError):
        post(base_url, timeout=2)


def test_raw_items_and_pauses_make_one_body(openai_stub: StubServer) -> None:
    # Items may end mid-character: the stub sends bytes as they are.
    openai_stub.script = SSE([b"da", 0.05, b"ta: \xc3", 0.05, b"\xa9\n", b"\n"])
    with httpx.stream("POST", f"{openai_stub.base_url}/chat/completions", json={}) as response:
        body = b"".join(response.iter_raw())
    assert body == "data: é\n\n".encode()


def test_list_script_in_order_then_last_repeats(openai_stub: StubServer) -> None:
    openai_stub.script = [error_status(429, "slow down", headers={"Retry-After": "1"}), SSE([DONE])]
    first = post(openai_stub.base_url)
    assert first.status_code == 429 and first.headers["retry-after"] == "1"
    assert first.json()["error"]["message"] == "slow down"
    assert post(openai_stub.base_url).status_code == 200
    assert post(openai_stub.base_url).status_code == 200


def test_dict_script_by_model_and_recorded_requests(openai_stub: StubServer) -> None:
    openai_stub.script = {"a": SSE(completion("A")), "b": Status(503, "<html>down</html>", content_type="text/html")}
    assert post(openai_stub.base_url, "a").status_code == 200
    assert post(openai_stub.base_url, "b").status_code == 503
    assert post(openai_stub.base_url, "zzz").status_code == 404
    assert [r.json["model"] for r in openai_stub.requests] == ["a", "b", "zzz"]
    assert openai_stub.requests[0].path == "/v1/chat/completions"


def test_callable_script(openai_stub: StubServer) -> None:
    openai_stub.script = lambda request: Status(200, {"echo": request.json["model"]})
    assert post(openai_stub.base_url, "hello").json() == {"echo": "hello"}


def test_cut_drops_the_connection_mid_body(openai_stub: StubServer) -> None:
    openai_stub.script = cut([chunk("partial")])
    with pytest.raises(httpx.RemoteProtocolError):
        post(openai_stub.base_url)


def test_stall_and_hang_are_released_by_stop() -> None:
    for script in (stall([chunk("x")]), Hang()):
        stub = StubServer(script).start()
        outcome: list[object] = []

        def client(stub: StubServer, outcome: list[object]) -> None:
            try:
                post(stub.base_url, timeout=60)
                outcome.append("returned")
            except httpx.HTTPError as exc:
                outcome.append(exc)
            finally:
                stub.wake()

        thread = threading.Thread(target=client, args=(stub, outcome))
        thread.start()
        # the request's arrival (or the client's end) wakes this wait: no polling, no clock
        arrived = stub.wait_for_requests(1, unless=lambda outcome=outcome: bool(outcome))
        assert arrived, f"the client ended before its request reached the stub: {outcome}"
        stub.stop()
        thread.join(timeout=30)
        assert not thread.is_alive()
        assert outcome  # the client got an answer or an error, not a hang


def test_models_endpoint(openai_stub: StubServer) -> None:
    response = httpx.get(f"{openai_stub.base_url}/models")
    assert response.status_code == 200
    assert response.json()["data"][0]["id"] == "stub-model"
