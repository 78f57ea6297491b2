"""A scan is a partition: one dynamic partition key per scan id."""

from dagster import DynamicPartitionsDefinition

from hubspot_deals.defs.names import CONTRACT_NAMES, HubSpotNames

scans_partitions = DynamicPartitionsDefinition(name=CONTRACT_NAMES.scans_partitions)

# One partition per organization, for assets that span all of its scans.
organizations_partitions = DynamicPartitionsDefinition(name=CONTRACT_NAMES.organizations_partitions)


def scans_partitions_for(names: HubSpotNames) -> DynamicPartitionsDefinition:
    """An instance's scans: the project's own `scans`, or `<prefix>_scans`."""
    if names.scans_partitions == scans_partitions.name:
        return scans_partitions
    return DynamicPartitionsDefinition(name=names.scans_partitions)
