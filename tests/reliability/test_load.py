"""The batch holds up on a busy machine (issue 12, item 8).

Four CPU-bound processes run beside a small batch, on a machine with two
cores: kernels must still start and answer (IPC sockets instead of TCP
ports picked by bind-and-release, liveness asked of the kernel process rather
than of a heartbeat that a loaded machine misses, start-up retried with a
growing pause). The burners are bounded in time and killed in ``finally``.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import small_tables
from runner.nbfactory import write_notebook
from security.kit import leftovers, needs_kernel, program_yml, run, write_workspace

#: A CPU burner that stops by itself after ``limit`` seconds even if nobody kills it.
_BURN = "import time\nend = time.monotonic() + {limit}\nwhile time.monotonic() < end:\n    pass\n"


def _burners(n: int, limit: float) -> list[subprocess.Popen[bytes]]:
    return [subprocess.Popen([sys.executable, "-c", _BURN.format(limit=limit)]) for _ in range(n)]


@needs_kernel
def test_small_batch_beside_four_cpu_burners(tmp_path: Path) -> None:
    ws = write_workspace(tmp_path / "ws", dict(small_tables()), {pid: program_yml(pid) for pid in ("demo", "alpha", "beta")})
    nb = write_notebook(tmp_path / "nb.ipynb")
    out = tmp_path / "out"
    burners = _burners(4, limit=900)
    try:
        time.sleep(0.5)
        assert all(b.poll() is None for b in burners)
        result = run(ws, out, notebook=nb, workers=2, timeout=600)
        still_burning = [b.poll() is None for b in burners]
    finally:
        for b in burners:
            b.kill()
        for b in burners:
            b.wait(timeout=10)
    assert all(still_burning), "the burners stopped before the batch finished: the test proved nothing"
    assert {p.program_id: p.status for p in result.programs} == {"alpha": "ok", "beta": "ok", "demo": "ok"}, result.summary()
    assert result.exit_code == 0 and leftovers(out) == []


def test_kernel_start_is_retried_with_backoff(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A start-up failure ("Kernel died before replying to kernel_info") is retried, pausing 1 s then 2 s."""
    from lopsnb.runner import worker

    calls: list[float] = []
    pauses: list[float] = []

    def flaky(task, out_nb, results, budget):  # noqa: ANN001, ANN202 - the signature of _run_papermill
        calls.append(budget)
        if len(calls) < 3:
            return RuntimeError("Kernel died before replying to kernel_info"), False
        return None, False

    monkeypatch.setattr(worker, "_run_papermill", flaky)
    monkeypatch.setattr(worker.time, "sleep", pauses.append)
    task = worker.ProgramTask("demo", "Demo", str(tmp_path), "nb.ipynb", str(tmp_path), 600.0, "python3", None, "0", "")
    run = worker.ProgramRun("demo", "failed")
    exc, timed_out = worker._execute_with_retry(task, tmp_path / "o.ipynb", tmp_path / "r.json", time.monotonic(), run)
    assert (exc, timed_out, len(calls), pauses) == (None, False, 3, [1.0, 2.0])
    assert run.extra["kernel_start_retries"] == 2

    # Not a start-up failure: no retry.
    calls.clear()
    pauses.clear()
    monkeypatch.setattr(worker, "_run_papermill", lambda *a: (ValueError("a cell failed"), False))
    exc, _ = worker._execute_with_retry(task, tmp_path / "o.ipynb", tmp_path / "r.json", time.monotonic(), worker.ProgramRun("demo", "failed"))
    assert isinstance(exc, ValueError) and pauses == []


@needs_kernel
def test_kernels_use_ipc_sockets_not_tcp_ports(tmp_path: Path) -> None:
    """The worker's kernel talks over Unix sockets in a short private folder, and answers."""
    from lopsnb.runner import worker

    task = worker.ProgramTask("demo", "Demo", str(tmp_path), "nb.ipynb", str(tmp_path), 300.0, "python3", None, "0", "")
    try:
        km = worker._warm_kernel(task, tmp_path)
        info = km.get_connection_info()
        assert info["transport"] == "ipc" and len(info["ip"]) + 8 < 100  # room for "-<n>" within the socket path limit
        sockets = sorted(Path(info["ip"]).parent.iterdir())
        assert len(sockets) >= 5 and all(p.is_socket() for p in sockets)  # shell, iopub, stdin, control, heartbeat
        ipc_dir = Path(info["ip"]).parent
    finally:
        worker._shutdown_kernels()
    assert not ipc_dir.exists()
