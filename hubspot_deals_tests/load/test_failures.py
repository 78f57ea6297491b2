"""The one classification of scan failures, on errors raised by the real drivers."""

import duckdb
import psycopg2
import pytest

from hubspot_deals.load.failures import (
    classify_failure,
    destination_unavailable,
    duckdb_out_of_memory,
)
from hubspot_deals.source.errors import HubSpotAuthenticationError, HubSpotRequestError
from hubspot_deals_tests.conftest import postgres_database
from hubspot_deals_tests.postgres_proxy import NOT_ACCEPTING, PostgresProxy


def connect_error(proxy: PostgresProxy) -> psycopg2.Error:
    with pytest.raises(psycopg2.OperationalError) as raised:
        psycopg2.connect(
            f"postgresql://postgres@127.0.0.1:{proxy.port}/postgres", connect_timeout=10
        )
    return raised.value


def category(exc: BaseException) -> tuple[str, bool] | None:
    failure = classify_failure(exc)
    if failure is None:
        return None
    return failure.category, failure.transient


@pytest.mark.parametrize(
    ("mode", "words"),
    [
        ("refused", ("Connection refused",)),
        # libpq words a reset by when it comes: while it sends, or while it waits for the reply
        ("reset", ("Connection reset by peer", "server closed the connection unexpectedly")),
        ("not_accepting", (f"FATAL:  {NOT_ACCEPTING}",)),
    ],
)
def test_postgres_unavailable_at_connect_is_waited_out(mode: str, words: tuple[str, ...]) -> None:
    with PostgresProxy(("127.0.0.1", 9)) as proxy:  # nothing is forwarded: each mode answers
        proxy.outage(mode)
        error = connect_error(proxy)
    assert any(w in str(error) for w in words), str(error)
    assert destination_unavailable(error)
    assert category(error) == ("destination_unavailable", True)


@pytest.mark.postgres
def test_a_session_the_server_ends_is_unavailable() -> None:
    with postgres_database("dest_patience_failures") as dsn:
        admin = psycopg2.connect(dsn)
        admin.autocommit = True
        try:
            victim = psycopg2.connect(dsn)
            admin.cursor().execute("SELECT pg_terminate_backend(%s)", (victim.get_backend_pid(),))
            with pytest.raises(psycopg2.OperationalError) as ended:  # 57P01 admin_shutdown
                victim.cursor().execute("SELECT 1")
            victim.close()
        finally:
            admin.close()
    assert "server closed the connection unexpectedly" in str(ended.value)
    assert category(ended.value) == ("destination_unavailable", True)


def test_duckdb_out_of_memory_is_a_configuration_error_not_resumed() -> None:
    conn = duckdb.connect(config={"memory_limit": "2MB", "threads": 1})
    with conn, pytest.raises(duckdb.OutOfMemoryException) as raised:
        conn.execute("SELECT list(range) FROM range(5000000)").fetchall()
    assert duckdb_out_of_memory(raised.value) and not destination_unavailable(raised.value)
    failure = classify_failure(raised.value)
    assert category(raised.value) == ("configuration_error", False)
    assert "Set HUBSPOT_DEALS_DUCKDB_MEMORY_LIMIT higher" in failure.description


def test_hubspot_errors_keep_their_own_class_and_are_never_the_destination() -> None:
    refused = HubSpotRequestError("HubSpot unreachable: Connection refused")
    assert not destination_unavailable(refused)
    assert category(refused) == ("hubspot_request_error", True)
    assert category(HubSpotAuthenticationError("revoked", status=401)) == (
        "authentication_error",
        False,
    )
    try:
        raise RuntimeError("dlt's wrapper") from HubSpotAuthenticationError("revoked", status=401)
    except RuntimeError as wrapped:
        assert category(wrapped) == ("authentication_error", False)
    # raised as is: the sensor counts it transient
    assert classify_failure(ValueError("a bug")) is None
