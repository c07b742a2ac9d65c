"""Ctrl-C and SIGKILL of ``lopsnb run`` (issue 12, items 1 and 9).

``lopsnb run`` runs in its own session, as in a terminal, with two workers:
``demo`` finishes, ``sleepy`` sleeps in its kernel (see tests/runner/nbfactory.py).
Ctrl-C reaches the whole process group (the terminal sends it to every
process of the foreground job); SIGKILL reaches only the batch process, and
its workers, kernels and resource tracker must notice and go.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lopsnb.runner import run_batch
from lopsnb.runner.outdir import TMP_PREFIX
from runner.nbfactory import write_notebook
from runner.test_batch import add_program, leftovers, needs_kernel

psutil = pytest.importorskip("psutil")

ROOT = Path(__file__).resolve().parents[2]


def _start(ws: Path, out: Path, nb: Path) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "lopsnb.cli", "run", str(ws), "--out", str(out), "--notebook", str(nb),
           "--workers", "2", "--timeout", "300", "--no-progress"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    # A session of its own: SIGINT can go to the whole group as from a terminal.
    return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)


def _wait_mid_batch(proc: subprocess.Popen[bytes], out: Path) -> list[int]:
    """Wait until demo is done and sleepy runs in its kernel; return every descendant's pid."""
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None:
        # kernel.log: the worker has begun sleepy (a warm kernel writes report.ipynb only when it ends).
        if (out / "demo" / "status.json").is_file() and list(out.glob(f"{TMP_PREFIX}*/work-sleepy/kernel.log")):
            break
        time.sleep(0.2)
    assert proc.poll() is None and (out / "demo" / "status.json").is_file(), "the batch did not get going"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # the sleepy kernel is up (a grandchild of the batch)
        kids = psutil.Process(proc.pid).children(recursive=True)
        if any("ipykernel" in " ".join(k.cmdline()) for k in kids if k.is_running()):
            break
        time.sleep(0.2)
    time.sleep(1.0)
    return [p.pid for p in psutil.Process(proc.pid).children(recursive=True)]


def _alive(pids: list[int]) -> list[int]:
    alive = []
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                alive.append(pid)
        except psutil.NoSuchProcess:
            pass
    return alive


def _gone_within(pids: list[int], seconds: float) -> list[int]:
    deadline = time.monotonic() + seconds
    while _alive(pids) and time.monotonic() < deadline:
        time.sleep(0.2)
    return _alive(pids)


def _kill_all(pids: list[int]) -> None:
    for pid in _alive(pids):
        try:
            psutil.Process(pid).kill()
        except psutil.Error:
            pass


@needs_kernel
def test_ctrl_c_prints_one_line_exits_130_and_leaves_nothing(make_workspace, tmp_path: Path) -> None:
    ws = make_workspace()
    add_program(ws, "sleepy")
    out = tmp_path / "out"
    proc = _start(ws, out, write_notebook(tmp_path / "nb.ipynb"))
    descendants: list[int] = []
    try:
        descendants = _wait_mid_batch(proc, out)
        assert len(descendants) >= 3  # workers, a kernel, the resource tracker
        os.killpg(proc.pid, signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=180)  # shutdown of workers and kernels on a machine at load 10 took over 60 s
    finally:
        if proc.poll() is None:
            proc.kill()
        _kill_all(descendants)
    lines = stderr.decode(errors="replace").strip().splitlines()
    assert proc.returncode == 130, (proc.returncode, lines)
    assert lines == ["interrupted: 1 done, 1 not started; rerun to continue"], lines
    assert stdout.decode().strip() == ""
    assert not (out / "sleepy").exists() and (out / "demo" / "report.html").is_file()
    assert leftovers(out) == []
    assert _gone_within(descendants, 5) == []


@needs_kernel
def test_sigkill_leaves_no_orphans_and_the_next_run_cleans_up(make_workspace, tmp_path: Path) -> None:
    ws = make_workspace()
    add_program(ws, "sleepy")
    out = tmp_path / "out"
    nb = write_notebook(tmp_path / "nb.ipynb")
    proc = _start(ws, out, nb)
    descendants: list[int] = []
    try:
        descendants = _wait_mid_batch(proc, out)
        t0 = time.monotonic()
        proc.kill()  # SIGKILL: the batch process gets no chance to clean up
        proc.wait(timeout=10)
        orphans = _gone_within(descendants, 8)
        took = time.monotonic() - t0
    finally:
        _kill_all(descendants)
    assert orphans == [], [psutil.Process(p).cmdline() for p in _alive(orphans)]
    assert took < 8
    stale = list(out.glob(f"{TMP_PREFIX}*"))
    assert stale, "a killed run leaves its temporary folder"
    assert not (out / "sleepy").exists()
    again = run_batch(ws, out=out, notebook=nb, programs=["demo"], progress=False)
    assert [p.status for p in again.programs] == ["skipped"]
    assert not any(p.exists() for p in stale) and leftovers(out) == []
