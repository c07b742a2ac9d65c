"""Execute one program's notebook and render its report (runs in a worker process).

:func:`execute_program` is the unit of work the batch runner sends to a
``ProcessPoolExecutor`` worker or a dask worker. It never raises for a
program failure: it returns a :class:`ProgramRun` whose ``status`` says what
happened, with the report HTML (or nothing, the parent then writes a failure
page), the executed notebook and the notebook's ``results.json`` text. The
parent process does all writing to the output folder, so a worker that dies
can never leave a half-written report behind.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from lopsnb._memo import MEMO_ENV
from lopsnb.report.context import CACHE_ENV, INLINE_BACKEND, notebook_parameters

__all__ = ["ProgramTask", "ProgramRun", "Prestart", "execute_program", "init_worker", "init_pool_worker", "THREAD_ENV", "crashed_run", "PREIMPORTS", "ping"]

#: One BLAS/OpenMP thread per worker and per kernel: parallelism comes from
#: running programs side by side, and oversubscribed BLAS pools slow it down.
THREAD_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}

#: Kernel start-up failures worth a retry (a busy machine, a slow disk).
_STARTUP_MESSAGES = ("kernel died before replying to kernel_info", "kernel didn't respond", "didn't respond to heartbeats")
#: Attempts at starting a kernel, and the pause before each retry (doubled each time).
_START_ATTEMPTS, _START_BACKOFF_S = 3, 1.0
#: How often a pool worker checks that the batch process is still there.
_PARENT_POLL_S = 0.5

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_LOG_CHARS = 6000

# One exporter per worker process and template: building one loads and
# compiles the templates, which costs more than rendering a report.
_EXPORTERS: dict[str | None, Any] = {}

#: Set LOPSNB_REUSE_KERNELS=0 to start a new kernel for every program.
REUSE_ENV = "LOPSNB_REUSE_KERNELS"
# Kernels kept warm by this worker process, by kernel name. A kernel is reused
# only after a successful program, and each program starts from the same
# state: an empty namespace, execution count 1, the matplotlib settings and
# warning filters the kernel had before its first program, its own working
# folder and cache setting. Starting a kernel and importing the scientific
# stack costs more than most programs' whole evaluation.
_KERNELS: dict[str, Any] = {}

_PREPARE = """
import os as _os, warnings as _w
import matplotlib as _mpl
import matplotlib.pyplot as _plt
if not hasattr(_mpl, "_lopsnb_rc0"):
    _mpl._lopsnb_rc0 = _mpl.rcParams.copy()
    _w._lopsnb_filters0 = list(_w.filters)
_plt.close("all")
_mpl.rcParams.update(_mpl._lopsnb_rc0)
_w.filters[:] = _w._lopsnb_filters0
_os.chdir({cwd!r})
for _name, _value in (({env!r}, {cache!r}), ({memo_env!r}, {memo!r})):
    if _value:
        _os.environ[_name] = _value
    else:
        _os.environ.pop(_name, None)
# A new session: empty namespace, fresh history session, execution count 1.
get_ipython().reset(new_session=True)
"""

#: Modules a report kernel imports before its first program: the report
#: notebooks' own imports and the ones the estimators import on first use
#: (statsmodels, scipy, moderndid for the Rambachan–Roth intervals). A
#: program's notebook imports them again, which then only looks them up, so
#: its namespace and results are those of a cold kernel; the seconds of
#: importing are spent while the batch process loads the workspace instead
#: of on the first program of every worker. None of them changes matplotlib
#: settings or warning filters on import (the starting state of every
#: program is taken after them).
PREIMPORTS = (
    "matplotlib.pyplot",
    "IPython.display",
    "pandas",
    "pyarrow.parquet",
    "lopsnb.io.workspace",
    "lopsnb.io.cache",
    "lopsnb.evaluation",
    "lopsnb.evaluation.culture",
    "lopsnb.evaluation.operations",
    "lopsnb.evaluation.sensitivity",
    "lopsnb.report.context",
    "lopsnb.report.plots",
    "lopsnb.report.sections",
    "statsmodels.regression.linear_model",
    "scipy.stats",
    "highspy",
    "moderndid",
)

_PREIMPORT = """
import importlib as _il
for _m in {modules!r}:
    try:
        _il.import_module(_m)
    except Exception:  # an optional library: the notebook reports it if it needs it
        pass
del _il, _m
"""


@dataclass(frozen=True, kw_only=True)
class Prestart:
    """What a pool worker prepares before its first program (picklable).

    Attributes
    ----------
    kernel_name : str
        The Jupyter kernel the batch's notebooks run in.
    template : str or None
        The report template folder of the batch (None: the shipped one);
        its exporter is built ahead.
    scratch : str
        A folder for the kernel's start-up log and working directory.
    modules : tuple of str
        What to import in the kernel before its first program.
    """

    kernel_name: str
    template: str | None
    scratch: str
    #: Modules to import in the kernel: :data:`PREIMPORTS` for the shipped
    #: notebooks; for a user's notebook only what every program gets anyway.
    modules: tuple[str, ...] = ("matplotlib.pyplot",)


@dataclass(frozen=True)
class ProgramTask:
    """Everything a worker needs to run one program (picklable)."""

    program_id: str
    program_name: str
    workspace: str
    notebook: str
    tmp_root: str
    timeout: float
    kernel_name: str
    data_as_of: str | None
    version: str
    package_root: str
    #: The batch's validated Parquet cache (lopsnb.io.cache), handed to the
    #: kernel as LOPSNB_CACHE; None: the notebook reads the sources.
    cache: str | None = None
    #: A user's copy of the report template folder; None: the shipped one.
    template: str | None = None
    #: The batch's memo folder (lopsnb._memo), handed to the kernel as
    #: LOPSNB_MEMO; None: every computation runs.
    memo: str | None = None


@dataclass
class ProgramRun:
    """What a worker returns for one program."""

    program_id: str
    status: Literal["ok", "failed"]
    error: str | None = None
    error_type: str | None = None
    duration_s: float = 0.0
    started_at: str = ""
    finished_at: str = ""
    html: str | None = None
    ipynb: str | None = None
    results: str | None = None
    log_tail: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def init_worker(package_root: str | None = None) -> None:
    """Prepare a worker process's environment (inherited by the kernels it starts)."""
    os.environ.update(THREAD_ENV)
    # Kernels must show figures inline even when the batch itself was started
    # with MPLBACKEND=Agg (as `make test` does): the report needs the images.
    os.environ["MPLBACKEND"] = INLINE_BACKEND
    if package_root:
        # The kernel imports the same lopsnb as the runner, installed or not.
        parts = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
        if package_root not in parts:
            os.environ["PYTHONPATH"] = os.pathsep.join([package_root, *parts])


def init_pool_worker(package_root: str | None, parent_pid: int, ipc_root: str | None = None, prestart: Prestart | None = None) -> None:
    """Initialise a process-pool worker: :func:`init_worker`, no Ctrl-C, and a parent watchdog.

    Ctrl-C in a terminal reaches the whole process group: the batch process
    handles it (kills the workers and their kernels, prints one line), so
    the workers ignore it instead of each printing a traceback. A daemon
    thread polls the parent's pid; once the batch process is gone (SIGKILL,
    crash) the worker kills its kernels and exits, so nothing outlives the
    batch by more than about a second. ``ipc_root``: the batch's folder for
    kernel sockets (removed by the batch process, even after killing workers).
    ``prestart``: start the kernel, import :data:`PREIMPORTS` in it and build
    the HTML exporter in a background thread, so that a worker is ready for
    its first program while the batch process is still loading the workspace
    (the first program waits for that thread).
    """
    import signal

    global _IPC_ROOT, _WARMUP
    _IPC_ROOT = ipc_root
    init_worker(package_root)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_watch_parent, args=(parent_pid,), name="lopsnb-parent-watchdog", daemon=True).start()
    if prestart is not None and _reuse_kernels():
        _WARMUP = threading.Thread(target=_prestart, args=(prestart,), name="lopsnb-prestart", daemon=True)
        _WARMUP.start()


# The background preparation started by init_pool_worker (None: none, or joined).
_WARMUP: threading.Thread | None = None
# The output log of each prestarted kernel, by kernel name; a discarded
# kernel's log is kept for the failure page of the program that discarded it.
_KERNEL_LOGS: dict[str, Path] = {}
_DISCARDED_LOG: list[Path] = []


def _prestart(prestart: Prestart) -> None:
    """Build the exporter, start the kernel and import :data:`PREIMPORTS` in it.

    Any failure only discards the kernel: the first program then starts one
    as it would without a prestart (with its retries and error reporting).
    """
    try:
        import nbformat  # noqa: F401 - imported ahead for the first program
        import papermill  # noqa: F401

        _exporter(prestart.template)
        scratch = Path(prestart.scratch)
        scratch.mkdir(parents=True, exist_ok=True)
        # The kernel's own output goes to a log, never over the progress bar;
        # its end goes on a failure page like a program kernel's (_CaptureFds).
        path = scratch / f"kernel-{os.getpid()}.log"
        with open(path, "ab") as log:
            km = _start_kernel(prestart.kernel_name, scratch, stdout=log, stderr=log)
        _KERNEL_LOGS[prestart.kernel_name] = path
        _run_silent(km, _PREIMPORT.format(modules=prestart.modules), ready_timeout=120.0, timeout=300.0)
    except BaseException:  # noqa: BLE001 - the first program starts its own kernel
        _discard_kernel(prestart.kernel_name)


#: Longest wait for a worker's preparation before its first program; a kernel
#: still not ready then is killed and the program starts its own.
_PRESTART_WAIT_S = 300.0


def _await_prestart(kernel_name: str | None = None) -> None:
    """Wait for this worker's background preparation, if any, before using its kernel."""
    global _WARMUP
    warm = _WARMUP
    if warm is not None:
        warm.join(_PRESTART_WAIT_S)
        if warm.is_alive() and kernel_name is not None:
            _discard_kernel(kernel_name)
            warm.join(30)
        _WARMUP = None


def _watch_parent(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(_PARENT_POLL_S)
    try:
        import psutil

        for proc in psutil.Process().children(recursive=True):
            _kill_pid(proc.pid)
    finally:
        _remove_ipc_dir()
        os._exit(1)


def ping() -> int:
    """A task that does nothing: submitting one makes a process pool spawn a worker now."""
    return os.getpid()


def _exporter(template: str | None = None) -> Any:
    if template not in _EXPORTERS:
        from lopsnb.report.export import make_exporter

        _EXPORTERS[template] = make_exporter(template)
    return _EXPORTERS[template]


def crashed_run(task: ProgramTask, error: str, error_type: str = "WorkerCrashed", duration_s: float = 0.0) -> ProgramRun:
    """A failed run for a program whose worker died or could not return."""
    now = _now()
    return ProgramRun(task.program_id, "failed", error=error, error_type=error_type, duration_s=duration_s, started_at=now, finished_at=now)


def _is_startup_error(exc: BaseException) -> bool:
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    if isinstance(exc, (CellTimeoutError, DeadKernelError)):
        return False
    msg = str(exc).lower()
    return isinstance(exc, (RuntimeError, TimeoutError)) and any(m in msg for m in _STARTUP_MESSAGES)


def _reuse_kernels() -> bool:
    return os.environ.get(REUSE_ENV, "1").strip().lower() not in ("0", "false", "no")


def _discard_kernel(kernel_name: str) -> None:
    """Stop and forget this worker's warm kernel (killed at once: its state is suspect)."""
    km = _KERNELS.pop(kernel_name, None)
    log = _KERNEL_LOGS.pop(kernel_name, None)
    if log is not None:
        _DISCARDED_LOG[:] = [log]
    if km is None:
        return
    from jupyter_core.utils import run_sync

    try:
        run_sync(km.shutdown_kernel)(now=True)
    except Exception:  # already dead, or half started: make sure the process is gone
        _kill_pid(getattr(getattr(km, "provisioner", None), "pid", None))


def _kill_pid(pid: int | None) -> None:
    """Kill ``pid``, and its whole process group when it leads one (kernels start their own session)."""
    if not pid:
        return
    import psutil

    try:
        if hasattr(os, "killpg") and os.getpgid(pid) == pid:
            os.killpg(pid, 9)
    except OSError:
        pass
    try:
        psutil.Process(pid).kill()
    except psutil.Error:
        pass


# Kernels talk to this worker over Unix sockets in a short private folder
# (TCP ports are picked by binding and releasing them, which races with other
# processes on a busy machine; socket paths are limited to ~100 characters).
_IPC_DIR: str | None = None
_IPC_ROOT: str | None = None


def _ipc_prefix() -> str:
    global _IPC_DIR
    import tempfile
    import uuid

    if _IPC_DIR is None or not os.path.isdir(_IPC_DIR):
        root = _IPC_ROOT if _IPC_ROOT and os.path.isdir(_IPC_ROOT) else ("/tmp" if os.path.isdir("/tmp") else None)
        _IPC_DIR = tempfile.mkdtemp(prefix="lopsnb-ipc-", dir=root)
    return os.path.join(_IPC_DIR, uuid.uuid4().hex[:8])


def _remove_ipc_dir() -> None:
    if _IPC_DIR is not None:
        shutil.rmtree(_IPC_DIR, ignore_errors=True)


def _shutdown_kernels() -> None:
    for name in list(_KERNELS):
        _discard_kernel(name)
    _remove_ipc_dir()


def _start_kernel(kernel_name: str, cwd: Path, **popen: Any) -> Any:
    """Start a kernel over IPC sockets and keep it as this worker's ``kernel_name`` kernel."""
    from jupyter_client.manager import AsyncKernelManager
    from jupyter_core.utils import run_sync

    if not _KERNELS:
        import atexit

        atexit.register(_shutdown_kernels)
    km = AsyncKernelManager(kernel_name=kernel_name, transport="ipc", ip=_ipc_prefix())
    _KERNELS[kernel_name] = km
    try:
        run_sync(km.start_kernel)(cwd=str(cwd), **popen)
    except BaseException:
        _discard_kernel(kernel_name)
        raise
    return km


def _run_silent(km: Any, code: str, *, ready_timeout: float, timeout: float) -> None:
    """Run ``code`` in ``km``'s kernel without history or output; raise when it fails."""
    from jupyter_client.blocking import BlockingKernelClient

    # parent=km: "is the kernel alive" is asked of its process, not of a
    # heartbeat that a loaded machine can miss for a second.
    kc = BlockingKernelClient(parent=km)
    kc.load_connection_info(km.get_connection_info())
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=ready_timeout)
        reply = kc.execute_interactive(code, silent=True, store_history=False, timeout=timeout, output_hook=lambda msg: None)
        if reply["content"].get("status") != "ok":
            raise RuntimeError(f"kernel didn't respond to preparation: {reply['content'].get('evalue', reply['content'])}")
    finally:
        kc.stop_channels()


def _warm_kernel(task: ProgramTask, cwd: Path) -> Any:
    """This worker's kernel for ``task``, started if needed and reset to the common starting state."""
    from jupyter_core.utils import run_sync

    _await_prestart()
    km = _KERNELS.get(task.kernel_name)
    if km is not None and not run_sync(km.is_alive)():
        _discard_kernel(task.kernel_name)
        km = None
    if km is None:
        km = _start_kernel(task.kernel_name, cwd)
    try:
        code = _PREPARE.format(cwd=str(cwd), cache=task.cache or "", env=CACHE_ENV, memo=task.memo or "", memo_env=MEMO_ENV)
        _run_silent(km, code, ready_timeout=max(30.0, min(180.0, task.timeout)), timeout=60)
    except BaseException:
        _discard_kernel(task.kernel_name)
        raise
    return km


def _kill_new_children(before: set[int]) -> None:
    """Kill processes this worker started since ``before`` (the kernels of a hung run)."""
    import psutil

    me = psutil.Process()
    victims = [p for p in me.children(recursive=True) if p.pid not in before]
    for proc in victims:
        try:
            proc.kill()
        except psutil.Error:
            pass
    psutil.wait_procs(victims, timeout=5)


def _parameters(task: ProgramTask, results: Path) -> dict[str, str]:
    # The pages (scorecards, operations) get their page id as program_id too: unused there.
    return notebook_parameters(task.workspace, str(results), task.program_id)


def _run_papermill(task: ProgramTask, out_nb: Path, results: Path, budget: float) -> tuple[BaseException | None, bool]:
    """Run papermill in a thread under a watchdog; return (exception or None, timed_out)."""
    import papermill as pm
    import psutil

    box: dict[str, BaseException] = {}

    reuse = _reuse_kernels()

    def target() -> None:
        try:
            # This worker's kernel (never shut down by nbclient); with reuse
            # off it is discarded after the program.
            km = _warm_kernel(task, out_nb.parent)
            pm.execute_notebook(
                task.notebook,
                str(out_nb),
                parameters=_parameters(task, results),
                kernel_name=task.kernel_name,
                progress_bar=False,
                request_save_on_cell_execute=False,
                execution_timeout=max(1, int(task.timeout)),
                start_timeout=max(1, int(min(120.0, task.timeout))),
                cwd=str(out_nb.parent),
                km=km,
                shutdown_kernel="immediate",
            )
            if not reuse:
                _discard_kernel(task.kernel_name)
        except BaseException as exc:  # reported to the caller, whatever it is
            box["exc"] = exc
            # A kernel that saw a failure is not handed to the next program.
            _discard_kernel(task.kernel_name)

    before = {p.pid for p in psutil.Process().children(recursive=True)}
    thread = threading.Thread(target=target, name=f"lopsnb-{task.program_id}", daemon=True)
    thread.start()
    thread.join(max(0.1, budget))
    if thread.is_alive():
        # The watchdog: kill the kernel so nbclient notices a dead kernel and
        # papermill returns; the worker stays usable for the next program.
        warm = _KERNELS.get(task.kernel_name)
        _kill_pid(getattr(getattr(warm, "provisioner", None), "pid", None))
        _kill_new_children(before)
        thread.join(30)
        return box.get("exc"), True
    return box.get("exc"), False


class _CaptureFds:
    """Send this process's stdout/stderr file descriptors to a log file for a while.

    Kernels inherit the worker's descriptors: without this their warnings
    would scroll over the progress bar. The log's end goes on failure pages.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.saved: list[tuple[int, int]] = []

    def __enter__(self) -> _CaptureFds:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:
                pass
        log = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            for fd in (1, 2):
                try:
                    self.saved.append((fd, os.dup(fd)))
                    os.dup2(log, fd)
                except OSError:  # no such descriptor (some embedded interpreters)
                    pass
        finally:
            os.close(log)
        return self

    def __exit__(self, *exc: object) -> None:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:
                pass
        for fd, copy in self.saved:
            os.dup2(copy, fd)
            os.close(copy)
        self.saved.clear()

    def tail(self, lines: int = 40) -> str:
        try:
            text = self.path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


def _tail(text: str) -> str:
    text = _ANSI.sub("", text)
    return text[-_LOG_CHARS:]


def _describe(exc: BaseException, timeout: float) -> tuple[str, str, str]:
    """(error, error_type, log tail) of a notebook failure."""
    from nbclient.exceptions import CellTimeoutError, DeadKernelError
    from papermill.exceptions import PapermillExecutionError

    if isinstance(exc, PapermillExecutionError):
        where = f" (cell {exc.exec_count})" if getattr(exc, "exec_count", None) is not None else ""
        tb = "\n".join(exc.traceback or [])
        return f"{exc.ename}: {exc.evalue}{where}", str(exc.ename), _tail(tb)
    log = _tail("".join(traceback.format_exception(exc)))
    if isinstance(exc, CellTimeoutError):
        return f"a notebook cell ran longer than the {timeout:g} s limit and was stopped", "Timeout", log
    if isinstance(exc, DeadKernelError):
        return "the notebook's kernel died (out of memory, or killed)", "DeadKernelError", log
    return f"{type(exc).__name__}: {exc}", type(exc).__name__, log


def _set_metadata(nb: Any, task: ProgramTask) -> None:
    # papermill gives its injected-parameters cell a random id, which the
    # report carries as an HTML id: two runs on the same inputs must give the
    # same page, so the id is made fixed (ids only need to be unique).
    for cell in nb.cells:
        if "injected-parameters" in cell.get("metadata", {}).get("tags", []) and "id" in cell:
            cell["id"] = "injected-parameters"
    nb.metadata["lopsnb"] = {
        "title": task.program_name,
        "program_id": task.program_id,
        "generated_at": _now(),
        "data_as_of": task.data_as_of,
        "version": task.version,
    }


def _execute_with_retry(task: ProgramTask, out_nb: Path, results: Path, t0: float, run: ProgramRun) -> tuple[BaseException | None, bool]:
    """papermill under the watchdog, retried with a growing pause when the kernel fails to start."""
    exc: BaseException | None = None
    timed_out = False
    for attempt in range(_START_ATTEMPTS):
        remaining = task.timeout - (time.monotonic() - t0)
        exc, timed_out = _run_papermill(task, out_nb, results, remaining)
        if exc is None or timed_out or attempt == _START_ATTEMPTS - 1 or not _is_startup_error(exc):
            break
        pause = _START_BACKOFF_S * 2**attempt
        if task.timeout - (time.monotonic() - t0) <= pause + 1:
            break
        run.extra["kernel_start_retries"] = attempt + 1
        time.sleep(pause)
    return exc, timed_out


def _prestarted_log_tail(kernel_name: str, lines: int = 40) -> str:
    """The end of the output log of the prestarted kernel that ran (or was discarded by) this program."""
    path = _DISCARDED_LOG.pop() if _DISCARDED_LOG else _KERNEL_LOGS.get(kernel_name)
    if path is None:
        return ""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def execute_program(task: ProgramTask) -> ProgramRun:
    """Execute the notebook for one program and render its report.

    Parameters
    ----------
    task : ProgramTask
        The program, notebook, limits and a scratch folder root.

    Returns
    -------
    ProgramRun
        ``status="ok"`` with ``html``, ``ipynb`` and ``results`` text, or
        ``status="failed"`` with ``error``/``error_type``/``log_tail`` (and the
        partially executed notebook when there is one). Program failures never
        raise; ``KeyboardInterrupt`` does.
    """
    import nbformat

    init_worker(task.package_root)
    # Set or cleared per task: a worker runs programs of one batch only, but
    # must never hand a kernel a cache from an earlier task.
    for name, value in ((CACHE_ENV, task.cache), (MEMO_ENV, task.memo)):
        if value:
            os.environ[name] = value
        else:
            os.environ.pop(name, None)
    # The worker's own preparation (kernel start, imports) is not the
    # program's time: its limit and duration start once it is done.
    _await_prestart(task.kernel_name)
    started_at, t0 = _now(), time.monotonic()
    # A fixed scratch folder per program: if this process dies, the parent
    # finds it and knows this program was running at the time.
    work = Path(task.tmp_root) / f"work-{task.program_id}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    out_nb, results = work / "report.ipynb", work / "results.json"
    run = ProgramRun(task.program_id, "failed", started_at=started_at)
    capture = _CaptureFds(work / "kernel.log")
    try:
        with capture:
            exc, timed_out = _execute_with_retry(task, out_nb, results, t0, run)
        if isinstance(exc, KeyboardInterrupt):
            raise exc
        if timed_out:
            run.error = f"the program ran longer than the {task.timeout:g} s limit and was stopped"
            run.error_type = "Timeout"
        elif exc is not None:
            run.error, run.error_type, run.log_tail = _describe(exc, task.timeout)
        elif not results.is_file():
            run.error, run.error_type = "the notebook finished without writing results.json", "MissingResults"
        else:
            text = results.read_text(encoding="utf-8")
            try:
                json.loads(text)
            except ValueError as err:
                run.error, run.error_type = f"results.json is not valid JSON ({err})", "InvalidResults"
            else:
                nb = nbformat.read(str(out_nb), as_version=4)
                _set_metadata(nb, task)
                from lopsnb.report.export import export_html

                run.html = export_html(nb, exporter=_exporter(task.template), resources_meta={"name": task.program_name})
                run.ipynb = nbformat.writes(nb)
                run.results = text
                run.status = "ok"
        if run.status == "failed":
            kernel_log = _ANSI.sub("", capture.tail() + "\n" + _prestarted_log_tail(task.kernel_name)).strip()
            if kernel_log:
                run.log_tail = _tail(f"{run.log_tail}\n\n--- kernel log ---\n{kernel_log}".strip())
            if out_nb.is_file():
                try:
                    nb = nbformat.read(str(out_nb), as_version=4)
                    _set_metadata(nb, task)
                    run.ipynb = nbformat.writes(nb)
                except Exception:  # a truncated notebook is not worth failing over
                    run.ipynb = None
    except KeyboardInterrupt:
        raise
    except Exception as err:  # export or I/O trouble: still a per-program failure
        run.status, run.html = "failed", None
        run.error, run.error_type = f"{type(err).__name__}: {err}", type(err).__name__
        run.log_tail = _tail("".join(traceback.format_exception(err)))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    run.duration_s = round(time.monotonic() - t0, 3)
    run.finished_at = _now()
    return run
