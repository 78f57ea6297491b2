"""The API's page indexes, created by the load layer on PostgreSQL (the API issues no DDL)."""

import psycopg2
import pytest

from hubspot_deals.load import ensure_page_indexes
from hubspot_deals.settings import DATASET_NAME, Settings
from hubspot_deals_tests.load.conftest import deals, load_scan


def page_indexes(settings: Settings) -> dict[str, str]:
    with psycopg2.connect(settings.postgres_dsn.get_secret_value()) as conn:
        cur = conn.cursor()
        cur.execute(
            "SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class c "
            "ON c.oid = i.indexrelid WHERE c.relname LIKE '%%__api_scan_key' AND i.indisvalid "
            "ORDER BY 1"
        )
        rows = dict(cur.fetchall())
    conn.close()
    return rows


def test_page_indexes_follow_each_tables_paging_key(destination: Settings) -> None:
    load_scan(
        "s1",
        {
            "deals": deals(1, 2),
            "users": [{"id": "u1"}],
            "pipeline_stages": [{"pipeline_id": "default", "id": "won", "label": "Won"}],
        },
        1,
    )
    if destination.destination != "postgres":
        assert ensure_page_indexes(destination) == []  # the API reads DuckDB from copies
        return
    created = ensure_page_indexes(destination)
    assert sorted(created) == [
        "deals__api_scan_key",
        "pipeline_stages__api_scan_key",
        "users__api_scan_key",
    ]
    on = f"ON {DATASET_NAME}"
    assert page_indexes(destination) == {
        "deals__api_scan_key": f"CREATE INDEX deals__api_scan_key {on}.deals "
        "USING btree (_scan_id, id)",
        "pipeline_stages__api_scan_key": "CREATE INDEX pipeline_stages__api_scan_key "
        f"{on}.pipeline_stages USING btree (_scan_id, pipeline_id, id)",
        "users__api_scan_key": f"CREATE INDEX users__api_scan_key {on}.users "
        "USING btree (_scan_id, id)",
    }
    # Every later scan finds them in place.
    load_scan("s2", {"deals": deals(3)}, 1)
    assert ensure_page_indexes(destination) == []


@pytest.mark.postgres
@pytest.mark.parametrize("destination", ["postgres"], indirect=True)
def test_page_indexes_can_be_left_to_the_database_owner(destination: Settings) -> None:
    load_scan("s1", {"deals": deals(1)}, 1)
    off = destination.model_copy(update={"postgres_create_indexes": False})
    assert ensure_page_indexes(off) == []
    assert page_indexes(destination) == {}
