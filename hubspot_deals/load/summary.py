"""A scan's deal summary: counts and amounts of its live deals, by pipeline and by stage."""

from typing import Any

from hubspot_deals.load.reads import DestinationReader
from hubspot_deals.scan import SCAN_ID_COLUMN


def deal_summary(reader: DestinationReader, scan_id: str) -> dict[str, Any]:
    """The figures of deals-etl-api.md's `results_summary` and `summary`, for one scan."""
    deals = reader.table("deals")
    columns = reader.columns("deals")
    amount = "amount" if "amount" in columns else "NULL"
    live = f"{SCAN_ID_COLUMN} = ? AND NOT archived"
    total, value, avg, low, high = reader.query(
        f"SELECT count(*), sum({amount}), avg({amount}), min({amount}), max({amount}) "
        f"FROM {deals} WHERE {live}",
        (scan_id,),
    )[0]
    archived = reader.query(
        f"SELECT count(*) FROM {deals} WHERE {SCAN_ID_COLUMN} = ? AND archived", (scan_id,)
    )[0][0]

    def counts(column: str) -> dict[str, int]:
        if column not in columns:
            return {}
        rows = reader.query(
            f"SELECT {column}, count(*) FROM {deals} WHERE {live} GROUP BY {column} "
            f"ORDER BY count(*) DESC, {column}",
            (scan_id,),
        )
        return {str(key) if key is not None else "(none)": int(n) for key, n in rows}

    def money(x: Any) -> float | None:
        return None if x is None else round(float(x), 2)

    return {
        "total_deals": int(total),
        "archived_deals": int(archived),
        "total_value": money(value) if value is not None else 0.0,
        "avg_deal_value": money(avg),
        "min_value": money(low),
        "max_value": money(high),
        "pipelines": counts("pipeline"),
        "stages": counts("dealstage"),
    }
