"""`Authorization: Bearer <api key>` on every endpoint but health, with scopes and tenants.

`authorize` is one FastAPI dependency attached to the whole API router and the ETL router, so
every route (also those added later) is covered. It finds the key, checks the scope the route
needs (`required_scope`) and returns the caller, whose tenants make the request's tenant scope
(`api_shim.deps.get_tenant_scope`, `api_shim.tenancy`).

The API fails closed: without a usable key (the key file missing, emptied or unreadable, every
key revoked) every request is refused. Open access (no key needed) is an explicit setting,
`HUBSPOT_DEALS_API_OPEN_ACCESS`, that the demo sets: it holds on a loopback address only, and
only while the key file holds no key.
"""

import ipaddress
import logging
from dataclasses import dataclass
from typing import Any

from fastapi import Request

from api_shim.api_keys import SCOPES, ApiKeyError, ApiKeyStore
from api_shim.errors import Forbidden, Unauthorized, printable

log = logging.getLogger(__name__)

# Health answers load balancers and probes; it shows no tenant's data. HubSpot sends the user's
# browser to the OAuth callback, which carries no key (its `state` names the tenant).
PUBLIC_PATHS = frozenset({"/health", "/api/v1/health", "/api/hs/auth/callback"})
API_PREFIX = "/api/v1"
CONTACTS_PREFIX = "/api/hs/contacts"
PROPERTY_SYNC_PREFIX = "/api/v1/hubspot/properties/sync"
SECURITY_SCHEME = "ApiKey"


@dataclass(frozen=True)
class Principal:
    """Who is calling: a key's id, scopes and tenants (`tenants` None: every tenant)."""

    key_id: str | None
    scopes: frozenset[str]
    tenants: frozenset[str] | None

    def may_act_for(self, tenant: str) -> bool:
        return self.tenants is None or tenant in self.tenants


OPEN = Principal(None, frozenset(SCOPES), None)


def required_scope(method: str, path: str) -> str:
    """Deal rows (`/api/v1/results/...`, `/api/v1/scans/{id}/results`) need `deals.read`;
    HubSpot contacts (`/api/hs/contacts...`) `contacts.read` to read and `contacts.write` to
    change; the property sync (`/api/v1/hubspot/properties/sync/...`) `properties.write`, its
    status read included (it names the tenant's properties and runs); other reads
    `scans.read`; every change `scans.write`. `path` is the request's path
    or the route's template (both have the same segments)."""
    if path == CONTACTS_PREFIX or path.startswith(CONTACTS_PREFIX + "/"):
        return "contacts.read" if method in ("GET", "HEAD") else "contacts.write"
    if path.startswith(PROPERTY_SYNC_PREFIX + "/"):
        return "properties.write"
    segments = path.removeprefix(API_PREFIX + "/").split("/")
    if segments[0] == "results" or (
        segments[0] == "scans" and len(segments) == 3 and segments[2] == "results"
    ):
        return "deals.read"
    return "scans.read" if method in ("GET", "HEAD") else "scans.write"


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class KeyAuthority:
    """Checks requests' keys against the key file (re-read as soon as it changes)."""

    def __init__(self, store: ApiKeyStore, open_access: bool) -> None:
        self.store = store
        # The explicit setting, and only for a loopback address: never the result of a
        # missing or emptied key file.
        self.open_access = open_access
        self._problem: str | None = None

    def _report(self, problem: str | None) -> None:
        """Logs the key file's trouble once when it starts (and once when it ends), not on
        every refused request. Never key material: the file holds digests, and the messages
        name only the file."""
        if problem == self._problem:
            return
        if problem is not None:
            log.error("%s; refusing every request until it is fixed", problem)
        else:
            log.info("API keys from %s are readable again", self.store.path)
        self._problem = problem

    def principal(self, authorization: str | None) -> Principal:
        try:
            configured = self.store.has_keys()
        except ApiKeyError as exc:
            self._report(str(exc))
            raise Unauthorized("API keys cannot be checked right now") from None
        if not configured:
            if self.open_access:
                return OPEN
            self._report(
                f"API key file {self.store.path} holds no API key (deleted or emptied?): create "
                "one with `hubspot-deals api keys create`, or set HUBSPOT_DEALS_API_OPEN_ACCESS"
                "=true to serve clients on this machine without keys"
            )
            raise Unauthorized()
        self._report(None)
        scheme, _, key = (authorization or "").strip().partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            raise Unauthorized()
        try:
            stored = self.store.verify(key.strip())
        except ApiKeyError as exc:
            self._report(str(exc))
            raise Unauthorized("API keys cannot be checked right now") from None
        if stored is None:
            raise Unauthorized()
        return Principal(stored.key_id, frozenset(stored.scopes), frozenset(stored.tenants))


async def authorize(request: Request) -> Principal:
    """The API's one authentication and authorization check; the caller it accepted (`OPEN`
    on the public paths, which show no tenant's data)."""
    path = request.url.path
    if path in PUBLIC_PATHS:
        return OPEN
    authority: KeyAuthority = request.app.state.authority
    principal = authority.principal(request.headers.get("authorization"))
    scope = required_scope(request.method, path)
    if scope not in principal.scopes:
        raise Forbidden(
            f"This API key lacks the scope {scope}, which {request.method} {printable(path)} "
            "requires"
        )
    request.state.principal = principal
    if principal.key_id is not None:
        log.debug("key_id=%s %s %s", principal.key_id, request.method, path)
    return principal


def current_principal(request: Request) -> Principal:
    return getattr(request.state, "principal", OPEN)


@dataclass(frozen=True)
class ServingCheck:
    allowed: bool
    open: bool  # serving without API keys
    message: str


def serving_check(host: str, store: ApiKeyStore, open_access: bool = False) -> ServingCheck:
    """Whether the shim may serve on `host`, and what to say about it at start-up: with API
    keys anywhere; without, only on a loopback address and with open access set."""
    if open_access and not is_loopback(host):
        return ServingCheck(
            False,
            True,
            f"Refusing to serve on {host} with HUBSPOT_DEALS_API_OPEN_ACCESS=true: open access "
            "is for clients on this machine only. Listen on 127.0.0.1, or create API keys and "
            "unset it.",
        )
    try:
        keys = store.has_keys()
    except ApiKeyError as exc:
        return ServingCheck(False, False, f"Refusing to start: {exc}")
    if keys:
        message = f"API keys from {store.path} are required on every endpoint but health"
        return ServingCheck(True, False, message)
    create = (
        "`hubspot-deals api keys create --tenant <organization id> --scope scans.read "
        "--scope scans.write --scope deals.read`"
    )
    if open_access:
        return ServingCheck(
            True,
            True,
            f"HUBSPOT_DEALS_API_OPEN_ACCESS=true and no API key in {store.path}: the API is open "
            f"to clients on this machine only ({host}) until a key is created with {create}.",
        )
    if is_loopback(host):
        return ServingCheck(
            False,
            False,
            f"Refusing to start without API keys: {store.path} holds none. Create one with "
            f"{create}, or set HUBSPOT_DEALS_API_OPEN_ACCESS=true to serve clients on this "
            "machine without keys.",
        )
    return ServingCheck(
        False,
        False,
        f"Refusing to serve on {host} without API keys: anyone who can reach it could start "
        f"scans and read deals. Create a key first ({create}).",
    )


def document_security(schema: dict[str, Any], error_bodies: Any) -> None:
    """The bearer scheme, and on every protected operation its scope and 401/403 answers.

    `error_bodies(path, status, message)` gives the error example in the path's surface shape.
    """
    components = schema.setdefault("components", {})
    components.setdefault("securitySchemes", {})[SECURITY_SCHEME] = {
        "type": "http",
        "scheme": "bearer",
        "description": "An API key from `hubspot-deals api keys create`. Keys carry scopes "
        "(scans.read, scans.write, deals.read) and tenants; another tenant's scan is not found. "
        "Only with HUBSPOT_DEALS_API_OPEN_ACCESS=true (the demo) and no key in the key file "
        "may clients on the API's own machine call without one.",
    }
    for path, operations in schema.get("paths", {}).items():
        if path in PUBLIC_PATHS:
            continue
        for method, operation in operations.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            scope = required_scope(method.upper(), path)
            # `{}`: no key with open access while none exists (loopback only), as the scheme says.
            operation["security"] = [{SECURITY_SCHEME: [scope]}, {}]
            operation["description"] = (
                operation.get("description", "") + f"\n\nRequires an API key with `{scope}`."
            ).strip()
            responses = operation["responses"]
            responses.setdefault(
                "401",
                error_bodies(path, 401, "Invalid or missing API key"),
            )
            responses.setdefault(
                "403",
                error_bodies(
                    path,
                    403,
                    f"This API key lacks the scope {scope}, which {method.upper()} {path} requires",
                ),
            )
