"""HubSpot's wire timestamps: ISO-8601 UTC with milliseconds and `Z`, dates as `YYYY-MM-DD`."""

from __future__ import annotations

import datetime as dt
import re
import time

_EPOCH_DATE = dt.date(1970, 1, 1)
_DAY_MS = 86_400_000
_day_strings: dict[int, str] = {}
_EPOCH_MS = re.compile(r"-?\d+")


def day_string(days_since_epoch: int) -> str:
    """`YYYY-MM-DD` for a day number; memoized because a few thousand days cover every deal."""
    text = _day_strings.get(days_since_epoch)
    if text is None:
        text = (_EPOCH_DATE + dt.timedelta(days=days_since_epoch)).isoformat()
        _day_strings[days_since_epoch] = text
    return text


# Lookup tables for the hot path of every deal: "THH:MM:SS" per second of the day, ".mmmZ".
_CLOCK = [f"T{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in range(86_400)]
_MILLIS = [f".{ms:03d}Z" for ms in range(1000)]


def iso_from_ms(epoch_ms: int) -> str:
    """`2023-02-24T03:01:01.147Z` for epoch milliseconds."""
    days, rem = divmod(epoch_ms, _DAY_MS)
    seconds, millis = divmod(rem, 1000)
    day = _day_strings.get(days) or day_string(days)
    return day + _CLOCK[seconds] + _MILLIS[millis]


_CLOCK_BYTES = [text.encode() for text in _CLOCK]
_MILLIS_BYTES = [text.encode() for text in _MILLIS]
_day_bytes: dict[int, bytes] = {}


def iso_bytes_from_ms(epoch_ms: int) -> bytes:
    """`iso_from_ms` as ASCII bytes, for the pre-encoded JSON of deals."""
    days, rem = divmod(epoch_ms, _DAY_MS)
    seconds, millis = divmod(rem, 1000)
    day = _day_bytes.get(days)
    if day is None:
        day = _day_bytes[days] = day_string(days).encode()
    return day + _CLOCK_BYTES[seconds] + _MILLIS_BYTES[millis]


def date_from_ms(epoch_ms: int) -> str:
    return day_string(epoch_ms // _DAY_MS)


def ms_from_iso(text: str) -> int:
    """Epoch ms of an ISO datetime (`Z` or offset; naive means UTC) or a `YYYY-MM-DD` date."""
    value = text.strip()
    if len(value) == 10:
        return (dt.date.fromisoformat(value) - _EPOCH_DATE).days * _DAY_MS
    parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    delta = parsed - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    return delta.days * _DAY_MS + delta.seconds * 1000 + delta.microseconds // 1000


def ms_from_filter_value(value: object) -> int:
    """Epoch ms from a search filter value: a number, a numeric string or an ISO string."""
    if isinstance(value, bool):
        raise ValueError("a boolean is not a timestamp")
    if isinstance(value, int | float):
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        if _EPOCH_MS.fullmatch(text):
            return int(text)
        return ms_from_iso(text)
    raise ValueError(f"not a timestamp: {value!r}")


def now_ms() -> int:
    return time.time_ns() // 1_000_000
