"""`/crm/v3/objects/{object}` for every object type but deals: list, get, search, batch read,
create, update, archive and their batch forms.

One set of routes serves every type declared in `object_types`; a type without records
(calls, tickets, ...) answers with empty pages. Reads behave like the deals' routes (the same
limits, paging, `properties` resolution and search semantics); writes follow HubSpot's
documented shapes: 201 with the record, 204 on archive, batches of at most 100 inputs answered
with `status`, `results` and, when some inputs fail, 207 with one error per failed input.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from hubspot_sandbox import errors, object_writes
from hubspot_sandbox.exchange import (
    ApiError,
    Reply,
    Request,
    Route,
    b64,
    cursor_number,
    json_object,
    page_size,
)
from hubspot_sandbox.object_types import ObjectType, resolve
from hubspot_sandbox.object_writes import WriteError
from hubspot_sandbox.records import ObjectStore
from hubspot_sandbox.search import SearchValidationError, parse_search_request
from hubspot_sandbox.timestamps import iso_from_ms, now_ms

if TYPE_CHECKING:
    from hubspot_sandbox.app import SandboxApp

LIST_MAX_LIMIT = 100
HISTORY_MAX_LIMIT = 50
BATCH_MAX_INPUTS = 100
_OBJECT = r"(?P<object>(?!(?:deals|deal|0-3)(?:/|$))[^/]+)"


def _write_error(exc: WriteError, cid: str) -> ApiError:
    return ApiError(exc.status, errors.error(exc.message, cid, exc.category))


class ObjectRoutes:
    def __init__(self, app: SandboxApp) -> None:
        self.app = app

    def routes(self) -> list[Route]:
        o = _OBJECT
        name = "/crm/v3/objects/{objectType}"
        read, write = self._read_scope, self._write_scope
        return [
            Route("POST", re.compile(rf"/crm/v3/objects/{o}/search"), f"POST {name}/search",
                  self.search, read, True),
            Route("POST", re.compile(rf"/crm/v3/objects/{o}/batch/read"),
                  f"POST {name}/batch/read", self.batch_read, read),
            Route("POST", re.compile(rf"/crm/v3/objects/{o}/batch/create"),
                  f"POST {name}/batch/create", self.batch_create, write),
            Route("POST", re.compile(rf"/crm/v3/objects/{o}/batch/update"),
                  f"POST {name}/batch/update", self.batch_update, write),
            Route("POST", re.compile(rf"/crm/v3/objects/{o}/batch/archive"),
                  f"POST {name}/batch/archive", self.batch_archive, write),
            Route("POST", re.compile(rf"/crm/v3/objects/{o}/merge"), f"POST {name}/merge",
                  self.merge, write),
            Route("GET", re.compile(rf"/crm/v3/objects/{o}/?"), f"GET {name}", self.list, read),
            Route("POST", re.compile(rf"/crm/v3/objects/{o}/?"), f"POST {name}", self.create,
                  write),
            Route("GET", re.compile(rf"/crm/v3/objects/{o}/(?P<id>[^/]+)"),
                  f"GET {name}/{{objectId}}", self.get, read),
            Route("PATCH", re.compile(rf"/crm/v3/objects/{o}/(?P<id>[^/]+)"),
                  f"PATCH {name}/{{objectId}}", self.update, write),
            Route("DELETE", re.compile(rf"/crm/v3/objects/{o}/(?P<id>[^/]+)"),
                  f"DELETE {name}/{{objectId}}", self.archive, write),
        ]  # fmt: skip

    @staticmethod
    def _read_scope(match: re.Match[str]) -> str:
        kind = resolve(match["object"])
        return kind.read_scope if kind else "crm.objects.custom.read"

    @staticmethod
    def _write_scope(match: re.Match[str]) -> str:
        kind = resolve(match["object"])
        return kind.write_scope if kind else "crm.objects.custom.write"

    def _kind(
        self, request: Request, match: re.Match[str]
    ) -> tuple[ObjectType, ObjectStore | None]:
        kind = resolve(match["object"])
        if kind is None:
            raise ApiError(
                400,
                errors.validation(
                    f"Unable to infer object type from: {match['object']}", request.correlation_id
                ),
            )
        return kind, self.app.crm.stores.get(kind.name)  # fmt: skip

    def _store(self, request: Request, match: re.Match[str]) -> ObjectStore:
        kind, store = self._kind(request, match)
        if store is None:
            raise ApiError(
                400,
                errors.validation(
                    f"The sandbox holds no {kind.name} records to write", request.correlation_id
                ),
            )
        return store  # fmt: skip

    # ------------------------------------------------------------------ rendering

    def _render(self, request: Request, store: ObjectStore, index: int, keys: tuple[str, ...],
                history: list[str] | None = None, associations: list[str] | None = None,
                ) -> dict[str, Any]:  # fmt: skip
        record = store.wire(index, keys)
        if history:
            values = store.properties(index)
            stamp = values[store.kind.modified_property]
            record["propertiesWithHistory"] = {
                name: [] if values.get(name) is None else [
                    {"value": values[name], "timestamp": stamp, "sourceType": "CRM_UI",
                     "sourceId": "userId:28604240", "updatedByUserId": 28604240}]
                for name in history if name in values
            }  # fmt: skip
        if associations:
            inline = self.app.associations.inline(request, store.kind, index, associations)
            if inline:
                record["associations"] = inline
        return record

    # ------------------------------------------------------------------ reads

    def list(self, request: Request, match: re.Match[str]) -> Reply:
        _, store = self._kind(request, match)
        history = request.names("propertiesWithHistory")
        limit = page_size(request, 10, HISTORY_MAX_LIMIT if history else LIST_MAX_LIMIT,
                          self.app.config.over_limit == "reject")  # fmt: skip
        if store is None:
            return Reply(200, {"results": []})
        after = cursor_number(request)
        start = 0 if after is None else store.first_index_with_id_at_least(after)
        indexes, next_index = store.page(start, limit, request.flag("archived"))
        keys = store.selection(request.names("properties"))
        associations = request.names("associations")
        body: dict[str, Any] = {
            "results": [self._render(request, store, i, keys, history, associations)
                        for i in indexes]
        }  # fmt: skip
        if next_index is not None:
            cursor = store.record_id(next_index)
            cursor = cursor if self.app.config.list_cursor == "id" else b64(cursor)
            body["paging"] = {"next": {"after": cursor, "link": request.link(cursor)}}
        return Reply(200, body)

    def get(self, request: Request, match: re.Match[str]) -> Reply:
        _, store = self._kind(request, match)
        index = None
        if store is not None:
            id_property = request.param("idProperty")
            try:
                if id_property in (None, "", "hs_object_id"):
                    index = store.index_of(match["id"])
                    # a merged-away id answers with the record it became, as on HubSpot
                    merged = store.merged_into(index) if index is not None else None
                    index = index if merged is None else merged
                else:
                    index = object_writes.live_index(store, match["id"], id_property)
            except WriteError as exc:
                raise _write_error(exc, request.correlation_id) from None
        if index is None or store.is_archived(index) != request.flag("archived"):
            raise ApiError(404, errors.not_found(request.correlation_id))
        keys = store.selection(request.names("properties"))
        return Reply(200, self._render(request, store, index, keys,
                                       request.names("propertiesWithHistory"),
                                       request.names("associations")))  # fmt: skip

    def search(self, request: Request, match: re.Match[str]) -> Reply:
        _, store = self._kind(request, match)
        try:
            search = parse_search_request(request.json(), self.app.search_limits)
        except SearchValidationError as exc:
            raise ApiError(400, errors.validation(str(exc), request.correlation_id)) from None
        if store is None:
            return Reply(200, {"total": 0, "results": []})
        total, indexes = self.app.object_search.run(store, search)
        keys = store.selection(search.properties)
        body: dict[str, Any] = {"total": total,
                                "results": [store.wire(i, keys) for i in indexes]}  # fmt: skip
        if search.after + len(indexes) < total:
            body["paging"] = {"next": {"after": str(search.after + len(indexes))}}
        return Reply(200, body)

    def _inputs(self, request: Request, maximum: int = BATCH_MAX_INPUTS) -> tuple[dict, list]:
        body = json_object(request)
        inputs = body.get("inputs")
        if not isinstance(inputs, list):
            raise ApiError(400, errors.validation("'inputs' must be an array",
                                                  request.correlation_id))  # fmt: skip
        if len(inputs) > maximum:
            raise ApiError(400, errors.validation(
                f"Batch input size of {len(inputs)} exceeds the limit of {maximum}",
                request.correlation_id))  # fmt: skip
        return body, inputs

    @staticmethod
    def _batch(results: list[dict], failures: list[dict], started: str, ok: int) -> Reply:
        body: dict[str, Any] = {"status": "COMPLETE", "results": results}
        if failures:
            body["numErrors"] = len(failures)
            body["errors"] = failures
        body["startedAt"] = started
        body["completedAt"] = iso_from_ms(now_ms())
        return Reply(207 if failures else ok, body)

    def batch_read(self, request: Request, match: re.Match[str]) -> Reply:
        started = iso_from_ms(now_ms())
        kind, store = self._kind(request, match)
        body, inputs = self._inputs(request)
        history = body.get("propertiesWithHistory") or None
        if history and len(inputs) > HISTORY_MAX_LIMIT:
            raise ApiError(400, errors.validation(
                f"Batch input size of {len(inputs)} exceeds the limit of {HISTORY_MAX_LIMIT} "
                "when propertiesWithHistory is requested", request.correlation_id))  # fmt: skip
        properties = body.get("properties")
        found, missing = [], []
        for item in inputs:
            raw = item.get("id") if isinstance(item, dict) else None
            index = None
            if store is not None:
                try:
                    index = object_writes.live_index(store, raw, body.get("idProperty"))
                except WriteError as exc:
                    raise _write_error(exc, request.correlation_id) from None
            if index is None:
                missing.append(str(raw))
            elif index not in found:
                found.append(index)
        results = []
        if store is not None:
            keys = store.selection(properties if isinstance(properties, list) else None)
            results = [self._render(request, store, i, keys, history) for i in found]
        message = (f"Could not get some {kind.upper} objects, they may be deleted or not exist. "
                   "Check that ids are valid.")  # fmt: skip
        failures = [errors.batch_error("OBJECT_NOT_FOUND", message, {"ids": missing})]
        failures = failures if missing else []
        return self._batch(results, failures, started, 200)

    # ------------------------------------------------------------------ writes

    def create(self, request: Request, match: re.Match[str]) -> Reply:
        store = self._store(request, match)
        body = json_object(request)
        try:
            index = object_writes.create(store, body.get("properties", {}), now_ms())
        except WriteError as exc:
            raise _write_error(exc, request.correlation_id) from None
        keys = store.selection([*body.get("properties", {}), *store.kind.always_included])
        return Reply(201, store.wire(index, keys))

    def update(self, request: Request, match: re.Match[str]) -> Reply:
        store = self._store(request, match)
        body = json_object(request)
        try:
            index = object_writes.live_index(store, match["id"], request.param("idProperty"))
            if index is None:
                raise ApiError(404, errors.not_found(request.correlation_id))
            values = object_writes.update(store, index, body.get("properties", {}), now_ms())
        except WriteError as exc:
            raise _write_error(exc, request.correlation_id) from None
        return Reply(200, store.wire(index, store.selection([*values, "hs_object_id"])))

    def archive(self, request: Request, match: re.Match[str]) -> Reply:
        store = self._store(request, match)
        index = store.index_of(match["id"])
        if index is not None:
            store.archive(index, now_ms())
        return Reply(204, b"")

    def merge(self, request: Request, match: re.Match[str]) -> Reply:
        """`{"primaryObjectId", "objectIdToMerge"}` -> 200 with the new record."""
        store = self._store(request, match)
        body = json_object(request)
        cid = request.correlation_id
        ids = [body.get("primaryObjectId"), body.get("objectIdToMerge")]
        indexes = [object_writes.live_index(store, i) for i in ids]
        if None in ids or ids[0] == ids[1]:
            raise ApiError(
                400,
                errors.validation(
                    "primaryObjectId and objectIdToMerge must name two different records", cid
                ),
            )
        if None in indexes:
            raise ApiError(404, errors.not_found(cid))  # fmt: skip
        new = self.app.crm.merge(store.kind.name, indexes[0], indexes[1], now_ms())  # type: ignore[arg-type]
        keys = store.selection([*store.kind.default_properties, "hs_merged_object_ids"])
        return Reply(200, store.wire(new, keys))

    def batch_create(self, request: Request, match: re.Match[str]) -> Reply:
        started = iso_from_ms(now_ms())
        store = self._store(request, match)
        _, inputs = self._inputs(request)
        results, failures = [], []
        for position, item in enumerate(inputs):
            props = item.get("properties", {}) if isinstance(item, dict) else None
            try:
                index = object_writes.create(store, props, now_ms())
            except WriteError as exc:
                failures.append(self._failure(exc, {"index": [str(position)]}))
                continue
            results.append(store.wire(index, store.selection([*props, "hs_object_id"])))
        return self._batch(results, failures, started, 201)

    def batch_update(self, request: Request, match: re.Match[str]) -> Reply:
        started = iso_from_ms(now_ms())
        store = self._store(request, match)
        body, inputs = self._inputs(request)
        results, failures = [], []
        for item in inputs:
            raw = item.get("id") if isinstance(item, dict) else None
            try:
                index = object_writes.live_index(store, raw, body.get("idProperty"))
                if index is None:
                    raise WriteError(
                        404,
                        "OBJECT_NOT_FOUND",
                        f"Object {store.kind.upper} with id {raw} not found",
                    )
                values = object_writes.update(store, index, item.get("properties", {}), now_ms())
            except WriteError as exc:
                failures.append(self._failure(exc, {"ids": [str(raw)]}))
                continue  # fmt: skip
            results.append(store.wire(index, store.selection([*values, "hs_object_id"])))
        return self._batch(results, failures, started, 200)

    def batch_archive(self, request: Request, match: re.Match[str]) -> Reply:
        store = self._store(request, match)
        _, inputs = self._inputs(request)
        for item in inputs:
            index = store.index_of(item.get("id") if isinstance(item, dict) else None)
            if index is not None:
                store.archive(index, now_ms())
        return Reply(204, b"")

    @staticmethod
    def _failure(exc: WriteError, context: dict[str, list[str]]) -> dict[str, Any]:
        if exc.existing_id is not None:
            context = {**context, "existingId": [exc.existing_id]}
        return errors.batch_error(exc.category, exc.message, context)
