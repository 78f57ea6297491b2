"""Path and query parameters shared by several routes, and the one check of them all."""

from typing import Annotated

from fastapi import Path, Query, Request
from fastapi.exceptions import RequestValidationError

from api_shim.errors import printable
from api_shim.models.common import (
    CONTROL_CHARACTERS_ERROR,
    CONTROL_CHARACTERS_MESSAGE,
    has_control_characters,
)

# The largest offset PostgreSQL and DuckDB take (BIGINT); beyond any real table anyway.
MAX_OFFSET = 2**63 - 1

ScanIdPath = Annotated[
    str,
    Path(
        description="The scan's id. Control characters are a 400; an id that cannot exist "
        "otherwise (over 255 characters) is simply not found.",
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


def reject_control_characters(request: Request) -> None:
    """Every path and query parameter of the route (names and values, declared or not) against
    the text rule of `api_shim.models.common`: a control character is a 400 naming the
    parameter, in the request's surface shape (`api_shim.errors`), before the route or any
    database sees it. A dependency of every router, so routes added later are covered too."""
    sources = (
        ("path", request.path_params.items()),
        ("query", request.query_params.multi_items()),
    )
    errors = [
        {
            "type": CONTROL_CHARACTERS_ERROR,
            "loc": (source, printable(name, 100)),
            "msg": CONTROL_CHARACTERS_MESSAGE,
        }
        for source, items in sources
        for name, value in items
        if has_control_characters(f"{name}={value}")
    ]
    if errors:
        raise RequestValidationError(errors)
