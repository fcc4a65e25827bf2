"""What every HTTP request passes through, whatever its route: request metrics, the body-size cap, and the
mapping of every error to OpenAI's error body, each logged once."""

from __future__ import annotations

import logging
import time
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .state import ApiError, ServerState

log = logging.getLogger("lathe_inference.api")

# The route label of the request metrics. Any other path counts as "other", so that a scan of random
# paths cannot grow a label per path.
# The routes whose answers are the model's (the operator's canary analysis counts these).
GENERATION_ROUTES = {
    "/v1/completions", "/v1/chat/completions", "/v1/images/generations", "/generate/text", "/generate/image",
}

ROUTES = {
    "/v1/completions", "/v1/chat/completions", "/v1/images/generations", "/v1/models",
    "/generate/text", "/generate/image", "/healthz", "/readyz", "/metrics",
}


def route_label(path: str) -> str:
    return path if path in ROUTES else ("/v1/models/{id}" if path.startswith("/v1/models/") else "other")


def error_body(e: ApiError) -> dict[str, Any]:
    return {"error": {"message": e.message, "type": e.type, "param": e.param, "code": e.code}}


def error_response(e: ApiError) -> JSONResponse:
    return JSONResponse(error_body(e), status_code=e.status, headers=e.headers)


def log_refusal(method: str, path: str, e: ApiError) -> None:
    """One line per refused request, no traceback: the operator sees what the client was told."""
    log.info("%s %s: %d %s: %s", method, path, e.status, e.code, e.message)


def refuse(request: Request, e: ApiError) -> JSONResponse:
    log_refusal(request.method, request.url.path, e)
    return error_response(e)


def install_error_handlers(app: FastAPI) -> None:
    """Errors a route raises, and the router's own (404, 405), as OpenAI-shaped bodies. Unexpected
    exceptions are not handled here but in GuardMiddleware (see there why)."""

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, e: ApiError) -> JSONResponse:
        return refuse(request, e)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, e: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(e.status_code, "http_error")
        msg = f"no route {request.method} {request.url.path}" if e.status_code in (404, 405) else str(e.detail)
        return refuse(request, ApiError(e.status_code, msg, code, headers=dict(e.headers or {})))

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, e: RequestValidationError) -> JSONResponse:
        return refuse(request, ApiError(400, str(e.errors()[0].get("msg", "invalid request")), "invalid_value"))


class _BodyTooLarge(Exception):
    pass


class GuardMiddleware:
    """Pure ASGI (so streaming is untouched): request metrics, a hard cap on body size, and the answer to
    an exception nothing else handled."""

    def __init__(self, app: ASGIApp, state: ServerState) -> None:
        self.app = app
        self.state = state
        self.generation_requests = 0

    def inject_fault(self, route: str) -> bool:
        """FAULT_ERROR_RATE (a test fault): whether this generation request is failed. Deterministic, so a
        test knows the share: request n fails when floor(n * rate) steps up."""
        rate = self.state.settings.fault_error_rate
        if rate <= 0 or route not in GENERATION_ROUTES:
            return False
        n = self.generation_requests
        self.generation_requests += 1
        return int((n + 1) * rate) > int(n * rate)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        route = route_label(path)
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
                        log_refusal(method, path, too_big)
                        await reply(too_big)
                        self._observe(route, method, status["code"], start)
                        return
                except ValueError:
                    pass
        if self.inject_fault(route):
            fault = ApiError(500, "injected fault (FAULT_ERROR_RATE)", "injected_fault", type_="server_error")
            log_refusal(method, path, fault)
            await reply(fault)
            self._observe(route, method, status["code"], start)
            return
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
                log_refusal(method, path, too_big)
                await reply(too_big)
        except Exception as e:
            # Answered here rather than by an exception handler: Starlette's last-resort handler answers
            # and then re-raises for the server to log, so every such error left two tracebacks.
            if status["sent"]:
                raise  # mid-response: only the server can end it (it logs this once, closes the connection)
            log.exception("unexpected error on %s %s", method, path)
            await reply(ApiError(500, f"internal error: {type(e).__name__}", "internal_error", type_="server_error"))
        finally:
            self._observe(route, method, status["code"], start)

    def _observe(self, route: str, method: str, code: int, start: float) -> None:
        m = self.state.metrics
        m.requests.labels(route, method, str(code)).inc()
        m.latency.labels(route).observe(time.perf_counter() - start)
