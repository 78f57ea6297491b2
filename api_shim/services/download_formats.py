"""The download formats: a scan's table as JSON, CSV or an Excel workbook.

JSON and CSV are produced batch by batch while the rows are read, so a download starts at once
and its memory does not grow with the table. An xlsx file is a zip whose parts are assembled
only when the workbook is closed, so it is written to a temporary file first (xlsxwriter's
`constant_memory` mode: one row in memory at a time) and then sent from that file.

Values are the same typed JSON values as in `/result`: numbers, booleans, ISO 8601 UTC
timestamps with `Z`, `YYYY-MM-DD` dates, JSON columns as objects (as JSON text in CSV and
xlsx), and null (an empty cell).
"""

import csv
import io
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import xlsxwriter

from api_shim.destination import TableExport
from api_shim.errors import BadRequest

# Excel's sheet limits: rows including the header row, and characters in one cell.
EXCEL_MAX_ROWS = 1_048_576
EXCEL_MAX_COLUMNS = 16_384
EXCEL_MAX_CELL_CHARS = 32_767

# A cell starting with one of these is read as a formula by Excel, LibreOffice and Google
# Sheets (OWASP, "CSV Injection").
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
# ...except a plain number such as -5 or +1.5e3, which a spreadsheet reads as that number.
PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")

CSV_CHUNK_BYTES = 256 * 1024


@dataclass(frozen=True)
class DownloadFormat:
    name: str
    media_type: str
    extension: str


FORMATS = {
    "json": DownloadFormat("json", "application/json", "json"),
    "csv": DownloadFormat("csv", "text/csv; charset=utf-8", "csv"),
    "excel": DownloadFormat(
        "excel", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"
    ),
}


class ExcelLimitExceeded(BadRequest):
    """400: the table does not fit in an Excel sheet; CSV or JSON has no such limit."""


def neutralize_formula(text: str) -> str:
    """A text cell made inert for spreadsheet apps: a leading `'` when it starts like a formula
    (`=`, `+`, `-`, `@`, tab, carriage return) and is not a plain number."""
    if text.startswith(FORMULA_TRIGGERS) and not PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


def csv_cell(value: Any) -> str:
    """One value as CSV text: numbers and booleans as JSON writes them, JSON as compact JSON,
    null as an empty cell, text made safe from formula injection."""
    if value is None:
        return ""
    if isinstance(value, str):
        return neutralize_formula(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return orjson.dumps(value).decode()


def csv_chunks(export: TableExport) -> Iterator[bytes]:
    """RFC 4180 CSV (CRLF line ends, fields with commas, quotes or newlines quoted), UTF-8
    with a byte-order mark so that Excel reads it as UTF-8; a header row of column names."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(export.columns)
    yield b"\xef\xbb\xbf" + buffer.getvalue().encode()
    buffer.seek(0)
    buffer.truncate()
    for rows in export.batches():
        writer.writerows([csv_cell(v) for v in row] for row in rows)
        if buffer.tell() >= CSV_CHUNK_BYTES:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode()


def json_chunks(scan_id: str, export: TableExport) -> Iterator[bytes]:
    """`{"scanId", "tableName", "columns", "totalRecords", "records": [...]}`, indented, one
    record per line."""
    head = orjson.dumps(
        {
            "scanId": scan_id,
            "tableName": export.name,
            "columns": export.columns,
            "totalRecords": export.row_count,
        },
        option=orjson.OPT_INDENT_2,
    )
    yield head[:-2] + b',\n  "records": ['
    first = True
    for rows in export.batches():
        lines = [orjson.dumps(dict(zip(export.columns, row, strict=True))) for row in rows]
        if not lines:
            continue
        yield (b"\n    " if first else b",\n    ") + b",\n    ".join(lines)
        first = False
    yield b"]\n}\n" if first else b"\n  ]\n}\n"


def check_fits_excel(export: TableExport) -> None:
    if export.row_count + 1 > EXCEL_MAX_ROWS:
        raise ExcelLimitExceeded(
            f"Table '{export.name}' has {export.row_count:,} rows; an Excel sheet holds at most "
            f"{EXCEL_MAX_ROWS - 1:,} below its header row. Download it as csv or json instead."
        )
    if len(export.columns) > EXCEL_MAX_COLUMNS:
        raise ExcelLimitExceeded(
            f"Table '{export.name}' has {len(export.columns):,} columns; an Excel sheet holds at "
            f"most {EXCEL_MAX_COLUMNS:,}. Download it as csv or json instead."
        )


def write_xlsx(export: TableExport, path: Path) -> None:
    """The table as one sheet named after it: a header row, then numbers as numbers, booleans
    as booleans, everything else as text cells (never formulas)."""
    check_fits_excel(export)
    workbook = xlsxwriter.Workbook(
        str(path),
        {
            "constant_memory": True,
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
        },
    )
    try:
        sheet = workbook.add_worksheet(export.name[:31])
        for col, name in enumerate(export.columns):
            sheet.write_string(0, col, name)
        row_number = 0
        for rows in export.batches():
            for row in rows:
                row_number += 1
                for col, value in enumerate(row):
                    _write_cell(sheet, row_number, col, value, export)
    finally:
        workbook.close()


def _write_cell(sheet: Any, row: int, col: int, value: Any, export: TableExport) -> None:
    if value is None:
        return
    if isinstance(value, bool):
        sheet.write_boolean(row, col, value)
    elif isinstance(value, int | float) and math.isfinite(value):
        sheet.write_number(row, col, value)
    else:
        text = value if isinstance(value, str) else orjson.dumps(value).decode()
        if len(text) > EXCEL_MAX_CELL_CHARS:
            raise ExcelLimitExceeded(
                f"Table '{export.name}', row {row:,}, column '{export.columns[col]}' holds "
                f"{len(text):,} characters; an Excel cell holds at most {EXCEL_MAX_CELL_CHARS:,}. "
                "Download it as csv or json instead."
            )
        sheet.write_string(row, col, text)
