"""Typed columns for deals: HubSpot sends every property value as a string or null.

Each property is typed from its definition (numbers as doubles, datetimes as timestamps, dates
as dates, checkboxes as booleans, everything else as text) and a page of deals becomes one Arrow
table, which dlt loads without its row-by-row normalizer. A value that does not parse as its
declared type is never dropped: it goes to the row's `_unparsed` JSON column under its name.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from hubspot_deals.scan import ORGANIZATION_ID_COLUMN, SCAN_ID_COLUMN

TIMESTAMP = pa.timestamp("us", tz="UTC")
ARROW_TYPES: dict[str, pa.DataType] = {
    "double": pa.float64(),
    "timestamp": TIMESTAMP,
    "date": pa.date32(),
    "bool": pa.bool_(),
    "text": pa.string(),
}
# Deal fields outside `properties`, and the scan's own columns.
RECORD_COLUMNS = ("id", "created_at", "updated_at", "archived", "archived_at")
SCAN_COLUMNS = (SCAN_ID_COLUMN, ORGANIZATION_ID_COLUMN, "_scan_chunk")
UNPARSED_COLUMN = "_unparsed"
CHUNK_FIELD = pa.field("_scan_chunk", pa.int32(), nullable=False)
RESERVED = frozenset(RECORD_COLUMNS + SCAN_COLUMNS + (UNPARSED_COLUMN,))


@dataclass(frozen=True)
class CrmProperty:
    """A deal property definition as far as typing needs it."""

    name: str
    type: str
    field_type: str = ""
    definition: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @classmethod
    def from_definition(cls, d: dict[str, Any]) -> "CrmProperty":
        return cls(d["name"], d.get("type") or "string", d.get("fieldType") or "", d)

    @property
    def column_type(self) -> str:
        if self.type == "number":
            return "double"
        if self.type == "datetime":
            return "timestamp"
        if self.type == "date":
            return "date"
        if self.type == "bool" or (
            self.type == "enumeration" and self.field_type == "booleancheckbox"
        ):
            return "bool"
        return "text"

    @property
    def column_name(self) -> str:
        return f"property_{self.name}" if self.name in RESERVED else self.name


def parse_hubspot_datetime(value: str) -> datetime | None:
    if value.isdigit():
        return datetime.fromtimestamp(int(value) / 1000, tz=UTC)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _parse_date(value: str) -> date | None:
    try:
        return date.fromisoformat(value)
    except ValueError:
        parsed = parse_hubspot_datetime(value)
        return parsed.date() if parsed else None


def _parse_double(value: str) -> float | None:
    try:
        return float(value)
    except ValueError:
        return None


_BOOLS = {"true": True, "false": False}
_BOOL_WORDS = pa.array(["true", "false"])
_SCALAR_PARSERS = {
    "double": _parse_double,
    "timestamp": parse_hubspot_datetime,
    "date": _parse_date,
}


_EMPTY = pa.scalar(None, pa.string())


def typed_array(
    raw: pa.Array, column_type: str, name: str, unparsed: list[dict | None]
) -> pa.Array:
    """One column's raw strings as an Arrow array of its type; misfits go to `unparsed`.

    Arrow's own casts type the whole column at once; only a column holding a value that does
    not parse is typed value by value, so that the misfit can be kept.
    """
    if column_type == "text":
        return raw
    cleaned = pc.if_else(pc.equal(raw, ""), _EMPTY, raw)
    if column_type == "bool":
        lower = pc.utf8_lower(cleaned)
        known = pc.is_in(lower, value_set=_BOOL_WORDS)
        if pc.all(pc.or_kleene(known, pc.is_null(lower))).as_py() is not False:
            return pc.equal(lower, "true")
        out: list[bool | None] = []
        for i, v in enumerate(cleaned.to_pylist()):
            b = None if v is None else _BOOLS.get(v.lower())
            if v is not None and b is None:
                _keep(unparsed, i, name, v)
            out.append(b)
        return pa.array(out, pa.bool_())
    target = ARROW_TYPES[column_type]
    try:
        return pc.cast(cleaned, target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    parse = _SCALAR_PARSERS[column_type]
    parsed = []
    for i, v in enumerate(cleaned.to_pylist()):
        p = None if v is None else parse(v)
        if v is not None and p is None:
            _keep(unparsed, i, name, v)
        parsed.append(p)
    return pa.array(parsed, target)


def _keep(unparsed: list[dict | None], row: int, name: str, value: str) -> None:
    if unparsed[row] is None:
        unparsed[row] = {}
    unparsed[row][name] = value  # type: ignore[index]


def _timestamps(values: Iterable[str | None]) -> pa.Array:
    vals = list(values)
    try:
        return pc.cast(pa.array(vals, pa.string()), TIMESTAMP)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return pa.array([None if v is None else parse_hubspot_datetime(v) for v in vals], TIMESTAMP)


class ObjectTableBuilder:
    """Turns pages of HubSpot deal objects into Arrow tables with one fixed schema."""

    def __init__(
        self, properties: Sequence[CrmProperty], scan_id: str, organization_id: str
    ) -> None:
        self.properties = list(properties)
        self.scan_id = scan_id
        self.organization_id = organization_id
        self._struct = pa.struct([(p.name, pa.string()) for p in self.properties])
        self.schema = pa.schema(
            [pa.field("id", pa.string(), nullable=False)]
            + [pa.field(p.column_name, ARROW_TYPES[p.column_type]) for p in self.properties]
            + [
                pa.field("created_at", TIMESTAMP),
                pa.field("updated_at", TIMESTAMP),
                pa.field("archived", pa.bool_()),
                pa.field("archived_at", TIMESTAMP),
                pa.field(UNPARSED_COLUMN, pa.string()),
                pa.field(SCAN_ID_COLUMN, pa.string(), nullable=False),
                pa.field(ORGANIZATION_ID_COLUMN, pa.string(), nullable=False),
            ]
        )

    def _raw_properties(self, props: list[dict[str, Any]]) -> pa.StructArray:
        """Every property as a string column, converted by Arrow in one pass."""
        try:
            return pa.array(props, type=self._struct)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            # HubSpot documents string-or-null values; stringify anything else rather than fail.
            names = [p.name for p in self.properties]
            coerced = [{k: None if r.get(k) is None else str(r[k]) for k in names} for r in props]
            return pa.array(coerced, type=self._struct)

    def build(self, deals: Sequence[dict[str, Any]]) -> pa.Table:
        """The deals as one table of `schema` (the chunk number is added when it is known)."""
        n = len(deals)
        unparsed: list[dict | None] = [None] * n
        raw = self._raw_properties([d["properties"] for d in deals])
        columns: list[pa.Array] = [pa.array([d["id"] for d in deals], pa.string())]
        for i, p in enumerate(self.properties):
            columns.append(typed_array(raw.field(i), p.column_type, p.name, unparsed))
        columns += [
            _timestamps(d.get("createdAt") for d in deals),
            _timestamps(d.get("updatedAt") for d in deals),
            pa.array([bool(d.get("archived", False)) for d in deals], pa.bool_()),
            _timestamps(d.get("archivedAt") for d in deals),
            pa.array(
                [None if u is None else orjson.dumps(u).decode() for u in unparsed], pa.string()
            ),
            pa.array([self.scan_id] * n, pa.string()),
            pa.array([self.organization_id] * n, pa.string()),
        ]
        return pa.Table.from_arrays(columns, schema=self.schema)


def with_chunk(table: pa.Table, chunk: int) -> pa.Table:
    """The table with the checkpointed chunk that loads it (`_scan_chunk`)."""
    return table.append_column(CHUNK_FIELD, pa.repeat(pa.scalar(chunk, pa.int32()), len(table)))
