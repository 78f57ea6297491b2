"""Writes to the generic records: value validation and the create/update/archive rules, shared by
the HubSpot routes (`object_routes`) and the admin routes.

Values are checked against the type's property definitions the way HubSpot reports it: a 400
`VALIDATION_ERROR` whose message is "Property values were not valid: " followed by a JSON list of
`{"isValid": false, "message", "error", "name", "localizedErrorMessage"}` (errors such as
PROPERTY_DOESNT_EXIST, READ_ONLY_VALUE, INVALID_OPTION, INVALID_DECIMAL, INVALID_EMAIL). A
duplicate unique value (contacts' email) is a 409 `CONFLICT` "Contact already exists. Existing ID:
<id>", the message HubSpot sends.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

from hubspot_sandbox.records import ObjectStore
from hubspot_sandbox.timestamps import date_from_ms, iso_from_ms, ms_from_filter_value

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


class WriteError(Exception):
    """A write HubSpot refuses: `status`, `category`, `message` and, for a conflict, the id."""

    def __init__(self, status: int, category: str, message: str, existing_id: str | None = None):
        super().__init__(message)
        self.status = status
        self.category = category
        self.message = message
        self.existing_id = existing_id


def _invalid(name: str, error: str, message: str) -> dict[str, Any]:
    return {"isValid": False, "message": message, "error": error, "name": name,
            "localizedErrorMessage": message}  # fmt: skip


def _wire_value(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def coerce(store: ObjectStore, properties: Any) -> dict[str, str | None]:
    """HubSpot's wire strings for `properties`, or a WriteError listing every invalid value."""
    if not isinstance(properties, dict):
        raise WriteError(400, "VALIDATION_ERROR", "'properties' must be an object")
    values: dict[str, str | None] = {}
    problems = []
    for name, raw in properties.items():
        spec = store.registry.spec_type(name)
        value = _wire_value(raw)
        if spec is None:
            problems.append(_invalid(name, "PROPERTY_DOESNT_EXIST",
                                     f'Property "{name}" does not exist'))  # fmt: skip
            continue
        if store.registry.is_read_only(name):
            problems.append(
                _invalid(
                    name,
                    "READ_ONLY_VALUE",
                    f'"{name}" is a read only property; its value cannot be set.',
                )
            )
            continue  # fmt: skip
        kind, field_type, options = spec
        if value in (None, ""):
            values[name] = "" if value == "" else None
            continue
        if kind == "number":
            try:
                float(value)
            except ValueError:
                problems.append(_invalid(name, "INVALID_DECIMAL",
                                         f"{value} was not a valid number."))  # fmt: skip
                continue
        elif kind in ("datetime", "date"):
            try:
                ms = ms_from_filter_value(value)
            except (TypeError, ValueError):
                problems.append(_invalid(name, "INVALID_DATE",
                                         f"{value} was not a valid date."))  # fmt: skip
                continue
            value = iso_from_ms(ms) if kind == "datetime" else date_from_ms(ms)
        elif kind in ("enumeration", "bool") and options:
            parts = value.split(";") if field_type == "checkbox" else [value]
            bad = [p for p in parts if p not in options]
            if bad:
                problems.append(
                    _invalid(
                        name,
                        "INVALID_OPTION",
                        f"{bad[0]} was not one of the allowed options: [{', '.join(options)}]",
                    )
                )
                continue  # fmt: skip
        elif name == "email" and not _EMAIL.fullmatch(value):
            problems.append(_invalid(name, "INVALID_EMAIL", f"Email address {value} is invalid"))
            continue
        values[name] = value
    if problems:
        raise WriteError(
            400,
            "VALIDATION_ERROR",
            "Property values were not valid: " + orjson.dumps(problems).decode(),
        )
    return values  # fmt: skip


def _check_unique(store: ObjectStore, values: dict[str, str | None], index: int | None) -> None:
    name = store.kind.unique_property
    if name and values.get(name):
        holder = store.find_unique(values[name], exclude=index)
        if holder is not None:
            existing = store.record_id(holder)
            raise WriteError(409, "CONFLICT",
                             f"{store.kind.singular.capitalize()} already exists. Existing ID: "
                             f"{existing}", existing)  # fmt: skip


def create(store: ObjectStore, properties: Any, at_ms: int) -> int:
    values = coerce(store, properties)
    _check_unique(store, values, None)
    return store.create(values, at_ms)


def update(store: ObjectStore, index: int, properties: Any, at_ms: int) -> dict[str, str | None]:
    values = coerce(store, properties)
    _check_unique(store, values, index)
    store.update(index, values, at_ms)
    return values


def live_index(store: ObjectStore, record_id: Any, id_property: str | None = None) -> int | None:
    """The live record an id (or a unique property's value) names."""
    if id_property not in (None, "", "hs_object_id"):
        if id_property != store.kind.unique_property:
            raise WriteError(400, "VALIDATION_ERROR",
                             f"Unknown idProperty {id_property!r}")  # fmt: skip
        return store.find_unique(str(record_id))
    index = store.index_of(record_id)
    return None if index is None or store.is_archived(index) else index
