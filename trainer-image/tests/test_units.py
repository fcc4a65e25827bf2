"""Module-level behaviour: configuration, URIs, checkpoint selection (real S3), schema, MNIST."""

from __future__ import annotations

import gzip
import hashlib
import json
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from conftest import ARTIFACTS, DATASETS, new_run_id
from lathe_trainer import checkpoints, datasets, launcher, records
from lathe_trainer.config import load_config, parse_hyperparameters
from lathe_trainer.errors import BadInput, TrainerError
from lathe_trainer.uris import S3Uri, parse_source


def env(**overrides: str) -> dict[str, str]:
    base = {"LATHE_RUN_ID": "20261122-154210-a1b2c3", "LATHE_TASK": "text-generation",
            "LATHE_MODEL_URI": "hf://BEE-spoke-data/smol_llama-101M-GQA",
            "LATHE_DATASET_URI": "s3://ml-data/tinystories.jsonl",
            "LATHE_OUTPUT_URI": "s3://lathe-artifacts/models/smol/20261122-154210-a1b2c3/",
            "LATHE_HYPERPARAMETERS": '{"epochs":3,"batchSize":8,"learningRate":5e-05}'}
    return {**base, **overrides}


def test_config_from_the_operator_environment() -> None:
    cfg = load_config(env(LATHE_CHECKPOINT_EVERY_STEPS="50", LATHE_ATTEMPT="2"))
    assert cfg.model.scheme == "hf" and cfg.model.name == "BEE-spoke-data/smol_llama-101M-GQA"
    assert cfg.dataset.s3 == S3Uri("ml-data", "tinystories.jsonl")
    assert cfg.output.child("checkpoint/") == S3Uri(
        "lathe-artifacts", "models/smol/20261122-154210-a1b2c3/checkpoint/")
    assert cfg.model_name == "smol"  # from the output prefix when LATHE_MODEL_NAME is absent
    assert cfg.hyperparameters["epochs"] == 3 and cfg.hyperparameters["maxSeqLength"] == 512
    assert (cfg.attempt, cfg.checkpoint_every_steps) == (2, 50)


@pytest.mark.parametrize("overrides, message", [
    ({"LATHE_RUN_ID": "run-1"}, "LATHE_RUN_ID='run-1' is not of the form"),
    ({"LATHE_RUN_ID": ""}, "LATHE_RUN_ID is not set"),
    ({"LATHE_TASK": "image-classification"}, "LATHE_MODEL_URI 'hf://BEE-spoke-data/"
                                             "smol_llama-101M-GQA' is not supported here"),
    ({"LATHE_DATASET_URI": "builtin:cifar"}, "is not supported here"),
    ({"LATHE_OUTPUT_URI": "s3://UPPER/x/"}, "invalid bucket name"),
    ({"LATHE_CHECKPOINT_EVERY_STEPS": "often"}, "LATHE_CHECKPOINT_EVERY_STEPS='often'"),
    ({"LATHE_HYPERPARAMETERS": "[1, 2]"}, "must be a JSON object"),
    ({"LATHE_HYPERPARAMETERS": '{"batchSize": 0}'}, "'batchSize' must be >= 1"),
    ({"LATHE_HYPERPARAMETERS": '{"epochs": true}'}, "'epochs' must be an integer"),
    ({"LATHE_HYPERPARAMETERS": '{"extra": {"a": 1}}'}, "'extra' must be a number, string"),
    ({"LATHE_TASK": "custom"}, "task custom needs a command"),
])
def test_config_rejects(overrides: dict[str, str], message: str) -> None:
    with pytest.raises(BadInput) as err:
        load_config(env(**overrides))
    assert message in err.value.message


def test_hyperparameter_defaults_per_task() -> None:
    image = parse_hyperparameters("", "image-classification")
    assert image["learningRate"] == 1e-3 and image["imageSize"] == 28 and image["epochs"] == 1
    text = parse_hyperparameters('{"epochs": 2.0, "custom": "x"}', "text-generation")
    assert text["epochs"] == 2 and isinstance(text["epochs"], int) and text["custom"] == "x"


def test_uri_parsing() -> None:
    assert parse_source("scratch", "m", ("scratch",)).scheme == "scratch"
    assert parse_source("builtin:mnist", "d", ("builtin",)).name == "mnist"
    with pytest.raises(BadInput, match="not a valid hf://org/name"):
        parse_source("hf://a b", "m", ("hf",))
    with pytest.raises(BadInput, match="unsupported scheme 'http'"):
        parse_source("http://x/y", "m", ("s3", "hf"))


def test_torchrun_arguments_from_pet_env() -> None:
    args = launcher.torchrun_args({"PET_NNODES": "2", "PET_NPROC_PER_NODE": "1",
                                   "PET_NODE_RANK": "1", "PET_MASTER_ADDR": "run-1-0.run-1",
                                   "PET_MASTER_PORT": "29500"})
    assert args == ["--nnodes=2", "--nproc-per-node=1", "--node-rank=1",
                    "--master-addr=run-1-0.run-1", "--master-port=29500", "--max-restarts=0"]
    assert launcher.needs_launcher({"PET_NNODES": "2"})
    assert not launcher.needs_launcher({"PET_NNODES": "2", "LOCAL_RANK": "0", "WORLD_SIZE": "2"})
    assert not launcher.needs_launcher({})
    with pytest.raises(BadInput, match="PET_NODE_RANK=2 is not below PET_NNODES=2"):
        launcher.torchrun_args({"PET_NNODES": "2", "PET_NODE_RANK": "2"})


def _put_checkpoint(s3: Any, prefix: str, step: int, files: dict[str, bytes],
                    marker: Any = "auto") -> None:
    for name, body in files.items():
        s3.put_object(Bucket=ARTIFACTS, Key=f"{prefix}checkpoints/{step}/{name}", Body=body)
    if marker == "auto":
        marker = {"step": step, "epoch": 1, "files": [
            {"path": n, "size": len(b), "sha256": hashlib.sha256(b).hexdigest()}
            for n, b in files.items()]}
    if marker is not None:
        body = marker if isinstance(marker, bytes) else json.dumps(marker).encode()
        s3.put_object(Bucket=ARTIFACTS, Key=f"{prefix}checkpoints/{step}/COMPLETE", Body=body)


def test_newest_complete_checkpoint_wins(s3: Any, unique: str, tmp_path: Path) -> None:
    out = f"{unique}models/m/{new_run_id()}/"
    good = {"model/weights.bin": b"w" * 100, "state.json": b"{}"}
    _put_checkpoint(s3, out, 5, good)
    _put_checkpoint(s3, out, 10, good)
    # 20: a listed file is missing
    _put_checkpoint(s3, out, 20, {"state.json": b"{}"}, marker={
        "step": 20, "epoch": 2, "files": [
            {"path": "state.json", "size": 2, "sha256": hashlib.sha256(b"{}").hexdigest()},
            {"path": "model/weights.bin", "size": 100, "sha256": "0" * 64}]})
    # 30: a file's size differs from COMPLETE
    _put_checkpoint(s3, out, 30, {"state.json": b"{}"}, marker={
        "step": 30, "epoch": 3, "files": [{"path": "state.json", "size": 3, "sha256": "0" * 64}]})
    # 40: COMPLETE names another step; 100: no COMPLETE at all (still uploading)
    _put_checkpoint(s3, out, 40, good, marker={"step": 39, "epoch": 4, "files": []})
    _put_checkpoint(s3, out, 100, good, marker=None)
    output = S3Uri(ARTIFACTS, out)
    assert checkpoints.steps(output) == [100, 40, 30, 20, 10, 5]
    restored = checkpoints.restore_latest(output, tmp_path)
    assert restored is not None and (restored.step, restored.epoch) == (10, 1)
    assert (restored.directory / "model/weights.bin").read_bytes() == b"w" * 100
    assert checkpoints.restore(output, 20, tmp_path) == "model/weights.bin is missing"
    assert "has size 2, COMPLETE says 3" in str(checkpoints.restore(output, 30, tmp_path))


def test_no_checkpoint_means_fresh_start(s3: Any, unique: str, tmp_path: Path) -> None:
    assert checkpoints.restore_latest(S3Uri(ARTIFACTS, f"{unique}nothing/"), tmp_path) is None


def test_metadata_must_match_the_schema(unique: str) -> None:
    kwargs: dict[str, Any] = dict(
        run_id="20261122-154210-a1b2c3", model="m", base_model="scratch",
        task="image-classification", dataset_uri="builtin:mnist", hyperparameters={"epochs": 1},
        epoch_metrics=[{"epoch": 1, "loss": 0.5, "step": 10, "accuracy": 0.9}],
        final_metrics={"loss": 0.5, "accuracy": 0.9}, output=S3Uri(ARTIFACTS, f"{unique}r/"),
        files=[{"path": "model.safetensors", "size": 3, "sha256": "a" * 64}],
        started_at=records.now(), attempt=1, resumed_from_step=None, world_size=1)
    doc = records.build_metadata(**kwargs)
    assert doc["artifact"]["uri"] == f"s3://{ARTIFACTS}/{unique}r/checkpoint/"
    with pytest.raises(TrainerError, match="metadata.schema.json violation at files"):
        records.build_metadata(**{**kwargs, "files": []})
    with pytest.raises(TrainerError, match="runId"):
        records.build_metadata(**{**kwargs, "run_id": "not-a-run-id"})


def _idx(array: np.ndarray) -> bytes:
    header = struct.pack(">BBBB", 0, 0, 8, array.ndim) + struct.pack(">" + "I" * array.ndim,
                                                                     *array.shape)
    return gzip.compress(header + array.astype(np.uint8).tobytes())


def test_mnist_loader_parses_idx_from_a_mirror(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    rng = np.random.default_rng(0)
    sizes = {"train": 12, "test": 4}
    for split, n in sizes.items():
        prefix = "train" if split == "train" else "t10k"
        (mirror / f"{prefix}-images-idx3-ubyte.gz").write_bytes(
            _idx(rng.integers(0, 255, (n, 28, 28))))
        (mirror / f"{prefix}-labels-idx1-ubyte.gz").write_bytes(_idx(np.arange(n) % 10))
    monkeypatch.setenv("LATHE_MNIST_MIRROR", mirror.as_uri())
    arrays = datasets.load_mnist(tmp_path / "cache")
    assert arrays["train_images"].shape == (12, 28, 28)
    assert arrays["test_labels"].tolist() == [0, 1, 2, 3]
    assert (tmp_path / "cache/train-images-idx3-ubyte.gz").exists()  # cached for the next start
    with pytest.raises(BadInput, match="corrupt gzip"):
        datasets.parse_idx(_idx(np.zeros((2, 2)))[:12])
    truncated = gzip.decompress(_idx(np.zeros((2, 2))))[:-1]
    with pytest.raises(BadInput, match=r"IDX body has 3 bytes, shape \(2, 2\) needs 4"):
        datasets.parse_idx(truncated)
