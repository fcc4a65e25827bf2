"""task custom: the user's command runs with the run's environment and the upload helpers."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import jsonschema

from conftest import ARTIFACTS, REPO, explain, get_json, keys_under, make_run, run_trainer

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
