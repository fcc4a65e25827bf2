"""Helpers for `custom` commands: the same S3 writers the built-in tasks use.

From Python: `from lathe_trainer import helpers`. From a shell:
    python -m lathe_trainer.helpers progress --epoch 1 --epochs 3 --step 100 --loss 0.5
    python -m lathe_trainer.helpers checkpoint DIR --step 100 --epoch 1
    python -m lathe_trainer.helpers upload FILE RELATIVE/PATH   (under the run prefix)
All of them read LATHE_OUTPUT_URI and LATHE_RUN_ID, and write only from rank 0 of node 0
(RANK and PET_NODE_RANK unset or 0); elsewhere they do nothing.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from lathe_trainer import checkpoints, records, s3
from lathe_trainer.history import MetricsHistory
from lathe_trainer.errors import BadInput, TrainerError, report_failure
from lathe_trainer.uris import S3Uri, parse_s3


def is_writer() -> bool:
    return os.environ.get("RANK", "0") == "0" and os.environ.get("PET_NODE_RANK", "0") == "0"


def output() -> S3Uri:
    raw = os.environ.get("LATHE_OUTPUT_URI", "")
    if not raw:
        raise BadInput("environment variable LATHE_OUTPUT_URI is not set")
    return parse_s3(raw, "LATHE_OUTPUT_URI")


def upload(local: Path, relative: str) -> S3Uri | None:
    """Upload a file under the run prefix; returns its URI (None when not the writer).

    A file under checkpoints/ is intermediate state and gets the retention tag that
    save_checkpoint's files get (s3.CHECKPOINT_TAGS); anything else is written untagged.
    """
    if not is_writer():
        return None
    relative = relative.lstrip("/")
    uri = output().child(relative)
    s3.upload_file(local, uri,
                   tags=s3.CHECKPOINT_TAGS if relative.startswith("checkpoints/") else None)
    return uri


def save_checkpoint(local_dir: Path, step: int, epoch: int) -> S3Uri | None:
    """Upload `local_dir` as checkpoints/<step>/ with its COMPLETE marker (written last)."""
    if not is_writer():
        return None
    return checkpoints.save(local_dir, output(), step, epoch)


def progress(epoch: int, epochs: int, step: int, loss: float | None,
             started_at: str | None = None) -> None:
    """progress.json, and a point of metrics-history.json (the history written so far is kept up
    to `step`)."""
    if not is_writer():
        return
    run_id = os.environ.get("LATHE_RUN_ID", "")
    history = MetricsHistory(output(), run_id)
    history.resume(step)
    records.Progress(output(), run_id, epochs, 0,
                     started_at or os.environ.get("LATHE_STARTED_AT", records.now()), 0.0,
                     True, history).update(epoch, step, loss, force=True, interval_loss=loss)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m lathe_trainer.helpers")
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("progress")
    p.add_argument("--epoch", type=int, required=True)
    p.add_argument("--epochs", type=int, required=True)
    p.add_argument("--step", type=int, required=True)
    p.add_argument("--loss", type=float)
    c = sub.add_parser("checkpoint")
    c.add_argument("dir", type=Path)
    c.add_argument("--step", type=int, required=True)
    c.add_argument("--epoch", type=int, required=True)
    u = sub.add_parser("upload")
    u.add_argument("file", type=Path)
    u.add_argument("relative")
    args = parser.parse_args(argv)
    try:
        if args.cmd == "progress":
            progress(args.epoch, args.epochs, args.step, args.loss)
        elif args.cmd == "checkpoint":
            save_checkpoint(args.dir, args.step, args.epoch)
        else:
            upload(args.file, args.relative)
    except TrainerError as exc:
        report_failure(exc.message)
        return exc.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
