"""One owner per rule: names both sides of the house must agree on are spelled once, by their
owner, and imported everywhere else (a second spelling drifts apart unnoticed)."""

import ast
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PRODUCT_PACKAGES = ("hubspot_deals", "api_shim")


def _docstrings(tree: ast.AST) -> set[int]:
    """ids of the docstring constants of the module, its classes and functions."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def lines_spelling(word: str, source: str, whole_string: bool = False) -> list[int]:
    """Lines of the strings in `source` (f-string parts too, not docstrings) that contain
    `word` as a whole identifier (SQL text, dict keys, labels), or are `word` itself."""
    inside = rf"(?<![A-Za-z0-9_]){re.escape(word)}(?![A-Za-z0-9_])"
    pattern = re.compile(rf"^{re.escape(word)}$" if whole_string else inside)
    tree = ast.parse(source)
    docstrings = _docstrings(tree)
    return sorted(
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings
        and pattern.search(node.value)
    )


def spelled_in_strings(word: str, owners: set[str], whole_string: bool = False) -> list[str]:
    """`path:line` of every string of product code outside the owner modules that spells
    `word`."""
    hits = []
    for package in PRODUCT_PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            relative = path.relative_to(REPO).as_posix()
            if relative not in owners:
                lines = lines_spelling(word, path.read_text(), whole_string)
                hits += [f"{relative}:{n}" for n in lines]
    return hits


@pytest.mark.parametrize("column", ["_scan_id", "_organization_id"])
def test_the_scan_columns_are_spelled_only_by_the_contract(column: str) -> None:
    """SQL, keys and checks use the contract's `SCAN_ID_COLUMN` / `ORGANIZATION_ID_COLUMN`."""
    assert spelled_in_strings(column, {"hubspot_deals/scan.py"}) == []


def test_the_failure_labels_are_spelled_only_by_the_failed_run_reader() -> None:
    """A scan failure's metadata labels are `run_failure.CATEGORY_LABEL` / `TRANSIENT_LABEL`:
    the load layer writes them, the resume sensor and the shim read them through there."""
    owner = {"hubspot_deals/run_failure.py"}
    assert spelled_in_strings("error_category", owner) == []
    # "transient" is also an English word in descriptions: a label is the whole string.
    assert spelled_in_strings("transient", owner, whole_string=True) == []


def test_the_guard_finds_a_spelled_column_in_sql_but_not_in_a_docstring() -> None:
    source = (
        '"""Pages by `(_scan_id, key)`."""\n'
        'sql = f"SELECT 1 FROM {t} WHERE _scan_id = %s"\n'
        "exclude_scan_id = 'x'\n"
        "key = '_scan_id'\n"
    )
    assert lines_spelling("_scan_id", source) == [2, 4]
