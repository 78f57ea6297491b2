"""End to end on PostgreSQL: typed results, reads while another scan loads, removal, and a deep
page of a million-row scan."""

import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg2
import pytest

from hubspot_deals.load.names import pipeline_name_for
from hubspot_deals.settings import DATASET_NAME
from hubspot_deals_tests.api_shim.conftest import (
    Shim,
    SlowTokenStandIn,
    assert_nul_filters_are_400s,
    home_env,
    shim_env,
)
from hubspot_deals_tests.api_shim.downloads import assert_formats_equal, download
from hubspot_deals_tests.api_shim.expected import as_received, assert_known_tables, expected_record
from hubspot_deals_tests.conftest import fake_token, postgres_database
from hubspot_deals_tests.servers import DagsterDev

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

MILLION = 1_000_000


@dataclass
class PgStack:
    standin: SlowTokenStandIn
    shim: Shim
    token: str
    slow_token: str
    dsn: str

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        conn = psycopg2.connect(self.dsn)
        conn.autocommit = True
        try:
            with conn.cursor() as cur:
                cur.execute(sql, params)
                return cur.fetchall() if cur.description else []
        finally:
            conn.close()


@pytest.fixture(scope="module")
def pg(module_dir: Path, clean_env: None) -> Iterator[PgStack]:
    token, slow_token = fake_token(), fake_token()
    with (
        postgres_database(f"api_shim_{os.getpid()}") as dsn,
        SlowTokenStandIn(token, slow_token, deals=400) as standin,
    ):
        home = {
            **home_env(module_dir),
            "HUBSPOT_DEALS_DESTINATION": "postgres",
            "HUBSPOT_DEALS_POSTGRES_DSN": dsn,
        }
        dagster_env = {**home, "HUBSPOT_API_BASE_URL": standin.base_url}
        with (
            DagsterDev(dagster_env, module_dir) as dagster,
            Shim(shim_env(dagster, home, open_access="true"), module_dir) as shim,
        ):
            shim.wait_healthy()
            yield PgStack(standin, shim, token, slow_token, dsn)


def test_postgres_results_are_the_standin_deals_typed(pg: PgStack) -> None:
    shim = pg.shim
    assert shim.start_scan("pg-full", pg.token, "org-pg", {"includeArchived": True}).ok
    shim.wait_status("pg-full", ("completed",))
    tables = shim.get("/results/pg-full/tables").json()["data"]
    assert_known_tables(tables["tables"])
    assert tables["totalTables"] == len(tables["tables"])
    expected = [expected_record(d) for d in sorted(pg.standin.deals, key=lambda d: d["id"])]
    keys = list(expected[0])
    for limit in (500, 9):
        records = shim.all_records("pg-full", "deals", limit=limit)
        assert [as_received(r, keys) for r in records] == expected
    users = shim.get("/results/pg-full/result").json()["data"]["records"]
    assert [(u["id"], u["email"], u["teams"], u["user_id"]) for u in users] == [
        ("77", "ann@example.com", [], 9)
    ]
    properties = shim.all_records("pg-full", "deal_properties")
    assert isinstance(properties[0]["definition"], dict)
    assert [p["name"] for p in properties] == sorted(p["name"] for p in properties)


@pytest.mark.parametrize("table", ["deals", "deal_properties", "pipeline_stages"], ids=lambda t: t)
def test_postgres_downloads_in_every_format_equal_the_table(pg: PgStack, table: str) -> None:
    """The same formats on PostgreSQL, streamed from a server-side cursor."""
    as_json = download(pg.shim, "pg-full", "json", table)
    assert as_json.headers["content-type"] == "application/json"
    body = as_json.json()
    columns = body["columns"]
    kinds = dict(
        pg.query(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = %s AND table_name = %s",
            (DATASET_NAME, table),
        )
    )
    types = ["JSON" if kinds[c] in ("json", "jsonb") else kinds[c] for c in columns]
    select = ", ".join(f'"{c}"' for c in columns)
    order = {"deals": "id", "deal_properties": "name", "pipeline_stages": "pipeline_id, id"}
    rows = [
        # JSON columns as the text the downloads are compared with (psycopg2 parses them).
        tuple(
            json.dumps(v) if t == "JSON" and v is not None else v
            for t, v in zip(types, row, strict=True)
        )
        for row in pg.query(
            f'SELECT {select} FROM {DATASET_NAME}."{table}" WHERE _scan_id = %s '
            f"ORDER BY {order[table]}",
            ("pg-full",),
        )
    ]
    assert body["totalRecords"] == len(body["records"]) == len(rows) > 0
    if table == "deals":
        assert len(rows) == len(pg.standin.deals)  # every deal, archived ones too
    assert_formats_equal(pg.shim, "pg-full", table, body, rows, types)


def test_postgres_nul_in_a_results_filter_is_the_400_duckdb_gives(pg: PgStack) -> None:
    """psycopg2 refused the filter ("A string literal cannot contain NUL (0x00) characters"):
    a 500, its traceback logged twice. Now the same 400 as on DuckDB, and nothing logged."""
    shim = pg.shim
    shim.wait_status("pg-full", ("completed",))
    log_before = len(shim.log())
    assert_nul_filters_are_400s(shim.api, "pg-full", {})
    # The filter without its NUL reaches PostgreSQL, and matches nothing.
    plain = shim.get("/scans/pg-full/results", params={"filter_stage": "xy"})
    assert plain.status_code == 200 and plain.json()["pagination"]["total_results"] == 0
    log = shim.log()[log_before:]
    assert "Traceback" not in log and "NUL" not in log and " 500 " not in log
    assert log.count('/results?filter_stage=x%00y HTTP/1.1" 400') == 1


def test_postgres_results_stay_readable_while_another_scan_loads(pg: PgStack) -> None:
    shim = pg.shim
    assert shim.start_scan("pg-loading", pg.slow_token, "org-pg").ok
    statuses = []
    while shim.get("/scan/pg-loading/status").json()["data"]["status"] in ("pending", "running"):
        response = shim.get(
            "/results/pg-full/result", params={"tableName": "deals", "limit": 50, "offset": 100}
        )
        statuses.append(response.status_code)
        assert [r["id"] for r in response.json()["data"]["records"]][:1] == [
            sorted(d["id"] for d in pg.standin.deals)[100]
        ]
    assert shim.get("/scan/pg-loading/status").json()["data"]["status"] == "completed"
    assert len(statuses) > 20 and set(statuses) == {200}


def test_postgres_remove_deletes_the_scans_rows_and_state(pg: PgStack) -> None:
    removed = pg.shim.delete("/scan/pg-full/remove")
    assert removed.status_code == 200, removed.text
    assert removed.json()["data"]["scanId"] == "pg-full"
    assert removed.json()["data"]["recordsDeleted"] >= 418  # and any table the location adds
    for table in ("deals", "users", "pipelines", "pipeline_stages", "deal_properties"):
        count = pg.query(
            f"SELECT count(*) FROM {DATASET_NAME}.{table} WHERE _scan_id = %s", ("pg-full",)
        )
        assert count == [(0,)], table
    state = pg.query(
        f"SELECT count(*) FROM {DATASET_NAME}._dlt_pipeline_state WHERE pipeline_name = %s",
        (pipeline_name_for("pg-full"),),
    )
    assert state == [(0,)]
    assert pg.query(
        f"SELECT count(*) FROM {DATASET_NAME}.deals WHERE _scan_id = %s", ("pg-loading",)
    ) == [(360,)]


def test_postgres_deep_pages_of_a_million_rows_are_exact_from_their_anchors(pg: PgStack) -> None:
    shim = pg.shim
    # pg-loading (completed, 360 deals) was never read: grow it to a million rows first.
    required = [
        name
        for (name,) in pg.query(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = %s "
            "AND table_name = 'deals' AND is_nullable = 'NO' AND column_name NOT IN "
            "('id', 'archived', '_scan_id', '_organization_id')",
            (DATASET_NAME,),
        )
    ]  # e.g. the checkpoint's chunk number: 0 for generated rows
    extra_columns = "".join(f", {c}" for c in required)
    extra_values = ", 0" * len(required)
    pg.query(
        f"INSERT INTO {DATASET_NAME}.deals (id, dealname, amount, createdate, archived, "
        f"_scan_id, _organization_id{extra_columns}) "
        "SELECT 'g' || lpad(n::text, 7, '0'), 'Generated deal ' || n, n * 1.5, "
        "timestamptz '2024-01-01 00:00:00+00' + n * interval '1 minute', false, %s, 'org-pg'"
        f"{extra_values} FROM generate_series(1, %s) AS n",
        ("pg-loading", MILLION - 360),
    )
    tables = shim.get("/results/pg-loading/tables").json()["data"]["tables"]
    assert tables[0] == {"name": "deals", "rowCount": MILLION, "extractedCount": 360}
    # The scans created the (_scan_id, id) index when they loaded (the API issues no DDL); let
    # VACUUM set the visibility map as autovacuum would after a load.
    assert pg.query(
        "SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class c "
        "ON c.oid = i.indexrelid WHERE c.relname = 'deals__api_scan_key' AND i.indisvalid"
    ) == [(f"CREATE INDEX deals__api_scan_key ON {DATASET_NAME}.deals USING btree (_scan_id, id)",)]

    pg.query(f"VACUUM ANALYZE {DATASET_NAME}.deals")  # what autovacuum does after a load

    def ids_at(offset: int, limit: int = 100) -> list[str]:
        response = shim.get(
            "/results/pg-loading/result",
            params={"tableName": "deals", "limit": limit, "offset": offset},
        )
        assert response.status_code == 200, response.text
        data = response.json()["data"]
        returned = min(limit, MILLION - offset)
        assert data["pagination"] == {
            "total": MILLION,
            "limit": limit,
            "offset": offset,
            "hasMore": offset + returned < MILLION,
            "returned": returned,
        }
        assert data["records"][0]["amount"] == (offset - 360 + 1) * 1.5
        return [r["id"] for r in data["records"]]

    def expected(offset: int, limit: int = 100) -> list[str]:
        # The generated rows sort after HubSpot's numeric ids: row 360 is g0000001.
        return [f"g{n - 360 + 1:07d}" for n in range(offset, min(offset + limit, MILLION))]

    # The first deep page is read with a plain OFFSET and starts the anchors' pass.
    assert ids_at(900_000) == expected(900_000)
    deadline = time.monotonic() + 120
    while "page anchors of deals for scan pg-loading: 100 in" not in shim.log():
        assert time.monotonic() < deadline, "page anchors not built"
        time.sleep(0.5)
    # From anchors now: at, just before and just after anchor rows, and the short last page.
    for offset in (900_000, 10_000, 19_999, 20_001, 555_555, 999_950):
        assert ids_at(offset) == expected(offset)
    assert ids_at(9_990, 20) == expected(9_990, 20)  # a page across the first anchor
