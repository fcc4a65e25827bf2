"""The training loop shared by the built-in tasks: DDP, checkpoints, resume, SIGTERM, records."""

from __future__ import annotations

import json
import math
import random
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler, Sampler

from lathe_trainer import checkpoints, dist, records, s3
from lathe_trainer.history import MetricsHistory
from lathe_trainer.checkpoints import Restored
from lathe_trainer.config import Config
from lathe_trainer.dist import DistInfo
from lathe_trainer.errors import EXIT_SIGTERM, TrainerError
from lathe_trainer.files import describe_dir
from lathe_trainer.log import log
from lathe_trainer.signals import StopFlag
from lathe_trainer.tasks.base import TrainTask

STATE_FILE = "state.json"
OPTIMIZER_FILE = "optimizer.pt"
MODEL_DIR = "model"


class Interrupted(TrainerError):
    def __init__(self) -> None:
        super().__init__("interrupted by SIGTERM; checkpoint saved", EXIT_SIGTERM)


class _Indices(Sampler[int]):
    """A fixed list of indices: the rest of an epoch's DistributedSampler order."""

    def __init__(self, indices: list[int]) -> None:
        self.indices = indices

    def __iter__(self) -> Iterator[int]:
        return iter(self.indices)

    def __len__(self) -> int:
        return len(self.indices)


@dataclass
class LoopState:
    """What a checkpoint's state.json holds besides the weights and the optimizer."""

    epoch: int = 1              # the epoch to run (or continue)
    batches_done: int = 0       # micro-batches of `epoch` already trained (per rank)
    step: int = 0               # optimizer steps so far
    loss_sum: float = 0.0       # sum over all ranks of batch losses of `epoch` so far
    loss_count: float = 0.0
    metrics: list[dict[str, Any]] = field(default_factory=list)
    started_at: str = ""
    first_loss: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {"epoch": self.epoch, "batchesDone": self.batches_done, "step": self.step,
                "lossSum": self.loss_sum, "lossCount": self.loss_count, "metrics": self.metrics,
                "startedAt": self.started_at, "firstLoss": self.first_loss}

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> "LoopState":
        return cls(epoch=int(doc["epoch"]), batches_done=int(doc["batchesDone"]),
                   step=int(doc["step"]), loss_sum=float(doc["lossSum"]),
                   loss_count=float(doc["lossCount"]), metrics=list(doc["metrics"]),
                   started_at=str(doc["startedAt"]), first_loss=doc.get("firstLoss"))


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _lr_lambda(warmup: int, total: int) -> Any:
    def factor(step: int) -> float:
        if warmup and step < warmup:
            return (step + 1) / warmup
        return max(0.0, (total - step) / max(1, total - warmup))
    return factor


def _optimizer(model: nn.Module, lr: float, weight_decay: float) -> torch.optim.Optimizer:
    decay = [p for p in model.parameters() if p.requires_grad and p.ndim >= 2]
    rest = [p for p in model.parameters() if p.requires_grad and p.ndim < 2]
    groups = [{"params": decay, "weight_decay": weight_decay},
              {"params": rest, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=lr)


def _to_device(batch: dict[str, torch.Tensor], device: torch.device) -> dict[str, torch.Tensor]:
    return {k: v.to(device, non_blocking=True) for k, v in batch.items()}


class Trainer:
    def __init__(self, config: Config, info: DistInfo, task: TrainTask, workdir: Path,
                 restored: Restored | None, stop: StopFlag) -> None:
        self.config, self.info, self.task, self.workdir = config, info, task, workdir
        self.restored, self.stop = restored, stop
        hp = config.hyperparameters
        self.epochs = int(hp["epochs"])
        self.batch_size = int(hp["batchSize"])
        self.accum = int(hp["gradientAccumulationSteps"])
        self.state = LoopState(started_at=records.now())
        self.last_saved_step = -1

    # ---- checkpoints -------------------------------------------------------------------------
    def _save_checkpoint(self, model: nn.Module, optimizer: torch.optim.Optimizer,
                         scheduler: Any, epoch_for_marker: int) -> None:
        """Called on every rank at the same step; rank 0 writes, the others wait."""
        if self.state.step == self.last_saved_step:
            return
        if self.info.is_main:
            out = self.workdir / "checkpoint-out" / str(self.state.step)
            shutil.rmtree(out, ignore_errors=True)
            out.mkdir(parents=True)
            self.task.save(model, out / MODEL_DIR)
            torch.save({"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                        "torch_rng": torch.get_rng_state()}, out / OPTIMIZER_FILE)
            (out / STATE_FILE).write_text(json.dumps(self.state.to_json(), indent=2))
            checkpoints.save(out, self.config.output, self.state.step, epoch_for_marker)
            shutil.rmtree(out, ignore_errors=True)
        dist.barrier(self.info)
        self.last_saved_step = self.state.step

    def _restore(self, optimizer: torch.optim.Optimizer, scheduler: Any) -> None:
        assert self.restored is not None
        directory = self.restored.directory
        self.state = LoopState.from_json(json.loads((directory / STATE_FILE).read_text()))
        saved = torch.load(directory / OPTIMIZER_FILE, map_location=self.info.device,
                           weights_only=True)
        optimizer.load_state_dict(saved["optimizer"])
        scheduler.load_state_dict(saved["scheduler"])
        self.last_saved_step = self.state.step

    # ---- the loop ----------------------------------------------------------------------------
    def run(self) -> dict[str, Any]:
        config, info, task = self.config, self.info, self.task
        assert task.model is not None and task.train_set is not None
        hp = config.hyperparameters
        model = task.model.to(info.device)
        wrapped: nn.Module = model
        if info.distributed:
            wrapped = DistributedDataParallel(
                model, device_ids=[info.device.index] if info.device.type == "cuda" else None)
        sampler: DistributedSampler[Any] = DistributedSampler(
            task.train_set, num_replicas=info.world_size, rank=info.rank, shuffle=True,
            seed=int(hp["seed"]), drop_last=False)
        batches_per_epoch = math.ceil(len(sampler) / self.batch_size)
        steps_per_epoch = math.ceil(batches_per_epoch / self.accum)
        total_steps = self.epochs * steps_per_epoch
        optimizer = _optimizer(model, float(hp["learningRate"]), float(hp["weightDecay"]))
        scheduler = torch.optim.lr_scheduler.LambdaLR(
            optimizer, _lr_lambda(int(hp["warmupSteps"]), total_steps))
        if self.restored is not None:
            self._restore(optimizer, scheduler)
        state = self.state
        log(f"training: {len(task.train_set)} examples, {len(sampler)} on this rank, "
            f"{batches_per_epoch} batches/epoch, {total_steps} steps, epochs {state.epoch}.."
            f"{self.epochs}, world_size {info.world_size}, device {info.device}")
        history = MetricsHistory(config.output, config.run_id, config.metrics_history_points)
        if info.is_main:
            history.resume(self.restored.step if self.restored else None)
        progress = records.Progress(config.output, config.run_id, self.epochs, total_steps,
                                    state.started_at, config.progress_interval_s, info.is_main,
                                    history)
        progress.update(min(state.epoch, self.epochs), state.step, None, force=True)
        autocast = info.device.type == "cuda" and torch.cuda.is_bf16_supported()

        while state.epoch <= self.epochs:
            epoch = state.epoch
            sampler.set_epoch(epoch)
            order = list(sampler)[state.batches_done * self.batch_size:]
            loader = DataLoader(task.train_set, batch_size=self.batch_size,
                                sampler=_Indices(order), collate_fn=task.collate,
                                pin_memory=info.device.type == "cuda")
            log(f"epoch {epoch}/{self.epochs} starts at step {state.step} "
                f"(batch {state.batches_done}/{batches_per_epoch})")
            wrapped.train()
            local_sum, local_count = 0.0, 0
            # rank 0's loss since the history's previous point
            since_sum, since_count = 0.0, 0
            for batch in loader:
                state.batches_done += 1
                boundary = state.batches_done % self.accum == 0 or \
                    state.batches_done == batches_per_epoch
                sync = boundary or not info.distributed
                ctx = wrapped.no_sync() if not sync and isinstance(
                    wrapped, DistributedDataParallel) else _null()
                with ctx, torch.autocast(info.device.type, dtype=torch.bfloat16,
                                         enabled=autocast):
                    loss = task.loss(wrapped, _to_device(batch, info.device))
                (loss / self.accum).backward()
                value = float(loss.detach())
                if not math.isfinite(value):
                    raise TrainerError(f"loss became {value} at epoch {epoch} step {state.step}",
                                       1)
                local_sum += value
                local_count += 1
                since_sum += value
                since_count += 1
                if not boundary:
                    continue
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad(set_to_none=True)
                state.step += 1
                if state.first_loss is None:
                    state.first_loss = value
                    log(f"first step loss {value:.4f}")
                running = (state.loss_sum + local_sum) / max(1.0, state.loss_count + local_count)
                if progress.update(epoch, state.step, running,
                                   interval_loss=since_sum / since_count,
                                   learning_rate=float(scheduler.get_last_lr()[0])):
                    since_sum, since_count = 0.0, 0
                if config.step_delay_s:
                    time.sleep(config.step_delay_s)
                if dist.any_true(info, self.stop.requested):
                    self._checkpoint_mid_epoch(model, optimizer, scheduler, local_sum,
                                               local_count)
                    raise Interrupted()
                if config.checkpoint_every_steps and \
                        state.step % config.checkpoint_every_steps == 0 and \
                        state.batches_done < batches_per_epoch:
                    self._checkpoint_mid_epoch(model, optimizer, scheduler, local_sum,
                                               local_count)
                    local_sum, local_count = 0.0, 0
            # end of epoch
            total_sum, total_count = dist.all_sum(info, [local_sum, float(local_count)])
            state.loss_sum += total_sum
            state.loss_count += total_count
            epoch_loss = state.loss_sum / max(1.0, state.loss_count)
            evaluation: dict[str, float] = {}
            if info.is_main and task.eval_set is not None and len(task.eval_set) > 0:  # type: ignore[arg-type]
                model.eval()
                with torch.no_grad(), torch.autocast(info.device.type, dtype=torch.bfloat16,
                                                     enabled=autocast):
                    evaluation = task.evaluate(model)
            evaluation = dist.broadcast(info, evaluation)
            entry: dict[str, Any] = {"epoch": epoch, "loss": epoch_loss, "step": state.step,
                                     **evaluation}
            state.metrics.append(entry)
            log("epoch {} done: {}".format(epoch, ", ".join(
                f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}" for k, v in entry.items())))
            state.epoch, state.batches_done = epoch + 1, 0
            state.loss_sum = state.loss_count = 0.0
            metric = (task.eval_metric, evaluation[task.eval_metric]) \
                if task.eval_metric in evaluation else None
            progress.update(epoch, state.step, epoch_loss, metric, force=True,
                            interval_loss=since_sum / since_count if since_count else None,
                            learning_rate=float(scheduler.get_last_lr()[0]),
                            evaluation=evaluation)
            self._save_checkpoint(model, optimizer, scheduler, epoch)
            if dist.any_true(info, self.stop.requested):
                raise Interrupted()
        return self._finish(model)

    def _checkpoint_mid_epoch(self, model: nn.Module, optimizer: torch.optim.Optimizer,
                              scheduler: Any, local_sum: float, local_count: int) -> None:
        """Fold this epoch's losses so far (all ranks) into the state, then checkpoint."""
        total_sum, total_count = dist.all_sum(self.info, [local_sum, float(local_count)])
        self.state.loss_sum += total_sum
        self.state.loss_count += total_count
        self._save_checkpoint(model, optimizer, scheduler, self.state.epoch)

    def _finish(self, model: nn.Module) -> dict[str, Any]:
        config, state = self.config, self.state
        metadata: dict[str, Any] = {}
        if self.info.is_main:
            final_dir = self.workdir / "final"
            shutil.rmtree(final_dir, ignore_errors=True)
            self.task.save(model, final_dir)
            files = describe_dir(final_dir)
            prefix = config.output.child("checkpoint/")
            s3.delete_prefix(prefix)  # leftovers of an attempt that died here
            s3.upload_dir(final_dir, prefix)
            last = state.metrics[-1]
            final = {k: float(v) for k, v in last.items() if k not in ("epoch", "step")}
            if state.first_loss is not None:
                final["firstStepLoss"] = float(state.first_loss)
            metadata = records.build_metadata(
                run_id=config.run_id, model=config.model_name, base_model=config.model.raw,
                task=config.task, dataset_uri=config.dataset.raw,
                hyperparameters=dict(config.hyperparameters), epoch_metrics=state.metrics,
                final_metrics=final, output=config.output, files=files,
                started_at=state.started_at, attempt=config.attempt,
                resumed_from_step=self.restored.step if self.restored else None,
                world_size=self.info.world_size)
            s3.put_json(config.output.child("metadata.json"), metadata)
            log(f"done: {prefix} ({len(files)} files), metadata.json written")
        dist.barrier(self.info)
        return metadata


class _null:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None
