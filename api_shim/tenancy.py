"""The tenants (organizations) a request may see: its `TenantScope`.

The scope is an explicit dependency: `api_shim.deps` makes it from the API key the request was
authorized with (`api_shim.auth.authorize`) and hands each route its services already scoped
(`TenantScoped.for_scope`), so every route, including ones added later, only ever sees the
key's tenants. Another tenant's scan is simply not found: a key cannot tell it from a scan id
that does not exist.

`EVERY_TENANT` (tenants None) is the scope of the shim with open access (no keys, loopback
only), of the CLI and of tests that drive the services directly.

Scan ids are chosen by clients on the scan API, so two tenants may pick the same one. If the
partition `<scan id>` belongs to a tenant the key cannot see, the scan goes to the partition
`<scan id>.t-<10 hex digits of the tenant's SHA-256>` instead (a scan id never contains a dot),
and answers to its plain id for that tenant's keys. Refusing with a 409 would tell the client
that another tenant has a scan of that id.
"""

import copy
import hashlib
import re
from collections.abc import Collection
from dataclasses import dataclass
from typing import Self

_TENANT_SUFFIX = re.compile(r"^(.+)\.t-([0-9a-f]{10})$")


@dataclass(frozen=True)
class TenantScope:
    """The tenants a request may see; `tenants` None: every tenant."""

    tenants: frozenset[str] | None = None

    @classmethod
    def of(cls, tenants: Collection[str] | None) -> "TenantScope":
        return cls(None if tenants is None else frozenset(tenants))

    def sees(self, organization_id: str) -> bool:
        return self.tenants is None or organization_id in self.tenants


EVERY_TENANT = TenantScope()


class TenantScoped:
    """A service the app makes once, seen by each request through that request's scope.

    `for_scope` returns a view that shares the service's state (caches, locks, lazily made
    clients: kept in containers made in `__init__`, never attributes a view assigns) and
    answers for `scope` alone; `_scope_parts` scopes the services it uses in turn.
    """

    scope: TenantScope = EVERY_TENANT

    def for_scope(self, scope: TenantScope) -> Self:
        view = copy.copy(self)
        view.scope = scope
        view._scope_parts(scope)
        return view

    def _scope_parts(self, scope: TenantScope) -> None:
        """Scopes the services this one uses (none by default)."""


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
