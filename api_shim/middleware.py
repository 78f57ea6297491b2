"""ASGI middleware: per-client rate limits by endpoint group, and a request body size limit."""

import math
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.responses import JSONResponse

from api_shim.errors import envelope
from api_shim.etl_errors import ETL_HEALTH, etl_error_body, is_etl_path
from api_shim.settings import RateLimit

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

API_PREFIX = "/api/v1"
# First path segment after /api/v1 -> endpoint group of the spec's "Default Rate Limits".
GROUPS = {
    "scan": "scan",
    "scans": "scan",  # the ETL surface's scans share the scan operations' limit
    "results": "results",
    "maintenance": "maintenance",
    "health": "health",
    "stats": "health",
    "pipeline": "health",
}


def endpoint_group(path: str) -> str | None:
    if path == ETL_HEALTH:
        return "health"
    if not path.startswith(API_PREFIX + "/"):
        return None
    return GROUPS.get(path[len(API_PREFIX) + 1 :].split("/", 1)[0])


class RateLimitMiddleware:
    """Fixed windows per (client address, endpoint group); `X-RateLimit-*` on every response
    of a limited group, 429 with `retry_after` past the limit. Counters live in this process."""

    def __init__(self, app: ASGIApp, limits: dict[str, RateLimit], enabled: bool = True) -> None:
        self.app = app
        self.limits = limits
        self.enabled = enabled
        self._windows: dict[tuple[str, str], list[float]] = {}  # -> [reset_at, count]
        self._seen = 0

    def _take(self, client: str, group: str, now: float) -> tuple[RateLimit, int, float, bool]:
        limit = self.limits[group]
        window = self._windows.get((client, group))
        if window is None or now >= window[0]:
            window = [now + limit.window_seconds, 0]
            self._windows[(client, group)] = window
        allowed = window[1] < limit.limit
        if allowed:
            window[1] += 1
        self._seen += 1
        if self._seen % 1000 == 0:
            self._windows = {k: w for k, w in self._windows.items() if w[0] > now}
        return limit, int(limit.limit - window[1]), window[0], allowed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        group = endpoint_group(scope.get("path", "")) if scope["type"] == "http" else None
        if not self.enabled or group is None or group not in self.limits:
            await self.app(scope, receive, send)
            return
        client = (scope.get("client") or ("unknown", 0))[0]
        now = time.time()
        limit, remaining, reset_at, allowed = self._take(client, group, now)
        headers = {
            "X-RateLimit-Limit": str(limit.limit),
            "X-RateLimit-Remaining": str(max(0, remaining)),
            "X-RateLimit-Reset": str(math.ceil(reset_at)),
        }
        if not allowed:
            retry_after = max(1, math.ceil(reset_at - now))
            message = f"Rate limit exceeded. Please retry after {retry_after} seconds."
            if is_etl_path(scope.get("path", "")):
                body = etl_error_body(429, message, extra={"retry_after": retry_after})
            else:
                body = envelope(message, "Rate limit exceeded")
                body["retry_after"] = retry_after
            response = JSONResponse(
                body, status_code=429, headers={**headers, "Retry-After": str(retry_after)}
            )
            await response(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                response_headers = MutableHeaders(scope=message)
                for key, value in headers.items():
                    response_headers[key] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)


class BodySizeLimitMiddleware:
    """Reads at most `max_bytes` of a request body; a larger one gets a 400 without reaching
    the routes (bodies here are small JSON documents)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    def _too_large(self, path: str) -> JSONResponse:
        message = f"Request body too large: at most {self.max_bytes} bytes are accepted"
        if is_etl_path(path):
            body = etl_error_body(400, "Input validation failed", details={"body": message})
        else:
            body = envelope(message, message, {"body": [message]})
        return JSONResponse(body, status_code=400)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        for key, value in scope.get("headers") or []:
            if key == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = self.max_bytes + 1
                if declared > self.max_bytes:
                    await self._too_large(scope.get("path", ""))(scope, receive, send)
                    return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._too_large(scope.get("path", ""))(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)
