"""Start-up and shutdown of the real server process: checksum refusal, hf:// loading, SIGTERM, bad config."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from conftest import PKG_ROOT, TEXT_SERVER_ENV, ServerProcess, sse_events, unique_slug
from lathe_inference.config import ConfigError, load_settings
import tiny


def _tamper_weights(meta: dict[str, Any]) -> None:
    entry = next(e for e in meta["files"] if e["path"] == "model.safetensors")
    entry["sha256"] = "f" * 64


def _hub_cache(hf_home: Path, repo: str, checkpoint: Path) -> None:
    """The Hugging Face cache layout (what the Hub client leaves behind), so hf:// loads offline."""
    commit = "0123456789abcdef0123456789abcdef01234567"
    root = hf_home / "hub" / f"models--{repo.replace('/', '--')}"
    shutil.copytree(checkpoint, root / "snapshots" / commit)
    (root / "refs").mkdir(parents=True)
    (root / "refs" / "main").write_text(commit)


@pytest.fixture(scope="module")
def servers(s3: Any, bucket: str, tiny_llama_dir: Path, tiny_llama_uri: str,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, ServerProcess]]:
    """Three servers started together (start-up is mostly imports; overlap them)."""
    bad_uri = tiny.publish_run(s3, bucket, tiny_llama_dir, unique_slug("corrupt"), tamper=_tamper_weights)
    hf_dir = tmp_path_factory.mktemp("hf-server")
    _hub_cache(hf_dir / "hf", "lathe-test/tiny-llama", tiny_llama_dir)
    started = {
        "checksum": ServerProcess(tmp_path_factory.mktemp("checksum-server"), LATHE_MODEL_URI=bad_uri,
                                  LATHE_TASK="text-generation"),
        "hf": ServerProcess(hf_dir, LATHE_MODEL_URI="hf://lathe-test/tiny-llama", LATHE_TASK="text-generation"),
        "shutdown": ServerProcess(tmp_path_factory.mktemp("shutdown-server"), LATHE_MODEL_URI=tiny_llama_uri,
                                  **{**TEXT_SERVER_ENV, "LATHE_SHUTDOWN_DELAY_S": "1",
                                     "LATHE_SHUTDOWN_GRACE_S": "60", "LATHE_MAX_CONCURRENCY": "2",
                                     "LATHE_MAX_N": "8"}),
    }
    try:
        for s in started.values():
            s.wait_listening()
        yield started
    finally:
        for s in started.values():
            s.stop()


def test_checksum_mismatch_refuses_to_serve(servers: dict[str, ServerProcess]) -> None:
    server = servers["checksum"]
    seen = server.wait_status("failed")
    assert "ready" not in seen
    r = server.client.get("/readyz")
    assert r.status_code == 503
    assert "checksum mismatch: model.safetensors has sha256" in r.json()["error"]
    assert server.client.get("/healthz").status_code == 200  # alive, just not serving
    r = server.client.post("/v1/completions", json={"prompt": "x", "max_tokens": 1})
    assert r.status_code == 503 and r.json()["error"]["code"] == "model_failed"
    # One clear log line says what is wrong and that the model is refused.
    errors = [line for line in server.logs().splitlines() if "lathe-inference: error:" in line]
    assert len(errors) == 1, server.logs()
    assert "checksum mismatch: model.safetensors" in errors[0] and "refusing to serve" in errors[0]
    m = server.metrics()
    assert m["lathe_model_ready"] == 0
    assert m['lathe_model_load_failures_total{reason="checksum"}'] == 1
    # The corrupt download was not left in the cache as a servable model.
    assert not list((server.workdir / "models").rglob("model.safetensors"))
    time.sleep(0.5)
    assert server.client.get("/readyz").json()["status"] == "failed"  # and it stays that way


def test_loads_from_hugging_face_uri(servers: dict[str, ServerProcess]) -> None:
    server = servers["hf"]
    server.wait_status("ready")
    assert server.client.get("/v1/models").json()["data"][0]["id"] == "lathe-test/tiny-llama"
    r = server.client.post("/v1/completions", json={"prompt": "hub", "max_tokens": 4, "temperature": 0})
    assert r.status_code == 200 and r.json()["usage"]["completion_tokens"] == 4
    assert "loading text-generation model from lathe-test/tiny-llama" in server.logs()


def test_sigterm_drains_in_flight_requests(servers: dict[str, ServerProcess]) -> None:
    server = servers["shutdown"]
    server.wait_status("ready")
    first_chunk = threading.Event()
    events: list[Any] = []
    done_at: list[float] = []

    def long_stream() -> None:
        # Eight sequential choices of 400 tokens: seconds of generation, well past the listener's close.
        body = {"prompt": "long", "max_tokens": 400, "n": 8, "temperature": 0, "stream": True,
                "stream_options": {"include_usage": True}}
        with httpx.Client(base_url=server.url, timeout=120) as c, c.stream("POST", "/v1/completions", json=body) as r:
            lines = []
            for line in r.iter_lines():
                lines.append(line)
                if line.startswith("data: {") and '"text":""' not in line:
                    first_chunk.set()
            events.extend(sse_events(iter(lines)))
        done_at.append(time.monotonic())

    reader = threading.Thread(target=long_stream)
    reader.start()
    assert first_chunk.wait(60), "the stream never started"
    server.proc.send_signal(signal.SIGTERM)

    # During LATHE_SHUTDOWN_DELAY_S: not ready (endpoints drop the pod), alive, and still serving
    # what kube-proxy sends it until every node has seen the pod go (a second slot is free).
    signalled = time.monotonic()
    r = server.client.get("/readyz")
    assert r.status_code == 503 and r.json()["status"] == "draining"
    assert server.client.get("/healthz").status_code == 200
    r = httpx.post(server.url + "/v1/completions", json={"prompt": "late", "max_tokens": 1, "temperature": 0})
    assert time.monotonic() - signalled < 1, "the check ran past the delay: it proves nothing"
    assert r.status_code == 200 and r.json()["usage"]["completion_tokens"] == 1

    # Then it stops accepting connections...
    refused_at = None
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            httpx.get(server.url + "/healthz", timeout=1)
        except httpx.TransportError:
            refused_at = time.monotonic()
            break
        time.sleep(0.05)
    assert refused_at is not None, "still accepting connections after SIGTERM"

    # ...while the stream admitted before SIGTERM runs to its end.
    reader.join(120)
    assert done_at and done_at[0] > refused_at, "the in-flight stream ended before the listener closed"
    assert events[-1] == "[DONE]"
    # Drained, not cut: every choice runs to its 400 tokens ("length"), never "cancelled". Greedy
    # decoding of the tiny model never picks EOS (tiny.save_tiny_llama), so the count is exact.
    finished = {e["choices"][0]["index"]: e["choices"][0]["finish_reason"]
                for e in events[:-2] if e["choices"][0]["finish_reason"]}
    assert finished == {i: "length" for i in range(8)}, finished
    assert events[-2]["usage"]["completion_tokens"] == 8 * 400
    assert server.proc.wait(30) == 0, server.logs()
    assert "SIGTERM: not ready any more" in server.logs()


def _run_main(env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    term = tmp_path / "termination-log"
    full = {"PATH": "/usr/bin:/bin", "LATHE_TERMINATION_LOG": str(term), **env}
    return subprocess.run([sys.executable, "-m", "lathe_inference"], cwd=PKG_ROOT, env=full,
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(("env", "message"), [
    ({"LATHE_TASK": "text-generation"}, "LATHE_MODEL_URI is required"),
    ({"LATHE_MODEL_URI": "gs://bucket/model", "LATHE_TASK": "text-generation"}, "must start with s3://, hf://"),
    ({"LATHE_MODEL_URI": "hf://org/name", "LATHE_TASK": "speech"}, "LATHE_TASK must be one of"),
    ({"LATHE_MODEL_URI": "hf://org/name", "LATHE_TASK": "text-to-image", "PORT": "http"}, "PORT must be an integer"),
])
def test_bad_configuration_exits_2(env: dict[str, str], message: str, tmp_path: Path) -> None:
    res = _run_main(env, tmp_path)
    assert res.returncode == 2, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("lathe-inference: error: ") and message in lines[0]
    assert (tmp_path / "termination-log").read_text().strip() == lines[0]


def test_settings_defaults_and_limits() -> None:
    s = load_settings({"LATHE_MODEL_URI": "s3://lathe-artifacts/models/story/20261122-154210-a1b2c3/checkpoint/",
                       "LATHE_TASK": "text-generation", "LATHE_MAX_CONCURRENCY": "2"})
    assert s.model_name == "story"  # the model slug when LATHE_MODEL_NAME is unset
    assert (s.port, s.max_concurrency, s.max_queue, s.model_cache) == (8080, 2, 8, "/models")
    with pytest.raises(ConfigError, match="LATHE_MAX_CONCURRENCY must be between 1 and 1024"):
        load_settings({"LATHE_MODEL_URI": "hf://a/b", "LATHE_TASK": "text-generation", "LATHE_MAX_CONCURRENCY": "0"})
    assert load_settings({"LATHE_MODEL_URI": "hf://a/b@v1", "LATHE_TASK": "text-to-image"}).model_name == "a/b"
