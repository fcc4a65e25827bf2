"""The HTTP API: OpenAI-compatible endpoints, the original platform's simple ones, probes, metrics.

Every request takes the same way in: GuardMiddleware (request metrics, the body-size cap, unexpected
errors) and the error handlers of guard.py; a route then reads its body with body.parse_body and asks
admission.py for the model and a generation slot. The routes themselves live in routes_*.py by concern.
"""

from __future__ import annotations

from fastapi import FastAPI

from . import routes_health, routes_images, routes_models, routes_openai_text, routes_platform
from .guard import GuardMiddleware, install_error_handlers
from .state import ServerState


def create_app(state: ServerState) -> FastAPI:
    app = FastAPI(title="Lathe model server", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.lathe = state
    app.add_middleware(GuardMiddleware, state=state)
    install_error_handlers(app)
    for routes in (routes_health, routes_models, routes_openai_text, routes_images, routes_platform):
        app.include_router(routes.router(state))
    return app
