"""Entry point: `python -m lathe_trainer` (the container's command, for 1 or N workers)."""

from __future__ import annotations

import os
import sys
import tempfile
import traceback
from pathlib import Path
from typing import TYPE_CHECKING

from lathe_trainer import launcher
from lathe_trainer.config import Config, load_config
from lathe_trainer.errors import EXIT_FAILED, EXIT_OK, EXIT_SIGTERM, TrainerError, report_failure
from lathe_trainer.log import log
from lathe_trainer.signals import StopFlag

if TYPE_CHECKING:
    from lathe_trainer.checkpoints import Restored
    from lathe_trainer.dist import DistInfo
    from lathe_trainer.tasks.base import TrainTask


def main(argv: list[str]) -> int:
    stop = StopFlag()
    try:
        if not launcher.needs_launcher(os.environ):
            stop.install()
        config = load_config(argv=argv)
        preflight(config)
        if config.task == "custom":
            from lathe_trainer import custom
            return custom.run(config)
        if launcher.needs_launcher(os.environ):
            return launcher.launch(argv)
        return run_worker(config, stop)
    except TrainerError as exc:
        if exc.exit_code == EXIT_SIGTERM:
            log(exc.message)
        else:
            report_failure(exc.message)
        launcher.record_outcome(exc.exit_code, exc.message)
        return exc.exit_code
    except Exception as exc:  # a bug or an environment problem: exit 1, still one clear line
        traceback.print_exc()
        message = f"unexpected {type(exc).__name__}: {exc}"
        report_failure(message)
        launcher.record_outcome(EXIT_FAILED, message)
        return EXIT_FAILED
    finally:
        if "lathe_trainer.dist" in sys.modules:
            sys.modules["lathe_trainer.dist"].shutdown()


def preflight(config: Config) -> None:
    """Check the schema, the credentials and every s3:// input before loading torch, so a bad
    input fails in a second with one clear line (and before a launcher starts workers)."""
    from lathe_trainer import records, s3

    records.load_schema("metadata.schema.json")
    s3.check_bucket(config.output)
    for what, uri in (("LATHE_MODEL_URI", config.model), ("LATHE_DATASET_URI", config.dataset)):
        if uri.s3 is not None:
            s3.require(uri.s3, what)


def _restore(config: Config, info: DistInfo, dest: Path) -> Restored | None:
    """Rank 0 picks the newest complete checkpoint; every rank downloads that one."""
    from lathe_trainer import checkpoints, dist
    restored = checkpoints.restore_latest(config.output, dest) if info.is_main else None
    step = dist.broadcast(info, restored.step if restored else None)
    if info.is_main or step is None:
        return restored
    result = checkpoints.restore(config.output, step, dest)
    if isinstance(result, str):
        raise TrainerError(f"checkpoint {step} became unusable: {result}", EXIT_FAILED)
    return result


def run_worker(config: Config, stop: StopFlag) -> int:
    from lathe_trainer import dist, records, s3
    from lathe_trainer.loop import Trainer, seed_everything

    info = dist.init()
    log(f"run {config.run_id} ({config.namespace}/{config.run_name}) task {config.task}, "
        f"attempt {config.attempt}, model {config.model.raw}, dataset {config.dataset.raw}, "
        f"output {config.output}")
    if records.metadata_exists(config.output):
        log(f"{config.output}metadata.json exists: this run is already complete")
        return EXIT_OK
    with tempfile.TemporaryDirectory(prefix="lathe-trainer-") as tmp:
        workdir = Path(tmp)
        restored = _restore(config, info, workdir / "restore")
        seed_everything(int(config.hyperparameters["seed"]))
        task = _task(config, info, workdir)
        task.prepare(restored.directory / "model" if restored else None)
        Trainer(config, info, task, workdir, restored, stop).run()
    return EXIT_OK


def _task(config: Config, info: DistInfo, workdir: Path) -> TrainTask:
    if config.task == "text-generation":
        from lathe_trainer.tasks.text import TextGeneration
        return TextGeneration(config, info, workdir)
    from lathe_trainer.tasks.image import ImageClassification
    return ImageClassification(config, info, workdir)
