"""Puts a tiny causal LM and a small text dataset in the local S3 server, for runs on the real node.

No weights can be downloaded here, so the model is built from a config (the trainer suite's
build_tiny_lm: a 2-layer Llama with a word-level tokenizer) and saved as a save_pretrained
directory, which is what a TrainingRun's `model: s3://...` names. The dataset is JSON lines with a
"text" field, the reference layout of examples/trainingrun-smol-llama.yaml.

    python hack/seed-tiny-lm.py PREFIX     # prints {"model": "s3://...", "dataset": "s3://..."}
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "trainer-image" / "tests"))

import boto3  # noqa: E402
from conftest import build_tiny_lm, story_text, upload_dir  # noqa: E402


def main(prefix: str) -> None:
    bucket = os.environ.get("LATHE_S3_DATASET_BUCKET", "lathe-datasets")
    prefix = prefix.strip("/") + "/"
    s3 = boto3.client("s3")
    with tempfile.TemporaryDirectory() as tmp:
        local = build_tiny_lm(Path(tmp) / "tiny-llama")
        upload_dir(s3, local, bucket, prefix + "tiny-llama/")
    lines = [json.dumps({"text": line}) for line in story_text(lines=240).splitlines()]
    s3.put_object(Bucket=bucket, Key=prefix + "stories.jsonl", Body=("\n".join(lines) + "\n").encode())
    print(json.dumps({"model": f"s3://{bucket}/{prefix}tiny-llama/",
                      "dataset": f"s3://{bucket}/{prefix}stories.jsonl"}))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: seed-tiny-lm.py PREFIX")
    main(sys.argv[1])
