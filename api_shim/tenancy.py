"""The tenants (organizations) the current request may see.

The API-key check (`api_shim.auth`) sets them once per request, before any route runs; the scan
service reads them wherever it looks scans up, so every route, including ones added later, only
ever sees the key's tenants. Another tenant's scan is simply not found: a key cannot tell it
from a scan id that does not exist.

`None` means every tenant: the shim without API keys (loopback only), the CLI and tests that
drive the services directly.
"""

from collections.abc import Collection, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

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
