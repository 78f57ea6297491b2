"""HubSpot's deal routes and the account metadata around them: list, get, batch read and search
deals (with `associations` and `propertiesWithHistory`), pipelines, owners and schemas.

Pages of deals come pre-encoded from `SandboxAccount.deals_json` (the serving hot path) unless
history or associations are asked for; then each deal is built as a dict and extended.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import orjson

from hubspot_sandbox import errors
from hubspot_sandbox.account import PropertySelection
from hubspot_sandbox.auth import CUSTOM_SCHEMA_READ, DEALS_READ, OWNERS_READ
from hubspot_sandbox.exchange import (
    ApiError,
    Reply,
    Request,
    Route,
    b64,
    page_size,
    unb64,
    with_results,
)
from hubspot_sandbox.object_types import DEALS
from hubspot_sandbox.search import SearchValidationError, parse_search_request
from hubspot_sandbox.stage_history import STAGE_PROPERTIES
from hubspot_sandbox.timestamps import iso_from_ms, now_ms

if TYPE_CHECKING:
    from hubspot_sandbox.app import SandboxApp

LIST_MAX_LIMIT = 100
HISTORY_MAX_LIMIT = 50
BATCH_MAX_INPUTS = 100
OWNERS_DEFAULT_LIMIT = 100
OWNERS_MAX_LIMIT = 500
_OBJECT_TYPE = r"(?:deals|deal|0-3)"


class DealRoutes:
    def __init__(self, app: SandboxApp) -> None:
        self.app = app

    def routes(self) -> list[Route]:
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
        ]  # fmt: skip

    # ------------------------------------------------------------------ parameters

    def _page_size(self, request: Request, default: int, maximum: int) -> int:
        return page_size(request, default, maximum, self.app.config.over_limit == "reject")

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
        return self.app.account.first_index_with_id_at_least(int(text))

    def _cursor(self, index: int) -> str:
        deal_id = self.app.account.deal_id(index)
        return deal_id if self.app.config.list_cursor == "id" else b64(deal_id)

    def _render(
        self,
        request: Request,
        indexes: list[int],
        selection: PropertySelection,
        history: list[str] | None,
        associations: list[str] | None = None,
        requested: list[str] | None = None,
    ) -> list[bytes]:
        """Each deal's JSON; the pre-encoded fast path unless history, associations or `hs_v2_*`
        stage properties (among the `requested` names) were asked for."""
        self.app.stats.deals_served += len(indexes)
        stage_names = [n for n in requested or () if n in STAGE_PROPERTIES]
        if not history and not associations and not stage_names:
            return self.app.account.deals_json(indexes, selection)
        rendered = []
        for index in indexes:
            deal = self.app.account.wire_deal(index, selection)
            if stage_names:
                deal["properties"].update(self.app.crm.history.stage_properties(index, stage_names))
            if history:
                deal["propertiesWithHistory"] = self.app.crm.history.history(index, history)
            if associations:
                inline = self.app.associations.inline(request, DEALS, index, associations)
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
        selection = self.app.account.selection(request.names("properties"))
        start = self._deal_start(request)
        indexes, next_index = self.app.account.page_indexes(start, limit, archived)
        tail: dict[str, Any] = {}
        if next_index is not None:
            after = self._cursor(next_index)
            tail["paging"] = {"next": {"after": after, "link": request.link(after)}}
        associations = request.names("associations")
        requested = request.names("properties")
        results = self._render(request, indexes, selection, history, associations, requested)
        return Reply(200, with_results({}, results, tail))

    def get_deal(self, request: Request, match: re.Match[str]) -> Reply:
        deal_id = match["deal_id"]
        id_property = request.param("idProperty")
        index = None
        if id_property in (None, "", "hs_object_id"):
            index = self.app.account.index_of(deal_id)
        archived = request.flag("archived")
        if index is None or self.app.account.is_archived(index) != archived:
            raise ApiError(404, errors.not_found(request.correlation_id))
        selection = self.app.account.selection(request.names("properties"))
        history = request.names("propertiesWithHistory")
        associations = request.names("associations")
        requested = request.names("properties")
        rendered = self._render(request, [index], selection, history, associations, requested)
        return Reply(200, rendered[0])

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
        selection = self.app.account.selection(
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
            index = self.app.account.index_of(raw) if raw is not None else None
            if index is None or self.app.account.is_archived(index) != archived:
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
        requested = [str(p) for p in properties] if isinstance(properties, list) else None
        results = self._render(request, found, selection, history, None, requested)
        return Reply(207 if missing else 200, with_results({"status": "COMPLETE"}, results, tail))

    def search_deals(self, request: Request, match: re.Match[str]) -> Reply:
        try:
            search = parse_search_request(request.json(), self.app.search_limits)
        except SearchValidationError as exc:
            raise ApiError(400, errors.validation(str(exc), request.correlation_id)) from None
        try:
            total, indexes = self.app.search.run(search)
        except SearchValidationError as exc:
            raise ApiError(400, errors.validation(str(exc), request.correlation_id)) from None
        selection = self.app.account.selection(search.properties)
        tail: dict[str, Any] = {}
        if search.after + len(indexes) < total:
            tail["paging"] = {"next": {"after": str(search.after + len(indexes))}}
        results = self._render(request, indexes, selection, None, None, search.properties)
        return Reply(200, with_results({"total": total}, results, tail))

    def pipelines(self, request: Request, match: re.Match[str]) -> Reply:
        return Reply(200, {"results": self.app.account.pipelines()})

    def owners(self, request: Request, match: re.Match[str]) -> Reply:
        limit = self._page_size(request, OWNERS_DEFAULT_LIMIT, OWNERS_MAX_LIMIT)
        owners = self.app.account.owners(archived=request.flag("archived"))
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
