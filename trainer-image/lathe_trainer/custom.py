"""task `custom`: run the user's command with the run's environment, then publish its model.

The command (container args after the entry point, or $LATHE_COMMAND) runs with the operator's
environment plus:
  LATHE_MODEL_OUTPUT_DIR  empty directory: write the final weights here (at least one
                          .safetensors file, Hugging Face layout recommended)
  LATHE_METRICS_FILE      write {"epochs": [{"epoch": 1, "loss": ...}], "final": {"loss": ...}}
  LATHE_RESUME_DIR        the newest complete checkpoints/<step>/, downloaded and verified
                          (set only if there is one), with LATHE_RESUME_STEP
  LATHE_STARTED_AT        when this attempt started
Checkpoints and progress are written with lathe_trainer.helpers. On exit 0, node 0 uploads
LATHE_MODEL_OUTPUT_DIR to checkpoint/ and writes metadata.json. SIGTERM is forwarded to the
command; the trainer then exits 143.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from lathe_trainer import checkpoints, records, s3
from lathe_trainer.config import Config
from lathe_trainer.errors import EXIT_FAILED, EXIT_OK, EXIT_SIGTERM, TrainerError
from lathe_trainer.files import describe_dir
from lathe_trainer.helpers import is_writer
from lathe_trainer.log import log
from lathe_trainer.signals import wait_forwarding_signals


def run(config: Config) -> int:
    started_at = records.now()
    if is_writer() and records.metadata_exists(config.output):
        log(f"{config.output}metadata.json exists: this run is already complete")
        return EXIT_OK
    with tempfile.TemporaryDirectory(prefix="lathe-custom-") as tmp:
        work = Path(tmp)
        model_dir, metrics_file = work / "model", work / "metrics.json"
        model_dir.mkdir()
        env = dict(os.environ, LATHE_MODEL_OUTPUT_DIR=str(model_dir),
                   LATHE_METRICS_FILE=str(metrics_file), LATHE_STARTED_AT=started_at)
        restored = checkpoints.restore_latest(config.output, work / "restore")
        if restored is not None:
            env.update(LATHE_RESUME_DIR=str(restored.directory),
                       LATHE_RESUME_STEP=str(restored.step))
        log(f"running custom command: {config.command}")
        try:
            proc = subprocess.Popen(config.command, env=env)
        except OSError as exc:
            raise TrainerError(f"cannot run custom command {config.command[0]!r}: "
                               f"{exc.strerror}", 2) from None
        rc, interrupted = wait_forwarding_signals(proc)
        if interrupted:
            raise TrainerError("interrupted by SIGTERM", EXIT_SIGTERM)
        if rc != 0:
            raise TrainerError(f"custom command exited with code {rc}", EXIT_FAILED)
        if not is_writer():
            return EXIT_OK
        if not any(model_dir.rglob("*.safetensors")):
            raise TrainerError("custom command wrote no .safetensors file into "
                               "LATHE_MODEL_OUTPUT_DIR", EXIT_FAILED)
        metrics = _read_metrics(metrics_file)
        files = describe_dir(model_dir)
        prefix = config.output.child("checkpoint/")
        s3.delete_prefix(prefix)  # leftovers of an attempt that died here
        s3.upload_dir(model_dir, prefix)
        doc = records.build_metadata(
            run_id=config.run_id, model=config.model_name, base_model=config.model.raw,
            task=config.task, dataset_uri=config.dataset.raw,
            hyperparameters=dict(config.hyperparameters), epoch_metrics=metrics["epochs"],
            final_metrics=metrics["final"], output=config.output, files=files,
            started_at=started_at, attempt=config.attempt,
            resumed_from_step=restored.step if restored else None,
            world_size=int(os.environ.get("PET_NNODES", "1") or 1))
        s3.put_json(config.output.child("metadata.json"), doc)
        log(f"done: {prefix} ({len(files)} files), metadata.json written")
    return EXIT_OK


def _read_metrics(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise TrainerError(f"custom command wrote no valid JSON to LATHE_METRICS_FILE: {exc}",
                           EXIT_FAILED) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("final"), dict):
        raise TrainerError('LATHE_METRICS_FILE must hold {"epochs": [...], "final": '
                           '{"loss": ...}}', EXIT_FAILED)
    return {"epochs": doc.get("epochs", []), "final": doc["final"]}
