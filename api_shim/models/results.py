"""Results: the scan's tables and pages of their rows."""

from typing import Any

from pydantic import Field

from api_shim.models.common import Pagination, ResponseModel


class TableInfo(ResponseModel):
    name: str
    row_count: int = Field(description="Rows of this scan in the table now.")
    extracted_count: int = Field(description="Rows the scan's run reported loading.")


class TablesData(ResponseModel):
    scan_id: str
    dataset_name: str
    tables: list[TableInfo]
    total_tables: int


class TablesResponse(ResponseModel):
    success: bool = True
    data: TablesData

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "success": True,
                    "data": {
                        "scanId": "hubspot-deals-scan-2025-001",
                        "datasetName": "hubspot_deals_extraction",
                        "tables": [
                            {"name": "deals", "rowCount": 5000, "extractedCount": 5000},
                            {"name": "users", "rowCount": 25, "extractedCount": 25},
                        ],
                        "totalTables": 2,
                    },
                }
            ]
        }
    }


class ResultData(ResponseModel):
    scan_id: str
    table_name: str
    records: list[dict[str, Any]] = Field(
        description="Rows as JSON: numbers, booleans, ISO 8601 timestamps (UTC, `Z`), "
        "YYYY-MM-DD dates, JSON columns as objects, null for missing values."
    )
    pagination: Pagination
    available_tables: list[str]
    columns: list[str]


class ResultResponse(ResponseModel):
    success: bool = True
    data: ResultData

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "success": True,
                    "data": {
                        "scanId": "hubspot-deals-scan-2025-001",
                        "tableName": "deals",
                        "records": [
                            {
                                "id": "12345",
                                "dealname": "Q1 Enterprise Deal",
                                "amount": 50000.0,
                                "dealstage": "appointmentscheduled",
                                "createdate": "2024-01-15T10:00:00Z",
                                "closedate": None,
                            }
                        ],
                        "pagination": {
                            "total": 5000,
                            "limit": 100,
                            "offset": 0,
                            "hasMore": True,
                            "returned": 100,
                        },
                        "availableTables": ["deals", "users"],
                        "columns": ["id", "dealname", "amount", "dealstage", "createdate"],
                    },
                }
            ]
        }
    }
