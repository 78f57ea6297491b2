"""Pipeline info, maintenance, health and statistics (snake_case fields, as documented)."""

from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, Field

from api_shim.models.common import RequestModel, ResponseModel


class PipelineInfo(BaseModel):
    pipeline_name: str
    destination_type: Literal["duckdb", "postgres"]
    working_dir: str
    dataset_name: str
    is_active: bool = Field(description="Dagster answers and the code location is loaded.")
    source_type: str = "hubspot_deals"
    uses_api_service: bool = True
    configuration_method: str = "environment"
    database_health: bool
    supports_checkpoints: bool = True
    error: str | None = None
    dagster_version: str | None = None
    code_location: str
    job_name: str


class PipelineInfoResponse(BaseModel):
    success: bool = True
    data: PipelineInfo

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "success": True,
                    "data": {
                        "pipeline_name": "hubspot_deals_extraction",
                        "destination_type": "postgres",
                        "working_dir": "/home/app/.hubspot_deals/dlt_pipelines",
                        "dataset_name": "hubspot_deals_extraction",
                        "is_active": True,
                        "source_type": "hubspot_deals",
                        "uses_api_service": True,
                        "configuration_method": "environment",
                        "database_health": True,
                        "supports_checkpoints": True,
                        "error": None,
                        "dagster_version": "1.13.27",
                        "code_location": "hubspot_deals",
                        "job_name": "scan_job",
                    },
                }
            ]
        }
    }


def _integral(value: object) -> object:
    """JSON Schema counts 7.0 as an integer; so does this API (7.5 stays an error)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


class CleanupRequest(RequestModel):
    days_old: Annotated[int, BeforeValidator(_integral)] = Field(
        default=7, ge=1, le=365, description="Remove finished scans older than this many days."
    )

    model_config = {"json_schema_extra": {"examples": [{"daysOld": 7}]}}


class CleanupData(ResponseModel):
    cleaned_count: int = Field(description="Scans removed, with their data.")
    days_old: int
    cleaned_scan_ids: list[str] = Field(default_factory=list)


class CleanupResponse(ResponseModel):
    success: bool = True
    message: str
    data: CleanupData

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "success": True,
                    "message": "Successfully cleaned up 2 old scan results",
                    "data": {
                        "cleanedCount": 2,
                        "daysOld": 7,
                        "cleanedScanIds": ["scan-2024-001", "scan-2024-002"],
                    },
                }
            ]
        }
    }


class DetectCrashedData(ResponseModel):
    crashed_job_ids: list[str] = Field(description="Scans marked crashed by this call.")
    crashed_count: int
    timeout_minutes: int


class DetectCrashedResponse(ResponseModel):
    success: bool = True
    message: str
    data: DetectCrashedData

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "success": True,
                    "message": "Detected 2 crashed jobs",
                    "data": {
                        "crashedJobIds": ["job-001", "job-002"],
                        "crashedCount": 2,
                        "timeoutMinutes": 10,
                    },
                }
            ]
        }
    }


class HealthPipeline(BaseModel):
    pipeline_name: str
    database_health: bool
    supports_checkpoints: bool = True


class HealthCheck(BaseModel):
    healthy: bool
    detail: str


class HealthyResponse(BaseModel):
    status: Literal["healthy"] = "healthy"
    timestamp: str
    service: str = "hubspot_deals_extraction"
    pipeline: HealthPipeline
    checks: dict[str, HealthCheck] = Field(
        default_factory=dict,
        description="dagster_webserver, code_location, dagster_daemon, destination.",
    )

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "status": "healthy",
                    "timestamp": "2024-01-15T10:30:00Z",
                    "service": "hubspot_deals_extraction",
                    "pipeline": {
                        "pipeline_name": "hubspot_deals_extraction",
                        "database_health": True,
                        "supports_checkpoints": True,
                    },
                    "checks": {
                        "dagster_webserver": {"healthy": True, "detail": "Dagster 1.13.27"},
                        "code_location": {"healthy": True, "detail": "hubspot_deals loaded"},
                        "dagster_daemon": {"healthy": True, "detail": "heartbeat 4s ago"},
                        "destination": {"healthy": True, "detail": "duckdb file readable"},
                    },
                }
            ]
        }
    }


class UnhealthyResponse(BaseModel):
    status: Literal["unhealthy"] = "unhealthy"
    timestamp: str
    service: str = "hubspot_deals_extraction"
    error: str
    checks: dict[str, HealthCheck] = Field(default_factory=dict)

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "status": "unhealthy",
                    "timestamp": "2024-01-15T10:30:00Z",
                    "service": "hubspot_deals_extraction",
                    "error": "Database connection failed",
                    "checks": {
                        "destination": {
                            "healthy": False,
                            "detail": "Database connection failed: connection refused",
                        }
                    },
                }
            ]
        }
    }


class StatsData(BaseModel):
    total_jobs: int = Field(description="Scans known to Dagster (with the filter applied).")
    status_breakdown: dict[str, int] = Field(description="Scans by status.")
    recent_jobs_7_days: int = Field(description="Scans created in the last 7 days.")
    total_records_extracted: int = Field(description="Deals extracted by all those scans.")
    organization_filter: str | None
    generated_at: str


class StatsResponse(BaseModel):
    """The scan API's statistics (`success`, `data`) and, at the top level, the ETL API's
    (deals-etl-api.md shares this path): both from the same scans, of the key's tenants."""

    success: bool = True
    data: StatsData
    total_scans: int
    active_scans: int = Field(description="Pending, running or resuming scans.")
    completed_scans: int
    failed_scans: int = Field(description="Failed or crashed scans.")
    total_deals_extracted: int
    average_scan_duration_seconds: int | None = Field(
        description="Mean duration of the completed scans."
    )
    success_rate: float | None = Field(
        description="Completed scans in percent of the completed and failed ones."
    )
    uptime: str = Field(description="Since this API process started.", examples=["2 days, 7:24:15"])
    memory_usage: str | None = Field(description="This API process's resident memory.")
    cpu_usage: str = Field(description="This API process's CPU share since it started.")
    last_scan: str | None = Field(description="When the newest scan was created.")

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "success": True,
                    "data": {
                        "total_jobs": 150,
                        "status_breakdown": {
                            "pending": 0,
                            "running": 5,
                            "completed": 120,
                            "failed": 15,
                            "cancelled": 10,
                            "crashed": 0,
                            "resuming": 0,
                            "paused": 0,
                        },
                        "recent_jobs_7_days": 45,
                        "total_records_extracted": 250000,
                        "organization_filter": None,
                        "generated_at": "2024-01-15T10:30:00Z",
                    },
                    "total_scans": 150,
                    "active_scans": 5,
                    "completed_scans": 120,
                    "failed_scans": 15,
                    "total_deals_extracted": 250000,
                    "average_scan_duration_seconds": 180,
                    "success_rate": 88.9,
                    "uptime": "15 days, 7:24:15",
                    "memory_usage": "212MB",
                    "cpu_usage": "2.5%",
                    "last_scan": "2024-01-15T10:25:00Z",
                }
            ]
        }
    }
