"""progress.json (while training) and metadata.json (once, at the end), both rank 0 only.

metadata.json is validated against schemas/metadata.schema.json, the same file the operator
validates with; the schema directory is $LATHE_SCHEMA_DIR (set in the image) or, in a checkout,
the repository's schemas/.
"""

from __future__ import annotations

import json
import os
import platform
import time
from datetime import datetime, timezone
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jsonschema

from lathe_trainer import __version__, s3
from lathe_trainer.errors import EXIT_FAILED, TrainerError
from lathe_trainer.files import FileEntry
from lathe_trainer.uris import S3Uri

if TYPE_CHECKING:
    from lathe_trainer.history import MetricsHistory

SCHEMA_VERSION = 1


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def schema_path(name: str) -> Path:
    configured = os.environ.get("LATHE_SCHEMA_DIR")
    base = Path(configured) if configured else Path(__file__).resolve().parents[2] / "schemas"
    return base / name


@cache
def load_schema(name: str) -> dict[str, Any]:
    path = schema_path(name)
    try:
        schema: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise TrainerError(f"cannot read the JSON Schema {path}: {exc} "
                           "(set LATHE_SCHEMA_DIR)", EXIT_FAILED) from None
    jsonschema.Draft202012Validator.check_schema(schema)
    return schema


def validate(document: dict[str, Any], name: str) -> None:
    """Raise TrainerError naming the first violation of schema `name`."""
    validator = jsonschema.Draft202012Validator(
        load_schema(name), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
    if errors:
        err = errors[0]
        where = "/".join(str(p) for p in err.absolute_path) or "(root)"
        raise TrainerError(f"{name} violation at {where}: {err.message}", EXIT_FAILED)


def frameworks() -> dict[str, str]:
    import numpy
    import safetensors
    import torch

    versions = {"python": platform.python_version(), "torch": torch.__version__,
                "safetensors": safetensors.__version__, "numpy": numpy.__version__,
                "lathe-trainer": __version__}
    try:
        import transformers
        versions["transformers"] = transformers.__version__
    except ImportError:
        pass
    if torch.cuda.is_available() and torch.version.cuda:
        versions["cuda"] = torch.version.cuda
    return versions


class Progress:
    """Throttled writer of progress.json (every `interval_s` seconds at most, or when forced).

    With a `history`, each write of progress.json also appends a point to metrics-history.json
    (lathe_trainer/history.py): the curve is sampled at the same interval.
    """

    def __init__(self, output: S3Uri, run_id: str, epochs: int, total_steps: int,
                 started_at: str, interval_s: float, enabled: bool,
                 history: MetricsHistory | None = None) -> None:
        self.uri = output.child("progress.json")
        self.run_id, self.epochs, self.total_steps = run_id, epochs, total_steps
        self.started_at, self.interval_s, self.enabled = started_at, interval_s, enabled
        self.history = history
        self._last = float("-inf")

    def update(self, epoch: int, step: int, loss: float | None,
               eval_metric: tuple[str, float] | None = None, force: bool = False, *,
               interval_loss: float | None = None, learning_rate: float | None = None,
               evaluation: dict[str, float] | None = None) -> bool:
        """Writes progress.json when due (True), and then the history's point: `interval_loss`
        (the mean loss since the previous point; `loss` is the epoch's running mean, a different
        curve), `learning_rate` and `evaluation`."""
        if not self.enabled or (not force and time.monotonic() - self._last < self.interval_s):
            return False
        doc: dict[str, Any] = {
            "schemaVersion": SCHEMA_VERSION, "runId": self.run_id, "epoch": epoch,
            "epochs": self.epochs, "step": step, "totalSteps": self.total_steps,
            "loss": loss, "startedAt": self.started_at, "updatedAt": now(),
        }
        if eval_metric is not None:
            doc["evalMetric"] = {"name": eval_metric[0], "value": eval_metric[1]}
        s3.put_json(self.uri, doc)
        if self.history is not None and (interval_loss is not None or learning_rate is not None
                                         or evaluation):
            self.history.add(step, epoch, interval_loss, learning_rate, evaluation)
            self.history.write()
        self._last = time.monotonic()
        return True


def build_metadata(*, run_id: str, model: str, base_model: str, task: str, dataset_uri: str,
                   hyperparameters: dict[str, Any], epoch_metrics: list[dict[str, Any]],
                   final_metrics: dict[str, float], output: S3Uri, files: list[FileEntry],
                   started_at: str, attempt: int, resumed_from_step: int | None,
                   world_size: int) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "schemaVersion": SCHEMA_VERSION,
        "runId": run_id,
        "model": model,
        "baseModel": base_model,
        "task": task,
        "datasetUri": dataset_uri,
        "hyperparameters": hyperparameters,
        "metrics": {"epochs": epoch_metrics, "final": final_metrics},
        "artifact": {"uri": str(output.child("checkpoint/")), "format": "safetensors"},
        "files": files,
        "attempt": attempt,
        "resumedFromStep": resumed_from_step,
        "worldSize": world_size,
        "startedAt": started_at,
        "finishedAt": now(),
        "frameworks": frameworks(),
    }
    validate(doc, "metadata.schema.json")
    return doc


def metadata_exists(output: S3Uri) -> bool:
    return s3.head_size(output.child("metadata.json")) is not None
