"""text-generation end to end: a tiny Llama fine-tunes on text from S3, then resumes after SIGTERM."""

from __future__ import annotations

import hashlib
import json
import signal
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from conftest import (ARTIFACTS, REPO, TinyLM, assert_retention_tags, explain, get_json,
                      keys_under, make_run, run_trainer, start_trainer)

HP = json.dumps({"epochs": 2, "batchSize": 8, "learningRate": 0.005, "maxSeqLength": 16,
                 "seed": 1, "note": "passed through"})


def schema(name: str) -> dict[str, Any]:
    return json.loads((REPO / "schemas" / name).read_text())


def check_artifact(s3: Any, output_key: str, expected_files: frozenset[str]) -> dict[str, Any]:
    """metadata.json validates and lists exactly the objects under checkpoint/, checksums match."""
    metadata = get_json(s3, ARTIFACTS, output_key + "metadata.json")
    jsonschema.validate(metadata, schema("metadata.schema.json"))
    objects = keys_under(s3, ARTIFACTS, output_key + "checkpoint/")
    listed = {f["path"]: f for f in metadata["files"]}
    assert {k[len(output_key + "checkpoint/"):] for k in objects} == set(listed)
    assert set(listed) == expected_files
    for path, entry in listed.items():
        body = s3.get_object(Bucket=ARTIFACTS, Key=output_key + "checkpoint/" + path)["Body"].read()
        assert len(body) == entry["size"] == objects[output_key + "checkpoint/" + path]
        assert hashlib.sha256(body).hexdigest() == entry["sha256"], path
    assert metadata["artifact"] == {"uri": f"s3://{ARTIFACTS}/{output_key}checkpoint/",
                                    "format": "safetensors"}
    return metadata


def download_checkpoint(s3: Any, output_key: str, dest: Path) -> Path:
    for key in keys_under(s3, ARTIFACTS, output_key + "checkpoint/"):
        local = dest / key[len(output_key + "checkpoint/"):]
        local.parent.mkdir(parents=True, exist_ok=True)
        s3.download_file(ARTIFACTS, key, str(local))
    return dest


def test_fine_tunes_for_two_epochs(s3: Any, tiny_lm: TinyLM, stories_uri: str,
                                   tmp_path: Path, unique: str) -> None:
    run = make_run(tmp_path, unique, LATHE_TASK="text-generation", LATHE_MODEL_URI=tiny_lm.uri,
                   LATHE_DATASET_URI=stories_uri, LATHE_HYPERPARAMETERS=HP)
    proc = run_trainer(run)
    assert proc.returncode == 0, explain(proc)
    print(proc.stdout)

    metadata = check_artifact(s3, run.output_key, tiny_lm.files)
    epochs = metadata["metrics"]["epochs"]
    assert [e["epoch"] for e in epochs] == [1, 2]
    assert epochs[1]["loss"] < epochs[0]["loss"]
    assert epochs[1]["evalLoss"] < epochs[0]["evalLoss"]
    final = metadata["metrics"]["final"]
    assert final["loss"] == epochs[1]["loss"]
    assert final["loss"] < final["firstStepLoss"] * 0.8, final
    assert metadata["hyperparameters"]["epochs"] == 2
    assert metadata["hyperparameters"]["note"] == "passed through"
    assert metadata["hyperparameters"]["warmupSteps"] == 0  # defaults are recorded
    assert metadata["runId"] == run.run_id and metadata["resumedFromStep"] is None
    assert metadata["baseModel"] == tiny_lm.uri and metadata["worldSize"] == 1

    progress = get_json(s3, ARTIFACTS, run.output_key + "progress.json")
    jsonschema.validate(progress, schema("progress.schema.json"))
    assert (progress["epoch"], progress["epochs"]) == (2, 2)
    assert progress["step"] == epochs[1]["step"] == progress["totalSteps"]
    assert progress["evalMetric"]["name"] == "perplexity"

    # the curve: a point at every progress write, schema-valid, ending at the last step, with the
    # learning rate and the evaluation of each epoch end on its step
    history = get_json(s3, ARTIFACTS, run.output_key + "metrics-history.json")
    jsonschema.validate(history, schema("metrics-history.schema.json"))
    points = history["points"]
    steps = [p["step"] for p in points]
    assert steps == sorted(set(steps)) and steps[-1] == progress["totalSteps"]
    assert all("learningRate" in p for p in points)
    evals = {p["step"]: p["evalLoss"] for p in points if "evalLoss" in p}
    assert evals == {e["step"]: e["evalLoss"] for e in epochs}
    losses = [p["loss"] for p in points if "loss" in p]
    assert len(losses) >= 2 and losses[-1] < losses[0]

    # one resumable checkpoint per epoch, each with a COMPLETE marker
    keys = keys_under(s3, ARTIFACTS, run.output_key + "checkpoints/")
    steps = sorted(int(k.split("/")[-2]) for k in keys if k.endswith("/COMPLETE"))
    assert steps == [epochs[0]["step"], epochs[1]["step"]]
    # only they carry the tag the bucket's lifecycle rule expires; weights and records never do
    assert_retention_tags(s3, run.output_key)

    # the artifact loads with the standard Hugging Face classes, as the inference server does
    from transformers import AutoModelForCausalLM, AutoTokenizer
    local = download_checkpoint(s3, run.output_key, tmp_path / "final")
    model = AutoModelForCausalLM.from_pretrained(str(local))
    tokenizer = AutoTokenizer.from_pretrained(str(local))
    ids = tokenizer("the big cat", return_tensors="pt")["input_ids"]
    out = model.generate(ids, max_new_tokens=3, do_sample=False)
    assert out.shape[1] == ids.shape[1] + 3


def test_sigterm_then_resume(s3: Any, tiny_lm: TinyLM, stories_uri: str, tmp_path: Path,
                             unique: str) -> None:
    run = make_run(tmp_path, unique, LATHE_TASK="text-generation", LATHE_MODEL_URI=tiny_lm.uri,
                   LATHE_DATASET_URI=stories_uri, LATHE_HYPERPARAMETERS=HP)
    # Slow steps down so that SIGTERM lands inside epoch 2.
    proc = start_trainer(run, LATHE_DEBUG_STEP_DELAY_SECONDS="0.25")
    lines: list[str] = []
    assert proc.stdout is not None
    for line in proc.stdout:
        lines.append(line)
        if "epoch 2/2 starts" in line:
            proc.send_signal(signal.SIGTERM)
            break
    rest, _ = proc.communicate(timeout=120)
    output = "".join(lines) + rest
    assert proc.returncode == 143, output
    assert "received SIGTERM" in output
    assert not keys_under(s3, ARTIFACTS, run.output_key + "metadata.json"), \
        "an interrupted run must not write metadata.json"

    markers = {int(k.split("/")[-2]): get_json(s3, ARTIFACTS, k)
               for k in keys_under(s3, ARTIFACTS, run.output_key + "checkpoints/")
               if k.endswith("/COMPLETE")}
    assert len(markers) == 2, markers  # end of epoch 1, and the one saved on SIGTERM
    epoch1_step, sigterm_step = sorted(markers)
    assert markers[epoch1_step]["epoch"] == 1
    assert markers[sigterm_step]["epoch"] == 2

    # started again with the same run id: resumes inside epoch 2
    again = run_trainer(run, LATHE_ATTEMPT="2")
    assert again.returncode == 0, explain(again)
    assert f"resuming from checkpoint s3://{ARTIFACTS}/{run.output_key}checkpoints/" \
           f"{sigterm_step}/ (epoch 2, step {sigterm_step})" in again.stdout
    assert "epoch 1/2 starts" not in again.stdout
    assert f"epoch 2/2 starts at step {sigterm_step}" in again.stdout

    metadata = check_artifact(s3, run.output_key, tiny_lm.files)
    assert metadata["resumedFromStep"] == sigterm_step
    assert metadata["attempt"] == 2
    assert [e["epoch"] for e in metadata["metrics"]["epochs"]] == [1, 2]
    assert metadata["metrics"]["epochs"][0]["step"] == epoch1_step

    # one curve across both attempts: the first attempt's points up to the checkpoint it saved,
    # then the second's, each step once, the epoch-1 evaluation kept
    history = get_json(s3, ARTIFACTS, run.output_key + "metrics-history.json")
    jsonschema.validate(history, schema("metrics-history.schema.json"))
    steps = [p["step"] for p in history["points"]]
    assert steps == sorted(set(steps)) and steps[0] < sigterm_step < steps[-1], steps
    assert epoch1_step in {p["step"] for p in history["points"] if "evalLoss" in p}

    # A third start finds metadata.json and does nothing.
    third = run_trainer(run, LATHE_ATTEMPT="3")
    assert third.returncode == 0, explain(third)
    assert "already complete" in third.stdout
