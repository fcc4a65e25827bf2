"""SIGTERM (spot interruption, node drain) and SIGINT: ask the training loop to stop, or pass
them on to the child process that trains (torchrun, a custom command)."""

from __future__ import annotations

import signal
import subprocess
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


def wait_forwarding_signals(proc: subprocess.Popen[bytes]) -> tuple[int, bool]:
    """Wait for `proc`, passing SIGTERM/SIGINT on to it (it saves its checkpoint and exits).

    Returns its exit code and whether a signal was forwarded.
    """
    interrupted = False

    def forward(signum: int, _frame: FrameType | None) -> None:
        nonlocal interrupted
        interrupted = True
        proc.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    return proc.wait(), interrupted
