"""The names the property sync's Dagster definitions and their clients (the REST shim) share:
the job, the check, the schedule, the run tag, the asset and op names. No Dagster import, so the
shim reads them without loading the code location."""

SYNC_JOB_NAME = "property_sync_job"
CHECK_NAME = "hubspot_matches_definitions"
SCHEDULE_NAME = "property_drift_daily"
# The run tag naming what a REST sync covers (`all`, `contacts`, `leads`).
SYNC_TYPE_TAG = "hubspot_deals/property_sync"


def asset_path(object_type: str) -> list[str]:
    return ["hubspot", "property_definitions", object_type]


def asset_op_name(object_type: str) -> str:
    """The op that materializes an object type's definitions (Dagster's name for the key)."""
    return "__".join(asset_path(object_type))


def check_op_name(object_type: str) -> str:
    return f"{asset_op_name(object_type)}_{CHECK_NAME}"
