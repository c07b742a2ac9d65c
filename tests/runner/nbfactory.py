"""A tiny stand-in for notebooks/impact_report.ipynb, written by the runner tests."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

PARAMS = 'workspace = ""\nprogram_id = ""\nresults_path = ""\n'

BODY = '''\
import json, os, signal, sys, time
from pathlib import Path
import yaml
FAIL, SLEEP, KILL = {"boom"}, {"sleepy"}, {"killer"}
prog = yaml.safe_load((Path(workspace) / "programs" / f"{program_id}.yml").read_text())
print("STDERR-NOISE-XYZ", file=sys.stderr)
if program_id in FAIL:
    raise ValueError(f"planned failure in {program_id}")
if program_id in SLEEP:
    time.sleep(600)
if program_id in KILL:
    os.kill(os.getppid(), signal.SIGKILL)
    time.sleep(10)
'''

PLOT = '''\
import matplotlib.pyplot as plt
fig, ax = plt.subplots(figsize=(3, 2))
ax.plot([0, 1], [0, 1])
plt.show()
'''

RESULTS = '''\
result = {
    "schema_version": 1, "lopsnb_version": "0.1.0",
    "program": {"id": program_id, "name": prog["name"], "outcome": "revenue", "unit": "USD per month", "direction": "increase"},
    "data": {"data_as_of": "2026-05-01", "workspace": "ws"},
    "inputs": {"measured": True, "participants": 3},
    "results": {"outcome": "revenue", "unit": "USD per month", "direction": "increase", "transform": "none", "primary_method": "did",
                "estimates": {"did": {"method": "did", "label": "Difference-in-differences", "estimate": 10.0, "ci_low": 2.0, "ci_high": 18.0}}},
    "evidence": {"grade": "moderate", "reasons": []},
    "roi": {"available": True, "reason": None, "roi_pct": 50.0, "roi_interval": [10.0, 90.0], "break_even_effect": 5.0,
            "costs": 1200.0, "benefits": 1800.0, "bcr": 1.5, "conservative_roi_pct": 5.0},
}
Path(results_path).write_text(json.dumps(result), encoding="utf-8")
'''


def write_notebook(path: Path) -> Path:
    """Write the test notebook to ``path`` and return it."""
    nb = new_notebook()
    params = new_code_cell(PARAMS)
    params.metadata["tags"] = ["parameters"]
    nb.cells = [
        params,
        new_markdown_cell("## Overview\n\nA test report."),
        new_code_cell(BODY),
        new_markdown_cell("## Results\n\n### The chart"),
        new_code_cell(PLOT),
        new_code_cell(RESULTS),
    ]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    nbformat.write(nb, str(path))
    return path
