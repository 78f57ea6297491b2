"""`/api/v1/results/{scan_id}/download/{format}`: a completed scan's table as a file."""

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import StreamingResponse
from starlette.background import BackgroundTask

from api_shim.deps import DownloadServiceDep
from api_shim.models.common import error_example, error_responses
from api_shim.routes.params import ScanIdPath
from api_shim.services.download_formats import FORMATS

router = APIRouter(prefix="/results", tags=["Results"])

JSON_EXAMPLE = """{
  "scanId": "hubspot-deals-scan-2025-001",
  "tableName": "deals",
  "columns": ["id", "dealname", "amount", "createdate"],
  "totalRecords": 2,
  "records": [
    {"id":"10000000001","dealname":"Q1 Deal","amount":50000.0,"createdate":"2024-01-15T10:00:00Z"},
    {"id":"10000000004","dealname":"=1+2","amount":-5.0,"createdate":"2024-01-16T09:30:00.125Z"}
  ]
}
"""
CSV_EXAMPLE = (
    "id,dealname,amount,createdate\r\n"
    "10000000001,Q1 Deal,50000.0,2024-01-15T10:00:00Z\r\n"
    "10000000004,'=1+2,-5.0,2024-01-16T09:30:00.125Z\r\n"
)
DOWNLOAD_CONTENT = {
    "application/json": {
        "schema": {"type": "string", "format": "binary"},
        "example": JSON_EXAMPLE,
    },
    FORMATS["csv"].media_type: {
        "schema": {"type": "string", "format": "binary"},
        "example": CSV_EXAMPLE,
    },
    FORMATS["excel"].media_type: {"schema": {"type": "string", "format": "binary"}},
}
DOWNLOAD_HEADERS = {
    "Content-Disposition": {
        "description": '`attachment; filename="<scan id>-<table>.<json|csv|xlsx>"`',
        "schema": {"type": "string"},
    }
}
EXCEL_TOO_LARGE = error_example(
    "Table 'deals' has 1,200,000 rows; an Excel sheet holds at most 1,048,575 below its header "
    "row. Download it as csv or json instead."
)

FormatPath = Annotated[
    Literal["json", "csv", "excel"],
    Path(
        description="`json` (an object with the records, one per line), `csv` (UTF-8, header "
        "row, formula-safe) or `excel` (an .xlsx workbook with one sheet).",
        examples=["csv"],
    ),
]


@router.get(
    "/{scan_id}/download/{format}",
    response_class=StreamingResponse,
    summary="Download a table of the scan",
    description="All of one table's rows of a completed scan as a file, in primary-key order "
    "(deals by id), with the same typed values as `/result`. JSON and CSV are streamed from "
    "the destination as they are read: the download starts at once and the service's memory "
    "does not grow with the table. An Excel workbook is written to a temporary file first "
    "(an xlsx is a zip assembled at the end) and then sent; a table with more rows than an "
    "Excel sheet holds (1,048,575 below the header) gets a 400 instead of a truncated file. "
    "CSV cells that a spreadsheet would read as a formula (text starting with `=`, `+`, `-`, "
    "`@`, tab or carriage return, other than a plain number such as `-5`) get a leading `'`.",
    responses={
        200: {
            "description": "The file, with `Content-Disposition: attachment`.",
            "content": DOWNLOAD_CONTENT,
            "headers": DOWNLOAD_HEADERS,
        },
        **error_responses(
            400,
            404,
            429,
            500,
            503,
            examples={
                400: error_example(
                    "Scan 'hubspot-deals-scan-2025-001' is not completed (status: running); "
                    "its results are available once it completes"
                )
            },
        ),
    },
)
def download_table(
    scan_id: ScanIdPath,
    format: FormatPath,
    downloads: DownloadServiceDep,
    table_name: Annotated[
        str,
        Query(
            alias="tableName",
            min_length=1,
            max_length=255,
            description="One of the scan's tables: deals, users, pipelines, pipeline_stages, "
            "deal_properties (and any other table the scan's run loaded).",
            examples=["deals"],
        ),
    ] = "deals",
) -> StreamingResponse:
    download = downloads.open(scan_id, format, table_name)
    headers = {"Content-Disposition": f'attachment; filename="{download.filename}"'}
    if download.length is not None:
        headers["Content-Length"] = str(download.length)
    return StreamingResponse(
        download.chunks,
        media_type=download.media_type,
        headers=headers,
        background=BackgroundTask(download.close),
    )
