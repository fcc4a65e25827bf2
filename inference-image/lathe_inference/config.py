"""Server settings, read once from the environment (see the README's table and docs/contracts.md)."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from .fetch import DEFAULT_CONCURRENCY, DEFAULT_PART_MB

TASKS = ("text-generation", "text-to-image")
DTYPES = ("auto", "float16", "bfloat16", "float32")
DEVICES = ("auto", "cpu", "cuda")


class ConfigError(ValueError):
    """A setting is missing or malformed; the server exits 2 with this message."""


@dataclass(frozen=True)
class Settings:
    model_uri: str
    task: str
    model_name: str
    host: str = "0.0.0.0"
    port: int = 8080
    max_concurrency: int = 4
    max_queue: int = 16
    queue_timeout_s: float = 30.0
    model_cache: str = "/models"
    device: str = "auto"
    dtype: str = "auto"
    download_concurrency: int = DEFAULT_CONCURRENCY
    download_part_mb: int = DEFAULT_PART_MB
    max_body_bytes: int = 1 << 20
    max_prompt_tokens: int = 2048
    max_new_tokens: int = 1024
    max_n: int = 4
    max_stop: int = 4
    max_image_pixels: int = 1024 * 1024
    max_image_steps: int = 50
    max_images: int = 4
    generation_timeout_s: float = 120.0
    shutdown_grace_s: float = 25.0
    shutdown_delay_s: float = 0.0
    trust_remote_code: bool = False
    warmup: bool = True
    # A test fault, never for production: this share of the generation requests is answered 500
    # (FAULT_ERROR_RATE). The canary tests use it to serve a model that answers badly. Not LATHE_*,
    # which an InferenceService's spec.runtime.env may not set.
    fault_error_rate: float = 0.0


def _int(env: Mapping[str, str], name: str, default: int, lo: int, hi: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None
    if not lo <= value <= hi:
        raise ConfigError(f"{name} must be between {lo} and {hi}, got {value}")
    return value


def _float(env: Mapping[str, str], name: str, default: float, lo: float, hi: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None
    if not lo <= value <= hi:
        raise ConfigError(f"{name} must be between {lo} and {hi}, got {value}")
    return value


def _choice(env: Mapping[str, str], name: str, default: str, choices: tuple[str, ...]) -> str:
    raw = env.get(name, "").strip() or default
    if raw not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}, got {raw!r}")
    return raw


def _bool(env: Mapping[str, str], name: str, default: bool = False) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw == "":
        return default
    if raw in ("0", "false", "no"):
        return False
    if raw in ("1", "true", "yes"):
        return True
    raise ConfigError(f"{name} must be true or false, got {raw!r}")


_HF_RE = re.compile(r"^hf://[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)?(@[A-Za-z0-9._/-]+)?$")
_S3_RE = re.compile(r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/.*)?$")


def validate_model_uri(uri: str) -> str:
    if uri.startswith("s3://"):
        if not _S3_RE.match(uri):
            raise ConfigError(f"LATHE_MODEL_URI is not a valid s3:// URI: {uri!r}")
        return uri
    if uri.startswith("hf://"):
        if not _HF_RE.match(uri):
            raise ConfigError(f"LATHE_MODEL_URI must look like hf://org/name[@revision], got {uri!r}")
        return uri
    if uri.startswith("file://"):
        return uri
    raise ConfigError(f"LATHE_MODEL_URI must start with s3://, hf:// or file://, got {uri!r}")


def default_model_name(uri: str) -> str:
    """A readable name when LATHE_MODEL_NAME is unset: the Hub repo, or the S3 model slug."""
    if uri.startswith("hf://"):
        return uri[len("hf://") :].split("@", 1)[0]
    parts = [p for p in uri.split("/") if p]
    # s3://bucket/models/<slug>/<runId>/checkpoint/ -> <slug>
    if len(parts) >= 4 and parts[-1] == "checkpoint":
        return parts[-3]
    return parts[-1] if parts else "model"


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    uri = env.get("LATHE_MODEL_URI", "").strip()
    if not uri:
        raise ConfigError("LATHE_MODEL_URI is required (s3://bucket/prefix/ or hf://org/name)")
    uri = validate_model_uri(uri)
    task = env.get("LATHE_TASK", "").strip()
    if not task:
        raise ConfigError(f"LATHE_TASK is required ({' or '.join(TASKS)})")
    if task not in TASKS:
        raise ConfigError(f"LATHE_TASK must be one of {', '.join(TASKS)}, got {task!r}")
    name = env.get("LATHE_MODEL_NAME", "").strip() or default_model_name(uri)
    port = _int(env, "PORT", 8080, 1, 65535)
    max_concurrency = _int(env, "LATHE_MAX_CONCURRENCY", 4, 1, 1024)
    return Settings(
        model_uri=uri,
        task=task,
        model_name=name,
        host=env.get("HOST", "").strip() or "0.0.0.0",
        port=port,
        max_concurrency=max_concurrency,
        max_queue=_int(env, "LATHE_MAX_QUEUE", 4 * max_concurrency, 0, 100_000),
        queue_timeout_s=_float(env, "LATHE_QUEUE_TIMEOUT_S", 30.0, 0.0, 3600.0),
        model_cache=env.get("LATHE_MODEL_CACHE", "").strip() or "/models",
        device=_choice(env, "LATHE_DEVICE", "auto", DEVICES),
        dtype=_choice(env, "LATHE_DTYPE", "auto", DTYPES),
        download_concurrency=_int(env, "LATHE_DOWNLOAD_CONCURRENCY", DEFAULT_CONCURRENCY, 1, 256),
        download_part_mb=_int(env, "LATHE_DOWNLOAD_PART_MB", DEFAULT_PART_MB, 1, 1024),
        max_body_bytes=_int(env, "LATHE_MAX_BODY_BYTES", 1 << 20, 1024, 1 << 30),
        max_prompt_tokens=_int(env, "LATHE_MAX_PROMPT_TOKENS", 2048, 1, 1 << 20),
        max_new_tokens=_int(env, "LATHE_MAX_NEW_TOKENS", 1024, 1, 1 << 20),
        max_n=_int(env, "LATHE_MAX_N", 4, 1, 128),
        max_image_pixels=_int(env, "LATHE_MAX_IMAGE_PIXELS", 1024 * 1024, 64, 1 << 26),
        max_image_steps=_int(env, "LATHE_MAX_IMAGE_STEPS", 50, 1, 1000),
        max_images=_int(env, "LATHE_MAX_IMAGES", 4, 1, 64),
        generation_timeout_s=_float(env, "LATHE_GENERATION_TIMEOUT_S", 120.0, 0.1, 86400.0),
        shutdown_grace_s=_float(env, "LATHE_SHUTDOWN_GRACE_S", 25.0, 0.0, 3600.0),
        shutdown_delay_s=_float(env, "LATHE_SHUTDOWN_DELAY_S", 0.0, 0.0, 600.0),
        trust_remote_code=_bool(env, "LATHE_TRUST_REMOTE_CODE"),
        warmup=_bool(env, "LATHE_WARMUP", True),
        fault_error_rate=_float(env, "FAULT_ERROR_RATE", 0.0, 0.0, 1.0),
    )
