"""`/api/hs/auth/*`: HubSpot OAuth 2.0 for a tenant (hubspot-integration-api.md).

Every endpoint but the callback needs the API key (when keys are configured) and acts for
`tenantId` (default: the key's only tenant). The callback is where HubSpot sends the user's
browser back: it carries no API key, and its tenant is the one its `state` was made for.
"""

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse

from api_shim.auth import authorize
from api_shim.deps import OAuthServiceDep
from api_shim.hubspot_errors import OAUTH_PREFIX, hubspot_error_body
from api_shim.models.common import CONTROL_CHARACTERS_MESSAGE
from api_shim.services.hubspot_oauth import OAuthError, OAuthNotConfigured

router = APIRouter(prefix=OAUTH_PREFIX, tags=["HubSpot OAuth"])
secured = [Depends(authorize)]

NOT_CONFIGURED = {
    "success": False,
    "error": "HubSpot OAuth configuration incomplete",
    "troubleshooting": [
        "Set these variables for the API and the code location:",
        "HUBSPOT_DEALS_OAUTH_CLIENT_ID=your_client_id",
        "HUBSPOT_DEALS_OAUTH_CLIENT_SECRET=your_client_secret",
        "HUBSPOT_DEALS_OAUTH_REDIRECT_URI=<this API>/api/hs/auth/callback",
    ],
}
TenantQuery = Annotated[
    str | None,
    Query(
        alias="tenantId",
        description="The tenant (organization id); default: the API key's only tenant, or the "
        "default organization when the API runs with open access (no keys).",
        examples=["org-12345"],
        # Checked by the service, so that a bad id gets this surface's own error shape.
        json_schema_extra={"maxLength": 255},
    ),
]


def _error(exc: OAuthError) -> JSONResponse:
    return JSONResponse(hubspot_error_body(exc.code, exc.message), status_code=exc.status)


def _not_configured() -> JSONResponse:
    return JSONResponse(
        hubspot_error_body("INTERNAL_ERROR", NOT_CONFIGURED["error"] + ": " + NOT_CONFIGURED_HINT),
        status_code=500,
    )


NOT_CONFIGURED_HINT = "set HUBSPOT_DEALS_OAUTH_CLIENT_ID and HUBSPOT_DEALS_OAUTH_CLIENT_SECRET"


def _responses(*codes: int, **examples: Any) -> dict[int | str, dict[str, Any]]:
    samples = {
        400: ("VALIDATION_ERROR", "tenantId must be 1-255 characters"),
        401: ("NO_REFRESH_TOKEN", "No refresh token available"),
        403: ("FORBIDDEN", "This API key may not act for this tenant"),
        500: ("INTERNAL_ERROR", NOT_CONFIGURED["error"] + ": " + NOT_CONFIGURED_HINT),
        503: ("SERVICE_UNAVAILABLE", "ConnectionError talking to HubSpot's OAuth endpoints"),
    }
    return {
        code: {
            "description": samples[code][1],
            "content": {"application/json": {"example": hubspot_error_body(*samples[code])}},
        }
        for code in codes
    }


@router.get(
    "/login",
    dependencies=secured,
    summary="Start HubSpot OAuth",
    description="The URL of HubSpot's consent page for the tenant, with a single-use `state` "
    "(valid for HUBSPOT_DEALS_OAUTH_STATE_TTL_SECONDS). A browser (`Accept: text/html`) is "
    "redirected to it (302); other clients get it as JSON.",
    responses={
        200: {
            "description": "The authorization URL.",
            "content": {
                "application/json": {
                    "example": {
                        "success": True,
                        "authUrl": "https://app.hubspot.com/oauth/authorize?client_id=...&"
                        "redirect_uri=...&scope=...&response_type=code&state=...",
                        "message": "Redirect user to this URL for authentication",
                    }
                }
            },
        },
        302: {"description": "A browser: to the authorization URL."},
        **_responses(400, 403),
        500: {
            "description": "OAuth is not configured.",
            "content": {"application/json": {"example": NOT_CONFIGURED}},
        },
    },
)
def login(request: Request, oauth: OAuthServiceDep, tenant_id: TenantQuery = None) -> Any:
    try:
        url = oauth.login_url(oauth.tenant(tenant_id))
    except OAuthError as exc:
        return _error(exc)
    except OAuthNotConfigured:
        return JSONResponse(NOT_CONFIGURED, status_code=500)
    if "text/html" in request.headers.get("accept", ""):
        return RedirectResponse(url, status_code=302)
    return {
        "success": True,
        "authUrl": url,
        "message": "Redirect user to this URL for authentication",
    }


@router.get(
    "/callback",
    summary="HubSpot's redirect back",
    description="Exchanges the authorization code for tokens and stores them encrypted for the "
    "tenant the `state` was made for. Redirects to `/?hubspot_auth=success`, or to "
    "`/?error=<code>`: `invalid_state` (unknown or already used), `expired_state`, "
    "`missing_state`, `missing_code`, HubSpot's `error` (e.g. `access_denied`), or HubSpot's "
    "token error in lower case (e.g. `bad_auth_code`).",
    responses={
        302: {"description": "To `/?hubspot_auth=success` or `/?error=<code>`."},
        400: {
            "description": "A control character in `code`, `state` or `error` (no redirect "
            "from HubSpot carries one).",
            "content": {
                "application/json": {
                    "example": hubspot_error_body(
                        "VALIDATION_ERROR",
                        "Input validation failed",
                        {"fields": [{"field": "code", "message": CONTROL_CHARACTERS_MESSAGE}]},
                    )
                }
            },
        },
    },
    response_class=RedirectResponse,
    status_code=302,
)
def callback(
    oauth: OAuthServiceDep,
    code: Annotated[str | None, Query(description="Authorization code from HubSpot.")] = None,
    state: Annotated[str | None, Query(description="The state /login made.")] = None,
    error: Annotated[str | None, Query(description="HubSpot's error, if refused.")] = None,
) -> RedirectResponse:
    try:
        location = oauth.callback(code, state, error)
    except OAuthNotConfigured:
        location = "/?error=oauth_not_configured"
    return RedirectResponse(location, status_code=302)


@router.post(
    "/refresh",
    dependencies=secured,
    summary="Refresh the tenant's access token",
    description="Swaps the tenant's access token for a fresh one with its refresh token (scans "
    "do this on their own when HubSpot answers that the token expired).",
    responses={
        200: {
            "description": "Refreshed.",
            "content": {
                "application/json": {
                    "example": {
                        "success": True,
                        "message": "Token refreshed successfully",
                        "expiresIn": 1800,
                    }
                }
            },
        },
        **_responses(400, 401, 403, 500, 503),
    },
)
def refresh(oauth: OAuthServiceDep, tenant_id: TenantQuery = None) -> Any:
    try:
        grant = oauth.refresh(oauth.tenant(tenant_id))
    except OAuthError as exc:
        return _error(exc)
    except OAuthNotConfigured:
        return _not_configured()
    return {
        "success": True,
        "message": "Token refreshed successfully",
        "expiresIn": round(grant.access_token_expires_at - grant.refreshed_at),
    }


@router.get(
    "/status",
    dependencies=secured,
    summary="The tenant's HubSpot authorization",
    description="HubSpot's information on the tenant's current access token (refreshed first "
    "when it expired).",
    responses={
        200: {
            "description": "Authenticated or not.",
            "content": {
                "application/json": {
                    "examples": {
                        "authenticated": {
                            "value": {
                                "authenticated": True,
                                "message": "Authenticated with HubSpot",
                                "tokenInfo": {
                                    "scopes": ["crm.objects.deals.read", "oauth"],
                                    "hubId": 12345678,
                                    "appId": 987654,
                                    "expiresAt": "2025-07-29T15:30:00.000Z",
                                },
                            }
                        },
                        "not authenticated": {
                            "value": {
                                "authenticated": False,
                                "message": "Not authenticated with HubSpot",
                            }
                        },
                    }
                }
            },
        },
        **_responses(400, 401, 403, 500, 503),
    },
)
def status(oauth: OAuthServiceDep, tenant_id: TenantQuery = None) -> Any:
    try:
        found = oauth.status(oauth.tenant(tenant_id))
    except OAuthError as exc:
        return _error(exc)
    except OAuthNotConfigured:
        return _not_configured()
    if found.grant is None or found.info is None:
        return {"authenticated": False, "message": "Not authenticated with HubSpot"}
    expires_at = datetime.fromtimestamp(found.grant.access_token_expires_at, UTC)
    return {
        "authenticated": True,
        "message": "Authenticated with HubSpot",
        "tokenInfo": {
            "scopes": found.info.get("scopes", []),
            "hubId": found.info.get("hub_id"),
            "appId": found.info.get("app_id"),
            "expiresAt": expires_at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        },
    }


@router.post(
    "/logout",
    dependencies=secured,
    summary="Forget the tenant's HubSpot authorization",
    description="Deletes the refresh token at HubSpot and the stored grant.",
    responses={
        200: {
            "description": "Logged out (also when there was nothing to forget).",
            "content": {
                "application/json": {
                    "example": {"success": True, "message": "Logged out from HubSpot successfully"}
                }
            },
        },
        **_responses(400, 403, 500),
    },
)
def logout(oauth: OAuthServiceDep, tenant_id: TenantQuery = None) -> Any:
    try:
        oauth.logout(oauth.tenant(tenant_id))
    except OAuthError as exc:
        return _error(exc)
    except OAuthNotConfigured:
        return _not_configured()
    return {"success": True, "message": "Logged out from HubSpot successfully"}
