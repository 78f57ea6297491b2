"""The sandbox's ASGI app: the front door of every HubSpot route (deals in `deal_routes`, the other
object types in `object_routes`, associations in `association_routes`, property definitions in
`property_routes`), plus the `/__sandbox/` admin routes.

A raw ASGI app rather than a framework, because every HubSpot route needs the same front door in
the same order, and serving pages of 100 deals fast means little per-request overhead:

    URL length (414) -> latency -> injected fault -> route (404/405) -> token (401) -> scope (403)
    -> rate limits (429) -> handler

Every response carries `X-HubSpot-Correlation-Id`; JSON is `application/json;charset=utf-8`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import random
import re
import uuid
import zlib
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl

import orjson

from hubspot_sandbox import errors
from hubspot_sandbox.account import SandboxAccount
from hubspot_sandbox.admin import AdminRoutes
from hubspot_sandbox.association_routes import AssociationRoutes
from hubspot_sandbox.auth import (
    TokenStore,
)
from hubspot_sandbox.config import SandboxConfig
from hubspot_sandbox.crm_objects import CrmObjects
from hubspot_sandbox.deal_routes import DealRoutes
from hubspot_sandbox.exchange import (
    ApiError,
    Headers,
    Reply,
    Request,
    Route,
    unb64,
)
from hubspot_sandbox.faults import FaultInjector, fault_response
from hubspot_sandbox.oauth import OAuthServer, expired_authentication
from hubspot_sandbox.object_routes import ObjectRoutes
from hubspot_sandbox.object_search import ObjectSearch
from hubspot_sandbox.object_types import resolve
from hubspot_sandbox.property_routes import PropertyRoutes
from hubspot_sandbox.ratelimit import RateLimiter, RateLimitPolicy
from hubspot_sandbox.search import (
    DealSearch,
    SearchLimits,
)
from hubspot_sandbox.stats import Stats

log = logging.getLogger(__name__)

JSON = b"application/json;charset=utf-8"
LIST_MAX_LIMIT = 100
HISTORY_MAX_LIMIT = 50
BATCH_MAX_INPUTS = 100
OWNERS_DEFAULT_LIMIT = 100
OWNERS_MAX_LIMIT = 500
_OBJECT_TYPE = r"(?:deals|deal|0-3)"

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


def _limiter(config: SandboxConfig) -> RateLimiter:
    return RateLimiter(
        RateLimitPolicy(
            ten_secondly_max=config.rate_limit,
            window_ms=config.rate_limit_window_ms,
            search_per_second=config.search_rate_limit,
            search_window_ms=config.search_window_ms,
            daily_max=config.daily_limit,
            search_headers=config.search_rate_limit_headers,
            search_bucket=config.search_bucket,
            association_max=config.association_rate_limit,
            retry_after=config.retry_after,
            advertised_max_when_off=config.advertised_rate_limit,
        )
    )


class SandboxApp:
    """The ASGI application. `account` defaults to the one the config describes."""

    def __init__(self, config: SandboxConfig, account: SandboxAccount | None = None) -> None:
        self.config = config
        self.account = account or SandboxAccount(
            seed=config.seed,
            deals=config.deals,
            custom_properties=config.custom_properties,
            archived_share=config.archived_share,
            owners=config.owners,
        )
        self.tokens = TokenStore(list(config.tokens))
        self.oauth = OAuthServer(
            config.oauth_clients,
            self.tokens,
            20_000_000 + config.seed,
            config.oauth_token_lifetime,
        )
        self.limiter = _limiter(config)
        self.faults = FaultInjector(config.fault_rate, config.fault_codes, config.fault_seed)
        self.search = DealSearch(self.account)
        self.crm = CrmObjects(self.account)
        self.object_search = ObjectSearch()
        self.associations = AssociationRoutes(self)
        self.deals = DealRoutes(self)
        self.search_limits = SearchLimits(
            max_filter_groups=config.max_filter_groups,
            max_filters_per_group=config.max_filters_per_group,
            max_filters_total=config.max_filters_total,
            max_results=config.search_max_results,
            reject_over_limit=config.over_limit == "reject",
        )
        self.stats = Stats()
        self.portal_id = 20_000_000 + config.seed
        self._latency_rng = random.Random(config.fault_seed)
        # List pages starting at this deal index or later wait while it is set (tests stop a
        # scan at a known deal, however fast or slow the machine): `/__sandbox/conditions`.
        self.hold_from_deal: int | None = None
        # The next this many writes (POST, PATCH, PUT, DELETE but searches and batch reads) are
        # carried out, then answered 502 as a gateway that timed out after HubSpot did the work:
        # the case where a client that sends a create again makes a duplicate.
        self.fail_after_writes = 0
        self.routes = self._routes()
        self.admin = AdminRoutes(self)

    def _routes(self) -> list[Route]:
        # deals first: the generic object routes would match their paths too
        return [
            *self.deals.routes(),
            *self.associations.routes(),
            *ObjectRoutes(self).routes(),
            *PropertyRoutes(self).routes(),
        ]

    # ------------------------------------------------------------------ ASGI plumbing

    def set_conditions(self, **changes: Any) -> None:
        """Changes the serving conditions (faults, latency, rate limits) of a running sandbox;
        rate-limit windows start afresh."""
        self.config = dataclasses.replace(self.config, **changes)
        self.limiter = _limiter(self.config)
        self.faults = FaultInjector(
            self.config.fault_rate, self.config.fault_codes, self.config.fault_seed
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        correlation_id = str(uuid.uuid4())
        path: str = scope["path"]
        if path.startswith("/__sandbox"):
            request = await self._request(scope, receive, correlation_id)
            reply = self.admin.handle(request)
            await self._send_json(send, reply.status, reply.body, correlation_id, reply.headers)
            return
        if self.oauth.handles(path):
            request = await self._request(scope, receive, correlation_id)
            reply = self.oauth.handle(request)
            self.stats.count(self.oauth.route_name(scope["method"], path), reply.status)
            await self._send_json(send, reply.status, reply.body, correlation_id, reply.headers)
            return

        raw_query: bytes = scope.get("query_string", b"")
        url_length = len(scope.get("raw_path") or path.encode()) + (
            len(raw_query) + 1 if raw_query else 0
        )
        if url_length > self.config.max_url_length:
            self.stats.count("URI too long", 414)
            await self._send(send, 414, b"text/html", errors.URI_TOO_LONG_HTML, correlation_id)
            return
        await self._add_latency()
        route, match = self._match(scope["method"], path)
        route_name = self._route_name(route, match)
        if self.hold_from_deal is not None and match is not None and route is not None:
            await self._hold(route, scope)
        code = self.faults.draw()
        if code is not None:
            self.stats.faults[str(code)] += 1
            self.stats.count(route_name, code)
            content_type, body = fault_response(code, correlation_id)
            await self._send(send, code, content_type, body, correlation_id)
            return
        request = await self._request(scope, receive, correlation_id)
        reply = self._dispatch(request, route, match)
        if self.fail_after_writes and reply.status < 300 and _is_write(scope["method"], path):
            self.fail_after_writes -= 1
            self.stats.faults["502-after-write"] += 1
            self.stats.count(route_name, 502)
            content_type, body = fault_response(502, correlation_id)
            await self._send(send, 502, content_type, body, correlation_id)
            return
        self.stats.count(route_name, reply.status)
        await self._send_json(send, reply.status, reply.body, correlation_id, reply.headers)

    @staticmethod
    def _route_name(route: Route | None, match: re.Match[str] | None) -> str:
        """The stats key: the route's name, with the object type a generic route served."""
        if route is None:
            return "unmatched"
        groups = match.groupdict() if match is not None else {}
        name = route.name
        for group, placeholder in (("object", "{objectType}"), ("from_type", "{fromObjectType}"),
                                   ("to_type", "{toObjectType}")):  # fmt: skip
            kind = resolve(groups[group]) if groups.get(group) else None
            if kind is not None:
                name = name.replace(placeholder, kind.name)
        return name

    async def _add_latency(self) -> None:
        delay = self.config.latency_ms
        if self.config.latency_jitter_ms:
            delay += self._latency_rng.uniform(0, self.config.latency_jitter_ms)
        if delay > 0:
            await asyncio.sleep(delay / 1000)

    async def _hold(self, route: Route, scope: Scope) -> None:
        """Waits while `hold_from_deal` holds this list page (one starting at or past it)."""
        if route.handler != self.deals.list_deals:
            return
        query = dict(parse_qsl(scope.get("query_string", b"").decode("utf-8", "replace")))
        after = query.get("after", "")
        text = after if after.isdigit() else unb64(after) if after else "0"
        if text is None or not text.isdigit():
            return  # the route answers the bad cursor
        start = self.account.first_index_with_id_at_least(int(text)) if after else 0
        while self.hold_from_deal is not None and start >= self.hold_from_deal:
            await asyncio.sleep(0.05)

    def _match(self, method: str, path: str) -> tuple[Route | None, re.Match[str] | None]:
        allowed = None
        for route in self.routes:
            match = route.pattern.fullmatch(path)
            if match is not None:
                if route.method == method:
                    return route, match
                allowed = route
        return allowed, None

    async def _request(self, scope: Scope, receive: Receive, correlation_id: str) -> Request:
        chunks = []
        more = True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        raw_query = scope.get("query_string", b"").decode("utf-8", "replace")
        params: dict[str, list[str]] = {}
        for name, value in parse_qsl(raw_query, keep_blank_values=True):
            params.setdefault(name, []).append(value)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        return Request(
            scope["method"],
            scope["path"],
            raw_query,
            params,
            headers,
            b"".join(chunks),
            scope.get("scheme", "http"),
            correlation_id,
        )

    def _dispatch(
        self, request: Request, route: Route | None, match: re.Match[str] | None
    ) -> Reply:
        cid = request.correlation_id
        if route is None:
            return Reply(404, errors.not_found(cid, f"No route for {request.path}"))
        if match is None:
            return Reply(405, errors.error(f"{request.method} is not allowed on {request.path}",
                                           cid, "VALIDATION_ERROR"))  # fmt: skip
        token = self.tokens.authenticate(request.headers.get("authorization"))
        if token is None:
            expired_at = self.tokens.expired_at(request.headers.get("authorization"))
            return Reply(
                401,
                errors.invalid_authentication(cid)
                if expired_at is None
                else expired_authentication(cid, expired_at, self.tokens.clock()),
                [(b"x-hubspot-auth-failure", b"401 Unauthorized")],
            )
        verdict = self.limiter.check(token, route.search, route.associations)
        scope = route.scope_for(match)
        if not self.tokens.allows(token, scope):
            return Reply(403, errors.missing_scopes(cid, [scope]), verdict.headers)
        if verdict.rejected_by is not None:
            self.stats.rate_limited[verdict.rejected_by] += 1
            group = f"publicapi:private_app-api-calls-ten-secondly:{zlib.crc32(token.encode()) % 10_000_000}:{self.portal_id}"  # noqa: E501
            headers = list(verdict.headers)
            if self.limiter.policy.retry_after and verdict.retry_after_seconds:
                headers.append((b"Retry-After", str(verdict.retry_after_seconds).encode()))
            return Reply(429, errors.rate_limited(verdict.rejected_by, cid, group), headers)
        try:
            reply = route.handler(request, match)
        except ApiError as exc:
            reply = Reply(exc.status, exc.body, exc.headers)
        except Exception:
            log.exception("sandbox handler failed on %s %s", request.method, request.path)
            reply = Reply(500, errors.error("internal error", cid, "INTERNAL_ERROR"))
        reply.headers.extend(verdict.headers)
        return reply

    async def _send_json(
        self, send: Send, status: int, body: Any, correlation_id: str, headers: Headers
    ) -> None:
        encoded = body if isinstance(body, bytes) else orjson.dumps(body)
        await self._send(send, status, JSON, encoded, correlation_id, headers)

    @staticmethod
    async def _send(
        send: Send,
        status: int,
        content_type: bytes,
        body: bytes,
        correlation_id: str,
        headers: Headers | None = None,
    ) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"Content-Type", content_type),
                    (b"Content-Length", str(len(body)).encode()),
                    (b"X-HubSpot-Correlation-Id", correlation_id.encode()),
                    *(headers or ()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _is_write(method: str, path: str) -> bool:
    """A request that changes the account (searches and batch reads are POSTs that read)."""
    return method in ("POST", "PATCH", "PUT", "DELETE") and not path.endswith(
        ("/search", "/batch/read")
    )
