"""What the training loop needs from a task."""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import Dataset

from lathe_trainer.config import Config
from lathe_trainer.dist import DistInfo


class TrainTask(ABC):
    """One built-in task: its model, its data, its loss, its evaluation and its saved format."""

    #: name of the metric reported as progress.json's evalMetric (a key of evaluate()'s result)
    eval_metric: str = "evalLoss"

    def __init__(self, config: Config, info: DistInfo, workdir: Path) -> None:
        self.config, self.info, self.workdir = config, info, workdir
        self.model: nn.Module | None = None
        self.train_set: Dataset[Any] | None = None
        self.eval_set: Dataset[Any] | None = None

    @abstractmethod
    def prepare(self, model_dir: Path | None) -> None:
        """Load the model (from `model_dir`, a checkpoint's saved model, else the base model)
        and the datasets into self.model, self.train_set, self.eval_set."""

    @abstractmethod
    def collate(self, items: list[Any]) -> dict[str, torch.Tensor]:
        """Stack dataset items into a batch."""

    @abstractmethod
    def loss(self, model: nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """Mean training loss of one batch (already on the device)."""

    @abstractmethod
    def evaluate(self, model: nn.Module) -> dict[str, float]:
        """Metrics on the eval split (rank 0 only; the unwrapped model)."""

    @abstractmethod
    def save(self, model: nn.Module, dest: Path) -> None:
        """Write the model in its final, loadable format (safetensors) into `dest`."""
