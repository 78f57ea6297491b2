"""The shim's errors and their one translation into the documented error envelope.

Services raise the specific exceptions below; `install_error_handlers` turns them (and FastAPI's
validation errors, unknown routes and anything unexpected) into

    {"success": false, "message": ..., "error": ..., "validation_errors": {...}}

`validation_errors` is present for 400s that come from input validation, keyed by field path
like the spec: `{"config": {"auth": {"accessToken": ["Access token is required"]}}}`.
Paths of the ETL surface (`/api/v1/scans/*`, `/health`) get the ETL document's shape instead
(`api_shim.etl_errors`), and input errors of the OAuth paths (`/api/hs/auth/*`) that
document's (`api_shim.hubspot_errors`).
"""

import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import unquote_plus

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from api_shim.etl_errors import etl_error_body, flatten, is_etl_path, validation_details
from api_shim.hubspot_errors import hubspot_error_body, is_hubspot_path
from api_shim.models.common import TEXT_ERRORS
from api_shim.models.messages import VALIDATION_MESSAGES

log = logging.getLogger(__name__)


class ApiError(Exception):
    """An error with its HTTP status and a message fit for the client."""

    status_code = 500

    def __init__(
        self,
        message: str,
        error: str | None = None,
        *,
        validation_errors: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.error = error or message
        self.validation_errors = validation_errors
        self.headers = headers


class BadRequest(ApiError):
    """400: the request cannot be served as sent."""

    status_code = 400


class ScanNotFound(ApiError):
    status_code = 404

    def __init__(self, scan_id: str) -> None:
        super().__init__(f"No scan found with ID: {printable(scan_id)}")


class ScanAlreadyExists(ApiError):
    status_code = 409

    def __init__(self, scan_id: str, status: str | None = None, advice: str = "") -> None:
        known = f" ({status}): {advice}" if status else ""
        super().__init__(f"A scan with ID '{scan_id}' already exists{known}")


class Unauthorized(ApiError):
    """401: no API key, or an unknown or revoked one."""

    status_code = 401

    def __init__(self, message: str = "Invalid or missing API key") -> None:
        super().__init__(message, headers={"WWW-Authenticate": 'Bearer realm="hubspot-deals"'})


class Forbidden(ApiError):
    """403: a valid API key without the scope, or the tenant, the request needs."""

    status_code = 403


class TenantForbidden(Forbidden):
    def __init__(self, tenant: str) -> None:
        super().__init__(f"This API key may not act for tenant '{printable(tenant)}'")


class ScanStateConflict(BadRequest):
    """400: the scan's status does not allow the operation (cancel a completed scan, ...)."""


class TableNotAvailable(BadRequest):
    def __init__(self, table: str, available: Sequence[str]) -> None:
        names = ", ".join(available) or "none"
        message = f"Table '{printable(table)}' is not one of this scan's tables ({names})"
        super().__init__(message, validation_errors={"tableName": [message]})


class ServiceUnavailable(ApiError):
    """503: a dependency (Dagster, the destination) cannot serve the request now."""

    status_code = 503


class DagsterUnavailable(ServiceUnavailable):
    pass


class DestinationUnavailable(ServiceUnavailable):
    pass


class DagsterError(ApiError):
    """500: Dagster answered, but with an error the shim cannot turn into a client error."""


def printable(value: str, limit: int = 255) -> str:
    """A client-supplied value made safe to echo: no control characters, bounded length."""
    cleaned = "".join(ch if ch.isprintable() else "?" for ch in value)
    return cleaned if len(cleaned) <= limit else cleaned[:limit] + "..."


_SECRETS = [
    (re.compile(r"(?i)(bearer\s+)[^\s\"']+"), r"\1[redacted]"),
    (re.compile(r"(?i)\b(pat-[a-z0-9]+-)[A-Za-z0-9-]+"), r"\1[redacted]"),
    (re.compile(r"(?i)(\w+://[^:/@\s]+:)[^@\s]+@"), r"\1[redacted]@"),
    (re.compile(r"(?i)(access_?token[\"'=:\s]+)[^\s\"',}&]+"), r"\1[redacted]"),
]


# A query parameter whose name says it carries a secret (`api_key`, `access_token`, `code`,
# `client_secret`, `state`, `password`, ...): its value is replaced, whatever it looks like.
_QUERY_PARAMETER = re.compile(r"([?&;])([^=&;\s\"'#?]+)=([^&;\s\"'#]*)")
_SECRET_PARAMETER_NAME = re.compile(
    r"(?i)(key|token|secret|password|passwd|pwd|code|state|signature|credentials?)$"
)


def _redact_parameter(match: re.Match[str]) -> str:
    if _SECRET_PARAMETER_NAME.search(unquote_plus(match[2])):
        return f"{match[1]}{match[2]}=[redacted]"
    return match[0]


def redact(text: str) -> str:
    """Strips anything token- or password-like from a message that leaves the process: log
    lines (`api_shim.logs` runs every one through it) and error messages."""
    text = _QUERY_PARAMETER.sub(_redact_parameter, text)
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


def envelope(
    message: str, error: str | None = None, validation_errors: dict[str, Any] | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {"success": False, "message": message, "error": error or message}
    if validation_errors is not None:
        body["validation_errors"] = validation_errors
    return body


def error_response(exc: ApiError) -> JSONResponse:
    return JSONResponse(
        envelope(exc.message, exc.error, exc.validation_errors),
        status_code=exc.status_code,
        headers=exc.headers,
    )


# -- validation errors -> the spec's nested `validation_errors` -----------------------------

_LOCATIONS = ("body", "query", "path", "header", "cookie")
_UNKNOWN_FIELD = "Unknown field."


def _kind(error_type: str) -> str:
    if error_type == "missing":
        return "missing"
    if error_type == "extra_forbidden":
        return "unknown"
    if error_type.endswith("_type") or error_type in ("model_attributes_type", "json_type"):
        return "type"
    return "invalid"


def _bound_message(name: str, err: Mapping[str, Any]) -> str | None:
    """Numbers: `limit must be at most 100` from the failed bound, for any endpoint."""
    ctx = err.get("ctx") or {}
    error_type = err.get("type")
    if error_type in ("int_parsing", "int_type", "int_from_float"):
        return f"{name} must be an integer"
    if error_type == "less_than_equal":
        return f"{name} must be at most {ctx.get('le')}"
    if error_type == "greater_than_equal":
        return f"{name} must be at least {ctx.get('ge')}"
    return None


def _insert(tree: dict[str, Any], path: Sequence[str], message: str) -> None:
    node = tree
    for i, key in enumerate(path):
        last = i == len(path) - 1
        existing = node.get(key)
        if last:
            if isinstance(existing, dict):
                existing.setdefault("_schema", [])
                target = existing["_schema"]
            else:
                target = node.setdefault(key, [])
            if message not in target:
                target.append(message)
            return
        if isinstance(existing, list):
            node[key] = {"_schema": existing}
        node = node.setdefault(key, {})


def translate_validation_errors(
    errors: Sequence[Mapping[str, Any]], json_body: bool = True
) -> dict[str, Any]:
    """pydantic/FastAPI errors as `{field: {subfield: [messages]}}` with readable messages.

    Messages never carry the rejected input (it may be a token).
    """
    tree: dict[str, Any] = {}
    for err in errors:
        loc = list(err.get("loc") or [])
        source = loc.pop(0) if loc and loc[0] in _LOCATIONS else "body"
        # List positions (and a JSON decode error's character offset) are not field names.
        path = [printable(str(p), 100) for p in loc if isinstance(p, str)]
        kind = _kind(str(err.get("type", "")))
        if err.get("type") == "json_invalid":
            message = "Request body is not valid JSON"
            path = []
        elif source == "body" and not path and not json_body:
            message = "Request body must be JSON (Content-Type: application/json)"
        elif kind == "unknown":
            message = _UNKNOWN_FIELD
        elif err.get("type") in TEXT_ERRORS:
            message = str(err.get("msg"))  # the text rule's own message, the same everywhere
        else:
            messages = VALIDATION_MESSAGES.get(tuple(path) if path else (source,)) or {}
            message = (
                messages.get(kind)
                or messages.get("invalid")
                or _bound_message(path[-1] if path else source, err)
                or str(err.get("msg", ""))
            )
        _insert(tree, path or [source], message)
    return tree


def _is_json(request: Request) -> bool:
    content_type = request.headers.get("content-type", "")
    return not content_type or "json" in content_type.split(";")[0].lower()


_HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


def allowed_methods(request: Request) -> list[str]:
    """Every method the document lists for the request's path: Starlette's own `Allow` names
    only the first route that matched the path (one of several, one per method)."""
    path = request.url.path
    matches: list[tuple[int, dict]] = []
    for template, item in request.app.openapi().get("paths", {}).items():
        parts = re.split(r"(\{[^/}]+\})", template)
        pattern = "".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts)
        if re.fullmatch(pattern, path):
            matches.append((template.count("{"), item))
    # The most literal template wins, as in routing: /scans/start before /scans/{scan_id}.
    fewest = min((params for params, _ in matches), default=0)
    return sorted(
        {m.upper() for params, item in matches if params == fewest for m in item}
        & {m.upper() for m in _HTTP_METHODS}
    )


def install_error_handlers(app: FastAPI) -> None:
    """Registers the one translation of errors into the documented envelope."""

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        if exc.status_code >= 500:
            log.warning("%s %s -> %s: %s", request.method, request.url.path, exc.status_code, exc)
        if is_etl_path(request.url.path):
            body = etl_error_body(
                exc.status_code,
                exc.message,
                details=flatten(exc.validation_errors) if exc.validation_errors else None,
                extra=getattr(exc, "extra", None),
            )
            return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        if is_etl_path(request.url.path):
            details = validation_details(errors)
            body = etl_error_body(400, "Input validation failed", details=details)
            return JSONResponse(body, status_code=400)
        if is_hubspot_path(request.url.path):
            fields = [
                {"field": name, "message": message}
                for name, message in validation_details(errors).items()
            ]
            # hubspot-integration-api.md's own words when only required fields are missing.
            missing = all(e.get("type") == "missing" for e in errors)
            message = "Required fields are missing" if missing else "Input validation failed"
            body = hubspot_error_body("VALIDATION_ERROR", message, details={"fields": fields})
            return JSONResponse(body, status_code=400)
        tree = translate_validation_errors(errors, json_body=_is_json(request))
        sources = {str((e.get("loc") or ["body"])[0]) for e in errors}
        if sources <= {"query", "path"}:
            prefix = "Invalid request parameters"
        elif request.url.path.endswith("/scan/start"):
            prefix = "Configuration validation failed"
        else:
            prefix = "Invalid request data"
        message = f"{prefix}: {tree}"
        return JSONResponse(envelope(message, message, tree), status_code=400)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 404:
            message = f"The requested resource was not found: {printable(request.url.path)}"
            error = "Not Found"
        elif exc.status_code == 405:
            message = f"Method {request.method} is not allowed for {printable(request.url.path)}"
            error = "Method Not Allowed"
        else:
            message = error = str(exc.detail)
        headers = exc.headers
        if exc.status_code == 405:
            headers = {**(headers or {}), "Allow": ", ".join(allowed_methods(request))}
        if is_etl_path(request.url.path):
            body = etl_error_body(exc.status_code, message)
            return JSONResponse(body, status_code=exc.status_code, headers=headers)
        return JSONResponse(envelope(message, error), status_code=exc.status_code, headers=headers)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        detail = redact(str(exc).strip().splitlines()[0] if str(exc).strip() else "")[:300]
        error = f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__
        if is_etl_path(request.url.path):
            return JSONResponse(etl_error_body(500, "An unexpected error occurred"), 500)
        return JSONResponse(envelope(f"An unexpected error occurred: {error}", error), 500)
