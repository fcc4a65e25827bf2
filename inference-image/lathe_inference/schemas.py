"""Request bodies. Unknown fields are ignored (OpenAI clients send many); known ones are checked."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

MAX_STOP = 4
MAX_STOP_LEN = 128
MAX_BATCH = 8

Temperature = Annotated[float, Field(ge=0.0, le=2.0)]
TopP = Annotated[float, Field(gt=0.0, le=1.0)]
Penalty = Annotated[float, Field(ge=-2.0, le=2.0)]
Seed = Annotated[int, Field(ge=0, le=2**63 - 1)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore")


def _stops(v: str | list[str] | None) -> list[str]:
    if v is None:
        return []
    stops = [v] if isinstance(v, str) else v
    if len(stops) > MAX_STOP:
        raise ValueError(f"at most {MAX_STOP} stop sequences")
    for s in stops:
        if not s:
            raise ValueError("stop sequences must not be empty")
        if len(s) > MAX_STOP_LEN:
            raise ValueError(f"stop sequences are at most {MAX_STOP_LEN} characters")
    return stops


class StreamOptions(_Body):
    include_usage: bool = False


class _TextSampling(_Body):
    model: str | None = None
    temperature: Temperature = 1.0
    top_p: TopP = 1.0
    n: Annotated[int, Field(ge=1)] = 1
    stream: bool = False
    stream_options: StreamOptions | None = None
    stop: str | list[str] | None = None
    seed: Seed | None = None
    presence_penalty: Penalty = 0.0
    frequency_penalty: Penalty = 0.0
    user: str | None = None

    @field_validator("stop")
    @classmethod
    def _check_stop(cls, v: str | list[str] | None) -> str | list[str] | None:
        _stops(v)
        return v

    @property
    def stops(self) -> list[str]:
        return _stops(self.stop)


class CompletionRequest(_TextSampling):
    prompt: str | Annotated[list[str], Field(min_length=1, max_length=MAX_BATCH)]
    max_tokens: Annotated[int, Field(ge=1)] | None = 16
    echo: bool = False
    logprobs: int | None = None  # accepted so the error can say "not supported"
    suffix: str | None = None
    best_of: Literal[1] | None = None

    @property
    def prompts(self) -> list[str]:
        return [self.prompt] if isinstance(self.prompt, str) else list(self.prompt)


class TextPart(_Body):
    type: Literal["text"]
    text: str


class ChatMessage(_Body):
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[TextPart] | None = None
    name: str | None = None

    @property
    def text(self) -> str:
        if self.content is None:
            return ""
        if isinstance(self.content, str):
            return self.content
        return "".join(p.text for p in self.content)


class ChatCompletionRequest(_TextSampling):
    messages: Annotated[list[ChatMessage], Field(min_length=1)]
    max_tokens: Annotated[int, Field(ge=1)] | None = None
    max_completion_tokens: Annotated[int, Field(ge=1)] | None = None
    logprobs: bool | None = None
    tools: list[object] | None = None

    @property
    def limit(self) -> int | None:
        return self.max_completion_tokens if self.max_completion_tokens is not None else self.max_tokens


_SIZE = re.compile(r"^([1-9][0-9]{1,4})x([1-9][0-9]{1,4})$")


def parse_size(size: str) -> tuple[int, int]:
    m = _SIZE.match(size)
    if not m:
        raise ValueError("size must look like WIDTHxHEIGHT, e.g. 1024x1024")
    w, h = int(m.group(1)), int(m.group(2))
    if w % 8 or h % 8:
        raise ValueError("width and height must be multiples of 8")
    return w, h


class ImageGenerationRequest(_Body):
    prompt: Annotated[str, Field(min_length=1, max_length=4000)]
    model: str | None = None
    n: Annotated[int, Field(ge=1)] = 1
    size: str | None = None
    response_format: Literal["b64_json"] = "b64_json"
    quality: str | None = None
    style: str | None = None
    user: str | None = None
    # Extensions beyond OpenAI's API, for diffusion models.
    num_inference_steps: Annotated[int, Field(ge=1)] | None = None
    guidance_scale: Annotated[float, Field(ge=0.0, le=50.0)] | None = None
    negative_prompt: Annotated[str, Field(max_length=4000)] | None = None
    seed: Seed | None = None

    @field_validator("size")
    @classmethod
    def _check_size(cls, v: str | None) -> str | None:
        if v is not None and v != "auto":
            parse_size(v)
        return v

    @property
    def dims(self) -> tuple[int, int] | None:
        return None if self.size in (None, "auto") else parse_size(self.size)


class GenerateTextRequest(_Body):
    """The original platform's simple text API."""

    prompt: Annotated[str, Field(min_length=1)]
    max_new_tokens: Annotated[int, Field(ge=1)] = 128
    temperature: Temperature = 1.0
    top_p: TopP = 1.0
    stop: str | list[str] | None = None
    seed: Seed | None = None

    @field_validator("stop")
    @classmethod
    def _check_stop(cls, v: str | list[str] | None) -> str | list[str] | None:
        _stops(v)
        return v


class GenerateImageRequest(_Body):
    """The original platform's simple image API."""

    prompt: Annotated[str, Field(min_length=1, max_length=4000)]
    width: Annotated[int, Field(ge=8, le=8192, multiple_of=8)] | None = None
    height: Annotated[int, Field(ge=8, le=8192, multiple_of=8)] | None = None
    num_inference_steps: Annotated[int, Field(ge=1)] | None = None
    guidance_scale: Annotated[float, Field(ge=0.0, le=50.0)] | None = None
    negative_prompt: Annotated[str, Field(max_length=4000)] | None = None
    seed: Seed | None = None
