"""Who may run a generation, and where it runs: the model and task asked for, readiness, the limits on
choices, then a generation slot (run now, wait in the bounded queue, or be refused with 429/503) and a
worker thread that stops early when its request goes away."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import TypeVar

from .config import Settings
from .model import ImageModel, TextModel
from .state import ApiError, ServerState

T = TypeVar("T")


def check_model_name(s: Settings, name: str | None) -> None:
    if name is not None and name not in (s.model_name, s.model_uri):
        raise ApiError(404, f"model {name!r} is not served here; this server serves {s.model_name!r}",
                       "model_not_found", param="model")


def _wrong_task(s: Settings, endpoint: str, task: str) -> ApiError:
    return ApiError(400, f"{endpoint} needs a {task} model; this server serves {s.model_name!r} for {s.task}",
                    "wrong_task")


def text_model(state: ServerState, endpoint: str) -> TextModel:
    """The text model, for an endpoint that needs one; the task is checked before readiness so that a
    request to the wrong server says so even while it loads."""
    if state.settings.task != "text-generation":
        raise _wrong_task(state.settings, endpoint, "text-generation")
    m = state.require_ready()
    assert isinstance(m, TextModel)
    return m


def image_model(state: ServerState, endpoint: str) -> ImageModel:
    if state.settings.task != "text-to-image":
        raise _wrong_task(state.settings, endpoint, "text-to-image")
    m = state.require_ready()
    assert isinstance(m, ImageModel)
    return m


def check_n(n: int, limit: int, param: str = "n") -> None:
    if n > limit:
        raise ApiError(400, f"{param} is {n}; this server allows at most {limit}", "invalid_value", param=param)


async def start_admitted(
    state: ServerState, fn: Callable[[threading.Event], T]
) -> tuple[asyncio.Future[T], threading.Event]:
    """Take a generation slot, then start fn(cancel) in the worker pool. The slot is freed when fn
    returns, however the request ends; setting cancel asks fn to stop at its next step."""
    await state.acquire()
    cancel = threading.Event()
    loop = asyncio.get_running_loop()
    try:
        fut = loop.run_in_executor(state.pool, fn, cancel)
    except BaseException:
        state.release()
        raise
    fut.add_done_callback(lambda _f: state.release())
    return fut, cancel


async def run_admitted(state: ServerState, fn: Callable[[threading.Event], T]) -> T:
    """Run fn in a generation slot and wait for it; cancel it (at its next step) if the request goes away."""
    fut, cancel = await start_admitted(state, fn)
    try:
        # Shielded: a cancelled request must not abandon the worker thread, only ask it to stop.
        return await asyncio.shield(fut)
    except asyncio.CancelledError:
        cancel.set()
        raise
