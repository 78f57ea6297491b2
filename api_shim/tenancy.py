"""The tenants (organizations) the current request may see.

The API-key check (`api_shim.auth`) sets them once per request, before any route runs; the scan
service reads them wherever it looks scans up, so every route, including ones added later, only
ever sees the key's tenants. Another tenant's scan is simply not found: a key cannot tell it
from a scan id that does not exist.

`None` means every tenant: the shim with open access (no keys, loopback only), the CLI and
tests that drive the services directly.

Scan ids are chosen by clients on the scan API, so two tenants may pick the same one. If the
partition `<scan id>` belongs to a tenant the key cannot see, the scan goes to the partition
`<scan id>.t-<10 hex digits of the tenant's SHA-256>` instead (a scan id never contains a dot),
and answers to its plain id for that tenant's keys. Refusing with a 409 would tell the client
that another tenant has a scan of that id.
"""

import hashlib
import re
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_TENANT_SUFFIX = re.compile(r"^(.+)\.t-([0-9a-f]{10})$")

_visible: ContextVar[frozenset[str] | None] = ContextVar("visible_tenants", default=None)


def visible_tenants() -> frozenset[str] | None:
    """The tenants of the current request's API key; None when unrestricted."""
    return _visible.get()


def tenant_visible(organization_id: str) -> bool:
    tenants = _visible.get()
    return tenants is None or organization_id in tenants


def restrict_to(tenants: Collection[str] | None) -> None:
    """Restricts the rest of the current request (its context) to `tenants`."""
    _visible.set(None if tenants is None else frozenset(tenants))


@contextmanager
def tenants_scope(tenants: Collection[str] | None) -> Iterator[None]:
    """`restrict_to` for a block (outside a request)."""
    token = _visible.set(None if tenants is None else frozenset(tenants))
    try:
        yield
    finally:
        _visible.reset(token)


def tenant_tag(organization_id: str) -> str:
    return hashlib.sha256(organization_id.encode()).hexdigest()[:10]


def tenant_partition(scan_id: str, organization_id: str) -> str:
    """The partition a tenant's scan takes when its id's plain partition is another tenant's."""
    return f"{scan_id}.t-{tenant_tag(organization_id)}"


def public_scan_id(partition: str, organization_id: str) -> str:
    """The scan id clients use for a partition (the partition key, less its tenant suffix)."""
    match = _TENANT_SUFFIX.match(partition)
    if match is not None and match.group(2) == tenant_tag(organization_id):
        return match.group(1)
    return partition
