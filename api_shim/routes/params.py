"""Path and query parameters shared by several routes."""

from typing import Annotated

from fastapi import Path, Query

# The largest offset PostgreSQL and DuckDB take (BIGINT); beyond any real table anyway.
MAX_OFFSET = 2**63 - 1

ScanIdPath = Annotated[
    str,
    Path(
        description="The scan's id. An id that cannot exist (control characters, over 255 "
        "characters) is simply not found.",
        examples=["hubspot-deals-scan-2025-001"],
    ),
]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Items to skip.")]
OrganizationFilter = Annotated[
    str | None,
    Query(
        alias="organizationId",
        min_length=1,
        max_length=255,
        description="Only scans of this organization.",
        examples=["org-12345"],
    ),
]
