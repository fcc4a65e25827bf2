"""OpenAI's text APIs: /v1/completions and /v1/chat/completions, plain or streamed."""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from .admission import check_model_name, check_n, run_admitted, text_model
from .body import parse_body
from .model import TextResult
from .schemas import ChatCompletionRequest, CompletionRequest
from .state import ApiError, ServerState
from .textgen import Job, count_tokens, encode_checked, stream_admitted, text_params, usage


def router(state: ServerState) -> APIRouter:
    r = APIRouter()
    s = state.settings

    @r.post("/v1/completions", response_model=None)
    async def completions(request: Request) -> Response | dict[str, Any]:
        req = await parse_body(request, CompletionRequest)
        check_model_name(s, req.model)
        if req.logprobs is not None or req.suffix:
            param = "logprobs" if req.logprobs is not None else "suffix"
            raise ApiError(400, f"{param} is not supported by this server", "unsupported_parameter", param=param)
        m = text_model(state, "POST /v1/completions")
        prompts = req.prompts
        check_n(req.n * len(prompts), s.max_n, "n")
        encoded: list[list[int]] = []
        max_tokens = req.max_tokens
        for p in prompts:
            ids, max_tokens_p = await encode_checked(s, m, p, req.max_tokens)
            encoded.append(ids)
            max_tokens = max_tokens_p if max_tokens is None else min(max_tokens, max_tokens_p)
        assert max_tokens is not None
        params = text_params(s, max_tokens, req.temperature, req.top_p, req.stops, req.seed)
        # Choice i answers prompt i // n.
        jobs: list[Job] = [(pi * req.n + k, ids) for pi, ids in enumerate(encoded) for k in range(req.n)]
        prompt_tokens = sum(len(ids) for ids in encoded)
        cid, created = f"cmpl-{uuid.uuid4().hex}", int(time.time())

        if req.stream:
            def chunk(index: int, text: str | None, finish: str | None) -> dict[str, Any]:
                return {"id": cid, "object": "text_completion", "created": created, "model": s.model_name,
                        "choices": [{"index": index, "text": text or "", "logprobs": None, "finish_reason": finish}]}

            def first(index: int) -> dict[str, Any] | None:
                return chunk(index, prompts[index // req.n], None) if req.echo else None

            usage_chunk = None
            if req.stream_options and req.stream_options.include_usage:
                def usage_chunk(u: dict[str, int]) -> dict[str, Any]:
                    return {"id": cid, "object": "text_completion", "created": created, "model": s.model_name,
                            "choices": [], "usage": u}
            return await stream_admitted(state, m, jobs, params, prompt_tokens, chunk, first, usage_chunk)

        def work(cancel: threading.Event) -> list[TextResult]:
            return [m.generate(ids, params, cancel) for _, ids in jobs]

        results = await run_admitted(state, work)
        count_tokens(state, jobs, results)
        return {
            "id": cid, "object": "text_completion", "created": created, "model": s.model_name,
            "choices": [{"index": i, "text": (prompts[i // req.n] if req.echo else "") + res.text,
                         "logprobs": None, "finish_reason": res.finish_reason} for i, res in enumerate(results)],
            "usage": usage(prompt_tokens, results),
        }

    @r.post("/v1/chat/completions", response_model=None)
    async def chat_completions(request: Request) -> Response | dict[str, Any]:
        req = await parse_body(request, ChatCompletionRequest)
        check_model_name(s, req.model)
        if req.tools:
            raise ApiError(400, "tools are not supported by this server", "unsupported_parameter", param="tools")
        if req.logprobs:
            raise ApiError(400, "logprobs is not supported by this server", "unsupported_parameter",
                           param="logprobs")
        m = text_model(state, "POST /v1/chat/completions")
        check_n(req.n, s.max_n)
        messages = [{"role": "system" if msg.role == "developer" else msg.role, "content": msg.text}
                    for msg in req.messages]
        try:
            prompt = m.chat_prompt(messages)
        except Exception as e:  # a template that rejects the conversation (e.g. roles out of order)
            raise ApiError(400, f"messages: the model's chat template rejected them: {e}", "invalid_value",
                           param="messages") from None
        ids, max_tokens = await encode_checked(s, m, prompt, req.limit)
        params = text_params(s, max_tokens, req.temperature, req.top_p, req.stops, req.seed)
        jobs: list[Job] = [(k, ids) for k in range(req.n)]
        cid, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())

        if req.stream:
            def chunk(index: int, text: str | None, finish: str | None) -> dict[str, Any]:
                delta = {"content": text} if text is not None else {}
                return {"id": cid, "object": "chat.completion.chunk", "created": created, "model": s.model_name,
                        "choices": [{"index": index, "delta": delta, "logprobs": None, "finish_reason": finish}]}

            def first(index: int) -> dict[str, Any]:
                return {"id": cid, "object": "chat.completion.chunk", "created": created, "model": s.model_name,
                        "choices": [{"index": index, "delta": {"role": "assistant", "content": ""},
                                     "logprobs": None, "finish_reason": None}]}

            usage_chunk = None
            if req.stream_options and req.stream_options.include_usage:
                def usage_chunk(u: dict[str, int]) -> dict[str, Any]:
                    return {"id": cid, "object": "chat.completion.chunk", "created": created,
                            "model": s.model_name, "choices": [], "usage": u}
            return await stream_admitted(state, m, jobs, params, len(ids), chunk, first, usage_chunk)

        def work(cancel: threading.Event) -> list[TextResult]:
            return [m.generate(ids, params, cancel) for _ in range(req.n)]

        results = await run_admitted(state, work)
        count_tokens(state, jobs, results)
        return {
            "id": cid, "object": "chat.completion", "created": created, "model": s.model_name,
            "choices": [{"index": i, "message": {"role": "assistant", "content": res.text},
                         "logprobs": None, "finish_reason": res.finish_reason} for i, res in enumerate(results)],
            "usage": usage(len(ids), results),
        }

    return r
