"""Database values as JSON: numbers, booleans, ISO 8601 strings, objects for JSON columns, as
the REST layer answers them from either destination's reads."""

import base64
import math
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import orjson


def iso_timestamp(value: datetime) -> str:
    """UTC with a `Z`; milliseconds when that is exact (HubSpot's precision), else microseconds."""
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if value.microsecond == 0:
        spec = "seconds"
    elif value.microsecond % 1000 == 0:
        spec = "milliseconds"
    else:
        spec = "microseconds"
    return value.replace(tzinfo=None).isoformat(timespec=spec) + "Z"


def iso_text(value: str | None) -> str | None:
    """A timestamp the database wrote as `YYYY-MM-DDTHH:MM:SS.ffffffZ`, as `iso_timestamp`
    writes it: whole seconds without a fraction, exact milliseconds with three digits."""
    if value is None:
        return None
    if value.endswith(".000000Z"):
        return value[:-8] + "Z"
    if value.endswith("000Z"):
        return value[:-4] + "Z"
    return value


def json_value(value: Any) -> Any:
    """One value from a result row, as JSON can carry it."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, datetime):
        return iso_timestamp(value)
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        number = float(value)
        return number if math.isfinite(number) else None
    if isinstance(value, dict):
        return {str(k): json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_value(v) for v in value]
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, timedelta):
        return value.total_seconds()
    return str(value)


def parse_json_text(value: Any) -> Any:
    """A JSON column that the driver hands over as text."""
    if isinstance(value, str | bytes):
        try:
            return orjson.loads(value)
        except orjson.JSONDecodeError:
            return value
    return json_value(value)
