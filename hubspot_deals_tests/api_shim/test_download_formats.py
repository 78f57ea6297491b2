"""The download formats on their own: formula neutralization, JSON shape, Excel's limits."""

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from api_shim.destination import TableExport
from api_shim.services.download_formats import (
    EXCEL_MAX_CELL_CHARS,
    ExcelLimitExceeded,
    csv_chunks,
    json_chunks,
    neutralize_formula,
    write_xlsx,
)


class RowsExport(TableExport):
    """Rows held in a list, in batches of two (the stores read the destination instead)."""

    def __init__(self, columns: list[str], rows: list[tuple[Any, ...]], row_count: int = -1):
        super().__init__("deals", columns, len(rows) if row_count < 0 else row_count)
        self.rows = rows
        self.closed = False

    def batches(self) -> Iterator[list[tuple[Any, ...]]]:
        for start in range(0, len(self.rows), 2):
            yield self.rows[start : start + 2]

    def close(self) -> None:
        self.closed = True


@pytest.mark.parametrize(
    ("text", "cell"),
    [
        ("=1+1", "'=1+1"),
        ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("-5", "-5"),
        ("+5", "+5"),
        ("-1.25e-3", "-1.25e-3"),
        ("-.5", "-.5"),
        ("- 5", "'- 5"),
        ("-", "'-"),
        ("Deal = 5", "Deal = 5"),
        ("'=1", "'=1"),
        ("", ""),
    ],
)
def test_formula_neutralization(text: str, cell: str) -> None:
    assert neutralize_formula(text) == cell


def test_csv_renders_typed_values() -> None:
    export = RowsExport(
        ["id", "amount", "won", "teams", "name"],
        [("1", 1234.5, True, [{"id": 7}], '=HYPERLINK("x")'), ("2", None, False, None, "a,\nb")],
    )
    body = b"".join(csv_chunks(export))
    assert body.startswith(b"\xef\xbb\xbf")
    assert list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline=""))) == [
        ["id", "amount", "won", "teams", "name"],
        ["1", "1234.5", "true", '[{"id":7}]', '\'=HYPERLINK("x")'],
        ["2", "", "false", "", "a,\nb"],
    ]


def test_json_document_with_and_without_rows() -> None:
    export = RowsExport(["id", "amount"], [("1", 1.5), ("2", None), ("3", -5.0)])
    text = b"".join(json_chunks("scan-1", export)).decode()
    assert json.loads(text) == {
        "scanId": "scan-1",
        "tableName": "deals",
        "columns": ["id", "amount"],
        "totalRecords": 3,
        "records": [
            {"id": "1", "amount": 1.5},
            {"id": "2", "amount": None},
            {"id": "3", "amount": -5.0},
        ],
    }
    assert text.splitlines()[9:12] == [
        '    {"id":"1","amount":1.5},',
        '    {"id":"2","amount":null},',
        '    {"id":"3","amount":-5.0}',
    ]
    empty = json.loads(b"".join(json_chunks("scan-1", RowsExport(["id"], []))))
    assert (empty["records"], empty["totalRecords"]) == ([], 0)


def test_xlsx_types_cells(tmp_path: Path) -> None:
    export = RowsExport(
        ["id", "amount", "won", "name"], [("1", 2.5, True, "=1+1"), ("2", None, False, "")]
    )
    write_xlsx(export, tmp_path / "out.xlsx")
    sheet = openpyxl.load_workbook(tmp_path / "out.xlsx")["deals"]
    assert [list(r) for r in sheet.iter_rows(values_only=True)] == [
        ["id", "amount", "won", "name"],
        ["1", 2.5, True, "=1+1"],
        ["2", None, False, ""],
    ]
    assert sheet["D2"].data_type == "s"  # text, never a formula


def test_xlsx_refuses_more_rows_than_a_sheet_holds(tmp_path: Path) -> None:
    fits = RowsExport(["id"], [], row_count=1_048_575)
    too_many = RowsExport(["id"], [], row_count=1_048_576)
    write_xlsx(fits, tmp_path / "fits.xlsx")
    with pytest.raises(ExcelLimitExceeded) as info:
        write_xlsx(too_many, tmp_path / "too_many.xlsx")
    assert info.value.status_code == 400
    assert info.value.message == (
        "Table 'deals' has 1,048,576 rows; an Excel sheet holds at most 1,048,575 below its "
        "header row. Download it as csv or json instead."
    )


def test_xlsx_refuses_a_cell_longer_than_excel_holds(tmp_path: Path) -> None:
    export = RowsExport(["id", "notes"], [("1", "x" * EXCEL_MAX_CELL_CHARS), ("2", "y" * 40_000)])
    with pytest.raises(ExcelLimitExceeded) as info:
        write_xlsx(export, tmp_path / "long.xlsx")
    assert info.value.message == (
        "Table 'deals', row 2, column 'notes' holds 40,000 characters; an Excel cell holds at "
        "most 32,767. Download it as csv or json instead."
    )
