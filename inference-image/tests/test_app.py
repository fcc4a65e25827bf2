"""The app in-process, for what no request to a real server can reach: an unexpected exception in a
route, and the walk that finds a lone surrogate however deep it sits."""

from __future__ import annotations

import asyncio
import json
import logging

import httpx
import pytest

from lathe_inference.app import create_app
from lathe_inference.body import lone_surrogate_at
from lathe_inference.config import Settings
from lathe_inference.state import ApiError, ServerState


def test_unexpected_error_is_a_500_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    state = ServerState(Settings(model_uri="hf://lathe-test/none", task="text-generation", model_name="m"))
    app = create_app(state)

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("a bug")

    async def call() -> httpx.Response:
        # raise_app_exceptions: an exception that escapes the app (as Starlette's last-resort handler
        # re-raises it for the server to log a second time) fails the test.
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=True)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.get("/boom")

    with caplog.at_level(logging.INFO):
        r = asyncio.run(call())
    state.pool.shutdown()
    assert r.status_code == 500
    assert r.json() == {"error": {"message": "internal error: RuntimeError", "type": "server_error", "param": None,
                                  "code": "internal_error"}}
    (record,) = [rec for rec in caplog.records if rec.name.startswith("lathe_inference")]
    assert record.levelname == "ERROR" and record.getMessage() == "unexpected error on GET /boom"
    assert record.exc_info is not None and isinstance(record.exc_info[1], RuntimeError)
    m = state.metrics.requests.labels("other", "GET", "500")._value.get()  # type: ignore[attr-defined]
    assert m == 1


def test_lone_surrogate_found_at_any_depth() -> None:
    deep = json.loads('{"ok": "fine", "p": ' + "[" * 500 + '"\\udc00"' + "]" * 500 + "}")
    assert lone_surrogate_at(deep) == "p" + "[0]" * 500
    assert lone_surrogate_at(json.loads('{"a": {"b\\ud800": 1}}')) == "a.b\\ud800"  # sendable: escaped
    assert lone_surrogate_at(json.loads('{"a": "\\ud83d\\ude00", "b": [{"c": "\\u00e9"}]}')) is None
    # json.loads decodes bytes with 'surrogatepass': UTF-8-encoded surrogates get through it too.
    assert lone_surrogate_at(json.loads(b'{"x": 1, "y": "\xed\xa0\x80"}')) == "y"


def test_fault_error_rate_fails_that_share_of_generation_requests_only() -> None:
    """FAULT_ERROR_RATE, the test fault the canary tests serve a bad model with: a 500 from the server
    itself, counted in its request metrics like any other answer; probes are never failed."""
    from lathe_inference.config import load_settings

    settings = load_settings({"LATHE_MODEL_URI": "hf://lathe-test/none", "LATHE_TASK": "text-generation",
                              "FAULT_ERROR_RATE": "0.25"})
    assert settings.fault_error_rate == 0.25
    state = ServerState(settings)
    app = create_app(state)

    async def calls() -> tuple[list[int], int]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            codes = [(await client.post("/v1/completions", json={"prompt": "x"})).status_code for _ in range(8)]
            return codes, (await client.get("/healthz")).status_code

    codes, health = asyncio.run(calls())
    state.pool.shutdown()
    assert codes.count(500) == 2  # a quarter of eight, exactly
    assert all(c != 500 for i, c in enumerate(codes) if i not in (3, 7))
    assert health == 200
    assert state.metrics.requests.labels("/v1/completions", "POST", "500")._value.get() == 2  # type: ignore[attr-defined]


def test_fault_error_rate_out_of_range_is_refused() -> None:
    from lathe_inference.config import ConfigError, load_settings

    with pytest.raises(ConfigError, match="FAULT_ERROR_RATE must be between 0.0 and 1.0"):
        load_settings({"LATHE_MODEL_URI": "hf://a/b", "LATHE_TASK": "text-generation", "FAULT_ERROR_RATE": "2"})


def test_draining_serves_until_the_delay_ends_then_refuses_new_work() -> None:
    """SIGTERM turns the server not ready but it keeps serving (kube-proxy still sends it
    connections for a moment); once the shutdown delay is over, new requests get a 503 that tells
    the client to go elsewhere."""
    state = ServerState(Settings(model_uri="hf://lathe-test/none", task="text-generation", model_name="m"))
    model = object()
    state.model = model  # type: ignore[assignment]  # admission only looks at whether one is loaded
    state.status = "ready"
    state.start_draining()
    assert state.status == "draining" and state.require_ready() is model
    state.stop_accepting()
    with pytest.raises(ApiError) as refused:
        state.require_ready()
    state.pool.shutdown()
    assert refused.value.status == 503 and refused.value.code == "shutting_down"
    assert refused.value.headers["Connection"] == "close"
