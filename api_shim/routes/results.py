"""`/api/v1/results`: the tables of a completed scan and pages of their rows."""

from typing import Annotated

import orjson
from fastapi import APIRouter, Query, Response

from api_shim.deps import ResultsServiceDep
from api_shim.models.common import Pagination, error_example, error_responses
from api_shim.models.results import (
    ResultResponse,
    TableInfo,
    TablesData,
    TablesResponse,
)
from api_shim.routes.params import Offset, ScanIdPath
from hubspot_deals.settings import DATASET_NAME

router = APIRouter(prefix="/results", tags=["Results"])

NOT_COMPLETED = error_example(
    "Scan 'hubspot-deals-scan-2025-001' is not completed (status: running); its results are "
    "available once it completes"
)


@router.get(
    "/{scan_id}/tables",
    response_model=TablesResponse,
    summary="Get the scan's tables",
    description="The tables a completed scan loaded, with its row count in each.",
    responses=error_responses(400, 404, 429, 500, 503, examples={400: NOT_COMPLETED}),
)
def scan_tables(scan_id: ScanIdPath, results: ResultsServiceDep) -> TablesResponse:
    found = results.tables(scan_id)
    tables = [
        TableInfo(name=t.name, row_count=t.row_count, extracted_count=found.extracted(t))
        for t in found.tables
    ]
    return TablesResponse(
        data=TablesData(
            scan_id=scan_id, dataset_name=DATASET_NAME, tables=tables, total_tables=len(tables)
        )
    )


@router.get(
    "/{scan_id}/result",
    response_model=ResultResponse,
    summary="Get a page of the scan's rows",
    description="Rows of one of the scan's tables, in primary-key order (deals by id), with "
    "typed values: numbers, booleans, ISO 8601 timestamps and dates, JSON objects.",
    responses=error_responses(400, 404, 429, 500, 503, examples={400: NOT_COMPLETED}),
)
def scan_result(
    scan_id: ScanIdPath,
    results: ResultsServiceDep,
    table_name: Annotated[
        str,
        Query(
            alias="tableName",
            min_length=1,
            max_length=255,
            description="One of the scan's tables (see availableTables).",
            examples=["deals"],
        ),
    ] = "users",
    limit: Annotated[int, Query(ge=1, le=500, description="Records per page (1-500).")] = 100,
    offset: Offset = 0,
) -> Response:
    page, available = results.page(scan_id, table_name, limit, offset)
    pagination = Pagination.of(page.total, limit, offset, len(page.records))
    body = {
        "success": True,
        "data": {
            "scanId": scan_id,
            "tableName": table_name,
            "records": page.records,
            "pagination": pagination.model_dump(by_alias=True),
            "availableTables": available,
            "columns": page.columns,
        },
    }
    # Records are JSON values already: serialized once, not validated again row by row.
    return Response(orjson.dumps(body), media_type="application/json")
