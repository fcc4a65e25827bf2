"""What the server knows about itself: the model (once loaded), readiness, and admission control."""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from .config import Settings
from .errors import ChecksumError, ModelSourceError
from .metrics import Metrics
from .model import ImageModel, Model, TextModel, configure_torch, pick_device, split_hf_uri

log = logging.getLogger("lathe_inference")


class ApiError(Exception):
    """An error answered to the client in OpenAI's error shape."""

    def __init__(
        self,
        status: int,
        message: str,
        code: str,
        *,
        type_: str = "invalid_request_error",
        param: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.type = type_
        self.param = param
        self.headers = headers or {}


@dataclass
class LoadInfo:
    local_path: str | None = None
    download_seconds: float = 0.0
    download_bytes: int = 0
    verified: bool = False
    load_seconds: float = 0.0


class ServerState:
    def __init__(self, settings: Settings, metrics: Metrics | None = None) -> None:
        self.settings = settings
        self.metrics = metrics or Metrics()
        self.model: Model | None = None
        self.architecture: str | None = None
        self.device: str | None = None
        self.dtype: str | None = None
        self.status = "loading"  # loading | ready | failed | draining
        self.error: str | None = None
        self.info = LoadInfo()
        self.started = time.monotonic()
        self.created = int(time.time())
        self.pool = ThreadPoolExecutor(max_workers=settings.max_concurrency, thread_name_prefix="generate")
        self._sem: asyncio.Semaphore | None = None
        self._admitted = 0
        self._limit = settings.max_concurrency + settings.max_queue
        # False once the shutdown delay is over: new work is refused from then on.
        self._accepting = True

    # ------------------------------------------------------------------ loading

    def start_loading(self) -> threading.Thread:
        t = threading.Thread(target=self.load, name="model-loader", daemon=True)
        t.start()
        return t

    def load(self) -> None:
        s = self.settings
        t0 = time.monotonic()
        try:
            device, dtype = pick_device(s.device, s.dtype)
            configure_torch(device)
            self.device, self.dtype = device, str(dtype).removeprefix("torch.")
            revision = None
            if s.model_uri.startswith("s3://"):
                from .fetch import fetch_model  # the AWS SDK only when the model is in S3

                log.info("fetching %s into %s", s.model_uri, s.model_cache)
                res = fetch_model(
                    s.model_uri,
                    s.model_cache,
                    concurrency=s.download_concurrency,
                    part_size=s.download_part_mb << 20,
                )
                self.info.download_seconds = res.seconds
                self.info.download_bytes = res.bytes
                self.info.verified = res.verified
                self.metrics.model_download_seconds.set(res.seconds)
                self.metrics.model_download_bytes.set(res.bytes)
                log.info(
                    "fetched %d files, %.1f MB in %.2fs (%.0f MB/s)%s%s",
                    len(res.files), res.bytes / 1e6, res.seconds, res.mb_per_s if res.bytes else 0,
                    ", sha256 verified against metadata.json" if res.verified else "",
                    " (cache hit)" if res.cached else "",
                )
                source = str(res.local_dir)
            elif s.model_uri.startswith("hf://"):
                source, revision = split_hf_uri(s.model_uri)
            else:  # file://
                source = s.model_uri[len("file://") :]
                if not os.path.isdir(source):
                    raise ModelSourceError(f"no such directory: {source}")
            self.info.local_path = source
            log.info("loading %s model from %s on %s (%s)", s.task, source, device, self.dtype)
            cls = TextModel if s.task == "text-generation" else ImageModel
            model = cls.load(source, revision, device, dtype, s.trust_remote_code)
        except ChecksumError as e:
            self._fail("checksum", f"{e}; refusing to serve {s.model_uri}")
            return
        except ModelSourceError as e:
            self._fail("source", f"cannot fetch model {s.model_uri}: {e}")
            return
        except Exception as e:  # a broken checkpoint, the wrong task for the weights, out of memory...
            log.exception("model load failed")
            self._fail("load", f"cannot load {s.task} model from {s.model_uri}: {type(e).__name__}: {e}")
            return
        if s.warmup:
            try:
                t1 = time.monotonic()
                model.warmup()
                log.info("warm-up generation took %.2fs", time.monotonic() - t1)
            except Exception as e:
                self._fail("warmup", f"model loaded but a warm-up generation failed: {type(e).__name__}: {e}")
                return
        self.model = model
        self.architecture = model.pipeline_class if isinstance(model, ImageModel) else type(model.model).__name__
        self.info.load_seconds = time.monotonic() - t0
        self.metrics.model_load_seconds.set(self.info.load_seconds)
        if self.status == "loading":
            self.status = "ready"
            self.metrics.model_ready.set(1)
        log.info("model %s (%s) ready in %.2fs", s.model_name, self.architecture, self.info.load_seconds)

    def _fail(self, reason: str, message: str) -> None:
        self.error = message
        if self.status == "loading":
            self.status = "failed"
        self.metrics.model_load_failures.labels(reason).inc()
        # One line that says it all, for `kubectl logs`; the process stays up and not ready.
        log.error("lathe-inference: error: %s", message)

    def start_draining(self) -> None:
        """SIGTERM: not ready from now on (the endpoints drop the pod), still serving what arrives."""
        if self.status != "draining":
            log.info("SIGTERM: not ready any more; serving until the listener closes, %d in flight", self._admitted)
        self.status = "draining"
        self.metrics.model_ready.set(0)

    def stop_accepting(self) -> None:
        """The shutdown delay is over: new requests (on connections kept alive) are refused."""
        self._accepting = False
        log.info("shutting down; finishing %d in-flight requests", self._admitted)

    # ------------------------------------------------------------------ admission

    def require_ready(self) -> Model:
        # A draining server still serves during the shutdown delay: kube-proxy sends it
        # connections until every node has seen the pod go, and refusing them is what users saw.
        if self.model is not None and (self.status == "ready" or (self.status == "draining" and self._accepting)):
            return self.model
        if self.status == "draining":
            self.metrics.shed.labels("draining").inc()
            raise ApiError(503, "server is shutting down", "shutting_down", type_="unavailable",
                           headers={"Retry-After": "1", "Connection": "close"})
        if self.status == "failed":
            raise ApiError(503, f"model failed to load: {self.error}", "model_failed", type_="unavailable")
        raise ApiError(503, "model is still loading", "model_loading", type_="unavailable",
                       headers={"Retry-After": "5"})

    async def acquire(self) -> None:
        """Take a generation slot: run now, wait in the bounded queue, or be shed with 429/503."""
        if self._sem is None:
            self._sem = asyncio.Semaphore(self.settings.max_concurrency)
        if not self._accepting:
            self.require_ready()
        if self._admitted >= self._limit:
            self.metrics.shed.labels("overload").inc()
            raise ApiError(
                429,
                f"server is at capacity ({self.settings.max_concurrency} running, "
                f"{self.settings.max_queue} queued); retry later",
                "overloaded", type_="rate_limit_error", headers={"Retry-After": "1"},
            )
        self._admitted += 1
        self.metrics.in_flight.inc()
        try:
            await asyncio.wait_for(self._sem.acquire(), timeout=self.settings.queue_timeout_s)
        except (TimeoutError, asyncio.TimeoutError):
            self._admitted -= 1
            self.metrics.in_flight.dec()
            self.metrics.shed.labels("queue_timeout").inc()
            raise ApiError(503, f"no generation slot became free within {self.settings.queue_timeout_s:g}s",
                           "queue_timeout", type_="unavailable", headers={"Retry-After": "1"}) from None
        except BaseException:
            self._admitted -= 1
            self.metrics.in_flight.dec()
            raise
        self.metrics.running.inc()

    def release(self) -> None:
        assert self._sem is not None
        self._sem.release()
        self._admitted -= 1
        self.metrics.in_flight.dec()
        self.metrics.running.dec()

    @property
    def in_flight(self) -> int:
        return self._admitted
