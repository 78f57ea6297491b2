"""Injected failures: a seeded share of HubSpot-route requests answered with a 5xx.

500 is HubSpot's JSON "internal error"; 502, 503, 504 and the 52x codes are the HTML pages
Cloudflare (in front of HubSpot) sends, which clients must not try to parse as JSON.
"""

from __future__ import annotations

import random
import uuid
from http import HTTPStatus

import orjson

_CLOUDFLARE_PAGE = (
    "<html>\r\n<head><title>{code} {reason}</title></head>\r\n<body>\r\n"
    "<center><h1>{code} {reason}</h1></center>\r\n<hr><center>cloudflare</center>\r\n"
    "</body>\r\n</html>\r\n"
)
_REASONS = {
    502: "Bad Gateway",
    503: "Service Temporarily Unavailable",
    504: "Gateway Time-out",
    520: "Web server is returning an unknown error",
    521: "Web server is down",
    522: "Connection timed out",
    523: "Origin is unreachable",
    524: "A timeout occurred",
}


class FaultInjector:
    """Decides, request by request in arrival order, whether to fail it and with which code.

    With a `seed` the sequence of decisions is reproducible for a sequential client.
    """

    def __init__(self, rate: float, codes: tuple[int, ...], seed: int | None = None) -> None:
        if not 0.0 <= rate <= 1.0:
            raise ValueError("fault rate must be between 0 and 1")
        if rate and not codes:
            raise ValueError("fault codes must not be empty")
        for code in codes:
            if not 500 <= code <= 599:
                raise ValueError(f"fault code {code} is not a 5xx")
        self.rate = rate
        self.codes = codes
        self._rng = random.Random(seed)

    def draw(self) -> int | None:
        if not self.rate:
            return None
        if self._rng.random() < self.rate:
            return self._rng.choice(self.codes)
        return None


def fault_response(code: int, correlation_id: str) -> tuple[bytes, bytes]:
    """(content type, body) of an injected failure."""
    if code == 500:
        body = {
            "status": "error",
            "message": "internal error",
            "correlationId": correlation_id,
            "requestId": str(uuid.uuid4()),
        }
        return b"application/json;charset=utf-8", orjson.dumps(body)
    try:
        reason = _REASONS.get(code) or HTTPStatus(code).phrase
    except ValueError:
        reason = "Server Error"
    page = _CLOUDFLARE_PAGE.format(code=code, reason=reason)
    return b"text/html", page.encode()
