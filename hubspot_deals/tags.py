"""Run tags the code location writes and the REST shim reads (the scan's state lives in Dagster)."""

PARTITION = "dagster/partition"
ORGANIZATION = "hubspot_deals/organization_id"
SCAN_TYPE = "hubspot_deals/scan_type"
RECORDS_EXTRACTED = "hubspot_deals/records_extracted"
EXPECTED_RECORDS = "hubspot_deals/expected_records"
HEARTBEAT = "hubspot_deals/heartbeat"
CHECKPOINT = "hubspot_deals/checkpoint"
CHECKPOINT_AT = "hubspot_deals/checkpoint_at"
RESUMING = "hubspot_deals/resuming"
TRIGGER = "hubspot_deals/trigger"  # schedule, change_sensor, auto_resume (absent: API or UI)
RESUME_ATTEMPT = "hubspot_deals/resume_attempt"
RESUMED_FROM = "hubspot_deals/resumed_from"  # the run a resume run continues (API or sensor)
TENANT_URL = "hubspot_deals/tenant_url"  # written by the REST API: the scan's tennantUrl
