"""Association reads: v4 per object, v4 batch read, v4 labels, v3 per object, and the inline
`associations=` of v3 list/get pages.

Shapes follow HubSpot's v4 spec: a v4 result is `{"toObjectId": <number>, "associationTypes":
[{"category", "typeId", "label"}]}` (a primary company lists both its "Primary" and its unlabeled
type), pages hold up to 500 targets per object with `paging.next.after`. v3 lists each
HubSpot-defined type as its own `{"id", "type"}` entry (so a primary company appears twice, as
peers report) and leaves custom labels out; inline lists are capped at 100 per type with a
`paging.next.link` to the v3 association route.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from hubspot_sandbox import errors
from hubspot_sandbox.associations import TYPES, type_of
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
from hubspot_sandbox.timestamps import iso_from_ms, now_ms

if TYPE_CHECKING:
    from hubspot_sandbox.app import SandboxApp
    from hubspot_sandbox.crm_objects import CrmObjects

V4_PAGE = 500
V3_INLINE_CAP = 100
BATCH_MAX_INPUTS = 1_000


def _pair(request: Request, from_name: str, to_name: str) -> tuple[ObjectType, ObjectType]:
    from_kind, to_kind = resolve(from_name), resolve(to_name)
    for raw, kind in ((from_name, from_kind), (to_name, to_kind)):
        if kind is None:
            raise ApiError(400, errors.validation(
                f"Unable to infer object type from: {raw}", request.correlation_id))  # fmt: skip
    return from_kind, to_kind  # type: ignore[return-value]


class AssociationRoutes:
    def __init__(self, app: SandboxApp) -> None:
        self.app = app

    @property
    def crm(self) -> CrmObjects:
        return self.app.crm

    def routes(self) -> list[Route]:
        obj = r"(?P<from_type>[^/]+)"
        to = r"(?P<to_type>[^/]+)"
        return [
            Route("GET", re.compile(rf"/crm/v4/objects/{obj}/(?P<id>[^/]+)/associations/{to}"),
                  "GET /crm/v4/objects/{fromObjectType}/{objectId}/associations/{toObjectType}",
                  self.v4_list, self._scope),
            Route("POST", re.compile(rf"/crm/v4/associations/{obj}/{to}/batch/read"),
                  "POST /crm/v4/associations/{fromObjectType}/{toObjectType}/batch/read",
                  self.v4_batch_read, self._scope, associations=True),
            Route("GET", re.compile(rf"/crm/v4/associations/{obj}/{to}/labels"),
                  "GET /crm/v4/associations/{fromObjectType}/{toObjectType}/labels",
                  self.labels, self._scope),
            Route("GET", re.compile(rf"/crm/v3/objects/{obj}/(?P<id>[^/]+)/associations/{to}"),
                  "GET /crm/v3/objects/{objectType}/{objectId}/associations/{toObjectType}",
                  self.v3_list, self._scope),
        ]  # fmt: skip

    @staticmethod
    def _scope(match: re.Match[str]) -> str:
        kind = resolve(match["from_type"])
        return kind.read_scope if kind else "crm.objects.deals.read"

    # ------------------------------------------------------------------ the graph

    def _index(self, request: Request, kind: ObjectType, record_id: str) -> int | None:
        if kind.name == "deals":
            index = self.app.account.index_of(record_id)
            return None if index is None or self.app.account.is_archived(index) else index
        store = self.crm.stores.get(kind.name)
        index = store.index_of(record_id) if store else None
        return None if index is None or store.is_archived(index) else index

    def _id_of(self, kind: ObjectType, index: int) -> int:
        if kind.name == "deals":
            return self.app.account.deal_id_int(index)
        return self.crm.stores[kind.name].id_int(index)

    def targets(self, from_kind: ObjectType, index: int, to_kind: ObjectType) -> list[tuple]:
        """[(target id, [association types])] in target id order."""
        pair = (from_kind.name, to_kind.name)
        found = []
        for target, ids in self.crm.links_of(from_kind.name, index, to_kind.name):
            types = [t for t in (type_of(pair, i) for i in ids) if t is not None]
            found.append((self._id_of(to_kind, target), types))
        return found

    def inline(self, request: Request, from_kind: ObjectType, index: int,
               names: list[str]) -> dict[str, Any]:  # fmt: skip
        """The `associations` object of a v3 list/get result (unknown names are ignored)."""
        result: dict[str, Any] = {}
        from_id = self._id_of(from_kind, index)
        for name in names:
            to_kind = resolve(name)
            if to_kind is None or (from_kind.name, to_kind.name) not in TYPES:
                continue
            entries = [
                {"id": str(target), "type": t.v3_name}
                for target, types in self.targets(from_kind, index, to_kind)
                for t in types
                if t.v3_name
            ]
            if not entries:
                continue
            block: dict[str, Any] = {"results": entries[:V3_INLINE_CAP]}
            if len(entries) > V3_INLINE_CAP:
                host = request.headers.get("host", "localhost")
                after = b64(str(V3_INLINE_CAP))
                block["paging"] = {"next": {"after": after, "link": (
                    f"{request.scheme}://{host}/crm/v3/objects/{from_kind.type_id}/{from_id}"
                    f"/associations/{to_kind.type_id}?after={after}")}}  # fmt: skip
            result[to_kind.name] = block
        return result

    # ------------------------------------------------------------------ routes

    def v4_list(self, request: Request, match: re.Match[str]) -> Reply:
        from_kind, to_kind = _pair(request, match["from_type"], match["to_type"])
        index = self._index(request, from_kind, match["id"])
        if index is None:
            raise ApiError(404, errors.not_found(request.correlation_id))
        limit = page_size(request, V4_PAGE, V4_PAGE, reject_over=False)
        start = cursor_number(request) or 0
        found = self.targets(from_kind, index, to_kind)
        page = found[start : start + limit]
        body: dict[str, Any] = {
            "results": [
                {"toObjectId": target, "associationTypes": [t.wire() for t in types]}
                for target, types in page
            ]
        }
        if start + limit < len(found):
            after = b64(str(start + limit))
            body["paging"] = {"next": {"after": after, "link": request.link(after)}}
        return Reply(200, body)

    def v3_list(self, request: Request, match: re.Match[str]) -> Reply:
        from_kind, to_kind = _pair(request, match["from_type"], match["to_type"])
        index = self._index(request, from_kind, match["id"])
        if index is None:
            raise ApiError(404, errors.not_found(request.correlation_id))
        entries = [
            {"id": str(target), "type": t.v3_name}
            for target, types in self.targets(from_kind, index, to_kind)
            for t in types
            if t.v3_name
        ]
        limit = page_size(request, V4_PAGE, V4_PAGE, reject_over=False)
        start = cursor_number(request) or 0
        body: dict[str, Any] = {"results": entries[start : start + limit]}
        if start + limit < len(entries):
            after = b64(str(start + limit))
            body["paging"] = {"next": {"after": after, "link": request.link(after)}}
        return Reply(200, body)

    def v4_batch_read(self, request: Request, match: re.Match[str]) -> Reply:
        cid = request.correlation_id
        started = iso_from_ms(now_ms())
        from_kind, to_kind = _pair(request, match["from_type"], match["to_type"])
        inputs = json_object(request).get("inputs")
        if not isinstance(inputs, list):
            raise ApiError(400, errors.validation("'inputs' must be an array", cid))
        if len(inputs) > BATCH_MAX_INPUTS:
            raise ApiError(400, errors.validation(
                f"Batch input size of {len(inputs)} exceeds the limit of {BATCH_MAX_INPUTS}",
                cid))  # fmt: skip
        results, missing = [], []
        for item in inputs:
            raw = str(item.get("id")) if isinstance(item, dict) else ""
            index = self._index(request, from_kind, raw)
            found = self.targets(from_kind, index, to_kind) if index is not None else []
            if not found:
                missing.append(raw)
                continue
            start = 0
            after = item.get("after")
            if after:
                start = int(after) if str(after).isdigit() else 0
            page = found[start : start + V4_PAGE]
            result: dict[str, Any] = {
                "from": {"id": raw},
                "to": [{"toObjectId": target, "associationTypes": [t.wire() for t in types]}
                       for target, types in page],
            }  # fmt: skip
            if start + V4_PAGE < len(found):
                result["paging"] = {"next": {"after": str(start + V4_PAGE)}}
            results.append(result)
        body: dict[str, Any] = {"status": "COMPLETE", "results": results}
        if missing:
            body["numErrors"] = len(missing)
            body["errors"] = [
                errors.batch_error(
                    "OBJECT_NOT_FOUND",
                    f"No {to_kind.singular} is associated with {from_kind.singular} {raw}.",
                    {"fromObjectId": [raw]},
                    "crm.associations.NO_ASSOCIATIONS_FOUND",
                )
                for raw in missing
            ]
        body["startedAt"] = started
        body["completedAt"] = iso_from_ms(now_ms())
        return Reply(207 if missing else 200, body)

    def labels(self, request: Request, match: re.Match[str]) -> Reply:
        from_kind, to_kind = _pair(request, match["from_type"], match["to_type"])
        types = TYPES.get((from_kind.name, to_kind.name), ())
        return Reply(200, {"results": [t.wire() for t in types]})
