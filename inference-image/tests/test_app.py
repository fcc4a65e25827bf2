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
from lathe_inference.state import ServerState


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
