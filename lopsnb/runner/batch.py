"""Run the impact-report notebook for every program of a workspace.

``run_batch`` executes ``notebooks/impact_report.ipynb`` once per program
with papermill, in parallel worker processes (or on a dask cluster), renders
each executed notebook to a self-contained HTML report and finishes with a
portfolio index of all programs. Output layout::

    <out>/index.html            portfolio (recommendations, links)
    <out>/portfolio.csv|.xlsx   the same table for spreadsheets
    <out>/<program_id>/report.html   the report, or a failure page
    <out>/<program_id>/report.ipynb  the executed notebook (when there is one)
    <out>/<program_id>/results.json  what the notebook computed (ok only)
    <out>/<program_id>/status.json   ok/failed, error, timings, versions, input fingerprint
    <out>/<program_id>/report.pdf, <out>/index.pdf   with ``pdf=True`` (``lopsnb run --pdf``)

One program failing (an exception, a timeout, a dead kernel, a crashed
worker) never stops the others; it gets a failure page and ``status.json``
with ``"status": "failed"``.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import hashlib
import io
import json
import multiprocessing
import os
import platform
import shutil
import signal
import sys
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

from lopsnb._version import __version__
from lopsnb.errors import RunError
from lopsnb.io.programs import RESERVED_PROGRAM_IDS as RESERVED_IDS
from lopsnb.report.export import package_dir, template_location
from lopsnb.runner.files import SLUG, atomic_write, check_slug, program_dir, replace_dir
from lopsnb.runner.outdir import MARKER, TempRoot, check_not_overlapping, clean_stale_tmp, is_marked, marker_text, new_run_id, prepare_out
from lopsnb.runner.worker import PREIMPORTS, Prestart, ProgramRun, ProgramTask, crashed_run, execute_program, init_pool_worker, ping

__all__ = ["run_batch", "BatchResult", "BatchInterrupted", "ProgramOutcome", "DEFAULT_NOTEBOOK", "input_fingerprint", "default_workers"]

Executor = Literal["local", "dask"]
_EXECUTORS = ("local", "dask")

#: The report notebooks shipped as package data (``notebooks/`` in the
#: repository links to them), found through importlib.resources.
NOTEBOOK_DIR = package_dir("notebooks")
#: The notebook run for every program unless ``notebook=`` says otherwise.
DEFAULT_NOTEBOOK = NOTEBOOK_DIR / "impact_report.ipynb"
#: Learning-function pages run with a full batch: id -> (notebook, table, title).
#: Their ids are in lopsnb.io.programs.RESERVED_IDS: no program may use them.
PAGES: dict[str, tuple[str, str, str]] = {
    "scorecards": ("scorecards.ipynb", "scorecards", "Learning culture scorecards"),
    "operations": ("operations.ipynb", "requests", "L&D operations"),
}

#: Memory one worker plus its kernel may need; caps the default worker count.
_MEMORY_PER_WORKER = int(1.5 * 2**30)


@dataclass(frozen=True, kw_only=True)
class ProgramOutcome:
    """What happened to one program in a batch.

    Attributes
    ----------
    program_id : str
    status : {"ok", "failed", "skipped"}
        ``skipped``: inputs unchanged since a previous successful run.
    error : str or None
    error_type : str or None
    duration_s : float or None
    report : Path or None
        ``<out>/<program_id>/report.html`` (a failure page when failed);
        None when no folder could be written (a program file name that is
        not a valid id).
    """

    program_id: str
    status: Literal["ok", "failed", "skipped"]
    error: str | None = None
    error_type: str | None = None
    duration_s: float | None = None
    report: Path | None = None


@dataclass(kw_only=True)
class BatchResult:
    """Outcome of :func:`run_batch`."""

    out: Path
    index_path: Path
    programs: list[ProgramOutcome] = field(default_factory=list)
    #: PDFs written (``pdf=True``), in the order printed.
    pdfs: list[Path] = field(default_factory=list)
    #: HTML page → why it could not be printed to PDF.
    pdf_errors: dict[Path, str] = field(default_factory=dict)

    @property
    def ok(self) -> int:
        """Programs whose report was produced in this run."""
        return sum(p.status == "ok" for p in self.programs)

    @property
    def failed(self) -> int:
        """Programs whose report could not be produced."""
        return sum(p.status == "failed" for p in self.programs)

    @property
    def skipped(self) -> int:
        """Programs left as they were (inputs unchanged since a successful run)."""
        return sum(p.status == "skipped" for p in self.programs)

    @property
    def exit_code(self) -> int:
        """0 when no program failed and every requested PDF was written, 1 otherwise."""
        return 1 if self.failed or self.pdf_errors else 0

    def summary(self) -> str:
        """Plain-text summary: counts, then one line per program."""
        lines = [f"{len(self.programs)} program(s): {self.ok} ok, {self.failed} failed, {self.skipped} skipped (unchanged)"]
        for p in sorted(self.programs, key=lambda p: p.program_id):
            took = f"{p.duration_s:7.1f} s" if p.duration_s is not None else " " * 9
            msg = ""
            if p.status == "failed":
                error = (p.error or "unknown error").splitlines()[0]
                kind = p.error_type or "error"
                msg = f"  {error}" if error.startswith(kind) else f"  {kind}: {error}"
            lines.append(f"  {p.program_id:<28} {p.status:<8}{took}{msg}")
        if self.pdfs or self.pdf_errors:
            lines.append(f"PDF: {len(self.pdfs)} written, {len(self.pdf_errors)} failed")
            lines += [f"  {page}: {error.splitlines()[0]}" for page, error in self.pdf_errors.items()]
        lines.append(f"Portfolio: {self.index_path}")
        return "\n".join(lines)


def default_workers(n_programs: int) -> int:
    """min(cores, programs, memory cap): workers worth starting for ``n_programs``."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    try:
        import psutil

        available = psutil.virtual_memory().available
    except Exception:  # no psutil: do not let memory cap anything
        available = cores * _MEMORY_PER_WORKER
    by_memory = max(1, available // _MEMORY_PER_WORKER)
    return int(max(1, min(cores, max(1, n_programs), by_memory)))


def _versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {"lopsnb": __version__, "python": platform.python_version()}
    for pkg in ("pandas", "statsmodels", "papermill", "nbconvert"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = None
    return out


def _program_file(workspace: Path, program_id: str) -> Path | None:
    for ext in (".yml", ".yaml"):
        path = workspace / "programs" / f"{program_id}{ext}"
        if path.is_file():
            return path
    return None


def _template_files(template: str | os.PathLike[str] | None = None) -> list[tuple[str, bytes]]:
    """(name relative to the template base folder, bytes) of every file of the report template."""
    base, name = template_location(template)
    return [(str(p.relative_to(base)), p.read_bytes()) for p in sorted((base / name).rglob("*")) if p.is_file()]


def input_fingerprint(workspace_fingerprint: str, program_yaml: bytes, notebook: bytes, version: str = __version__, templates: Iterable[tuple[str, bytes]] = ()) -> str:
    """sha256 of everything a program's report depends on.

    The workspace's data files, the program file, the notebook, the lopsnb
    version and the report template files; a program is skipped only when
    this is unchanged and its previous run was ok.
    """
    digest = hashlib.sha256()
    for part in (b"lopsnb-input-v1", workspace_fingerprint.encode(), program_yaml, notebook, version.encode()):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    for name, data in templates:
        digest.update(name.encode() + b"\0")
        digest.update(len(data).to_bytes(8, "big"))
        digest.update(data)
    return digest.hexdigest()


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


class BatchInterrupted(KeyboardInterrupt):
    """Ctrl-C (or SIGTERM) stopped a batch; workers and kernels are gone, nothing is half-written.

    A ``KeyboardInterrupt``, so code that does not know it still stops;
    ``done`` programs have their complete folder, ``not_started`` had none
    written by this run (including the ones stopped while running).
    """

    def __init__(self, done: int, not_started: int) -> None:
        super().__init__(f"interrupted: {done} done, {not_started} not started; rerun to continue")
        self.done = done
        self.not_started = not_started


def _folderless(program_id: str) -> bool:
    """Ids that never get an output folder: not a slug, or reserved (pages, Windows device names)."""
    return program_id in RESERVED_IDS or not SLUG.fullmatch(program_id)


def _slug_message(program_id: str) -> str:
    try:
        check_slug(program_id)
    except RunError as exc:
        return str(exc)
    return ""


def _reserved_message(program_id: str) -> str:
    what = "a learning-function page" if program_id in PAGES else "a Windows device name"
    return f"program id {program_id!r} is reserved ({what}; reserved: {', '.join(sorted(RESERVED_IDS))}); rename its program file"


class _Batch:
    """State of one run: writes outputs as programs finish."""

    def __init__(self, out: Path, tmp_root: Path, versions: dict[str, str | None], progress: Any, run_id: str = "") -> None:
        self.out = out
        self.tmp_root = tmp_root
        self.versions = versions
        self.progress = progress
        self.run_id = run_id
        self.outcomes: dict[str, ProgramOutcome] = {}
        self.pages: dict[str, ProgramOutcome] = {}
        #: Failed programs that have no folder (their row in the index comes from here).
        self.folderless: dict[str, dict[str, Any]] = {}

    def status_dict(self, pid: str, name: str | None, run: ProgramRun, parameters: dict[str, Any], fingerprint: str | None) -> dict[str, Any]:
        return {
            "program_id": pid,
            "program_name": name,
            "status": run.status,
            "error": run.error,
            "error_type": run.error_type,
            "duration_s": run.duration_s,
            "parameters": parameters,
            "versions": self.versions,
            "input_fingerprint": fingerprint,
            "started_at": run.started_at,
            "finished_at": run.finished_at,
        }

    def target(self, pid: str, page: bool) -> tuple[Path | None, str | None]:
        """The folder to write for ``pid``, or None and why there is none."""
        if not page and pid in RESERVED_IDS:
            return None, _reserved_message(pid)
        if SLUG.fullmatch(pid) and (self.out / pid).is_symlink():
            # Resolved, a link could point at another program's marked folder.
            return None, f"output folder {self.out / pid} is a symbolic link; it was left untouched: remove it or choose another --out"
        try:
            target = program_dir(self.out, pid)
        except RunError as exc:
            return None, str(exc)
        if (target.exists() or target.is_symlink()) and not is_marked(target):
            return None, (f"output folder {target} already exists and was not created by lopsnb run (no {MARKER} marker); "
                          "it was left untouched: move it away or choose another --out")
        return target, None

    def record(self, pid: str, name: str | None, run: ProgramRun, parameters: dict[str, Any], fingerprint: str | None, *, page: bool = False) -> None:
        from lopsnb.report.export import failure_page

        status = self.status_dict(pid, name, run, parameters, fingerprint)
        if run.extra:
            status.update(run.extra)
        report: Path | None = None
        target, refused = self.target(pid, page)
        if target is None:
            error = run.error if run.error and refused and refused in run.error else f"{run.error or ''} {refused}".strip()
            run = ProgramRun(pid, "failed", error=error, error_type=run.error_type or "RunError", duration_s=run.duration_s)
            self.folderless[pid] = {"program_id": pid, "program_name": name, "status": "failed", "error": error, "error_type": run.error_type}
        else:
            files: dict[str, str | bytes] = {}
            if run.status == "ok" and run.html is not None:
                files["report.html"] = run.html
            else:
                files["report.html"] = failure_page(pid, name, run.error or "unknown error", duration_s=run.duration_s, log_tail=run.log_tail)
            if run.ipynb is not None:
                files["report.ipynb"] = run.ipynb
            if run.status == "ok" and run.results is not None:
                files["results.json"] = run.results
            files["status.json"] = json.dumps(status, indent=2, ensure_ascii=False) + "\n"
            replace_dir(target, files, staging_root=self.tmp_root, marker=(MARKER, marker_text(self.run_id, "program")))
            report = target / "report.html"
        outcome = ProgramOutcome(program_id=pid, status=run.status, error=run.error, error_type=run.error_type, duration_s=run.duration_s, report=report)
        (self.pages if page else self.outcomes)[pid] = outcome
        self.progress.set_postfix_str(f"{pid}: {run.status}", refresh=False)
        self.progress.update(1)

    def skip(self, pid: str, previous: dict[str, Any], *, page: bool = False) -> None:
        outcome = ProgramOutcome(program_id=pid, status="skipped", duration_s=previous.get("duration_s"), report=program_dir(self.out, pid) / "report.html")
        (self.pages if page else self.outcomes)[pid] = outcome
        self.progress.update(1)

    @property
    def done(self) -> int:
        return len(self.outcomes) + len(self.pages)


def _spawn_pool(workers: int, package_root: str, ipc_root: str | None = None, prestart: Prestart | None = None) -> cf.ProcessPoolExecutor:
    # "spawn": a fresh interpreter per worker, no inherited threads or locks
    # (the parent may hold tqdm's monitor thread, pandas/BLAS thread pools).
    ctx = multiprocessing.get_context("spawn")
    # Each worker watches this process and exits (killing its kernels) once it is gone.
    return cf.ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=init_pool_worker,
                                  initargs=(package_root, os.getpid(), ipc_root, prestart))


@dataclass(kw_only=True)
class _EarlyPool:
    """Workers started before the workspace is loaded, each starting its kernel (issue 17).

    Loading, validating and caching the workspace runs in this process while
    the workers start their kernels and import the scientific stack in them
    (:class:`~lopsnb.runner.worker.Prestart`): on two cores the two overlap
    instead of adding up. The pool is handed to the first round of
    :func:`_run_pools`; a batch with nothing to run, or one that stops
    early (an invalid workspace, Ctrl-C), kills it.
    """

    pool: cf.ProcessPoolExecutor
    #: This process's descendants before the pool existed (for _kill_pool).
    before: set[int]
    workers: int
    ipc_root: str
    #: Set once _run_pools owns the pool (it shuts it down and removes ipc_root).
    taken: bool = False

    @classmethod
    def start(cls, workers: int, package_root: str, kernel_name: str, template: str | None, modules: Sequence[str] = PREIMPORTS) -> _EarlyPool:
        """Spawn ``workers`` workers now (one no-op task each: the pool spawns workers on submit)."""
        ipc_root = tempfile.mkdtemp(prefix="lopsnb-ipc-", dir="/tmp" if os.path.isdir("/tmp") else None)
        before = _descendants()
        prestart = Prestart(kernel_name=kernel_name, template=template, scratch=os.path.join(ipc_root, "prestart"), modules=tuple(modules))
        pool = _spawn_pool(workers, package_root, ipc_root, prestart)
        try:
            with _workers_start_without_sigint():
                for _ in range(workers):
                    pool.submit(ping)
        except BaseException:
            _kill_pool(pool, before)
            shutil.rmtree(ipc_root, ignore_errors=True)
            raise
        return cls(pool=pool, before=before, workers=workers, ipc_root=ipc_root)

    def close(self) -> None:
        """Kill the workers and their kernels, unless :func:`_run_pools` took the pool."""
        if not self.taken:
            self.taken = True
            _kill_pool(self.pool, self.before)
            shutil.rmtree(self.ipc_root, ignore_errors=True)


def _start_early(workspace: str | os.PathLike[str], programs: Sequence[str] | None, workers: int | None, kernel_name: str,
                 template: str | os.PathLike[str] | None, notebook: str | os.PathLike[str] | None = None) -> _EarlyPool | None:
    """Start the worker pool for a local batch before the workspace is loaded (None: kernels are not reused).

    The kernels import the report's libraries only for the shipped notebooks
    (``notebook`` None): what a user's notebook needs is not known.
    """
    from lopsnb.runner.worker import _reuse_kernels

    if not _reuse_kernels():
        return None
    if programs:
        expected = len(programs)
    else:
        # Every program file (catalog courses too: an upper bound) and the pages.
        folder = Path(workspace) / "programs"
        expected = (len(list(folder.glob("*.yml")) + list(folder.glob("*.yaml"))) if folder.is_dir() else 1) + len(PAGES)
    n = workers if workers is not None else default_workers(expected)
    package_root = str(Path(__file__).resolve().parents[2])
    template_dir = str(Path(template).expanduser().resolve()) if template is not None else None
    return _EarlyPool.start(n, package_root, kernel_name, template_dir, PREIMPORTS if notebook is None else ("matplotlib.pyplot",))


def _descendants() -> set[int]:
    try:
        import psutil

        return {p.pid for p in psutil.Process().children(recursive=True)}
    except Exception:  # pragma: no cover - psutil ships with distributed/ipykernel
        return set()


def _kill_pool(pool: cf.ProcessPoolExecutor, before: set[int]) -> None:
    """Kill a pool's workers and everything they started (kernels), then shut it down.

    ``before``: this process's descendants before the pool existed; every
    newer descendant is killed too, which also catches a worker that was
    still starting and kernels whose worker had already exited.
    """
    procs = list((getattr(pool, "_processes", None) or {}).values())
    try:
        import psutil

        victims: list[psutil.Process] = []
        for proc in procs:
            try:
                victims.append(psutil.Process(proc.pid))
                victims += psutil.Process(proc.pid).children(recursive=True)
            except psutil.Error:
                pass
        victims += [p for p in psutil.Process().children(recursive=True) if p.pid not in before]
        # Not the resource tracker: this process still talks to it on the way
        # out, and a killed one is relaunched with a page of warnings.
        tracker = _resource_tracker_pid()
        victims = [v for v in victims if v.pid != tracker]
        for victim in victims:
            try:
                victim.kill()
            except psutil.Error:
                pass
    except ImportError:  # pragma: no cover - psutil ships with distributed/ipykernel
        for proc in procs:
            proc.kill()
    pool.shutdown(wait=False, cancel_futures=True)


@contextlib.contextmanager
def _workers_start_without_sigint() -> Iterator[None]:
    """Ignore SIGINT while the pool spawns its workers (``submit`` starts them).

    An ignored signal stays ignored across exec, and Python keeps it so: a
    Ctrl-C that lands while a worker is still importing cannot print that
    worker's traceback. The window lasts as long as the submits.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _resource_tracker_pid() -> int | None:
    try:
        from multiprocessing import resource_tracker

        return getattr(resource_tracker._resource_tracker, "_pid", None)
    except Exception:  # pragma: no cover - a private attribute of CPython
        return None


def _as_completed(futures: Iterable[cf.Future[Any]]) -> Iterable[cf.Future[Any]]:
    """Like ``concurrent.futures.as_completed``, but wakes up twice a second.

    A blocking wait without a timeout is not interrupted by Ctrl-C when the
    signal lands on one of the executor's helper threads; polling lets the
    main thread see the KeyboardInterrupt promptly.
    """
    pending = set(futures)
    while pending:
        finished, pending = cf.wait(pending, timeout=0.5, return_when=cf.FIRST_COMPLETED)
        yield from finished


def _run_local(tasks: Sequence[ProgramTask], workers: int, done: Callable[[ProgramRun], None], tmp_root: Path, early: _EarlyPool | None = None) -> None:
    """Run tasks in a process pool; survive workers that die.

    When a worker dies (killed, segfault, out of memory) the whole pool is
    broken and every unfinished future fails. Programs that had not started
    are simply resubmitted to a fresh pool. Programs that were running — each
    leaves its scratch folder behind — are suspects: a lone suspect is the
    culprit and fails; several are re-run one at a time, and one that kills
    its worker again fails. ``early``: a pool started before the workspace
    was loaded (:class:`_EarlyPool`), used for the first round.
    """
    package_root = tasks[0].package_root if tasks else ""
    # Kernel sockets of all workers, in one short folder removed even when
    # workers are killed (socket paths must stay under ~100 characters).
    ipc_root = early.ipc_root if early is not None else tempfile.mkdtemp(prefix="lopsnb-ipc-", dir="/tmp" if os.path.isdir("/tmp") else None)
    try:
        _run_pools(tasks, workers, done, tmp_root, package_root, ipc_root, early)
    finally:
        shutil.rmtree(ipc_root, ignore_errors=True)


def _run_pools(tasks: Sequence[ProgramTask], workers: int, done: Callable[[ProgramRun], None], tmp_root: Path, package_root: str, ipc_root: str,
               early: _EarlyPool | None = None) -> None:
    queue = list(tasks)
    isolate: list[ProgramTask] = []
    while queue:
        if early is not None:
            # Its workers may already be past their kernel start: the first round only.
            early.taken = True
            before, pool, early = early.before, early.pool, None
        else:
            before = _descendants()
            pool = _spawn_pool(min(workers, len(queue)), package_root, ipc_root)
        with _workers_start_without_sigint():
            futures = {pool.submit(execute_program, t): t for t in queue}
        queue = []
        broken: list[ProgramTask] = []
        try:
            for fut in _as_completed(futures):
                task = futures[fut]
                try:
                    done(fut.result())
                except BrokenProcessPool:
                    broken.append(task)
                except Exception as exc:  # unpicklable result and the like
                    done(crashed_run(task, f"the worker could not return a result ({type(exc).__name__}: {exc})", type(exc).__name__))
        except BaseException:
            _kill_pool(pool, before)
            raise
        pool.shutdown(wait=True)
        if not broken:
            break
        suspects = [t for t in broken if (tmp_root / f"work-{t.program_id}").exists()]
        for t in suspects:
            shutil.rmtree(tmp_root / f"work-{t.program_id}", ignore_errors=True)
        queue = [t for t in broken if t not in suspects]
        if len(suspects) == 1:
            done(crashed_run(suspects[0], "the worker process running this program died (killed, crashed or out of memory)"))
        else:
            isolate += suspects
    for task in isolate:
        before = _descendants()
        pool = _spawn_pool(1, package_root, ipc_root)
        try:
            with _workers_start_without_sigint():
                fut = pool.submit(execute_program, task)
            for _ in _as_completed([fut]):
                pass
            try:
                done(fut.result())
            except BrokenProcessPool:
                shutil.rmtree(tmp_root / f"work-{task.program_id}", ignore_errors=True)
                done(crashed_run(task, "the worker process running this program died (killed, crashed or out of memory)"))
        except BaseException:
            _kill_pool(pool, before)
            raise
        pool.shutdown(wait=True)


def _run_dask(tasks: Sequence[ProgramTask], workers: int, scheduler: str | None, done: Callable[[ProgramRun], None]) -> None:
    """Run tasks on a dask cluster (a scheduler address, or a local cluster of processes)."""
    try:
        from distributed import Client, LocalCluster, as_completed
    except ImportError as exc:  # pragma: no cover - optional dependency
        raise RunError("--executor dask needs dask.distributed: pip install 'lopsnb[dask]'") from exc
    cluster = None
    if scheduler:
        client = Client(scheduler)
    else:
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None, env=dict(_worker_env()))
        client = Client(cluster)
    try:
        futures = {client.submit(execute_program, t, key=f"lopsnb-{t.program_id}-{os.urandom(4).hex()}", pure=False): t for t in tasks}
        for fut in as_completed(list(futures)):
            task = futures[fut]
            try:
                done(fut.result())
            except Exception as exc:  # KilledWorker, lost connection, ...
                done(crashed_run(task, f"the dask worker running this program failed ({type(exc).__name__}: {exc})", type(exc).__name__))
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _worker_env() -> dict[str, str]:
    from lopsnb.runner.worker import THREAD_ENV

    return dict(THREAD_ENV)


def _check_arguments(executor: str, timeout: float, workers: int | None) -> None:
    if executor not in _EXECUTORS:
        raise RunError(f"executor must be one of {list(_EXECUTORS)}, got {executor!r}")
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
        raise RunError(f"timeout must be a positive number of seconds, got {timeout!r}")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise RunError(f"workers must be a positive integer, got {workers!r}")


@dataclass(kw_only=True)
class _Plan:
    """What one batch will run: the programs selected and everything their fingerprints need."""

    ws: Any
    ws_path: Path
    known: list[str]
    catalog: list[str]
    selected: list[str]
    full: bool
    nb_path: Path
    nb_bytes: bytes
    templates: list[tuple[str, bytes]]
    ws_fp: str
    data_as_of: str | None
    kernel_name: str
    timeout: float
    cache: str | None = None
    #: The batch's memo folder shared by its kernels (lopsnb._memo; None: none).
    memo: str | None = None
    #: A user's copy of the report template folder (None: the shipped one).
    template_dir: str | None = None
    #: Tables the workspace holds (kept after the tables are released).
    present: frozenset[str] = frozenset()
    #: Failed programs that get no folder (reserved or non-slug ids), over every known program.
    folderless: dict[str, dict[str, Any]] = field(default_factory=dict)

    def task(self, pid: str, title: str, notebook: Path, tmp_root: Path) -> ProgramTask:
        # The folder holding the lopsnb package (site-packages or a checkout): the kernel imports the same lopsnb.
        package_root = str(Path(__file__).resolve().parents[2])
        return ProgramTask(pid, title, str(self.ws_path), str(notebook), str(tmp_root), float(self.timeout), self.kernel_name,
                           self.data_as_of, __version__, package_root, cache=self.cache, template=self.template_dir, memo=self.memo)

    def params(self, pid: str | None, notebook: Path) -> dict[str, Any]:
        params: dict[str, Any] = {"workspace": str(self.ws_path)}
        if pid is not None:
            params["program_id"] = pid
        params.update(notebook=str(notebook), kernel_name=self.kernel_name, timeout=self.timeout)
        return params


def _select(ws: Any, programs: Sequence[str] | None) -> tuple[list[str], list[str], list[str]]:
    """(known, catalog, selected) program ids; unknown or catalog-only selections raise RunError."""
    ws_path = Path(ws.path).resolve()
    # Catalog courses (evaluate: false) are tracked for inputs only: no report.
    catalog = sorted(pid for pid, prog in ws.programs.items() if not prog.evaluate)
    known = sorted((set(ws.programs) - set(catalog)) | set(ws.program_errors))
    selected = list(dict.fromkeys(programs)) if programs else known
    not_evaluated = [p for p in selected if p in catalog]
    if not_evaluated:
        raise RunError(f"program(s) {', '.join(map(repr, not_evaluated))} are catalog courses (evaluate: false): there is no impact report to render")
    unknown = [p for p in selected if p not in known]
    if unknown:
        raise RunError(f"unknown program id(s) {', '.join(map(repr, unknown))}; programs in {ws_path}: {', '.join(known) or 'none'}")
    return known, catalog, selected


def _plan(ws: Any, programs: Sequence[str] | None, notebook: str | os.PathLike[str] | None, kernel_name: str, timeout: float,
          template: str | os.PathLike[str] | None = None) -> _Plan:
    known, catalog, selected = _select(ws, programs)
    templates = _template_files(template)  # checks the template before anything is written
    nb_path = Path(notebook).resolve() if notebook is not None else DEFAULT_NOTEBOOK
    if not nb_path.is_file():
        raise RunError(f"notebook {nb_path} not found")
    plan = _Plan(
        ws=ws, ws_path=Path(ws.path).resolve(), known=known, catalog=catalog, selected=selected,
        full=not programs and notebook is None, nb_path=nb_path, nb_bytes=nb_path.read_bytes(),
        templates=templates, template_dir=str(Path(template).expanduser().resolve()) if template is not None else None,
        ws_fp=ws.fingerprint(), data_as_of=ws.data_as_of.strftime("%Y-%m-%d") if ws.data_as_of is not None else None,
        kernel_name=kernel_name, timeout=timeout,
    )
    for pid in known:
        if _folderless(pid):
            err = ws.program_errors.get(pid)
            why = _reserved_message(pid) if pid in RESERVED_IDS else _slug_message(pid)
            error = f"{err} {why}" if err is not None and why not in str(err) else str(err or why)
            plan.folderless[pid] = {"program_id": pid, "status": "failed", "error": error,
                                    "error_type": type(err).__name__ if err is not None else "ProgramConfigError",
                                    "program_name": ws.programs[pid].name if pid in ws.programs else None}
    return plan


def _previous_ok(out: Path, pid: str, fingerprint: str) -> dict[str, Any] | None:
    """The status of an earlier ok run of ``pid`` on the same inputs, in a folder the runner made."""
    folder = program_dir(out, pid)
    if not is_marked(folder):
        return None
    previous = _read_json(folder / "status.json")
    if previous is None or previous.get("status") != "ok" or previous.get("input_fingerprint") != fingerprint:
        return None
    return previous if (folder / "report.html").is_file() else None


def _queue(plan: _Plan, batch: _Batch, force: bool, meta: dict[str, tuple[str | None, dict[str, Any], str | None, bool]]) -> list[ProgramTask]:
    """Record refused and unchanged programs at once; return the tasks that must run."""
    ws = plan.ws
    tasks: list[ProgramTask] = []
    for pid in plan.selected:
        prog_file = _program_file(plan.ws_path, pid)
        fp = input_fingerprint(plan.ws_fp, prog_file.read_bytes() if prog_file else b"", plan.nb_bytes, __version__, plan.templates)
        name = ws.programs[pid].name if pid in ws.programs else None
        params = plan.params(pid, plan.nb_path)
        meta[pid] = (name, params, fp, False)
        if pid in ws.program_errors or pid in RESERVED_IDS:
            err = ws.program_errors.get(pid)
            run = ProgramRun(pid, "failed", error=str(err) if err is not None else _reserved_message(pid),
                             error_type=type(err).__name__ if err is not None else "ProgramConfigError")
            run.started_at = run.finished_at = _now_iso()
            batch.record(pid, name, run, params, fp)
            continue
        if not _folderless(pid) and batch.target(pid, False)[0] is None:
            # A folder of the user's where the report would go: fail now, run nothing.
            batch.record(pid, name, ProgramRun(pid, "failed", error_type="OutputFolderConflict", started_at=_now_iso(), finished_at=_now_iso()), params, fp)
            continue
        previous = None if force or _folderless(pid) else _previous_ok(batch.out, pid, fp)
        if previous is not None:
            batch.skip(pid, previous)
            continue
        tasks.append(plan.task(pid, name or pid, plan.nb_path, batch.tmp_root))
    if plan.full:
        tasks += _queue_pages(plan, batch, force, meta)
    return tasks


def _queue_pages(plan: _Plan, batch: _Batch, force: bool, meta: dict[str, tuple[str | None, dict[str, Any], str | None, bool]]) -> list[ProgramTask]:
    """The learning-function pages run with a full batch, when the workspace holds their table."""
    tasks: list[ProgramTask] = []
    for pid, (nb_name, table, title) in PAGES.items():
        if not plan.ws.has(table):
            continue
        page_nb = NOTEBOOK_DIR / nb_name
        fp = input_fingerprint(plan.ws_fp, b"", page_nb.read_bytes(), __version__, plan.templates)
        meta[pid] = (title, plan.params(None, page_nb), fp, True)
        batch.progress.total += 1
        previous = None if force else _previous_ok(batch.out, pid, fp)
        if previous is not None:
            batch.skip(pid, previous, page=True)
            continue
        tasks.append(plan.task(pid, title, page_nb, batch.tmp_root))
    batch.progress.refresh()
    return tasks


def run_batch(
    workspace: str | os.PathLike[str],
    *,
    programs: Sequence[str] | None = None,
    out: str | os.PathLike[str] = "reports",
    workers: int | None = None,
    timeout: float = 600,
    executor: Executor = "local",
    scheduler: str | None = None,
    force: bool = False,
    notebook: str | os.PathLike[str] | None = None,
    kernel_name: str = "python3",
    progress: bool = True,
    template: str | os.PathLike[str] | None = None,
    pdf: bool = False,
) -> BatchResult:
    """Render the impact report of every program (or of ``programs``) and the portfolio index.

    Parameters
    ----------
    workspace : path
        The workspace folder (loaded once; invalid program files become failed
        programs with a failure page).
    programs : sequence of str, optional
        Program ids to run (default: all). Unknown ids raise :class:`RunError`.
        The portfolio index always lists every program with a status in ``out``.
    out : path
        Output folder: new, empty, or made by an earlier run (it holds the
        ``.lopsnb-output`` marker). It may not be the workspace, lie inside it
        or contain it, and must be writable.
    workers : int, optional
        Parallel worker processes; default ``min(cores, programs, memory cap)``
        with about 1.5 GiB per worker.
    timeout : float
        Seconds allowed per program (whole notebook, kernel start included;
        also the per-cell limit). A program over it is stopped and failed.
    executor : {"local", "dask"}
        A local process pool, or dask.distributed.
    scheduler : str, optional
        Dask scheduler address; default: a ``LocalCluster`` of ``workers`` processes.
    force : bool
        Re-run programs whose inputs are unchanged since their last ok run.
    notebook : path, optional
        The notebook to execute (default ``notebooks/impact_report.ipynb``);
        it must take the papermill parameters ``workspace``, ``program_id``
        and ``results_path`` and write ``results.json`` to ``results_path``.
    kernel_name : str
        Jupyter kernel to run the notebook with.
    progress : bool
        Show a progress bar on stderr.
    template : path, optional
        A copy of the report template folder (``templates/lopsnb``) to render
        the reports with; default: the template shipped with lopsnb.
    pdf : bool
        Also print ``report.pdf`` beside every program's ``report.html``
        (failure pages included) and ``index.pdf`` beside the index, with the
        system's headless Chromium or Chrome, once all HTML is written.

    Returns
    -------
    BatchResult
        ``exit_code`` is 1 when any program failed. A program with a
        reserved or invalid id, or whose folder in ``out`` exists but was not
        made by the runner, is failed (no folder is written for it).

    Raises
    ------
    RunError
        Bad arguments, unknown program ids, missing notebook or template, an output folder
        that overlaps the workspace, is not writable, or is a non-empty folder
        the runner did not make.
    ValidationError, SourceError
        The workspace's tables are invalid (nothing can run).
    BatchInterrupted
        Ctrl-C: workers and kernels were stopped; finished programs are whole.
    """
    _check_arguments(executor, timeout, workers)
    if pdf:
        from lopsnb.runner.printing import check_browser

        check_browser()
    programs = [programs] if isinstance(programs, str) else programs
    check_not_overlapping(Path(out), Path(workspace))
    early = None
    if executor == "local":
        _check_kernel(kernel_name)
        # The workers start their kernels while this process loads the workspace.
        early = _start_early(workspace, programs, workers, kernel_name, template, notebook)
    try:
        return _run_loaded(workspace, early, programs=programs, out=out, workers=workers, timeout=timeout, executor=executor,
                           scheduler=scheduler, force=force, notebook=notebook, kernel_name=kernel_name, progress=progress, template=template, pdf=pdf)
    finally:
        if early is not None:
            early.close()


def _run_loaded(workspace: str | os.PathLike[str], early: _EarlyPool | None, *, programs: Sequence[str] | None,
                out: str | os.PathLike[str], workers: int | None, timeout: float, executor: str, scheduler: str | None, force: bool,
                notebook: str | os.PathLike[str] | None, kernel_name: str, progress: bool, template: str | os.PathLike[str] | None,
                pdf: bool = False) -> BatchResult:
    """:func:`run_batch` once its arguments are checked: load, plan, run, write the portfolio."""
    from tqdm.auto import tqdm

    from lopsnb.io.workspace import load_workspace

    # A valid cache from an earlier run spares re-validating unchanged sources.
    ws = load_workspace(workspace, on_program_error="collect", cache=True)
    check_not_overlapping(Path(out), Path(ws.path))
    plan = _plan(ws, programs, notebook, kernel_name, timeout, template)
    run_id = new_run_id()
    out_path = prepare_out(Path(out), run_id)
    clean_stale_tmp(out_path)
    tmp = TempRoot(out_path, run_id)
    bar = tqdm(total=len(plan.selected), desc="lopsnb", unit="program", file=sys.stderr, disable=not progress, dynamic_ncols=True)
    batch = _Batch(out_path, tmp.path, _versions(), bar, run_id)
    try:
        plan.cache = _batch_cache(ws, tmp.path)
        # Private to this user (its pickles are loaded by the kernels) and
        # removed with the scratch folder: entries never outlive the batch.
        memo = tmp.path / "memo"
        memo.mkdir(mode=0o700)
        plan.memo = str(memo)
        meta: dict[str, tuple[str | None, dict[str, Any], str | None, bool]] = {}
        tasks = _queue(plan, batch, force, meta)
        _execute(plan, batch, tasks, meta, workers=workers, executor=executor, scheduler=scheduler, early=early)
        index_path = _write_portfolio(out_path, plan.known, ws, plan.data_as_of, catalog=plan.catalog, present=plan.present,
                                      folderless={**plan.folderless, **batch.folderless})
    except KeyboardInterrupt:
        total = int(bar.total or 0)
        raise BatchInterrupted(batch.done, max(0, total - batch.done)) from None
    finally:
        bar.close()
        tmp.close()
    ordered = [batch.outcomes[p] for p in plan.selected if p in batch.outcomes] + [batch.pages[p] for p in PAGES if p in batch.pages]
    result = BatchResult(out=out_path, index_path=index_path, programs=ordered)
    if pdf:
        from lopsnb.runner.printing import print_pages

        try:
            printed = print_pages([*(p.report for p in ordered if p.report is not None), index_path])
        except KeyboardInterrupt:
            # Every HTML page is written; a PDF is whole or absent (written aside, then renamed).
            raise BatchInterrupted(batch.done, 0) from None
        result.pdfs, result.pdf_errors = printed.written, printed.errors
    return result


def _execute(plan: _Plan, batch: _Batch, tasks: Sequence[ProgramTask], meta: dict[str, tuple[str | None, dict[str, Any], str | None, bool]],
             *, workers: int | None, executor: str, scheduler: str | None, early: _EarlyPool | None = None) -> None:
    """Run ``tasks`` and record each result as it arrives."""

    def done(run: ProgramRun) -> None:
        name, params, fp, page = meta[run.program_id]
        batch.record(run.program_id, name, run, params, fp, page=page)

    # The notebooks read the cache (or the sources), not this process's copy:
    # release the tables so the parent does not hold a second workspace in
    # memory for the whole batch. Only which tables exist is still needed.
    ws = plan.ws
    plan.present = frozenset(t for t in ws.tables if ws.has(t))
    ws.tables = {}
    if not tasks:
        return
    n = workers if workers is not None else default_workers(len(tasks))
    if executor == "dask":
        _run_dask(tasks, n, scheduler, done)
    else:
        slow = frozenset(pid for pid, prog in ws.programs.items() if prog.evaluation.design == "did")
        _run_local(_longest_first(tasks, batch.out, slow), n, done, batch.tmp_root, early)


def _longest_first(tasks: Sequence[ProgramTask], out: Path, slow: frozenset[str] = frozenset()) -> list[ProgramTask]:
    """``tasks`` in the order to start them: programs, longest expected first, then the pages.

    Longest first lets the workers finish together. The expected time of a
    program is its duration in the previous run's ``status.json`` in ``out``
    (ok or not); one without is given the mean of the known ones, and the
    ``slow`` ones (DiD designs: Rambachan–Roth intervals) the longest; with
    nothing known the slow ones go first, in their order. The pages come
    last because the operations page evaluates every program again and finds
    the programs' Rambachan–Roth intervals in the batch's memo when they are
    done. Only the order in which the notebooks start changes.
    """
    pages = [t for t in tasks if t.program_id in PAGES]
    programs = [t for t in tasks if t.program_id not in PAGES]
    known: dict[str, float] = {}
    for task in programs:
        folder = out / task.program_id
        status = _read_json(folder / "status.json") if not _folderless(task.program_id) and is_marked(folder) else None
        took = status.get("duration_s") if status else None
        if isinstance(took, (int, float)) and not isinstance(took, bool) and took >= 0:
            known[task.program_id] = float(took)
    mean = sum(known.values()) / len(known) if known else 0.0
    longest = max(known.values(), default=1.0)

    def expected(task: ProgramTask) -> float:
        return known.get(task.program_id, longest if task.program_id in slow else mean)

    return sorted(programs, key=lambda t: -expected(t)) + pages


def _batch_cache(ws: Any, tmp_root: Path) -> str | None:
    """The validated workspace as a Parquet cache for the notebooks (None: they read the sources).

    Written once per batch into ``<workspace>/.lopsnb-cache`` (reused while the
    sources are unchanged); a read-only workspace gets a cache in the batch's
    scratch folder instead.
    """
    from lopsnb.io.cache import CacheError, build_cache

    if ws.cache_dir is not None:
        return str(ws.cache_dir)
    for root in (None, tmp_root / "cache"):
        try:
            return str(build_cache(ws, root=root))
        except CacheError:
            continue
    return None


def _now_iso() -> str:
    from lopsnb.runner.worker import _now

    return _now()


def _pages(out: Path, present: frozenset[str]) -> list[dict[str, str]]:
    """Links to the learning-function pages for the index (status from their folders)."""
    pages = []
    for pid, (_, table, title) in PAGES.items():
        folder = program_dir(out, pid)
        status = _read_json(folder / "status.json") if is_marked(folder) else None
        if table not in present:
            pages.append({"title": title, "link": "", "status": "not measured", "note": f"no {table} table in the workspace"})
        elif status is not None:
            pages.append({"title": title, "link": f"{pid}/report.html", "status": str(status.get("status")), "note": str(status.get("error") or "")})
    return pages


def _write_portfolio(
    out: Path, known: Sequence[str], ws: Any, data_as_of: str | None, *, catalog: Sequence[str] = (), present: frozenset[str] = frozenset(),
    folderless: dict[str, dict[str, Any]] | None = None,
) -> Path:
    """Write index.html, portfolio.csv and portfolio.xlsx from every program folder in ``out``.

    ``folderless``: statuses of failed programs that have no folder (reserved
    or invalid ids, a clashing folder the runner did not make); they are listed
    as failed, without a link.
    """
    from lopsnb.report.portfolio import EXPORT_COLUMNS, portfolio_frame, render_index

    folderless = {pid: st for pid, st in (folderless or {}).items() if pid in known}
    results: dict[str, dict[str, Any] | None] = {pid: None for pid in folderless}
    statuses: dict[str, dict[str, Any]] = dict(folderless)
    for pid in known:
        if pid in folderless or _folderless(pid):
            continue
        folder = program_dir(out, pid)
        status = _read_json(folder / "status.json") if is_marked(folder) else None
        if status is None:
            continue
        statuses[pid] = status
        results[pid] = _read_json(folder / "results.json") if status.get("status") == "ok" else None
    frame = portfolio_frame(results, statuses)
    frame.loc[frame["program_id"].isin(list(folderless)), "report"] = ""
    title = f"Training portfolio — {ws.name or Path(ws.path).name}"
    index = out / "index.html"
    pages = _pages(out, present)
    if catalog:
        pages.append({"title": f"{len(catalog)} catalog course(s) tracked for completion only (evaluate: false)", "link": "",
                      "status": "not evaluated", "note": ", ".join(ws.programs[c].name for c in catalog)})
    atomic_write(index, render_index(frame, title=title, generated_at=_now_iso(), data_as_of=data_as_of, pages=pages))
    export = _no_formulas(frame[[c for c in EXPORT_COLUMNS if c in frame.columns]])
    atomic_write(out / "portfolio.csv", export.to_csv(index=False))
    buf = io.BytesIO()
    try:
        export.to_excel(buf, index=False, sheet_name="portfolio", engine="openpyxl")
    except ImportError:  # openpyxl is an optional extra
        pass
    else:
        atomic_write(out / "portfolio.xlsx", buf.getvalue())
    return index


#: First characters that make a spreadsheet read a cell as a formula.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _no_formulas(frame: Any) -> Any:
    """Text cells that a spreadsheet would evaluate as formulas, prefixed with ``'``.

    Program names, outcomes and error messages are user data: a name such as
    ``=HYPERLINK("http://…")`` must stay text in portfolio.csv/.xlsx (CSV
    injection), and openpyxl would otherwise write it as a live formula.
    """
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype.kind in "biufcmM":
            continue
        out[col] = out[col].map(lambda v: "'" + v if isinstance(v, str) and v.startswith(_FORMULA_START) else v)
    return out


def _check_kernel(kernel_name: str) -> None:
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        KernelSpecManager().get_kernel_spec(kernel_name)
    except NoSuchKernel as exc:
        raise RunError(f"no Jupyter kernel named {kernel_name!r}; install one with: python -m ipykernel install --sys-prefix --name {kernel_name}") from exc

