"""The ETL surface (deals-etl-api.md): `/api/v1/scans/*` and `/health`, beside the existing API
and over the same services."""

import math
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

import orjson
from fastapi import APIRouter, Body, Path, Query, Response, status
from fastapi.responses import JSONResponse

from api_shim.deps import EtlServiceDep
from api_shim.etl_errors import etl_timestamp
from api_shim.models.etl import (
    SCAN_ID_EXAMPLE,
    EtlCancelRequest,
    EtlCancelResponse,
    EtlErrorResponse,
    EtlHealthResponse,
    EtlRemoveResponse,
    EtlResultsResponse,
    EtlStartRequest,
    EtlStartResponse,
    EtlStatusResponse,
)
from api_shim.services.etl_scans import ETL_PREFIX, ETL_STATUS, links
from api_shim.services.scan_runs import iso
from hubspot_deals.load.deal_queries import DealQuery
from hubspot_deals.scan import ORGANIZATION_ID_COLUMN, SCAN_ID_COLUMN, SCAN_ID_PATTERN

router = APIRouter(prefix="/scans", tags=["ETL Scans"])
health_router = APIRouter(tags=["ETL Health"])

MAX_PAGE = 10_000_000
HIDDEN_COLUMNS = (SCAN_ID_COLUMN, ORGANIZATION_ID_COLUMN)


EXAMPLES: dict[int, tuple[str, dict[str, Any]]] = {
    400: (
        "Invalid request data",
        {
            "error": "validation_error",
            "message": "Input validation failed",
            "details": {"tenant_id": "Field is required"},
            "timestamp": "2025-01-27T10:30:00Z",
        },
    ),
    401: (
        "Invalid or missing API key",
        {
            "error": "unauthorized",
            "message": "Invalid or missing API key",
            "timestamp": "2025-01-27T10:30:00Z",
        },
    ),
    403: (
        "The API key lacks the scope or the tenant",
        {
            "error": "forbidden",
            "message": "This API key may not act for tenant 'acme_corp_prod'",
            "timestamp": "2025-01-27T10:30:00Z",
        },
    ),
    404: (
        "Scan not found (also another tenant's scan)",
        {
            "error": "not_found",
            "message": f"No scan found with ID: {SCAN_ID_EXAMPLE}",
            "timestamp": "2025-01-27T10:30:00Z",
        },
    ),
    409: (
        "Conflict with the scan's or tenant's state",
        {
            "error": "conflict",
            "message": "Scan already in progress for tenant: acme_corp_prod",
            "active_scan_id": "scan_20250127_100000_9f8e7d6c5b4a",
            "timestamp": "2025-01-27T10:30:00Z",
        },
    ),
    429: (
        "Too many requests",
        {
            "error": "rate_limit_exceeded",
            "message": "Rate limit exceeded. Please retry after 30 seconds.",
            "retry_after": 30,
            "timestamp": "2025-01-27T10:30:00Z",
        },
    ),
    500: (
        "Internal server error",
        {
            "error": "internal_error",
            "message": "An unexpected error occurred",
            "incident_id": "inc_20250127_103000_123",
            "timestamp": "2025-01-27T10:30:00Z",
        },
    ),
    503: (
        "Dagster or the destination is unavailable",
        {
            "error": "service_unavailable",
            "message": "Dagster is unreachable at http://127.0.0.1:3000/graphql: connection "
            "refused. Is the Dagster webserver running?",
            "timestamp": "2025-01-27T10:30:00Z",
        },
    ),
}


def etl_error_responses(*codes: int, examples: dict[int, dict[str, Any]] | None = None) -> dict:
    out: dict[int | str, dict[str, Any]] = {}
    for code in codes:
        description, example = EXAMPLES[code]
        out[code] = {
            "model": EtlErrorResponse,
            "description": description,
            "content": {"application/json": {"example": (examples or {}).get(code, example)}},
        }
    return out


ScanIdPath = Annotated[
    str,
    Path(
        pattern=SCAN_ID_PATTERN,
        description="The scan's id (letters, digits, `_` and `-`, at most 255). Another "
        "tenant's scan answers 404 exactly like a missing one.",
        examples=[SCAN_ID_EXAMPLE],
    ),
]


@router.post(
    "/start",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=EtlStartResponse,
    summary="Start deal extraction",
    description="Launches a full or incremental scan for one of the key's tenants (a Dagster "
    "run of the scan job; the token is encrypted in its run config). 409 with `active_scan_id` "
    "while another scan of the tenant is pending or running.",
    responses=etl_error_responses(400, 403, 409, 429, 500, 503),
)
def start_scan(body: EtlStartRequest, etl: EtlServiceDep) -> EtlStartResponse:
    started = etl.start(body)
    return EtlStartResponse(
        scan_id=started.scan_id,
        scan_job_id=started.run_id,
        tenant_id=body.tenant_id,
        scan_type=body.scan_type,
        estimated_duration_minutes=started.estimated_minutes,
        created_at=started.created_at,
        links=links(started.scan_id, "self", "status", "results"),
    )


@router.get(
    "/{scan_id}",
    response_model=EtlStatusResponse,
    response_model_exclude_none=True,
    summary="Get scan status",
    description="Status, progress, timing (with an estimated completion while it runs), the "
    "error of a failed scan and the results summary of a completed one. Statuses: pending, "
    "running, completed, failed, cancelled (`status_detail` keeps the finer status: resuming, "
    "crashed, paused).",
    responses=etl_error_responses(400, 404, 429, 500, 503),
)
def scan_status(scan_id: ScanIdPath, etl: EtlServiceDep) -> dict[str, Any]:
    return etl.status(scan_id)


@router.get(
    "/{scan_id}/results",
    response_model=EtlResultsResponse,
    summary="Get scan results",
    description="A page of the completed scan's deals, filtered by stage and pipeline and "
    "sorted by closedate (default; the deal id when the scan did not extract closedate), "
    "amount or createdate, nulls last. `summary` gives the amount figures of every deal "
    "matching the filters. 409 until the scan has completed.",
    responses=etl_error_responses(
        400,
        404,
        409,
        429,
        500,
        503,
        examples={
            409: {
                "error": "conflict",
                "message": f"Scan '{SCAN_ID_EXAMPLE}' is not completed (status: running); its "
                "results are available once it completes",
                "timestamp": "2025-01-27T10:30:00Z",
            }
        },
    ),
)
def scan_results(
    scan_id: ScanIdPath,
    etl: EtlServiceDep,
    page: Annotated[int, Query(ge=1, le=MAX_PAGE, description="Page number.")] = 1,
    limit: Annotated[int, Query(ge=1, le=1000, description="Results per page (1-1000).")] = 100,
    filter_stage: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=255,
            description="Only deals in this stage (its id).",
            examples=["closedwon"],
        ),
    ] = None,
    filter_pipeline: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=255,
            description="Only deals of this pipeline (its id).",
            examples=["default"],
        ),
    ] = None,
    sort_by: Annotated[
        Literal["closedate", "amount", "createdate"] | None,
        Query(description="Sort field; closedate by default."),
    ] = None,
    sort_order: Annotated[Literal["asc", "desc"], Query(description="Sort order.")] = "asc",
) -> Response:
    state = etl.completed(scan_id)
    query = DealQuery(
        stage=filter_stage,
        pipeline=filter_pipeline,
        sort_by=sort_by,
        descending=sort_order == "desc",
        limit=limit,
        offset=(page - 1) * limit,
    )
    rows = etl.deals(state, query)
    effective_sort = rows.sort_by or "id"
    extracted_at = iso(state.runs.end_time)
    results = []
    for record in rows.records:
        deal = {k: v for k, v in record.items() if k not in HIDDEN_COLUMNS}
        deal["metadata"] = {"extracted_at": extracted_at, "scan_id": scan_id}
        results.append(deal)
    total_pages = math.ceil(rows.total / limit)
    filters: dict[str, str] = {}
    if filter_stage is not None:
        filters["filter_stage"] = filter_stage
    if filter_pipeline is not None:
        filters["filter_pipeline"] = filter_pipeline
    filters.update(sort_by=effective_sort, sort_order=sort_order)
    base = f"{ETL_PREFIX}/{scan_id}/results"

    def page_link(number: int) -> str:
        params = {"page": number, "limit": limit, **filters}
        if sort_by is None:
            params.pop("sort_by")
        return f"{base}?{urlencode(params)}"

    page_links = {"self": page_link(page)}
    if page < total_pages:
        page_links["next"] = page_link(page + 1)
    if page > 1:
        page_links["previous"] = page_link(min(page - 1, max(total_pages, 1)))
    page_links["scan"] = f"{ETL_PREFIX}/{scan_id}"
    body = {
        "scan_id": scan_id,
        "tenant_id": state.runs.organization_id,
        "status": ETL_STATUS[state.status],
        "pagination": {
            "page": page,
            "limit": limit,
            "total_results": rows.total,
            "total_pages": total_pages,
            "has_next": page < total_pages,
            "has_previous": page > 1,
        },
        "filters_applied": filters,
        "results": results,
        "summary": {
            "total_value": rows.total_value,
            "avg_value": rows.avg_value,
            "min_value": rows.min_value,
            "max_value": rows.max_value,
        },
        "links": page_links,
    }
    # Deal values are JSON already: serialized once, not validated again row by row.
    return Response(orjson.dumps(body), media_type="application/json")


@router.post(
    "/{scan_id}/cancel",
    response_model=EtlCancelResponse,
    summary="Cancel scan",
    description="Cancels a pending or running scan (terminates its Dagster run; a run still "
    "starting stops itself as soon as it starts). The body and its `reason` are optional. 409 "
    "when the scan has already finished.",
    responses=etl_error_responses(
        400,
        404,
        409,
        429,
        500,
        503,
        examples={
            409: {
                "error": "conflict",
                "message": f"Cannot cancel scan '{SCAN_ID_EXAMPLE}': it is already completed",
                "timestamp": "2025-01-27T10:30:00Z",
            }
        },
    ),
)
def cancel_scan(
    scan_id: ScanIdPath,
    etl: EtlServiceDep,
    body: Annotated[EtlCancelRequest | None, Body()] = None,
) -> EtlCancelResponse:
    reason = body.reason if body is not None else None
    before, previous = etl.cancel(scan_id, reason)
    scan = before.runs
    return EtlCancelResponse(
        scan_id=scan_id,
        previous_status=previous,
        reason=reason,
        progress_at_cancellation={
            "processed_items": scan.records_extracted,
            "total_items": scan.expected_records,
            "percentage": scan.progress(before.status),
        },
        cancelled_at=etl_timestamp(),
        links=links(scan_id, "scan"),
    )


@router.delete(
    "/{scan_id}",
    response_model=EtlRemoveResponse,
    summary="Remove scan",
    description="Removes a finished scan and all of its data: its rows in every table, its "
    "Dagster runs and its partition. `deleted_deals` counts the deal rows deleted (not the "
    "rows of the other tables). A pending or running scan must be cancelled first (409).",
    responses=etl_error_responses(400, 404, 409, 429, 500, 503),
)
def remove_scan(scan_id: ScanIdPath, etl: EtlServiceDep) -> EtlRemoveResponse:
    deals = etl.remove(scan_id)
    return EtlRemoveResponse(
        message=f"Scan and {deals} deals removed successfully",
        scan_id=scan_id,
        deleted_deals=deals,
        deleted_at=etl_timestamp(),
    )


@health_router.get(
    "/health",
    response_model=EtlHealthResponse,
    response_model_exclude_none=True,
    summary="Health check (ETL)",
    description="No API key needed. Healthy when the destination answers (its latency is "
    "`database.latency_ms`) and Dagster, its code location and daemon run the scans "
    "(`extraction_service`); 503 otherwise.",
    responses={
        503: {
            "model": EtlHealthResponse,
            "description": "A component is unhealthy (`error` names the first one)",
        },
        **etl_error_responses(429),
    },
)
def health(etl: EtlServiceDep) -> Any:
    body = {
        "service": "hubspot_deals",
        "version": "1.0.0",
        "timestamp": etl_timestamp(),
        **etl.health(),
    }
    if body["status"] != "healthy":
        return JSONResponse(EtlHealthResponse(**body).model_dump(exclude_none=True), 503)
    return body
