"""Fast, pure tests of the shim's pieces: status mapping, error translation, values, limits."""

import hashlib
import math
import threading
import time
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from api_shim.dagster import DagsterClient, DagsterRun, RunFailure
from api_shim.dagster.failures import failure_from_events
from api_shim.errors import redact, translate_validation_errors
from api_shim.middleware import endpoint_group
from api_shim.services.scan_runs import (
    ScanRuns,
    group_scans,
    iso,
    run_status,
)
from api_shim.settings import ApiSettings, RateLimit
from api_shim.tenancy import public_scan_id, tenant_partition
from hubspot_deals.load import primary_keys_from_dlt_schemas, scan_key_columns, visible_columns
from hubspot_deals.load.values import iso_timestamp, json_value, parse_json_text
from hubspot_deals.marks import mark_description, run_marks
from hubspot_deals.scan import Tag

NOW = 1_800_000_000.0
RESUMING = "hubspot_deals/resuming"
CRASH = 600.0


def run(status: str, **overrides: Any) -> DagsterRun:
    fields: dict[str, Any] = {
        "run_id": "r1",
        "job_name": "scan_job",
        "status": status,
        "creation_time": NOW - 100,
        "start_time": NOW - 90 if status not in ("QUEUED", "NOT_STARTED") else None,
        "end_time": None,
        "update_time": NOW - 5,
        "parent_run_id": None,
        "tags": {"dagster/partition": "s1"},
        "run_config": {},
    }
    fields.update(overrides)
    return DagsterRun(**fields)


def heartbeat(seconds_ago: float) -> dict[str, str]:
    moment = datetime.fromtimestamp(NOW - seconds_ago, UTC).isoformat(timespec="seconds")
    return {"dagster/partition": "s1", "hubspot_deals/heartbeat": moment}


@pytest.mark.parametrize(
    ("dagster_run", "failure", "expected"),
    [
        (run("QUEUED"), None, "pending"),
        (run("NOT_STARTED"), None, "pending"),
        (run("QUEUED", tags={"hubspot_deals/resumed_from": "r0"}), None, "resuming"),
        (run("STARTED", tags={"hubspot_deals/resumed_from": "r0"}), None, "resuming"),
        (run("STARTING"), None, "running"),
        (run("STARTED", tags=heartbeat(3)), None, "running"),
        (run("STARTED", tags=heartbeat(CRASH + 1), start_time=NOW - 2000), None, "crashed"),
        (run("STARTED", parent_run_id="r0", tags=heartbeat(200)), None, "resuming"),
        (run("STARTED", parent_run_id="r0", tags=heartbeat(10)), None, "running"),
        (run("STARTED", tags={**heartbeat(1), RESUMING: "true"}), None, "resuming"),
        (
            run(
                "STARTED",
                parent_run_id="r0",
                tags={**heartbeat(99), "hubspot_deals/resuming": "false"},
            ),
            None,
            "running",
        ),
        (run("SUCCESS"), None, "completed"),
        (run("FAILURE"), RunFailure("HubSpot rejected the access token"), "failed"),
        (run("FAILURE"), RunFailure("step process died", crashed=True), "crashed"),
        (
            run("FAILURE", tags={"dagster/failure_reason": "RUN_WORKER_RESTART"}),
            None,
            "crashed",
        ),
        (run("FAILURE", tags={"dagster/failure_reason": "STEP_FAILURE"}), None, "failed"),
        (run("FAILURE", tags={"dagster/will_retry": "true"}), RunFailure("died"), "resuming"),
        (run("CANCELING"), None, "cancelled"),
        (run("CANCELED"), None, "cancelled"),
        (run("SUSPENDED"), None, "paused"),
    ],
)
def test_dagster_run_status_maps_to_scan_status(
    dagster_run: DagsterRun, failure: RunFailure | None, expected: str
) -> None:
    assert run_status(dagster_run, failure, NOW, CRASH) == expected


@pytest.mark.parametrize(
    ("status", "mark", "expected"),
    [
        ("CANCELING", "paused", "paused"),
        ("CANCELED", "paused", "paused"),
        ("CANCELED", "crashed", "crashed"),
        ("CANCELED", "cancelled", "cancelled"),
        ("CANCELED", None, "cancelled"),
    ],
)
def test_a_stopped_runs_mark_decides_its_status(status: str, mark: str, expected: str) -> None:
    assert run_status(run(status), None, NOW, CRASH, mark) == expected


@pytest.mark.parametrize(
    ("dagster_run", "mark", "expected"),
    [
        (run("STARTING"), "cancelled", "cancelled"),
        (run("STARTING"), "paused", "paused"),
        (run("NOT_STARTED"), "paused", "paused"),
        (run("MANAGED"), "cancelled", "cancelled"),
        (run("STARTED"), "paused", "paused"),  # no heartbeat yet: its scan has not begun
        (run("STARTED", tags=heartbeat(200)), "cancelled", "cancelled"),  # before its start
        (run("STARTED", tags=heartbeat(3)), "paused", "running"),  # stops at its next checkpoint
        (run("STARTING"), "crashed", "running"),
        (run("QUEUED"), "cancelled", "pending"),  # Dagster cancels a queued run at once
    ],
)
def test_a_stop_request_shows_while_the_run_has_not_begun_its_scan(
    dagster_run: DagsterRun, mark: str, expected: str
) -> None:
    assert run_status(dagster_run, None, NOW, CRASH, mark) == expected


def test_the_newest_mark_of_each_run_counts() -> None:
    newest_first = [
        mark_description("cancelled", "r1", "cancelled through the REST API"),
        "an observation someone else recorded",
        mark_description("crashed", "r2", "no heartbeat for 700 s: its run worker has died"),
        mark_description("paused", "r1", "paused through the REST API"),
        "hubspot_deals/paused run=",
    ]
    assert run_marks(newest_first) == {"r1": "cancelled", "r2": "crashed"}
    assert mark_description("paused", "r9", "why").startswith("hubspot_deals/paused run=r9: ")


def test_scan_fields_come_from_its_runs() -> None:
    older = run(
        "FAILURE", run_id="r0", creation_time=NOW - 500, start_time=NOW - 490, end_time=NOW - 400
    )
    newer = run(
        "SUCCESS",
        run_id="r1",
        end_time=NOW - 10,
        tags={
            "dagster/partition": "s1",
            "hubspot_deals/records_extracted": "90",
            "hubspot_deals/expected_records": "120",
            "hubspot_deals/heartbeat": "2027-01-15T08:00:00+00:00",
        },
        run_config={
            "ops": {
                "hubspot_scan": {
                    "config": {
                        "organization_id": "org-9",
                        "properties": ["dealname"],
                        "start_date": "2024-01-01",
                        "access_token_ciphertext": "gAAAA-secret",
                    }
                }
            }
        },
    )
    scans = group_scans([newer, older], "hubspot_deals", "default")
    scan = scans["s1"]
    assert [r.run_id for r in scan.runs] == ["r1", "r0"]
    assert scan.organization_id == "org-9"  # from the run config: no organization tag
    assert scan.start_time == NOW - 490
    assert scan.end_time == NOW - 10
    assert scan.duration(NOW) == 480.0
    assert scan.records_extracted == 90
    assert scan.progress("running") == 75.0
    assert scan.progress("completed") == 100.0
    assert iso(scan.heartbeat) == "2027-01-15T08:00:00Z"
    echo = scan.config_echo()
    assert echo == {
        "scan_id": "s1",
        "organization_id": "org-9",
        "type": ["user"],
        "auth": None,
        "filters": {
            "properties": ["dealname"],
            "include_archived": False,
            "date_range": {"start_date": "2024-01-01", "end_date": None},
        },
    }
    assert "secret" not in repr(echo)


def test_runs_of_other_locations_or_without_partition_are_not_scans() -> None:
    runs = [
        run("SUCCESS", run_id="a", tags={}),
        run("SUCCESS", run_id="b", tags={"dagster/partition": "x", "dagster/code_location": "z"}),
        run("SUCCESS", run_id="c", tags={"dagster/partition": "y"}),
    ]
    scans = group_scans(runs, "hubspot_deals", "default")
    assert list(scans) == ["y"]
    assert scans["y"].organization_id == "default"


def test_a_tenant_partition_answers_to_its_plain_id_for_its_own_tenant_only() -> None:
    partition = tenant_partition("scan-1", "globex")
    assert partition == "scan-1.t-" + hashlib.sha256(b"globex").hexdigest()[:10]
    assert public_scan_id(partition, "globex") == "scan-1"
    assert public_scan_id(partition, "acme") == partition  # not that tenant's suffix
    assert public_scan_id("scan-1", "globex") == "scan-1"
    assert public_scan_id("a.t-xyz", "globex") == "a.t-xyz"
    tagged = run("SUCCESS", tags={Tag.PARTITION: partition, Tag.ORGANIZATION: "globex"})
    scan = group_scans([tagged], "hubspot_deals", "default")[partition]
    assert (scan.partition, scan.scan_id, scan.organization_id) == (partition, "scan-1", "globex")


def test_pending_scan_has_no_start_or_duration() -> None:
    scan = ScanRuns("s1", [run("QUEUED")])
    assert scan.start_time is None and scan.duration(NOW) is None and scan.end_time is None
    assert scan.is_active


def test_failure_message_prefers_the_failure_description_and_never_a_traceback() -> None:
    step = {
        "errorSource": "FRAMEWORK_ERROR",
        "error": {"message": "dagster...Failure: x\n  File ...", "className": "Failure"},
        "failureMetadata": {
            "description": "HubSpot rejected the access token (401 INVALID_AUTHENTICATION)",
            "metadataEntries": [{"label": "error_category", "text": "authentication_error"}],
        },
    }
    assert failure_from_events(step, None, []) == RunFailure(
        "HubSpot rejected the access token (401 INVALID_AUTHENTICATION)", "authentication_error"
    )
    wrapped = {
        "errorSource": "USER_CODE_ERROR",
        "error": {
            "message": "dagster._core.errors.DagsterExecutionStepExecutionError: Error in op",
            "className": "DagsterExecutionStepExecutionError",
            "causes": [
                {
                    "message": "dlt.destinations.exceptions.DestinationConnectionError: "
                    "Connection failed\n\nTraceback (most recent call last):\n  File x",
                    "className": "DestinationConnectionError",
                }
            ],
        },
    }
    assert failure_from_events(wrapped, None, []).message == (
        "DestinationConnectionError: Connection failed"
    )
    crash = {
        "errorSource": "FRAMEWORK_ERROR",
        "error": {"message": "child process exited -9", "className": "ChildProcessCrashException"},
    }
    assert failure_from_events(crash, None, []).crashed is True
    # Marked failed from outside (its worker died): no step failed, the run has no error.
    assert failure_from_events(None, {"error": None}, []) == RunFailure(None, crashed=True)
    stopped = failure_from_events(None, {"error": {"message": "dagster.Boom: the run broke"}}, [])
    assert stopped == RunFailure("Boom: the run broke")


def test_redact_strips_tokens_and_passwords() -> None:
    text = (
        "Authorization: Bearer pat-na1-abc-def postgresql://u:hunter2@db/x "
        "access_token=xyz123 pat-eu1-1234-5678"
    )
    cleaned = redact(text)
    for secret in ("pat-na1-abc-def", "hunter2", "xyz123", "1234-5678"):
        assert secret not in cleaned


def test_redact_replaces_secret_query_parameters_by_name() -> None:
    line = (
        '127.0.0.1:5 - "GET /api/v1/scan/list?api_key=hsd_1_s3cr3t&limit=5&token=t0k&'
        "access_token=a&Code=c&state=st&client_secret=cs&password=pw&apiKey=k&"
        'organizationId=org-1&filter_stage=closedwon HTTP/1.1" 401'
    )
    assert redact(line) == (
        '127.0.0.1:5 - "GET /api/v1/scan/list?api_key=[redacted]&limit=5&token=[redacted]&'
        "access_token=[redacted]&Code=[redacted]&state=[redacted]&client_secret=[redacted]&"
        "password=[redacted]&apiKey=[redacted]&organizationId=org-1&filter_stage=closedwon "
        'HTTP/1.1" 401'
    )
    # A name spelled with percent escapes is still the name it spells.
    assert redact("/x?api%5Fkey=abc&b=1") == "/x?api%5Fkey=[redacted]&b=1"


def test_validation_errors_nest_by_field_path_without_inputs() -> None:
    errors = [
        {"type": "missing", "loc": ("body", "config", "scanId"), "msg": "Field required"},
        {
            "type": "string_too_short",
            "loc": ("body", "config", "auth", "accessToken"),
            "msg": "String should have at least 10 characters",
            "input": "short-tok",
        },
        {
            "type": "string_type",
            "loc": ("body", "config", "filters", "properties", 3),
            "msg": "Input should be a valid string",
            "input": 5,
        },
        {"type": "extra_forbidden", "loc": ("body", "config", "x"), "msg": "Extra", "input": 1},
        {"type": "less_than_equal", "loc": ("query", "limit"), "msg": "x", "ctx": {"le": 100}},
    ]
    assert translate_validation_errors(errors) == {
        "config": {
            "scanId": ["Scan ID is required"],
            "auth": {"accessToken": ["Access token must be 10-4096 characters"]},
            "filters": {"properties": ["Properties must be a list of strings"]},
            "x": ["Unknown field."],
        },
        "limit": ["limit must be at most 100"],
    }
    assert "short-tok" not in repr(translate_validation_errors(errors))


def test_values_become_json() -> None:
    assert json_value(datetime(2024, 1, 15, 10, 0, tzinfo=UTC)) == "2024-01-15T10:00:00Z"
    assert json_value(datetime(2024, 1, 15, 10, 0, 0, 486000, tzinfo=UTC)) == (
        "2024-01-15T10:00:00.486Z"
    )
    plus_two = timezone(timedelta(hours=2))
    assert json_value(datetime(2024, 1, 15, 12, 0, 0, 1, tzinfo=plus_two)) == (
        "2024-01-15T10:00:00.000001Z"
    )
    assert iso_timestamp(datetime(2024, 1, 15)) == "2024-01-15T00:00:00Z"
    assert json_value(date(2024, 2, 29)) == "2024-02-29"
    assert json_value(Decimal("50000.50")) == 50000.5
    assert json_value(math.nan) is None and json_value(math.inf) is None
    assert json_value(True) is True and json_value(7) == 7
    assert json_value({"a": [date(2024, 1, 1)]}) == {"a": ["2024-01-01"]}
    assert json_value(b"\x00\x01") == "AAE="
    assert parse_json_text('{"name": "x"}') == {"name": "x"}
    assert parse_json_text("not json") == "not json"


def test_timestamps_read_as_text_in_duckdb_equal_the_python_conversion() -> None:
    import duckdb

    from api_shim.destination.duckdb_store import _selects
    from hubspot_deals.load import TableRows
    from hubspot_deals.load.read_copies import column_types

    moments = [
        datetime(2024, 1, 15, 10, 0, tzinfo=UTC),
        datetime(2024, 1, 15, 10, 0, 0, 486000, tzinfo=UTC),
        datetime(2024, 1, 15, 10, 0, 0, 1, tzinfo=UTC),
        datetime(2024, 1, 15, 10, 0, 0, 120, tzinfo=UTC),
        datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        None,
    ]
    with duckdb.connect() as connection:
        connection.execute("SET TimeZone = 'America/New_York'")  # the session's zone is ignored
        connection.execute("CREATE TABLE t (n INTEGER, aware TIMESTAMPTZ, naive TIMESTAMP, j JSON)")
        for n, moment in enumerate(moments):
            naive = moment.replace(tzinfo=None) if moment else None
            connection.execute("INSERT INTO t VALUES (?, ?, ?, ?)", [n, moment, naive, '{"a": 1}'])
        types = column_types(connection)
        select = _selects(types, {"t": TableRows("t", 6, ["n", "aware", "naive", "j"])})["t"]
        rows = connection.execute(f"SELECT {select.sql} FROM t ORDER BY n").fetchall()
    read = [[convert(v) for convert, v in zip(select.converters, row, strict=True)] for row in rows]
    assert read == [[n, json_value(m), json_value(m), {"a": 1}] for n, m in enumerate(moments)]
    assert [r[1] for r in read[:4]] == [
        "2024-01-15T10:00:00Z",
        "2024-01-15T10:00:00.486Z",
        "2024-01-15T10:00:00.000001Z",
        "2024-01-15T10:00:00.000120Z",
    ]


def test_column_order_and_paging_key() -> None:
    keys = primary_keys_from_dlt_schemas(
        [
            '{"tables": {"pipeline_stages": {"columns": {"_scan_id": {"primary_key": true}, '
            '"pipeline_id": {"primary_key": true}, "id": {"primary_key": true}, '
            '"label": {}}}}}',
            "not json",
        ]
    )
    assert keys == {"pipeline_stages": ["_scan_id", "pipeline_id", "id"]}
    existing = ["_scan_id", "_organization_id", "label", "pipeline_id", "id", "_dlt_id", "_x"]
    order = scan_key_columns(keys["pipeline_stages"], existing)
    assert order == ["pipeline_id", "id"]
    assert visible_columns(None, existing, order) == [
        "pipeline_id", "id", "label", "_scan_id", "_organization_id",
    ]  # fmt: skip
    assert scan_key_columns([], ["_scan_id", "name", "label"]) == ["name"]
    assert visible_columns(["id", "gone", "amount"], ["amount", "id"], ["id"]) == ["id", "amount"]
    deals = ["id", "_unparsed", "_scan_chunk", "_scan_id", "_dlt_load_id"]
    assert visible_columns(None, deals, ["id"]) == ["id", "_unparsed", "_scan_id"]


def test_rate_limit_settings() -> None:
    assert (RateLimit("100/hour").limit, RateLimit("100/hour").window_seconds) == (100, 3600)
    assert RateLimit("5/30s").window_seconds == 30
    for bad in ("100", "0/hour", "10/week", "x/minute"):
        with pytest.raises(ValueError):
            RateLimit(bad)
    limits = ApiSettings(rate_limit_maintenance="3/minute").rate_limits()
    assert limits["maintenance"].limit == 3 and limits["scan"].limit == 100


@pytest.mark.parametrize(
    ("path", "group"),
    [
        ("/api/v1/scan/start", "scan"),
        ("/api/v1/scan/x/status", "scan"),
        ("/api/v1/results/x/result", "results"),
        ("/api/v1/maintenance/cleanup", "maintenance"),
        ("/api/v1/health", "health"),
        ("/api/v1/stats", "health"),
        ("/api/v1/pipeline/info", "health"),
        ("/api/v1/docs", None),
        ("/api/v1/openapi.json", None),
        ("/docs", None),
    ],
)
def test_endpoint_groups(path: str, group: str | None) -> None:
    assert endpoint_group(path) == group


def test_identical_reads_under_way_are_joined() -> None:
    client = DagsterClient(ApiSettings())
    calls: list[str] = []
    gate = threading.Event()

    def slow_execute(query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        calls.append(query)
        gate.wait(5)
        return {"answer": len(calls)}

    client.execute = slow_execute  # type: ignore[method-assign]
    results: list[dict[str, Any]] = []
    threads = [
        threading.Thread(target=lambda: results.append(client.read("{ q }", {"a": 1})))
        for _ in range(5)
    ]
    for thread in threads:
        thread.start()
    time.sleep(0.2)
    gate.set()
    for thread in threads:
        thread.join()
    assert calls == ["{ q }"]
    assert results == [{"answer": 1}] * 5
    assert client.read("{ q }", {"a": 1}) == {"answer": 2}  # nothing is kept afterwards


def test_recent_runs_answers_are_served_refreshed_and_forgotten_after_a_mutation() -> None:
    client = DagsterClient(ApiSettings(dagster_runs_cache_seconds=0.4))
    calls: list[str] = []
    gate = threading.Event()
    gate.set()

    def counting_execute(query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        calls.append(query)
        gate.wait(5)
        return {"answer": len(calls)}

    client._execute = counting_execute  # type: ignore[method-assign]
    query, variables = "query Runs { runs }", {"tags": "p"}
    assert client._recent_read(query, variables) == {"answer": 1}
    assert client._recent_read(query, variables) == {"answer": 1}  # under a quarter: as is
    assert calls == [query]
    time.sleep(0.15)  # between a quarter and the window: served, and replaced in the background
    assert client._recent_read(query, variables) == {"answer": 1}
    deadline = time.monotonic() + 5
    while client._recent_read(query, variables) != {"answer": 2}:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert calls == [query, query]
    time.sleep(0.5)  # past the window: the request reads itself
    assert client._recent_read(query, variables) == {"answer": 3}
    assert client._recent_read(query, {"tags": "q"}) == {"answer": 4}  # another scan
    client.execute("mutation Launch { launch }")  # this shim's change: nothing recent is kept
    assert client._recent_read(query, variables) == {"answer": 6}
    # A read under way while a mutation is sent is served to its caller but never kept.
    time.sleep(0.5)
    gate.clear()
    reader = threading.Thread(target=client._recent_read, args=(query, variables))
    reader.start()
    time.sleep(0.1)
    gate.set()
    client.execute("mutation Cancel { cancel }")
    reader.join()
    assert client._recent_read(query, variables) == {"answer": 9}
    assert calls[-3:] == [query, "mutation Cancel { cancel }", query]
