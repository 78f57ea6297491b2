"""The Dagster `Failure` a scan ends with: the load layer's classification
(`hubspot_deals.load.failures`) in the form Dagster records, so the `resume_failed_scans` sensor
and the REST API read its category and whether it is transient from the step's metadata."""

from dagster import Failure

from hubspot_deals.load.failures import classify_failure


def scan_failure(exc: BaseException) -> Failure | None:
    """The `Failure` a scan ends with for `exc`, classified; None for an error it does not know
    (the scan raises that as is, and the sensor counts it transient)."""
    classified = classify_failure(exc)
    if classified is None:
        return None
    return Failure(description=classified.description, metadata=dict(classified.metadata))
