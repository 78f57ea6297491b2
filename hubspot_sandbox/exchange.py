"""One HTTP exchange as the sandbox's handlers see it: the request, the reply, HubSpot errors."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import orjson

from hubspot_sandbox import errors

Headers = list[tuple[bytes, bytes]]


class ApiError(Exception):
    """A HubSpot error response: raised by handlers, rendered by the dispatcher."""

    def __init__(self, status: int, body: dict[str, Any], headers: Headers | None = None) -> None:
        super().__init__(body.get("message", ""))
        self.status = status
        self.body = body
        self.headers = headers or []


@dataclass
class Request:
    method: str
    path: str
    raw_query: str
    params: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    scheme: str
    correlation_id: str

    def param(self, name: str) -> str | None:
        values = self.params.get(name)
        return values[-1] if values else None

    def flag(self, name: str) -> bool:
        return (self.param(name) or "").strip().lower() == "true"

    def names(self, name: str) -> list[str] | None:
        """A list parameter sent comma-joined, repeated, or both; None when absent."""
        values = self.params.get(name)
        if values is None:
            return None
        return [n.strip() for v in values for n in v.split(",") if n.strip()]

    def json(self) -> Any:
        if not self.body.strip():
            return {}
        try:
            return orjson.loads(self.body)
        except orjson.JSONDecodeError as exc:
            raise ApiError(
                400, errors.validation(f"Invalid input JSON: {exc}", self.correlation_id)
            ) from None

    def link(self, after: str) -> str:
        """This request's absolute URL with `after` replaced: HubSpot's `paging.next.link`."""
        host = self.headers.get("host", "localhost")
        kept = [p for p in self.raw_query.split("&") if p and p.split("=", 1)[0] != "after"]
        kept.append("after=" + quote(after, safe=""))
        return f"{self.scheme}://{host}{self.path}?{'&'.join(kept)}"


@dataclass
class Reply:
    status: int
    body: Any
    headers: Headers = field(default_factory=list)


Handler = Callable[[Request, re.Match[str]], Reply]


@dataclass(frozen=True)
class Route:
    """A HubSpot route: `scope` is the scope it needs, or a function of the path's match (the
    generic object routes need the scope of the object type they name)."""

    method: str
    pattern: re.Pattern[str]
    name: str
    handler: Handler
    scope: str | Callable[[re.Match[str]], str]
    search: bool = False
    associations: bool = False  # counted in the association bucket, not the ten-secondly one

    def scope_for(self, match: re.Match[str]) -> str:
        return self.scope if isinstance(self.scope, str) else self.scope(match)


def with_results(head: dict[str, Any], results: list[bytes], tail: dict[str, Any]) -> bytes:
    """A JSON object `{...head, "results": [...], ...tail}` around pre-encoded results."""
    parts = [b"{"]
    if head:
        parts += (orjson.dumps(head)[1:-1], b",")
    parts += (b'"results":[', b",".join(results), b"]")
    if tail:
        parts += (b",", orjson.dumps(tail)[1:-1])
    parts.append(b"}")
    return b"".join(parts)


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def unb64(text: str) -> str | None:
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None


def cursor_number(request: Request) -> int | None:
    """`after` as a number (plain or base64, as the sandbox hands it out); None when absent."""
    after = request.param("after")
    if not after:
        return None
    text = after if after.isdigit() else unb64(after)
    if text is None or not text.isdigit():
        raise ApiError(
            400, errors.validation(f"Invalid 'after' cursor {after!r}", request.correlation_id)
        )
    return int(text)


def page_size(request: Request, default: int, maximum: int, reject_over: bool) -> int:
    """`limit`: default when absent, 400 below 1, clamped (or 400) above the maximum."""
    raw = request.param("limit")
    if raw is None or raw == "":
        return default
    try:
        limit = int(raw)
    except ValueError:
        raise ApiError(
            400, errors.validation(f"limit must be an integer, got {raw!r}", request.correlation_id)
        ) from None
    if limit < 1:
        raise ApiError(400, errors.validation("limit must be at least 1", request.correlation_id))
    if limit > maximum:
        if reject_over:
            raise ApiError(
                400, errors.validation(f"limit must be at most {maximum}", request.correlation_id)
            )
        return maximum
    return limit


def json_object(request: Request) -> dict[str, Any]:
    body = request.json()
    if not isinstance(body, dict):
        raise ApiError(
            400, errors.validation("the request body must be a JSON object", request.correlation_id)
        )
    return body
