"""Requests and responses of the ETL surface (deals-etl-api.md): snake_case, as documented."""

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    field_validator,
)

from api_shim.models.common import TOKEN_PATTERN, TextInputs, check_token


def _integral(value: object) -> object:
    """JSON Schema counts 95.0 as an integer, and so does this API (95.5 stays an error)."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


EtlStatus = Literal["pending", "running", "completed", "failed", "cancelled"]
SCAN_ID_EXAMPLE = "scan_20250127_103000_0a1b2c3d4e5f"


class EtlRequest(TextInputs):
    """Request bodies: exact JSON types, unknown fields rejected, no control characters."""

    model_config = ConfigDict(extra="forbid", strict=True)


class EtlFilters(EtlRequest):
    archived: StrictBool = Field(default=False, description="Also extract archived deals.")
    pipeline: StrictStr | None = Field(
        default=None,
        min_length=1,
        max_length=255,
        description="Only deals of this pipeline (its internal id, e.g. `default`); every "
        "pipeline when omitted. HubSpot applies it (search), so other pipelines' deals are "
        "never read.",
        examples=["default"],
    )


class EtlScanConfig(EtlRequest):
    hubspot_access_token: StrictStr = Field(
        min_length=10,
        max_length=4096,
        description="HubSpot Private App access token: printable ASCII characters without "
        "spaces. Encrypted before it reaches Dagster; never returned or logged.",
        examples=["pat-na1-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"],
        json_schema_extra={"pattern": TOKEN_PATTERN},  # checked by `check_token`
    )
    properties: list[StrictStr] | None = Field(
        default=None,
        max_length=2000,
        description="Deal properties to extract; every property of the portal when omitted.",
        examples=[["dealname", "amount", "dealstage", "closedate", "pipeline"]],
    )
    filters: EtlFilters = Field(default_factory=EtlFilters)
    batch_size: Annotated[StrictInt, BeforeValidator(_integral)] = Field(
        default=100,
        ge=1,
        le=100,
        description="Deals per batch (1-100). Recorded with the scan; reads always use "
        "HubSpot's largest pages (100 deals a list page, 200 a search page).",
    )

    @field_validator("hubspot_access_token", mode="before")
    @classmethod
    def _looks_like_a_token(cls, value: object) -> object:
        return check_token(value)


class EtlStartRequest(EtlRequest):
    tenant_id: StrictStr = Field(
        min_length=1,
        max_length=100,
        pattern=r"^[!-~]+$",
        description="Tenant (organization) identifier; one of the API key's tenants.",
        examples=["acme_corp_prod"],
    )
    scan_type: Literal["full", "incremental"] = Field(
        description="`full` reads every deal; `incremental` only what changed since the "
        "tenant's last completed scan (all deals when there is none)."
    )
    config: EtlScanConfig

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "tenant_id": "acme_corp_prod",
                    "scan_type": "full",
                    "config": {
                        "hubspot_access_token": "pat-na1-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx",
                        "properties": ["dealname", "amount", "dealstage", "closedate", "pipeline"],
                        "filters": {"archived": False, "pipeline": "default"},
                        "batch_size": 100,
                    },
                }
            ]
        }
    )


class EtlCancelRequest(EtlRequest):
    reason: StrictStr | None = Field(
        default=None,
        max_length=500,
        description="Why the scan is cancelled; logged and returned.",
        examples=["User requested cancellation"],
    )


class EtlLinks(BaseModel):
    model_config = ConfigDict(extra="allow")

    self: str | None = None


class EtlStartResponse(BaseModel):
    status: Literal["accepted"] = "accepted"
    message: str = "Scan initiated successfully"
    scan_id: str = Field(examples=[SCAN_ID_EXAMPLE])
    scan_job_id: str = Field(description="The Dagster run id of the scan's run.")
    tenant_id: str
    scan_type: Literal["full", "incremental"]
    estimated_duration_minutes: int | None = Field(
        description="From the tenant's last completed scan of this type; null without one."
    )
    created_at: str
    links: dict[str, str]


class EtlProgress(BaseModel):
    total_items: int | None = Field(
        default=None,
        description="Deals HubSpot counted for the scan's filters when it began (absent "
        "until the scan has asked).",
    )
    processed_items: int = Field(description="Deals loaded so far.")
    failed_items: int = Field(
        description="Deals that could not be loaded: always 0, since a value that does not fit "
        "its type is kept in the row's `_unparsed` column instead of dropping the deal."
    )
    percentage: float
    success_rate: str | None = Field(default=None, examples=["100.00%"])


class EtlTiming(BaseModel):
    model_config = ConfigDict(extra="allow")

    started_at: str | None = None
    estimated_completion: str | None = None
    elapsed_seconds: int | None = None
    completed_at: str | None = None
    duration_seconds: int | None = None
    failed_at: str | None = None
    cancelled_at: str | None = None


class EtlScanError(BaseModel):
    code: str = Field(examples=["authentication_error"])
    message: str
    details: str | None = None


class EtlResultsSummary(BaseModel):
    total_deals: int
    total_value: float
    avg_deal_value: float | None
    pipelines: dict[str, int]
    stages: dict[str, int]


class EtlStatusResponse(BaseModel):
    scan_id: str
    scan_job_id: str
    tenant_id: str
    status: EtlStatus
    status_detail: str = Field(
        description="The scan's status in the existing API (adds resuming, crashed, paused)."
    )
    scan_type: Literal["full", "incremental"]
    progress: EtlProgress
    timing: EtlTiming
    config: dict[str, Any]
    error: EtlScanError | None = None
    results_summary: EtlResultsSummary | None = None
    links: dict[str, str]

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "scan_id": SCAN_ID_EXAMPLE,
                    "scan_job_id": "3f1c2a9e-7b1d-4c55-9a57-2c0c8f7e6d10",
                    "tenant_id": "acme_corp_prod",
                    "status": "completed",
                    "status_detail": "completed",
                    "scan_type": "full",
                    "progress": {
                        "total_items": 495,
                        "processed_items": 495,
                        "failed_items": 0,
                        "percentage": 100.0,
                        "success_rate": "100.00%",
                    },
                    "timing": {
                        "started_at": "2025-01-27T10:30:00Z",
                        "completed_at": "2025-01-27T10:35:30Z",
                        "duration_seconds": 330,
                    },
                    "config": {"batch_size": 100, "properties_count": 7},
                    "results_summary": {
                        "total_deals": 495,
                        "total_value": 24750000.0,
                        "avg_deal_value": 50000.0,
                        "pipelines": {"default": 450, "sales-2024": 45},
                        "stages": {"closedwon": 100, "closedlost": 45},
                    },
                    "links": {
                        "self": f"/api/v1/scans/{SCAN_ID_EXAMPLE}",
                        "results": f"/api/v1/scans/{SCAN_ID_EXAMPLE}/results",
                    },
                }
            ]
        }
    )


class EtlPagination(BaseModel):
    page: int
    limit: int
    total_results: int
    total_pages: int
    has_next: bool
    has_previous: bool


class EtlValueSummary(BaseModel):
    total_value: float = Field(description="Sum of `amount` over every deal matching the filters.")
    avg_value: float | None
    min_value: float | None
    max_value: float | None


class EtlResultsResponse(BaseModel):
    scan_id: str
    tenant_id: str
    status: EtlStatus
    pagination: EtlPagination
    filters_applied: dict[str, str]
    results: list[dict[str, Any]] = Field(
        description="Deals: `id`, every extracted property as a typed value, `archived`, and "
        "`metadata` (`extracted_at`: when the scan finished; `scan_id`)."
    )
    summary: EtlValueSummary
    links: dict[str, str]


class EtlCancelProgress(BaseModel):
    processed_items: int
    total_items: int | None
    percentage: float


class EtlCancelResponse(BaseModel):
    status: Literal["success"] = "success"
    message: str = "Scan cancelled successfully"
    scan_id: str
    previous_status: EtlStatus
    current_status: Literal["cancelled"] = "cancelled"
    reason: str | None = None
    progress_at_cancellation: EtlCancelProgress
    cancelled_at: str
    links: dict[str, str]


class EtlRemoveResponse(BaseModel):
    status: Literal["success"] = "success"
    message: str
    scan_id: str
    deleted_deals: int = Field(
        description="Deal rows deleted. The scan's rows in its other tables (users, pipelines, "
        "pipeline stages, deal properties) are deleted too, but are not deals: the scan API's "
        "`recordsDeleted` counts them all."
    )
    deleted_at: str


class EtlHealthDatabase(BaseModel):
    status: Literal["connected", "disconnected"]
    latency_ms: float | None = None


class EtlHealthResponse(BaseModel):
    status: Literal["healthy", "unhealthy"]
    service: str = "hubspot_deals"
    version: str
    timestamp: str
    database: EtlHealthDatabase
    error: str | None = None
    components: dict[str, Literal["healthy", "degraded", "unhealthy"]]


class EtlErrorResponse(BaseModel):
    """Every ETL error: `error` is the code, `message` says what went wrong."""

    error: str = Field(examples=["not_found"])
    message: str
    details: dict[str, str] | str | None = None
    active_scan_id: str | None = Field(default=None, description="409 conflict only.")
    retry_after: int | None = Field(default=None, description="429 only.")
    incident_id: str | None = Field(default=None, description="500 only.")
    timestamp: str
