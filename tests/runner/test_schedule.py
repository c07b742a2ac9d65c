"""The order in which a batch starts its notebooks, and the pool started before loading (issue 17).

No kernel is started here except in the last test: the order is a pure
function of the previous run's status files, and the early pool is checked
for what it leaves behind when the batch stops before running anything.
"""

from __future__ import annotations

import json
from pathlib import Path

import psutil
import pytest

from lopsnb.errors import LopsnbError
from lopsnb.runner import batch
from lopsnb.runner.outdir import MARKER, marker_text
from lopsnb.runner.worker import ProgramTask


def task(pid: str) -> ProgramTask:
    return ProgramTask(pid, pid, "/ws", "/nb.ipynb", "/tmp", 30.0, "python3", None, "9.9.9", "/src")


def previous(out: Path, pid: str, duration: object) -> None:
    folder = out / pid
    folder.mkdir(parents=True)
    (folder / MARKER).write_text(marker_text("run-0", "program"))
    (folder / "status.json").write_text(json.dumps({"program_id": pid, "status": "ok", "duration_s": duration}))


def order(tasks: list[ProgramTask]) -> list[str]:
    return [t.program_id for t in tasks]


def test_without_history_slow_designs_go_first_and_pages_last(tmp_path: Path) -> None:
    tasks = [task(p) for p in ("operations", "a", "b", "scorecards", "c", "d")]
    assert order(batch._longest_first(tasks, tmp_path)) == ["a", "b", "c", "d", "operations", "scorecards"]
    assert order(batch._longest_first(tasks, tmp_path, frozenset({"c", "zz"}))) == ["c", "a", "b", "d", "operations", "scorecards"]


def test_previous_durations_give_longest_first(tmp_path: Path) -> None:
    for pid, took in (("a", 1.0), ("b", 9.0), ("c", 4.0), ("operations", 99.0), ("e", "bad")):
        previous(tmp_path, pid, took)
    (tmp_path / "d").mkdir()  # a folder the runner did not make: its status is not read
    (tmp_path / "d" / "status.json").write_text(json.dumps({"duration_s": 1000}))
    tasks = [task(p) for p in ("a", "b", "c", "d", "e", "operations", "f")]
    # d, e and f are unknown: the mean of the known programs (14/3); f is slow: the longest known.
    got = order(batch._longest_first(tasks, tmp_path, frozenset({"f"})))
    assert got == ["b", "f", "d", "e", "c", "a", "operations"]


def _leftovers(before: set[int]) -> list[psutil.Process]:
    # Not multiprocessing's resource tracker: it serves this process, not the batch.
    keep = before | {batch._resource_tracker_pid()}
    procs = [p for p in psutil.Process().children(recursive=True) if p.pid not in keep]
    gone, alive = psutil.wait_procs(procs, timeout=10)
    return alive


def test_a_batch_that_stops_while_loading_kills_the_early_workers(tmp_path: Path) -> None:
    """The workers started before loading are gone when the workspace turns out to be unusable."""
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    missing = tmp_path / "no-such-workspace"
    with pytest.raises(LopsnbError):
        batch.run_batch(missing, out=tmp_path / "out", workers=2, progress=False)
    assert _leftovers(before) == []
    assert not (tmp_path / "out").exists()


def test_early_pool_spawns_its_workers_at_once_and_close_kills_them(tmp_path: Path) -> None:
    early = batch._EarlyPool.start(2, str(Path(batch.__file__).resolve().parents[2]), "python3", None)
    try:
        workers = [p for p in psutil.Process().children() if p.pid in {proc.pid for proc in early.pool._processes.values()}]
        assert len(workers) == 2
    finally:
        early.close()
    assert psutil.wait_procs(workers, timeout=10)[1] == []
    assert not Path(early.ipc_root).exists()
    early.close()  # idempotent


def test_the_first_program_runs_in_the_prestarted_kernel_with_the_imports_done(make_workspace, tmp_path: Path) -> None:
    from runner.nbfactory import write_notebook

    from lopsnb.runner import worker

    package_root = str(Path(batch.__file__).resolve().parents[2])
    ws = make_workspace()
    nb = write_notebook(tmp_path / "nb.ipynb")
    worker.init_worker(package_root)
    # A light module list, so the test is quick; the real list is checked for existence below.
    modules = ("json", "tabnanny", "lopsnb.no_such_module")
    try:
        worker._prestart(worker.Prestart(kernel_name="python3", template=None, scratch=str(tmp_path / "prestart"), modules=modules))
        km = worker._KERNELS["python3"]
        pid = km.provisioner.pid
        run = worker.execute_program(ProgramTask("demo", "Demo", str(ws), str(nb), str(tmp_path / "tmp"), 120.0, "python3", None, "9.9.9", package_root))
        assert run.status == "ok", run.error
        assert worker._KERNELS["python3"].provisioner.pid == pid  # the same kernel, not a new one
        worker._run_silent(worker._KERNELS["python3"], "import sys\nassert 'tabnanny' in sys.modules", ready_timeout=60, timeout=60)
    finally:
        worker._shutdown_kernels()
    import importlib.util

    missing = [m for m in modules if m.startswith("lopsnb") and importlib.util.find_spec(m) is None]
    assert missing == ["lopsnb.no_such_module"]  # skipped by the kernel, which still served the program
    assert all(importlib.util.find_spec(m) is not None for m in worker.PREIMPORTS if m.startswith("lopsnb"))
