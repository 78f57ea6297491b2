"""HubSpot's error bodies, built in one place so every route answers in the same shapes."""

from __future__ import annotations

import uuid
from typing import Any

SCOPES_LINK = "https://developers.hubspot.com/scopes"
OAUTH_LINK = "https://developers.hubspot.com/docs/methods/auth/oauth-overview"


def error(message: str, correlation_id: str, category: str, **extra: Any) -> dict[str, Any]:
    """The generic `Error` object: status, message, correlationId, category (+ extras)."""
    return {
        "status": "error",
        "message": message,
        "correlationId": correlation_id,
        "category": category,
        **extra,
    }


def batch_error(
    category: str, message: str, context: dict[str, list[str]], sub_category: str | None = None
) -> dict[str, Any]:
    """One entry of a batch answer's `errors` (HubSpot's `StandardError`: `errors` and `links`
    are required by its spec, and HubSpot's own clients refuse an entry without them)."""
    entry: dict[str, Any] = {"status": "error", "category": category}
    if sub_category is not None:
        entry["subCategory"] = sub_category
    entry.update(message=message, context=context, errors=[], links={})
    return entry


def invalid_authentication(correlation_id: str) -> dict[str, Any]:
    return error(
        "Authentication credentials not found. This API supports OAuth 2.0 authentication and "
        f"you can find more details at {OAUTH_LINK}",
        correlation_id,
        "INVALID_AUTHENTICATION",
    )


def missing_scopes(correlation_id: str, scopes: list[str]) -> dict[str, Any]:
    return {
        "status": "error",
        "message": "This app hasn't been granted all required scopes to make this call. "
        f"Read more about required scopes here: {SCOPES_LINK}.",
        "correlationId": correlation_id,
        "errors": [
            {
                "message": "One or more of the following scopes are required.",
                "context": {"requiredGranularScopes": scopes},
            }
        ],
        "links": {"scopes": SCOPES_LINK},
        "category": "MISSING_SCOPES",
    }


def validation(message: str, correlation_id: str) -> dict[str, Any]:
    return error(message, correlation_id, "VALIDATION_ERROR")


def not_found(correlation_id: str, message: str = "resource not found") -> dict[str, Any]:
    return error(message, correlation_id, "OBJECT_NOT_FOUND")


def rate_limited(policy: str, correlation_id: str, group_name: str) -> dict[str, Any]:
    """The 429 bodies HubSpot sends for each policy (recorded shapes, key order included)."""
    if policy == "TEN_SECONDLY_ROLLING":
        return {
            "status": "error",
            "message": "You have reached your ten_secondly_rolling limit.",
            "errorType": "RATE_LIMIT",
            "correlationId": correlation_id,
            "policyName": "TEN_SECONDLY_ROLLING",
            "groupName": group_name,
        }
    message = (
        "You have reached your daily limit."
        if policy == "DAILY"
        else "You have reached your secondly limit."
    )
    return {
        "status": "error",
        "message": message,
        "errorType": "RATE_LIMIT",
        "correlationId": correlation_id,
        "policyName": policy,
        "requestId": str(uuid.uuid4()),
    }


URI_TOO_LONG_HTML = (
    b"<html>\r\n<head><title>414 Request-URI Too Large</title></head>\r\n<body>\r\n"
    b"<center><h1>414 Request-URI Too Large</h1></center>\r\n</body>\r\n</html>\r\n"
)
