"""A scan is a partition: one dynamic partition key per scan id."""

from dagster import DynamicPartitionsDefinition

from hubspot_deals.scan import ORGANIZATIONS_PARTITIONS_NAME, SCANS_PARTITIONS_NAME

scans_partitions = DynamicPartitionsDefinition(name=SCANS_PARTITIONS_NAME)

# One partition per organization, for assets that span all of its scans.
organizations_partitions = DynamicPartitionsDefinition(name=ORGANIZATIONS_PARTITIONS_NAME)
