"""image-classification: a small CNN trained from scratch (or from an earlier run's weights).

Datasets: `builtin:mnist`, or an s3:// prefix laid out like torchvision's ImageFolder
(`<class>/<image>`), optionally split into `train/` and `val/` (or `validation/`, `test/`).
Saved as `model.safetensors` plus a `config.json` describing the network and its labels.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError
from safetensors.torch import load_model, save_model
from torch import nn
from torch.nn import functional as F
from torch.utils.data import TensorDataset

from lathe_trainer import datasets, s3
from lathe_trainer.errors import BadInput
from lathe_trainer.log import log
from lathe_trainer.tasks.base import TrainTask

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp"}
EVAL_DIRS = ("val", "validation", "test")
ARCHITECTURE = "LatheSmallCNN"


class SmallCNN(nn.Module):
    def __init__(self, in_channels: int, num_classes: int, width: int = 16) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(width, width * 2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.AdaptiveAvgPool2d(4),
        )
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(width * 2 * 16, 64), nn.ReLU(),
                                  nn.Linear(64, num_classes))

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(pixel_values))  # type: ignore[no-any-return]


def _normalize(images: torch.Tensor) -> torch.Tensor:
    return (images.float() / 255.0 - 0.5) / 0.5


def load_image_folder(root: Path, size: int, channels: int,
                      classes: list[str] | None = None) -> tuple[torch.Tensor, torch.Tensor,
                                                                 list[str]]:
    """uint8 images N×C×size×size and int64 labels from `root/<class>/<file>`."""
    found = sorted(d.name for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
    classes = classes or found
    if len(classes) < 2:
        raise BadInput(f"image dataset needs at least 2 class folders, found {found}")
    mode = "L" if channels == 1 else "RGB"
    images: list[np.ndarray] = []
    labels: list[int] = []
    for label, name in enumerate(classes):
        folder = root / name
        if not folder.is_dir():
            continue
        for path in sorted(folder.rglob("*")):
            if not path.is_file() or path.suffix.lower() not in IMAGE_SUFFIXES:
                continue
            try:
                with Image.open(path) as img:
                    pixels = np.asarray(img.convert(mode).resize((size, size)), dtype=np.uint8)
            except (UnidentifiedImageError, OSError) as exc:
                raise BadInput(f"dataset file {path.relative_to(root)} is not a readable image: "
                               f"{type(exc).__name__}") from None
            images.append(pixels.reshape(size, size, channels))
            labels.append(label)
    if not images:
        raise BadInput(f"image dataset has no images ({', '.join(sorted(IMAGE_SUFFIXES))})")
    stacked = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).contiguous()
    return stacked, torch.tensor(labels, dtype=torch.long), classes


class ImageClassification(TrainTask):
    eval_metric = "accuracy"

    def prepare(self, model_dir: Path | None) -> None:
        config, hp = self.config, self.config.hyperparameters
        size = int(hp["imageSize"])
        if config.dataset.scheme == "builtin":
            channels = int(hp.get("channels", 1))
            arrays = datasets.load_mnist(Path(self._cache_dir()) / "mnist")
            train_x = torch.from_numpy(_resize(arrays["train_images"], size, channels))
            eval_x = torch.from_numpy(_resize(arrays["test_images"], size, channels))
            train_y = torch.from_numpy(arrays["train_labels"].astype(np.int64))
            eval_y = torch.from_numpy(arrays["test_labels"].astype(np.int64))
            classes = [str(i) for i in range(10)]
        else:
            channels = int(hp.get("channels", 3))
            if channels not in (1, 3):
                raise BadInput(f"hyperparameter 'channels' must be 1 or 3, got {channels}")
            root = self.workdir / "dataset"
            datasets.fetch(config.dataset, root)
            root = _single_root(root)
            split = next((d for d in EVAL_DIRS if (root / d).is_dir()), None)
            if (root / "train").is_dir() and split:
                train_x, train_y, classes = load_image_folder(root / "train", size, channels)
                eval_x, eval_y, _ = load_image_folder(root / split, size, channels, classes)
            else:
                images, labels, classes = load_image_folder(root, size, channels)
                n = images.shape[0]
                n_eval = int(n * float(hp["evalFraction"]))
                perm = torch.randperm(n, generator=torch.Generator().manual_seed(int(hp["seed"])))
                train_x, train_y = images[perm[n_eval:]], labels[perm[n_eval:]]
                eval_x, eval_y = images[perm[:n_eval]], labels[perm[:n_eval]]
        self.classes, self.channels, self.size = classes, channels, size
        self.train_set = TensorDataset(train_x, train_y)
        self.eval_set = TensorDataset(eval_x, eval_y) if eval_x.shape[0] else None
        log(f"dataset {config.dataset.raw}: {train_x.shape[0]} training and {eval_x.shape[0]} "
            f"eval images, {len(classes)} classes, {channels}×{size}×{size}")

        source = model_dir
        if source is None and config.model.scheme == "s3":
            assert config.model.s3 is not None
            source = self.workdir / "base-model"
            s3.fetch(config.model.s3, source)
        model = SmallCNN(channels, len(classes))
        if source is not None:
            self._load_weights(model, source)
        self.model = model

    def _cache_dir(self) -> str:
        import os
        return os.environ.get("HF_HOME", str(self.workdir / "cache"))

    def _load_weights(self, model: SmallCNN, source: Path) -> None:
        try:
            saved = json.loads((source / "config.json").read_text())
        except (OSError, json.JSONDecodeError):
            raise BadInput(f"model {self.config.model.raw} has no readable config.json") from None
        if saved.get("architectures") != [ARCHITECTURE] or \
                saved.get("num_classes") != len(self.classes) or \
                saved.get("in_channels") != self.channels:
            raise BadInput(f"model {self.config.model.raw} is not a {ARCHITECTURE} with "
                           f"{len(self.classes)} classes and {self.channels} channels")
        try:
            load_model(model, str(source / "model.safetensors"))
        except (OSError, RuntimeError) as exc:
            raise BadInput(f"model {self.config.model.raw}: cannot load weights: {exc}") from None

    def collate(self, items: list[Any]) -> dict[str, torch.Tensor]:
        return {"pixel_values": _normalize(torch.stack([i[0] for i in items])),
                "labels": torch.stack([i[1] for i in items])}

    def loss(self, model: nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return F.cross_entropy(model(batch["pixel_values"]).float(), batch["labels"])

    def evaluate(self, model: nn.Module) -> dict[str, float]:
        assert self.eval_set is not None
        device = next(model.parameters()).device
        images, labels = self.eval_set.tensors  # type: ignore[attr-defined]
        total_loss, correct = 0.0, 0
        for start in range(0, images.shape[0], 256):
            x = _normalize(images[start:start + 256]).to(device)
            y = labels[start:start + 256].to(device)
            logits = model(x).float()
            total_loss += float(F.cross_entropy(logits, y, reduction="sum"))
            correct += int((logits.argmax(dim=1) == y).sum())
        n = images.shape[0]
        return {"evalLoss": total_loss / n, "accuracy": correct / n}

    def save(self, model: nn.Module, dest: Path) -> None:
        dest.mkdir(parents=True, exist_ok=True)
        save_model(model, str(dest / "model.safetensors"), metadata={"format": "pt"})
        config = {"architectures": [ARCHITECTURE], "model_type": "lathe-small-cnn",
                  "in_channels": self.channels, "image_size": self.size,
                  "num_classes": len(self.classes),
                  "id2label": {str(i): c for i, c in enumerate(self.classes)},
                  "label2id": {c: i for i, c in enumerate(self.classes)},
                  "normalize": {"mean": 0.5, "std": 0.5}, "input": "pixel_values NCHW float"}
        (dest / "config.json").write_text(json.dumps(config, indent=2) + "\n")


def _resize(images: np.ndarray, size: int, channels: int) -> np.ndarray:
    """N×H×W uint8 to N×C×size×size uint8."""
    if images.shape[1] != size:
        mode = "L"
        images = np.stack([np.asarray(Image.fromarray(i, mode).resize((size, size)))
                           for i in images])
    out = images[:, None, :, :]
    return np.repeat(out, channels, axis=1) if channels > 1 else np.ascontiguousarray(out)


def _single_root(root: Path) -> Path:
    """If everything was downloaded into one wrapping folder, descend into it."""
    entries = [e for e in root.iterdir() if not e.name.startswith(".")]
    if len(entries) == 1 and entries[0].is_dir() and (entries[0] / "train").is_dir():
        return entries[0]
    return root
