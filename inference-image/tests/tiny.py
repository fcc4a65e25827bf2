"""Tiny models built from configs (no downloads), saved and uploaded exactly as the trainer does it:
``save_pretrained`` (safetensors) into ``models/<slug>/<runId>/checkpoint/``, then ``metadata.json``
beside it, validated against the repository's schemas/metadata.schema.json."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import platform
import random
import string
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
SCHEMA = REPO / "schemas" / "metadata.schema.json"

CHAT_TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)


def byte_tokenizer() -> Any:
    """A byte-level BPE tokenizer with no merges: every UTF-8 byte is a token, plus specials."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    specials = ["<pad>", "<s>", "</s>"]
    vocab = {t: i for i, t in enumerate(specials)}
    for ch in pre_tokenizers.ByteLevel.alphabet():
        vocab.setdefault(ch, len(vocab))
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=tok, pad_token="<pad>", bos_token="<s>", eos_token="</s>", model_max_length=512
    )
    tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer


def save_tiny_llama(dest: Path, *, context: int = 512, seed: int = 0, hidden: int = 32, layers: int = 2) -> Path:
    """A Llama-architecture causal LM with random weights, saved like the trainer saves its output."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    tokenizer = byte_tokenizer()
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden,
        intermediate_size=hidden * 2,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=context,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config)
    # Random weights leave the logits near-tied, so whether greedy decoding picks EOS flips with
    # the CPU's rounding (AVX2 vs AVX-512) and thread contention: seen as 2 of 4 tokens on CI and
    # 1170 of 1200 in the drain test. A zero EOS row pins its logit at 0, below the largest of the
    # other ~260 random logits in all but a 2^-260 case, so the tests see "length" on every machine;
    # stop sequences are what tests use to end a generation early.
    with torch.no_grad():
        model.lm_head.weight[tokenizer.eos_token_id].zero_()
    dest.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(dest))
    tokenizer.save_pretrained(str(dest))
    assert any(dest.glob("*.safetensors")), "save_pretrained wrote no safetensors"
    return dest


def save_tiny_sana_sprint(dest: Path) -> Path:
    """The smallest SanaSprintPipeline (the production text-to-image class) built from configs."""
    import torch
    from diffusers import AutoencoderDC, SanaSprintPipeline, SanaTransformer2DModel, SCMScheduler
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import Gemma2Config, Gemma2Model, PreTrainedTokenizerFast

    words = ["<pad>", "<unk>", "<s>", "</s>", *"a an the cat dog red blue green image of on in and with".split()]
    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=tok, pad_token="<pad>", unk_token="<unk>", bos_token="<s>", eos_token="</s>"
    )
    torch.manual_seed(0)
    transformer = SanaTransformer2DModel(
        patch_size=1, in_channels=4, out_channels=4, num_layers=1, num_attention_heads=2, attention_head_dim=4,
        num_cross_attention_heads=2, cross_attention_head_dim=4, cross_attention_dim=8, caption_channels=8,
        sample_size=32, qk_norm="rms_norm_across_heads", guidance_embeds=True,
    )
    vae = AutoencoderDC(
        in_channels=3, latent_channels=4, attention_head_dim=2,
        encoder_block_types=("ResBlock", "EfficientViTBlock"), decoder_block_types=("ResBlock", "EfficientViTBlock"),
        encoder_block_out_channels=(8, 8), decoder_block_out_channels=(8, 8),
        encoder_qkv_multiscales=((), (5,)), decoder_qkv_multiscales=((), (5,)),
        encoder_layers_per_block=(1, 1), decoder_layers_per_block=[1, 1],
        downsample_block_type="conv", upsample_block_type="interpolate",
        decoder_norm_types="rms_norm", decoder_act_fns="silu", scaling_factor=0.41407,
    )
    text_encoder = Gemma2Model(Gemma2Config(
        head_dim=16, hidden_size=8, intermediate_size=64, max_position_embeddings=8192, num_attention_heads=2,
        num_hidden_layers=1, num_key_value_heads=2, vocab_size=len(words),
    ))
    pipe = SanaSprintPipeline(
        tokenizer=tokenizer, text_encoder=text_encoder, vae=vae, transformer=transformer, scheduler=SCMScheduler()
    )
    pipe.save_pretrained(str(dest), safe_serialization=True)
    return dest


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def describe_dir(root: Path) -> list[dict[str, Any]]:
    return [
        {"path": p.relative_to(root).as_posix(), "size": p.stat().st_size, "sha256": sha256_file(p)}
        for p in sorted(q for q in root.rglob("*") if q.is_file())
    ]


def new_run_id() -> str:
    now = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%d-%H%M%S")
    return f"{now}-{''.join(random.choices(string.ascii_lowercase + string.digits, k=6))}"


def upload_dir(s3: Any, bucket: str, local: Path, prefix: str) -> None:
    for p in sorted(q for q in local.rglob("*") if q.is_file()):
        s3.upload_file(str(p), bucket, prefix + p.relative_to(local).as_posix())


def metadata_for(bucket: str, run_prefix: str, files: list[dict[str, Any]], *, task: str = "text-generation") -> dict[str, Any]:
    import jsonschema
    import torch

    now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    parts = run_prefix.rstrip("/").split("/")
    meta = {
        "schemaVersion": 1,
        "runId": parts[-1],
        "model": parts[-2],
        "baseModel": "scratch",
        "task": task,
        "datasetUri": "s3://lathe-datasets/tiny.jsonl",
        "hyperparameters": {"epochs": 1, "batchSize": 2, "learningRate": 5e-5},
        "metrics": {"epochs": [{"epoch": 1, "loss": 5.5, "step": 1}], "final": {"loss": 5.5}},
        "artifact": {"uri": f"s3://{bucket}/{run_prefix}checkpoint/", "format": "safetensors"},
        "files": files,
        "startedAt": now,
        "finishedAt": now,
        "frameworks": {"python": platform.python_version(), "torch": torch.__version__},
    }
    jsonschema.validate(meta, json.loads(SCHEMA.read_text()))
    return meta


def publish_run(
    s3: Any, bucket: str, local: Path, slug: str, *, task: str = "text-generation", metadata: bool = True,
    tamper: Any = None,
) -> str:
    """Upload ``local`` as a finished run and return the checkpoint URI. ``tamper(meta)`` may edit the
    metadata after it was computed (to simulate corruption)."""
    run_prefix = f"models/{slug}/{new_run_id()}/"
    upload_dir(s3, bucket, local, run_prefix + "checkpoint/")
    if metadata:
        meta = metadata_for(bucket, run_prefix, describe_dir(local), task=task)
        if tamper is not None:
            tamper(meta)
        s3.put_object(Bucket=bucket, Key=run_prefix + "metadata.json", Body=json.dumps(meta).encode())
    return f"s3://{bucket}/{run_prefix}checkpoint/"
