"""Helpers for tests of bad input files: a small workspace and one assertion.

``assert_refused`` checks one bad input twice, as a user meets it: through
``lopsnb validate`` (exit status, message on stderr) and through
``load_workspace`` (a LopsnbError whose structured problem names the file,
the row or line, the column or field, what was found and what was expected),
and that loading left nothing behind in the workspace.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from conftest import PROGRAM_YML, small_tables
from lopsnb.cli import main
from lopsnb.errors import LopsnbError, Problem
from lopsnb.io.workspace import load_workspace

__all__ = ["assert_refused", "tree", "workspace"]


def workspace(root: Path, *, program: str = PROGRAM_YML, **skip: bool) -> Path:
    """Write the small valid workspace (CSV tables, programs/demo.yml) under ``root``.

    ``skip`` names tables to leave out (``kpis=False``).
    """
    (root / "programs").mkdir(parents=True)
    for name, frame in small_tables().items():
        if skip.get(name, True):
            frame.to_csv(root / f"{name}.csv", index=False)
    (root / "programs" / "demo.yml").write_text(textwrap.dedent(program), encoding="utf-8")
    return root


def tree(root: Path) -> list[str]:
    """Every path under ``root`` (to show that loading wrote nothing)."""
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def assert_refused(
    root: Path,
    capsys: pytest.CaptureFixture[str],
    *,
    file: str,
    row: int | None,
    column: str | None,
    found: str,
    expected: str,
) -> Problem:
    """Assert that validating ``root`` fails with the described problem, both ways.

    ``file`` is the file's name; ``found`` and ``expected`` are substrings of
    the problem's fields. Returns the matching problem.
    """
    before = tree(root.parent)
    status = main(["validate", str(root)])
    err = capsys.readouterr().err
    assert status != 0
    assert "Traceback" not in err
    for text in (file, found, expected):
        assert text in err, f"{text!r} not in: {err}"
    if row is not None:
        assert f"row {row}" in err or f"line {row}" in err, err
    if column is not None:
        assert f"'{column}'" in err, err
    with pytest.raises(LopsnbError) as info:
        load_workspace(root)
    problems = getattr(info.value, "problems", [])
    hits = [
        p
        for p in problems
        if Path(p.file).name == file and p.row == row and p.column == column and found in p.found and expected in p.expected
    ]
    assert hits, f"no problem ({file}, {row}, {column}, {found!r}, {expected!r}) in {problems}"
    assert tree(root.parent) == before, "loading wrote files"
    return hits[0]
