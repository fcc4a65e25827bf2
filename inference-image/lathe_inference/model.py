"""Loading models (from a local folder or the Hub) and running them. Everything here is synchronous
and runs in worker threads; the HTTP layer (app.py) bounds how many run at once."""

from __future__ import annotations

import inspect
import io
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

log = logging.getLogger("lathe_inference.model")


class BadRequest(ValueError):
    """A request the model can't serve as asked (e.g. a parameter the pipeline doesn't take)."""


def pick_device(device: str, dtype: str) -> tuple[str, torch.dtype]:
    """GPU in half precision when there is one (bf16 where the card has it), CPU in float32 else."""
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("LATHE_DEVICE=cuda but no CUDA device is visible")
    if dtype == "auto":
        if device == "cuda":
            return device, torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return device, torch.float32
    return device, {"float16": torch.float16, "bfloat16": torch.bfloat16, "float32": torch.float32}[dtype]


def configure_torch(device: str) -> None:
    """Process-wide torch settings for serving. On CUDA, PyTorch may pick cuDNN's attention kernel for
    scaled_dot_product_attention, which builds an execution plan for every new sequence length: each
    first visit of a length costs tens of milliseconds per token (seen on an H100: 256 tokens in 7 s
    on the first request, 1 s after). The flash / memory-efficient kernels need no plans, so cuDNN's
    is turned off unless LATHE_CUDNN_SDP=1."""
    if device == "cuda" and os.environ.get("LATHE_CUDNN_SDP", "") != "1":
        torch.backends.cuda.enable_cudnn_sdp(False)


def split_hf_uri(uri: str) -> tuple[str, str | None]:
    """``hf://org/name@rev`` -> (``org/name``, ``rev``)."""
    repo = uri[len("hf://") :]
    repo, _, revision = repo.partition("@")
    return repo, revision or None


# --------------------------------------------------------------------------- text generation


@dataclass
class TextParams:
    max_new_tokens: int
    temperature: float = 1.0
    top_p: float = 1.0
    stop: list[str] = field(default_factory=list)
    seed: int | None = None
    timeout_s: float = 120.0


@dataclass
class TextResult:
    text: str
    completion_tokens: int
    finish_reason: str  # "stop" | "length" | "cancelled"


class _Collector:
    """A transformers streamer: decodes as tokens arrive, holds back text that might be the start of a
    stop string, and tells the stopping criterion when a stop string has appeared."""

    def __init__(self, tokenizer: Any, stops: list[str], on_text: Callable[[str], None] | None) -> None:
        self.tokenizer = tokenizer
        self.stops = [s for s in stops if s]
        self.hold = max((len(s) for s in self.stops), default=1) - 1
        self.on_text = on_text
        self.ids: list[int] = []
        self.text = ""
        self.emitted = 0
        self.stopped = False
        self._prompt_seen = False

    # BaseStreamer protocol: the first put() carries the prompt ids.
    def put(self, value: torch.Tensor) -> None:
        if not self._prompt_seen:
            self._prompt_seen = True
            return
        if self.stopped:
            return
        self.ids.extend(int(i) for i in value.reshape(-1).tolist())
        self._update(final=False)

    def end(self) -> None:
        self._update(final=True)

    def _update(self, final: bool) -> None:
        if self.stopped:
            return
        text = self.tokenizer.decode(self.ids, skip_special_tokens=True)
        # Trailing U+FFFD may be a multi-byte character whose last bytes are still to come: until a
        # later token settles it, it is neither matched against the stops nor sent. (Matching it
        # early once cut a reply at a stop that the finished text did not hold there.)
        settled = text if final else text.rstrip("\ufffd")
        cut = min((i for i in (settled.find(s) for s in self.stops) if i >= 0), default=-1)
        if cut >= 0:
            settled, self.stopped, final = settled[:cut], True, True
        self.text = settled if final else text
        safe = len(settled) if final else max(self.emitted, len(settled) - self.hold)
        if safe > self.emitted:
            piece = text[self.emitted : safe]
            self.emitted = safe
            if self.on_text is not None:
                self.on_text(piece)


class _StopWhen:
    """Stopping criterion: a stop string appeared, or the client went away."""

    def __init__(self, collector: _Collector, cancel: threading.Event) -> None:
        self.collector = collector
        self.cancel = cancel

    def __call__(self, input_ids: torch.Tensor, scores: Any, **kwargs: Any) -> torch.Tensor:
        flag = self.collector.stopped or self.cancel.is_set()
        return torch.full((input_ids.shape[0],), flag, dtype=torch.bool, device=input_ids.device)


class TextModel:
    task = "text-generation"

    def __init__(self, model: Any, tokenizer: Any, device: str) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.device = device
        cfg = model.config
        ctx = getattr(cfg, "max_position_embeddings", None) or getattr(cfg, "n_positions", None)
        self.context_length: int | None = int(ctx) if ctx else None
        eos = model.generation_config.eos_token_id
        if eos is None:
            eos = tokenizer.eos_token_id
        self.eos_ids: set[int] = set(eos if isinstance(eos, list) else [] if eos is None else [eos])
        pad = tokenizer.pad_token_id
        self.pad_id = pad if pad is not None else (next(iter(self.eos_ids)) if self.eos_ids else 0)
        self._seed_lock = threading.Lock()

    @classmethod
    def load(cls, source: str, revision: str | None, device: str, dtype: torch.dtype, trust_remote_code: bool) -> TextModel:
        from transformers import AutoModelForCausalLM, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()

        tokenizer = AutoTokenizer.from_pretrained(source, revision=revision, trust_remote_code=trust_remote_code)
        model = AutoModelForCausalLM.from_pretrained(
            source, revision=revision, dtype=dtype, trust_remote_code=trust_remote_code
        )
        model.to(device)
        model.eval()
        return cls(model, tokenizer, device)

    def warmup(self) -> None:
        """One short generation before turning ready: CUDA kernels and caches are set up here, not on
        the first user's request."""
        self.generate(self.encode("Hello") or [self.pad_id], TextParams(max_new_tokens=2, temperature=0),
                      threading.Event())

    def encode(self, prompt: str) -> list[int]:
        return list(self.tokenizer(prompt, add_special_tokens=True)["input_ids"])

    def chat_prompt(self, messages: list[dict[str, str]]) -> str:
        """The model's own chat template when it has one, else a plain transcript."""
        if getattr(self.tokenizer, "chat_template", None):
            return str(self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True))
        lines = [f"{m['role'].capitalize()}: {m['content']}" for m in messages]
        return "\n".join(lines) + "\nAssistant:"

    def generate(
        self,
        prompt_ids: list[int],
        params: TextParams,
        cancel: threading.Event,
        on_text: Callable[[str], None] | None = None,
    ) -> TextResult:
        from transformers import StoppingCriteriaList

        collector = _Collector(self.tokenizer, params.stop, on_text)
        input_ids = torch.tensor([prompt_ids], dtype=torch.long, device=self.device)
        kwargs: dict[str, Any] = {
            "input_ids": input_ids,
            "attention_mask": torch.ones_like(input_ids),
            "max_new_tokens": params.max_new_tokens,
            "pad_token_id": self.pad_id,
            "streamer": collector,
            "stopping_criteria": StoppingCriteriaList([_StopWhen(collector, cancel)]),
            "max_time": params.timeout_s,
        }
        if params.temperature > 0:
            kwargs.update(do_sample=True, temperature=params.temperature, top_p=params.top_p, top_k=0)
        else:
            kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        with torch.inference_mode():
            if params.seed is not None:
                # generate() takes no generator: seeding is process-wide, best effort under concurrency.
                with self._seed_lock:
                    torch.manual_seed(params.seed)
            self.model.generate(**kwargs)
        n = len(collector.ids)
        if cancel.is_set():
            reason = "cancelled"
        elif collector.stopped or (collector.ids and collector.ids[-1] in self.eos_ids):
            reason = "stop"
        elif n < params.max_new_tokens:
            reason = "length"  # max_time reached
        else:
            reason = "length"
        return TextResult(collector.text, n, reason)


# --------------------------------------------------------------------------- text to image


@dataclass
class ImageParams:
    n: int = 1
    width: int | None = None
    height: int | None = None
    steps: int | None = None
    guidance_scale: float | None = None
    negative_prompt: str | None = None
    seed: int | None = None


class ImageModel:
    task = "text-to-image"

    def __init__(self, pipeline: Any, device: str) -> None:
        self.pipeline = pipeline
        self.device = device
        self.accepts = set(inspect.signature(pipeline.__call__).parameters)
        # A diffusers pipeline keeps per-call state (the scheduler's timesteps): one call at a time.
        self._lock = threading.Lock()

    @classmethod
    def load(cls, source: str, revision: str | None, device: str, dtype: torch.dtype, trust_remote_code: bool) -> ImageModel:
        from diffusers import DiffusionPipeline
        from diffusers.utils import logging as df_logging

        df_logging.disable_progress_bar()

        kwargs: dict[str, Any] = {"dtype": dtype}
        if revision:
            kwargs["revision"] = revision
        if trust_remote_code:
            kwargs["trust_remote_code"] = True
        pipe = DiffusionPipeline.from_pretrained(source, **kwargs)
        pipe.to(device)
        pipe.set_progress_bar_config(disable=True)
        return cls(pipe, device)

    def warmup(self) -> None:
        """On a GPU, one generation with the pipeline's defaults before turning ready (kernel set-up, memory pools). On a
        CPU a full-size image costs more than it saves, so it is skipped there."""
        if self.device == "cpu":
            return
        with self._lock, torch.inference_mode():
            self.pipeline(prompt="warm-up", output_type="pil")  # the pipeline's own defaults

    @property
    def pipeline_class(self) -> str:
        return type(self.pipeline).__name__

    def generate(self, prompt: str, params: ImageParams, cancel: threading.Event) -> list[bytes]:
        kwargs: dict[str, Any] = {"prompt": prompt, "num_images_per_prompt": params.n, "output_type": "pil"}
        optional = {
            "width": params.width,
            "height": params.height,
            "num_inference_steps": params.steps,
            "guidance_scale": params.guidance_scale,
            "negative_prompt": params.negative_prompt,
        }
        for name, value in optional.items():
            if value is None:
                continue
            if name not in self.accepts:
                raise BadRequest(f"{name} is not supported by {self.pipeline_class}")
            kwargs[name] = value
        if params.seed is not None:
            kwargs["generator"] = torch.Generator(device=self.device).manual_seed(params.seed)
        if "callback_on_step_end" in self.accepts:

            def on_step(pipe: Any, step: int, timestep: Any, cb_kwargs: dict[str, Any]) -> dict[str, Any]:
                if cancel.is_set():
                    pipe._interrupt = True  # diffusers' own early-exit flag
                return cb_kwargs

            kwargs["callback_on_step_end"] = on_step
        with self._lock, torch.inference_mode():
            try:
                out = self.pipeline(**kwargs)
            except ValueError as e:  # diffusers' check_inputs: sizes not divisible, etc.
                raise BadRequest(str(e)) from e
        pngs = []
        for img in out.images:
            buf = io.BytesIO()
            img.save(buf, format="PNG")
            pngs.append(buf.getvalue())
        return pngs


Model = TextModel | ImageModel
