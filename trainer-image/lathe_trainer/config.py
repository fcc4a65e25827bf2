"""The run's configuration, read from the environment the operator sets (docs/contracts.md)."""

from __future__ import annotations

import json
import math
import os
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, cast

from lathe_trainer.errors import BadInput
from lathe_trainer.uris import S3Uri, Scheme, SourceUri, parse_s3, parse_source

Task = Literal["text-generation", "image-classification", "custom"]
TASKS: tuple[Task, ...] = ("text-generation", "image-classification", "custom")
RUN_ID = re.compile(r"^[0-9]{8}-[0-9]{6}-[a-z0-9]{6}$")
Scalar = int | float | str | bool

# Hyperparameters the built-in tasks understand, with their types and the smallest legal value.
INT_KEYS = {"epochs": 1, "batchSize": 1, "maxSeqLength": 2, "warmupSteps": 0, "seed": 0,
            "gradientAccumulationSteps": 1, "imageSize": 4}
FLOAT_KEYS = {"learningRate": 0.0, "weightDecay": 0.0, "evalFraction": 0.0}

COMMON_DEFAULTS: dict[str, Scalar] = {
    "epochs": 1, "batchSize": 8, "weightDecay": 0.0, "warmupSteps": 0, "seed": 42,
    "gradientAccumulationSteps": 1, "evalFraction": 0.1,
}
TASK_DEFAULTS: dict[Task, dict[str, Scalar]] = {
    "text-generation": {"learningRate": 5e-5, "maxSeqLength": 512},
    "image-classification": {"learningRate": 1e-3, "imageSize": 28},
    "custom": {},
}
MODEL_SCHEMES: dict[Task, tuple[Scheme, ...]] = {
    "text-generation": ("hf", "s3"),
    "image-classification": ("scratch", "s3"),
    "custom": ("hf", "s3", "scratch", "builtin"),
}
DATASET_SCHEMES: dict[Task, tuple[Scheme, ...]] = {
    "text-generation": ("s3", "hf"),
    "image-classification": ("s3", "builtin"),
    "custom": ("s3", "hf", "builtin"),
}


@dataclass(frozen=True)
class Config:
    run_id: str
    task: Task
    model: SourceUri
    model_name: str
    dataset: SourceUri
    output: S3Uri
    hyperparameters: dict[str, Scalar]
    run_name: str = ""
    namespace: str = ""
    attempt: int = 1
    checkpoint_every_steps: int = 0
    progress_interval_s: float = 10.0
    metrics_history_points: int = 1000
    step_delay_s: float = 0.0
    command: list[str] = field(default_factory=list)

    def hp_int(self, key: str) -> int:
        return int(self.hyperparameters[key])

    def hp_float(self, key: str) -> float:
        return float(self.hyperparameters[key])


def _require(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise BadInput(f"environment variable {name} is not set")
    return value


def _int_env(env: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadInput(f"{name}={raw!r} is not an integer") from None
    if value < minimum:
        raise BadInput(f"{name}={raw!r} must be >= {minimum}")
    return value


def _float_env(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise BadInput(f"{name}={raw!r} is not a number") from None
    if not math.isfinite(value) or value < 0:
        raise BadInput(f"{name}={raw!r} must be a non-negative number")
    return value


def parse_hyperparameters(raw: str, task: Task) -> dict[str, Scalar]:
    """Parse LATHE_HYPERPARAMETERS (a JSON object), check known keys, fill defaults."""
    given: object = {}
    if raw.strip():
        try:
            given = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise BadInput(f"LATHE_HYPERPARAMETERS is not valid JSON: {exc.msg} "
                           f"at line {exc.lineno} column {exc.colno}") from None
    if not isinstance(given, dict):
        raise BadInput("LATHE_HYPERPARAMETERS must be a JSON object, "
                       f"got {type(given).__name__}")
    result: dict[str, Scalar] = {**COMMON_DEFAULTS, **TASK_DEFAULTS[task]}
    for key, value in given.items():
        where = f"hyperparameter {key!r}"
        if key in INT_KEYS:
            if isinstance(value, bool) or not isinstance(value, (int, float)) or \
                    (isinstance(value, float) and not value.is_integer()):
                raise BadInput(f"{where} must be an integer, got {json.dumps(value)}")
            if value < INT_KEYS[key]:
                raise BadInput(f"{where} must be >= {INT_KEYS[key]}, got {json.dumps(value)}")
            result[key] = int(value)
        elif key in FLOAT_KEYS:
            if isinstance(value, bool) or not isinstance(value, (int, float)) \
                    or not math.isfinite(value):
                raise BadInput(f"{where} must be a number, got {json.dumps(value)}")
            if value < FLOAT_KEYS[key] or (key == "learningRate" and value == 0):
                raise BadInput(f"{where} must be positive, got {json.dumps(value)}")
            if key == "evalFraction" and value >= 1:
                raise BadInput(f"{where} must be below 1, got {json.dumps(value)}")
            result[key] = float(value)
        elif isinstance(value, (bool, int, float, str)):
            if isinstance(value, float) and not math.isfinite(value):
                raise BadInput(f"{where} must be finite")
            result[key] = value  # unknown keys are passed through to metadata.json
        else:
            raise BadInput(f"{where} must be a number, string or boolean, "
                           f"got {type(value).__name__}")
    return result


def load_config(env: Mapping[str, str] | None = None, argv: list[str] | None = None) -> Config:
    """Read and validate the whole configuration; raises BadInput with a clear message."""
    env = os.environ if env is None else env
    run_id = _require(env, "LATHE_RUN_ID")
    if not RUN_ID.match(run_id):
        raise BadInput(f"LATHE_RUN_ID={run_id!r} is not of the form YYYYMMDD-HHMMSS-xxxxxx")
    task_raw = _require(env, "LATHE_TASK")
    if task_raw not in TASKS:
        raise BadInput(f"LATHE_TASK={task_raw!r} is not one of {', '.join(TASKS)}")
    task = cast(Task, task_raw)
    model = parse_source(_require(env, "LATHE_MODEL_URI"), "LATHE_MODEL_URI", MODEL_SCHEMES[task])
    dataset = parse_source(_require(env, "LATHE_DATASET_URI"), "LATHE_DATASET_URI",
                           DATASET_SCHEMES[task])
    if dataset.scheme == "builtin" and dataset.name != "mnist" and task != "custom":
        raise BadInput(f"LATHE_DATASET_URI {dataset.raw!r}: the only builtin dataset is "
                       "builtin:mnist")
    output_raw = _require(env, "LATHE_OUTPUT_URI")
    output = parse_s3(output_raw, "LATHE_OUTPUT_URI")
    if not output.key.endswith("/") or output.key == "/":
        raise BadInput(f"LATHE_OUTPUT_URI {output_raw!r} must be a prefix ending in '/'")
    model_name = env.get("LATHE_MODEL_NAME", "").strip() or \
        output.key.rstrip("/").split("/")[-2 if output.key.count("/") >= 2 else -1]
    hyperparameters = parse_hyperparameters(env.get("LATHE_HYPERPARAMETERS", ""), task)
    command = list(argv or [])
    if command and command[0] == "--":
        command = command[1:]
    if not command and env.get("LATHE_COMMAND", "").strip():
        try:
            command = shlex.split(env["LATHE_COMMAND"])
        except ValueError as exc:
            raise BadInput(f"LATHE_COMMAND cannot be parsed: {exc}") from None
    if task == "custom" and not command:
        raise BadInput("task custom needs a command: container args or LATHE_COMMAND")
    if task != "custom" and command:
        raise BadInput(f"task {task} takes no command, got {shlex.join(command)!r}")
    return Config(
        run_id=run_id,
        task=task,
        model=model,
        model_name=model_name,
        dataset=dataset,
        output=output,
        hyperparameters=hyperparameters,
        run_name=env.get("LATHE_RUN_NAME", ""),
        namespace=env.get("LATHE_NAMESPACE", ""),
        attempt=_int_env(env, "LATHE_ATTEMPT", 1, minimum=1),
        checkpoint_every_steps=_int_env(env, "LATHE_CHECKPOINT_EVERY_STEPS", 0),
        progress_interval_s=_float_env(env, "LATHE_PROGRESS_INTERVAL_SECONDS", 10.0),
        metrics_history_points=_int_env(env, "LATHE_METRICS_HISTORY_POINTS", 1000, minimum=2),
        step_delay_s=_float_env(env, "LATHE_DEBUG_STEP_DELAY_SECONDS", 0.0),
        command=command,
    )
