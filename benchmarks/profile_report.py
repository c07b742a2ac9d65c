#!/usr/bin/env python
"""Where a report's time goes inside one worker (``make bench`` runs it for docs/performance.md).

Runs :func:`lopsnb.runner.worker.execute_program` in this process, as a pool
worker would, for the programs of a workspace one after another (the first
in a new kernel, the others in the warm one), timing each phase: kernel
start and preparation, ``evaluate()`` inside the setup cell, figure encoding, the notebook's cells (papermill's per-cell
durations, grouped), writing and re-reading the executed notebook, the HTML
export and the size of the figures the report embeds. Prints one JSON object
on the last line of stdout.

Usage::

    python benchmarks/profile_report.py WORKSPACE [--programs ID,ID] [--prestart]
"""

from __future__ import annotations

import argparse
import base64
import json
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

__all__ = ["main", "profile"]

# Run in the kernel before a program: time every figure encoding (the inline
# backend's PNG, through FigureCanvasBase.print_figure) into sys._lopsnb_fig.
_FIG_TIMER = """
import sys, time
import matplotlib.backend_bases as _bb
if not hasattr(_bb.FigureCanvasBase, "_lopsnb_pf"):
    _bb.FigureCanvasBase._lopsnb_pf = _bb.FigureCanvasBase.print_figure
    def _pf(self, *a, **k):
        # Imported here: the kernel's namespace is reset before each program.
        import sys, time
        import matplotlib.backend_bases as _bb
        t0 = time.perf_counter()
        try:
            return _bb.FigureCanvasBase._lopsnb_pf(self, *a, **k)
        finally:
            sys._lopsnb_fig[0] += time.perf_counter() - t0
            sys._lopsnb_fig[1] += 1
            sys._lopsnb_fig[2] = repr({key: k.get(key) for key in ("format", "dpi", "bbox_inches")})
    _bb.FigureCanvasBase.print_figure = _pf
sys._lopsnb_fig = [0.0, 0, ""]
# evaluate() as the notebook imports it (from lopsnb.evaluation), timed into sys._lopsnb_eval.
import lopsnb.evaluation as _ev
if not hasattr(_ev, "_lopsnb_evaluate"):
    _ev._lopsnb_evaluate = _ev.evaluate
    def _evaluate(*a, **k):
        import sys, time
        import lopsnb.evaluation as _ev
        t0 = time.perf_counter()
        try:
            return _ev._lopsnb_evaluate(*a, **k)
        finally:
            sys._lopsnb_eval[0] += time.perf_counter() - t0
    _ev.evaluate = _evaluate
sys._lopsnb_eval = [0.0]
"""


def _kernel_eval(km: Any, expression: str) -> Any:
    """The value of ``expression`` in ``km``'s kernel (a Python literal)."""
    import ast

    from jupyter_client.blocking import BlockingKernelClient

    kc = BlockingKernelClient(parent=km)
    kc.load_connection_info(km.get_connection_info())
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=60)
        reply = kc.execute_interactive("", silent=True, store_history=False, user_expressions={"x": expression}, timeout=60)
        return ast.literal_eval(reply["content"]["user_expressions"]["x"]["data"]["text/plain"])
    finally:
        kc.stop_channels()


_IMG = re.compile(r'src="data:image/(png|jpeg|svg\+xml);base64,([A-Za-z0-9+/=]+)"')


def _timed(owner: Any, name: str, sink: dict[str, float]) -> Callable[[], None]:
    """Wrap ``owner.name`` so that its calls add their wall time to ``sink[name]``; return an undo."""
    original = getattr(owner, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            sink[name] = sink.get(name, 0.0) + time.perf_counter() - t0

    setattr(owner, name, wrapper)
    return lambda: setattr(owner, name, original)


def _cells(ipynb: str) -> dict[str, Any]:
    """Per-cell durations of an executed notebook: the setup cell, figure cells, the other cells."""
    nb = json.loads(ipynb)
    out = {"setup_s": 0.0, "figure_cells_s": 0.0, "other_cells_s": 0.0, "cells": 0, "figures": 0}
    for cell in nb["cells"]:
        if cell.get("cell_type") != "code":
            continue
        took = float(cell.get("metadata", {}).get("papermill", {}).get("duration") or 0.0)
        figs = sum(1 for o in cell.get("outputs", []) if "image/png" in o.get("data", {}))
        out["cells"] += 1
        out["figures"] += figs
        tags = cell.get("metadata", {}).get("tags", [])
        key = "setup_s" if "setup" in tags else "figure_cells_s" if figs else "other_cells_s"
        out[key] += took
    return out


def _images(html: str) -> dict[str, Any]:
    sizes = [len(base64.b64decode(m.group(2))) for m in _IMG.finditer(html)]
    return {"images": len(sizes), "image_kb": round(sum(sizes) / 1024, 1), "html_kb": round(len(html.encode()) / 1024, 1)}


def profile(workspace: Path, programs: list[str] | None, prestart: bool) -> dict[str, Any]:
    """Run ``programs`` of ``workspace`` through one worker's execute_program; time each phase."""
    import lopsnb
    from lopsnb.io.cache import build_cache
    from lopsnb.runner import batch as B
    from lopsnb.runner import worker as W

    t0 = time.perf_counter()
    ws = lopsnb.load_workspace(workspace, on_program_error="collect")
    cache = str(build_cache(ws))
    load_s = time.perf_counter() - t0
    ids = programs or sorted(pid for pid, p in ws.programs.items() if p.evaluate)
    scratch = Path(tempfile.mkdtemp(prefix="lopsnb-profile-"))
    W.init_worker(str(ROOT))
    if prestart:
        W.init_pool_worker(str(ROOT), __import__("os").getppid(), str(scratch), W.Prestart(kernel_name="python3", template=None, scratch=str(scratch)))
        t0 = time.perf_counter()
        W._await_prestart()
        prestart_s = time.perf_counter() - t0
    else:
        prestart_s = None
    import nbformat
    import papermill

    from lopsnb.report import export

    rows = []
    try:
        for pid in ids:
            sink: dict[str, float] = {}
            undo = [_timed(W, "_warm_kernel", sink), _timed(papermill, "execute_notebook", sink), _timed(nbformat, "read", sink),
                    _timed(export, "export_html", sink), _timed(nbformat, "writes", sink), _timed(W, "_exporter", sink)]
            task = W.ProgramTask(pid, ws.programs[pid].name, str(Path(workspace).resolve()), str(B.DEFAULT_NOTEBOOK), str(scratch), 600.0,
                                 "python3", None, lopsnb.__version__, str(ROOT), cache=cache)
            km = W._KERNELS.get("python3")
            if km is not None:
                W._run_silent(km, _FIG_TIMER, ready_timeout=60, timeout=60)
            t0 = time.perf_counter()
            run = W.execute_program(task)
            total = time.perf_counter() - t0
            if run.status != "ok":
                raise SystemExit(f"{pid} failed: {run.error}\n{run.log_tail}")
            fig = _kernel_eval(W._KERNELS["python3"], "__import__('sys')._lopsnb_fig") if km is not None else None
            ev = _kernel_eval(W._KERNELS["python3"], "__import__('sys')._lopsnb_eval") if km is not None else None
            for u in undo:
                u()
            if run.status != "ok":
                raise SystemExit(f"{pid} failed: {run.error}\n{run.log_tail}")
            kernel = sink.get("_warm_kernel", 0.0)
            row = {"program_id": pid, "total_s": total, "kernel_s": kernel, "notebook_s": sink.get("execute_notebook", 0.0) - kernel,
                   "reread_s": sink.get("read", 0.0), "export_s": sink.get("export_html", 0.0) - sink.get("_exporter", 0.0),
                   "exporter_s": sink.get("_exporter", 0.0), "writes_s": sink.get("writes", 0.0)}
            if fig is not None:
                row.update(savefig_s=fig[0], savefig_calls=fig[1], savefig_kwargs=fig[2], evaluate_s=ev[0] if ev else None)
            row.update(_cells(run.ipynb or "{}"))
            row.update(_images(run.html or ""))
            rows.append(row)
            print(json.dumps(row), file=sys.stderr, flush=True)
    finally:
        W._shutdown_kernels()
        shutil.rmtree(scratch, ignore_errors=True)
    return {"load_cache_s": load_s, "prestart_s": prestart_s, "programs": rows}


def main(argv: list[str] | None = None) -> int:
    """Command line: print the profile as JSON on the last line."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("workspace", type=Path)
    ap.add_argument("--programs", default=None)
    ap.add_argument("--prestart", action="store_true", help="start and pre-import the kernel first, as a pool worker does")
    a = ap.parse_args(argv)
    programs = [p for p in a.programs.split(",") if p] if a.programs else None
    print(json.dumps(profile(a.workspace, programs, a.prestart)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
