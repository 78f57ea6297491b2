"""Asset checks on every scan's deals; the blocking ones stop downstream assets on bad data.

`build_scan_checks` makes them for one instance: on its deals asset, reading its destination."""

from collections.abc import Callable

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetKey,
    AssetRecordsFilter,
    asset_check,
)

from hubspot_deals.defs.names import CONTRACT_NAMES, HubSpotNames
from hubspot_deals.load.destination import when_destination_free
from hubspot_deals.load.reads import DestinationReader
from hubspot_deals.scan import ORGANIZATION_ID_COLUMN, SCAN_ID_COLUMN

# Columns every deal row must have a value in, whatever properties the scan selected.
REQUIRED_COLUMNS = ("id", "hs_object_id", "createdate", "hs_lastmodifieddate", SCAN_ID_COLUMN,
                    ORGANIZATION_ID_COLUMN)  # fmt: skip
NUMERIC_TYPES = {"DOUBLE", "DOUBLE PRECISION", "REAL", "FLOAT", "NUMERIC", "DECIMAL"}


def _scan_id(context: AssetCheckExecutionContext) -> str:
    return context.partition_key


Check = Callable[[AssetCheckExecutionContext, DestinationReader, AssetKey], AssetCheckResult]


def deal_ids_unique(
    context: AssetCheckExecutionContext, reader: DestinationReader, deals_key: AssetKey
) -> AssetCheckResult:
    """Deal ids are unique within the scan."""
    rows, distinct = reader.query(
        f"SELECT count(*), count(DISTINCT id) FROM {reader.table('deals')} "
        f"WHERE {SCAN_ID_COLUMN} = ?",
        (_scan_id(context),),
    )[0]
    return AssetCheckResult(
        passed=rows == distinct,
        metadata={"rows": int(rows), "distinct_ids": int(distinct), "duplicates": rows - distinct},
    )


def deal_required_columns(
    context: AssetCheckExecutionContext, reader: DestinationReader, deals_key: AssetKey
) -> AssetCheckResult:
    """Required columns (id, hs_object_id, createdate, hs_lastmodifieddate, scan and
    organization ids) have a value in every row."""
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


def deal_amount_valid(
    context: AssetCheckExecutionContext, reader: DestinationReader, deals_key: AssetKey
) -> AssetCheckResult:
    """`amount` is numeric and never negative (every value parsed as a number)."""
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


def deal_count_matches_hubspot(
    context: AssetCheckExecutionContext, reader: DestinationReader, deals_key: AssetKey
) -> AssetCheckResult:
    """Live deals loaded equal HubSpot's total for the scan's filters when it began (a warning:
    deals created or edited during a scan can move the count)."""
    scan_id = _scan_id(context)
    records = context.instance.fetch_materializations(
        AssetRecordsFilter(asset_key=deals_key, asset_partitions=[scan_id]), limit=1
    ).records
    meta = records[0].asset_materialization.metadata if records else {}
    expected = meta["expected_live_deals"].value if "expected_live_deals" in meta else None
    live = reader.query(
        f"SELECT count(*) FROM {reader.table('deals')} WHERE {SCAN_ID_COLUMN} = ? AND NOT archived",
        (scan_id,),
    )[0][0]
    return AssetCheckResult(
        passed=expected is not None and int(live) == int(expected),
        severity=AssetCheckSeverity.WARN,
        metadata={"live_deals_loaded": int(live), "hubspot_total": expected},
    )


# The checks, and whether each blocks the assets downstream (the summary) when it fails.
CHECKS: tuple[tuple[Check, bool], ...] = (
    (deal_ids_unique, True),
    (deal_required_columns, True),
    (deal_amount_valid, True),
    (deal_count_matches_hubspot, False),
)


def build_scan_checks(names: HubSpotNames = CONTRACT_NAMES) -> list[AssetChecksDefinition]:
    """The checks of one instance's deals, reading its destination resource. Each reads the
    destination as the scan writes it: an unavailable destination is waited out
    (HUBSPOT_DEALS_DESTINATION_PATIENCE_SECONDS), not a failed check."""
    return [_asset_check(check, blocking, names) for check, blocking in CHECKS]


def _asset_check(check: Check, blocking: bool, names: HubSpotNames) -> AssetChecksDefinition:
    @asset_check(
        asset=names.deals_key,
        name=check.__name__,
        blocking=blocking,
        description=" ".join((check.__doc__ or "").split()),
        required_resource_keys={names.destination_resource},
    )
    def patient_check(context: AssetCheckExecutionContext) -> AssetCheckResult:
        destination = getattr(context.resources, names.destination_resource)
        reader = DestinationReader(destination.settings())
        return when_destination_free(
            lambda: check(context, reader, names.deals_key), context.log.warning
        )

    return patient_check
