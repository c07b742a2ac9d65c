"""Two runs on the same inputs give the same bytes: results.json identical, report and index identical but for the generation time."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from security.kit import generated_at_free, kernel_available, run, security_workspace

PROGRAMS = ["privacy-demo", "inject"]


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    if not kernel_available():
        pytest.skip("no Jupyter kernelspec named python3 (run `make install`)")
    base = tmp_path_factory.mktemp("determinism")
    ws = security_workspace(base / "ws")
    first, second = base / "first", base / "second"
    for out in (first, second):
        result = run(ws, out, programs=PROGRAMS)
        assert result.failed == 0, result.summary()
    return first, second


@pytest.mark.parametrize("pid", PROGRAMS)
def test_results_json_is_byte_identical(two_runs: tuple[Path, Path], pid: str) -> None:
    first, second = two_runs
    a, b = (out / pid / "results.json" for out in (first, second))
    assert a.read_bytes() == b.read_bytes()
    # Both programs have 6 participants: insufficient evidence, so the ROI (and its Monte Carlo
    # interval) is withheld; the recorded decision is part of what is compared.
    assert b'"decision"' in a.read_bytes() and b'"not claimed: not enough evidence to decide' in a.read_bytes()


@pytest.mark.parametrize("pid", PROGRAMS)
def test_report_html_differs_only_in_generation_time(two_runs: tuple[Path, Path], pid: str) -> None:
    first, second = two_runs
    a, b = ((out / pid / "report.html").read_text(encoding="utf-8") for out in (first, second))
    assert "data:image/png;base64," in a  # figures are compared too, byte for byte
    stamps = re.findall(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", a)
    assert stamps, "the report shows when it was generated"
    assert generated_at_free(a) == generated_at_free(b)
    # Only the generated-at field was normalised: no other timestamp remains to hide a difference.
    assert re.findall(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", generated_at_free(a)) == []


def test_index_and_csv_are_stable(two_runs: tuple[Path, Path]) -> None:
    first, second = two_runs
    assert (first / "portfolio.csv").read_bytes() == (second / "portfolio.csv").read_bytes()
    a, b = ((out / "index.html").read_text(encoding="utf-8") for out in (first, second))
    assert generated_at_free(a) == generated_at_free(b)
