"""One HTTP exchange as the sandbox's handlers see it: the request, the reply, HubSpot errors."""

from __future__ import annotations

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
