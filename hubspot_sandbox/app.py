"""The sandbox's ASGI app: HubSpot CRM v3 deal routes, plus the `/__sandbox/` admin routes.

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
from hubspot_sandbox.account import PropertySelection, SandboxAccount
from hubspot_sandbox.admin import AdminRoutes
from hubspot_sandbox.association_routes import AssociationRoutes
from hubspot_sandbox.auth import (
    CUSTOM_SCHEMA_READ,
    DEALS_READ,
    OWNERS_READ,
    TokenStore,
)
from hubspot_sandbox.config import SandboxConfig
from hubspot_sandbox.crm_objects import CrmObjects
from hubspot_sandbox.exchange import (
    ApiError,
    Headers,
    Reply,
    Request,
    Route,
    b64,
    page_size,
    unb64,
    with_results,
)
from hubspot_sandbox.faults import FaultInjector, fault_response
from hubspot_sandbox.oauth import OAuthServer, expired_authentication
from hubspot_sandbox.object_routes import ObjectRoutes
from hubspot_sandbox.object_search import ObjectSearch
from hubspot_sandbox.object_types import DEALS, resolve
from hubspot_sandbox.property_routes import PropertyRoutes
from hubspot_sandbox.ratelimit import RateLimiter, RateLimitPolicy
from hubspot_sandbox.search import (
    DealSearch,
    SearchLimits,
    SearchValidationError,
    parse_search_request,
)
from hubspot_sandbox.stats import Stats
from hubspot_sandbox.timestamps import iso_from_ms, now_ms

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
        self.routes = self._routes()
        self.admin = AdminRoutes(self)

    def _routes(self) -> list[Route]:
        t = _OBJECT_TYPE
        return [
            Route("POST", re.compile(rf"/crm/v3/objects/{t}/search"),
                  "POST /crm/v3/objects/deals/search", self.search_deals, DEALS_READ, True),
            Route("POST", re.compile(rf"/crm/v3/objects/{t}/batch/read"),
                  "POST /crm/v3/objects/deals/batch/read", self.batch_read, DEALS_READ),
            Route("GET", re.compile(rf"/crm/v3/objects/{t}"),
                  "GET /crm/v3/objects/deals", self.list_deals, DEALS_READ),
            Route("GET", re.compile(rf"/crm/v3/objects/{t}/(?P<deal_id>[^/]+)"),
                  "GET /crm/v3/objects/deals/{dealId}", self.get_deal, DEALS_READ),
            Route("GET", re.compile(rf"/crm/v3/pipelines/{t}"),
                  "GET /crm/v3/pipelines/deals", self.pipelines, DEALS_READ),
            Route("GET", re.compile(r"/crm/v3/owners/?"),
                  "GET /crm/v3/owners", self.owners, OWNERS_READ),
            Route("GET", re.compile(r"/crm/v3/schemas/?"),
                  "GET /crm/v3/schemas", self.schemas, CUSTOM_SCHEMA_READ),
            *self.associations.routes(),
            *ObjectRoutes(self).routes(),
            *PropertyRoutes(self).routes(),
        ]  # fmt: skip

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
        if route.handler != self.list_deals:
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
        verdict = self.limiter.check(token, route.search)
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

    # ------------------------------------------------------------------ parameters

    def _page_size(self, request: Request, default: int, maximum: int) -> int:
        return page_size(request, default, maximum, self.config.over_limit == "reject")

    def _deal_start(self, request: Request) -> int:
        """The index a list page starts at: `after` is a deal id, plain or base64."""
        after = request.param("after")
        if not after:
            return 0
        text = after if after.isdigit() else unb64(after)
        if text is None or not text.isdigit():
            raise ApiError(
                400, errors.validation(f"Invalid 'after' cursor {after!r}", request.correlation_id)
            )
        return self.account.first_index_with_id_at_least(int(text))

    def _cursor(self, index: int) -> str:
        deal_id = self.account.deal_id(index)
        return deal_id if self.config.list_cursor == "id" else b64(deal_id)

    def _render(
        self,
        request: Request,
        indexes: list[int],
        selection: PropertySelection,
        history: list[str] | None,
        associations: list[str] | None = None,
    ) -> list[bytes]:
        """Each deal's JSON; the pre-encoded fast path unless history or associations were
        asked for."""
        self.stats.deals_served += len(indexes)
        if not history and not associations:
            return self.account.deals_json(indexes, selection)
        rendered = []
        for index in indexes:
            deal = self.account.wire_deal(index, selection)
            if history:
                deal["propertiesWithHistory"] = self.crm.history.history(index, history)
            if associations:
                inline = self.associations.inline(request, DEALS, index, associations)
                if inline:
                    deal["associations"] = inline
            rendered.append(orjson.dumps(deal))
        return rendered

    # ------------------------------------------------------------------ HubSpot routes

    def list_deals(self, request: Request, match: re.Match[str]) -> Reply:
        history = request.names("propertiesWithHistory")
        maximum = HISTORY_MAX_LIMIT if history else LIST_MAX_LIMIT
        limit = self._page_size(request, 10, maximum)
        archived = request.flag("archived")
        selection = self.account.selection(request.names("properties"))
        indexes, next_index = self.account.page_indexes(self._deal_start(request), limit, archived)
        tail: dict[str, Any] = {}
        if next_index is not None:
            after = self._cursor(next_index)
            tail["paging"] = {"next": {"after": after, "link": request.link(after)}}
        associations = request.names("associations")
        results = self._render(request, indexes, selection, history, associations)
        return Reply(200, with_results({}, results, tail))

    def get_deal(self, request: Request, match: re.Match[str]) -> Reply:
        deal_id = match["deal_id"]
        id_property = request.param("idProperty")
        index = None
        if id_property in (None, "", "hs_object_id"):
            index = self.account.index_of(deal_id)
        archived = request.flag("archived")
        if index is None or self.account.is_archived(index) != archived:
            raise ApiError(404, errors.not_found(request.correlation_id))
        selection = self.account.selection(request.names("properties"))
        history = request.names("propertiesWithHistory")
        associations = request.names("associations")
        return Reply(200, self._render(request, [index], selection, history, associations)[0])

    def batch_read(self, request: Request, match: re.Match[str]) -> Reply:
        cid = request.correlation_id
        started = iso_from_ms(now_ms())
        body = request.json()
        if not isinstance(body, dict) or not isinstance(body.get("inputs"), list):
            raise ApiError(400, errors.validation("'inputs' must be an array", cid))
        inputs = body["inputs"]
        if len(inputs) > BATCH_MAX_INPUTS:
            raise ApiError(
                400,
                errors.validation(
                    f"Batch input size of {len(inputs)} exceeds the limit of {BATCH_MAX_INPUTS}",
                    cid,
                ),
            )
        id_property = body.get("idProperty")
        if id_property not in (None, "", "hs_object_id"):
            raise ApiError(400, errors.validation(f"Unknown idProperty {id_property!r}", cid))
        archived = request.flag("archived")
        properties = body.get("properties")
        selection = self.account.selection(
            [str(p) for p in properties] if isinstance(properties, list) and properties else None
        )
        history = body.get("propertiesWithHistory")
        history = [str(p) for p in history] if isinstance(history, list) else None
        if history and len(inputs) > HISTORY_MAX_LIMIT:
            raise ApiError(
                400,
                errors.validation(
                    f"Batch input size of {len(inputs)} exceeds the limit of {HISTORY_MAX_LIMIT} "
                    "when propertiesWithHistory is requested",
                    cid,
                ),
            )
        found: list[int] = []
        missing: list[str] = []
        for item in inputs:
            raw = item.get("id") if isinstance(item, dict) else None
            index = self.account.index_of(raw) if raw is not None else None
            if index is None or self.account.is_archived(index) != archived:
                missing.append(str(raw))
            elif index not in found:
                found.append(index)
        tail: dict[str, Any] = {}
        if missing:
            tail["numErrors"] = 1
            tail["errors"] = [
                errors.batch_error(
                    "OBJECT_NOT_FOUND",
                    "Could not get some DEAL objects, they may be deleted or not exist. Check "
                    "that ids are valid.",
                    {"ids": missing},
                )
            ]
        tail["startedAt"] = started
        tail["completedAt"] = iso_from_ms(now_ms())
        results = self._render(request, found, selection, history)
        return Reply(207 if missing else 200, with_results({"status": "COMPLETE"}, results, tail))

    def search_deals(self, request: Request, match: re.Match[str]) -> Reply:
        try:
            search = parse_search_request(request.json(), self.search_limits)
        except SearchValidationError as exc:
            raise ApiError(400, errors.validation(str(exc), request.correlation_id)) from None
        try:
            total, indexes = self.search.run(search)
        except SearchValidationError as exc:
            raise ApiError(400, errors.validation(str(exc), request.correlation_id)) from None
        selection = self.account.selection(search.properties)
        tail: dict[str, Any] = {}
        if search.after + len(indexes) < total:
            tail["paging"] = {"next": {"after": str(search.after + len(indexes))}}
        results = self._render(request, indexes, selection, None)
        return Reply(200, with_results({"total": total}, results, tail))

    def pipelines(self, request: Request, match: re.Match[str]) -> Reply:
        return Reply(200, {"results": self.account.pipelines()})

    def owners(self, request: Request, match: re.Match[str]) -> Reply:
        limit = self._page_size(request, OWNERS_DEFAULT_LIMIT, OWNERS_MAX_LIMIT)
        owners = self.account.owners(archived=request.flag("archived"))
        email = request.param("email")
        if email:
            owners = [o for o in owners if o["email"].lower() == email.strip().lower()]
        after = request.param("after")
        start = 0
        if after:
            text = after if after.isdigit() else unb64(after)
            if text is None or not text.isdigit():
                raise ApiError(
                    400,
                    errors.validation(f"Invalid 'after' cursor {after!r}", request.correlation_id),
                )
            start = int(text)
        body: dict[str, Any] = {"results": owners[start : start + limit]}
        if start + limit < len(owners):
            cursor = b64(str(start + limit))
            body["paging"] = {"next": {"after": cursor, "link": request.link(cursor)}}
        return Reply(200, body)

    def schemas(self, request: Request, match: re.Match[str]) -> Reply:
        return Reply(200, {"results": []})
