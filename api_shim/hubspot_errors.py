"""Errors of hubspot-integration-api.md's surface (`/api/hs/auth/*`, `/api/hs/contacts*`) in its
shape:

    {"error": {"code": "VALIDATION_ERROR", "message": "...", "details"?: {...}}}

Its routes answer their own errors with `hubspot_error_body`; the shim's one error translation
(`api_shim.errors`) answers input validation errors of these paths with it too.
"""

from typing import Any

OAUTH_PREFIX = "/api/hs/auth"


HUBSPOT_PREFIX = "/api/hs"  # the OAuth and contacts endpoints: both answer in this shape


def is_hubspot_path(path: str) -> bool:
    return path == HUBSPOT_PREFIX or path.startswith(HUBSPOT_PREFIX + "/")


def hubspot_error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if details:
        error["details"] = details
    return {"error": error}
