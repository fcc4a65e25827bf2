"""Bad inputs exit 2 with one clear line (stderr and termination log) and leave no metadata.json."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from conftest import (ARTIFACTS, DATASETS, ERROR_PREFIX, TinyLM, explain, keys_under, make_run,
                      run_trainer)

TEXT_HP = json.dumps({"epochs": 1, "batchSize": 4, "maxSeqLength": 16})


def assert_clear_failure(proc: Any, run: Any, s3: Any, *needles: str) -> str:
    assert proc.returncode == 2, explain(proc)
    errors = [l for l in proc.stderr.splitlines() if l.startswith(ERROR_PREFIX)]
    assert len(errors) == 1, explain(proc)
    line = errors[0]
    assert proc.stderr.rstrip().splitlines()[-1] == line, "the error line must be the last one"
    assert "Traceback" not in proc.stderr
    for needle in needles:
        assert needle in line, line
    assert run.termination_log.read_text() == line + "\n"
    assert not keys_under(s3, ARTIFACTS, run.output_key + "metadata.json")
    assert not keys_under(s3, ARTIFACTS, run.output_key + "checkpoint/")
    return line


@pytest.mark.parametrize("overrides, needles", [
    ({"LATHE_MODEL_URI": "ftp://models.example/llama"},
     ["LATHE_MODEL_URI", "unsupported scheme 'ftp'"]),
    ({"LATHE_DATASET_URI": "gs://bucket/data.txt"},
     ["LATHE_DATASET_URI", "unsupported scheme 'gs'"]),
    ({"LATHE_HYPERPARAMETERS": '{"epochs": 2,'},
     ["LATHE_HYPERPARAMETERS is not valid JSON"]),
    ({"LATHE_HYPERPARAMETERS": '{"epochs": "two"}'},
     ["hyperparameter 'epochs' must be an integer"]),
    ({"LATHE_HYPERPARAMETERS": '{"learningRate": -1}'},
     ["hyperparameter 'learningRate' must be positive"]),
    ({"LATHE_TASK": "translation"}, ["LATHE_TASK='translation' is not one of"]),
    ({"LATHE_OUTPUT_URI": "s3://lathe-artifacts/models/x/run"}, ["must be a prefix ending in '/'"]),
], ids=["model-scheme", "dataset-scheme", "hp-json", "hp-type", "hp-range", "task", "output"])
def test_rejected_before_training(s3: Any, tiny_lm: TinyLM, stories_uri: str, tmp_path: Path,
                                  unique: str, overrides: dict[str, str],
                                  needles: list[str]) -> None:
    base = {"LATHE_TASK": "text-generation", "LATHE_MODEL_URI": tiny_lm.uri,
            "LATHE_DATASET_URI": stories_uri, "LATHE_HYPERPARAMETERS": TEXT_HP}
    run = make_run(tmp_path, unique, **{**base, **overrides})
    assert_clear_failure(run_trainer(run, timeout=60), run, s3, *needles)


def test_missing_dataset_object(s3: Any, tiny_lm: TinyLM, tmp_path: Path, unique: str) -> None:
    missing = f"s3://{DATASETS}/{unique}no-such-file.txt"
    run = make_run(tmp_path, unique, LATHE_TASK="text-generation", LATHE_MODEL_URI=tiny_lm.uri,
                   LATHE_DATASET_URI=missing, LATHE_HYPERPARAMETERS=TEXT_HP)
    assert_clear_failure(run_trainer(run), run, s3, missing, "does not exist")


def test_missing_bucket(s3: Any, tiny_lm: TinyLM, tmp_path: Path, unique: str) -> None:
    run = make_run(tmp_path, unique, LATHE_TASK="text-generation", LATHE_MODEL_URI=tiny_lm.uri,
                   LATHE_DATASET_URI="s3://no-such-bucket-lathe/data.txt",
                   LATHE_HYPERPARAMETERS=TEXT_HP)
    assert_clear_failure(run_trainer(run), run, s3, "no-such-bucket-lathe", "does not exist")


def test_missing_credentials(s3: Any, tiny_lm: TinyLM, stories_uri: str, tmp_path: Path,
                             unique: str) -> None:
    run = make_run(tmp_path, unique, LATHE_TASK="text-generation", LATHE_MODEL_URI=tiny_lm.uri,
                   LATHE_DATASET_URI=stories_uri, LATHE_HYPERPARAMETERS=TEXT_HP,
                   AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"),
                   AWS_CONFIG_FILE=str(tmp_path / "none"), AWS_EC2_METADATA_DISABLED="true")
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                "AWS_PROFILE", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE"):
        run.env.pop(key, None)
    assert_clear_failure(run_trainer(run), run, s3, "no AWS credentials")


def test_wrong_credentials(s3: Any, tiny_lm: TinyLM, stories_uri: str, tmp_path: Path,
                           unique: str) -> None:
    run = make_run(tmp_path, unique, LATHE_TASK="text-generation", LATHE_MODEL_URI=tiny_lm.uri,
                   LATHE_DATASET_URI=stories_uri, LATHE_HYPERPARAMETERS=TEXT_HP,
                   AWS_SECRET_ACCESS_KEY="wrong-secret-key")
    assert_clear_failure(run_trainer(run), run, s3, "access denied")


def test_unreadable_image_dataset(s3: Any, tmp_path: Path, unique: str) -> None:
    prefix = f"{unique}broken-images/"
    buf = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buf, "PNG")
    s3.put_object(Bucket=DATASETS, Key=prefix + "cats/ok.png", Body=buf.getvalue())
    s3.put_object(Bucket=DATASETS, Key=prefix + "dogs/broken.png", Body=b"not a png at all")
    run = make_run(tmp_path, unique, LATHE_TASK="image-classification", LATHE_MODEL_URI="scratch",
                   LATHE_DATASET_URI=f"s3://{DATASETS}/{prefix}",
                   LATHE_HYPERPARAMETERS='{"epochs": 1, "imageSize": 8}')
    assert_clear_failure(run_trainer(run), run, s3, "dogs/broken.png", "not a readable image")


def test_model_prefix_without_a_model(s3: Any, stories_uri: str, tmp_path: Path,
                                      unique: str) -> None:
    s3.put_object(Bucket=DATASETS, Key=f"{unique}not-a-model/readme.txt", Body=b"hello")
    run = make_run(tmp_path, unique, LATHE_TASK="text-generation",
                   LATHE_MODEL_URI=f"s3://{DATASETS}/{unique}not-a-model/",
                   LATHE_DATASET_URI=stories_uri, LATHE_HYPERPARAMETERS=TEXT_HP)
    assert_clear_failure(run_trainer(run), run, s3, "cannot load model")
