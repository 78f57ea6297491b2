"""The Dagster `Failure` a scan ends with carries the load layer's classification as the step
metadata that the resume sensor and the REST API read."""

import duckdb
import pytest
from dagster import Failure

from hubspot_deals.defs.failures import scan_failure
from hubspot_deals.source.errors import HubSpotAuthenticationError


def test_a_classified_error_becomes_a_failure_with_its_category_as_metadata() -> None:
    try:
        raise RuntimeError("dlt's wrapper") from HubSpotAuthenticationError("revoked", status=401)
    except RuntimeError as wrapped:
        failure = scan_failure(wrapped)
    assert isinstance(failure, Failure)
    assert failure.description == "revoked"
    assert failure.metadata["error_category"].value == "authentication_error"
    assert failure.metadata["transient"].value is False


def test_duckdb_out_of_memory_fails_the_scan_as_a_configuration_error() -> None:
    conn = duckdb.connect(config={"memory_limit": "2MB", "threads": 1})
    with conn, pytest.raises(duckdb.OutOfMemoryException) as raised:
        conn.execute("SELECT list(range) FROM range(5000000)").fetchall()
    failure = scan_failure(raised.value)
    assert failure is not None
    assert failure.metadata["error_category"].value == "configuration_error"
    assert failure.metadata["transient"].value is False
    assert "Set HUBSPOT_DEALS_DUCKDB_MEMORY_LIMIT higher" in failure.description


def test_an_unknown_error_is_raised_as_it_is() -> None:
    assert scan_failure(ValueError("a bug")) is None  # the sensor counts it transient
