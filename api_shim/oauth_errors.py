"""Errors of the HubSpot OAuth surface (`/api/hs/auth/*`) in hubspot-integration-api.md's shape:

    {"error": {"code": "VALIDATION_ERROR", "message": "...", "details"?: {...}}}

Its routes answer their own errors with `oauth_error_body`; the shim's one error translation
(`api_shim.errors`) answers input validation errors of these paths with it too.
"""

from typing import Any

OAUTH_PREFIX = "/api/hs/auth"


def is_oauth_path(path: str) -> bool:
    return path == OAUTH_PREFIX or path.startswith(OAUTH_PREFIX + "/")


def oauth_error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if details:
        error["details"] = details
    return {"error": error}
