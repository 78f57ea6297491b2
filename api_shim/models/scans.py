"""Scan requests and responses: start, status, cancel, list, remove."""

from datetime import date
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    Field,
    StrictBool,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from api_shim.models.common import (
    TOKEN_PATTERN,
    Pagination,
    RequestModel,
    ResponseModel,
    check_token,
)
from hubspot_deals.scan import SCAN_ID_PATTERN

ScanStatus = Literal[
    "pending", "running", "completed", "failed", "cancelled", "crashed", "resuming", "paused"
]
SCAN_STATUSES: tuple[str, ...] = ScanStatus.__args__  # type: ignore[attr-defined]


def _real_date(value: str) -> str:
    date.fromisoformat(value)  # ValueError for 2024-02-30
    return value


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or " " in value:
        raise ValueError("not an http(s) URL")
    return value


DateString = Annotated[
    str,
    Field(
        pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
        json_schema_extra={"format": "date"},
        examples=["2024-01-01"],
    ),
    AfterValidator(_real_date),
]


TENANT_URL_PATTERN = r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?([/?#][!-~]*)?$"
TenantUrl = Annotated[
    str,
    Field(max_length=2048, pattern=TENANT_URL_PATTERN),
    AfterValidator(_http_url),
]


class ScanAuth(RequestModel):
    oauth: StrictBool = Field(
        default=False,
        description="Scan with the organization's HubSpot OAuth grant (authorized through "
        "`GET /api/hs/auth/login`) instead of an access token; the scan refreshes the grant's "
        "access token itself when it expires.",
    )
    access_token: str | None = Field(
        min_length=10,
        max_length=4096,
        description="HubSpot Private App access token (required unless `oauth` is true): "
        "printable ASCII characters without spaces. Encrypted before it reaches Dagster; never "
        "returned or logged.",
        examples=["pat-na1-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"],
        json_schema_extra={"pattern": TOKEN_PATTERN},  # checked by `check_token`
    )
    tennant_url: TenantUrl | None = Field(
        default=None,
        description="HubSpot tenant URL (optional; a valid http(s) URL).",
        examples=["https://app.hubspot.com"],
    )

    @model_validator(mode="before")
    @classmethod
    def _oauth_needs_no_token(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("oauth") is True and "accessToken" not in data:
            return {**data, "accessToken": None}
        return data

    @field_validator("access_token", mode="before")
    @classmethod
    def _looks_like_a_token(cls, value: Any) -> Any:
        return check_token(value)

    @field_validator("access_token")
    @classmethod
    def _token_or_oauth(cls, value: str | None, info: ValidationInfo) -> str | None:
        oauth = info.data.get("oauth") is True
        if value is None and not oauth:
            raise PydanticCustomError("missing", "Access token is required")
        if value is not None and oauth:
            raise ValueError("Send either an access token or oauth: true, not both")
        return value


class DateRange(RequestModel):
    start_date: DateString | None = Field(
        default=None, description="First createdate day, inclusive (YYYY-MM-DD, UTC)."
    )
    end_date: DateString | None = Field(
        default=None, description="Last createdate day, inclusive (YYYY-MM-DD, UTC)."
    )

    @model_validator(mode="after")
    def _ordered(self) -> "DateRange":
        if self.start_date and self.end_date and self.start_date > self.end_date:
            raise ValueError("Start date must not be after end date")
        return self


class ScanFilters(RequestModel):
    properties: list[str] | None = Field(
        default=None,
        description="Deal properties to extract; all of the portal's when omitted.",
        examples=[["dealname", "amount", "dealstage"]],
    )
    include_archived: StrictBool = Field(default=False, description="Also extract archived deals.")
    date_range: DateRange | None = None


class ScanConfigRequest(RequestModel):
    scan_id: str = Field(
        pattern=SCAN_ID_PATTERN,
        description="Unique scan identifier: letters, digits, hyphens, underscores (1-255).",
        examples=["hubspot-deals-scan-2025-001"],
    )
    organization_id: str = Field(
        min_length=1, max_length=255, description="Organization identifier (1-255 characters)."
    )
    type: list[Literal["user"]] = Field(
        min_length=1, max_length=1, description='Scan type: must be ["user"].'
    )
    auth: ScanAuth
    filters: ScanFilters | None = None


START_EXAMPLE = {
    "config": {
        "scanId": "hubspot-deals-scan-2025-001",
        "organizationId": "org-12345",
        "type": ["user"],
        "auth": {
            "accessToken": "pat-na1-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx",
            "tennantUrl": "https://app.hubspot.com",
        },
        "filters": {
            "properties": ["dealname", "amount", "dealstage", "pipeline", "createdate"],
            "includeArchived": False,
            "dateRange": {"startDate": "2024-01-01", "endDate": "2024-12-31"},
        },
    }
}


class StartScanRequest(RequestModel):
    config: ScanConfigRequest

    model_config = {"json_schema_extra": {"examples": [START_EXAMPLE]}}


class StartScanResponse(ResponseModel):
    success: bool = True
    message: str = "Scan initialization accepted and is now processing in the background."


# -- status ---------------------------------------------------------------------------------


class DateRangeEcho(ResponseModel):
    start_date: str | None = None
    end_date: str | None = None


class FiltersEcho(ResponseModel):
    properties: list[str] | None = None
    include_archived: bool = False
    date_range: DateRangeEcho | None = None


class AuthEcho(ResponseModel):
    tennant_url: str | None = None


class ScanConfigEcho(ResponseModel):
    """The scan's configuration as started, without the access token."""

    scan_id: str
    organization_id: str
    type: list[str] = Field(default_factory=lambda: ["user"])
    auth: AuthEcho | None = None
    filters: FiltersEcho = Field(default_factory=FiltersEcho)


class CheckpointInfo(ResponseModel):
    latest_checkpoint: dict[str, Any] = Field(
        default_factory=dict,
        description="The checkpoint the scan last committed (cursor, dealsExtracted, chunks) "
        "and its progress: records extracted, records expected, the Dagster run.",
    )
    progress: float = Field(description="Percent of the expected records extracted (0-100).")
    last_checkpoint_at: str | None = Field(
        default=None, description="When the scan last committed a checkpoint (ISO 8601)."
    )


class ScanStatusData(ResponseModel):
    scan_id: str
    organization_id: str
    type: str = "user"
    status: ScanStatus
    start_time: str | None = Field(
        description="When the scan started (ISO 8601); when it was accepted while pending."
    )
    end_time: str | None = Field(description="When the scan ended (ISO 8601); null until then.")
    last_heartbeat: str | None = Field(description="The scan's last heartbeat (ISO 8601).")
    records_extracted: int = Field(description="Deals extracted so far.")
    duration: float | None = Field(description="Seconds from start to end (or to now).")
    error_message: str | None = Field(description="Why the scan failed; null otherwise.")
    metadata: dict[str, Any] = Field(default_factory=dict)
    config: ScanConfigEcho
    checkpoint_info: CheckpointInfo


STATUS_EXAMPLE = {
    "success": True,
    "data": {
        "scanId": "hubspot-deals-scan-2025-001",
        "organizationId": "org-12345",
        "type": "user",
        "status": "running",
        "startTime": "2024-01-15T10:30:00Z",
        "endTime": None,
        "lastHeartbeat": "2024-01-15T10:35:00Z",
        "recordsExtracted": 1250,
        "duration": 300.5,
        "errorMessage": None,
        "metadata": {"dagsterRunId": "22f1ef5d-0000-0000-0000-000000000000", "runCount": 1},
        "config": {
            "scanId": "hubspot-deals-scan-2025-001",
            "organizationId": "org-12345",
            "type": ["user"],
            "auth": None,
            "filters": {
                "properties": ["dealname", "amount", "dealstage"],
                "includeArchived": False,
                "dateRange": None,
            },
        },
        "checkpointInfo": {
            "latestCheckpoint": {
                "cursor": "5001250",
                "dealsExtracted": 1250,
                "chunks": 1,
                "recordsExtracted": 1250,
                "expectedRecords": 2747,
                "runId": "22f1ef5d-0000-0000-0000-000000000000",
            },
            "progress": 45.5,
            "lastCheckpointAt": "2024-01-15T10:35:00Z",
        },
    },
}


class ScanStatusResponse(ResponseModel):
    success: bool = True
    data: ScanStatusData

    model_config = {"json_schema_extra": {"examples": [STATUS_EXAMPLE]}}


class ScanStateData(ResponseModel):
    scan_id: str
    status: ScanStatus


class CancelScanResponse(ResponseModel):
    success: bool = True
    message: str = "Scan cancelled successfully"
    data: ScanStateData

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "success": True,
                    "message": "Scan cancelled successfully",
                    "data": {"scanId": "hubspot-deals-scan-2025-001", "status": "cancelled"},
                }
            ]
        }
    }


class PauseScanResponse(ResponseModel):
    success: bool = True
    message: str = "Scan paused successfully"
    data: ScanStateData

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "success": True,
                    "message": "Scan paused successfully",
                    "data": {"scanId": "hubspot-deals-scan-2025-001", "status": "paused"},
                }
            ]
        }
    }


class ResumedScanData(ScanStateData):
    run_id: str = Field(description="The Dagster run that continues the scan.")
    resumed_from_run_id: str = Field(description="The scan's run that stopped.")


class ResumeScanResponse(ResponseModel):
    success: bool = True
    message: str = "Scan resumed from its last checkpoint"
    data: ResumedScanData

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "success": True,
                    "message": "Scan resumed from its last checkpoint",
                    "data": {
                        "scanId": "hubspot-deals-scan-2025-001",
                        "status": "resuming",
                        "runId": "5c1a0d7e-0000-0000-0000-000000000000",
                        "resumedFromRunId": "22f1ef5d-0000-0000-0000-000000000000",
                    },
                }
            ]
        }
    }


class ScanSummary(ResponseModel):
    scan_id: str
    organization_id: str
    status: ScanStatus
    start_time: str | None
    end_time: str | None
    records_extracted: int


class ScanListData(ResponseModel):
    scans: list[ScanSummary]
    pagination: Pagination


class ScanListResponse(ResponseModel):
    success: bool = True
    data: ScanListData

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "success": True,
                    "data": {
                        "scans": [
                            {
                                "scanId": "hubspot-deals-scan-2025-001",
                                "organizationId": "org-12345",
                                "status": "completed",
                                "startTime": "2024-01-15T10:30:00Z",
                                "endTime": "2024-01-15T10:45:00Z",
                                "recordsExtracted": 2500,
                            }
                        ],
                        "pagination": {
                            "total": 50,
                            "limit": 20,
                            "offset": 0,
                            "hasMore": True,
                            "returned": 20,
                        },
                    },
                }
            ]
        }
    }


class RemovedScanData(ResponseModel):
    scan_id: str
    records_deleted: int = Field(
        description="Rows deleted from all of the scan's tables: its deals plus its users, "
        "pipelines, pipeline stages and deal properties (the ETL API's `deleted_deals` counts "
        "the deals alone)."
    )


class RemoveScanResponse(ResponseModel):
    success: bool = True
    message: str = "Scan removed successfully"
    data: RemovedScanData

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "success": True,
                    "message": "Scan removed successfully",
                    "data": {"scanId": "hubspot-deals-scan-2025-001", "recordsDeleted": 2500},
                }
            ]
        }
    }
