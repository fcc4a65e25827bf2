"""Shared fixtures: the real local S3 server (make s3-up), run ids, a tiny LM, the trainer CLI."""

from __future__ import annotations

import json
import os
import random
import socket
import string
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

TRAINER_DIR = Path(__file__).resolve().parents[1]
REPO = TRAINER_DIR.parent
ARTIFACTS = os.environ.get("LATHE_S3_BUCKET", "lathe-artifacts")
DATASETS = os.environ.get("LATHE_S3_DATASET_BUCKET", "lathe-datasets")
ERROR_PREFIX = "lathe-trainer: error: "


@pytest.fixture(scope="session")
def s3() -> Any:
    if not os.environ.get("AWS_ENDPOINT_URL_S3"):
        pytest.fail("AWS_ENDPOINT_URL_S3 is not set: run the suite with `make test-trainer` "
                    "(it starts the local S3 server and exports .cluster/s3.env)")
    client = boto3.client("s3")
    client.head_bucket(Bucket=ARTIFACTS)
    client.head_bucket(Bucket=DATASETS)
    return client


def new_run_id() -> str:
    suffix = "".join(random.choices(string.ascii_lowercase + string.digits, k=6))
    return time.strftime("%Y%m%d-%H%M%S", time.gmtime()) + "-" + suffix


@pytest.fixture()
def unique() -> str:
    """A key prefix no other test (or earlier run of this suite) uses."""
    return f"tests/trainer/{uuid.uuid4().hex[:12]}/"


def keys_under(s3: Any, bucket: str, prefix: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            out[obj["Key"]] = obj["Size"]
    return out


# The lifecycle rule expire-intermediate-checkpoints (terraform/s3.tf) expires objects with this tag.
CHECKPOINT_TAG = {"lathe.dev/retention": "checkpoint"}


def tags_of(s3: Any, bucket: str, key: str) -> dict[str, str]:
    tag_set = s3.get_object_tagging(Bucket=bucket, Key=key)["TagSet"]
    return {t["Key"]: t["Value"] for t in tag_set}


def assert_retention_tags(s3: Any, output_key: str) -> None:
    """Everything under checkpoints/ carries the retention tag; the final weights, progress.json
    and metadata.json (everything else the trainer wrote under the run prefix) carry no tag."""
    objects = keys_under(s3, ARTIFACTS, output_key)
    intermediate = [k for k in objects if k.startswith(output_key + "checkpoints/")]
    assert intermediate, f"no intermediate checkpoints under {output_key}"
    assert any(k.startswith(output_key + "checkpoint/") for k in objects), "no final weights"
    for record in ("metadata.json", "progress.json"):
        assert output_key + record in objects, f"no {record}"
    for key in objects:
        expected = CHECKPOINT_TAG if key in intermediate else {}
        assert tags_of(s3, ARTIFACTS, key) == expected, key


def get_json(s3: Any, bucket: str, key: str) -> Any:
    return json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())


def upload_dir(s3: Any, local: Path, bucket: str, prefix: str) -> None:
    for path in sorted(p for p in local.rglob("*") if p.is_file()):
        s3.upload_file(str(path), bucket, prefix + path.relative_to(local).as_posix())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# ---- a tiny causal LM, built from a config (no downloads) ------------------------------------
WORDS = ("the a cat dog bird fox sat ran flew jumped on over under near mat log tree hill "
         "red big small quick lazy happy and then .").split()


def story_text(lines: int = 160, seed: int = 7) -> str:
    """Simple, repetitive sentences: a model this small can learn their statistics."""
    rng = random.Random(seed)
    subjects, verbs = ["cat", "dog", "bird", "fox"], ["sat", "ran", "flew", "jumped"]
    places, adjs = ["mat", "log", "tree", "hill"], ["red", "big", "small", "quick", "lazy"]
    out = []
    for _ in range(lines):
        s = rng.randrange(4)  # subject decides the verb: a pattern to learn
        out.append(f"the {rng.choice(adjs)} {subjects[s]} {verbs[s]} on the {places[s]} .")
    return "\n".join(out) + "\n"


def build_tiny_lm(dest: Path) -> Path:
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    specials = ["<unk>", "<s>", "</s>", "<pad>"]
    vocab = {tok: i for i, tok in enumerate(specials + WORDS)}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>", bos_token="<s>",
                                        eos_token="</s>", pad_token="<pad>")
    config = LlamaConfig(vocab_size=len(vocab), hidden_size=16, intermediate_size=32,
                         num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                         max_position_embeddings=64, bos_token_id=1, eos_token_id=2,
                         pad_token_id=3, tie_word_embeddings=False)
    import torch
    torch.manual_seed(0)
    model = LlamaForCausalLM(config)
    model.save_pretrained(str(dest))
    tokenizer.save_pretrained(str(dest))
    return dest


@dataclass(frozen=True)
class TinyLM:
    local: Path
    uri: str  # s3://.../ prefix holding the save_pretrained directory
    files: frozenset[str]  # the layout save_pretrained writes


@pytest.fixture(scope="session")
def tiny_lm(s3: Any, tmp_path_factory: pytest.TempPathFactory) -> TinyLM:
    local = build_tiny_lm(tmp_path_factory.mktemp("tiny-lm"))
    prefix = f"tests/trainer/{uuid.uuid4().hex[:12]}/tiny-llama/"
    upload_dir(s3, local, DATASETS, prefix)
    files = frozenset(p.relative_to(local).as_posix() for p in local.rglob("*") if p.is_file())
    return TinyLM(local, f"s3://{DATASETS}/{prefix}", files)


@pytest.fixture(scope="session")
def stories_uri(s3: Any) -> str:
    key = f"tests/trainer/{uuid.uuid4().hex[:12]}/stories.txt"
    s3.put_object(Bucket=DATASETS, Key=key, Body=story_text().encode())
    return f"s3://{DATASETS}/{key}"


# ---- running the trainer as the operator does ------------------------------------------------
@dataclass
class Run:
    run_id: str
    output_key: str  # key prefix of LATHE_OUTPUT_URI in ARTIFACTS
    env: dict[str, str]
    termination_log: Path

    @property
    def output_uri(self) -> str:
        return f"s3://{ARTIFACTS}/{self.output_key}"


def make_run(tmp_path: Path, unique: str, **overrides: str) -> Run:
    run_id = overrides.pop("LATHE_RUN_ID", new_run_id())
    output_key = f"{unique}models/test-model/{run_id}/"
    termination = tmp_path / f"termination-{uuid.uuid4().hex[:6]}.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PET_", "LATHE_"))}
    env.update({
        "PYTHONPATH": str(TRAINER_DIR),
        "PYTHONUNBUFFERED": "1",
        "HF_HOME": str(tmp_path / "hf"),
        "HF_HUB_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
        "OMP_NUM_THREADS": "1",
        "LATHE_TERMINATION_LOG": str(termination),
        "LATHE_SCHEMA_DIR": str(REPO / "schemas"),
        "LATHE_RUN_ID": run_id,
        "LATHE_RUN_NAME": "test-model",
        "LATHE_NAMESPACE": "tests",
        "LATHE_ATTEMPT": "1",
        "LATHE_MODEL_NAME": "test-model",
        "LATHE_OUTPUT_URI": f"s3://{ARTIFACTS}/{output_key}",
        "LATHE_PROGRESS_INTERVAL_SECONDS": "0.5",
    })
    env.update(overrides)
    return Run(run_id, output_key, env, termination)


def run_trainer(run: Run, *args: str, timeout: float = 300,
                **overrides: str) -> subprocess.CompletedProcess[str]:
    env = dict(run.env, **overrides)
    return subprocess.run([sys.executable, "-m", "lathe_trainer", *args], cwd=TRAINER_DIR,
                          env=env, capture_output=True, text=True, timeout=timeout)


def start_trainer(run: Run, **overrides: str) -> subprocess.Popen[str]:
    env = dict(run.env, **overrides)
    return subprocess.Popen([sys.executable, "-m", "lathe_trainer"], cwd=TRAINER_DIR, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def explain(proc: subprocess.CompletedProcess[str]) -> str:
    return f"exit {proc.returncode}\n--- stdout\n{proc.stdout[-6000:]}\n--- stderr\n" \
           f"{proc.stderr[-6000:]}"


@pytest.fixture()
def tmp_runs(tmp_path: Path, unique: str) -> Iterator[tuple[Path, str]]:
    yield tmp_path, unique
