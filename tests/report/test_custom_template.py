"""``lopsnb run --template DIR``: reports rendered with a user's own copy of the template."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from lopsnb.errors import RunError
from lopsnb.report.export import TEMPLATE_DIR, TEMPLATE_NAME, make_exporter, template_location
from lopsnb.runner import run_batch
from runner.nbfactory import write_notebook
from runner.test_batch import needs_kernel

MARK = "CUSTOM-TEMPLATE-MARK-7f3a"


def _copy_template(tmp_path: Path, name: str = "house-style") -> Path:
    copy = tmp_path / "mine" / name
    shutil.copytree(TEMPLATE_DIR / TEMPLATE_NAME, copy)
    j2 = copy / "index.html.j2"
    text = j2.read_text(encoding="utf-8")
    marker = f"<p class=\"house\">{MARK}</p>"
    assert "<main" in text
    j2.write_text(text.replace("<main", marker + "\n<main", 1), encoding="utf-8")
    return copy


def test_template_location_default_and_copy(tmp_path: Path) -> None:
    assert template_location() == (TEMPLATE_DIR, TEMPLATE_NAME)
    copy = _copy_template(tmp_path)
    assert template_location(copy) == (copy.parent, "house-style")
    with pytest.raises(RunError, match="not found"):
        template_location(tmp_path / "missing")
    (copy / "conf.json").unlink()
    with pytest.raises(RunError, match="lacks conf.json"):
        template_location(copy)


def test_exporter_uses_the_copy(tmp_path: Path) -> None:
    import nbformat
    from nbformat.v4 import new_markdown_cell, new_notebook

    nb = new_notebook(cells=[new_markdown_cell("## Hello")])
    ours = make_exporter(_copy_template(tmp_path)).from_notebook_node(nb)[0]
    shipped = make_exporter().from_notebook_node(nbformat.from_dict(nb))[0]
    assert MARK in ours and MARK not in shipped


@needs_kernel
def test_batch_renders_with_the_copy_and_fingerprints_it(make_workspace, tmp_path: Path) -> None:
    ws = make_workspace()
    nb = write_notebook(tmp_path / "nb.ipynb")
    copy = _copy_template(tmp_path)
    out = tmp_path / "out"
    first = run_batch(ws, out=out, notebook=nb, workers=1, progress=False, template=copy)
    assert [o.status for o in first.programs] == ["ok"]
    assert MARK in (out / "demo" / "report.html").read_text(encoding="utf-8")
    fp = json.loads((out / "demo" / "status.json").read_text(encoding="utf-8"))["input_fingerprint"]
    # Back to the shipped template: another fingerprint, so the report is rendered again, without the mark.
    second = run_batch(ws, out=out, notebook=nb, workers=1, progress=False)
    assert [o.status for o in second.programs] == ["ok"]
    assert MARK not in (out / "demo" / "report.html").read_text(encoding="utf-8")
    assert json.loads((out / "demo" / "status.json").read_text(encoding="utf-8"))["input_fingerprint"] != fp
