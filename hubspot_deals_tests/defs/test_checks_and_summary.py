"""Asset checks and the deal summary, on good data and on crafted bad data."""

import statistics

import duckdb
from dagster import AssetCheckKey, AssetKey, DagsterInstance

from hubspot_deals.defs.definitions import defs
from hubspot_deals.defs.launch import execute_scan
from hubspot_deals.scan import scan_run_config
from hubspot_deals.settings import DATASET_NAME, get_settings
from hubspot_deals_tests.conftest import scan_rows


def check_results(instance: DagsterInstance, run_id: str) -> dict[str, bool]:
    from dagster import DagsterEventType

    events = instance.get_records_for_run(
        run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION
    ).records
    return {
        e.event_log_entry.dagster_event.event_specific_data.check_name: (
            e.event_log_entry.dagster_event.event_specific_data.passed
        )
        for e in events
    }


def test_summary_figures_are_exact_and_checks_pass(instance: DagsterInstance, standin) -> None:
    outcome = execute_scan(instance, "sum-1", scan_run_config("org-s", standin.token_for_tests))
    assert outcome.success, outcome.error
    assert check_results(instance, outcome.run_id) == {
        "deal_ids_unique": True,
        "deal_required_columns": True,
        "deal_amount_valid": True,
        "deal_count_matches_hubspot": True,
    }
    live = standin.live()
    amounts = [float(d["properties"]["amount"]) for d in live if d["properties"]["amount"]]
    stages: dict[str, int] = {}
    for d in live:
        stages[d["properties"]["dealstage"]] = stages.get(d["properties"]["dealstage"], 0) + 1
    mat = instance.get_latest_materialization_event(AssetKey(["hubspot", "deal_summary"]))
    meta = {k: v.value for k, v in mat.asset_materialization.metadata.items()}
    assert mat.asset_materialization.partition == "sum-1"
    assert meta["total_deals"] == 225
    assert meta["archived_deals"] == 0
    assert meta["total_value"] == round(sum(amounts), 2)
    assert meta["avg_deal_value"] == round(statistics.fmean(amounts), 2)
    assert meta["min_value"] == min(amounts) and meta["max_value"] == max(amounts)
    assert meta["pipelines"] == {"default": 225}
    assert meta["stages"] == stages
    (row,) = scan_rows("deal_summary", "sum-1", order_by="_scan_id")
    assert row["total_deals"] == 225 and row["total_value"] == round(sum(amounts), 2)


def test_negative_amount_fails_the_blocking_check(instance: DagsterInstance, standin) -> None:
    standin.deals[3]["properties"]["amount"] = "-50.00"
    outcome = execute_scan(instance, "neg", scan_run_config("org-s", standin.token_for_tests))
    assert not outcome.success
    results = check_results(instance, outcome.run_id)
    assert results["deal_amount_valid"] is False
    assert results["deal_ids_unique"] is True
    # Blocked: no summary was computed from the bad data.
    assert instance.get_latest_materialization_event(AssetKey(["hubspot", "deal_summary"])) is None


def test_crafted_duplicates_and_nulls_fail_the_checks(instance: DagsterInstance, standin) -> None:
    assert execute_scan(instance, "bad", scan_run_config("o", standin.token_for_tests)).success
    con = duckdb.connect(str(get_settings().duckdb_file))
    deals = f"{DATASET_NAME}.deals"
    con.execute(f"INSERT INTO {deals} SELECT * FROM {deals} WHERE _scan_id = 'bad' LIMIT 2")
    con.execute(f"UPDATE {deals} SET createdate = NULL WHERE _scan_id = 'bad' AND id = ?",
                [standin.live()[5]["id"]])  # fmt: skip
    con.close()
    checks_only = defs.resolve_job_def("scan_job").get_subset(
        asset_selection=set(),
        asset_check_selection={
            AssetCheckKey(AssetKey(["hubspot", "deals"]), name)
            for name in ("deal_ids_unique", "deal_required_columns", "deal_amount_valid",
                         "deal_count_matches_hubspot")
        },
    )  # fmt: skip
    result = checks_only.execute_in_process(
        instance=instance, partition_key="bad", raise_on_error=False
    )
    results = check_results(instance, result.run_id)
    assert results["deal_ids_unique"] is False
    assert results["deal_required_columns"] is False
    assert results["deal_amount_valid"] is True
    assert results["deal_count_matches_hubspot"] is False  # 227 live rows against HubSpot's 225
