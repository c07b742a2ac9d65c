"""lopsnb.io.validate on its own: typing raw cells and reporting every bad cell."""

from __future__ import annotations

import pandas as pd

from lopsnb.errors import Problem
from lopsnb.io.schemas import ParsedTable
from lopsnb.io.validate import MAX_PER_CHECK, parse_and_validate, problems_for_rows


def _parse(table: str, **columns: list[str]) -> tuple[pd.DataFrame, list[Problem]]:
    raw = pd.DataFrame(columns, dtype=str)
    return parse_and_validate(ParsedTable(raw, f"{table}.csv"), table)


def test_valid_cells_are_typed_and_rows_numbered() -> None:
    frame, problems = _parse("costs", program_id=["a", "a"], category=["delivery", "materials"], amount=["10", "2.5"])
    assert problems == []
    assert frame["amount"].tolist() == [10.0, 2.5] and frame["_row"].tolist() == [2, 3]
    # Optional columns the file does not have are added, blank (prorate_share defaults to 1).
    assert {"description", "prorate_share"} <= set(frame.columns)


def test_every_bad_cell_is_reported_with_row_column_found_and_expected() -> None:
    _, problems = _parse("costs", program_id=["a", "a", "b"], category=["delivery", "bogus", "delivery"], amount=["10", "x", "-1"])
    got = {(p.row, p.column, p.found) for p in problems}
    assert got == {(3, "amount", "'x'"), (3, "category", "'bogus'"), (4, "amount", "-1.0")}
    assert all(p.file == "costs.csv" for p in problems)
    by_cell = {(p.row, p.column): p.expected for p in problems}
    assert by_cell[(3, "amount")] == "a number >= 0"
    assert by_cell[(3, "category")].startswith("one of needs_assessment, design_development")


def test_missing_required_column_is_one_problem() -> None:
    _, problems = _parse("costs", program_id=["a"], category=["delivery"])
    assert [(p.row, p.column) for p in problems] == [(None, "amount")]


def test_problems_for_rows_caps_the_list_and_summarises_the_rest() -> None:
    rows = list(range(2, 2 + MAX_PER_CHECK + 5))
    out = problems_for_rows("kpis.csv", rows, "value", ["x"] * len(rows), "a number")
    assert len(out) == MAX_PER_CHECK + 1
    assert out[0] == Problem("kpis.csv", 2, "value", "'x'", "a number")
    assert out[-1].found == f"5 more rows like the above (rows {rows[MAX_PER_CHECK]}..{rows[-1]})"


def test_blank_cells_are_shown_as_blank() -> None:
    (problem,) = problems_for_rows("people.csv", [7], "person_id", [float("nan")], "an id")
    assert str(problem) == "people.csv, row 7, column 'person_id': found a blank cell; expected an id"
