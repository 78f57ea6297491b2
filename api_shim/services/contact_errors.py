"""The contacts API's errors: HubSpot's answers in hubspot-integration-api.md's codes, once.

`hubspot_call` makes one HubSpot call for a tenant and turns every failure into a
`ContactError` (status, code, message, details, headers), or `Uncertain` for a create whose
outcome HubSpot did not tell.
"""

import contextlib
import json
import re
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from api_shim.services.hubspot_access import HubSpotAccess, NotConnected
from api_shim.services.hubspot_oauth import OAuthError
from hubspot_deals.source.client import HubSpotClient
from hubspot_deals.source.errors import (
    HubSpotAuthenticationError,
    HubSpotError,
    HubSpotRateLimitError,
    HubSpotRequestError,
    HubSpotScopeError,
    HubSpotWriteUncertain,
)

_EXISTING_ID = re.compile(r"Existing ID:\s*(\d+)")
T = TypeVar("T")


class ContactError(Exception):
    """An answer in the document's error shape: status, code, message, details, headers."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.details, self.headers = details, headers or {}


class Uncertain(Exception):
    """A create's outcome is unknown (HubSpot 5xx or a lost connection)."""


def hubspot_call(
    access: HubSpotAccess,
    tenant: str,
    call: Callable[[HubSpotClient], T],
    *,
    contact_id: str | None = None,
) -> T:
    """One HubSpot call for the tenant, its errors in the document's codes."""
    try:
        client = access.client(tenant)
        return call(client)
    except NotConnected:
        raise ContactError(
            401,
            "AUTHENTICATION_REQUIRED",
            "Not authenticated with HubSpot: authorize with /api/hs/auth/login, or give the "
            "organization a private-app token in the organizations file",
        ) from None
    except OAuthError as exc:
        raise ContactError(401, "INVALID_TOKEN", exc.message) from None
    except HubSpotWriteUncertain:
        raise Uncertain() from None
    except HubSpotAuthenticationError:
        raise ContactError(
            401, "INVALID_TOKEN", "HubSpot rejected the access token (expired or revoked)"
        ) from None
    except HubSpotScopeError as exc:
        raise ContactError(403, "INSUFFICIENT_SCOPE", str(exc)) from None
    except HubSpotRateLimitError:
        raise rate_limited(access, tenant) from None
    except HubSpotRequestError as exc:
        raise _client_error(exc, contact_id) from None
    except HubSpotError as exc:
        raise ContactError(503, "SERVICE_UNAVAILABLE", str(exc)) from None


def rate_limited(access: HubSpotAccess, tenant: str) -> ContactError:
    """HubSpot's limit outlasted the request's patience: a 429 with what HubSpot said of it."""
    limit: dict[str, Any] = {}
    with contextlib.suppress(NotConnected):
        limit = access.client(tenant).rate_limit
    retry_after = 60 if limit.get("daily_remaining") == 0 else 10
    details = {
        "retryAfter": retry_after,
        "dailyLimit": limit.get("daily"),
        "dailyRemaining": limit.get("daily_remaining"),
    }
    headers = {"Retry-After": str(retry_after)}
    for header, key in (
        ("X-HubSpot-RateLimit-Daily", "daily"),
        ("X-HubSpot-RateLimit-Daily-Remaining", "daily_remaining"),
        ("X-HubSpot-RateLimit-Max", "max"),
        ("X-HubSpot-RateLimit-Remaining", "remaining"),
    ):
        if limit.get(key) is not None:
            headers[header] = str(limit[key])
    return ContactError(429, "RATE_LIMIT_EXCEEDED", "API rate limit exceeded", details, headers)


def conflict(existing_id: str) -> ContactError:
    return ContactError(
        409,
        "CONTACT_EXISTS",
        f"A contact with this email already exists (id {existing_id})",
        {"existingId": existing_id},
    )


def _client_error(exc: HubSpotRequestError, contact_id: str | None) -> ContactError:
    body = exc.body
    if exc.status == 404:
        return ContactError(
            404, "CONTACT_NOT_FOUND", f"Contact with ID {contact_id or ''} not found".strip()
        )
    if exc.status == 409:
        match = _EXISTING_ID.search(str(body.get("message", "")))
        return conflict(match.group(1) if match else "unknown")
    if exc.status == 400:
        fields = list(_field_errors(body))
        return ContactError(
            400,
            "VALIDATION_ERROR",
            "HubSpot refused the contact's properties",
            {"fields": fields} if fields else None,
        )
    if exc.status is not None and exc.status >= 500:
        return ContactError(503, "SERVICE_UNAVAILABLE", str(exc))
    return ContactError(502, "HUBSPOT_ERROR", str(exc))


def _field_errors(body: dict) -> Iterator[dict[str, str]]:
    """HubSpot's per-property errors: `errors[].context.propertyName` or the JSON list in the
    message of a VALIDATION_ERROR ("Property values were not valid: [...]")."""
    for error in body.get("errors") or []:
        names = (error.get("context") or {}).get("propertyName") or []
        for name in names or [error.get("name") or "properties"]:
            yield {"field": str(name), "message": str(error.get("message", ""))[:300]}
    message = str(body.get("message", ""))
    if not body.get("errors") and "[" in message:
        try:
            items = json.loads(message[message.index("[") :])
        except ValueError:
            items = []
        for item in items if isinstance(items, list) else []:
            if isinstance(item, dict):
                yield {
                    "field": str(item.get("name", "properties")),
                    "message": str(item.get("message", ""))[:300],
                }


def item_error(exc: ContactError) -> dict[str, Any]:
    error: dict[str, Any] = {"code": exc.code, "message": exc.message}
    if exc.details:
        error["details"] = exc.details
    return error
