"""A request's JSON body read into its schema. Every way a body can be wrong is a 4xx that says what
is wrong (the size cap is GuardMiddleware's), never an exception further in."""

from __future__ import annotations

import json
import re
from typing import Any, TypeVar

from fastapi import Request
from pydantic import BaseModel, ValidationError

from .state import ApiError

B = TypeVar("B", bound=BaseModel)

_SURROGATE = re.compile("[\ud800-\udfff]")


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
    except RecursionError:
        # The decoder recurses once per level of nesting: a body well within the size cap (tens of
        # thousands of "[") nests deeper than the interpreter's recursion limit.
        raise ApiError(400, "request body is nested too deeply to parse", "invalid_json") from None
    if not isinstance(data, dict):
        raise ApiError(400, "request body must be a JSON object", "invalid_json")
    bad = lone_surrogate_at(data)
    if bad is not None:
        raise ApiError(400, f"{bad} is not valid Unicode (lone surrogate)", "invalid_value", param=bad)
    try:
        return model.model_validate(data)
    except ValidationError as e:
        err = e.errors()[0]
        param = ".".join(str(p) for p in err.get("loc", ())) or None
        msg = err.get("msg", "invalid value")
        raise ApiError(400, f"{param}: {msg}" if param else msg, "invalid_value", param=param) from None


def lone_surrogate_at(data: dict[str, Any]) -> str | None:
    """Where (``messages[0].content``) the first string, key or value, holds half of a UTF-16 surrogate
    pair, or None. A JSON ``\\uXXXX`` escape can spell one, and json.loads also passes UTF-8-encoded
    ones through (it decodes bytes with 'surrogatepass'). No tokenizer takes such a string (the fast
    ones raise TypeError), and no UTF-8 encoder does either, so it is refused before anything sees it.
    The walk keeps its own stack: nesting as deep as the parser allows is fine."""
    # Entries are (path, value, whether the key that leads there is itself bad), pushed in reverse so
    # that the first bad string in document order is the one named.
    stack: list[tuple[str, Any, bool]] = []

    def push_members(parent: str, obj: dict[str, Any]) -> None:
        for k, v in reversed(obj.items()):
            bad_key = _bad(k)
            key = k.encode("utf-8", "backslashreplace").decode("utf-8") if bad_key else k  # sendable
            stack.append((f"{parent}.{key}" if parent else key, v, bad_key))

    push_members("", data)
    while stack:
        path, value, bad_key = stack.pop()
        if bad_key or (isinstance(value, str) and _bad(value)):
            return path
        if isinstance(value, dict):
            push_members(path, value)
        elif isinstance(value, list):
            stack.extend((f"{path}[{i}]", v, False) for i, v in reversed(list(enumerate(value))))
    return None


def _bad(s: str) -> bool:
    return not s.isascii() and _SURROGATE.search(s) is not None
