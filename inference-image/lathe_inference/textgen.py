"""Text generation as the text routes share it: prompt and output limits, sampling parameters, token
accounting, and streaming as server-sent events."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from fastapi.responses import StreamingResponse

from .admission import start_admitted
from .config import Settings
from .model import TextModel, TextParams, TextResult
from .state import ApiError, ServerState

log = logging.getLogger("lathe_inference.api")

# A choice to generate: its index in the response, and the prompt's token ids.
Job = tuple[int, list[int]]


async def encode_checked(s: Settings, m: TextModel, prompt: str, max_tokens: int | None) -> tuple[list[int], int]:
    """Tokenize (off the event loop) and apply the prompt and output limits; returns (ids, max_tokens)."""
    if max_tokens is not None and max_tokens > s.max_new_tokens:
        raise ApiError(400, f"max_tokens is {max_tokens}; this server allows at most {s.max_new_tokens}",
                       "max_tokens_too_large", param="max_tokens")
    # Characters bound tokens from above for every tokenizer we serve; skip the work for huge prompts.
    if len(prompt) > s.max_prompt_tokens * 64:
        raise ApiError(400, f"prompt is {len(prompt)} characters, far beyond the limit of "
                            f"{s.max_prompt_tokens} tokens", "context_length_exceeded", param="prompt")
    ids = await asyncio.to_thread(m.encode, prompt)
    if not ids:
        raise ApiError(400, "prompt is empty", "invalid_value", param="prompt")
    if len(ids) > s.max_prompt_tokens:
        raise ApiError(400, f"prompt is {len(ids)} tokens; this server allows at most {s.max_prompt_tokens}",
                       "context_length_exceeded", param="prompt")
    budget = s.max_new_tokens
    if m.context_length is not None:
        room = m.context_length - len(ids)
        if max_tokens is not None and max_tokens > room:
            raise ApiError(400, f"prompt ({len(ids)} tokens) plus max_tokens ({max_tokens}) exceeds the "
                                f"model's context of {m.context_length} tokens",
                           "context_length_exceeded", param="max_tokens")
        if room < 1:
            raise ApiError(400, f"prompt ({len(ids)} tokens) fills the model's context of "
                                f"{m.context_length} tokens", "context_length_exceeded", param="prompt")
        budget = min(budget, room)
    return ids, (max_tokens if max_tokens is not None else budget)


def text_params(s: Settings, max_tokens: int, temperature: float, top_p: float, stop: list[str],
                seed: int | None) -> TextParams:
    return TextParams(max_new_tokens=max_tokens, temperature=temperature, top_p=top_p, stop=stop, seed=seed,
                      timeout_s=s.generation_timeout_s)


def usage(prompt_tokens: int, results: list[TextResult]) -> dict[str, int]:
    """OpenAI's usage: prompt_tokens counts each prompt once, however many choices it has (n);
    completion_tokens sums over the choices."""
    done = sum(r.completion_tokens for r in results)
    return {"prompt_tokens": prompt_tokens, "completion_tokens": done, "total_tokens": prompt_tokens + done}


def count_tokens(state: ServerState, jobs: list[Job], results: list[TextResult]) -> None:
    """The token metrics count work done: every choice runs its prompt through the model again, so
    the prompt counts once per choice here, unlike in usage."""
    state.metrics.prompt_tokens.inc(sum(len(ids) for _, ids in jobs))
    state.metrics.tokens_generated.inc(sum(r.completion_tokens for r in results))


def sse(obj: Any) -> bytes:
    return b"data: " + json.dumps(obj, separators=(",", ":")).encode() + b"\n\n"


async def stream_admitted(
    state: ServerState,
    m: TextModel,
    jobs: list[Job],
    params: TextParams,
    prompt_tokens: int,
    chunk: Callable[[int, str | None, str | None], dict[str, Any]],
    first: Callable[[int], dict[str, Any] | None],
    usage_chunk: Callable[[dict[str, int]], dict[str, Any]] | None,
) -> StreamingResponse:
    """Start generating now (so 429 is still a status code), stream the pieces as SSE. ``chunk`` shapes
    a piece of text or a finish, ``first`` what opens each choice, ``usage_chunk`` the closing usage."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[str, int, Any]] = asyncio.Queue()

    def push(kind: str, index: int, value: Any) -> None:
        loop.call_soon_threadsafe(queue.put_nowait, (kind, index, value))

    def texts_of(index: int) -> Callable[[str], None]:
        return lambda text: push("text", index, text)

    def work(cancel: threading.Event) -> None:
        try:
            for index, ids in jobs:
                res = m.generate(ids, params, cancel, on_text=texts_of(index))
                push("done", index, res)
                if cancel.is_set():
                    break
        except Exception as e:  # reported in-band: the status line is already sent
            log.exception("generation failed")
            push("error", -1, e)
        finally:
            push("end", -1, None)

    _, cancel = await start_admitted(state, work)
    t_admit = time.perf_counter()  # time to first token counts from the slot, not from the queue

    async def body() -> AsyncIterator[bytes]:
        results: list[TextResult] = []
        first_token = True
        try:
            for index, _ in jobs:
                head = first(index)
                if head is not None:
                    yield sse(head)
            while True:
                kind, index, value = await queue.get()
                if kind == "text":
                    if first_token:
                        state.metrics.time_to_first_token.observe(time.perf_counter() - t_admit)
                        first_token = False
                    yield sse(chunk(index, value, None))
                elif kind == "done":
                    results.append(value)
                    yield sse(chunk(index, None, value.finish_reason))
                elif kind == "error":
                    yield sse({"error": {"message": f"generation failed: {type(value).__name__}",
                                         "type": "server_error", "param": None, "code": "internal_error"}})
                else:
                    break
            count_tokens(state, jobs, results)
            if usage_chunk is not None:
                yield sse(usage_chunk(usage(prompt_tokens, results)))
            yield b"data: [DONE]\n\n"
        finally:
            cancel.set()  # the client went away, or we are done: either way stop generating

    return StreamingResponse(body(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
