"""Fixtures: the real local S3 server (never a mock), tiny models built here, and real server processes."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

HERE = Path(__file__).resolve().parent
PKG_ROOT = HERE.parent
S3_ENV_FILE = PKG_ROOT.parent / ".cluster" / "s3.env"

sys.path.insert(0, str(HERE))
import tiny  # noqa: E402


def _load_s3_env() -> None:
    """`make test-inference` exports .cluster/s3.env; a bare `pytest` reads the same file."""
    if os.environ.get("AWS_ENDPOINT_URL_S3") or not S3_ENV_FILE.is_file():
        return
    for line in S3_ENV_FILE.read_text().splitlines():
        key, sep, value = line.strip().partition("=")
        if sep and not key.startswith("#"):
            os.environ.setdefault(key, value)


_load_s3_env()


@pytest.fixture(scope="session")
def bucket() -> str:
    return os.environ.get("LATHE_S3_BUCKET", "lathe-artifacts")


@pytest.fixture(scope="session")
def s3(bucket: str) -> Any:
    if not os.environ.get("AWS_ENDPOINT_URL_S3"):
        pytest.fail("no local S3 server: run `make s3-up` (or `make test-inference`) first")
    import boto3

    client = boto3.client("s3")
    try:
        client.head_bucket(Bucket=bucket)
    except Exception as e:  # pragma: no cover - environment problem, said plainly
        pytest.fail(f"local S3 server at {os.environ['AWS_ENDPOINT_URL_S3']} has no bucket {bucket}: {e}")
    return client


def unique_slug(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="session")
def tiny_llama_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny.save_tiny_llama(tmp_path_factory.mktemp("tiny-llama") / "checkpoint")


@pytest.fixture(scope="session")
def tiny_llama_uri(s3: Any, bucket: str, tiny_llama_dir: Path) -> str:
    return tiny.publish_run(s3, bucket, tiny_llama_dir, unique_slug("tiny-llama"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServerProcess:
    """``python -m lathe_inference`` as the container runs it, configured by environment only."""

    def __init__(self, workdir: Path, **env: str) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / "server.log"
        self.termination_log = workdir / "termination-log"
        full_env = dict(os.environ)
        full_env.update({
            "PORT": str(self.port),
            "HOST": "127.0.0.1",
            "LATHE_MODEL_CACHE": str(workdir / "models"),
            "HF_HOME": str(workdir / "hf"),
            "HF_HUB_OFFLINE": "1",
            "LATHE_TERMINATION_LOG": str(self.termination_log),
            "PYTHONUNBUFFERED": "1",
            "OMP_NUM_THREADS": "1",
        })
        full_env.update(env)
        self._log = open(self.log_path, "wb")
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "lathe_inference"], cwd=PKG_ROOT, env=full_env,
            stdout=self._log, stderr=subprocess.STDOUT,
        )
        self.client = httpx.Client(base_url=self.url, timeout=120)

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_listening(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited with {self.proc.returncode}:\n{self.logs()}")
            try:
                if self.client.get("/healthz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise AssertionError(f"server did not listen within {timeout}s:\n{self.logs()}")

    def wait_status(self, want: str, timeout: float = 120) -> list[str]:
        """Poll /readyz until its status is ``want``; returns every status seen on the way."""
        seen: list[str] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited with {self.proc.returncode}:\n{self.logs()}")
            try:
                r = self.client.get("/readyz", timeout=2)
                status = r.json()["status"]
                assert (r.status_code == 200) == (status == "ready"), r.text
                if not seen or seen[-1] != status:
                    seen.append(status)
                if status == want:
                    return seen
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise AssertionError(f"server never reached {want!r} (saw {seen}):\n{self.logs()}")

    def metrics(self) -> dict[str, float]:
        return parse_metrics(self.client.get("/metrics").text)

    def stop(self) -> None:
        self.client.close()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()


def parse_metrics(text: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            out[name] = float(value)
    return out


def sse_events(lines: Iterator[str]) -> list[Any]:
    """Server-sent events -> parsed JSON payloads, with the final ``[DONE]`` kept as a string."""
    events: list[Any] = []
    for line in lines:
        if not line.startswith("data: "):
            assert line == "", f"unexpected SSE line {line!r}"
            continue
        data = line[len("data: ") :]
        events.append(data if data == "[DONE]" else json.loads(data))
    return events


TEXT_SERVER_ENV = {
    "LATHE_TASK": "text-generation",
    "LATHE_MODEL_NAME": "story-writer",
    "LATHE_MAX_CONCURRENCY": "1",
    "LATHE_MAX_QUEUE": "1",
    "LATHE_MAX_PROMPT_TOKENS": "200",
    "LATHE_MAX_NEW_TOKENS": "512",
    "LATHE_MAX_BODY_BYTES": "65536",
    "LATHE_MAX_N": "3",
    "LATHE_DOWNLOAD_PART_MB": "1",
}


@pytest.fixture(scope="module")
def text_server(tiny_llama_uri: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    server = ServerProcess(tmp_path_factory.mktemp("text-server"), LATHE_MODEL_URI=tiny_llama_uri, **TEXT_SERVER_ENV)
    try:
        server.wait_listening()
        server.seen_statuses = server.wait_status("ready")  # type: ignore[attr-defined]
        yield server
    finally:
        server.stop()
