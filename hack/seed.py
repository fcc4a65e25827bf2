"""Puts tiny models and datasets in the local S3 server, for runs on the real node.

No weights or datasets can be downloaded here, so they are made from code the trainer suite already
tests with: a causal LM built from a config (build_tiny_lm: a 2-layer Llama with a word-level
tokenizer, plus a chat template) saved as a save_pretrained directory, which is what a TrainingRun's `model: s3://...`
names; a JSON-lines text dataset with a "text" field (the layout of
examples/trainingrun-smol-llama.yaml); an ImageFolder of two classes of striped images for
image-classification; the smallest Sana Sprint pipeline (the text-to-image class the reference
model uses, built from configs by the inference suite's tiny.save_tiny_sana_sprint); and a "model"
whose config is garbage, which no server can load.

    python hack/seed.py PREFIX   # prints {"model", "dataset", "images", "imageModel", "broken"} as s3:// URIs
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "trainer-image" / "tests"), str(REPO / "trainer-image")]
sys.path.append(str(REPO / "inference-image" / "tests"))  # after the trainer's: its conftest wins

import boto3  # noqa: E402
from conftest import build_tiny_lm, story_text, upload_dir  # noqa: E402
from test_image_classification import make_image_folder  # noqa: E402
from tiny import save_tiny_sana_sprint  # noqa: E402


# Real chat models ship a template; this one renders the conversation as the plain sentences the
# tiny model was trained on, so a chat turn gets a continuation instead of words it never saw.
CHAT_TEMPLATE = "{% for m in messages %}{{ m['content'] }} {% endfor %}"


def add_chat_template(model_dir: Path) -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    tokenizer.chat_template = CHAT_TEMPLATE
    tokenizer.save_pretrained(str(model_dir))


def main(prefix: str) -> None:
    bucket = os.environ.get("LATHE_S3_DATASET_BUCKET", "lathe-datasets")
    prefix = prefix.strip("/") + "/"
    s3 = boto3.client("s3")
    with tempfile.TemporaryDirectory() as tmp:
        local = build_tiny_lm(Path(tmp) / "tiny-llama")
        add_chat_template(local)
        upload_dir(s3, local, bucket, prefix + "tiny-llama/")
        images = make_image_folder(Path(tmp) / "stripes")
        upload_dir(s3, images, bucket, prefix + "stripes/")
        sana = save_tiny_sana_sprint(Path(tmp) / "tiny-sana")
        upload_dir(s3, sana, bucket, prefix + "tiny-sana/")
    lines = [json.dumps({"text": line}) for line in story_text(lines=240).splitlines()]
    s3.put_object(Bucket=bucket, Key=prefix + "stories.jsonl", Body=("\n".join(lines) + "\n").encode())
    s3.put_object(Bucket=bucket, Key=prefix + "broken/config.json", Body=b"{not json")
    uri = f"s3://{bucket}/{prefix}"
    print(json.dumps({"model": uri + "tiny-llama/", "dataset": uri + "stories.jsonl",
                      "images": uri + "stripes/", "imageModel": uri + "tiny-sana/", "broken": uri + "broken/"}))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: seed.py PREFIX")
    main(sys.argv[1])
