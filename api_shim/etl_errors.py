"""Errors of the ETL surface (`/api/v1/scans/*`, `/health`) in deals-etl-api.md's shape:

    {"error": "<code>", "message": "...", "details"?: ..., "timestamp": "...Z"}

The shim's one error translation (`api_shim.errors`) calls `etl_error_body` for paths of this
surface, so an error raised anywhere in the shared services reaches an ETL client in the ETL
document's shape and an existing-API client in the existing envelope.
"""

import logging
import secrets
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

log = logging.getLogger(__name__)

ETL_PREFIX = "/api/v1/scans"
ETL_HEALTH = "/health"

ERROR_CODES = {
    400: "validation_error",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "validation_error",
    429: "rate_limit_exceeded",
    500: "internal_error",
    503: "service_unavailable",
}
MISSING = "Field is required"
UNKNOWN = "Unknown field"


def is_etl_path(path: str) -> bool:
    return path in (ETL_HEALTH, ETL_PREFIX) or path.startswith(ETL_PREFIX + "/")


def etl_timestamp() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """`{"config": {"batch_size": ["..."]}}` -> `{"config.batch_size": "..."}`."""
    flat: dict[str, str] = {}
    for key, value in tree.items():
        name = prefix if key == "_schema" else (f"{prefix}.{key}" if prefix else str(key))
        if isinstance(value, Mapping):
            flat.update(flatten(value, name))
        elif isinstance(value, Sequence) and not isinstance(value, str):
            flat[name or "body"] = "; ".join(str(v) for v in value)
        else:
            flat[name or "body"] = str(value)
    return flat


def validation_details(errors: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """pydantic/FastAPI errors as `{"config.hubspot_access_token": "message"}`; messages never
    carry the rejected input (it may be a token)."""
    details: dict[str, list[str]] = {}
    for err in errors:
        loc = [str(p) for p in err.get("loc") or [] if isinstance(p, str)]
        if loc and loc[0] in ("body", "query", "path", "header"):
            loc = loc[1:] or loc[:1]
        kind = str(err.get("type", ""))
        if kind == "json_invalid":
            name, message = "body", "Request body is not valid JSON"
        elif kind == "missing":
            name, message = ".".join(loc) or "body", MISSING
        elif kind == "extra_forbidden":
            name, message = ".".join(loc), UNKNOWN
        else:
            name = ".".join(loc) or "body"
            message = str(err.get("msg", "Invalid value")).removeprefix("Value error, ")
        messages = details.setdefault(name, [])
        if message not in messages:
            messages.append(message)
    return {name: "; ".join(messages) for name, messages in details.items()}


def etl_error_body(
    status: int,
    message: str,
    *,
    details: Any = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {"error": ERROR_CODES.get(status, "internal_error"), "message": message}
    if details:
        body["details"] = details
    if status >= 500 and status != 503:
        body["incident_id"] = f"inc_{datetime.now(UTC):%Y%m%d_%H%M%S}_{secrets.randbelow(1000):03d}"
        log.warning("incident_id=%s: %s", body["incident_id"], message)
    body.update(extra or {})
    body["timestamp"] = etl_timestamp()
    return body
