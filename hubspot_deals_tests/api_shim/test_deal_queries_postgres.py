"""The ETL results' deal query on PostgreSQL: filters, sort with nulls last, pages, figures,
and never another scan's rows (the DuckDB side runs end to end in test_etl_tenants_e2e)."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import psycopg2
import pytest

from api_shim.destination import TableSpec
from api_shim.destination.postgres_store import PostgresResults
from api_shim.errors import BadRequest
from api_shim.settings import ApiSettings
from hubspot_deals.load.deal_queries import DealQuery
from hubspot_deals.load.values import iso_text, json_value
from hubspot_deals.settings import DATASET_NAME, Settings
from hubspot_deals_tests.conftest import postgres_database

pytestmark = pytest.mark.postgres

BASE = datetime(2024, 1, 1, tzinfo=UTC)
STAGES = ["appointmentscheduled", "closedwon", "closedlost"]


def deal_rows(scan_id: str, count: int) -> list[tuple]:
    rows = []
    for i in range(count):
        rows.append(
            (
                scan_id,
                "org-a",
                str(1000 + i),
                f"Deal {i}",
                None if i % 5 == 0 else float((i * 37) % 100) + 0.5,
                STAGES[i % 3],
                "default" if i % 2 else "sales",
                None if i % 4 == 0 else BASE + timedelta(days=i % 6),
                BASE - timedelta(hours=i),
                i % 7 == 0,
            )
        )
    return rows


@pytest.fixture(scope="module")
def store() -> Iterator[PostgresResults]:
    with postgres_database("hubspot_deals_deal_queries") as dsn:
        conn = psycopg2.connect(dsn)
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f"CREATE SCHEMA {DATASET_NAME}")
            cur.execute(
                f"CREATE TABLE {DATASET_NAME}.deals (_scan_id text, _organization_id text, "
                "id text, dealname text, amount double precision, dealstage text, "
                "pipeline text, closedate timestamptz, createdate timestamptz, archived boolean, "
                "_dlt_id text)"
            )
            for scan_id, count in (("scan-a", 40), ("scan-b", 25)):
                cur.executemany(
                    f"INSERT INTO {DATASET_NAME}.deals VALUES "
                    "(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 'x')",
                    deal_rows(scan_id, count),
                )
        conn.close()
        results = PostgresResults(
            ApiSettings(),
            Settings(destination="postgres", postgres_dsn=dsn),
        )
        yield results
        results.close()


def expected(stage: str | None, column: str, desc: bool) -> list[tuple]:
    rows = [r for r in deal_rows("scan-a", 40) if stage is None or r[5] == stage]
    index = {"amount": 4, "closedate": 7, "createdate": 8}[column]
    rows.sort(key=lambda r: r[2])
    present = sorted(
        [r for r in rows if r[index] is not None], key=lambda r: r[index], reverse=desc
    )
    return present + [r for r in rows if r[index] is None]


@pytest.mark.parametrize(
    ("stage", "column", "desc"),
    [(None, "closedate", False), ("closedwon", "amount", True), (None, "createdate", True)],
)
def test_filtered_sorted_pages_and_figures(
    store: PostgresResults, stage: str | None, column: str, desc: bool
) -> None:
    want = expected(stage, column, desc)
    got: list[str] = []
    for offset in range(0, len(want), 6):
        rows = store.deals(
            "scan-a",
            "v1",
            [TableSpec("deals")],
            DealQuery(stage=stage, sort_by=column, descending=desc, limit=6, offset=offset),
        )
        assert rows.total == len(want) and rows.sort_by == column
        assert all(r["_scan_id"] == "scan-a" for r in rows.records)
        got.extend(r["id"] for r in rows.records)
    assert got == [r[2] for r in want]
    amounts = [r[4] for r in want if r[4] is not None]
    assert (rows.total_value, rows.min_value, rows.max_value) == (
        round(sum(amounts), 2),
        min(amounts),
        max(amounts),
    )
    assert rows.avg_value == round(sum(amounts) / len(amounts), 2)


def test_pipeline_filter_and_an_unknown_column(store: PostgresResults) -> None:
    rows = store.deals("scan-b", "v1", [TableSpec("deals")], DealQuery(pipeline="sales", limit=100))
    assert [r["id"] for r in rows.records] == [
        r[2]
        for r in sorted(deal_rows("scan-b", 25), key=lambda r: (r[7] is None, r[7], r[2]))
        if r[6] == "sales"
    ]
    with pytest.raises(BadRequest, match="did not extract the deal property 'dealtype'"):
        store.deals(
            "scan-b",
            "v1",
            [TableSpec("deals", ["id", "dealtype"])],
            DealQuery(sort_by="dealtype"),
        )


def test_pages_carry_timestamps_as_iso_text_and_reuse_pooled_connections(
    store: PostgresResults,
) -> None:
    declared = [TableSpec("deals")]
    backends = set()
    for offset in (0, 10, 20, 30):
        page = store.page("scan-a", "run-a", declared, "deals", 10, offset)
        rows = sorted(deal_rows("scan-a", 40), key=lambda r: r[2])[offset : offset + 10]
        assert [r["id"] for r in page.records] == [r[2] for r in rows]
        assert [r["createdate"] for r in page.records] == [json_value(r[8]) for r in rows]
        assert [r["closedate"] for r in page.records] == [json_value(r[7]) for r in rows]
        with store.pages._connection() as conn, conn.cursor() as cur:
            cur.execute("SELECT pg_backend_pid()")
            backends.add(cur.fetchone()[0])
    assert page.records[0]["createdate"] == "2023-12-30T18:00:00Z"
    assert len(backends) == 1  # one connection, kept between requests


def test_timestamp_text_equals_the_python_conversion_whatever_the_session_zone() -> None:
    from hubspot_deals.load.postgres_pages import PG_ISO_FORMAT

    moments = [
        datetime(2024, 1, 15, 10, 0, tzinfo=UTC),
        datetime(2024, 1, 15, 10, 0, 0, 486000, tzinfo=UTC),
        datetime(2024, 1, 15, 10, 0, 0, 1, tzinfo=UTC),
        datetime(2024, 7, 15, 10, 0, 0, 120, tzinfo=UTC),
        None,
    ]
    with postgres_database("hubspot_deals_iso_text") as dsn:
        conn = psycopg2.connect(dsn, options="-c TimeZone=America/New_York")
        with conn, conn.cursor() as cur:
            read = []
            for moment in moments:
                cur.execute(
                    f"SELECT to_char(%s::timestamptz AT TIME ZONE 'UTC', '{PG_ISO_FORMAT}'), "
                    f"to_char(%s::timestamp, '{PG_ISO_FORMAT}')",
                    (moment, moment.replace(tzinfo=None) if moment else None),
                )
                read.append([iso_text(v) for v in cur.fetchone()])
        conn.close()
    assert read == [[json_value(m), json_value(m)] for m in moments]
