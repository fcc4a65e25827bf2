"""A real server process serving the tiny causal LM from the local S3 server."""

from __future__ import annotations

import json
import threading
from typing import Any

import httpx
import pytest

from conftest import PKG_ROOT, TEXT_SERVER_ENV, ServerProcess, sse_events

GREEDY = {"temperature": 0}


def complete(server: ServerProcess, **body: Any) -> dict[str, Any]:
    r = server.client.post("/v1/completions", json={"model": "story-writer", **body})
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def stream(server: ServerProcess, path: str, body: dict[str, Any]) -> list[Any]:
    with server.client.stream("POST", path, json={**body, "stream": True}) as r:
        assert r.status_code == 200, r.read()
        assert r.headers["content-type"].startswith("text/event-stream")
        return sse_events(r.iter_lines())


def test_ready_only_after_loading(text_server: ServerProcess) -> None:
    # The fixture polled /readyz from the moment /healthz answered: loading first, then ready.
    assert text_server.seen_statuses[0] == "loading"  # type: ignore[attr-defined]
    assert text_server.seen_statuses[-1] == "ready"  # type: ignore[attr-defined]
    r = text_server.client.get("/readyz")
    assert r.status_code == 200 and r.json()["model"] == "story-writer"
    assert text_server.client.get("/healthz").json() == {"status": "ok"}
    m = text_server.metrics()
    assert m["lathe_model_ready"] == 1
    assert m["lathe_model_load_seconds"] > 0
    assert m["lathe_model_download_bytes"] > 10_000
    assert "sha256 verified against metadata.json" in text_server.logs()


def test_models_endpoint(text_server: ServerProcess) -> None:
    body = text_server.client.get("/v1/models").json()
    assert body["object"] == "list"
    assert [m["id"] for m in body["data"]] == ["story-writer"]
    assert body["data"][0]["task"] == "text-generation"
    assert text_server.client.get("/v1/models/story-writer").status_code == 200
    assert text_server.client.get("/v1/models/other").status_code == 404


def test_completion_returns_tokens(text_server: ServerProcess) -> None:
    body = complete(text_server, prompt="Once upon a time", max_tokens=12, **GREEDY)
    assert body["object"] == "text_completion" and body["model"] == "story-writer"
    (choice,) = body["choices"]
    assert choice["finish_reason"] == "length"
    assert choice["text"]
    assert body["usage"]["completion_tokens"] == 12
    assert body["usage"]["prompt_tokens"] == len("Once upon a time".encode())  # one token per byte
    assert body["usage"]["total_tokens"] == body["usage"]["prompt_tokens"] + 12
    # Greedy decoding is deterministic; echo prepends the prompt.
    again = complete(text_server, prompt="Once upon a time", max_tokens=12, echo=True, **GREEDY)
    assert again["choices"][0]["text"] == "Once upon a time" + choice["text"]


def test_completion_batch_and_n(text_server: ServerProcess) -> None:
    body = complete(text_server, prompt=["a", "b"], max_tokens=3, n=1, **GREEDY)
    assert [c["index"] for c in body["choices"]] == [0, 1]
    assert body["usage"]["completion_tokens"] == 6
    body = complete(text_server, prompt="a", max_tokens=3, n=3, seed=1)
    assert len(body["choices"]) == 3


def test_stop_sequence_truncates(text_server: ServerProcess) -> None:
    full = complete(text_server, prompt="The dragon", max_tokens=40, **GREEDY)["choices"][0]["text"]
    stop = full[5:7]
    expected = full[: full.find(stop)]
    cut = complete(text_server, prompt="The dragon", max_tokens=40, stop=[stop], **GREEDY)
    assert cut["choices"][0]["text"] == expected
    assert cut["choices"][0]["finish_reason"] == "stop"
    assert cut["usage"]["completion_tokens"] < 40
    events = stream(text_server, "/v1/completions", {"prompt": "The dragon", "max_tokens": 40, "stop": stop, **GREEDY})
    assert "".join(e["choices"][0]["text"] for e in events[:-1]) == expected


def test_chat_completion(text_server: ServerProcess) -> None:
    r = text_server.client.post("/v1/chat/completions", json={
        "model": "story-writer",
        "messages": [{"role": "system", "content": "You tell stories."},
                     {"role": "user", "content": [{"type": "text", "text": "Tell me one."}]}],
        "max_completion_tokens": 7, **GREEDY,
    })
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["object"] == "chat.completion"
    (choice,) = body["choices"]
    assert choice["message"]["role"] == "assistant" and choice["message"]["content"]
    assert choice["finish_reason"] == "length"
    assert body["usage"]["completion_tokens"] == 7
    # The tokenizer's chat template was applied: both messages and the generation prompt are in it.
    template = "<|system|>You tell stories.\n<|user|>Tell me one.\n<|assistant|>"
    assert body["usage"]["prompt_tokens"] == len(template.encode())


def test_streaming_completion_matches_non_streaming(text_server: ServerProcess) -> None:
    req = {"prompt": "In a hole in the ground", "max_tokens": 25, **GREEDY}
    plain = complete(text_server, **req)["choices"][0]["text"]
    events = stream(text_server, "/v1/completions", {**req, "stream_options": {"include_usage": True}})
    assert events[-1] == "[DONE]"
    usage = events[-2]
    assert usage["choices"] == [] and usage["usage"]["completion_tokens"] == 25
    chunks = events[:-2]
    assert len(chunks) >= 3  # really streamed, not one blob
    assert all(c["object"] == "text_completion" for c in chunks)
    assert chunks[-1]["choices"][0]["finish_reason"] == "length"
    assert "".join(c["choices"][0]["text"] for c in chunks) == plain


def test_streaming_chat(text_server: ServerProcess) -> None:
    events = stream(text_server, "/v1/chat/completions", {
        "messages": [{"role": "user", "content": "hello"}], "max_tokens": 10, **GREEDY,
    })
    assert events[-1] == "[DONE]"
    chunks = events[:-1]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert chunks[-1]["choices"][0]["finish_reason"] == "length"
    assert chunks[-1]["choices"][0]["delta"] == {}
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
    plain = text_server.client.post("/v1/chat/completions", json={
        "messages": [{"role": "user", "content": "hello"}], "max_tokens": 10, **GREEDY,
    }).json()["choices"][0]["message"]["content"]
    assert text == plain and text


def test_generate_text_simple_api(text_server: ServerProcess) -> None:
    r = text_server.client.post("/generate/text", json={"prompt": "Hi", "max_new_tokens": 5, "temperature": 0})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["model"] == "story-writer" and body["usage"]["completion_tokens"] == 5 and body["text"]


def test_metrics_count_requests_and_tokens(text_server: ServerProcess) -> None:
    before = text_server.metrics()
    key = 'lathe_requests_total{code="200",method="POST",route="/v1/completions"}'
    for _ in range(3):
        complete(text_server, prompt="x", max_tokens=4, **GREEDY)
    after = text_server.metrics()
    assert after[key] - before.get(key, 0) == 3
    assert after["lathe_tokens_generated_total"] - before["lathe_tokens_generated_total"] == 12
    assert after["lathe_prompt_tokens_total"] - before["lathe_prompt_tokens_total"] == 3
    assert after['lathe_request_duration_seconds_count{route="/v1/completions"}'] >= 3
    assert after["lathe_requests_in_flight"] == 0
    text = text_server.client.get("/metrics").text
    assert "# TYPE lathe_request_duration_seconds histogram" in text


EXPORTED_METRICS = PKG_ROOT / "exported-metrics.txt"


def test_exported_metrics_list_is_what_the_server_serves(text_server: ServerProcess) -> None:
    """exported-metrics.txt, which the dashboards' and alerts' consistency check (test/observability/)
    reads, is exactly what the real server exports: a metric added, renamed, retyped or relabelled
    here fails."""
    from prometheus_client.metrics import MetricWrapperBase

    from lathe_inference.metrics import Metrics

    listed: dict[str, tuple[str, tuple[str, ...]]] = {}
    for line in EXPORTED_METRICS.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, kind, labels = line.split()
            listed[name] = (kind, () if labels == "-" else tuple(labels.split(",")))
    text = text_server.client.get("/metrics").text
    served: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split()
            if not name.endswith("_created"):
                served[name] = kind
    want = {n: k for n, (k, _) in listed.items()}
    assert served == want, f"update {EXPORTED_METRICS.name}: the server exports {served}"
    # Label names: those the server's metrics declare (prometheus_client keeps them on the metric;
    # a labelled family with no sample yet shows none on /metrics) ...
    declared = {}
    for m in vars(Metrics()).values():
        if isinstance(m, MetricWrapperBase):
            declared[m._name + ("_total" if m._type == "counter" else "")] = tuple(m._labelnames)  # noqa: SLF001
    assert declared == {n: l for n, (_, l) in listed.items()}, f"update {EXPORTED_METRICS.name}: labels are {declared}"
    # ... and those the real server's samples carry (requests served by the tests above) are among them.
    for line in text.splitlines():
        if line and not line.startswith("#") and "{" in line:
            series = line[: line.index("{")]
            family = next((n for n in listed if series in (n, f"{n}_bucket", f"{n}_sum", f"{n}_count")), None)
            if family is None:
                continue
            used = {kv.split("=", 1)[0] for kv in line[line.index("{") + 1 : line.rindex("}")].split('",') if kv}
            assert used - {"le"} <= set(listed[family][1]), f"{line}: labels beyond {listed[family][1]}"


BAD_REQUESTS: list[tuple[str, str, str, Any, dict[str, str], int, str]] = [
    # (id, method, path, body (bytes|json), headers, status, error code)
    ("malformed-json", "POST", "/v1/completions", b'{"prompt": "x",', {}, 400, "invalid_json"),
    ("body-not-object", "POST", "/v1/completions", [1, 2], {}, 400, "invalid_json"),
    ("empty-body", "POST", "/v1/completions", b"", {}, 400, "invalid_json"),
    ("missing-prompt", "POST", "/v1/completions", {"max_tokens": 3}, {}, 400, "invalid_value"),
    ("prompt-wrong-type", "POST", "/v1/completions", {"prompt": 42}, {}, 400, "invalid_value"),
    ("max-tokens-over-limit", "POST", "/v1/completions", {"prompt": "x", "max_tokens": 100000}, {}, 400,
     "max_tokens_too_large"),
    ("max-tokens-zero", "POST", "/v1/completions", {"prompt": "x", "max_tokens": 0}, {}, 400, "invalid_value"),
    ("temperature-out-of-range", "POST", "/v1/completions", {"prompt": "x", "temperature": 7}, {}, 400,
     "invalid_value"),
    ("oversize-prompt", "POST", "/v1/completions", {"prompt": "y" * 1000, "max_tokens": 1}, {}, 400,
     "context_length_exceeded"),
    ("prompt-plus-output-over-context", "POST", "/v1/completions", {"prompt": "z" * 150, "max_tokens": 400}, {},
     400, "context_length_exceeded"),
    ("body-too-large", "POST", "/v1/completions", {"prompt": "w" * 70000}, {}, 413, "body_too_large"),
    ("wrong-content-type", "POST", "/v1/completions", b'{"prompt": "x"}', {"content-type": "text/plain"}, 415,
     "unsupported_media_type"),
    ("unknown-model", "POST", "/v1/completions", {"model": "gpt-4", "prompt": "x"}, {}, 404, "model_not_found"),
    ("wrong-task", "POST", "/v1/images/generations", {"prompt": "a cat"}, {}, 400, "wrong_task"),
    ("wrong-task-simple-api", "POST", "/generate/image", {"prompt": "a cat"}, {}, 400, "wrong_task"),
    ("n-over-limit", "POST", "/v1/completions", {"prompt": "x", "n": 10}, {}, 400, "invalid_value"),
    ("too-many-stops", "POST", "/v1/completions", {"prompt": "x", "stop": ["a", "b", "c", "d", "e"]}, {}, 400,
     "invalid_value"),
    ("logprobs-unsupported", "POST", "/v1/completions", {"prompt": "x", "logprobs": 2}, {}, 400,
     "unsupported_parameter"),
    ("chat-no-messages", "POST", "/v1/chat/completions", {"messages": []}, {}, 400, "invalid_value"),
    ("chat-bad-role", "POST", "/v1/chat/completions", {"messages": [{"role": "wizard", "content": "x"}]}, {}, 400,
     "invalid_value"),
    ("chat-image-part", "POST", "/v1/chat/completions",
     {"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]}, {}, 400,
     "invalid_value"),
    ("chat-max-tokens-over-limit", "POST", "/v1/chat/completions",
     {"messages": [{"role": "user", "content": "x"}], "max_tokens": 9999}, {}, 400, "max_tokens_too_large"),
    ("get-on-post-route", "GET", "/v1/completions", None, {}, 405, "method_not_allowed"),
    ("unknown-route", "POST", "/v1/engines/davinci/completions", {"prompt": "x"}, {}, 404, "not_found"),
]


@pytest.mark.parametrize(("method", "path", "body", "headers", "status", "code"),
                         [b[1:] for b in BAD_REQUESTS], ids=[b[0] for b in BAD_REQUESTS])
def test_bad_request(text_server: ServerProcess, method: str, path: str, body: Any, headers: dict[str, str],
                     status: int, code: str) -> None:
    kwargs: dict[str, Any] = {"headers": {"content-type": "application/json", **headers}}
    if isinstance(body, bytes):
        kwargs["content"] = body
    elif body is not None:
        kwargs["content"] = json.dumps(body).encode()
    r = text_server.client.request(method, path, **kwargs)
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert err["code"] == code, err
    assert err["message"] and len(err["message"]) < 500
    # ...and the server is still serving.
    assert text_server.client.get("/readyz").status_code == 200
    assert complete(text_server, prompt="ok", max_tokens=1, **GREEDY)["usage"]["completion_tokens"] == 1


def test_error_messages_name_the_problem(text_server: ServerProcess) -> None:
    r = text_server.client.post("/v1/completions", json={"prompt": "x", "max_tokens": 100000})
    assert "512" in r.json()["error"]["message"] and r.json()["error"]["param"] == "max_tokens"
    r = text_server.client.post("/v1/completions", json={"prompt": "y" * 1000})
    assert "1000 tokens" in r.json()["error"]["message"] and "200" in r.json()["error"]["message"]
    r = text_server.client.post("/v1/completions", json={"max_tokens": 3})
    assert r.json()["error"]["param"] == "prompt"


def test_overload_is_shed_with_429(text_server: ServerProcess) -> None:
    """One generation slot and a queue of one: a burst gets 200s for what fits and 429s for the rest."""
    before = text_server.metrics().get('lathe_requests_shed_total{reason="overload"}', 0)
    results: list[httpx.Response] = []
    lock = threading.Lock()
    barrier = threading.Barrier(8)

    def fire() -> None:
        with httpx.Client(base_url=text_server.url, timeout=120) as c:
            barrier.wait()
            r = c.post("/v1/completions", json={"prompt": "burst", "max_tokens": 300, **GREEDY})
        with lock:
            results.append(r)

    threads = [threading.Thread(target=fire) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    codes = sorted(r.status_code for r in results)
    assert set(codes) <= {200, 429}, codes
    assert codes.count(200) >= 2 and codes.count(429) >= 1, codes
    shed = [r for r in results if r.status_code == 429]
    assert all(r.json()["error"]["code"] == "overloaded" and r.headers["retry-after"] for r in shed)
    m = text_server.metrics()
    assert m['lathe_requests_shed_total{reason="overload"}'] - before == len(shed)
    assert m["lathe_requests_in_flight"] == 0 and m["lathe_generations_running"] == 0
    assert complete(text_server, prompt="after", max_tokens=2, **GREEDY)["usage"]["completion_tokens"] == 2



def _post_raw(server: ServerProcess, path: str, body: bytes) -> tuple[httpx.Response, str]:
    """POST ``body`` as it is (json= would refuse a lone surrogate); returns the response and what the
    server logged while answering it (it logs before it answers)."""
    before = len(server.logs())
    r = server.client.post(path, content=body, headers={"content-type": "application/json"})
    return r, server.logs()[before:]


def _logged_once_without_traceback(logged: str, needle: str) -> None:
    assert "Traceback" not in logged and "Exception in ASGI application" not in logged, logged
    assert [line for line in logged.splitlines() if needle in line] == [logged.strip()], logged


LONE_SURROGATES: list[tuple[str, str, bytes, str]] = [
    # (id, path, raw body, the field the error names)
    ("completion-prompt", "/v1/completions", b'{"prompt": "x\\ud800y", "max_tokens": 1}', "prompt"),
    ("completion-prompt-list", "/v1/completions", b'{"prompt": ["ok", "\\udfff"], "max_tokens": 1}', "prompt[1]"),
    ("chat-content", "/v1/chat/completions", b'{"messages": [{"role": "user", "content": "\\ud800"}]}',
     "messages[0].content"),
    ("chat-content-part", "/v1/chat/completions",
     b'{"messages": [{"role": "system", "content": "hi"}, '
     b'{"role": "user", "content": [{"type": "text", "text": "\\udc00"}]}]}', "messages[1].content[0].text"),
    ("chat-stream", "/v1/chat/completions",
     b'{"stream": true, "messages": [{"role": "user", "content": "a\\ud83d"}]}', "messages[0].content"),
    ("simple-api", "/generate/text", b'{"prompt": "\\ud800"}', "prompt"),
]


@pytest.mark.parametrize(("path", "body", "field"), [b[1:] for b in LONE_SURROGATES],
                         ids=[b[0] for b in LONE_SURROGATES])
def test_lone_surrogate_is_a_400_naming_the_field(text_server: ServerProcess, path: str, body: bytes,
                                                  field: str) -> None:
    """JSON's \\uXXXX escapes can spell half a UTF-16 pair, which no tokenizer can encode."""
    r, logged = _post_raw(text_server, path, body)
    assert r.status_code == 400, r.text
    err = r.json()["error"]
    assert err["code"] == "invalid_value" and err["param"] == field, err
    assert err["message"] == f"{field} is not valid Unicode (lone surrogate)", err
    _logged_once_without_traceback(logged, err["message"])
    assert complete(text_server, prompt="ok", max_tokens=1, **GREEDY)["usage"]["completion_tokens"] == 1


def test_surrogate_pair_is_an_ordinary_character(text_server: ServerProcess) -> None:
    r, _ = _post_raw(text_server, "/v1/completions", b'{"prompt": "\\ud83d\\ude00", "max_tokens": 1}')
    assert r.status_code == 200, r.text
    assert r.json()["usage"]["prompt_tokens"] == len("\U0001f600".encode())


@pytest.mark.parametrize("body", [b"[" * 60000, b'{"prompt": ' + b"[" * 60000, b'{"a": ' * 10000],
                         ids=["arrays", "in-a-field", "objects"])
def test_deeply_nested_json_is_a_400(text_server: ServerProcess, body: bytes) -> None:
    """Within the body limit, yet deeper than the JSON parser's recursion limit."""
    assert len(body) < int(TEXT_SERVER_ENV["LATHE_MAX_BODY_BYTES"])
    r, logged = _post_raw(text_server, "/v1/completions", body)
    assert r.status_code == 400, r.text
    err = r.json()["error"]
    assert err["code"] == "invalid_json" and "nested too deeply" in err["message"], err
    _logged_once_without_traceback(logged, err["message"])
    assert text_server.client.get("/readyz").status_code == 200


def test_usage_counts_the_prompt_once_whatever_n(text_server: ServerProcess) -> None:
    """OpenAI's usage: each prompt once, completion tokens summed over the choices."""
    body = complete(text_server, prompt="abc", max_tokens=2, n=3, **GREEDY)
    assert body["usage"] == {"prompt_tokens": 3, "completion_tokens": 6, "total_tokens": 9}
    body = complete(text_server, prompt=["ab", "cde"], max_tokens=2, n=1, **GREEDY)
    assert body["usage"] == {"prompt_tokens": 5, "completion_tokens": 4, "total_tokens": 9}
    events = stream(text_server, "/v1/completions", {"prompt": "abc", "max_tokens": 2, "n": 3,
                                                     "stream_options": {"include_usage": True}, **GREEDY})
    assert events[-2]["usage"] == {"prompt_tokens": 3, "completion_tokens": 6, "total_tokens": 9}

    chat = {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 2, "n": 2, **GREEDY}
    prompt_tokens = len("<|user|>hi\n<|assistant|>".encode())
    r = text_server.client.post("/v1/chat/completions", json=chat)
    assert r.status_code == 200, r.text
    assert len(r.json()["choices"]) == 2
    assert r.json()["usage"] == {"prompt_tokens": prompt_tokens, "completion_tokens": 4,
                                 "total_tokens": prompt_tokens + 4}
    events = stream(text_server, "/v1/chat/completions", {**chat, "stream_options": {"include_usage": True}})
    assert events[-2]["usage"] == {"prompt_tokens": prompt_tokens, "completion_tokens": 4,
                                   "total_tokens": prompt_tokens + 4}
