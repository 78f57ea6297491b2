"""`/api/v1/hubspot/properties/sync`: property definitions as code over REST
(property-sync-api.md). Each POST launches `property_sync_job` for the tenant's organization
partition through Dagster and waits for it (bounded: 202 with the run id past
`property_sync_wait_seconds`); GET /status reads the runs. Every route needs the API-key scope
`properties.write` (reading the status too: it names the tenant's properties). Answers have the
document's shapes, snake_case: `{"success": true, "data": ...}`, errors
`{"success": false, "error", "details", "status_code"}` (207 partial failure, 400 invalid
definitions, 500 a run that failed).
"""

from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from api_shim.deps import OAuthServiceDep
from api_shim.routes.hubspot_auth import TenantQuery
from api_shim.services.hubspot_oauth import OAuthError
from api_shim.services.property_sync import PropertySyncError, PropertySyncService

PREFIX = "/api/v1/hubspot/properties/sync"
router = APIRouter(prefix=PREFIX, tags=["HubSpot property sync"])

SyncType = Literal["all", "contacts", "leads"]

_PARTIAL = {
    "success": False,
    "error": "Partial sync failure",
    "details": {
        "successful_properties": 14,
        "failed_properties": 1,
        "failures": [
            {"property": "budget_estimate",
             "error": "HubSpot has it as 'string', the definition as 'number'"}
        ],
        "run_id": "0b7a6c1e-3d2f-4c1b-9a8e-5f6d7c8b9a0e",
    },
    "status_code": 207,
}  # fmt: skip
_INVALID = {
    "success": False,
    "error": "Property validation failed",
    "details": {
        "property_name": "Invalid-Field",
        "validation_errors": [
            "name: lower case letters, digits and underscores, starting with a letter, at most "
            "100 characters"
        ],
        "problems": [
            "contacts.json: Invalid-Field: name: lower case letters, digits and underscores, "
            "starting with a letter, at most 100 characters"
        ],
    },
    "status_code": 400,
}
_FAILED = {
    "success": False,
    "error": "Property sync failed",
    "details": {
        "contacts": {"status": "failed", "error": "HTTP 401 from HubSpot"},
        "run_id": "0b7a6c1e-3d2f-4c1b-9a8e-5f6d7c8b9a0e",
    },
    "status_code": 500,
}
_IN_PROGRESS = {
    "success": True,
    "data": {
        "sync_type": "all",
        "sync_status": "in_progress",
        "run_id": "0b7a6c1e-3d2f-4c1b-9a8e-5f6d7c8b9a0e",
    },
}


def _example(description: str, example: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"example": example}}}


ERRORS: dict[int | str, dict[str, Any]] = {
    202: _example("The run is still going: its id; GET /status reports it.", _IN_PROGRESS),
    207: _example("Some properties were not synced (a conflict or HubSpot refused).", _PARTIAL),
    400: _example("The definitions files are not valid; nothing was sent.", _INVALID),
    500: _example("The sync run failed.", _FAILED),
}


def _service(request: Request) -> PropertySyncService:
    return request.app.state.property_sync


def _run(call: Any) -> JSONResponse:
    try:
        status, body = call()
    except PropertySyncError as exc:
        return JSONResponse(exc.body, status_code=exc.status)
    except OAuthError as exc:
        body = {"success": False, "error": exc.message, "details": {}, "status_code": exc.status}
        return JSONResponse(body, status_code=exc.status)
    return JSONResponse(body, status_code=status)


def _sync(request: Request, oauth: OAuthServiceDep, tenant_id: str | None, kind: str) -> Any:
    return _run(lambda: _service(request).sync(oauth.tenant(tenant_id), kind))


@router.post(
    "/all",
    summary="Sync contact and lead properties",
    description="Makes the tenant's HubSpot match `contacts.json` and `leads.json`: creates, "
    "updates or skips each property; a property HubSpot defines or has with another type is "
    "reported (207), never forced.",
    responses={
        200: _example(
            "Synced.",
            {
                "success": True,
                "data": {
                    "sync_status": "completed",
                    "contacts": {
                        "status": "success",
                        "synced_properties": 15,
                        "failed_properties": 0,
                        "properties": ["what_service_do_you_need_", "event_start_date"],
                    },
                    "leads": {
                        "status": "success",
                        "synced_properties": 25,
                        "failed_properties": 0,
                        "properties": ["project_category", "ai_estimated_value"],
                    },
                    "summary": {"total_synced": 40, "total_failed": 0, "sync_duration": "2.4s"},
                },
            },
        ),  # fmt: skip
        **ERRORS,
    },
)
def sync_all(request: Request, oauth: OAuthServiceDep, tenant_id: TenantQuery = None) -> Any:
    return _sync(request, oauth, tenant_id, "all")


def _object_example(object_type: str, first: str, label: str) -> dict[str, Any]:
    return _example(
        "Synced.",
        {
            "success": True,
            "data": {
                "object_type": object_type,
                "sync_status": "completed",
                "synced_properties": 1,
                "failed_properties": 0,
                "properties": [
                    {"name": first, "label": label, "sync_status": "created",
                     "hubspot_property_id": first}
                ],
                "sync_details": {"created": 1, "updated": 0, "skipped": 0, "errors": 0},
            },
        },
    )  # fmt: skip


@router.post(
    "/contacts",
    summary="Sync contact properties",
    description="Makes the tenant's HubSpot contact properties match `contacts.json`. "
    "`hubspot_property_id` is the property's internal name (HubSpot's id for a property).",
    responses={
        200: _object_example("contacts", "what_service_do_you_need_", "What services do you need?"),
        **ERRORS,
    },
)
def sync_contacts(request: Request, oauth: OAuthServiceDep, tenant_id: TenantQuery = None) -> Any:
    return _sync(request, oauth, tenant_id, "contacts")


@router.post(
    "/leads",
    summary="Sync lead properties",
    description="Makes the tenant's HubSpot lead properties match `leads.json`.",
    responses={200: _object_example("leads", "project_category", "Project Category"), **ERRORS},
)
def sync_leads(request: Request, oauth: OAuthServiceDep, tenant_id: TenantQuery = None) -> Any:
    return _sync(request, oauth, tenant_id, "leads")


@router.get(
    "/status/{sync_type}",
    summary="Last property sync",
    description="The tenant's last sync of `sync_type` (a run launched here), the last state "
    "of each object type's properties, and `next_scheduled_sync`: the next tick of the daily "
    "schedule `property_drift_daily` (it checks HubSpot against the definitions; a drift "
    "fails the asset check in Dagster). Status values: completed, in_progress, failed, "
    "partial, pending.",
    responses={
        200: _example(
            "The last sync.",
            {
                "success": True,
                "data": {
                    "sync_type": "all",
                    "last_sync": {
                        "timestamp": "2024-01-15T10:30:00Z",
                        "status": "completed",
                        "duration": "2.4s",
                        "total_properties": 40,
                        "successful": 40,
                        "failed": 0,
                        "run_id": "0b7a6c1e-3d2f-4c1b-9a8e-5f6d7c8b9a0e",
                    },
                    "contacts": {
                        "status": "completed",
                        "properties_synced": 15,
                        "last_update": "2024-01-15T10:30:00Z",
                    },
                    "leads": {
                        "status": "completed",
                        "properties_synced": 25,
                        "last_update": "2024-01-15T10:30:00Z",
                    },
                    "next_scheduled_sync": "2024-01-16T04:30:00Z",
                },
            },
        ),  # fmt: skip
        400: _example(
            "A bad tenantId or sync_type.",
            {
                "success": False,
                "error": "tenantId must be 1-255 characters",
                "details": {},
                "status_code": 400,
            },
        ),
    },
)
def sync_status(
    request: Request, sync_type: SyncType, oauth: OAuthServiceDep, tenant_id: TenantQuery = None
) -> Any:
    return _run(lambda: (200, _service(request).status(oauth.tenant(tenant_id), sync_type)))
