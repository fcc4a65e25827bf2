"""Failure reporting: the exit protocol of docs/contracts.md.

A bad input (bad URI scheme, missing object, unparseable hyperparameters, missing credentials)
exits 2 with one line `lathe-trainer: error: <what>` on stderr and in the termination log, which
the operator surfaces in the run's status. Any other failure exits 1 with the same kind of line.
"""

from __future__ import annotations

import os
import sys

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_SIGTERM = 143  # 128 + SIGTERM: interrupted, a checkpoint was saved

PREFIX = "lathe-trainer: error: "
DEFAULT_TERMINATION_LOG = "/dev/termination-log"


class TrainerError(Exception):
    """A failure with a message fit for a user; `exit_code` 2 means the inputs were wrong."""

    def __init__(self, message: str, exit_code: int = EXIT_BAD_INPUT) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


class BadInput(TrainerError):
    """The run's inputs are wrong: retrying the same spec cannot succeed."""

    def __init__(self, message: str) -> None:
        super().__init__(message, EXIT_BAD_INPUT)


def one_line(message: str) -> str:
    """Collapse a message onto a single line (the termination log is read as one line)."""
    return " ".join(message.split())


def termination_log_path() -> str:
    return os.environ.get("LATHE_TERMINATION_LOG", DEFAULT_TERMINATION_LOG)


def report_failure(message: str) -> str:
    """Print the error line on stderr and write it to the termination log; return the line."""
    line = PREFIX + one_line(message)
    print(line, file=sys.stderr, flush=True)
    try:
        with open(termination_log_path(), "w", encoding="utf-8") as fh:
            fh.write(line + "\n")
    except OSError:
        pass  # outside Kubernetes the path may not exist or be writable
    return line
