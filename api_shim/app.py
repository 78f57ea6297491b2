"""The app factory: services, middleware, error handlers, routes and the OpenAPI document."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.responses import RedirectResponse

from api_shim.api_keys import key_store
from api_shim.auth import KeyAuthority, authorize, document_security, is_loopback
from api_shim.dagster import DagsterClient
from api_shim.destination import make_store
from api_shim.docs_pages import add_docs_pages
from api_shim.errors import install_error_handlers
from api_shim.etl_errors import is_etl_path
from api_shim.middleware import BodySizeLimitMiddleware, RateLimitMiddleware
from api_shim.models.common import TEXT_PATTERN, error_example
from api_shim.routes import api_router, contacts, etl_scans, hubspot_auth, property_sync
from api_shim.routes.params import reject_control_characters
from api_shim.services.contacts import ContactService
from api_shim.services.downloads import DownloadService
from api_shim.services.etl_scans import EtlScanService
from api_shim.services.hubspot_access import HubSpotAccess
from api_shim.services.hubspot_oauth import HubSpotOAuthService
from api_shim.services.property_sync import PropertySyncService
from api_shim.services.results import ResultsService
from api_shim.services.scans import ScanService
from api_shim.services.system import SystemService
from api_shim.settings import ApiSettings, get_api_settings
from hubspot_deals.settings import Settings, get_settings

API_PREFIX = "/api/v1"

DESCRIPTION = """
Extracts HubSpot CRM deals into a SQL database (DuckDB or PostgreSQL) with dlt.
Every scan runs as a Dagster run of the `scan_job` for the scan's partition: this API starts,
watches, cancels and removes scans through Dagster's GraphQL API, and reads the results from
the destination.

**Two surfaces, one service.** The scan API (`/api/v1/scan/*`, `/api/v1/results/*`, ...) and
the ETL API of deals-etl-api.md (`/api/v1/scans/*`, `/health`) start, read, cancel and remove the
same scans.

**Errors** have the shape `{"success": false, "message": ..., "error": ...}` on the scan API
(plus `validation_errors`, messages keyed by field path, for invalid input), and
`{"error": "<code>", "message": ..., "timestamp": ...}` on the ETL API (plus `details`).
A control character (U+0000-U+001F, U+007F-U+009F) in any text input, path, query or body, is a
400 naming the field, on every endpoint and whatever the destination; tokens are printable
ASCII without spaces.

**API keys.** Once a key exists (`hubspot-deals api keys create`), every endpoint but health
needs `Authorization: Bearer <key>`. A key has scopes (`scans.read`, `scans.write`,
`deals.read`) and tenants (organization ids): it sees only its tenants' scans, and another
tenant's scan id answers 404 exactly like one that does not exist. Without a usable key (the
key file missing, emptied or unreadable) every request is refused (401); only the explicit
setting `HUBSPOT_DEALS_API_OPEN_ACCESS=true` (the demo's) serves clients on this machine without
keys, and only while no key exists.

**Rate limits** apply per client address and endpoint group (scan operations, results,
maintenance, health/stats/pipeline); every limited response carries `X-RateLimit-Limit`,
`X-RateLimit-Remaining` and `X-RateLimit-Reset`, and a 429 carries `retry_after`.
"""

TAGS = [
    {"name": "Scans", "description": "Start, monitor, cancel, list and remove scans."},
    {"name": "Results", "description": "Tables and rows of completed scans."},
    {"name": "Pipeline", "description": "The extraction pipeline's configuration."},
    {"name": "Maintenance", "description": "Housekeeping of old scans."},
    {"name": "Health & Stats", "description": "Service health and statistics."},
    {
        "name": "ETL Scans",
        "description": "The ETL API (deals-etl-api.md): start, status, results with filters, "
        "sorting and summary, cancel and remove, in its snake_case shapes.",
    },
    {"name": "ETL Health", "description": "The ETL API's health check (no API key needed)."},
    {
        "name": "HubSpot OAuth",
        "description": "A tenant authorizes the HubSpot app once (hubspot-integration-api.md); "
        "scans started with `auth.oauth: true` then use its grant and refresh the access "
        "token themselves.",
    },
]


def _error_entry(path: str, status: int, message: str) -> dict[str, Any]:
    """An error response of `path`'s surface, for the security answers added to the document."""
    if is_etl_path(path):
        code = "unauthorized" if status == 401 else "forbidden"
        example: dict[str, Any] = {
            "error": code,
            "message": message,
            "timestamp": "2025-01-27T10:30:00Z",
        }
        ref = "#/components/schemas/EtlErrorResponse"
    else:
        example, ref = error_example(message), "#/components/schemas/ErrorResponse"
    description = (
        "Missing, unknown or revoked API key"
        if status == 401
        else ("The API key lacks the scope this endpoint requires")
    )
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": ref}, "example": example}},
    }


def _document_text_rule(schema: dict[str, Any]) -> None:
    """Every string a request sends (parameters and bodies, not responses) without a pattern of
    its own gets the text rule's (`api_shim.models.common`) as its pattern: clients and request
    generators see what the API refuses."""
    components = schema.get("components", {}).get("schemas", {})
    seen: set[str] = set()

    def visit(node: Any) -> None:
        if isinstance(node, list):
            for item in node:
                visit(item)
        if not isinstance(node, dict):
            return
        ref = node.get("$ref", "")
        name = ref.rsplit("/", 1)[-1]
        if ref.startswith("#/components/schemas/") and name not in seen:
            seen.add(name)
            visit(components[name])
        if node.get("type") == "string" and not {"pattern", "enum", "const"} & node.keys():
            node["pattern"] = TEXT_PATTERN
        for key, value in node.items():
            if key not in ("examples", "example", "default", "description"):
                visit(value)

    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                visit(parameter.get("schema"))
            visit(operation.get("requestBody"))


def _openapi(app: FastAPI) -> dict[str, Any]:
    """The generated document, without FastAPI's 422 (this API answers invalid input with 400)."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
        tags=app.openapi_tags,
        servers=[{"url": "/", "description": "This server"}],
    )
    for path in schema.get("paths", {}).values():
        for operation in path.values():
            operation.get("responses", {}).pop("422", None)
    components = schema.get("components", {}).get("schemas", {})
    components.pop("HTTPValidationError", None)
    components.pop("ValidationError", None)
    document_security(schema, _error_entry)
    _document_text_rule(schema)
    app.openapi_schema = schema
    return schema


def create_app(settings: ApiSettings | None = None, destination: Settings | None = None) -> FastAPI:
    settings = settings or get_api_settings()
    destination = destination or get_settings()
    dagster = DagsterClient(settings)
    store = make_store(settings, destination)
    scans = ScanService(settings, destination, dagster, store)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        store.close()
        app.state.contacts.access.close()

    app = FastAPI(
        title="HubSpot Deals Extraction API",
        version="1.0.0",
        description=DESCRIPTION,
        openapi_tags=TAGS,
        docs_url=None,  # served from this process by add_docs_pages, not from a CDN
        openapi_url=f"{API_PREFIX}/openapi.json",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.scans = scans
    app.state.results = ResultsService(scans, dagster, store)
    app.state.downloads = DownloadService(app.state.results)
    app.state.hubspot_oauth = HubSpotOAuthService(destination)
    hubspot = HubSpotAccess(destination, app.state.hubspot_oauth)
    app.state.contacts = ContactService(hubspot)
    app.state.system = SystemService(settings, destination, dagster, store)
    app.state.property_sync = PropertySyncService(settings, destination, dagster, scans)
    app.state.etl = EtlScanService(scans, app.state.results, app.state.system)
    keys = key_store(settings.api_keys_file, destination.home)
    app.state.authority = KeyAuthority(
        keys, open_access=settings.open_access and is_loopback(settings.host)
    )
    install_error_handlers(app)
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(
        RateLimitMiddleware,
        limits=settings.rate_limits(),
        enabled=settings.rate_limit_enabled,
    )
    # One check for every route, also those added later: API key, scope, tenants; then no
    # control character in any path or query parameter.
    text = Depends(reject_control_characters)
    secured = [Depends(authorize), text]
    app.include_router(api_router, prefix=API_PREFIX, dependencies=secured)
    app.include_router(etl_scans.router, prefix=API_PREFIX, dependencies=secured)
    app.include_router(etl_scans.health_router, dependencies=secured)
    # Its own key checks (the callback carries no key), the same text check.
    app.include_router(hubspot_auth.router, dependencies=[text])
    app.include_router(contacts.router, dependencies=secured)
    app.include_router(property_sync.router, dependencies=secured)
    add_docs_pages(app, API_PREFIX)

    @app.get("/docs", include_in_schema=False)
    def docs_redirect() -> RedirectResponse:
        return RedirectResponse(f"{API_PREFIX}/docs")

    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app
