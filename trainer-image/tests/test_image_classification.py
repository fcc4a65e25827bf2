"""image-classification: DDP under torchrun (2 CPU processes, gloo), and falling back past bad
checkpoints."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np
import pytest
from PIL import Image

from conftest import (ARTIFACTS, DATASETS, REPO, assert_retention_tags, explain, free_port,
                      get_json, keys_under, make_run, run_trainer, upload_dir)
from lathe_trainer import checkpoints
from lathe_trainer.uris import S3Uri

HP = json.dumps({"epochs": 2, "batchSize": 8, "learningRate": 0.01, "imageSize": 16,
                 "evalFraction": 0.25})


def make_image_folder(root: Path, per_class: int = 24, seed: int = 3) -> Path:
    """Two classes a CNN can tell apart: horizontal and vertical stripes, with noise."""
    rng = np.random.default_rng(seed)
    for cls in ("horizontal", "vertical"):
        (root / cls).mkdir(parents=True)
        for i in range(per_class):
            stripes = np.zeros((16, 16), dtype=np.float32)
            phase = rng.integers(0, 2)
            stripes[phase::2, :] = 1.0
            if cls == "vertical":
                stripes = stripes.T
            noisy = np.clip(stripes * 200 + rng.normal(0, 30, (16, 16)), 0, 255).astype(np.uint8)
            rgb = np.stack([noisy, noisy, noisy], axis=-1)
            Image.fromarray(rgb, "RGB").save(root / cls / f"{i:03d}.png")
    (root / "README.txt").write_text("not an image; ignored\n")
    return root


@pytest.fixture(scope="module")
def image_dataset_uri(s3: Any, tmp_path_factory: pytest.TempPathFactory) -> str:
    import uuid
    local = make_image_folder(tmp_path_factory.mktemp("images"))
    prefix = f"tests/trainer/{uuid.uuid4().hex[:12]}/stripes/"
    upload_dir(s3, local, DATASETS, prefix)
    return f"s3://{DATASETS}/{prefix}"


def validate_metadata(s3: Any, output_key: str) -> dict[str, Any]:
    metadata = get_json(s3, ARTIFACTS, output_key + "metadata.json")
    jsonschema.validate(metadata, json.loads((REPO / "schemas/metadata.schema.json").read_text()))
    return metadata


def test_two_workers_under_torchrun(s3: Any, image_dataset_uri: str, tmp_path: Path,
                                    unique: str) -> None:
    run = make_run(tmp_path, unique, LATHE_TASK="image-classification", LATHE_MODEL_URI="scratch",
                   LATHE_DATASET_URI=image_dataset_uri, LATHE_HYPERPARAMETERS=HP,
                   PET_NNODES="1", PET_NPROC_PER_NODE="2", PET_NODE_RANK="0",
                   PET_MASTER_ADDR="127.0.0.1", PET_MASTER_PORT=str(free_port()))
    proc = run_trainer(run)
    assert proc.returncode == 0, explain(proc)
    out = proc.stdout
    assert "launching workers:" in out
    for rank in (0, 1):
        assert f"[lathe-trainer rank={rank}] joined process group: backend=gloo world_size=2" \
            in out
        # DistributedSampler: each rank trains on its half of the 36 training images
        assert re.search(rf"rank={rank}\] training: 36 examples, 18 on this rank", out), out
    uploads = re.findall(r"\[lathe-trainer rank=(\d+)\] upload ", out)
    assert uploads and set(uploads) == {"0"}, "only rank 0 may write to S3"

    metadata = validate_metadata(s3, run.output_key)
    assert metadata["worldSize"] == 2
    assert {f["path"] for f in metadata["files"]} == {"config.json", "model.safetensors"}
    epochs = metadata["metrics"]["epochs"]
    assert [e["epoch"] for e in epochs] == [1, 2] and "accuracy" in epochs[-1]
    assert epochs[1]["loss"] < epochs[0]["loss"]
    assert_retention_tags(s3, run.output_key)  # rank 0's checkpoints tagged, the rest not

    # the weights load back into the network config.json describes
    from safetensors.torch import load_model

    from lathe_trainer.tasks.image import SmallCNN
    local = tmp_path / "final"
    local.mkdir()
    for name in ("config.json", "model.safetensors"):
        s3.download_file(ARTIFACTS, f"{run.output_key}checkpoint/{name}", str(local / name))
    config = json.loads((local / "config.json").read_text())
    assert config["id2label"] == {"0": "horizontal", "1": "vertical"}
    model = SmallCNN(config["in_channels"], config["num_classes"])
    load_model(model, str(local / "model.safetensors"))


def test_skips_corrupt_and_partial_checkpoints(s3: Any, image_dataset_uri: str, tmp_path: Path,
                                               unique: str) -> None:
    run = make_run(tmp_path, unique, LATHE_TASK="image-classification", LATHE_MODEL_URI="scratch",
                   LATHE_DATASET_URI=image_dataset_uri, LATHE_HYPERPARAMETERS=HP)
    first = run_trainer(run)
    assert first.returncode == 0, explain(first)
    ckpts = run.output_key + "checkpoints/"
    markers = sorted(int(k[len(ckpts):].split("/")[0])
                     for k in keys_under(s3, ARTIFACTS, ckpts) if k.endswith("/COMPLETE"))
    assert len(markers) == 2
    step1, step2 = markers

    # Make it look as if the pod died while uploading the final weights (metadata.json not yet
    # written, and checkpoint/ holding an object this attempt will not write), then damage the
    # newest checkpoints:
    final = run.output_key + "checkpoint/"
    s3.put_object(Bucket=ARTIFACTS, Key=final + "model-00002-of-00002.safetensors", Body=b"old")
    s3.delete_object(Bucket=ARTIFACTS, Key=run.output_key + "metadata.json")
    # the epoch-2 checkpoint: same size, different bytes (sha256 mismatch)
    weights = f"{ckpts}{step2}/model/model.safetensors"
    body = bytearray(s3.get_object(Bucket=ARTIFACTS, Key=weights)["Body"].read())
    body[-1] ^= 0xFF
    s3.put_object(Bucket=ARTIFACTS, Key=weights, Body=bytes(body))
    # a newer, half-written one (no COMPLETE) and one with a garbled COMPLETE
    s3.put_object(Bucket=ARTIFACTS, Key=f"{ckpts}{step2 + 100}/state.json", Body=b"{}")
    s3.put_object(Bucket=ARTIFACTS, Key=f"{ckpts}{step2 + 50}/state.json", Body=b"{}")
    s3.put_object(Bucket=ARTIFACTS, Key=f"{ckpts}{step2 + 50}/COMPLETE", Body=b"{\"step\": ")

    again = run_trainer(run, LATHE_ATTEMPT="2")
    assert again.returncode == 0, explain(again)
    out = again.stdout
    base = f"s3://{ARTIFACTS}/{ckpts}"
    assert f"skipping checkpoint {base}{step2 + 100}/: no COMPLETE marker (partial)" in out
    assert f"skipping checkpoint {base}{step2 + 50}/: COMPLETE is not valid JSON" in out
    assert f"skipping checkpoint {base}{step2}/: model/model.safetensors does not match its " \
           "sha256" in out
    assert f"resuming from checkpoint {base}{step1}/ (epoch 1, step {step1})" in out
    assert "epoch 1/2 starts" not in out and f"epoch 2/2 starts at step {step1}" in out
    metadata = validate_metadata(s3, run.output_key)
    assert metadata["resumedFromStep"] == step1
    assert [e["epoch"] for e in metadata["metrics"]["epochs"]] == [1, 2]
    # Epoch 2 ends at step2 again: its old COMPLETE was deleted before the step was rewritten,
    # and the new one describes the new files.
    assert f"delete {base}{step2}/COMPLETE" in out
    marker = get_json(s3, ARTIFACTS, f"{ckpts}{step2}/COMPLETE")
    assert (marker["step"], marker["epoch"]) == (step2, 2)
    restored = checkpoints.restore(S3Uri(ARTIFACTS, run.output_key), step2, tmp_path / "restore")
    assert not isinstance(restored, str), restored
    # The final weights replaced every leftover: checkpoint/ is what metadata.json lists.
    assert f"delete s3://{ARTIFACTS}/{final}model-00002-of-00002.safetensors" in out
    assert {k[len(final):] for k in keys_under(s3, ARTIFACTS, final)} \
        == {f["path"] for f in metadata["files"]} == {"config.json", "model.safetensors"}
