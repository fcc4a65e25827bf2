"""Probes and metrics: liveness, readiness (what the kubelet and the Service's endpoints act on), Prometheus."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from .state import ServerState


def router(state: ServerState) -> APIRouter:
    r = APIRouter()
    s = state.settings

    @r.get("/healthz")
    async def healthz() -> dict[str, str]:
        # Alive whatever the model's state: a refused or loading model is for /readyz to report, and a
        # restart would not fix it.
        return {"status": "ok"}

    @r.get("/readyz")
    async def readyz() -> JSONResponse:
        body: dict[str, Any] = {"status": state.status, "model": s.model_name, "task": s.task}
        if state.error:
            body["error"] = state.error
        if state.status == "ready":
            body.update(loadSeconds=round(state.info.load_seconds, 3), device=state.device, dtype=state.dtype,
                        architecture=state.architecture)
        return JSONResponse(body, status_code=200 if state.status == "ready" else 503)

    @r.get("/metrics")
    async def metrics() -> Response:
        return Response(generate_latest(state.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return r
