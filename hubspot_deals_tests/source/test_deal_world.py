"""The deal's world from the source: companies, contacts and line items in typed tables of
their own, the deals' associations with every label, and their stage history, each row
compared with the sandbox's ground truth; loaded whole by `hubspot_crm` and in checkpointed
chunks by `run_scan`, where a second run of a finished scan replaces its rows."""

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import dlt
import duckdb
import pytest

from hubspot_deals.source import ScanHooks, hubspot_crm, run_scan
from hubspot_deals.source.checkpoint import Checkpoint
from hubspot_deals.source.client import HubSpotClient
from hubspot_deals.source.columns import parse_hubspot_datetime
from hubspot_deals.source.deal_details import association_rows, stage_history_rows
from hubspot_deals_tests.conftest import fake_token
from hubspot_sandbox.associations import type_of
from hubspot_sandbox.crm_objects import CrmObjects
from hubspot_sandbox.process import SandboxServer

DEALS = 400  # and 100 companies, 200 contacts, 400 line items; 3% of each archived
OBJECTS = ["deals", "companies", "contacts", "line_items"]
DEAL_TABLES = ["deal_associations", "deal_stage_history"]
DATASET = "crm"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    token = fake_token()
    # HubSpot's limits on, the association bucket (100) apart from the ten-secondly one (190).
    with SandboxServer(
        deals=DEALS, seed=18, tokens=[token], rate_limit=190, association_rate_limit=100
    ) as server:
        server.token_for_tests = token  # type: ignore[attr-defined]
        yield server


def rows(path: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(path), read_only=True) as con:
        con.execute(f"SET schema = '{DATASET}'")
        return con.execute(sql).fetchall()


def expected_records(crm: CrmObjects, object_type: str, names: list[str]) -> set[tuple]:
    store = crm.stores[object_type]
    return {(store.record_id(i), *(store.value(i, n) for n in names)) for i in store.live_indexes()}


def expected_associations(crm: CrmObjects) -> set[tuple]:
    account = crm.account
    found = set()
    for deal in range(account.deal_count):
        if account.is_archived(deal):
            continue
        for to in ("companies", "contacts", "line_items"):
            for target, type_ids in crm.deal_links(deal, to).items():
                types = [type_of(("deals", to), i) for i in type_ids]
                primary = any(t.label == "Primary" for t in types if t)
                for t in types:
                    assert t is not None
                    found.add((account.deal_id(deal), to, crm.stores[to].record_id(target),
                               t.type_id, t.category, t.label, primary))  # fmt: skip
    return found


def expected_stays(crm: CrmObjects) -> set[tuple]:
    account = crm.account
    stays = set()
    for deal in range(account.deal_count):
        if account.is_archived(deal):
            continue
        entries = crm.history.entries(deal)[::-1]  # oldest first
        pipeline = account.property_value(deal, "pipeline")
        for i, e in enumerate(entries):
            entered = parse_hubspot_datetime(e["timestamp"])
            exited = parse_hubspot_datetime(entries[i + 1]["timestamp"]) if i + 1 < len(
                entries) else None  # fmt: skip
            seconds = (exited - entered).total_seconds() if exited else None
            stays.add((account.deal_id(deal), pipeline, e["value"], entered, exited, seconds,
                       e["sourceType"], e.get("sourceId")))  # fmt: skip
    return stays


def expected_stage_time(stays: set[tuple]) -> set[tuple]:
    """(deal, stage, times entered, seconds of completed stays, first entered, last exited,
    current) from the expected stays."""
    by_stage: dict[tuple[str, str], list[tuple]] = {}
    for stay in sorted(stays, key=lambda s: (s[0], s[3])):
        by_stage.setdefault((stay[0], stay[2]), []).append(stay)
    return {
        (deal, stage, len(ss), sum(s[5] for s in ss if s[4] is not None), ss[0][3],
         max((s[4] for s in ss if s[4] is not None), default=None),
         any(s[4] is None for s in ss))
        for (deal, stage), ss in by_stage.items()
    }  # fmt: skip


def check_world(path: Path, crm: CrmObjects, scan_id: str) -> None:
    where = f"WHERE _scan_id = '{scan_id}' AND _organization_id = 'org-18'"
    for table, names in {
        "companies": ["name", "domain"],
        "contacts": ["email", "firstname", "lastname"],
        "line_items": ["name", "hs_sku"],
    }.items():
        got = rows(path, f"SELECT id, {', '.join(names)} FROM {table} {where}")
        want = expected_records(crm, table, names)
        assert len(got) == len(want) == len(crm.stores[table].live_ids())
        assert set(got) == want
    # Typed like deals: numbers are doubles, dates timestamps.
    quantities = rows(path, f"SELECT id, quantity FROM line_items {where} ORDER BY id LIMIT 1")
    store = crm.stores["line_items"]
    first = min(store.live_indexes(), key=store.id_int)
    assert quantities == [(store.record_id(first), float(store.value(first, "quantity")))]
    for singular, object_type in (("company", "companies"), ("contact", "contacts")):
        names = {r[0] for r in rows(path, f"SELECT name FROM {singular}_properties {where}")}
        assert names == {d["name"] for d in crm.registries[object_type].definitions()}
    got = rows(
        path,
        f"""SELECT deal_id, to_object_type, to_object_id, association_type_id,
        category, label, is_primary FROM deal_associations {where}""",
    )
    want = expected_associations(crm)
    assert len(got) == len(want)
    assert set(got) == want
    assert {r[5] for r in got} == {"Primary", None, "Reseller", "Decision maker", "Champion"}
    got = rows(
        path,
        f"""SELECT deal_id, pipeline_id, stage_id, entered_at, exited_at,
        seconds_in_stage, source_type, source_id FROM deal_stage_history {where}""",
    )
    want = expected_stays(crm)
    assert len(got) == len(want)
    assert {naive(r) for r in got} == {naive(w) for w in want}
    got = rows(
        path,
        f"""SELECT deal_id, stage_id, times_entered, seconds_in_stage,
        first_entered_at, last_exited_at, is_current FROM deal_stage_time {where}""",
    )
    want_time = expected_stage_time(want)
    assert len(got) == len(want_time)
    assert {naive(r) for r in got} == {naive(w) for w in want_time}


def naive(row: tuple) -> tuple:
    """DuckDB hands timestamps back without their (UTC) zone."""
    return tuple(v.replace(tzinfo=None) if isinstance(v, datetime) else v for v in row)


def test_hubspot_crm_loads_every_object_and_the_deals_world(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    path = tmp_path / "world.duckdb"
    pipeline = dlt.pipeline(
        "deal_world", destination=dlt.destinations.duckdb(str(path)), dataset_name=DATASET,
        pipelines_dir=str(tmp_path / "pipelines"),
    )  # fmt: skip
    source = hubspot_crm(
        objects=OBJECTS, properties=["dealname", "pipeline"], deal_tables=DEAL_TABLES,
        access_token=sandbox.token_for_tests, api_base_url=sandbox.base_url,  # type: ignore[attr-defined]
        organization_id="org-18", scan_id="world",
    )  # fmt: skip
    assert list(source.resources) == [
        "deals", "companies", "contacts", "line_items", "deal_associations",
        "deal_stage_history", "users", "pipelines", "pipeline_stages", "deal_properties",
        "company_properties", "contact_properties", "line_item_properties",
    ]  # fmt: skip
    pipeline.run(source)
    check_world(path, sandbox.crm(), "world")


def test_run_scan_checkpoints_the_deals_world_and_a_second_run_replaces_it(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    path = tmp_path / "scan.duckdb"

    def scan() -> Any:
        pipeline = dlt.pipeline(
            "deal_world_scan", destination=dlt.destinations.duckdb(str(path)),
            dataset_name=DATASET, pipelines_dir=str(tmp_path / "pipelines"),
        )  # fmt: skip
        client = HubSpotClient(sandbox.token_for_tests, sandbox.base_url)  # type: ignore[attr-defined]
        try:
            return run_scan(
                pipeline, "scan-18", client=client, organization_id="org-18", objects=OBJECTS,
                properties=["dealname", "pipeline"], deal_tables=DEAL_TABLES, chunk_records=150,
            ), client.stats  # fmt: skip
        finally:
            client.close()

    report, stats = scan()
    crm = sandbox.crm()
    live = {t: len(crm.stores[t].live_ids()) for t in OBJECTS[1:]}
    assert {t: report.rows_loaded[t] for t in OBJECTS} == {
        "deals": crm.account.live_count, **live,
    }  # fmt: skip
    assert report.rows_loaded["deal_associations"] == len(expected_associations(crm))
    assert report.rows_loaded["deal_stage_history"] == len(expected_stays(crm))
    assert report.streams["deals"].chunks >= 2  # the deals' world rode on more than one chunk
    check_world(path, crm, "scan-18")
    # Batch reads, never one request per deal: at least one per association type.
    assert 3 <= stats["association_requests"] <= 3 * report.streams["deals"].chunks
    scan()
    check_world(path, crm, "scan-18")


def test_details_are_read_in_hubspots_batch_sizes(sandbox: SandboxServer) -> None:
    """1,000 deal ids a v4 association batch read (paced on the association bucket, whose
    headers leave the ten-secondly pacer alone), 50 a batch read with history."""
    crm = sandbox.crm()
    live = [(d, 1) for d in crm.account.live_deal_ids()]
    # Ids of no deal: HubSpot answers them as 207 NO_ASSOCIATIONS_FOUND entries.
    unknown = [(str(9_000_000_000 + i), 1) for i in range(1_001 - len(live))]
    client = HubSpotClient(sandbox.token_for_tests, sandbox.base_url)  # type: ignore[attr-defined]
    try:
        found = association_rows(client, live + unknown, "companies")
        assert (client.stats["association_requests"], client.stats["burst_requests"]) == (2, 0)
        # Learned from the association bucket's own headers; the ten-secondly pacer untouched.
        assert (client.buckets.associations.limit, client.burst_pacer.limit) == (100, None)
        assert len(found) == len([r for r in expected_associations(crm) if r[1] == "companies"])
        stays = stage_history_rows(client, live)
        assert client.stats["burst_requests"] == -(-len(live) // 50)
        assert (client.buckets.associations.limit, client.burst_pacer.limit) == (100, 190)
        assert client.stats["rate_limited"] == 0
        assert len(stays) == len(expected_stays(crm))
    finally:
        client.close()


class StopAfterFirstChunk(ScanHooks):
    """Stops the scan after its first committed checkpoint, as a pause request does."""

    def after_checkpoint(self, checkpoint: Checkpoint) -> None:
        raise ScanStopped(checkpoint)


class ScanStopped(Exception):
    pass


@pytest.fixture(scope="module")
def larger_sandbox() -> Iterator[SandboxServer]:
    """More deals than the reader hands over at once (2,000), so a chunk cannot hold them all."""
    token = fake_token()
    with SandboxServer(deals=2_500, seed=19, tokens=[token]) as server:
        server.token_for_tests = token  # type: ignore[attr-defined]
        yield server


def test_a_stopped_scan_resumes_each_object_where_it_stood(
    larger_sandbox: SandboxServer, tmp_path: Path
) -> None:
    """Companies finish in the first chunk, deals do not: the resumed run reads the deals (and
    their world) on and leaves the finished companies as they were loaded, no row twice."""
    sandbox = larger_sandbox
    path = tmp_path / "resume.duckdb"

    def scan(hooks: ScanHooks | None = None) -> Any:
        pipeline = dlt.pipeline(
            "deal_world_resume", destination=dlt.destinations.duckdb(str(path)),
            dataset_name=DATASET, pipelines_dir=str(tmp_path / "pipelines"),
        )  # fmt: skip
        client = HubSpotClient(sandbox.token_for_tests, sandbox.base_url)  # type: ignore[attr-defined]
        try:
            return run_scan(
                pipeline, "scan-18", client=client, organization_id="org-18", objects=OBJECTS,
                properties=["dealname", "pipeline"], deal_tables=DEAL_TABLES, chunk_records=150,
                hooks=hooks,
            )  # fmt: skip
        finally:
            client.close()

    with pytest.raises(ScanStopped):
        scan(StopAfterFirstChunk())
    crm = sandbox.crm()
    first = rows(path, "SELECT count(*) FROM deals")[0][0]
    assert 0 < first <= 2_000 < crm.account.live_count
    report = scan()
    check_world(path, crm, "scan-18")  # every row once
    assert report.resumed_from["companies"].finished  # type: ignore[union-attr]
    assert not report.resumed_from["deals"].finished  # type: ignore[union-attr]
    assert "companies" not in report.rows_loaded
    assert report.rows_loaded["deals"] == crm.account.live_count - first
