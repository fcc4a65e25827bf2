"""The original platform's simple API, kept for its existing clients: /generate/text and /generate/image."""

from __future__ import annotations

import base64
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from .admission import image_model, run_admitted, text_model
from .body import parse_body
from .imagegen import image_params, make_images
from .schemas import GenerateImageRequest, GenerateTextRequest
from .state import ServerState
from .textgen import count_tokens, encode_checked, text_params


def router(state: ServerState) -> APIRouter:
    r = APIRouter()
    s = state.settings

    @r.post("/generate/text")
    async def generate_text(request: Request) -> dict[str, Any]:
        req = await parse_body(request, GenerateTextRequest)
        m = text_model(state, "POST /generate/text")
        ids, max_tokens = await encode_checked(s, m, req.prompt, req.max_new_tokens)
        stops = [req.stop] if isinstance(req.stop, str) else list(req.stop or [])
        params = text_params(s, max_tokens, req.temperature, req.top_p, stops, req.seed)
        result = await run_admitted(state, lambda cancel: m.generate(ids, params, cancel))
        count_tokens(state, [(0, ids)], [result])
        return {"model": s.model_name, "text": result.text, "finish_reason": result.finish_reason,
                "usage": {"prompt_tokens": len(ids), "completion_tokens": result.completion_tokens}}

    @r.post("/generate/image", response_model=None)
    async def generate_image(request: Request) -> Response | dict[str, Any]:
        req = await parse_body(request, GenerateImageRequest)
        m = image_model(state, "POST /generate/image")
        w, h = req.width or req.height, req.height or req.width  # one side given: a square
        dims = (w, h) if w and h else None
        params = image_params(s, 1, dims, req.num_inference_steps, req.guidance_scale, req.negative_prompt,
                              req.seed)
        png = (await make_images(state, m, req.prompt, params))[0]
        if "image/png" in request.headers.get("accept", ""):
            return Response(png, media_type="image/png")
        return {"model": s.model_name, "format": "png", "image": base64.b64encode(png).decode()}

    return r
