"""Shapes shared by every resource: the error envelope, the pagination block, and the one rule
for text inputs (no control characters; tokens printable ASCII without spaces)."""

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

# -- text inputs ----------------------------------------------------------------------------
# Unicode's control characters (C0, DEL, C1): no id, name, filter, reason or token contains one,
# and PostgreSQL refuses a NUL in a string outright. Every text input of every route is checked
# against this one rule: every string of a request body by `TextInputs` (the base of both
# surfaces' request models), path and query parameters by `api_shim.routes.params.
# reject_control_characters` (a dependency of every router).
CONTROL_CHARACTERS = re.compile("[\x00-\x1f\x7f-\x9f]")
NOT_TOKEN_CHARACTERS = re.compile("[^!-~]")  # a token is printable ASCII without spaces
# The same rules as JSON Schema patterns, for the OpenAPI document (`api_shim.app`).
TEXT_PATTERN = "^[^\\x00-\\x1f\\x7f-\\x9f]*$"
TOKEN_PATTERN = "^[!-~]*$"
CONTROL_CHARACTERS_ERROR = "control_characters"
TOKEN_FORMAT_ERROR = "token_format"
CONTROL_CHARACTERS_MESSAGE = "Control characters (U+0000-U+001F, U+007F-U+009F) are not allowed"
TOKEN_FORMAT_MESSAGE = "Invalid token format: printable ASCII characters without spaces"
# Error types whose message is the whole answer (it never repeats the input) on every surface.
TEXT_ERRORS = frozenset({CONTROL_CHARACTERS_ERROR, TOKEN_FORMAT_ERROR})


def has_control_characters(value: str) -> bool:
    return CONTROL_CHARACTERS.search(value) is not None


def check_text(value: Any) -> Any:
    """`value` unchanged, unless it is a string (or a list of strings) with a control
    character. Anything else is left to the field's own type check."""
    items = value if isinstance(value, list) else [value]
    if any(isinstance(item, str) and has_control_characters(item) for item in items):
        raise PydanticCustomError(CONTROL_CHARACTERS_ERROR, CONTROL_CHARACTERS_MESSAGE)
    return value


def check_token(value: Any) -> Any:
    """A token (HubSpot's, an OAuth one) must look like one: `check_text`, and no spaces or
    characters beyond printable ASCII (an HTTP header could not carry it)."""
    check_text(value)
    if isinstance(value, str) and NOT_TOKEN_CHARACTERS.search(value):
        raise PydanticCustomError(TOKEN_FORMAT_ERROR, TOKEN_FORMAT_MESSAGE)
    return value


class TextInputs(BaseModel):
    """The base of every request body: each field's strings pass `check_text` before the
    field's own checks (type, length, pattern), so the answer is the same for every field, and
    fields added later are covered too."""

    @field_validator("*", mode="before")
    @classmethod
    def _no_control_characters(cls, value: Any) -> Any:
        return check_text(value)


class RequestModel(TextInputs):
    """Request bodies: camelCase fields, exact JSON types, unknown fields rejected."""

    model_config = ConfigDict(extra="forbid", strict=True, alias_generator=to_camel)


class ResponseModel(BaseModel):
    """Response bodies: camelCase on the wire, built from snake_case attributes."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class ErrorResponse(BaseModel):
    """Every error: `success` is false, `message` says what went wrong."""

    success: bool = False
    message: str
    error: str

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "success": False,
                    "message": "No scan found with ID: hubspot-deals-scan-2025-001",
                    "error": "No scan found with ID: hubspot-deals-scan-2025-001",
                }
            ]
        }
    )


class ValidationErrorResponse(ErrorResponse):
    """400: `validation_errors` holds the messages keyed by field path."""

    validation_errors: dict[str, Any] = Field(default_factory=dict)

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "success": False,
                    "message": "Configuration validation failed: {'config': {'scanId': "
                    "['Scan ID is required'], 'auth': {'accessToken': "
                    "['Access token is required']}}}",
                    "error": "Configuration validation failed: {'config': {'scanId': "
                    "['Scan ID is required'], 'auth': {'accessToken': "
                    "['Access token is required']}}}",
                    "validation_errors": {
                        "config": {
                            "scanId": ["Scan ID is required"],
                            "auth": {"accessToken": ["Access token is required"]},
                        }
                    },
                }
            ]
        }
    )


class RateLimitResponse(ErrorResponse):
    """429: the client's limit for this endpoint group is used up until the window resets."""

    retry_after: int = Field(description="Seconds until the window resets.")

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "success": False,
                    "message": "Rate limit exceeded. Please retry after 60 seconds.",
                    "error": "Rate limit exceeded",
                    "retry_after": 60,
                }
            ]
        }
    )


class Pagination(ResponseModel):
    total: int = Field(description="Items in all pages.")
    limit: int
    offset: int
    has_more: bool = Field(description="Whether items follow this page.")
    returned: int = Field(description="Items in this page.")

    @classmethod
    def of(cls, total: int, limit: int, offset: int, returned: int) -> "Pagination":
        return cls(
            total=total,
            limit=limit,
            offset=offset,
            has_more=offset + returned < total,
            returned=returned,
        )


def error_example(message: str, error: str | None = None) -> dict[str, Any]:
    return {"success": False, "message": message, "error": error or message}


RATE_LIMIT_HEADERS = {
    "X-RateLimit-Limit": {
        "description": "Requests allowed per window for this endpoint group.",
        "schema": {"type": "integer"},
    },
    "X-RateLimit-Remaining": {
        "description": "Requests left in the current window.",
        "schema": {"type": "integer"},
    },
    "X-RateLimit-Reset": {
        "description": "Unix time (seconds) when the window resets.",
        "schema": {"type": "integer"},
    },
}


def error_responses(*codes: int, examples: dict[int, dict[str, Any]] | None = None) -> dict:
    """OpenAPI `responses` entries for the given error codes, with examples."""
    examples = examples or {}
    defaults: dict[int, tuple[type[BaseModel], str, dict[str, Any]]] = {
        400: (
            ValidationErrorResponse,
            "Invalid request data",
            {
                "success": False,
                "message": "Invalid request parameters: {'limit': ['limit must be at most 100']}",
                "error": "Invalid request parameters: {'limit': ['limit must be at most 100']}",
                "validation_errors": {"limit": ["limit must be at most 100"]},
            },
        ),
        404: (
            ErrorResponse,
            "Scan not found",
            error_example("No scan found with ID: hubspot-deals-scan-2025-001"),
        ),
        409: (
            ErrorResponse,
            "A scan with this ID already exists",
            error_example("A scan with ID 'hubspot-deals-scan-2025-001' already exists"),
        ),
        429: (
            RateLimitResponse,
            "Rate limit exceeded",
            {
                "success": False,
                "message": "Rate limit exceeded. Please retry after 60 seconds.",
                "error": "Rate limit exceeded",
                "retry_after": 60,
            },
        ),
        500: (
            ErrorResponse,
            "Internal server error",
            error_example(
                "An unexpected error occurred: Database connection timeout",
                "Database connection timeout",
            ),
        ),
        503: (
            ErrorResponse,
            "Dagster or the destination is unavailable",
            error_example(
                "Dagster is unreachable at http://127.0.0.1:3000/graphql: connection refused. "
                "Is the Dagster webserver running?"
            ),
        ),
    }
    out: dict[int, dict[str, Any]] = {}
    for code in codes:
        model, description, example = defaults[code]
        entry: dict[str, Any] = {
            "model": model,
            "description": description,
            "content": {"application/json": {"example": examples.get(code, example)}},
        }
        if code == 429:
            entry["headers"] = {
                **RATE_LIMIT_HEADERS,
                "Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer"}},
            }
        out[code] = entry
    return out
