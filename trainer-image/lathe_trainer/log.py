"""Plain line logging on stdout, tagged with the process's rank."""

from __future__ import annotations

import os
import sys
import time


def rank() -> int:
    return int(os.environ.get("RANK", "0"))


def log(message: str) -> None:
    stamp = time.strftime("%H:%M:%S", time.gmtime())
    print(f"{stamp} [lathe-trainer rank={rank()}] {message}", file=sys.stdout, flush=True)
