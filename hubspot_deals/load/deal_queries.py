"""Deals of one scan filtered by stage and pipeline, sorted, paged, with amount figures: the
SQL both destinations run for the ETL surface's results (only the table reference and the
parameter style differ). A filter or sort on a property the scan did not extract is a
`MissingDealProperty`, which the REST layer answers as a 400 naming the field."""

from dataclasses import dataclass
from typing import Any

from hubspot_deals.load.names import quote

SORT_FIELDS = ("closedate", "amount", "createdate")
DEFAULT_SORT = "closedate"
AMOUNT = "amount"


class MissingDealProperty(ValueError):
    """The query filters or sorts (`field`) on a deal property (`column`) the scan lacks."""

    def __init__(self, field: str, column: str) -> None:
        super().__init__(f"This scan did not extract the deal property '{column}'")
        self.field = field
        self.column = column


@dataclass(frozen=True)
class DealQuery:
    stage: str | None = None
    pipeline: str | None = None
    sort_by: str | None = None  # None: closedate when the scan has it, else the deal id
    descending: bool = False
    limit: int = 100
    offset: int = 0


@dataclass
class DealRows:
    records: list[dict[str, Any]]
    total: int
    total_value: float
    avg_value: float | None
    min_value: float | None
    max_value: float | None
    sort_by: str | None = None  # the column sorted on (None: the deal id)


def _money(value: Any) -> float | None:
    return None if value is None else round(float(value), 2)


@dataclass(frozen=True)
class DealSql:
    """The page and figures queries for `query` over a table with `columns`."""

    page: str
    page_params: list[Any]
    figures: str
    figures_params: list[Any]
    sort_by: str | None

    @classmethod
    def build(
        cls,
        query: DealQuery,
        columns: list[str],
        table: str,
        scope: tuple[str, list[Any]],
        tiebreak: str,
        placeholder: str,
    ) -> "DealSql":
        """`scope` restricts `table` to the scan (SQL, params); `tiebreak` orders equal rows."""
        where, params = [scope[0]] if scope[0] else [], list(scope[1])
        for field, column, value in (
            ("filter_stage", "dealstage", query.stage),
            ("filter_pipeline", "pipeline", query.pipeline),
        ):
            if value is None:
                continue
            if column not in columns:
                raise MissingDealProperty(field, column)
            where.append(f"{quote(column)} = {placeholder}")
            params.append(value)
        sort = query.sort_by
        if sort is not None and sort not in columns:
            raise MissingDealProperty("sort_by", sort)
        if sort is None and DEFAULT_SORT in columns:
            sort = DEFAULT_SORT
        direction = "DESC" if query.descending else "ASC"
        order = f"{quote(sort)} {direction} NULLS LAST, " if sort else ""
        condition = f"WHERE {' AND '.join(where)}" if where else ""
        select = ", ".join(quote(c) for c in columns)
        page = (
            f"SELECT {select} FROM {table} {condition} ORDER BY {order}{tiebreak} "
            f"LIMIT {placeholder} OFFSET {placeholder}"
        )
        amount = quote(AMOUNT) if AMOUNT in columns else "NULL"
        figures = (
            f"SELECT count(*), sum({amount}), avg({amount}), min({amount}), max({amount}) "
            f"FROM {table} {condition}"
        )
        return cls(page, [*params, query.limit, query.offset], figures, params, sort)

    def rows(self, records: list[dict[str, Any]], figures: tuple[Any, ...]) -> DealRows:
        count, total, avg, low, high = figures
        return DealRows(
            records,
            int(count),
            _money(total) or 0.0,
            _money(avg),
            _money(low),
            _money(high),
            self.sort_by,
        )
