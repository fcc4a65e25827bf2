"""Module-level behaviour: configuration, URIs, checkpoint selection (real S3), schema, MNIST."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import signal
import struct
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from botocore.exceptions import ClientError

from conftest import ARTIFACTS, CHECKPOINT_TAG, DATASETS, REPO, keys_under, new_run_id, tags_of
from lathe_trainer import checkpoints, datasets, helpers, launcher, records, s3 as trainer_s3
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


def test_checkpoints_are_tagged_for_expiry_and_final_weights_are_not(
        s3: Any, unique: str, tmp_path: Path) -> None:
    """checkpoints/<step>/ (COMPLETE too, and multipart uploads) carry the lifecycle rule's tag."""
    out = S3Uri(ARTIFACTS, f"{unique}models/m/{new_run_id()}/")
    local = tmp_path / "ckpt"
    (local / "model").mkdir(parents=True)
    # Above boto3's 8 MiB multipart threshold: the tag rides on CreateMultipartUpload.
    (local / "model/weights.bin").write_bytes(b"w" * (9 * 1024 * 1024))
    (local / "state.json").write_text("{}")
    checkpoints.save(local, out, step=7, epoch=1)
    saved = keys_under(s3, ARTIFACTS, out.key + "checkpoints/7/")
    assert set(saved) == {out.key + f"checkpoints/7/{n}"
                          for n in ("model/weights.bin", "state.json", "COMPLETE")}
    for key in saved:
        assert tags_of(s3, ARTIFACTS, key) == CHECKPOINT_TAG, key
    restored = checkpoints.restore(out, 7, tmp_path / "restore")
    assert not isinstance(restored, str) and restored.step == 7

    # The final weights and the records are written untagged and never expire.
    trainer_s3.upload_dir(local, out.child("checkpoint/"))
    trainer_s3.put_json(out.child("metadata.json"), {"runId": "x"})
    records.Progress(out, "x", 1, 1, records.now(), 0.0, True).update(1, 1, 0.5, force=True)
    for key in [*keys_under(s3, ARTIFACTS, out.key + "checkpoint/"),
                out.key + "metadata.json", out.key + "progress.json"]:
        assert tags_of(s3, ARTIFACTS, key) == {}, key


def test_the_checkpoint_tag_is_the_one_the_lifecycle_rule_expires() -> None:
    """terraform/s3.tf's expire-intermediate-checkpoints rule filters on the tag the trainer sets."""
    hcl = (REPO / "terraform/s3.tf").read_text()
    rule = re.search(r'id\s*=\s*"expire-intermediate-checkpoints".*?\n  }', hcl, re.S)
    assert rule, "no expire-intermediate-checkpoints rule in terraform/s3.tf"
    tags = re.findall(r'tag\s*\{\s*key\s*=\s*"([^"]+)"\s*value\s*=\s*"([^"]+)"\s*\}', rule[0])
    assert dict(tags) == dict(trainer_s3.CHECKPOINT_TAGS) == CHECKPOINT_TAG


class _TagRefusingClient:
    """put_object/upload_file that fail with `code` when asked to tag (or always, if `always`)."""

    def __init__(self, code: str, always: bool = False) -> None:
        self.code, self.always = code, always
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def _answer(self, key: str, extra: dict[str, Any]) -> None:
        self.calls.append((key, extra))
        if self.always or "Tagging" in extra:
            raise ClientError({"Error": {"Code": self.code, "Message": "no"}}, "PutObject")

    def put_object(self, *, Key: str, **kwargs: Any) -> None:
        self._answer(Key, {k: v for k, v in kwargs.items() if k == "Tagging"})

    def upload_file(self, _path: str, _bucket: str, key: str,
                    ExtraArgs: dict[str, Any] | None = None) -> None:
        try:
            self._answer(key, dict(ExtraArgs or {}))
        except ClientError as exc:  # what boto3's upload_file does with a ClientError
            from boto3.exceptions import S3UploadFailedError
            raise S3UploadFailedError(f"Failed to upload: {exc}")


@pytest.mark.parametrize("code, why", [
    ("NotImplemented", "the S3 store does not support object tags"),
    ("AccessDenied", "the role may not tag objects (s3:PutObjectTagging)"),
])
def test_a_store_or_role_that_cannot_tag_gets_untagged_checkpoints(
        code: str, why: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    fake = _TagRefusingClient(code)
    monkeypatch.setattr(trainer_s3, "_client", fake)
    monkeypatch.setattr(trainer_s3, "_tagging", True)
    (tmp_path / "state.json").write_text("{}")
    prefix = S3Uri("b", "models/m/r/checkpoints/1/")
    trainer_s3.upload_dir(tmp_path, prefix, tags=trainer_s3.CHECKPOINT_TAGS)
    trainer_s3.put_json(prefix.child("COMPLETE"), {}, tags=trainer_s3.CHECKPOINT_TAGS)
    tagging = "lathe.dev%2Fretention=checkpoint"
    # One tagged try, one untagged retry; from then on no more tagged tries.
    assert fake.calls == [(prefix.key + "state.json", {"Tagging": tagging}),
                          (prefix.key + "state.json", {}), (prefix.key + "COMPLETE", {})]
    assert capsys.readouterr().out.count(f"warning: {why}") == 1


def test_a_tagged_write_denied_untagged_too_is_an_access_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(trainer_s3, "_client", _TagRefusingClient("AccessDenied", always=True))
    monkeypatch.setattr(trainer_s3, "_tagging", True)
    (tmp_path / "f").write_text("x")
    with pytest.raises(BadInput, match=r"access denied to s3://b/k \(AccessDenied\)"):
        trainer_s3.upload_file(tmp_path / "f", S3Uri("b", "k"), tags=trainer_s3.CHECKPOINT_TAGS)
    assert trainer_s3._tagging  # the role cannot write at all; tags were not the problem


def test_other_errors_on_a_tagged_write_are_not_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = _TagRefusingClient("InternalError")
    monkeypatch.setattr(trainer_s3, "_client", fake)
    monkeypatch.setattr(trainer_s3, "_tagging", True)
    with pytest.raises(TrainerError, match="S3 error on s3://b/k: InternalError"):
        trainer_s3.put_json(S3Uri("b", "k"), {}, tags=trainer_s3.CHECKPOINT_TAGS)
    assert len(fake.calls) == 1


# ---- deletes: only what a retried attempt replaces, and a denied one is one clear line ----------


def test_a_retried_save_of_the_same_step_replaces_it(s3: Any, unique: str, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Saving checkpoints/<step>/ again deletes its COMPLETE before any file is rewritten, so a
    step half-rewritten by a pod that dies mid-save is never resumed from."""
    out = S3Uri(ARTIFACTS, f"{unique}models/m/{new_run_id()}/")
    first, second = tmp_path / "first", tmp_path / "second"
    for d, attempt in ((first, 1), (second, 2)):
        d.mkdir()
        (d / "state.json").write_text(json.dumps({"attempt": attempt}))
    checkpoints.save(first, out, step=7, epoch=1)
    marker = out.child("checkpoints/7/COMPLETE")
    assert trainer_s3.head_size(marker) is not None

    seen: list[tuple[str, int | None]] = []
    real_upload = trainer_s3.upload_file

    def upload_file(path: Path, uri: S3Uri, tags: Any = None) -> None:
        seen.append((uri.key, trainer_s3.head_size(marker)))
        real_upload(path, uri, tags)

    monkeypatch.setattr(trainer_s3, "upload_file", upload_file)
    checkpoints.save(second, out, step=7, epoch=2)
    assert seen == [(out.key + "checkpoints/7/state.json", None)]  # the old marker was gone
    restored = checkpoints.restore(out, 7, tmp_path / "restore")
    assert not isinstance(restored, str) and restored.epoch == 2
    assert json.loads((restored.directory / "state.json").read_text()) == {"attempt": 2}
    assert tags_of(s3, ARTIFACTS, marker.key) == CHECKPOINT_TAG


def test_delete_prefix_removes_leftovers_of_the_final_weights(s3: Any, unique: str) -> None:
    out = S3Uri(ARTIFACTS, f"{unique}models/m/{new_run_id()}/")
    for name in ("checkpoint/model-00001-of-00002.safetensors", "checkpoint/config.json",
                 "progress.json"):
        s3.put_object(Bucket=ARTIFACTS, Key=out.key + name, Body=b"old")
    assert trainer_s3.delete_prefix(out.child("checkpoint/")) == 2
    assert set(keys_under(s3, ARTIFACTS, out.key)) == {out.key + "progress.json"}
    assert trainer_s3.delete_prefix(out.child("checkpoint/")) == 0


def test_delete_prefix_deletes_first_the_key_it_is_given(
        s3: Any, unique: str, monkeypatch: pytest.MonkeyPatch) -> None:
    out = S3Uri(ARTIFACTS, f"{unique}models/m/{new_run_id()}/")
    for name in ("a.bin", "b.bin", "zz-marker"):
        s3.put_object(Bucket=ARTIFACTS, Key=out.key + "checkpoints/3/" + name, Body=b"old")
    order: list[str] = []
    real_delete = trainer_s3.delete
    monkeypatch.setattr(trainer_s3, "delete",
                        lambda uri: (order.append(uri.key.rsplit("/", 1)[1]), real_delete(uri)))
    marker = out.child("checkpoints/3/zz-marker")
    assert trainer_s3.delete_prefix(out.child("checkpoints/3/"), first=marker) == 3
    assert order == ["zz-marker", "a.bin", "b.bin"]


def test_delete_prefix_leaves_folder_markers(s3: Any, unique: str) -> None:
    # The S3 console's "Create folder" writes a zero-byte key ending in "/".
    out = S3Uri(ARTIFACTS, f"{unique}models/m/{new_run_id()}/")
    s3.put_object(Bucket=ARTIFACTS, Key=out.key + "checkpoint/", Body=b"")
    s3.put_object(Bucket=ARTIFACTS, Key=out.key + "checkpoint/config.json", Body=b"old")
    assert trainer_s3.delete_prefix(out.child("checkpoint/")) == 1
    assert out.key + "checkpoint/config.json" not in keys_under(s3, ARTIFACTS, out.key)


@pytest.mark.parametrize("key, allowed", [
    ("models/m/20261122-154210-a1b2c3/checkpoint/model.safetensors", True),
    ("models/m/20261122-154210-a1b2c3/checkpoint/sub/tokenizer.json", True),
    ("models/m/20261122-154210-a1b2c3/checkpoints/7/COMPLETE", True),
    ("models/m/20261122-154210-a1b2c3/checkpoints/7/model/model.safetensors", True),
    ("tests/trainer/abc/models/m/r/checkpoints/7/COMPLETE", True),  # the tests' run prefixes
    ("models/m/20261122-154210-a1b2c3/metadata.json", False),
    ("models/m/20261122-154210-a1b2c3/run.json", False),
    ("models/m/20261122-154210-a1b2c3/progress.json", False),
    ("models/m/20261122-154210-a1b2c3/checkpoint/", False),
    ("models/m/20261122-154210-a1b2c3/checkpoints/../metadata.json", False),
    ("models/m/20261122-154210-a1b2c3/my-checkpoint/x", False),
    ("models/checkpoint/x", False),
    ("datasets/checkpoint/x", False),
])
def test_the_trainer_deletes_only_under_checkpoint_directories(key: str, allowed: bool) -> None:
    assert trainer_s3.may_delete(S3Uri("b", key)) is allowed
    if not allowed:
        with pytest.raises(RuntimeError, match="refusing to delete"):
            trainer_s3.delete(S3Uri("b", key))


def test_the_keys_the_trainer_deletes_are_the_ones_its_role_may_delete() -> None:
    """terraform/irsa.tf grants s3:DeleteObject on models/*/*/checkpoint(s)/* (IAM's * matches
    "/" too); under models/, s3.may_delete accepts exactly the keys those patterns match."""
    hcl = (REPO / "terraform/irsa.tf").read_text()
    patterns = re.findall(
        r'^\s*run_\w+_objects\s*=\s*"\$\{aws_s3_bucket\.artifacts\.arn\}/([^"]+)"', hcl, re.M)
    assert sorted(patterns) == ["models/*/*/checkpoint/*", "models/*/*/checkpoints/*"]
    assert re.search(r'sid\s*=\s*"DeleteReplacedCheckpointObjects"\s*actions\s*=\s*'
                     r'\["s3:DeleteObject"\]\s*resources\s*=\s*\[local\.run_final_weights_objects, '
                     r'local\.run_checkpoints_objects\]', hcl), "irsa.tf's delete statement changed"
    iam = [re.compile(re.escape(p).replace(r"\*", ".*")) for p in patterns]
    run = "models/m/20261122-154210-a1b2c3/"
    for rest in ("checkpoint/model.safetensors", "checkpoint/a/b", "checkpoints/7/COMPLETE",
                 "checkpoints/7/model/w.bin", "metadata.json", "run.json", "progress.json",
                 "checkpoint", "checkpoints", "my-checkpoint/x", "checkpoints-old/x"):
        key = run + rest
        granted = any(p.fullmatch(key) for p in iam)
        assert trainer_s3.may_delete(S3Uri("b", key)) is granted, key


def test_only_rank_0_deletes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(trainer_s3, "_may_write", False)
    monkeypatch.setattr(trainer_s3, "_client", _DeleteDenyingClient({}))
    with pytest.raises(RuntimeError, match="must not delete s3://b/models/m/r/checkpoint/x"):
        trainer_s3.delete(S3Uri("b", "models/m/r/checkpoint/x"))


class _DeleteDenyingClient:
    """A client for a role without s3:DeleteObject: reads and writes work, DeleteObject is denied.
    `existing` is the store's content (key -> size)."""

    def __init__(self, existing: dict[str, int]) -> None:
        self.existing = existing
        self.calls: list[tuple[str, str]] = []

    def head_bucket(self, *, Bucket: str) -> dict[str, Any]:
        return {}

    def head_object(self, *, Bucket: str, Key: str) -> dict[str, Any]:
        self.calls.append(("head", Key))
        if Key not in self.existing:
            raise ClientError({"Error": {"Code": "404", "Message": "Not Found"}}, "HeadObject")
        return {"ContentLength": self.existing[Key]}

    def get_paginator(self, _name: str) -> Any:
        existing, calls = self.existing, self.calls

        class Pages:
            def paginate(self, *, Bucket: str, Prefix: str,
                         Delimiter: str | None = None) -> list[dict[str, Any]]:
                calls.append(("list", Prefix))
                keys = sorted(k for k in existing if k.startswith(Prefix))
                if Delimiter:
                    dirs = sorted({Prefix + k[len(Prefix):].split(Delimiter)[0] + Delimiter
                                   for k in keys if Delimiter in k[len(Prefix):]})
                    return [{"CommonPrefixes": [{"Prefix": d} for d in dirs]}]
                return [{"Contents": [{"Key": k, "Size": existing[k]} for k in keys]}]

        return Pages()

    def delete_object(self, *, Bucket: str, Key: str) -> None:
        self.calls.append(("delete", Key))
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "Access Denied"}},
                          "DeleteObject")

    def upload_file(self, _path: str, _bucket: str, key: str, ExtraArgs: Any = None) -> None:
        self.calls.append(("put", key))

    def put_object(self, *, Key: str, **_kwargs: Any) -> None:
        self.calls.append(("put", Key))


DENIED = ("lathe-trainer: error: access denied to {} (AccessDenied): the run's IAM role needs "
          "s3:DeleteObject on it; check the role or credentials")


def test_a_denied_checkpoint_delete_is_one_clear_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """helpers.save_checkpoint re-saving a step under a role without s3:DeleteObject: exit 2 and
    one error line (stderr and termination log), no traceback, and nothing rewritten."""
    marker = "models/m/r/checkpoints/7/COMPLETE"
    fake = _DeleteDenyingClient({marker: 10})
    monkeypatch.setattr(trainer_s3, "_client", fake)
    termination = tmp_path / "termination.log"
    for name in ("RANK", "PET_NODE_RANK"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LATHE_OUTPUT_URI", "s3://lathe-test/models/m/r/")
    monkeypatch.setenv("LATHE_TERMINATION_LOG", str(termination))
    (tmp_path / "ckpt").mkdir()
    (tmp_path / "ckpt/state.json").write_text("{}")
    assert helpers.main(["checkpoint", str(tmp_path / "ckpt"), "--step", "7", "--epoch", "1"]) == 2
    line = DENIED.format(f"s3://lathe-test/{marker}")
    assert capsys.readouterr().err == line + "\n"
    assert termination.read_text() == line + "\n"
    assert fake.calls == [("list", "models/m/r/checkpoints/7/"), ("delete", marker)]


def test_a_denied_delete_of_leftover_final_weights_is_one_clear_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """A custom run publishing checkpoint/ over an earlier attempt's leftovers, under a role
    without s3:DeleteObject: the trainer's entry point exits 2 with one line, no traceback."""
    from lathe_trainer import cli
    output = "models/m/20261122-154210-a1b2c3/"
    leftover = output + "checkpoint/model-00001-of-00002.safetensors"
    fake = _DeleteDenyingClient({leftover: 3})
    monkeypatch.setattr(trainer_s3, "_client", fake)
    termination = tmp_path / "termination.log"
    for name in [k for k in os.environ if k.startswith(("LATHE_", "PET_"))]:
        monkeypatch.delenv(name)
    monkeypatch.delenv("RANK", raising=False)
    write_model = ("import json, os, pathlib; from safetensors.numpy import save_file; "
                   "import numpy as np; save_file({'w': np.ones(2, dtype=np.float32)}, "
                   "os.path.join(os.environ['LATHE_MODEL_OUTPUT_DIR'], 'model.safetensors')); "
                   "pathlib.Path(os.environ['LATHE_METRICS_FILE']).write_text("
                   "json.dumps({'epochs': [], 'final': {'loss': 0.5}}))")
    for k, v in {**env(LATHE_TASK="custom", LATHE_MODEL_URI="scratch",
                       LATHE_DATASET_URI="builtin:none",
                       LATHE_OUTPUT_URI=f"s3://lathe-test/{output}", LATHE_HYPERPARAMETERS="{}"),
                 "LATHE_TERMINATION_LOG": str(termination),
                 "LATHE_SCHEMA_DIR": str(REPO / "schemas")}.items():
        monkeypatch.setenv(k, v)
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        rc = cli.main(["--", sys.executable, "-c", write_model])
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
    err = capsys.readouterr().err
    line = DENIED.format(f"s3://lathe-test/{leftover}")
    assert rc == 2, err
    assert err == line + "\n" and "Traceback" not in err
    assert termination.read_text() == line + "\n"
    assert ("delete", leftover) in fake.calls
    assert not [c for c in fake.calls if c[0] == "put"]  # nothing published, no metadata.json


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


def _metadata(task: str) -> dict[str, Any]:
    return {
        "schemaVersion": 1, "runId": "20261122-154210-a1b2c3", "model": "sana-sprint-pets",
        "baseModel": "hf://Efficient-Large-Model/Sana_Sprint_1.6B_1024px", "task": task,
        "datasetUri": "s3://ml-data/pets/", "hyperparameters": {"epochs": 1},
        "metrics": {"epochs": [{"epoch": 1, "loss": 0.5}], "final": {"loss": 0.5}},
        "artifact": {"uri": "s3://b/models/sana-sprint-pets/20261122-154210-a1b2c3/checkpoint/",
                     "format": "safetensors"},
        "files": [{"path": "transformer/model.safetensors", "size": 3, "sha256": "a" * 64}],
        "startedAt": "2026-11-22T15:42:10Z", "finishedAt": "2026-11-22T16:42:10Z",
        "frameworks": {"python": "3.11.7", "torch": "2.15.0"},
    }


@pytest.mark.parametrize("task", ["text-generation", "image-classification", "custom",
                                  "text-to-image"])
def test_metadata_schema_accepts_every_task(task: str) -> None:
    records.validate(_metadata(task), "metadata.schema.json")


@pytest.mark.parametrize("task", ["text-to-video", "text2image", "Text-To-Image", ""])
def test_metadata_schema_rejects_an_unknown_task(task: str) -> None:
    with pytest.raises(TrainerError, match="metadata.schema.json violation at task: .* is not one "
                                           "of"):
        records.validate(_metadata(task), "metadata.schema.json")


def test_metadata_tasks_cover_what_the_trainer_trains_and_the_server_serves() -> None:
    """Every LATHE_TASK the trainer accepts and every task inference-image serves can be
    recorded; text-to-image is spelled as inference-image spells it."""
    from lathe_trainer.config import TASKS
    enum = records.load_schema("metadata.schema.json")["properties"]["task"]["enum"]
    served = re.search(r"^TASKS = \(([^)]*)\)", (REPO / "inference-image/lathe_inference/config.py")
                       .read_text(), re.M)
    assert served, "inference-image/lathe_inference/config.py has no TASKS tuple"
    assert set(TASKS) | set(re.findall(r'"([^"]+)"', served[1])) <= set(enum)
    assert "text-to-image" in enum


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


def test_wait_forwarding_signals_passes_sigterm_to_the_child() -> None:
    import os
    import signal
    import subprocess
    import sys
    import threading
    import time

    from lathe_trainer.signals import wait_forwarding_signals

    child = subprocess.Popen(
        [sys.executable, "-c",
         "import signal, sys, time\n"
         "signal.signal(signal.SIGTERM, lambda *_: sys.exit(7))\n"
         "print('ready', flush=True)\n"
         "time.sleep(60)\n"],
        stdout=subprocess.PIPE)
    saved = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        assert child.stdout is not None and child.stdout.readline() == b"ready\n"
        def terminate_once_forwarding() -> None:
            # The pod's SIGTERM, once the helper's handler is in place.
            while signal.getsignal(signal.SIGTERM) is saved[signal.SIGTERM]:
                time.sleep(0.01)
            os.kill(os.getpid(), signal.SIGTERM)

        threading.Thread(target=terminate_once_forwarding, daemon=True).start()
        assert wait_forwarding_signals(child) == (7, True)
    finally:
        for s, handler in saved.items():
            signal.signal(s, handler)
        if child.poll() is None:
            child.kill()
