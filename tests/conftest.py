"""Shared fixtures: small, hand-made workspaces written to a temporary folder."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import matplotlib
import pandas as pd
import pytest

matplotlib.use("Agg")

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data_samples" / "acme"

PROGRAM_YML = """\
id: demo
name: Demo Program
owner: Sales Ops
business_goal: Raise revenue per rep
launch: 2026-03-01
chain:
  business_metric: {metric: revenue, direction: increase, unit: USD per month}
  performance_metrics:
    - {metric: win_rate, direction: increase}
evaluation:
  entity: person
  baseline: {start: 2026-01-01, end: 2026-02-28}
  followup: {start: 2026-04-01, end: 2026-05-31}
  design: did
  comparison: {role: [Rep]}
monetization: {value_per_unit: 1.0, periods_per_year: 12}
"""


def small_tables() -> dict[str, pd.DataFrame]:
    """A tiny but complete workspace: 12 people, 4 participants, 5 months of KPIs."""
    people = pd.DataFrame(
        {
            "person_id": [f"P{i:02d}" for i in range(12)],
            "name": [f"Person {i}" for i in range(12)],
            "org_unit": ["east"] * 6 + ["west"] * 6,
            "role": ["Rep"] * 10 + ["Manager"] * 2,
            "location": ["NYC"] * 12,
            "manager_id": ["P10"] * 6 + ["P11"] * 4 + ["", ""],
            "hire_date": ["2020-01-15"] * 12,
            "hourly_cost": [50.0] * 12,
            "email": [f"p{i}@acme.example" for i in range(12)],
            "tenure_years": [float(i % 5) for i in range(12)],
        }
    )
    enrollments = pd.DataFrame(
        {
            "person_id": ["P00", "P01", "P02", "P03"],
            "program_id": ["demo"] * 4,
            "enrolled_on": ["2026-03-01"] * 4,
            "completed_on": ["2026-03-10", "2026-03-12", "2026-03-15", ""],
            "status": ["completed", "completed", "completed", "dropped"],
            "hours": [8, 8, 7.5, 2],
        }
    )
    rows = []
    for i in range(10):
        for m, month in enumerate(["2026-01-01", "2026-02-01", "2026-03-01", "2026-04-01", "2026-05-01"]):
            rows.append({"entity_id": f"P{i:02d}", "metric": "revenue", "period": month, "value": 100 + i + m + (10 if i < 3 and m >= 3 else 0)})
    kpis = pd.DataFrame(rows)
    costs = pd.DataFrame(
        {
            "program_id": ["demo", "demo"],
            "category": ["delivery", "materials"],
            "amount": [1000.0, 200.0],
            "description": ["trainer", "books"],
            "prorate_share": [1.0, None],
        }
    )
    assessments = pd.DataFrame(
        {
            "person_id": ["P00", "P00", "P01", "P01"],
            "program_id": ["demo"] * 4,
            "phase": ["pre", "post", "pre", "post"],
            "score": [50, 80, 60, 70],
            "max_score": [100, 100, 100, 100],
            "taken_on": ["2026-03-01", "2026-03-10", "2026-03-01", "2026-03-12"],
        }
    )
    return {"people": people, "enrollments": enrollments, "kpis": kpis, "costs": costs, "assessments": assessments}


WorkspaceFactory = Callable[..., Path]


@pytest.fixture
def make_workspace(tmp_path: Path) -> WorkspaceFactory:
    """Write a small workspace; keyword overrides replace tables or program text.

    ``make_workspace(people=df)`` replaces a table, ``make_workspace(kpis=None)``
    drops it, ``make_workspace(program="...yaml...")`` replaces the program
    file, ``fmt={"kpis": "parquet"}`` writes a table in another format.
    """

    calls = iter(range(1_000))

    def factory(*, program: str | None = PROGRAM_YML, fmt: dict[str, str] | None = None, **tables: pd.DataFrame | None) -> Path:
        n = next(calls)
        root = tmp_path / ("ws" if n == 0 else f"ws{n}")
        (root / "programs").mkdir(parents=True, exist_ok=True)
        data = small_tables()
        data.update(tables)
        for name, frame in data.items():
            if frame is None:
                continue
            kind = (fmt or {}).get(name, "csv")
            if kind == "csv":
                frame.to_csv(root / f"{name}.csv", index=False)
            elif kind == "parquet":
                frame.to_parquet(root / f"{name}.parquet", index=False)
            elif kind == "xlsx":
                frame.to_excel(root / f"{name}.xlsx", index=False)
        if program is not None:
            (root / "programs" / "demo.yml").write_text(textwrap.dedent(program), encoding="utf-8")
        return root

    return factory


def execute_page(notebook: Path, tmp_path: Path) -> tuple[dict, str, str]:
    """Run a learning-function page notebook on the sample as the runner would.

    Returns the results JSON it wrote, the executed notebook's text and its
    HTML (code hidden).
    """
    import json
    import os

    import nbformat
    import papermill
    from nbconvert import HTMLExporter

    nb = nbformat.read(notebook, as_version=4)
    first_code = next(c for c in nb.cells if c.cell_type == "code")
    assert "parameters" in first_code.metadata.get("tags", [])
    out, results = tmp_path / "out.ipynb", tmp_path / "results.json"
    env_path = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    old = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = env_path
    try:
        papermill.execute_notebook(str(notebook), str(out), parameters={"workspace": str(SAMPLE), "results_path": str(results)},
                                   progress_bar=False, cwd=str(notebook.parent))
    finally:
        if old is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = old
    body, _ = HTMLExporter(exclude_input=True).from_filename(str(out))
    return json.loads(results.read_text()), out.read_text(), body


def write_costs_xlsx_with_title_rows(path: Path, header: list[str], rows: list[list[object]]) -> None:
    """Write a costs sheet as finance teams do: a merged title row and a merged
    group-header row above the real header (which lands on spreadsheet row 3)."""
    from openpyxl import Workbook

    wb = Workbook()
    sheet = wb.active
    sheet.append(["Program costs FY26"])
    sheet.merge_cells("A1:E1")
    sheet.append(["Program", "Cost", None, None, None])
    sheet.merge_cells("B2:C2")
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    wb.save(path)
