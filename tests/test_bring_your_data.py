"""docs/bring-your-data.md works as written: every ``bash`` block, in order, in a fresh folder.

The folder holds what a clone has at the paths the page uses
(``tests/fixtures/intake``), and a ``lopsnb`` command on the PATH that runs
this checkout's lopsnb with this interpreter.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path


ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "bring-your-data.md"


def _bash_blocks(text: str) -> list[str]:
    return re.findall(r"^```bash\n(.*?)^```", text, re.M | re.S)


def test_the_page_has_the_steps() -> None:
    blocks = _bash_blocks(DOC.read_text(encoding="utf-8"))
    assert blocks[0].strip() == "lopsnb init northwind"
    assert any(b.strip().startswith("lopsnb validate") for b in blocks) and blocks[-1].strip().startswith("lopsnb run")


def test_the_shown_export_lines_are_the_fixture_lines() -> None:
    text = DOC.read_text(encoding="utf-8")
    shown = re.search(r"head -3 northwind/exports/moodle_completion.csv\n```\n\n```text\n(.*?)```", text, re.S)
    assert shown is not None
    lines = (ROOT / "tests" / "fixtures" / "intake" / "moodle_completion.csv").read_text(encoding="utf-8").splitlines()[:3]
    assert shown.group(1).splitlines() == lines


def test_the_walk_through_works_as_written(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "tests" / "fixtures" / "intake", tmp_path / "tests" / "fixtures" / "intake")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "lopsnb"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m lopsnb.cli "$@"\n', encoding="utf-8")
    shim.chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg"}
    outputs = []
    for block in _bash_blocks(DOC.read_text(encoding="utf-8")):
        done = subprocess.run(["bash", "-euo", "pipefail", "-c", block], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
        assert done.returncode == 0, f"{block}\n--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"
        outputs.append(done.stdout)
    validate = next(o for o, b in zip(outputs, _bash_blocks(DOC.read_text(encoding="utf-8")), strict=True) if b.startswith("lopsnb validate"))
    assert "Workspace is valid." in validate
    assert "enrollments: 28 of 29 rows matched people.email" in validate and "1 row(s) dropped (unmatched: drop)" in validate
    report = tmp_path / "northwind-reports" / "index.html"
    assert report.is_file()
    program_page = tmp_path / "northwind-reports" / "cs-essentials" / "report.html"
    assert "left out: their identifier matched no person" in program_page.read_text(encoding="utf-8")
