"""OpenAI's image API: /v1/images/generations, PNGs as base64."""

from __future__ import annotations

import base64
import time
from typing import Any

from fastapi import APIRouter, Request

from .admission import check_model_name, image_model
from .body import parse_body
from .imagegen import image_params, make_images
from .schemas import ImageGenerationRequest
from .state import ServerState


def router(state: ServerState) -> APIRouter:
    r = APIRouter()
    s = state.settings

    @r.post("/v1/images/generations")
    async def images_generations(request: Request) -> dict[str, Any]:
        req = await parse_body(request, ImageGenerationRequest)
        check_model_name(s, req.model)
        m = image_model(state, "POST /v1/images/generations")
        params = image_params(s, req.n, req.dims, req.num_inference_steps, req.guidance_scale,
                              req.negative_prompt, req.seed)
        pngs = await make_images(state, m, req.prompt, params)
        return {"created": int(time.time()),
                "data": [{"b64_json": base64.b64encode(p).decode(), "revised_prompt": None} for p in pngs]}

    return r
