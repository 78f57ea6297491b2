"""Property definitions and groups of one object type, with HubSpot's write rules.

The HubSpot-defined (and, for deals, the seeded custom) properties come from their declaration;
properties and groups created through `POST /crm/v3/properties/{object}` are kept here. Writes
are validated as HubSpot documents them: required fields, internal-name rules, the allowed
`type`/`fieldType` pairs, options for enumerations, an existing group, no duplicate name, no
edit of a HubSpot-defined definition. Error texts are the sandbox's (HubSpot's own wording is
not published); the category and status are HubSpot's.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from hubspot_sandbox.catalog import PropertySpec
from hubspot_sandbox.property_wire import property_definition
from hubspot_sandbox.timestamps import iso_from_ms

# HubSpot's documented valid fieldType values for each property type.
FIELD_TYPES: dict[str, frozenset[str]] = {
    "bool": frozenset({"booleancheckbox", "calculation_equation"}),
    "enumeration": frozenset(
        {"booleancheckbox", "checkbox", "radio", "select", "calculation_equation"}
    ),
    "date": frozenset({"date"}),
    "datetime": frozenset({"date"}),
    "string": frozenset(
        {"file", "text", "textarea", "calculation_equation", "html", "phonenumber"}
    ),
    "number": frozenset({"number", "calculation_equation"}),
    "phone_number": frozenset({"phonenumber"}),
}
_NAME = re.compile(r"[a-z][a-z0-9_]*")
_UPDATABLE = ("label", "description", "groupName", "type", "fieldType", "options",
              "displayOrder", "hidden", "formField")  # fmt: skip


class PropertyWriteError(ValueError):
    """A definition HubSpot refuses: `status` 400 (VALIDATION_ERROR) or 409 (CONFLICT)."""

    def __init__(self, message: str, status: int = 400, category: str = "VALIDATION_ERROR"):
        super().__init__(message)
        self.status = status
        self.category = category


def _group(name: str, label: str, order: int) -> dict[str, Any]:
    return {"name": name, "label": label, "displayOrder": order, "archived": False}


class PropertyRegistry:
    """Definitions of one object type: `specs` (declared) plus those created through the API."""

    def __init__(self, object_name: str, specs: Iterable[PropertySpec]) -> None:
        self.object_name = object_name
        self._specs: dict[str, PropertySpec] = {s.name: s for s in specs}
        self._created: dict[str, dict[str, Any]] = {}
        self._patched: dict[str, dict[str, Any]] = {}
        self._archived: dict[str, dict[str, Any]] = {}
        groups = dict.fromkeys(s.group_name for s in self._specs.values())
        self._groups: dict[str, dict[str, Any]] = {
            name: _group(
                name,
                name.replace("_", " ").replace("information", " information").strip().capitalize(),
                k,
            )  # fmt: skip
            for k, name in enumerate(groups)
        }
        self._names: tuple[str, ...] = tuple(self._specs)

    # ------------------------------------------------------------------ reads

    def names(self) -> tuple[str, ...]:
        """Every live property name, in wire order (declared, then created)."""
        return self._names

    def declared(self, name: str) -> PropertySpec | None:
        """The declared (HubSpot-defined or seeded) spec of a property; None if created later."""
        return self._specs.get(name)

    def spec_type(self, name: str) -> tuple[str, str, tuple[str, ...]] | None:
        """(type, fieldType, option values) of a live property, or None."""
        spec = self._specs.get(name)
        if spec is not None:
            return spec.type, spec.field_type, tuple(v for v, _ in spec.options)
        created = self._created.get(name)
        if created is None:
            return None
        return created["type"], created["fieldType"], tuple(o["value"] for o in created["options"])

    def is_read_only(self, name: str) -> bool:
        spec = self._specs.get(name)
        return spec is not None and spec.read_only_value

    def definition(self, name: str) -> dict[str, Any] | None:
        if name in self._specs:
            return {**property_definition(self._specs[name]), **self._patched.get(name, {})}
        return self._created.get(name)

    def definitions(self, archived: bool = False) -> list[dict[str, Any]]:
        if archived:
            return list(self._archived.values())
        return [d for d in (self.definition(n) for n in self._names) if d is not None]

    def groups(self) -> list[dict[str, Any]]:
        return list(self._groups.values())

    def group(self, name: str) -> dict[str, Any] | None:
        return self._groups.get(name)

    # ------------------------------------------------------------------ writes

    def _check(self, body: dict[str, Any], partial: bool) -> None:
        required = () if partial else ("name", "label", "type", "fieldType", "groupName")
        missing = [k for k in required if not isinstance(body.get(k), str) or not body[k]]
        if missing:
            raise PropertyWriteError(f"Missing required fields: {', '.join(missing)}")
        name = body.get("name")
        if not partial and not _NAME.fullmatch(name):
            raise PropertyWriteError(
                f"Property name '{name}' is not valid: use lowercase letters, digits and "
                "underscores, starting with a letter"
            )
        kind, field_type = body.get("type"), body.get("fieldType")
        if kind is not None and kind not in FIELD_TYPES:
            raise PropertyWriteError(
                f"Property type '{kind}' is not valid; expected one of {sorted(FIELD_TYPES)}"
            )
        if kind is not None and field_type is not None and field_type not in FIELD_TYPES[kind]:
            raise PropertyWriteError(
                f"Field type '{field_type}' is not valid for property type '{kind}'; allowed: "
                f"{sorted(FIELD_TYPES[kind])}"
            )
        options = body.get("options")
        if options is not None and not (
            isinstance(options, list)
            and all(isinstance(o, dict) and o.get("label") and "value" in o for o in options)
        ):
            raise PropertyWriteError("Each option needs a 'label' and a 'value'")
        if kind == "enumeration" and field_type != "calculation_equation" and not options:
            raise PropertyWriteError(f"Enumeration property '{name}' needs 'options'")
        group = body.get("groupName")
        if group is not None and group not in self._groups:
            raise PropertyWriteError(f"Property group '{group}' does not exist")

    def create(self, body: dict[str, Any], at_ms: int) -> dict[str, Any]:
        self._check(body, partial=False)
        name = body["name"]
        if name in self._specs or name in self._created:
            raise PropertyWriteError(f"Property named '{name}' already exists.", 409, "CONFLICT")
        stamp = iso_from_ms(at_ms)
        definition = {
            "name": name,
            "label": body["label"],
            "type": body["type"],
            "fieldType": body["fieldType"],
            "description": body.get("description", ""),
            "groupName": body["groupName"],
            "options": [
                {
                    "label": o["label"],
                    "value": str(o["value"]),
                    "description": o.get("description", ""),
                    "displayOrder": o.get("displayOrder", k),
                    "hidden": bool(o.get("hidden", False)),
                }
                for k, o in enumerate(body.get("options") or [])
            ],  # fmt: skip
            "createdAt": stamp,
            "updatedAt": stamp,
            "createdUserId": None,
            "updatedUserId": None,
            "displayOrder": body.get("displayOrder", -1),
            "calculated": False,
            "externalOptions": False,
            "archived": False,
            "hasUniqueValue": bool(body.get("hasUniqueValue", False)),
            "hidden": bool(body.get("hidden", False)),
            "hubspotDefined": False,
            "modificationMetadata": {
                "archivable": True,
                "readOnlyDefinition": False,
                "readOnlyValue": False,
            },
            "formField": bool(body.get("formField", False)),
            "dataSensitivity": "non_sensitive",
        }
        self._archived.pop(name, None)
        self._created[name] = definition
        self._names = (*self._names, name)
        return definition

    def update(self, name: str, body: dict[str, Any], at_ms: int) -> dict[str, Any]:
        current = self.definition(name)
        if current is None:
            raise PropertyWriteError(f"Property {name} does not exist", 404, "OBJECT_NOT_FOUND")
        if current["hubspotDefined"] and set(body) - {"label", "description", "options"}:
            raise PropertyWriteError(
                f"Property '{name}' is defined by HubSpot: only its label, description and "
                "options can change"
            )
        kept = {k: current[k] for k in ("type", "fieldType", "options")}
        self._check({**kept, **body, "name": name}, partial=True)
        change = {k: body[k] for k in _UPDATABLE if k in body}
        change["updatedAt"] = iso_from_ms(at_ms)
        if name in self._created:
            self._created[name].update(change)
        else:
            self._patched[name] = {**self._patched.get(name, {}), **change}
        return self.definition(name)  # type: ignore[return-value]

    def archive(self, name: str, at_ms: int) -> None:
        definition = self._created.pop(name, None)
        if definition is None:
            if name in self._specs:
                raise PropertyWriteError(f"Property '{name}' is defined by HubSpot")
            raise PropertyWriteError(f"Property {name} does not exist", 404, "OBJECT_NOT_FOUND")
        self._archived[name] = {**definition, "archived": True, "archivedAt": iso_from_ms(at_ms)}
        self._names = tuple(n for n in self._names if n != name)

    def create_group(self, body: dict[str, Any]) -> dict[str, Any]:
        name, label = body.get("name"), body.get("label")
        if not isinstance(name, str) or not _NAME.fullmatch(name) or not label:
            raise PropertyWriteError("A property group needs a valid 'name' and a 'label'")
        if name in self._groups:
            raise PropertyWriteError(f"Property group '{name}' already exists.", 409, "CONFLICT")
        group = _group(name, str(label), int(body.get("displayOrder", -1)))
        self._groups[name] = group
        return group

    def update_group(self, name: str, body: dict[str, Any]) -> dict[str, Any]:
        group = self._groups.get(name)
        if group is None:
            raise PropertyWriteError(f"Property group {name} does not exist", 404,
                                     "OBJECT_NOT_FOUND")  # fmt: skip
        group.update({k: body[k] for k in ("label", "displayOrder") if k in body})
        return group
