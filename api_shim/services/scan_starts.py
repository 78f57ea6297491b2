"""Starting a scan: its run config (the token only as ciphertext), its partition (the scan
id, or a tenant's own partition of it) and the launch, with the 409 of a scan that exists and
the clean-up of a launch that failed."""

import logging
import time
from typing import Any

from api_shim.errors import (
    ApiError,
    BadRequest,
    DagsterUnavailable,
    ScanAlreadyExists,
    TenantForbidden,
)
from api_shim.models.scans import ScanConfigRequest
from api_shim.oauth_grants import OAuthGrantStore
from api_shim.services.scan_reads import ScanReads
from api_shim.services.scan_runs import ScanRuns
from api_shim.tenancy import tenant_partition
from hubspot_deals.crypto import TokenCipher
from hubspot_deals.scan import ACTIVE_STATUSES, RESUMABLE_STATUSES, ScanRunConfig, Tag

log = logging.getLogger(__name__)

# What the run's asset writes into the scan-type tag for the API's scans (it reads every deal).
SCAN_KIND = "full"


class ScanStarts(ScanReads):
    """Starts scans (part of `api_shim.services.scans.ScanService`)."""

    def cipher(self) -> TokenCipher:
        with self._lock:
            if "cipher" not in self._made:
                self._made["cipher"] = TokenCipher.from_settings(self.destination)
            return self._made["cipher"]

    def hubspot_credentials(self, config: ScanConfigRequest) -> dict[str, str]:
        """How the scan authenticates to HubSpot, as run config: ciphertext only."""
        if not config.auth.oauth:
            token = config.auth.access_token or ""
            return {"access_token_ciphertext": self.cipher().encrypt(token)}
        grant = OAuthGrantStore(self.destination.home, self.cipher()).get(config.organization_id)
        if grant is None:
            message = (
                f"Organization '{config.organization_id}' has not authorized HubSpot OAuth: "
                "GET /api/hs/auth/login first, or send auth.accessToken"
            )
            raise BadRequest(message, validation_errors={"config": {"auth": {"oauth": [message]}}})
        return {
            "access_token_ciphertext": grant.access_token_ciphertext,
            "oauth_refresh_token_ciphertext": grant.refresh_token_ciphertext,
        }

    def run_config(
        self, config: ScanConfigRequest, scan_type: str = SCAN_KIND, pipeline: str | None = None
    ) -> dict[str, Any]:
        """The scan's run config; the token only as ciphertext. `pipeline` (the ETL surface's
        filter) limits the scan to one pipeline's deals."""
        filters = config.filters
        dates = filters.date_range if filters else None
        return ScanRunConfig(
            organization_id=config.organization_id,
            scan_type=scan_type,
            include_archived=bool(filters and filters.include_archived),
            properties=tuple(filters.properties) if filters and filters.properties else None,
            start_date=dates.start_date if dates else None,
            end_date=dates.end_date if dates else None,
            pipeline=pipeline,
            **self.hubspot_credentials(config),
        ).run_config()

    def start(
        self,
        config: ScanConfigRequest,
        scan_type: str = SCAN_KIND,
        extra_tags: dict[str, str] | None = None,
        pipeline: str | None = None,
    ) -> str:
        """Adds the scan's partition and launches its run; returns the Dagster run id.

        409 when the request's tenants already have a scan of this id. A partition without
        runs (left by a Dagster UI user, or by a start whose clean-up could not reach Dagster)
        is taken over rather than refused. If the launch fails, a partition added here is
        deleted again, so that nothing is left behind to block a retry with the same id.
        `scan_type` is `full` or `incremental`.
        """
        scan_id = config.scan_id
        organization = config.organization_id
        if not self.scope.sees(organization):
            raise TenantForbidden(organization)
        started = time.monotonic()
        run_config = self.run_config(config, scan_type, pipeline)
        with self._start_lock(scan_id):
            partition = self._new_partition(scan_id, organization)
            checked = time.monotonic()
            run_tags = {
                **(extra_tags or {}),
                Tag.PARTITION: partition,
                Tag.ORGANIZATION: organization,
                Tag.SCAN_TYPE: scan_type,
            }
            if config.auth.tennant_url:
                run_tags[Tag.TENANT_URL] = config.auth.tennant_url
            added = self.dagster.add_partition(partition)
            if not added and (existing := self.find_partition(partition, fresh=True)):
                raise self._already_exists(scan_id, existing)
            added_at = time.monotonic()
            try:
                run_id = self.dagster.launch_run(run_config, run_tags)
            except ApiError as exc:
                launched = self._launched_despite(partition, exc)
                if launched is not None:
                    return launched
                if added:
                    self._delete_partition_quietly(partition)
                raise
        done = time.monotonic()
        log.info(
            "scan started scan_id=%s partition=%s run_id=%s in %.0f ms (config and checks %.0f, "
            "partition %.0f, launch %.0f)",
            scan_id,
            partition,
            run_id,
            (done - started) * 1000,
            (checked - started) * 1000,
            (added_at - checked) * 1000,
            (done - added_at) * 1000,
        )
        return run_id

    def _new_partition(self, scan_id: str, organization: str) -> str:
        """The partition a new scan of `organization` takes: its id, or, when that is the
        partition of a tenant the request cannot see, the organization's own partition of the
        id (`api_shim.tenancy`). 409 when the request's tenants already have a scan of the id."""
        plain = self.find_partition(scan_id, fresh=True)
        if plain is not None and self.scope.sees(plain.organization_id):
            raise self._already_exists(scan_id, plain)
        if self.scope.tenants is None:
            return scan_id  # unrestricted: every partition is visible, so `plain` is None
        own = self._in_tenant_partition(scan_id, fresh=True)
        if own is not None:
            raise self._already_exists(scan_id, own)  # one of the key's tenants has it already
        return scan_id if plain is None else tenant_partition(scan_id, organization)

    def _already_exists(self, scan_id: str, scan: ScanRuns) -> ScanAlreadyExists:
        """The 409 of a start, with the existing scan's status and the ways on from it."""
        status = self._state_of(scan).status
        path = f"/api/v1/scan/{scan_id}"
        remove = f"remove it and its data (DELETE {path}/remove)"
        if status in ACTIVE_STATUSES:
            ways = [f"follow it (GET {path}/status)",
                    f"pause or cancel it (POST {path}/pause or {path}/cancel)",
                    remove.replace("remove it", "then remove it")]  # fmt: skip
        elif status in RESUMABLE_STATUSES:
            ways = [f"resume it from its checkpoint (POST {path}/resume)", remove]
        else:
            ways = [remove]
        advice = ", ".join(ways) + ", or start a scan with another ID"
        return ScanAlreadyExists(scan_id, status, advice)

    def _launched_despite(self, partition: str, exc: ApiError) -> str | None:
        """After a launch timed out, the run may exist all the same."""
        if not isinstance(exc, DagsterUnavailable):
            return None
        try:
            scan = self.find_partition(partition, fresh=True)
        except ApiError:
            return None
        return scan.latest.run_id if scan is not None else None

    def _delete_partition_quietly(self, partition: str) -> None:
        try:
            self.dagster.delete_partition(partition)
        except ApiError as exc:
            log.error("partition=%s: launch failed and it stays: %s", partition, exc)
