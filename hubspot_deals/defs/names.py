"""The names one HubSpot instance (one portal) gives its Dagster definitions.

Two instances live side by side in one `Definitions` only if no asset key, job, op, partitions
definition or resource key is shared, so every one of them is derived from the instance's key
prefix. The project's own code location keeps the names of the scan contract
(`hubspot_deals.scan`), which the REST API and the run config address: `CONTRACT_NAMES`.
"""

import re
from dataclasses import dataclass

from dagster import AssetKey

from hubspot_deals.scan import (
    DEALS_ASSET_PATH,
    ORGANIZATIONS_PARTITIONS_NAME,
    SCAN_JOB_NAME,
    SCAN_OP_NAME,
    SCANS_PARTITIONS_NAME,
)

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class HubSpotNames:
    key_prefix: str  # asset keys are <key_prefix>/<table>; also the assets' group
    scan_op: str  # the scan op: its config is the scan's run config (`ops.<scan_op>.config`)
    scan_job: str
    scans_partitions: str  # one dynamic partition per scan id
    organizations_partitions: str  # one per organization a scan ran for
    dlt_resource: str
    hubspot_resource: str
    destination_resource: str
    sensor_prefix: str  # the instance's sensors: <sensor_prefix>resume_failed_scans, ...

    @classmethod
    def for_prefix(cls, key_prefix: str) -> "HubSpotNames":
        """Every name derived from the prefix: `eu` gives `eu/deals`, `eu_scan_job`, `eu_scan`,
        `eu_scans`, resources `eu_hubspot`, `eu_destination`, `eu_dlt`, sensors
        `eu_resume_failed_scans` and `eu_detect_crashed_scans`."""
        if not _NAME.fullmatch(key_prefix):
            raise ValueError(
                f"key_prefix {key_prefix!r}: letters, digits and underscores, not starting "
                "with a digit (it prefixes op, job and resource names)"
            )
        return cls(
            key_prefix=key_prefix,
            scan_op=f"{key_prefix}_scan",
            scan_job=f"{key_prefix}_scan_job",
            scans_partitions=f"{key_prefix}_scans",
            organizations_partitions=f"{key_prefix}_organizations",
            dlt_resource=f"{key_prefix}_dlt",
            hubspot_resource=f"{key_prefix}_hubspot",
            destination_resource=f"{key_prefix}_destination",
            sensor_prefix=f"{key_prefix}_",
        )

    def key(self, table: str) -> AssetKey:
        return AssetKey([self.key_prefix, table])

    @property
    def deals_key(self) -> AssetKey:
        return self.key("deals")

    @property
    def summary_key(self) -> AssetKey:
        return self.key("deal_summary")


# The project's own code location: the scan contract's names, which the REST API addresses.
CONTRACT_NAMES = HubSpotNames(
    key_prefix=DEALS_ASSET_PATH[0],
    scan_op=SCAN_OP_NAME,
    scan_job=SCAN_JOB_NAME,
    scans_partitions=SCANS_PARTITIONS_NAME,
    organizations_partitions=ORGANIZATIONS_PARTITIONS_NAME,
    dlt_resource="dlt",
    hubspot_resource="hubspot",
    destination_resource="destination",
    sensor_prefix="",
)
