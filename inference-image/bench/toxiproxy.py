"""A toxiproxy server for the download benchmark: S3's per-connection limits between the loader and MinIO.

Real S3 serves about 85-90 MB/s per connection with 10-20 ms to the first byte; MinIO on loopback
serves one stream at memory speed. The benchmark starts toxiproxy (built by ``hack/tools.sh path
toxiproxy``), makes one proxy in front of MinIO and gives it, on the downstream side (the response
bytes, S3 -> loader), a ``latency`` toxic and a ``bandwidth`` toxic. Both act on every connection
separately (toxiproxy runs one toxic chain per connection), so N connections may carry N x the rate,
up to what the proxy itself can push on this machine. The upstream side carries only request
headers (the benchmark's uploads go to MinIO directly), so it gets no toxic.

The pure parts (rates, toxic bodies, /proc parsing) are tested in tests/test_bench_toxiproxy.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any


def rate_kb_per_s(mb_per_s: float) -> int:
    """toxiproxy's bandwidth ``rate`` for ``mb_per_s`` decimal MB/s.

    Its bandwidth toxic sleeps ``len(data) * 1ms / rate`` per chunk, so ``rate`` is bytes per
    millisecond: decimal KB/s (90 MB/s = 90,000)."""
    if mb_per_s <= 0:
        raise ValueError(f"bandwidth must be positive, got {mb_per_s} MB/s")
    return round(mb_per_s * 1000)


def toxics(mb_per_s: float, latency_ms: int, jitter_ms: int) -> list[dict[str, Any]]:
    """The toxic bodies for POST /proxies/<name>/toxics: latency first, then the bandwidth cap.

    toxiproxy's latency is ``latency +/- jitter`` per chunk, so 15 +/- 5 ms is the 10-20 ms of S3's
    first byte; it delays the stream without lowering its rate."""
    if latency_ms < 0 or jitter_ms < 0 or jitter_ms > latency_ms:
        raise ValueError(f"need 0 <= jitter <= latency, got latency {latency_ms} ms, jitter {jitter_ms} ms")
    return [
        {"name": "s3_latency", "type": "latency", "stream": "downstream", "toxicity": 1.0,
         "attributes": {"latency": latency_ms, "jitter": jitter_ms}},
        {"name": "s3_bandwidth", "type": "bandwidth", "stream": "downstream", "toxicity": 1.0,
         "attributes": {"rate": rate_kb_per_s(mb_per_s)}},
    ]


def cpu_seconds_from_stat(stat: str, clock_ticks: int) -> float:
    """utime + stime of /proc/<pid>/stat. The command name (field 2) may hold spaces and parentheses,
    so fields are counted from the last ')'."""
    rest = stat[stat.rindex(")") + 2 :].split()
    # rest[0] is field 3 (state); utime and stime are fields 14 and 15.
    return (int(rest[11]) + int(rest[12])) / clock_ticks


@dataclass
class Toxiproxy:
    """One toxiproxy-server process this benchmark started (and stops), driven through its HTTP API."""

    binary: str
    api_port: int = 18474
    proc: subprocess.Popen[bytes] | None = None
    _log: Any = None

    def _call(self, method: str, path: str, body: Any | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(f"http://127.0.0.1:{self.api_port}{path}", data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=5) as resp:
            raw = resp.read()
        return json.loads(raw) if raw.strip() else None

    def start(self, log_path: str) -> None:
        try:  # a toxiproxy already on the port would take our proxy and its figures
            self._call("GET", "/version")
            raise RuntimeError(f"something already answers on 127.0.0.1:{self.api_port}; is another benchmark running?")
        except (urllib.error.URLError, ConnectionError, OSError):
            pass
        self._log = open(log_path, "wb")  # noqa: SIM115 - the child writes it; closed in stop()
        self.proc = subprocess.Popen([self.binary, "-host", "127.0.0.1", "-port", str(self.api_port)],
                                     stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            try:
                self._call("GET", "/version")
                return
            except (urllib.error.URLError, ConnectionError, OSError):
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"toxiproxy did not start (log: {log_path})") from None
                time.sleep(0.05)

    def proxy(self, name: str, listen_port: int, upstream: str, mb_per_s: float, latency_ms: int,
              jitter_ms: int) -> str:
        """A fresh proxy ``name`` on 127.0.0.1:listen_port -> upstream with the S3 toxics; its URL."""
        try:
            self._call("DELETE", f"/proxies/{name}")
        except urllib.error.HTTPError as e:
            if e.code != 404:
                raise
        self._call("POST", "/proxies", {"name": name, "listen": f"127.0.0.1:{listen_port}",
                                        "upstream": upstream, "enabled": True})
        for t in toxics(mb_per_s, latency_ms, jitter_ms):
            self._call("POST", f"/proxies/{name}/toxics", t)
        return f"http://127.0.0.1:{listen_port}"

    def cpu_seconds(self) -> float:
        """CPU the proxy process has used so far (it competes with the loader for the same cores)."""
        assert self.proc is not None
        with open(f"/proc/{self.proc.pid}/stat") as f:
            return cpu_seconds_from_stat(f.read(), os.sysconf("SC_CLK_TCK"))

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        if self._log is not None:
            self._log.close()
            self._log = None
