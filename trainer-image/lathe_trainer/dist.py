"""Distributed data parallel plumbing: the torchrun launcher and the worker's process group.

The operator sets PET_NNODES, PET_NPROC_PER_NODE, PET_NODE_RANK, PET_MASTER_ADDR and
PET_MASTER_PORT (Kubeflow's names) on every worker pod when `workers > 1`, and runs the same
`python -m lathe_trainer` as for one worker. That process sees PET_* without torchrun's own
variables, so it becomes the launcher: it runs torch.distributed.run as a child, forwards
SIGTERM to it, and turns the workers' outcome into the exit protocol (2: bad input, 143:
interrupted, checkpoint saved). Workers know they are workers by torchrun's RANK/LOCAL_RANK.
"""

from __future__ import annotations

import datetime
import json
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import torch
import torch.distributed as tdist

from lathe_trainer import s3
from lathe_trainer.errors import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_SIGTERM, BadInput, report_failure
from lathe_trainer.log import log

PET_VARS = ("PET_NNODES", "PET_NPROC_PER_NODE", "PET_NODE_RANK", "PET_MASTER_ADDR",
            "PET_MASTER_PORT")


def is_worker(env: Mapping[str, str]) -> bool:
    return "LOCAL_RANK" in env and "WORLD_SIZE" in env


def needs_launcher(env: Mapping[str, str]) -> bool:
    return not is_worker(env) and bool(env.get("PET_NNODES", "").strip())


def torchrun_args(env: Mapping[str, str]) -> list[str]:
    """torch.distributed.run arguments from the PET_* variables (static rendezvous)."""
    def value(name: str, default: str | None = None) -> str:
        raw = env.get(name, "").strip() or default
        if raw is None:
            raise BadInput(f"{name} must be set when PET_NNODES is set")
        return raw

    nnodes = value("PET_NNODES")
    nproc = value("PET_NPROC_PER_NODE", "1")
    node_rank = value("PET_NODE_RANK", "0")
    for name, raw in (("PET_NNODES", nnodes), ("PET_NODE_RANK", node_rank),
                      ("PET_MASTER_PORT", value("PET_MASTER_PORT", "29500"))):
        if not raw.isdigit():
            raise BadInput(f"{name}={raw!r} is not a non-negative integer")
    if not (nproc.isdigit() or nproc in ("auto", "gpu", "cpu")):
        raise BadInput(f"PET_NPROC_PER_NODE={nproc!r} is not an integer")
    if int(nnodes) < 1 or int(node_rank) >= int(nnodes):
        raise BadInput(f"PET_NODE_RANK={node_rank} is not below PET_NNODES={nnodes}")
    return [f"--nnodes={nnodes}", f"--nproc-per-node={nproc}", f"--node-rank={node_rank}",
            f"--master-addr={value('PET_MASTER_ADDR', '127.0.0.1')}",
            f"--master-port={value('PET_MASTER_PORT', '29500')}", "--max-restarts=0"]


def launch(argv: list[str]) -> int:
    """Run this program's workers under torchrun; returns the exit code for the pod."""
    args = torchrun_args(os.environ)
    with tempfile.TemporaryDirectory(prefix="lathe-status-") as status_dir:
        env = dict(os.environ, LATHE_STATUS_DIR=status_dir)
        cmd = [sys.executable, "-m", "torch.distributed.run", *args, "-m", "lathe_trainer", *argv]
        log("launching workers: " + " ".join(cmd[1:]))
        proc = subprocess.Popen(cmd, env=env)
        interrupted = False

        def forward(signum: int, _frame: FrameType | None) -> None:
            nonlocal interrupted
            interrupted = True
            proc.send_signal(signum)

        signal.signal(signal.SIGTERM, forward)
        signal.signal(signal.SIGINT, forward)
        rc = proc.wait()
        outcomes = [json.loads(p.read_text()) for p in sorted(Path(status_dir).glob("*.json"))]
    codes = {int(o["code"]) for o in outcomes}
    if EXIT_BAD_INPUT in codes:
        message = next(o["message"] for o in outcomes if o["code"] == EXIT_BAD_INPUT)
        report_failure(message)
        return EXIT_BAD_INPUT
    if interrupted or EXIT_SIGTERM in codes:
        log("workers interrupted; checkpoint saved")
        return EXIT_SIGTERM
    if rc != 0:
        failed = [o for o in outcomes if o["code"] not in (0, EXIT_SIGTERM)]
        report_failure(failed[0]["message"] if failed else f"training workers failed (torchrun "
                       f"exit {rc})")
        return EXIT_FAILED if rc != EXIT_BAD_INPUT else rc
    return 0


def record_outcome(code: int, message: str) -> None:
    """A worker's exit code and message, for the launcher (no-op outside torchrun)."""
    status_dir = os.environ.get("LATHE_STATUS_DIR")
    if status_dir and is_worker(os.environ):
        path = Path(status_dir) / f"rank-{os.environ.get('RANK', '0')}.json"
        path.write_text(json.dumps({"code": code, "message": message}))


@dataclass(frozen=True)
class DistInfo:
    rank: int
    world_size: int
    local_rank: int
    device: torch.device

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def init() -> DistInfo:
    """Join the process group (if under torchrun) and pick this process's device."""
    rank = int(os.environ.get("RANK", "0"))
    world = int(os.environ.get("WORLD_SIZE", "1"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    if torch.cuda.is_available():
        device = torch.device("cuda", local % torch.cuda.device_count())
        torch.cuda.set_device(device)
    else:
        device = torch.device("cpu")
    if world > 1 and not tdist.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        kwargs: dict[str, Any] = {"device_id": device} if device.type == "cuda" else {}
        tdist.init_process_group(backend, timeout=datetime.timedelta(minutes=30), **kwargs)
        log(f"joined process group: backend={backend} world_size={world} device={device}")
    s3.set_may_write(rank == 0)
    return DistInfo(rank, world, local, device)


def shutdown() -> None:
    if tdist.is_initialized():
        tdist.destroy_process_group()


def barrier(info: DistInfo) -> None:
    if info.distributed:
        tdist.barrier()


def all_sum(info: DistInfo, values: list[float]) -> list[float]:
    if not info.distributed:
        return values
    tensor = torch.tensor(values, dtype=torch.float64, device=info.device)
    tdist.all_reduce(tensor, op=tdist.ReduceOp.SUM)
    return [float(v) for v in tensor.tolist()]


def any_true(info: DistInfo, flag: bool) -> bool:
    """True on every rank if it is True on any (used so all ranks stop at the same step)."""
    if not info.distributed:
        return flag
    return all_sum(info, [1.0 if flag else 0.0])[0] > 0


def broadcast(info: DistInfo, obj: Any) -> Any:
    """Rank 0's `obj` on every rank."""
    if not info.distributed:
        return obj
    box = [obj]
    tdist.broadcast_object_list(box, src=0)
    return box[0]


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
