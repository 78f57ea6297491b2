"""A search request: HubSpot's validation of the body and the typing of each filter.

Shared by the deals' search (`search.py`) and the other object types' (`object_search.py`), so
both answer with the same limits, errors and semantics. Filters are typed by the property's
type: numbers compare numerically, datetime and date properties as epoch milliseconds (filter
values as epoch-ms numbers or strings, or ISO strings), everything else as case-insensitive
strings. A property without a value ("" or null) matches only NEQ, NOT_IN, NOT_HAS_PROPERTY and
NOT_CONTAINS_TOKEN.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

import orjson

from hubspot_sandbox.timestamps import ms_from_filter_value, ms_from_iso

OPERATORS = frozenset(
    {
        "EQ",
        "NEQ",
        "LT",
        "LTE",
        "GT",
        "GTE",
        "BETWEEN",
        "IN",
        "NOT_IN",
        "HAS_PROPERTY",
        "NOT_HAS_PROPERTY",
        "CONTAINS_TOKEN",
        "NOT_CONTAINS_TOKEN",
    }
)
_TOKEN_SPLIT = re.compile(r"[\W_]+", re.UNICODE)

Typed = float | int | str | None


class SearchValidationError(ValueError):
    """A request HubSpot answers with 400 VALIDATION_ERROR."""


@dataclass(frozen=True)
class SearchLimits:
    max_filter_groups: int = 5
    max_filters_per_group: int = 6
    max_filters_total: int = 18
    max_results: int = 10_000
    max_page_size: int = 200
    max_query_length: int = 3_000
    reject_over_limit: bool = False  # False: clamp `limit` above the maximum, like the list API


@dataclass(frozen=True)
class Filter:
    property: str
    operator: str
    value: Any = None
    high_value: Any = None
    values: tuple[Any, ...] = ()


@dataclass(frozen=True)
class SearchRequest:
    groups: tuple[tuple[Filter, ...], ...]
    sort_property: str | None
    descending: bool
    query: str | None
    properties: list[str] | None
    limit: int
    after: int

    def cache_key(self) -> bytes:
        return orjson.dumps(
            [
                [[f.property, f.operator, f.value, f.high_value, f.values] for f in g]
                for g in self.groups
            ]
            + [self.sort_property, self.descending, self.query],
            default=str,
        )


def _int_param(value: Any, name: str, default: int) -> int:
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        raise SearchValidationError(f"'{name}' must be an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
        return int(value)
    raise SearchValidationError(f"'{name}' must be an integer, got {value!r}")


def _parse_filter(raw: Any) -> Filter:
    if not isinstance(raw, dict):
        raise SearchValidationError("each filter must be an object")
    name = raw.get("propertyName")
    operator = raw.get("operator", "EQ")
    if not isinstance(name, str) or not name:
        raise SearchValidationError("each filter needs a 'propertyName'")
    if not isinstance(operator, str) or operator.upper() not in OPERATORS:
        raise SearchValidationError(
            f"Unknown filter operator {operator!r}; expected one of {', '.join(sorted(OPERATORS))}"
        )
    operator = operator.upper()
    values = raw.get("values")
    if operator in ("IN", "NOT_IN"):
        if not isinstance(values, list) or not values:
            raise SearchValidationError(f"operator {operator} on {name!r} requires 'values'")
    elif operator not in ("HAS_PROPERTY", "NOT_HAS_PROPERTY") and raw.get("value") is None:
        raise SearchValidationError(f"operator {operator} on {name!r} requires 'value'")
    if operator == "BETWEEN" and raw.get("highValue") is None:
        raise SearchValidationError(f"operator BETWEEN on {name!r} requires 'highValue'")
    return Filter(
        name,
        operator,
        raw.get("value"),
        raw.get("highValue"),
        tuple(values) if isinstance(values, list) else (),
    )


def parse_search_request(body: Any, limits: SearchLimits) -> SearchRequest:
    """Validates a search body the way HubSpot does; raises SearchValidationError."""
    if not isinstance(body, dict):
        raise SearchValidationError("the request body must be a JSON object")
    raw_groups = body.get("filterGroups") or []
    if not isinstance(raw_groups, list):
        raise SearchValidationError("'filterGroups' must be an array")
    groups: list[tuple[Filter, ...]] = []
    for raw in raw_groups:
        filters = raw.get("filters") if isinstance(raw, dict) else None
        if not isinstance(filters, list):
            raise SearchValidationError("each filter group needs a 'filters' array")
        groups.append(tuple(_parse_filter(f) for f in filters))
    legacy = body.get("filters")
    if legacy:
        # The pre-filterGroups form (Airbyte still sends it): one ANDed group.
        if not isinstance(legacy, list):
            raise SearchValidationError("'filters' must be an array")
        groups.append(tuple(_parse_filter(f) for f in legacy))
    if len(groups) > limits.max_filter_groups:
        raise SearchValidationError(
            f"Too many filter groups: {len(groups)}; the maximum is {limits.max_filter_groups}"
        )
    for group in groups:
        if len(group) > limits.max_filters_per_group:
            raise SearchValidationError(
                f"Too many filters in a filter group: {len(group)}; the maximum is "
                f"{limits.max_filters_per_group}"
            )
    total = sum(len(g) for g in groups)
    if total > limits.max_filters_total:
        raise SearchValidationError(
            f"Too many filters: {total}; the maximum is {limits.max_filters_total}"
        )

    sort_property, descending = None, False
    sorts = body.get("sorts") or []
    if not isinstance(sorts, list):
        raise SearchValidationError("'sorts' must be an array")
    if sorts:
        # HubSpot honours one sort rule only.
        first = sorts[0]
        if isinstance(first, str):
            descending = first.startswith("-")
            sort_property = first.lstrip("-+") or None
        elif isinstance(first, dict):
            sort_property = first.get("propertyName")
            direction = str(first.get("direction", "ASCENDING")).upper()
            if direction not in ("ASCENDING", "DESCENDING"):
                raise SearchValidationError(f"Unknown sort direction {direction!r}")
            descending = direction == "DESCENDING"
        else:
            raise SearchValidationError("each sort must be a string or an object")

    query = body.get("query")
    if query is not None and not isinstance(query, str):
        raise SearchValidationError("'query' must be a string")
    if query and len(query) > limits.max_query_length:
        raise SearchValidationError(
            f"The query is {len(query)} characters long; the maximum is {limits.max_query_length}"
        )

    properties = body.get("properties")
    if properties is not None:
        if isinstance(properties, str):
            properties = properties.split(",")
        if not isinstance(properties, list):
            raise SearchValidationError("'properties' must be an array of names")
        properties = [str(p).strip() for p in properties if str(p).strip()] or None

    limit = _int_param(body.get("limit"), "limit", 10)
    if limit < 1:
        raise SearchValidationError("'limit' must be at least 1")
    if limit > limits.max_page_size:
        if limits.reject_over_limit:
            raise SearchValidationError(
                f"'limit' must be at most {limits.max_page_size}, got {limit}"
            )
        limit = limits.max_page_size
    after = _int_param(body.get("after"), "after", 0)
    if after < 0:
        raise SearchValidationError("'after' must not be negative")
    if after + limit > limits.max_results:
        raise SearchValidationError(
            f"Search results are limited to {limits.max_results} per query: after ({after}) + "
            f"limit ({limit}) goes past it. Narrow the query, e.g. with an hs_object_id range."
        )
    return SearchRequest(
        tuple(groups),
        sort_property or None,
        descending,
        query.strip() if query else None,
        properties,
        limit,
        after,
    )


# ---------------------------------------------------------------------- typing


def _as_float(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _as_ms(text: str) -> int | None:
    try:
        return ms_from_iso(text)
    except ValueError:
        return None


def stored_converter(prop_type: str | None) -> Callable[[str], Typed]:
    """Wire value (non-empty string) -> comparable value for the property's type."""
    if prop_type == "number":
        return _as_float
    if prop_type in ("datetime", "date"):
        return _as_ms
    return str.lower


def filter_converter(prop_type: str | None, name: str) -> Callable[[Any], Typed]:
    def convert(value: Any) -> Typed:
        try:
            if prop_type == "number":
                if isinstance(value, bool):
                    raise ValueError
                return float(value)
            if prop_type in ("datetime", "date"):
                return ms_from_filter_value(value)
        except (TypeError, ValueError):
            raise SearchValidationError(
                f"{value!r} is not a valid {prop_type} value for property {name!r}"
            ) from None
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value).lower()

    return convert


def word_tokens(text: str) -> list[str]:
    return [t for t in _TOKEN_SPLIT.split(text) if t]


def value_predicate(f: Filter, prop_type: str | None, multi: bool) -> Callable[[Typed], bool]:
    """A test on the typed value (None = no value) for one filter."""
    convert = filter_converter(prop_type, f.property)
    op = f.operator
    if op == "HAS_PROPERTY":
        return lambda v: v is not None
    if op == "NOT_HAS_PROPERTY":
        return lambda v: v is None
    if op in ("CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"):
        pattern = str(f.value).lower()

        def contains(v: Typed) -> bool:
            if v is None:
                return False
            return any(fnmatchcase(t, pattern) for t in word_tokens(str(v)))

        if op == "CONTAINS_TOKEN":
            return contains
        return lambda v: not contains(v)
    if op in ("IN", "NOT_IN"):
        wanted = frozenset(convert(x) for x in f.values)

        def is_in(v: Typed) -> bool:
            if v is None:
                return False
            if multi and isinstance(v, str):
                return any(part in wanted for part in v.split(";"))
            return v in wanted

        if op == "IN":
            return is_in
        return lambda v: not is_in(v)
    x = convert(f.value)
    if op == "EQ":
        return lambda v: v is not None and v == x
    if op == "NEQ":
        return lambda v: v is None or v != x
    if op == "LT":
        return lambda v: v is not None and v < x  # type: ignore[operator]
    if op == "LTE":
        return lambda v: v is not None and v <= x  # type: ignore[operator]
    if op == "GT":
        return lambda v: v is not None and v > x  # type: ignore[operator]
    if op == "GTE":
        return lambda v: v is not None and v >= x  # type: ignore[operator]
    if op == "BETWEEN":
        high = convert(f.high_value)
        return lambda v: v is not None and x <= v <= high  # type: ignore[operator]
    raise AssertionError(op)
