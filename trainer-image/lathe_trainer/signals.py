"""SIGTERM (spot interruption, node drain) and SIGINT: ask the training loop to stop."""

from __future__ import annotations

import signal
from types import FrameType

from lathe_trainer.log import log


class StopFlag:
    """Set by SIGTERM/SIGINT; the training loop checks it between optimizer steps."""

    def __init__(self) -> None:
        self.requested = False

    def install(self) -> None:
        def handler(signum: int, _frame: FrameType | None) -> None:
            if not self.requested:
                log(f"received {signal.Signals(signum).name}: checkpointing and exiting")
            self.requested = True

        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)
