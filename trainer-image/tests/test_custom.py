"""task custom: the user's command runs with the run's environment and the upload helpers."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import jsonschema

from conftest import (ARTIFACTS, CHECKPOINT_TAG, REPO, assert_retention_tags, explain, get_json,
                      keys_under, make_run, run_trainer, tags_of)

USER_SCRIPT = r"""
import json, os, sys
from pathlib import Path
import numpy as np
from safetensors.numpy import save_file
from lathe_trainer import helpers

out = Path(os.environ["LATHE_MODEL_OUTPUT_DIR"])
save_file({"w": np.ones((2, 2), dtype=np.float32)}, str(out / "model.safetensors"))
(out / "config.json").write_text(json.dumps({"model_type": "toy"}))
helpers.progress(epoch=1, epochs=1, step=3, loss=0.25)
Path(os.environ["LATHE_METRICS_FILE"]).write_text(json.dumps(
    {"epochs": [{"epoch": 1, "loss": 0.25, "step": 3}], "final": {"loss": 0.25}}))
print("user command saw run", os.environ["LATHE_RUN_ID"], "args", sys.argv[1:])
"""


def test_custom_command_publishes_its_model(s3: Any, tmp_path: Path, unique: str) -> None:
    script = tmp_path / "train.py"
    script.write_text(USER_SCRIPT)
    run = make_run(tmp_path, unique, LATHE_TASK="custom", LATHE_MODEL_URI="scratch",
                   LATHE_DATASET_URI="builtin:none", LATHE_HYPERPARAMETERS='{"epochs": 1}')
    proc = run_trainer(run, "--", sys.executable, str(script), "--flag")
    assert proc.returncode == 0, explain(proc)
    assert f"user command saw run {run.run_id} args ['--flag']" in proc.stdout
    metadata = get_json(s3, ARTIFACTS, run.output_key + "metadata.json")
    jsonschema.validate(metadata, json.loads((REPO / "schemas/metadata.schema.json").read_text()))
    assert metadata["task"] == "custom"
    assert {f["path"] for f in metadata["files"]} == {"model.safetensors", "config.json"}
    assert get_json(s3, ARTIFACTS, run.output_key + "progress.json")["step"] == 3


def test_failing_custom_command_writes_no_metadata(s3: Any, tmp_path: Path, unique: str) -> None:
    run = make_run(tmp_path, unique, LATHE_TASK="custom", LATHE_MODEL_URI="scratch",
                   LATHE_DATASET_URI="builtin:none",
                   LATHE_COMMAND=f"{sys.executable} -c 'raise SystemExit(3)'")
    proc = run_trainer(run)
    assert proc.returncode == 1, explain(proc)
    assert proc.stderr.splitlines()[-1] == \
        "lathe-trainer: error: custom command exited with code 3"
    assert not keys_under(s3, ARTIFACTS, run.output_key + "metadata.json")


CHECKPOINTING_SCRIPT = r"""
import json, os, tempfile
from pathlib import Path
import numpy as np
from safetensors.numpy import save_file
from lathe_trainer import helpers

save_file({"w": np.ones((2, 2), dtype=np.float32)},
          os.path.join(os.environ["LATHE_MODEL_OUTPUT_DIR"], "model.safetensors"))
ckpt = Path(tempfile.mkdtemp())
(ckpt / "state.json").write_text("{}")
helpers.save_checkpoint(ckpt, step=3, epoch=1)
(ckpt / "notes.txt").write_text("notes")
helpers.upload(ckpt / "notes.txt", "checkpoints/extra/notes.txt")
helpers.upload(ckpt / "notes.txt", "extras/notes.txt")
helpers.progress(epoch=1, epochs=1, step=3, loss=0.25)
Path(os.environ["LATHE_METRICS_FILE"]).write_text(json.dumps(
    {"epochs": [{"epoch": 1, "loss": 0.25, "step": 3}], "final": {"loss": 0.25}}))
"""


def test_custom_checkpoints_carry_the_retention_tag(s3: Any, tmp_path: Path, unique: str) -> None:
    """helpers.save_checkpoint and uploads under checkpoints/ are tagged; nothing else is."""
    script = tmp_path / "train.py"
    script.write_text(CHECKPOINTING_SCRIPT)
    run = make_run(tmp_path, unique, LATHE_TASK="custom", LATHE_MODEL_URI="scratch",
                   LATHE_DATASET_URI="builtin:none", LATHE_HYPERPARAMETERS='{"epochs": 1}')
    proc = run_trainer(run, "--", sys.executable, str(script))
    assert proc.returncode == 0, explain(proc)
    for key in ("checkpoints/3/state.json", "checkpoints/3/COMPLETE",
                "checkpoints/extra/notes.txt"):
        assert tags_of(s3, ARTIFACTS, run.output_key + key) == CHECKPOINT_TAG, key
    assert tags_of(s3, ARTIFACTS, run.output_key + "extras/notes.txt") == {}
    assert_retention_tags(s3, run.output_key)


def test_a_retried_custom_run_replaces_what_the_earlier_attempt_left(
        s3: Any, tmp_path: Path, unique: str) -> None:
    """Attempt 2 saves checkpoints/3/ again (its old COMPLETE deleted first, then the files the
    new one would not list) and publishes checkpoint/ over an earlier attempt's leftovers, which
    are deleted: the two deletes the trainer's IAM role allows (terraform/irsa.tf
    DeleteReplacedCheckpointObjects)."""
    script = tmp_path / "train.py"
    script.write_text(CHECKPOINTING_SCRIPT)
    run = make_run(tmp_path, unique, LATHE_TASK="custom", LATHE_MODEL_URI="scratch",
                   LATHE_DATASET_URI="builtin:none", LATHE_HYPERPARAMETERS='{"epochs": 1}',
                   LATHE_ATTEMPT="2")
    # What attempt 1 left: a complete checkpoints/3/ and part of an older layout in checkpoint/.
    old_state = b'{"attempt": 1}'
    s3.put_object(Bucket=ARTIFACTS, Key=run.output_key + "checkpoints/3/state.json",
                  Body=old_state)
    s3.put_object(Bucket=ARTIFACTS, Key=run.output_key + "checkpoints/3/COMPLETE",
                  Body=json.dumps({"step": 3, "epoch": 1, "files": [
                      {"path": "state.json", "size": len(old_state),
                       "sha256": hashlib.sha256(old_state).hexdigest()}]}).encode())
    stale = run.output_key + "checkpoints/3/optimizer.pt"  # attempt 1 had a file attempt 2 has not
    s3.put_object(Bucket=ARTIFACTS, Key=stale, Body=b"old optimizer")
    leftover = run.output_key + "checkpoint/model-00001-of-00002.safetensors"
    s3.put_object(Bucket=ARTIFACTS, Key=leftover, Body=b"old")

    proc = run_trainer(run, "--", sys.executable, str(script))
    assert proc.returncode == 0, explain(proc)
    assert f"delete {run.output_uri}checkpoints/3/COMPLETE" in proc.stdout
    assert f"delete s3://{ARTIFACTS}/{leftover}" in proc.stdout
    assert set(keys_under(s3, ARTIFACTS, run.output_key + "checkpoints/3/")) == {
        run.output_key + "checkpoints/3/state.json", run.output_key + "checkpoints/3/COMPLETE"}
    # The bucket is versioned (hack/s3.sh, like terraform/s3.tf) and the trainer deletes with plain
    # DeleteObject (its role has no DeleteObjectVersion): what it replaced is still recoverable.
    old = s3.list_object_versions(Bucket=ARTIFACTS, Prefix=stale)["Versions"]
    assert [s3.get_object(Bucket=ARTIFACTS, Key=stale, VersionId=v["VersionId"])["Body"].read()
            for v in old] == [b"old optimizer"]
    marker = get_json(s3, ARTIFACTS, run.output_key + "checkpoints/3/COMPLETE")
    assert marker["files"] == [{"path": "state.json", "size": 2,
                                "sha256": hashlib.sha256(b"{}").hexdigest()}]
    final = keys_under(s3, ARTIFACTS, run.output_key + "checkpoint/")
    assert set(final) == {run.output_key + "checkpoint/model.safetensors"}
    metadata = get_json(s3, ARTIFACTS, run.output_key + "metadata.json")
    assert [f["path"] for f in metadata["files"]] == ["model.safetensors"]
    assert metadata["resumedFromStep"] == 3 and metadata["attempt"] == 2
    assert_retention_tags(s3, run.output_key)
