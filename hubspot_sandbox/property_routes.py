"""`/crm/v3/properties/{object}` (reads, writes, batches, groups) and the legacy
`/properties/v2/{object}/properties` for every declared object type.

Peers' discovery reads definitions of many types (Meltano's tap: calls, communications,
companies, contacts, emails, goal_targets, leads, line_items, meetings, notes, postal_mail,
tasks; Airbyte's: `/properties/v2/company/properties` and the other singular names), so every
type in `object_types` answers, whether or not it has records. Writes follow HubSpot's
documented shapes: 201 with the definition, 409 for an existing name, 204 on archive, batch
create/read/archive answering `status` and `results` (207 with per-input errors).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from hubspot_sandbox import errors
from hubspot_sandbox.exchange import ApiError, Reply, Request, Route, json_object
from hubspot_sandbox.object_types import resolve
from hubspot_sandbox.property_registry import PropertyRegistry, PropertyWriteError
from hubspot_sandbox.property_wire import legacy_property_definition
from hubspot_sandbox.timestamps import iso_from_ms, ms_from_iso, now_ms

if TYPE_CHECKING:
    from hubspot_sandbox.app import SandboxApp

BATCH_MAX_INPUTS = 100


def legacy_definition(definition: dict[str, Any]) -> dict[str, Any]:
    """The v2 shape of a property created through the v3 API."""
    return {
        "name": definition["name"],
        "label": definition["label"],
        "description": definition["description"],
        "groupName": definition["groupName"],
        "type": definition["type"],
        "fieldType": definition["fieldType"],
        "options": [{**o, "readOnly": False} for o in definition["options"]],
        "hidden": definition["hidden"],
        "hubspotDefined": False,
        "calculated": False,
        "externalOptions": False,
        "deleted": False,
        "createdAt": ms_from_iso(definition["createdAt"]),
        "updatedAt": ms_from_iso(definition["updatedAt"]),
        "displayOrder": definition["displayOrder"],
        "readOnlyValue": False,
        "readOnlyDefinition": False,
        "mutableDefinitionNotDeletable": False,
        "favorited": False,
        "favoritedOrder": -1,
        "formField": definition["formField"],
        "displayMode": "current_value",
        "showCurrencySymbol": False,
        "numberDisplayHint": None,
        "hasUniqueValue": definition["hasUniqueValue"],
        "searchableInGlobalSearch": False,
        "textDisplayHint": None,
        "optionsAreMutable": definition["type"] == "enumeration",
        "referencedObjectType": None,
    }


class PropertyRoutes:
    def __init__(self, app: SandboxApp) -> None:
        self.app = app

    def routes(self) -> list[Route]:
        base = r"/crm/v3/properties/(?P<object>[^/]+)"
        name = "/crm/v3/properties/{objectType}"
        read, write = self._read_scope, self._write_scope
        return [
            Route("POST", re.compile(rf"{base}/batch/create"), f"POST {name}/batch/create",
                  self.batch_create, write),
            Route("POST", re.compile(rf"{base}/batch/read"), f"POST {name}/batch/read",
                  self.batch_read, read),
            Route("POST", re.compile(rf"{base}/batch/archive"), f"POST {name}/batch/archive",
                  self.batch_archive, write),
            Route("GET", re.compile(rf"{base}/groups/?"), f"GET {name}/groups", self.groups,
                  read),
            Route("POST", re.compile(rf"{base}/groups/?"), f"POST {name}/groups",
                  self.create_group, write),
            Route("GET", re.compile(rf"{base}/groups/(?P<group>[^/]+)"),
                  f"GET {name}/groups/{{groupName}}", self.group, read),
            Route("PATCH", re.compile(rf"{base}/groups/(?P<group>[^/]+)"),
                  f"PATCH {name}/groups/{{groupName}}", self.update_group, write),
            Route("GET", re.compile(rf"{base}/?"), f"GET {name}", self.list, read),
            Route("POST", re.compile(rf"{base}/?"), f"POST {name}", self.create, write),
            Route("GET", re.compile(rf"{base}/(?P<name>[^/]+)"), f"GET {name}/{{propertyName}}",
                  self.get, read),
            Route("PATCH", re.compile(rf"{base}/(?P<name>[^/]+)"),
                  f"PATCH {name}/{{propertyName}}", self.update, write),
            Route("DELETE", re.compile(rf"{base}/(?P<name>[^/]+)"),
                  f"DELETE {name}/{{propertyName}}", self.archive, write),
            Route("GET", re.compile(r"/properties/v2/(?P<object>[^/]+)/properties/?"),
                  "GET /properties/v2/{objectType}/properties", self.legacy, read),
        ]  # fmt: skip

    @staticmethod
    def _read_scope(match: re.Match[str]) -> str:
        kind = resolve(match["object"])
        return kind.schema_read_scope if kind else "crm.schemas.custom.read"

    @staticmethod
    def _write_scope(match: re.Match[str]) -> str:
        kind = resolve(match["object"])
        return kind.schema_write_scope if kind else "crm.schemas.custom.write"

    def _registry(self, request: Request, match: re.Match[str]) -> PropertyRegistry:
        kind = resolve(match["object"])
        if kind is None:
            raise ApiError(
                400,
                errors.validation(
                    f"Unable to infer object type from: {match['object']}", request.correlation_id
                ),
            )
        return self.app.crm.registries[kind.name]  # fmt: skip

    @staticmethod
    def _error(exc: PropertyWriteError, cid: str) -> ApiError:
        return ApiError(exc.status, errors.error(str(exc), cid, exc.category))

    # ------------------------------------------------------------------ definitions

    def list(self, request: Request, match: re.Match[str]) -> Reply:
        registry = self._registry(request, match)
        return Reply(200, {"results": registry.definitions(archived=request.flag("archived"))})

    def legacy(self, request: Request, match: re.Match[str]) -> Reply:
        registry = self._registry(request, match)
        return Reply(200, [
            legacy_property_definition(spec) if (spec := registry.declared(n)) is not None
            else legacy_definition(registry.definition(n))  # type: ignore[arg-type]
            for n in registry.names()
        ])  # fmt: skip

    def get(self, request: Request, match: re.Match[str]) -> Reply:
        definition = self._registry(request, match).definition(match["name"])
        if definition is None:
            raise ApiError(
                404,
                errors.not_found(
                    request.correlation_id, f"Unable to find property {match['name']}"
                ),
            )
        return Reply(200, definition)  # fmt: skip

    def create(self, request: Request, match: re.Match[str]) -> Reply:
        registry = self._registry(request, match)
        try:
            return Reply(201, registry.create(json_object(request), now_ms()))
        except PropertyWriteError as exc:
            raise self._error(exc, request.correlation_id) from None

    def update(self, request: Request, match: re.Match[str]) -> Reply:
        registry = self._registry(request, match)
        try:
            return Reply(200, registry.update(match["name"], json_object(request), now_ms()))
        except PropertyWriteError as exc:
            raise self._error(exc, request.correlation_id) from None

    def archive(self, request: Request, match: re.Match[str]) -> Reply:
        registry = self._registry(request, match)
        try:
            registry.archive(match["name"], now_ms())
        except PropertyWriteError as exc:
            raise self._error(exc, request.correlation_id) from None
        return Reply(204, b"")

    def _inputs(self, request: Request) -> list[Any]:
        inputs = json_object(request).get("inputs")
        cid = request.correlation_id
        if not isinstance(inputs, list):
            raise ApiError(400, errors.validation("'inputs' must be an array", cid))
        if len(inputs) > BATCH_MAX_INPUTS:
            raise ApiError(400, errors.validation(
                f"Batch input size of {len(inputs)} exceeds the limit of {BATCH_MAX_INPUTS}",
                cid))  # fmt: skip
        return inputs

    @staticmethod
    def _batch(results: list, failures: list, started: str, ok: int) -> Reply:
        body: dict[str, Any] = {"status": "COMPLETE", "results": results}
        if failures:
            body["numErrors"] = len(failures)
            body["errors"] = failures
        body["startedAt"] = started
        body["completedAt"] = iso_from_ms(now_ms())
        return Reply(207 if failures else ok, body)

    def batch_create(self, request: Request, match: re.Match[str]) -> Reply:
        started = iso_from_ms(now_ms())
        registry = self._registry(request, match)
        results, failures = [], []
        for item in self._inputs(request):
            try:
                if not isinstance(item, dict):
                    raise PropertyWriteError("each input must be a property definition")
                results.append(registry.create(item, now_ms()))
            except PropertyWriteError as exc:
                name = str(item.get("name")) if isinstance(item, dict) else ""
                failures.append(errors.batch_error(exc.category, str(exc), {"name": [name]}))
        return self._batch(results, failures, started, 201)

    def batch_read(self, request: Request, match: re.Match[str]) -> Reply:
        started = iso_from_ms(now_ms())
        registry = self._registry(request, match)
        results, missing = [], []
        for item in self._inputs(request):
            name = str(item.get("name")) if isinstance(item, dict) else ""
            definition = registry.definition(name)
            if definition is None:
                missing.append(name)
            else:
                results.append(definition)
        failures = [
            errors.batch_error("OBJECT_NOT_FOUND", f"Unable to find property {name}",
                               {"name": [name]})
            for name in missing
        ]  # fmt: skip
        return self._batch(results, failures, started, 200)

    def batch_archive(self, request: Request, match: re.Match[str]) -> Reply:
        registry = self._registry(request, match)
        for item in self._inputs(request):
            name = str(item.get("name")) if isinstance(item, dict) else ""
            if registry.definition(name) is not None and registry.declared(name) is None:
                registry.archive(name, now_ms())
        return Reply(204, b"")

    # ------------------------------------------------------------------ groups

    def groups(self, request: Request, match: re.Match[str]) -> Reply:
        return Reply(200, {"results": self._registry(request, match).groups()})

    def group(self, request: Request, match: re.Match[str]) -> Reply:
        group = self._registry(request, match).group(match["group"])
        if group is None:
            raise ApiError(404, errors.not_found(request.correlation_id))
        return Reply(200, group)

    def create_group(self, request: Request, match: re.Match[str]) -> Reply:
        registry = self._registry(request, match)
        try:
            return Reply(201, registry.create_group(json_object(request)))
        except PropertyWriteError as exc:
            raise self._error(exc, request.correlation_id) from None

    def update_group(self, request: Request, match: re.Match[str]) -> Reply:
        registry = self._registry(request, match)
        try:
            return Reply(200, registry.update_group(match["group"], json_object(request)))
        except PropertyWriteError as exc:
            raise self._error(exc, request.correlation_id) from None
