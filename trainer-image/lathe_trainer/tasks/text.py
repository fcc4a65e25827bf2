"""text-generation: causal-LM fine-tuning with Hugging Face transformers.

The base model is `hf://org/name` (AutoModelForCausalLM.from_pretrained, through the Hub or the
HF_HOME cache; HF_HUB_OFFLINE=1 works) or an `s3://` prefix holding a save_pretrained directory.
The dataset is text: .txt (one document per file), .jsonl (one JSON object per line, the
`textField` hyperparameter, default "text"), or .json (a list of such objects or strings).
Documents are tokenized, joined with EOS and cut into blocks of `maxSeqLength` tokens.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import TensorDataset

from lathe_trainer import datasets, s3
from lathe_trainer.errors import BadInput
from lathe_trainer.log import log
from lathe_trainer.tasks.base import TrainTask

TEXT_SUFFIXES = {".txt", ".text", ".md", ".jsonl", ".json"}


def read_documents(files: list[Path], text_field: str) -> list[str]:
    docs: list[str] = []
    for path in files:
        suffix = path.suffix.lower()
        if suffix not in TEXT_SUFFIXES:
            continue
        try:
            raw = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise BadInput(f"dataset file {path.name} is not UTF-8 text") from None
        if suffix == ".jsonl":
            for lineno, line in enumerate(raw.splitlines(), 1):
                if line.strip():
                    docs.append(_text_of(_json(line, path.name, lineno), text_field, path.name))
        elif suffix == ".json":
            doc = _json(raw, path.name, None)
            items = doc if isinstance(doc, list) else [doc]
            docs.extend(_text_of(item, text_field, path.name) for item in items)
        else:
            docs.append(raw)
    docs = [d for d in docs if d.strip()]
    if not docs:
        names = ", ".join(sorted(p.name for p in files)[:5])
        raise BadInput(f"dataset has no text (looked for {', '.join(sorted(TEXT_SUFFIXES))} "
                       f"files; found {names or 'none'})")
    return docs


def _json(raw: str, name: str, lineno: int | None) -> Any:
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        where = f"{name} line {lineno}" if lineno else name
        raise BadInput(f"dataset file {where} is not valid JSON: {exc.msg}") from None


def _text_of(item: Any, field: str, name: str) -> str:
    if isinstance(item, str):
        return item
    if isinstance(item, dict) and isinstance(item.get(field), str):
        return str(item[field])
    raise BadInput(f"dataset file {name} has a record without a string {field!r} field")


def make_blocks(token_lists: list[list[int]], eos: int | None, block: int) -> torch.Tensor:
    ids: list[int] = []
    for tokens in token_lists:
        ids.extend(tokens)
        if eos is not None:
            ids.append(eos)
    if len(ids) < 2:
        raise BadInput("dataset has fewer than 2 tokens")
    if len(ids) < block:
        return torch.tensor([ids], dtype=torch.long)
    n = len(ids) // block
    return torch.tensor(ids[: n * block], dtype=torch.long).view(n, block)


class TextGeneration(TrainTask):
    eval_metric = "perplexity"

    def prepare(self, model_dir: Path | None) -> None:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        config = self.config
        if model_dir is not None:
            source: str = str(model_dir)
        elif config.model.scheme == "s3":
            assert config.model.s3 is not None
            local = self.workdir / "base-model"
            s3.fetch(config.model.s3, local)
            source = str(local)
        else:
            source = config.model.name
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(source)
            model = AutoModelForCausalLM.from_pretrained(source, dtype=torch.float32)
        except (OSError, ValueError, KeyError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise BadInput(f"cannot load model {config.model.raw}: {first}") from None
        self.model = model
        log(f"model {config.model.raw}: {sum(p.numel() for p in model.parameters())} parameters")

        files = datasets.fetch(config.dataset, self.workdir / "dataset",
                               patterns=["*.txt", "*.jsonl", "*.json", "*.md"])
        docs = read_documents(files, str(config.hyperparameters.get("textField", "text")))
        encoded = self.tokenizer(docs, add_special_tokens=False)["input_ids"]
        blocks = make_blocks(encoded, self.tokenizer.eos_token_id,
                             int(config.hyperparameters["maxSeqLength"]))
        n = blocks.shape[0]
        n_eval = int(n * float(config.hyperparameters["evalFraction"]))
        if n_eval == 0 and n >= 4 and float(config.hyperparameters["evalFraction"]) > 0:
            n_eval = 1
        perm = torch.randperm(n, generator=torch.Generator().manual_seed(
            int(config.hyperparameters["seed"])))
        self.train_set = TensorDataset(blocks[perm[n_eval:]])
        self.eval_set = TensorDataset(blocks[perm[:n_eval]]) if n_eval else None
        log(f"dataset {config.dataset.raw}: {len(docs)} documents, {n} blocks of "
            f"{blocks.shape[1]} tokens, {n_eval} held out for evaluation")

    def collate(self, items: list[Any]) -> dict[str, torch.Tensor]:
        ids = torch.stack([item[0] for item in items])
        return {"input_ids": ids}

    def loss(self, model: nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        out = model(input_ids=batch["input_ids"], labels=batch["input_ids"])
        return out.loss  # type: ignore[no-any-return]

    def evaluate(self, model: nn.Module) -> dict[str, float]:
        assert self.eval_set is not None
        device = next(model.parameters()).device
        batch_size = int(self.config.hyperparameters["batchSize"])
        total, count = 0.0, 0
        ids = self.eval_set.tensors[0]  # type: ignore[attr-defined]
        for start in range(0, ids.shape[0], batch_size):
            chunk = ids[start:start + batch_size].to(device)
            total += float(model(input_ids=chunk, labels=chunk).loss) * chunk.shape[0]
            count += chunk.shape[0]
        eval_loss = total / max(1, count)
        return {"evalLoss": eval_loss, "perplexity": math.exp(min(eval_loss, 50.0))}

    def save(self, model: nn.Module, dest: Path) -> None:
        dest.mkdir(parents=True, exist_ok=True)
        model.save_pretrained(str(dest))  # type: ignore[operator]  # safetensors by default
        self.tokenizer.save_pretrained(str(dest))
        if not any(dest.glob("*.safetensors")):
            raise RuntimeError(f"save_pretrained wrote no safetensors file into {dest}")
