"""Entry point: ``python -m lathe_inference`` (the container runs exactly this)."""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Callable
from types import FrameType

import uvicorn

from .config import ConfigError, Settings, load_settings

log = logging.getLogger("lathe_inference")


def _termination_log(line: str) -> None:
    path = os.environ.get("LATHE_TERMINATION_LOG", "/dev/termination-log")
    try:
        with open(path, "w") as f:
            f.write(line + "\n")
    except OSError:
        pass


def setup_logging() -> None:
    level = os.environ.get("LOG_LEVEL", "INFO").upper()
    logging.basicConfig(
        level=level if level in ("DEBUG", "INFO", "WARNING", "ERROR") else "INFO",
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    for noisy in ("botocore", "boto3", "s3transfer", "urllib3", "httpx", "filelock"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


class _Server(uvicorn.Server):
    """uvicorn, with a Kubernetes-shaped SIGTERM: turn not-ready at once, keep serving for
    LATHE_SHUTDOWN_DELAY_S (endpoints update), then stop accepting and let in-flight requests finish
    for up to LATHE_SHUTDOWN_GRACE_S. A second signal forces the exit."""

    def __init__(self, config: uvicorn.Config, on_drain: Callable[[], None], on_stop: Callable[[], None],
                 delay_s: float) -> None:
        super().__init__(config)
        self._on_drain = on_drain
        self._on_stop = on_stop
        self._delay_s = delay_s
        self._draining = False

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self._draining:
            self.force_exit = True
            return
        self._draining = True
        self._on_drain()
        if self._delay_s > 0:
            threading.Timer(self._delay_s, self._stop).start()
        else:
            self._stop()

    def _stop(self) -> None:
        # uvicorn's own handler would re-raise the signal after the drain (exit status 143); a clean
        # drain is a clean exit, so just ask the loop to stop.
        self._on_stop()
        self.should_exit = True


def run(settings: Settings) -> int:
    from .app import create_app
    from .state import ServerState

    state = ServerState(settings)
    app = create_app(state)
    state.start_loading()
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=int(settings.shutdown_grace_s) or None,
        timeout_keep_alive=5,
        limit_concurrency=settings.max_concurrency + settings.max_queue + 64,
        server_header=False,
    )
    server = _Server(config, state.start_draining, state.stop_accepting, settings.shutdown_delay_s)
    log.info(
        "serving %s (%s) from %s on %s:%d; max concurrency %d, queue %d",
        settings.model_name, settings.task, settings.model_uri, settings.host, settings.port,
        settings.max_concurrency, settings.max_queue,
    )
    server.run()
    state.pool.shutdown(wait=False, cancel_futures=True)
    log.info("stopped")
    return 0


def main() -> int:
    # Progress bars are for terminals; in `kubectl logs` they are noise.
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
    setup_logging()
    try:
        settings = load_settings()
    except ConfigError as e:
        line = f"lathe-inference: error: {e}"
        print(line, file=sys.stderr)
        _termination_log(line)
        return 2
    return run(settings)


if __name__ == "__main__":
    sys.exit(main())
