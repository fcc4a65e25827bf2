"""OpenAI's model list: the one model this server serves, with its task, source and architecture."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from .admission import check_model_name
from .state import ServerState


def router(state: ServerState) -> APIRouter:
    r = APIRouter()
    s = state.settings

    def model_card() -> dict[str, Any]:
        return {"id": s.model_name, "object": "model", "created": state.created, "owned_by": "lathe",
                "task": s.task, "source": s.model_uri, "architecture": state.architecture,
                "ready": state.status == "ready"}

    @r.get("/v1/models")
    async def list_models() -> dict[str, Any]:
        return {"object": "list", "data": [model_card()]}

    @r.get("/v1/models/{model_id:path}")  # :path, as a Hub name (org/name) is a model id too
    async def get_model(model_id: str) -> dict[str, Any]:
        check_model_name(s, model_id)
        return model_card()

    return r
