"""Run tags the code location writes and the REST shim reads (the scan's state lives in Dagster)."""

PARTITION = "dagster/partition"
ORGANIZATION = "hubspot_deals/organization_id"
SCAN_TYPE = "hubspot_deals/scan_type"
RECORDS_EXTRACTED = "hubspot_deals/records_extracted"
EXPECTED_RECORDS = "hubspot_deals/expected_records"
HEARTBEAT = "hubspot_deals/heartbeat"
