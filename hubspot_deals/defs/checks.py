"""Asset checks on every scan's deals; the blocking ones stop downstream assets on bad data."""

import functools
from collections.abc import Callable

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetRecordsFilter,
    asset_check,
)

from hubspot_deals.defs.assets import DEALS_KEY
from hubspot_deals.load.destination import when_destination_free
from hubspot_deals.load.reads import DestinationReader
from hubspot_deals.scan import ORGANIZATION_ID_COLUMN, SCAN_ID_COLUMN

# Columns every deal row must have a value in, whatever properties the scan selected.
REQUIRED_COLUMNS = ("id", "hs_object_id", "createdate", "hs_lastmodifieddate", SCAN_ID_COLUMN,
                    ORGANIZATION_ID_COLUMN)  # fmt: skip
NUMERIC_TYPES = {"DOUBLE", "DOUBLE PRECISION", "REAL", "FLOAT", "NUMERIC", "DECIMAL"}


def _scan_id(context: AssetCheckExecutionContext) -> str:
    return context.partition_key


Check = Callable[[AssetCheckExecutionContext], AssetCheckResult]


def waiting_out_the_destination(check: Check) -> Check:
    """The check reads the destination as the scan writes it: an unavailable destination is
    waited out (HUBSPOT_DEALS_DESTINATION_PATIENCE_SECONDS), not a failed check."""

    @functools.wraps(check)
    def patient_check(context: AssetCheckExecutionContext) -> AssetCheckResult:
        return when_destination_free(lambda: check(context), context.log.warning)

    return patient_check


@asset_check(asset=DEALS_KEY, blocking=True, description="Deal ids are unique within the scan.")
@waiting_out_the_destination
def deal_ids_unique(context: AssetCheckExecutionContext) -> AssetCheckResult:
    reader = DestinationReader()
    rows, distinct = reader.query(
        f"SELECT count(*), count(DISTINCT id) FROM {reader.table('deals')} "
        f"WHERE {SCAN_ID_COLUMN} = ?",
        (_scan_id(context),),
    )[0]
    return AssetCheckResult(
        passed=rows == distinct,
        metadata={"rows": int(rows), "distinct_ids": int(distinct), "duplicates": rows - distinct},
    )


@asset_check(
    asset=DEALS_KEY,
    blocking=True,
    description="Required columns (id, hs_object_id, createdate, hs_lastmodifieddate, scan and "
    "organization ids) have a value in every row.",
)
@waiting_out_the_destination
def deal_required_columns(context: AssetCheckExecutionContext) -> AssetCheckResult:
    reader = DestinationReader()
    present = reader.columns("deals")
    missing = [c for c in REQUIRED_COLUMNS if c not in present]
    checked = [c for c in REQUIRED_COLUMNS if c in present]
    sums = ", ".join(f"sum(CASE WHEN {c} IS NULL THEN 1 ELSE 0 END)" for c in checked)
    counts = reader.query(
        f"SELECT {sums} FROM {reader.table('deals')} WHERE {SCAN_ID_COLUMN} = ?",
        (_scan_id(context),),
    )[0]
    nulls = {c: int(n or 0) for c, n in zip(checked, counts, strict=True)}
    return AssetCheckResult(
        passed=not missing and not any(nulls.values()),
        metadata={"null_values": nulls, "missing_columns": missing},
    )


@asset_check(
    asset=DEALS_KEY,
    blocking=True,
    description="`amount` is numeric and never negative (every value parsed as a number).",
)
@waiting_out_the_destination
def deal_amount_valid(context: AssetCheckExecutionContext) -> AssetCheckResult:
    reader = DestinationReader()
    present = reader.columns("deals")
    if "amount" not in present:
        return AssetCheckResult(passed=True, metadata={"skipped": "scan has no amount column"})
    numeric = present["amount"].upper() in NUMERIC_TYPES
    negative = unparsed = 0
    if numeric:
        negative, unparsed = reader.query(
            f"SELECT sum(CASE WHEN amount < 0 THEN 1 ELSE 0 END), "
            f"sum(CASE WHEN _unparsed LIKE '%\"amount\"%' THEN 1 ELSE 0 END) "
            f"FROM {reader.table('deals')} WHERE {SCAN_ID_COLUMN} = ?",
            (_scan_id(context),),
        )[0]
    return AssetCheckResult(
        passed=numeric and not negative and not unparsed,
        metadata={
            "column_type": present["amount"],
            "negative_amounts": int(negative or 0),
            "non_numeric_amounts": int(unparsed or 0),
        },
    )


@asset_check(
    asset=DEALS_KEY,
    description="Live deals loaded equal HubSpot's total for the scan's filters when it began "
    "(a warning: deals created or edited during a scan can move the count).",
)
@waiting_out_the_destination
def deal_count_matches_hubspot(context: AssetCheckExecutionContext) -> AssetCheckResult:
    scan_id = _scan_id(context)
    records = context.instance.fetch_materializations(
        AssetRecordsFilter(asset_key=DEALS_KEY, asset_partitions=[scan_id]), limit=1
    ).records
    meta = records[0].asset_materialization.metadata if records else {}
    expected = meta["expected_live_deals"].value if "expected_live_deals" in meta else None
    reader = DestinationReader()
    live = reader.query(
        f"SELECT count(*) FROM {reader.table('deals')} WHERE {SCAN_ID_COLUMN} = ? AND NOT archived",
        (scan_id,),
    )[0][0]
    return AssetCheckResult(
        passed=expected is not None and int(live) == int(expected),
        severity=AssetCheckSeverity.WARN,
        metadata={"live_deals_loaded": int(live), "hubspot_total": expected},
    )


scan_checks = [
    deal_ids_unique,
    deal_required_columns,
    deal_amount_valid,
    deal_count_matches_hubspot,
]
