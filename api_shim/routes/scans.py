"""`/api/v1/scan`: start, status, cancel, list, remove."""

from typing import Annotated

from fastapi import APIRouter, Query, status

from api_shim.deps import ScanServiceDep
from api_shim.models.common import (
    CONTROL_CHARACTERS_MESSAGE,
    Pagination,
    error_example,
    error_responses,
)
from api_shim.models.scans import (
    CancelScanResponse,
    CheckpointInfo,
    PauseScanResponse,
    RemovedScanData,
    RemoveScanResponse,
    ResumedScanData,
    ResumeScanResponse,
    ScanConfigEcho,
    ScanListData,
    ScanListResponse,
    ScanStateData,
    ScanStatusData,
    ScanStatusResponse,
    ScanSummary,
    StartScanRequest,
    StartScanResponse,
)
from api_shim.routes.params import Offset, OrganizationFilter, ScanIdPath
from api_shim.services.scan_runs import API_SCAN_TYPE, iso, silent_for
from api_shim.services.scans import ScanState

router = APIRouter(prefix="/scan", tags=["Scans"])

_BAD_SCAN_ID_ERRORS = {"scan_id": [CONTROL_CHARACTERS_MESSAGE]}
BAD_SCAN_ID = {
    **error_example(f"Invalid request parameters: {_BAD_SCAN_ID_ERRORS}"),
    "validation_errors": _BAD_SCAN_ID_ERRORS,
}


def state_change_responses(conflict: str) -> dict:
    """Error answers of an operation the scan's state may forbid (400, with this example)."""
    return error_responses(400, 404, 429, 500, 503, examples={400: error_example(conflict)})


def status_data(state: ScanState) -> ScanStatusData:
    scan = state.runs
    latest = scan.latest
    metadata: dict[str, object] = {
        "dagsterRunId": latest.run_id,
        "dagsterRunStatus": latest.status,
        "dagsterPartition": scan.partition,
        "runCount": len(scan.runs),
        "scanType": scan.scan_kind,
    }
    error_message = None
    if state.status in ("failed", "crashed"):
        if state.failure is not None and state.failure.category:
            metadata["errorCategory"] = state.failure.category
        if state.failure is not None and state.failure.message:
            error_message = state.failure.message
        elif latest.status == "FAILURE":
            error_message = (
                f"The scan's Dagster run {latest.run_id} failed; its logs in the Dagster UI "
                "have the details"
            )
        else:
            error_message = (
                "No heartbeat from the scan for over "
                f"{int(silent_for(latest, state.now))} seconds: "
                "its run worker has probably died"
            )
    return ScanStatusData(
        scan_id=scan.scan_id,
        organization_id=scan.organization_id,
        type=API_SCAN_TYPE,
        status=state.status,
        start_time=iso(scan.start_time),
        end_time=iso(scan.end_time),
        last_heartbeat=iso(scan.heartbeat),
        records_extracted=scan.records_extracted,
        duration=scan.duration(state.now),
        error_message=error_message,
        metadata=metadata,
        config=ScanConfigEcho.model_validate(scan.config_echo()),
        checkpoint_info=CheckpointInfo(
            latest_checkpoint=scan.latest_checkpoint(),
            progress=scan.progress(state.status),
            last_checkpoint_at=iso(scan.checkpoint_at),
        ),
    )


@router.post(
    "/start",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=StartScanResponse,
    summary="Start a deal extraction scan",
    description="Validates the request, encrypts the access token, adds the scan's Dagster "
    "partition and launches one run of the scan job for it. The scan runs in the background; "
    "poll its status.",
    responses=error_responses(
        400,
        409,
        429,
        500,
        503,
        examples={
            400: {
                "success": False,
                "message": "Configuration validation failed: {'config': {'auth': {'accessToken': "
                "['Access token must be 10-4096 characters']}}}",
                "error": "Configuration validation failed: {'config': {'auth': {'accessToken': "
                "['Access token must be 10-4096 characters']}}}",
                "validation_errors": {
                    "config": {"auth": {"accessToken": ["Access token must be 10-4096 characters"]}}
                },
            }
        },
    ),
)
def start_scan(body: StartScanRequest, scans: ScanServiceDep) -> StartScanResponse:
    scans.start(body.config)
    return StartScanResponse()


@router.get(
    "/list",
    response_model=ScanListResponse,
    summary="List scans",
    description="Scans known to Dagster (runs of the scan partitions, including scans started "
    "from the Dagster UI, schedules and sensors), newest first.",
    responses=error_responses(400, 429, 500, 503),
)
def list_scans(
    scans: ScanServiceDep,
    organization_id: OrganizationFilter = None,
    limit: Annotated[int, Query(ge=1, le=100, description="Scans per page (1-100).")] = 20,
    offset: Offset = 0,
) -> ScanListResponse:
    page, total = scans.page(organization_id, limit, offset)
    items = [
        ScanSummary(
            scan_id=s.scan_id,
            organization_id=s.runs.organization_id,
            status=s.status,
            start_time=iso(s.runs.start_time),
            end_time=iso(s.runs.end_time),
            records_extracted=s.runs.records_extracted,
        )
        for s in page
    ]
    return ScanListResponse(
        data=ScanListData(scans=items, pagination=Pagination.of(total, limit, offset, len(items)))
    )


@router.get(
    "/{scan_id}/status",
    response_model=ScanStatusResponse,
    summary="Get scan status",
    description="Status and progress, live while the scan runs: the scan's Dagster runs and the "
    "progress tags its run writes every few seconds.",
    responses=error_responses(
        400,
        404,
        429,
        500,
        503,
        examples={400: BAD_SCAN_ID},
    ),
)
def scan_status(scan_id: ScanIdPath, scans: ScanServiceDep) -> ScanStatusResponse:
    return ScanStatusResponse(data=status_data(scans.state(scan_id)))


@router.post(
    "/{scan_id}/cancel",
    response_model=CancelScanResponse,
    summary="Cancel a scan",
    description="Terminates the scan's pending or running Dagster run (a run still starting "
    "stops itself as soon as it starts: the request is recorded in Dagster first); a paused "
    "scan's stop becomes final (it can no longer be resumed).",
    responses=state_change_responses(
        "Cannot cancel scan 'hubspot-deals-scan-2025-001': it is already completed"
    ),
)
def cancel_scan(scan_id: ScanIdPath, scans: ScanServiceDep) -> CancelScanResponse:
    state = scans.cancel(scan_id)
    return CancelScanResponse(data=ScanStateData(scan_id=state.scan_id, status=state.status))


@router.post(
    "/{scan_id}/pause",
    response_model=PauseScanResponse,
    summary="Pause a scan",
    description="Stops a pending, running or resuming scan; its rows and last checkpoint stay "
    "(every chunk of deals commits with its checkpoint, so any moment is a safe point). The "
    "scan's Dagster run ends CANCELED and its partition of `hubspot/deals` records the pause "
    "as an observation (recorded first: a run still starting stops itself once it starts). "
    "`POST /scan/{scan_id}/resume` continues it; `POST "
    "/scan/{scan_id}/cancel` makes the stop final.",
    responses=state_change_responses(
        "Cannot pause scan 'hubspot-deals-scan-2025-001': it is completed; only a "
        "pending, running or resuming scan can be paused"
    ),
)
def pause_scan(scan_id: ScanIdPath, scans: ScanServiceDep) -> PauseScanResponse:
    state = scans.pause(scan_id)
    return PauseScanResponse(data=ScanStateData(scan_id=state.scan_id, status=state.status))


@router.post(
    "/{scan_id}/resume",
    response_model=ResumeScanResponse,
    summary="Resume a scan",
    description="Continues a paused, failed or crashed scan from its last checkpoint: a new "
    "Dagster run of the scan's partition with the scan's own configuration reads only what the "
    "checkpoint has not loaded, and the final tables equal an uninterrupted scan's. The status "
    "is `resuming` until that run ends. A crashed scan still marked running in Dagster is first "
    "marked crashed. 400 for a pending, running, resuming, completed or cancelled scan.",
    responses=state_change_responses(
        "Cannot resume scan 'hubspot-deals-scan-2025-001': it is completed; only a "
        "paused, failed or crashed scan can be resumed"
    ),
)
def resume_scan(scan_id: ScanIdPath, scans: ScanServiceDep) -> ResumeScanResponse:
    state, run_id = scans.resume(scan_id)
    return ResumeScanResponse(
        data=ResumedScanData(
            scan_id=state.scan_id,
            status=state.status,
            run_id=run_id,
            resumed_from_run_id=state.runs.latest.run_id,
        )
    )


@router.delete(
    "/{scan_id}/remove",
    response_model=RemoveScanResponse,
    summary="Remove a scan and its data",
    description="Deletes the scan's rows from every table, its Dagster runs and its partition. "
    "Pending and running scans must be cancelled first.",
    responses=state_change_responses(
        "Cannot remove scan 'hubspot-deals-scan-2025-001' while it is running; cancel it first"
    ),
)
def remove_scan(scan_id: ScanIdPath, scans: ScanServiceDep) -> RemoveScanResponse:
    deleted = scans.remove(scan_id)
    return RemoveScanResponse(
        data=RemovedScanData(scan_id=scan_id, records_deleted=sum(deleted.values()))
    )
