"""Distributed data parallel plumbing inside a worker: process group, collectives, SIGTERM.

The launcher side (PET_* → torchrun) is in launcher.py.
"""

from __future__ import annotations

import datetime
import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as tdist

from lathe_trainer import s3
from lathe_trainer.log import log


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
