"""`/__sandbox/` routes that change the objects around the deals (not HubSpot's): create, modify
and archive companies/contacts/line items/leads, add or remove associations, move a deal's stage.

Writes go through `object_writes`, the same rules as HubSpot's routes, but take explicit
timestamps so tests can place changes in time. An association change does not bump either
record's modified date (peers report that HubSpot's does not), unless `bumpModified` is true.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from hubspot_sandbox import object_writes
from hubspot_sandbox.account import UnknownDeal
from hubspot_sandbox.associations import TARGETS, TYPES
from hubspot_sandbox.catalog import PIPELINES
from hubspot_sandbox.exchange import Reply, Request
from hubspot_sandbox.object_types import resolve
from hubspot_sandbox.object_writes import WriteError
from hubspot_sandbox.records import ObjectStore, UnknownRecord
from hubspot_sandbox.timestamps import iso_from_ms, ms_from_filter_value, now_ms

if TYPE_CHECKING:
    from hubspot_sandbox.app import SandboxApp

OBJECT_ROUTE = re.compile(r"/__sandbox/objects/(?P<object>[^/]+)/(?P<verb>create|modify|archive)")
_STAGE_PIPELINE = {stage.id: pipeline.id for pipeline in PIPELINES for stage in pipeline.stages}


def _at(body: dict[str, Any], key: str) -> int:
    value = body.get(key)
    return now_ms() if value is None else ms_from_filter_value(value)


class ObjectAdmin:
    def __init__(self, app: SandboxApp) -> None:
        self.app = app

    def _store(self, name: str) -> ObjectStore:
        kind = resolve(name)
        store = self.app.crm.stores.get(kind.name) if kind else None
        if store is None:
            raise ValueError(f"no records of object type {name!r} in the sandbox")
        return store

    def _indexes(self, store: ObjectStore, body: dict[str, Any]) -> list[int]:
        ids = body.get("ids")
        if not isinstance(ids, list):
            raise ValueError("'ids' must be an array of record ids")
        indexes = []
        for record_id in ids:
            index = store.index_of(record_id)
            if index is None:
                raise UnknownRecord(str(record_id))
            indexes.append(index)
        return indexes

    def objects(self, request: Request, match: re.Match[str], body: dict[str, Any]) -> Reply:
        """create: {"records": [{"properties"}], "createdAt"?}; modify: {"ids", "properties",
        "modifiedAt"?}; archive: {"ids", "archivedAt"?}."""
        store = self._store(match["object"])
        try:
            if match["verb"] == "create":
                records = body.get("records")
                if not isinstance(records, list):
                    raise ValueError("'records' must be an array of {\"properties\": {...}}")
                at = _at(body, "createdAt")
                indexes = [object_writes.create(store, r.get("properties", {}), at)
                           for r in records]  # fmt: skip
                return Reply(201, {"ids": [store.record_id(i) for i in indexes]})
            indexes = self._indexes(store, body)
            if match["verb"] == "modify":
                at = _at(body, "modifiedAt")
                for index in indexes:
                    object_writes.update(store, index, body.get("properties"), at)
                return Reply(200, {"modified": len(indexes), "modifiedAt": iso_from_ms(at)})
            at = _at(body, "archivedAt")
            archived = [store.record_id(i) for i in indexes if store.archive(i, at)]
            return Reply(200, {"archived": len(archived), "ids": archived})
        except WriteError as exc:
            return Reply(exc.status, {"status": "error", "message": exc.message,
                                      "category": exc.category})  # fmt: skip

    def associate(self, request: Request, body: dict[str, Any]) -> Reply:
        """{"dealId", "toObjectType", "toObjectId" (or "toObjectIds": [...]), "typeIds": [...]
        ([] removes), "bumpModified"?: false, "modifiedAt"?}"""
        account = self.app.account
        deal = account.index_of(body.get("dealId"))
        if deal is None:
            raise UnknownDeal(str(body.get("dealId")))
        kind = resolve(str(body.get("toObjectType")))
        if kind is None or kind.name not in TARGETS:
            raise ValueError(f"'toObjectType' must be one of {list(TARGETS)}")
        store = self.app.crm.stores[kind.name]
        raw_ids = body.get("toObjectIds", [body.get("toObjectId")])
        if not isinstance(raw_ids, list):
            raise ValueError("'toObjectIds' must be an array of record ids")
        targets = []
        for raw in raw_ids:
            target = store.index_of(raw)
            if target is None:
                raise UnknownRecord(str(raw))
            targets.append(target)
        type_ids = body.get("typeIds", [])
        known = {t.type_id for t in TYPES[("deals", kind.name)]}
        if not isinstance(type_ids, list) or not set(type_ids) <= known:
            raise ValueError(f"'typeIds' must be a subset of {sorted(known)}")
        for target in targets:
            self.app.crm.associations.set_link(deal, kind.name, target, tuple(type_ids))
        if body.get("bumpModified"):
            at = _at(body, "modifiedAt")
            account.modify([account.deal_id(deal)], {}, at)
            for target in targets:
                store.update(target, {}, at)
        links = self.app.crm.deal_links(deal, kind.name)
        return Reply(200, {"dealId": account.deal_id(deal), "toObjectType": kind.name,
                           "links": {store.record_id(t): list(ids)
                                     for t, ids in sorted(links.items())}})  # fmt: skip

    def move_stage(self, request: Request, body: dict[str, Any]) -> Reply:
        """{"ids": [...], "stage", "movedAt"?}: sets dealstage (and its pipeline), bumps
        hs_lastmodifieddate and appends the move to the deals' stage history."""
        stage = body.get("stage")
        if stage not in _STAGE_PIPELINE:
            raise ValueError(f"unknown deal stage {stage!r}")
        ids = body.get("ids")
        if not isinstance(ids, list):
            raise ValueError("'ids' must be an array of deal ids")
        at = _at(body, "movedAt")
        account = self.app.account
        count, stamp = account.modify(ids, {"dealstage": stage,
                                            "pipeline": _STAGE_PIPELINE[stage]}, at)  # fmt: skip
        for deal_id in ids:
            self.app.crm.history.record_move(account.index_of(deal_id), stage, at)  # type: ignore[arg-type]
        return Reply(200, {"moved": count, "movedAt": stamp})

    def record_stage_changes(self, ids: list[str], properties: dict[str, Any], stamp: str) -> None:
        """A plain deal modify that sets dealstage is a stage move too."""
        stage = properties.get("dealstage")
        if isinstance(stage, str) and stage:
            at = ms_from_filter_value(stamp)
            for deal_id in ids:
                index = self.app.account.index_of(deal_id)
                if index is not None:
                    self.app.crm.history.record_move(index, stage, at)
