"""In-process measurements for ``benchmarks/run.py`` (run in a fresh interpreter each time).

Usage::

    python benchmarks/_measure.py load WORKSPACE        # load + validate, build the cache
    python benchmarks/_measure.py evaluate WORKSPACE [--repeats N] [--programs ID,ID]
    python benchmarks/_measure.py slice WORKSPACE --programs ID,ID [--repeats N]

Prints one JSON object on the last line of stdout. Peak memory is this
process's maximum resident set size (``getrusage``), so every measurement
starts in a new process.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def _peak_mb() -> float:
    # Linux reports ru_maxrss in KiB.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _load(ws_path: Path) -> dict[str, Any]:
    t0 = time.perf_counter()
    import lopsnb
    from lopsnb.io.cache import CACHE_DIRNAME, build_cache

    t_import = time.perf_counter() - t0
    shutil.rmtree(ws_path / CACHE_DIRNAME, ignore_errors=True)
    t0 = time.perf_counter()
    ws = lopsnb.load_workspace(ws_path, on_program_error="collect")
    t_load = time.perf_counter() - t0
    t0 = time.perf_counter()
    build_cache(ws)
    t_cache = time.perf_counter() - t0
    rows = {name: int(len(frame)) for name, frame in ws.tables.items()}
    evaluated = sorted(pid for pid, p in ws.programs.items() if p.evaluate)
    return {
        "import_s": t_import,
        "load_validate_s": t_load,
        "cache_s": t_cache,
        "peak_mb": _peak_mb(),
        "rows": rows,
        "programs": len(ws.programs),
        "evaluated": evaluated,
    }


def _evaluate(ws_path: Path, programs: list[str] | None, repeats: int) -> dict[str, Any]:
    import lopsnb
    from lopsnb.evaluation import evaluate

    ws = lopsnb.load_workspace(ws_path, on_program_error="collect", cache=True)
    ids = programs or sorted(pid for pid, p in ws.programs.items() if p.evaluate)
    times: dict[str, float] = {}
    for pid in ids:
        runs = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            evaluate(ws, pid).to_dict()
            runs.append(time.perf_counter() - t0)
        times[pid] = statistics.median(runs)
    return {"evaluate_s": times, "peak_mb": _peak_mb()}


def _slice(ws_path: Path, programs: list[str], repeats: int) -> dict[str, Any]:
    import lopsnb
    from lopsnb.evaluation import evaluate
    from lopsnb.io.cache import build_cache

    build_cache(ws_path)  # reused when it is already up to date
    out: dict[str, dict[str, float]] = {}
    for pid in programs:
        loads, evals = [], []
        for _ in range(repeats):
            t0 = time.perf_counter()
            ws = lopsnb.load_workspace(ws_path, on_program_error="collect", cache=True, programs=[pid])
            t1 = time.perf_counter()
            evaluate(ws, pid).to_dict()
            t2 = time.perf_counter()
            if ws.cache_dir is None:
                raise SystemExit("the cache was not used")
            loads.append(t1 - t0)
            evals.append(t2 - t1)
        out[pid] = {"load_s": statistics.median(loads), "evaluate_s": statistics.median(evals)}
    return {"slice": out, "peak_mb": _peak_mb()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=("load", "evaluate", "slice"))
    ap.add_argument("workspace", type=Path)
    ap.add_argument("--programs", default=None)
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args(argv)
    programs = [p for p in a.programs.split(",") if p] if a.programs else None
    if a.what == "load":
        result = _load(a.workspace)
    elif a.what == "evaluate":
        result = _evaluate(a.workspace, programs, a.repeats)
    else:
        result = _slice(a.workspace, programs or [], a.repeats)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
