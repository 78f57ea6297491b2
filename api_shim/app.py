"""The app factory: services, middleware, error handlers, routes and the OpenAPI document."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.responses import RedirectResponse

from api_shim.dagster import DagsterClient
from api_shim.destination import make_store
from api_shim.errors import install_error_handlers
from api_shim.middleware import BodySizeLimitMiddleware, RateLimitMiddleware
from api_shim.routes import api_router
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

**Errors** always have the shape `{"success": false, "message": ..., "error": ...}`, plus
`validation_errors` (messages keyed by field path) for invalid input.

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
]


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

    app = FastAPI(
        title="HubSpot Deals Extraction API",
        version="1.0.0",
        description=DESCRIPTION,
        openapi_tags=TAGS,
        docs_url=f"{API_PREFIX}/docs",
        openapi_url=f"{API_PREFIX}/openapi.json",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.scans = scans
    app.state.results = ResultsService(scans, dagster, store)
    app.state.system = SystemService(settings, destination, dagster, store)
    install_error_handlers(app)
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(
        RateLimitMiddleware,
        limits=settings.rate_limits(),
        enabled=settings.rate_limit_enabled,
    )
    app.include_router(api_router, prefix=API_PREFIX)

    @app.get("/docs", include_in_schema=False)
    def docs_redirect() -> RedirectResponse:
        return RedirectResponse(f"{API_PREFIX}/docs")

    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app
