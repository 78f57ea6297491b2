"""`/api/v1/pipeline`: how scans are extracted and where they load."""

from fastapi import APIRouter

from api_shim.deps import SystemServiceDep
from api_shim.models.common import error_responses
from api_shim.models.system import PipelineInfo, PipelineInfoResponse

router = APIRouter(prefix="/pipeline", tags=["Pipeline"])


@router.get(
    "/info",
    response_model=PipelineInfoResponse,
    summary="Get pipeline info",
    description="The dlt pipeline's destination and dataset, and whether Dagster (which runs "
    "it) and the database are usable right now; `error` says what is not.",
    responses=error_responses(429, 500),
)
def pipeline_info(system: SystemServiceDep) -> PipelineInfoResponse:
    info, _ = system.pipeline_info()
    return PipelineInfoResponse(data=PipelineInfo.model_validate(info))
