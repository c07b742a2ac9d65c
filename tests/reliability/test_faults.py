"""Faults the batch runner must survive (beyond tests/runner/test_batch.py): a kernel that dies,
and Ctrl-C followed by a rerun that completes.

A tiny notebook stands in for the impact report (see tests/runner/nbfactory.py):
``dier`` calls ``os._exit`` inside a cell (the kernel process dies), ``boom``
raises, ``sleepy`` sleeps while the file ``SLEEP`` exists in its workspace.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from conftest import small_tables
from runner.nbfactory import PARAMS, PLOT, RESULTS
from security.kit import ROOT, leftovers, needs_kernel, program_yml, run, write_workspace

BODY = '''\
import json, os, sys, time
from pathlib import Path
import yaml
prog = yaml.safe_load((Path(workspace) / "programs" / f"{program_id}.yml").read_text())
if program_id == "boom":
    raise ValueError("planned failure in boom")
if program_id == "dier":
    sys.stdout.flush()
    os._exit(3)
if program_id == "sleepy":
    while (Path(workspace) / "SLEEP").exists():
        time.sleep(0.2)
'''


def _notebook(path: Path) -> Path:
    nb = new_notebook()
    params = new_code_cell(PARAMS)
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, new_markdown_cell("## Overview"), new_code_cell(BODY), new_code_cell(PLOT), new_code_cell(RESULTS)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, str(path))
    return path


def _workspace(root: Path, pids: list[str]) -> Path:
    # small_tables() enrols people in "demo": it is always one of the programs.
    return write_workspace(root, dict(small_tables()), {pid: program_yml(pid) for pid in ["demo", *pids]})


def _status(out: Path, pid: str) -> dict:
    return json.loads((out / pid / "status.json").read_text(encoding="utf-8"))


def _complete(out: Path, pid: str) -> None:
    """A program folder is whole: an ok report with its results, or a failure page with a failed status."""
    files = sorted(p.name for p in (out / pid).iterdir() if p.name != ".lopsnb-output")
    st = _status(out, pid)
    if st["status"] == "ok":
        assert files == ["report.html", "report.ipynb", "results.json", "status.json"], files
        json.loads((out / pid / "results.json").read_text())
    else:
        assert "results.json" not in files and "report.html" in files
        assert "could not be produced" in (out / pid / "report.html").read_text(encoding="utf-8")


@needs_kernel
def test_kernel_death_fails_only_its_program(tmp_path: Path) -> None:
    ws = _workspace(tmp_path / "ws", ["alpha", "dier", "boom"])
    out = tmp_path / "out"
    result = run(ws, out, notebook=_notebook(tmp_path / "nb.ipynb"), timeout=60)
    by_id = {p.program_id: p for p in result.programs}
    assert {p: o.status for p, o in by_id.items()} == {"alpha": "ok", "boom": "failed", "demo": "ok", "dier": "failed"}
    assert by_id["dier"].error_type == "DeadKernelError", by_id["dier"]
    assert by_id["boom"].error_type == "ValueError"
    page = (out / "dier" / "report.html").read_text(encoding="utf-8")
    assert "kernel died" in page
    for pid in by_id:
        _complete(out, pid)
    assert leftovers(out) == [] and result.exit_code == 1


def _running(psutil, pid: int) -> bool:  # noqa: ANN001 - the psutil module
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@needs_kernel
def test_rerun_after_ctrl_c_completes(tmp_path: Path) -> None:
    psutil = pytest.importorskip("psutil")
    ws = _workspace(tmp_path / "ws", ["alpha", "sleepy"])
    (ws / "SLEEP").touch()
    nb = _notebook(tmp_path / "nb.ipynb")
    out = tmp_path / "out"
    script = tmp_path / "run.py"
    script.write_text(
        "import signal; signal.signal(signal.SIGINT, signal.default_int_handler)\n"
        "from lopsnb.runner import run_batch\n"
        "if __name__ == '__main__':\n"
        f"    run_batch({str(ws)!r}, out={str(out)!r}, notebook={str(nb)!r}, workers=2, timeout=120, progress=False)\n"
    )
    proc = subprocess.Popen([sys.executable, str(script)], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, stderr=subprocess.PIPE)
    # A generous bound, not a timing claim: kernels start slowly on a loaded machine.
    deadline = time.monotonic() + 240
    # alpha done and sleepy running: a batch caught in the middle
    while time.monotonic() < deadline and not ((out / "alpha" / "status.json").is_file() and list(out.glob(".lopsnb-tmp-*/work-sleepy"))):
        time.sleep(0.2)
    assert (out / "alpha" / "status.json").is_file(), "the batch did not get going"
    time.sleep(1.0)
    children = [p.pid for p in psutil.Process(proc.pid).children(recursive=True)]
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode != 0 and b"interrupted: " in err
    # nothing half-written: alpha whole, sleepy absent, no temporary files, no orphan kernels
    _complete(out, "alpha")
    assert not (out / "sleepy").exists() and leftovers(out) == []
    # Within a few seconds (the resource tracker exits by itself once its clients are gone).
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and [p for p in children if _running(psutil, p)]:
        time.sleep(0.2)
    assert [p for p in children if _running(psutil, p)] == []

    (ws / "SLEEP").unlink()
    again = run(ws, out, notebook=nb, timeout=120)
    statuses = {p.program_id: p.status for p in again.programs}
    assert statuses["alpha"] == "skipped" and statuses["sleepy"] == "ok" and statuses["demo"] in ("ok", "skipped"), statuses
    assert again.exit_code == 0
    for pid in ("alpha", "demo", "sleepy"):
        _complete(out, pid)
        assert _status(out, pid)["status"] == "ok"
    index = (out / "index.html").read_text(encoding="utf-8")
    assert all(f'href="{pid}/report.html"' in index for pid in ("alpha", "demo", "sleepy"))
    assert leftovers(out) == []
