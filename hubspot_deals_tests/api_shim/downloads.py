"""Checks that a scan's table downloaded in each format equals its rows in the destination."""

import csv
import io
import json
import re
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import openpyxl
import requests
from openpyxl.utils.escape import unescape

from hubspot_deals_tests.api_shim.conftest import Shim

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def download(shim: Shim, scan_id: str, fmt: str, table: str) -> requests.Response:
    response = shim.get(f"/results/{scan_id}/download/{fmt}", params={"tableName": table})
    assert response.status_code == 200, response.text
    extension = {"json": "json", "csv": "csv", "excel": "xlsx"}[fmt]
    assert response.headers["content-disposition"] == (
        f'attachment; filename="{scan_id}-{table}.{extension}"'
    )
    return response


def assert_formats_equal(
    shim: Shim, scan_id: str, table: str, body: dict[str, Any], rows: list, types: list[str]
) -> None:
    """The JSON download's `body`, then the CSV and xlsx downloads, against the table's `rows`
    as the database returns them (in the download's column order; `types`: each column's
    type, `JSON` for JSON text)."""
    columns = body["columns"]
    for record, row in zip(body["records"], rows, strict=True):
        assert list(record) == columns
        for name, db_type, expected in zip(columns, types, row, strict=True):
            assert same_json_value(expected, db_type, record[name]), (name, expected, record)

    as_csv = download(shim, scan_id, "csv", table)
    assert as_csv.headers["content-type"] == "text/csv; charset=utf-8"
    assert as_csv.content.startswith(b"\xef\xbb\xbf")
    parsed = list(csv.reader(io.StringIO(as_csv.content.decode("utf-8-sig"), newline="")))
    assert parsed[0] == columns
    assert len(parsed) == len(rows) + 1
    for cells, row in zip(parsed[1:], rows, strict=True):
        for name, db_type, expected, cell in zip(columns, types, row, cells, strict=True):
            assert same_csv_cell(expected, db_type, cell), (name, expected, cell)

    as_xlsx = download(shim, scan_id, "excel", table)
    assert as_xlsx.headers["content-type"] == XLSX_TYPE
    assert int(as_xlsx.headers["content-length"]) == len(as_xlsx.content)
    workbook = openpyxl.load_workbook(io.BytesIO(as_xlsx.content), read_only=True)
    assert workbook.sheetnames == [table]
    sheet_rows = list(workbook[table].iter_rows(values_only=True))
    assert list(sheet_rows[0]) == columns
    assert len(sheet_rows) == len(rows) + 1
    for cells, row in zip(sheet_rows[1:], rows, strict=True):
        for name, db_type, expected, cell in zip(columns, types, row, cells, strict=True):
            assert same_xlsx_cell(expected, db_type, cell), (name, expected, cell)


def same_json_value(expected: Any, db_type: str, got: Any) -> bool:
    """A JSON download's value against the database's: typed, timestamps ISO 8601 with `Z`."""
    if expected is None:
        return got is None
    if db_type == "JSON":
        return json.loads(expected) == got
    if isinstance(expected, datetime):
        return got.endswith("Z") and datetime.fromisoformat(got) == expected
    if isinstance(expected, date):
        return date.fromisoformat(got) == expected
    if isinstance(expected, Decimal):
        return got == float(expected)
    return type(got) is type(expected) and got == expected


def expected_csv_cell(expected: Any, db_type: str) -> str | None:
    """The exact CSV text for values whose text form is fixed; None for numbers and times
    (compared by value)."""
    if expected is None:
        return ""
    if isinstance(expected, bool):
        return "true" if expected else "false"
    if isinstance(expected, str) and db_type != "JSON":
        formula = expected[:1] in ("=", "+", "-", "@", "\t", "\r")
        plain_number = formula and _is_plain_number(expected)
        return "'" + expected if formula and not plain_number else expected
    return None


def _is_plain_number(text: str) -> bool:
    return re.fullmatch(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?", text) is not None


def same_csv_cell(expected: Any, db_type: str, cell: str) -> bool:
    text = expected_csv_cell(expected, db_type)
    if text is not None:
        return cell == text
    if db_type == "JSON":
        return json.loads(cell) == json.loads(expected)
    return same_json_value(expected, db_type, _number_or_text(cell))


def _number_or_text(cell: str) -> Any:
    try:
        return int(cell)
    except ValueError:
        pass
    try:
        return float(cell)
    except ValueError:
        return cell


def same_xlsx_cell(expected: Any, db_type: str, got: Any) -> bool:
    if isinstance(got, str):
        # OOXML writes control characters as `_xHHHH_`; Excel decodes them, openpyxl does not.
        got = unescape(got)
    if expected is None:
        return got is None
    if db_type == "JSON":
        return json.loads(got) == json.loads(expected)
    if isinstance(expected, datetime | date):
        return same_json_value(expected, db_type, got)
    if isinstance(expected, bool):
        return got is expected
    if isinstance(expected, int | float | Decimal):
        return isinstance(got, int | float) and got == float(expected)
    return got == expected
