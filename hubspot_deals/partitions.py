"""A scan is a partition: one dynamic partition key per scan id."""

from dagster import DynamicPartitionsDefinition

scans_partitions = DynamicPartitionsDefinition(name="scans")
