"""lopsnb.runner.worker on its own: environment, failure descriptions, report metadata.

These tests need no kernel: they check what a worker hands the kernel and
how it turns an exception into the error a report and status.json show.
"""

from __future__ import annotations

import os

import nbformat
import pytest
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from papermill.exceptions import PapermillExecutionError

from lopsnb.runner import worker
from lopsnb.runner.worker import THREAD_ENV, ProgramTask, crashed_run, init_worker


def task(**kw: object) -> ProgramTask:
    base = dict(program_id="demo", program_name="Demo <1>", workspace="/ws", notebook="/nb.ipynb", tmp_root="/tmp",
                timeout=30.0, kernel_name="python3", data_as_of="2026-06-30", version="9.9.9", package_root="/src")
    base.update(kw)
    return ProgramTask(**base)  # type: ignore[arg-type]


def test_init_worker_sets_threads_backend_and_puts_the_package_first(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHONPATH", "/other")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    for name in THREAD_ENV:
        monkeypatch.delenv(name, raising=False)
    init_worker("/src")
    assert os.environ["PYTHONPATH"] == os.pathsep.join(["/src", "/other"])
    assert os.environ["MPLBACKEND"] == "module://matplotlib_inline.backend_inline"  # kernels draw inline images
    assert all(os.environ[k] == v for k, v in THREAD_ENV.items())
    init_worker("/src")  # idempotent: the path is not added twice
    assert os.environ["PYTHONPATH"] == os.pathsep.join(["/src", "/other"])


def test_crashed_run_is_a_failed_run_with_the_reason() -> None:
    run = crashed_run(task(), "worker process died", duration_s=1.5)
    assert (run.program_id, run.status, run.error, run.error_type, run.duration_s) == ("demo", "failed", "worker process died", "WorkerCrashed", 1.5)
    assert run.started_at == run.finished_at and run.started_at.endswith("Z")


@pytest.mark.parametrize(
    ("exc", "startup"),
    [
        (RuntimeError("Kernel died before replying to kernel_info"), True),
        (TimeoutError("Kernel didn't respond in 60 seconds"), True),
        (RuntimeError("something else"), False),
        (DeadKernelError("Kernel died"), False),  # died while running a cell: not retried
        (ValueError("kernel died before replying to kernel_info"), False),
    ],
)
def test_only_kernel_start_failures_are_retried(exc: BaseException, startup: bool) -> None:
    assert worker._is_startup_error(exc) is startup


def test_describe_names_the_cell_of_a_notebook_error() -> None:
    exc = PapermillExecutionError(cell_index=3, exec_count=4, source="1/0", ename="ZeroDivisionError", evalue="division by zero",
                                  traceback=["\x1b[31mTraceback\x1b[0m", "ZeroDivisionError: division by zero"])
    error, kind, log = worker._describe(exc, timeout=30)
    assert error == "ZeroDivisionError: division by zero (cell 4)" and kind == "ZeroDivisionError"
    assert "\x1b" not in log and log.endswith("ZeroDivisionError: division by zero")


def test_describe_timeouts_and_dead_kernels_in_plain_words() -> None:
    assert worker._describe(CellTimeoutError("cell timed out"), timeout=12.5)[:2] == (
        "a notebook cell ran longer than the 12.5 s limit and was stopped", "Timeout")
    assert worker._describe(DeadKernelError("gone"), timeout=1)[:2] == (
        "the notebook's kernel died (out of memory, or killed)", "DeadKernelError")
    assert worker._describe(OSError("disk full"), timeout=1)[:2] == ("OSError: disk full", "OSError")


def test_metadata_fills_the_report_header_and_fixes_the_parameters_cell_id() -> None:
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("program_id = 'demo'")
    cell.metadata["tags"] = ["injected-parameters"]
    nb.cells = [cell, nbformat.v4.new_code_cell("x = 1")]
    other_id = nb.cells[1]["id"]
    worker._set_metadata(nb, task())
    meta = nb.metadata["lopsnb"]
    assert {k: meta[k] for k in ("title", "program_id", "data_as_of", "version")} == {
        "title": "Demo <1>", "program_id": "demo", "data_as_of": "2026-06-30", "version": "9.9.9"}
    assert meta["generated_at"].endswith("Z")
    assert nb.cells[0]["id"] == "injected-parameters" and nb.cells[1]["id"] == other_id
