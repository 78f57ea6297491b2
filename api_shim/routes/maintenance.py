"""`/api/v1/maintenance`: removing old scans, detecting crashed ones."""

from typing import Annotated

from fastapi import APIRouter, Body, Query

from api_shim.deps import ScanServiceDep
from api_shim.models.common import error_responses
from api_shim.models.system import (
    CleanupData,
    CleanupRequest,
    CleanupResponse,
    DetectCrashedData,
    DetectCrashedResponse,
)

router = APIRouter(prefix="/maintenance", tags=["Maintenance"])


@router.post(
    "/cleanup",
    response_model=CleanupResponse,
    summary="Remove old scans",
    description="Removes every finished scan (completed, failed, cancelled, crashed) that "
    "finished more than `daysOld` days ago: its rows, Dagster runs and partition. The body is "
    "optional (daysOld defaults to 7).",
    responses=error_responses(400, 429, 500, 503),
)
def cleanup(
    scans: ScanServiceDep, body: Annotated[CleanupRequest | None, Body()] = None
) -> CleanupResponse:
    days_old = body.days_old if body is not None else CleanupRequest().days_old
    removed = scans.cleanup(days_old)
    return CleanupResponse(
        message=f"Successfully cleaned up {len(removed)} old scan results",
        data=CleanupData(cleaned_count=len(removed), days_old=days_old, cleaned_scan_ids=removed),
    )


@router.post(
    "/detect-crashed",
    response_model=DetectCrashedResponse,
    summary="Detect crashed scans",
    description="Marks every running scan whose last heartbeat is older than `timeoutMinutes` "
    "as crashed: its partition of `hubspot/deals` records the crash as an observation and its "
    "Dagster run is marked canceled. A running scan beats every 15 s, even during long loads "
    "and rate-limit waits, so a stale heartbeat means its worker is gone. Crashed scans can be "
    "resumed from their last checkpoint. (The code location's `detect_crashed_scans` sensor "
    "does the same on its own after HUBSPOT_DEALS_CRASH_TIMEOUT_SECONDS.)",
    responses=error_responses(
        400,
        429,
        500,
        503,
        examples={
            400: {
                "success": False,
                "message": "Invalid request parameters: {'timeoutMinutes': ['Input should be "
                "less than or equal to 1440']}",
                "error": "Invalid request parameters: {'timeoutMinutes': ['Input should be less "
                "than or equal to 1440']}",
                "validation_errors": {
                    "timeoutMinutes": ["Input should be less than or equal to 1440"]
                },
            }
        },
    ),
)
def detect_crashed(
    scans: ScanServiceDep,
    timeout_minutes: Annotated[
        int,
        Query(
            alias="timeoutMinutes",
            ge=1,
            le=1440,
            description="A running scan without a heartbeat for this many minutes has crashed "
            "(1-1440).",
        ),
    ] = 10,
) -> DetectCrashedResponse:
    crashed = scans.detect_crashed(timeout_minutes)
    return DetectCrashedResponse(
        message=f"Detected {len(crashed)} crashed jobs",
        data=DetectCrashedData(
            crashed_job_ids=crashed, crashed_count=len(crashed), timeout_minutes=timeout_minutes
        ),
    )
