"""The HTTP API: OpenAI-compatible endpoints, the original platform's simple ones, probes, metrics."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response, StreamingResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .model import BadRequest, ImageModel, ImageParams, TextModel, TextParams, TextResult
from .schemas import (
    ChatCompletionRequest,
    CompletionRequest,
    GenerateImageRequest,
    GenerateTextRequest,
    ImageGenerationRequest,
)
from .state import ApiError, ServerState

log = logging.getLogger("lathe_inference.api")

B = TypeVar("B", bound=BaseModel)

ROUTES = {
    "/v1/completions", "/v1/chat/completions", "/v1/images/generations", "/v1/models",
    "/generate/text", "/generate/image", "/healthz", "/readyz", "/metrics",
}


def _error_body(e: ApiError) -> dict[str, Any]:
    return {"error": {"message": e.message, "type": e.type, "param": e.param, "code": e.code}}


def error_response(e: ApiError) -> JSONResponse:
    return JSONResponse(_error_body(e), status_code=e.status, headers=e.headers)


class GuardMiddleware:
    """Pure ASGI (so streaming is untouched): request metrics, and a hard cap on body size."""

    def __init__(self, app: ASGIApp, state: ServerState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        m = self.state.metrics
        path = scope["path"]
        route = path if path in ROUTES else ("/v1/models/{id}" if path.startswith("/v1/models/") else "other")
        method = scope["method"]
        start = time.perf_counter()
        status = {"code": 500, "sent": False}
        limit = self.state.settings.max_body_bytes

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                status["sent"] = True
            await send(message)

        async def reply(e: ApiError) -> None:
            resp = error_response(e)
            await resp(scope, receive, send_wrapper)

        too_big = ApiError(413, f"request body is larger than {limit} bytes", "body_too_large")
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    if int(value) > limit:
                        await reply(too_big)
                        self._observe(route, method, status["code"], start)
                        return
                except ValueError:
                    pass
        received = 0

        async def receive_capped() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _BodyTooLarge()
            return message

        try:
            await self.app(scope, receive_capped, send_wrapper)
        except _BodyTooLarge:
            if not status["sent"]:
                await reply(too_big)
        finally:
            self._observe(route, method, status["code"], start)

    def _observe(self, route: str, method: str, code: int, start: float) -> None:
        m = self.state.metrics
        m.requests.labels(route, method, str(code)).inc()
        m.latency.labels(route).observe(time.perf_counter() - start)


class _BodyTooLarge(Exception):
    pass


async def parse_body(request: Request, model: type[B]) -> B:
    ctype = request.headers.get("content-type", "")
    if ctype.split(";")[0].strip().lower() != "application/json":
        raise ApiError(415, "Content-Type must be application/json", "unsupported_media_type")
    raw = await request.body()
    if not raw:
        raise ApiError(400, "request body is empty; expected a JSON object", "invalid_json")
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as e:
        raise ApiError(400, f"request body is not valid JSON: {e}", "invalid_json") from None
    if not isinstance(data, dict):
        raise ApiError(400, "request body must be a JSON object", "invalid_json")
    try:
        return model.model_validate(data)
    except ValidationError as e:
        err = e.errors()[0]
        param = ".".join(str(p) for p in err.get("loc", ())) or None
        msg = err.get("msg", "invalid value")
        raise ApiError(400, f"{param}: {msg}" if param else msg, "invalid_value", param=param) from None


def create_app(state: ServerState) -> FastAPI:
    s = state.settings
    app = FastAPI(title="Lathe model server", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.lathe = state
    app.add_middleware(GuardMiddleware, state=state)

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, e: ApiError) -> JSONResponse:
        return error_response(e)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, e: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(e.status_code, "http_error")
        msg = f"no route {request.method} {request.url.path}" if e.status_code in (404, 405) else str(e.detail)
        return error_response(ApiError(e.status_code, msg, code, headers=dict(e.headers or {})))

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, e: RequestValidationError) -> JSONResponse:
        return error_response(ApiError(400, str(e.errors()[0].get("msg", "invalid request")), "invalid_value"))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, e: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return error_response(ApiError(500, f"internal error: {type(e).__name__}", "internal_error",
                                       type_="server_error"))

    # ------------------------------------------------------------------ probes and metadata

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz() -> JSONResponse:
        body: dict[str, Any] = {"status": state.status, "model": s.model_name, "task": s.task}
        if state.error:
            body["error"] = state.error
        if state.status == "ready":
            body.update(loadSeconds=round(state.info.load_seconds, 3), device=state.device, dtype=state.dtype,
                        architecture=state.architecture)
        return JSONResponse(body, status_code=200 if state.status == "ready" else 503)

    @app.get("/metrics")
    async def metrics() -> Response:
        return Response(generate_latest(state.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    def model_card() -> dict[str, Any]:
        return {"id": s.model_name, "object": "model", "created": state.created, "owned_by": "lathe",
                "task": s.task, "source": s.model_uri, "architecture": state.architecture,
                "ready": state.status == "ready"}

    @app.get("/v1/models")
    async def list_models() -> dict[str, Any]:
        return {"object": "list", "data": [model_card()]}

    @app.get("/v1/models/{model_id:path}")
    async def get_model(model_id: str) -> dict[str, Any]:
        check_model_name(model_id)
        return model_card()

    # ------------------------------------------------------------------ helpers

    def check_model_name(name: str | None) -> None:
        if name is not None and name not in (s.model_name, s.model_uri):
            raise ApiError(404, f"model {name!r} is not served here; this server serves {s.model_name!r}",
                           "model_not_found", param="model")

    def text_model(endpoint: str) -> TextModel:
        if s.task != "text-generation":
            raise ApiError(400, f"{endpoint} needs a text-generation model; this server serves "
                                f"{s.model_name!r} for {s.task}", "wrong_task")
        m = state.require_ready()
        assert isinstance(m, TextModel)
        return m

    def image_model(endpoint: str) -> ImageModel:
        if s.task != "text-to-image":
            raise ApiError(400, f"{endpoint} needs a text-to-image model; this server serves "
                                f"{s.model_name!r} for {s.task}", "wrong_task")
        m = state.require_ready()
        assert isinstance(m, ImageModel)
        return m

    def check_n(n: int, limit: int, param: str = "n") -> None:
        if n > limit:
            raise ApiError(400, f"{param} is {n}; this server allows at most {limit}", "invalid_value", param=param)

    async def encode_checked(m: TextModel, prompt: str, max_tokens: int | None) -> tuple[list[int], int]:
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

    async def run_admitted(fn: Callable[[threading.Event], Any]) -> Any:
        """Run fn in a generation slot; cancel it (at its next step) if the request goes away."""
        await state.acquire()
        cancel = threading.Event()
        loop = asyncio.get_running_loop()
        try:
            fut = loop.run_in_executor(state.pool, fn, cancel)
        except BaseException:
            state.release()
            raise
        fut.add_done_callback(lambda _f: state.release())
        try:
            return await asyncio.shield(fut)
        except asyncio.CancelledError:
            cancel.set()
            raise

    def count_text(prompt_tokens: int, results: list[TextResult]) -> None:
        state.metrics.prompt_tokens.inc(prompt_tokens)
        state.metrics.tokens_generated.inc(sum(r.completion_tokens for r in results))

    def sse(obj: Any) -> bytes:
        return b"data: " + json.dumps(obj, separators=(",", ":")).encode() + b"\n\n"

    async def stream_admitted(
        m: TextModel,
        jobs: list[tuple[int, list[int]]],
        params: TextParams,
        chunk: Callable[[int, str | None, str | None], dict[str, Any]],
        first: Callable[[int], dict[str, Any] | None],
        usage_chunk: Callable[[dict[str, int]], dict[str, Any]] | None,
    ) -> StreamingResponse:
        """Start generating now (so 429 is still a status code), stream the pieces as SSE."""
        await state.acquire()
        cancel = threading.Event()
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[str, int, Any]] = asyncio.Queue()
        t_admit = time.perf_counter()

        def push(kind: str, index: int, value: Any) -> None:
            loop.call_soon_threadsafe(queue.put_nowait, (kind, index, value))

        def work(_: threading.Event) -> None:
            try:
                for index, ids in jobs:
                    res = m.generate(ids, params, cancel, on_text=lambda t, i=index: push("text", i, t))
                    push("done", index, res)
                    if cancel.is_set():
                        break
            except Exception as e:  # reported in-band: the status line is already sent
                log.exception("generation failed")
                push("error", -1, e)
            finally:
                push("end", -1, None)

        try:
            fut = loop.run_in_executor(state.pool, work, cancel)
        except BaseException:
            state.release()
            raise
        fut.add_done_callback(lambda _f: state.release())

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
                prompt_tokens = sum(len(ids) for _, ids in jobs)
                count_text(prompt_tokens, results)
                if usage_chunk is not None:
                    done = sum(r.completion_tokens for r in results)
                    yield sse(usage_chunk({"prompt_tokens": prompt_tokens, "completion_tokens": done,
                                           "total_tokens": prompt_tokens + done}))
                yield b"data: [DONE]\n\n"
            finally:
                cancel.set()  # the client went away, or we are done: either way stop generating

        return StreamingResponse(body(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    def text_params(max_tokens: int, temperature: float, top_p: float, stop: list[str], seed: int | None) -> TextParams:
        return TextParams(max_new_tokens=max_tokens, temperature=temperature, top_p=top_p, stop=stop, seed=seed,
                          timeout_s=s.generation_timeout_s)

    # ------------------------------------------------------------------ OpenAI: completions

    @app.post("/v1/completions", response_model=None)
    async def completions(request: Request) -> Response | dict[str, Any]:
        req = await parse_body(request, CompletionRequest)
        check_model_name(req.model)
        if req.logprobs is not None or req.suffix:
            param = "logprobs" if req.logprobs is not None else "suffix"
            raise ApiError(400, f"{param} is not supported by this server", "unsupported_parameter", param=param)
        m = text_model("POST /v1/completions")
        prompts = req.prompts
        check_n(req.n * len(prompts), s.max_n, "n")
        encoded: list[list[int]] = []
        max_tokens = req.max_tokens
        for p in prompts:
            ids, max_tokens_p = await encode_checked(m, p, req.max_tokens)
            encoded.append(ids)
            max_tokens = max_tokens_p if max_tokens is None else min(max_tokens, max_tokens_p)
        assert max_tokens is not None
        params = text_params(max_tokens, req.temperature, req.top_p, req.stops, req.seed)
        jobs = [(pi * req.n + k, ids) for pi, ids in enumerate(encoded) for k in range(req.n)]
        cid, created = f"cmpl-{uuid.uuid4().hex}", int(time.time())

        if req.stream:
            def chunk(index: int, text: str | None, finish: str | None) -> dict[str, Any]:
                return {"id": cid, "object": "text_completion", "created": created, "model": s.model_name,
                        "choices": [{"index": index, "text": text or "", "logprobs": None, "finish_reason": finish}]}

            def first(index: int) -> dict[str, Any] | None:
                return chunk(index, prompts[index // req.n], None) if req.echo else None

            usage = None
            if req.stream_options and req.stream_options.include_usage:
                def usage(u: dict[str, int]) -> dict[str, Any]:
                    return {"id": cid, "object": "text_completion", "created": created, "model": s.model_name,
                            "choices": [], "usage": u}
            return await stream_admitted(m, jobs, params, chunk, first, usage)

        def work(cancel: threading.Event) -> list[TextResult]:
            return [m.generate(ids, params, cancel) for _, ids in jobs]

        results: list[TextResult] = await run_admitted(work)
        prompt_tokens = sum(len(ids) for _, ids in jobs)
        count_text(prompt_tokens, results)
        done = sum(r.completion_tokens for r in results)
        return {
            "id": cid, "object": "text_completion", "created": created, "model": s.model_name,
            "choices": [{"index": i, "text": (prompts[i // req.n] if req.echo else "") + r.text,
                         "logprobs": None, "finish_reason": r.finish_reason} for i, r in enumerate(results)],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": done, "total_tokens": prompt_tokens + done},
        }

    # ------------------------------------------------------------------ OpenAI: chat completions

    @app.post("/v1/chat/completions", response_model=None)
    async def chat_completions(request: Request) -> Response | dict[str, Any]:
        req = await parse_body(request, ChatCompletionRequest)
        check_model_name(req.model)
        if req.tools:
            raise ApiError(400, "tools are not supported by this server", "unsupported_parameter", param="tools")
        if req.logprobs:
            raise ApiError(400, "logprobs is not supported by this server", "unsupported_parameter",
                           param="logprobs")
        m = text_model("POST /v1/chat/completions")
        check_n(req.n, s.max_n)
        messages = [{"role": "system" if msg.role == "developer" else msg.role, "content": msg.text}
                    for msg in req.messages]
        try:
            prompt = m.chat_prompt(messages)
        except Exception as e:  # a template that rejects the conversation (e.g. roles out of order)
            raise ApiError(400, f"messages: the model's chat template rejected them: {e}", "invalid_value",
                           param="messages") from None
        ids, max_tokens = await encode_checked(m, prompt, req.limit)
        params = text_params(max_tokens, req.temperature, req.top_p, req.stops, req.seed)
        jobs = [(k, ids) for k in range(req.n)]
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

            usage = None
            if req.stream_options and req.stream_options.include_usage:
                def usage(u: dict[str, int]) -> dict[str, Any]:
                    return {"id": cid, "object": "chat.completion.chunk", "created": created,
                            "model": s.model_name, "choices": [], "usage": u}
            return await stream_admitted(m, jobs, params, chunk, first, usage)

        def work(cancel: threading.Event) -> list[TextResult]:
            return [m.generate(ids, params, cancel) for _ in range(req.n)]

        results: list[TextResult] = await run_admitted(work)
        count_text(len(ids) * req.n, results)
        done = sum(r.completion_tokens for r in results)
        return {
            "id": cid, "object": "chat.completion", "created": created, "model": s.model_name,
            "choices": [{"index": i, "message": {"role": "assistant", "content": r.text},
                         "logprobs": None, "finish_reason": r.finish_reason} for i, r in enumerate(results)],
            "usage": {"prompt_tokens": len(ids) * req.n, "completion_tokens": done,
                      "total_tokens": len(ids) * req.n + done},
        }

    # ------------------------------------------------------------------ images

    def image_params(n: int, dims: tuple[int, int] | None, steps: int | None, guidance: float | None,
                     negative: str | None, seed: int | None) -> ImageParams:
        check_n(n, s.max_images)
        if dims is not None and dims[0] * dims[1] > s.max_image_pixels:
            raise ApiError(400, f"{dims[0]}x{dims[1]} is more than the {s.max_image_pixels} pixels this server "
                                "allows", "invalid_value", param="size")
        if steps is not None and steps > s.max_image_steps:
            raise ApiError(400, f"num_inference_steps is {steps}; this server allows at most {s.max_image_steps}",
                           "invalid_value", param="num_inference_steps")
        return ImageParams(n=n, width=dims[0] if dims else None, height=dims[1] if dims else None, steps=steps,
                           guidance_scale=guidance, negative_prompt=negative, seed=seed)

    async def make_images(m: ImageModel, prompt: str, params: ImageParams) -> list[bytes]:
        try:
            pngs: list[bytes] = await run_admitted(lambda cancel: m.generate(prompt, params, cancel))
        except BadRequest as e:
            raise ApiError(400, str(e), "invalid_value") from None
        state.metrics.images_generated.inc(len(pngs))
        return pngs

    @app.post("/v1/images/generations")
    async def images_generations(request: Request) -> dict[str, Any]:
        req = await parse_body(request, ImageGenerationRequest)
        check_model_name(req.model)
        m = image_model("POST /v1/images/generations")
        params = image_params(req.n, req.dims, req.num_inference_steps, req.guidance_scale, req.negative_prompt,
                              req.seed)
        pngs = await make_images(m, req.prompt, params)
        return {"created": int(time.time()),
                "data": [{"b64_json": base64.b64encode(p).decode(), "revised_prompt": None} for p in pngs]}

    # ------------------------------------------------------------------ the original platform's API

    @app.post("/generate/text")
    async def generate_text(request: Request) -> dict[str, Any]:
        req = await parse_body(request, GenerateTextRequest)
        m = text_model("POST /generate/text")
        ids, max_tokens = await encode_checked(m, req.prompt, req.max_new_tokens)
        stops = [req.stop] if isinstance(req.stop, str) else list(req.stop or [])
        params = text_params(max_tokens, req.temperature, req.top_p, stops, req.seed)
        result: TextResult = await run_admitted(lambda cancel: m.generate(ids, params, cancel))
        count_text(len(ids), [result])
        return {"model": s.model_name, "text": result.text, "finish_reason": result.finish_reason,
                "usage": {"prompt_tokens": len(ids), "completion_tokens": result.completion_tokens}}

    @app.post("/generate/image", response_model=None)
    async def generate_image(request: Request) -> Response | dict[str, Any]:
        req = await parse_body(request, GenerateImageRequest)
        m = image_model("POST /generate/image")
        dims = (req.width or req.height, req.height or req.width) if (req.width or req.height) else None
        params = image_params(1, dims, req.num_inference_steps, req.guidance_scale, req.negative_prompt, req.seed)  # type: ignore[arg-type]
        png = (await make_images(m, req.prompt, params))[0]
        if "image/png" in request.headers.get("accept", ""):
            return Response(png, media_type="image/png")
        return {"model": s.model_name, "format": "png", "image": base64.b64encode(png).decode()}

    return app

