"""The torchrun launcher (no torch import, so bad inputs fail fast).

The operator sets PET_NNODES, PET_NPROC_PER_NODE, PET_NODE_RANK, PET_MASTER_ADDR and
PET_MASTER_PORT (Kubeflow's names) on every worker pod when `workers > 1`, and runs the same
`python -m lathe_trainer` as for one worker. That process sees PET_* without torchrun's own
variables, so it becomes the launcher: it runs torch.distributed.run as a child, forwards
SIGTERM to it, and turns the workers' outcome into the exit protocol (2: bad input, 143:
interrupted, checkpoint saved). Workers know they are workers by torchrun's RANK/LOCAL_RANK.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

from lathe_trainer.errors import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_SIGTERM, BadInput, report_failure
from lathe_trainer.log import log
from lathe_trainer.signals import wait_forwarding_signals

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
        # torchrun SIGKILLs workers 30 s after forwarding SIGTERM by default; let the pod's
        # terminationGracePeriodSeconds be the only bound on saving the checkpoint.
        env.setdefault("TORCH_ELASTIC_SHUTDOWN_TIMEOUT", "3600")
        cmd = [sys.executable, "-m", "torch.distributed.run", *args, "-m", "lathe_trainer", *argv]
        log("launching workers: " + " ".join(cmd[1:]))
        proc = subprocess.Popen(cmd, env=env)
        rc, interrupted = wait_forwarding_signals(proc)
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
