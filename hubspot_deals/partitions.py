"""A scan is a partition: one dynamic partition key per scan id."""

from dagster import DynamicPartitionsDefinition

scans_partitions = DynamicPartitionsDefinition(name="scans")

# One partition per organization, for assets that span all of its scans.
organizations_partitions = DynamicPartitionsDefinition(name="organizations")
