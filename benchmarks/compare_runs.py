#!/usr/bin/env python
"""Compare two ``lopsnb run`` output folders, ignoring what differs between runs by design.

Usage::

    python benchmarks/compare_runs.py OUT_A OUT_B

Compares, for every program folder (the output folders' own paths masked), ``results.json`` (parsed, with
timestamp and version keys removed), ``report.ipynb`` (cells and outputs;
papermill's timings, execution timestamps, the run metadata and the injected
workspace and results paths removed) and
``report.html`` (timestamps masked), and ``portfolio.csv``. Prints one line
per difference and exits 1 when there is any (issue 17: a faster runner must
not change any result).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

__all__ = ["main", "normalise_results", "normalise_notebook", "normalise_html"]

_VOLATILE_KEYS = {"generated_at", "started_at", "finished_at", "duration_s", "versions", "version", "lopsnb_version", "timestamp"}
_SCRATCH = re.compile(r"\.lopsnb-tmp-[0-9a-f]+")
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2})?(\.\d+)?(Z|[+-]\d{2}:?\d{2})?( UTC)?")


def _strip(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if k not in _VOLATILE_KEYS}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def normalise_results(text: str) -> Any:
    """results.json without timestamps and versions."""
    return _strip(json.loads(text))


def normalise_notebook(text: str) -> Any:
    """An executed notebook's cells (source, outputs, tags) without timings and run metadata."""
    nb = json.loads(text)
    cells = []
    for cell in nb["cells"]:
        meta = {k: v for k, v in cell.get("metadata", {}).items() if k not in ("papermill", "execution")}
        source = cell["source"]
        if "injected-parameters" in meta.get("tags", []):
            # Where this run's workspace copy and scratch folder were: inputs of the run, not results.
            lines = source.splitlines(keepends=True) if isinstance(source, str) else source
            source = [line for line in lines if not line.startswith(("workspace = ", "results_path = "))]
        cells.append({"type": cell["cell_type"], "source": source, "metadata": meta, "outputs": cell.get("outputs"),
                      "count": cell.get("execution_count")})
    return cells


def normalise_html(text: str) -> str:
    """A report page with its timestamps masked."""
    return _TIMESTAMP.sub("<time>", text)


def _text(path: Path, out: Path) -> str:
    # The injected results_path names the run's own output and scratch folders.
    return _SCRATCH.sub(".lopsnb-tmp-<run>", path.read_text(encoding="utf-8").replace(str(out.resolve()), "<out>"))


def _compare(a: Path, b: Path) -> list[str]:
    diffs = []
    for folder in sorted(p for p in a.iterdir() if p.is_dir() and not p.name.startswith(".")):
        other = b / folder.name
        for name, norm in (("results.json", normalise_results), ("report.ipynb", normalise_notebook), ("report.html", normalise_html)):
            fa, fb = folder / name, other / name
            if not fa.is_file() and not fb.is_file():
                continue
            if not (fa.is_file() and fb.is_file()):
                diffs.append(f"{folder.name}/{name}: only in one run")
            elif norm(_text(fa, a)) != norm(_text(fb, b)):
                diffs.append(f"{folder.name}/{name}: differs")
    for name in ("portfolio.csv",):
        if (a / name).read_text(encoding="utf-8") != (b / name).read_text(encoding="utf-8"):
            diffs.append(f"{name}: differs")
    return diffs


def main(argv: list[str] | None = None) -> int:
    """Command line: print the differences; exit 1 when there is any."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    diffs = _compare(Path(args[0]), Path(args[1]))
    for line in diffs:
        print(line)
    print(f"{len(diffs)} difference(s)")
    return 1 if diffs else 0


if __name__ == "__main__":
    raise SystemExit(main())
