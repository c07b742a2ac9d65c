"""The validation page's cases (lopsnb.report.validation) are all within tolerance.

The published values, their sources and tolerances live once, in
``lopsnb.report.validation.CASES``; ``notebooks/validation.ipynb`` shows the
same frame, so the page and this test cannot drift apart.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
import pytest

from lopsnb.report import validation as v

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return v.validation_frame(ROOT)


def test_every_published_case_is_within_tolerance(frame: pd.DataFrame) -> None:
    bad = frame[frame["status"] != v.STATUS_OK]
    assert bad.empty, bad[["case", "quantity", "published", "lopsnb", "difference", "tolerance", "status"]].to_string()
    assert frame["within_tolerance"].all() and frame["lopsnb"].notna().all()
    assert len(frame) == len(v.CASES)


def test_required_examples_are_covered(frame: pd.DataFrame) -> None:
    cases = set(frame["case"])
    for needle in ("DRDID NSW-CPS", "did mpdta, xformla = ~lpop", "did mpdta aggregations", "sensemakr Darfur",
                   "HonestDiD Medicaid (relative", "pretrends", "Cox model Rossi", "Phillips ROI"):
        assert any(c.startswith(needle) for c in cases), needle
    q = dict(zip(frame["quantity"], frame["lopsnb"]))
    assert round(q["BCR, benefits $1,077,321 / fully-loaded costs $754,165"], 2) == 1.43
    assert round(q["ROI %, same example"], 1) == 42.8
    # Each source is cited and each interval case reports a coverage in (0, 1].
    assert frame["source"].str.len().min() > 40
    cov = frame.loc[frame["published_ci_low"].notna(), "interval_coverage"]
    assert len(cov) >= 10 and ((cov > 0.5) & (cov <= 1)).all()


def test_interval_coverage_definition() -> None:
    assert v.interval_coverage((0.0, 1.0), (0.0, 1.0)) == 1.0
    assert v.interval_coverage((0.0, 1.0), (0.5, 1.5)) == pytest.approx(0.5 / 1.5)
    assert v.interval_coverage((0.0, 1.0), (2.0, 3.0)) == 0.0
    assert v.interval_coverage(None, (0.0, 1.0)) is None


def test_a_wrong_published_value_is_reported_outside_tolerance() -> None:
    case = next(c for c in v.CASES if c.quantity.startswith("BCR"))
    off = dataclasses.replace(case, published=case.published + 3 * case.tolerance)
    out = v.validation_frame(ROOT, cases=[case, off])
    assert list(out["status"]) == [v.STATUS_OK, v.STATUS_OUTSIDE]
    assert list(out["within_tolerance"]) == [True, False]


def test_missing_data_is_skipped_with_a_visible_note(tmp_path: Path) -> None:
    cases = [c for c in v.CASES if c.case == "DRDID NSW-CPS"][:1] + [c for c in v.CASES if c.case == "Phillips ROI arithmetic"][:1]
    out = v.validation_frame(tmp_path, cases=cases)
    assert list(out["status"]) == [v.STATUS_SKIPPED, v.STATUS_OK]
    assert "tests/data/nsw_cps_5000.csv not found" in out["note"].iloc[0]
    assert pd.isna(out["lopsnb"].iloc[0]) and out["within_tolerance"].iloc[0] is None
    md = v.to_markdown(out)
    assert "skipped (data not found)" in md and md.count("\n| ") == 3  # header rule + 2 rows


def test_repository_is_found_from_the_notebooks_folder() -> None:
    assert v.find_repository(ROOT / "notebooks") == ROOT


def test_write_markdown_is_a_table_of_every_case(tmp_path: Path, frame: pd.DataFrame) -> None:
    path = v.write_markdown(frame, tmp_path / "validation.md")
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# Validation against published examples")
    assert f"{len(frame)} of {len(frame)} published numbers reproduced within tolerance" in text
    assert text.count("| yes |") == len(frame)
    assert "Cinelli & Hazlett (2020)" in text and list(tmp_path.iterdir()) == [path]
