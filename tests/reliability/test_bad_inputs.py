"""A corpus of bad inputs, each through ``load_workspace``/``evaluate`` AND ``run_batch``.

Every case is one small workspace generated here. It ends either in a
:class:`~lopsnb.errors.LopsnbError` whose message names the file, the row
(when the problem is a cell) and the column, or in a correct result. Through
the batch runner: an invalid table stops the run before anything is written;
an invalid program gets a failure page naming the reason; a case that loads
gets a complete program folder. Never a raw pandas/statsmodels error, never
a temporary file left behind.

Single-kind loader checks live in tests/io/test_workspace.py; this corpus
checks the whole path, end to end.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pytest

from conftest import small_tables, write_costs_xlsx_with_title_rows
from lopsnb.errors import LopsnbError, ValidationError
from lopsnb.evaluation import evaluate
from lopsnb.io.workspace import load_workspace
from security.kit import kernel_available, leftovers, program_yml, run, write_workspace

Tables = dict[str, pd.DataFrame | None]


@dataclass(frozen=True)
class Where:
    """Where an error must point: a file name, a row (None: not a cell problem) and a column (None: the whole file)."""

    file: str
    row: int | None
    column: str | None


@dataclass(frozen=True)
class Case:
    name: str
    edit: Callable[[Tables], None] = lambda t: None
    after: Callable[[Path], None] = lambda root: None
    error: type[LopsnbError] | None = None
    where: tuple[Where, ...] = ()
    program_error: bool = False  # the table loads; the program fails (a failure page, not a stopped run)
    programs: dict[str, str] = field(default_factory=lambda: {"demo": program_yml("demo", comparison="{role: [Rep]}")})


def _set(table: str, row: int, column: str, value: object) -> Callable[[Tables], None]:
    def edit(t: Tables) -> None:
        frame = t[table].astype({column: object})  # type: ignore[union-attr]
        frame.loc[row, column] = value
        t[table] = frame

    return edit


def _rename(t: Tables) -> None:
    t["people"] = t["people"].rename(columns={"person_id": "PersonID"})  # type: ignore[union-attr]


def _both_dates(t: Tables) -> None:
    _set("enrollments", 0, "completed_on", "2026-02-30")(t)
    _set("enrollments", 1, "completed_on", "2206-03-12")(t)


def _dup(t: Tables) -> None:
    _set("people", 5, "person_id", "P00")(t)


def _empty_people(t: Tables) -> None:
    t["people"] = t["people"].iloc[0:0]  # type: ignore[union-attr]


def _empty_kpis(t: Tables) -> None:
    t["kpis"] = t["kpis"].iloc[0:0]  # type: ignore[union-attr]


def _zero_bytes(root: Path) -> None:
    (root / "kpis.csv").write_bytes(b"")


def _ragged(root: Path) -> None:
    lines = (root / "costs.csv").read_text().splitlines()
    lines[2] += ",surplus,cells"
    (root / "costs.csv").write_text("\n".join(lines) + "\n")


def _xapi(root: Path) -> None:
    (root / "enrollments.csv").unlink()
    good = {"actor": {"account": {"homePage": "https://hr.example", "name": "P00"}}, "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"},
            "object": {"id": "https://lms.example/course/demo"}, "timestamp": "2026-03-10T10:00:00Z"}
    bad = json.loads(json.dumps(good))
    bad["timestamp"] = "2026-13-40T99:00:00Z"
    (root / "statements.jsonl").write_text(json.dumps(good) + "\n" + json.dumps(bad) + "\n", encoding="utf-8")
    (root / "workspace.yml").write_text(
        "sources:\n  enrollments: {xapi: statements.jsonl, activities: {'https://lms.example/course/demo': demo}}\n", encoding="utf-8"
    )


def _excel_bad(root: Path) -> None:
    (root / "costs.csv").unlink()
    write_costs_xlsx_with_title_rows(
        root / "costs.xlsx",
        ["program_id", "category", "amount", "description", "prorate_share"],
        [["demo", "delivery", "a lot", "trainer", 1]],
    )


ERRORS = [
    Case("renamed column", _rename, error=ValidationError, where=(Where("people.csv", None, "person_id"),)),
    Case("wrong type", _set("kpis", 4, "value", "12 USD"), error=ValidationError, where=(Where("kpis.csv", 6, "value"),)),
    Case("unparseable date", _set("enrollments", 2, "enrolled_on", "next tuesday"), error=ValidationError,
         where=(Where("enrollments.csv", 4, "enrolled_on"),)),
    Case("impossible dates", _both_dates, error=ValidationError,
         where=(Where("enrollments.csv", 2, "completed_on"), Where("enrollments.csv", 3, "completed_on"))),
    Case("duplicate ids", _dup, error=ValidationError, where=(Where("people.csv", 2, "person_id"), Where("people.csv", 7, "person_id"))),
    Case("dangling reference", _set("enrollments", 1, "person_id", "P99"), error=ValidationError, where=(Where("enrollments.csv", 3, "person_id"),)),
    Case("negative cost", _set("costs", 0, "amount", -250), error=ValidationError, where=(Where("costs.csv", 2, "amount"),)),
    Case("score above max", _set("assessments", 1, "score", 180), error=ValidationError, where=(Where("assessments.csv", 3, "score"),)),
    # A header-only table is refused ("has no data rows"), not read as an empty measurement.
    Case("empty people table", _empty_people, error=ValidationError, where=(Where("people.csv", None, None),)),
    Case("zero-byte file", after=_zero_bytes, error=ValidationError, where=(Where("kpis.csv", None, None),)),
    Case("malformed csv line", after=_ragged, error=ValidationError, where=(Where("costs.csv", 3, None),)),
    Case("excel merged header, bad cell", after=_excel_bad, error=ValidationError, where=(Where("costs.xlsx", 4, "amount"),)),
    Case("xapi malformed statement", after=_xapi, error=ValidationError, where=(Where("statements.jsonl", 2, "timestamp"),)),
    Case("empty kpis table", _empty_kpis, error=ValidationError, where=(Where("kpis.csv", None, None),)),
]


def _build(root: Path, case: Case) -> Path:
    tables: Tables = dict(small_tables())
    case.edit(tables)
    write_workspace(root, tables, case.programs)
    case.after(root)
    return root


def _assert_located(exc: LopsnbError, case: Case) -> None:
    message = str(exc)
    assert "Traceback" not in message
    for w in case.where:
        hits = [p for p in exc.problems if Path(p.file).name == w.file and p.row == w.row and p.column == w.column]  # type: ignore[attr-defined]
        assert hits, f"{case.name}: no problem at {w}: {exc.problems}"  # type: ignore[attr-defined]
        assert w.file in message
        if w.row is not None:
            assert f"row {w.row}" in message or f"line {w.row}" in message or f"record {w.row}" in message, message
        if w.column is not None:
            assert f"column '{w.column}'" in message, message


@pytest.mark.parametrize("case", ERRORS, ids=[c.name for c in ERRORS])
def test_bad_input_is_a_located_lopsnb_error(tmp_path: Path, case: Case) -> None:
    root = _build(tmp_path / "ws", case)
    with pytest.raises(LopsnbError) as info:
        ws = load_workspace(root)
        evaluate(ws, "demo")
    assert isinstance(info.value, case.error)  # type: ignore[arg-type]
    _assert_located(info.value, case)


@pytest.mark.parametrize("case", ERRORS, ids=[c.name for c in ERRORS])
def test_bad_input_through_the_batch_runner(tmp_path: Path, case: Case) -> None:
    """Invalid tables stop the run with the same error before any output; an invalid program gets a failure page."""
    root = _build(tmp_path / "ws", case)
    out = tmp_path / "out"
    if not case.program_error:
        with pytest.raises(LopsnbError) as info:
            run(root, out)
        assert isinstance(info.value, case.error)  # type: ignore[arg-type]
        _assert_located(info.value, case)
        assert not out.exists() or list(out.iterdir()) == []
        return
    result = run(root, out)  # no kernel: the program fails on its file
    (outcome,) = result.programs
    assert outcome.status == "failed" and outcome.error_type == "ProgramConfigError"
    page = (out / "demo" / "report.html").read_text(encoding="utf-8")
    assert "could not be produced" in page and "evaluation.outcome" in page and "demo.yml" in page
    assert sorted(p.name for p in (out / "demo").iterdir() if p.name != ".lopsnb-output") == ["report.html", "status.json"]
    assert leftovers(out) == []


# --------------------------------------------------------------------------- cases that load


def _no_comparison(t: Tables, pid: str = "no-comparison") -> None:
    _enrol(t, pid, ["P04", "P05", "P06"])


def _enrol(t: Tables, pid: str, people: list[str], hours: float = 3.0) -> None:
    extra = pd.DataFrame({"person_id": people, "program_id": pid, "enrolled_on": "2026-03-01", "completed_on": "2026-03-10",
                          "status": "completed", "hours": hours})
    t["enrollments"] = pd.concat([t["enrollments"], extra], ignore_index=True)


def _missing_outcome(t: Tables) -> None:
    _enrol(t, "missing-outcome", ["P00", "P01", "P02"])
    blank = t["kpis"][t["kpis"]["metric"] == "revenue"].assign(metric="nps_score", value=None)  # type: ignore[index]
    t["kpis"] = pd.concat([t["kpis"], blank], ignore_index=True)


def _zero_cost(t: Tables) -> None:
    _enrol(t, "zero-cost", ["P04", "P05", "P06", "P07"], hours=0.0)
    extra = pd.DataFrame({"program_id": ["zero-cost"], "category": ["delivery"], "amount": [0.0], "description": ["free webinar"], "prorate_share": [1.0]})
    t["costs"] = pd.concat([t["costs"], extra], ignore_index=True)


def _single(t: Tables) -> None:
    _enrol(t, "single", ["P08"])


def _latin1(root: Path) -> None:
    people = pd.read_csv(root / "people.csv", dtype=str, keep_default_na=False)
    people.loc[0, "name"] = "José Müller-Øster"
    (root / "people.csv").write_bytes(people.to_csv(index=False).encode("latin-1"))


def _excel_ok(root: Path) -> None:
    costs = pd.read_csv(root / "costs.csv", keep_default_na=False)
    (root / "costs.csv").unlink()
    write_costs_xlsx_with_title_rows(
        root / "costs.xlsx", list(costs.columns), [[None if v == "" else v for v in row] for row in costs.itertuples(index=False)]
    )


@dataclass(frozen=True)
class OkCase:
    name: str
    program: str
    yml: str
    edit: Callable[[Tables], None] = lambda t: None
    after: Callable[[Path], None] = lambda root: None


OK = [
    OkCase("empty comparison group", "no-comparison", program_yml("no-comparison", comparison="{role: [Astronaut]}"), _no_comparison),
    OkCase("all-missing outcome", "missing-outcome", program_yml("missing-outcome", outcome="nps_score"), _missing_outcome),
    OkCase("zero total cost", "zero-cost", program_yml("zero-cost"), _zero_cost),
    OkCase("single participant", "single", program_yml("single"), _single),
    OkCase("latin-1 csv", "demo", program_yml("demo"), after=_latin1),
    OkCase("excel with merged header rows", "demo", program_yml("demo"), after=_excel_ok),
]


def _ok_workspace(root: Path, cases: list[OkCase]) -> Path:
    tables: Tables = dict(small_tables())
    programs = {"demo": program_yml("demo")}
    for c in cases:
        c.edit(tables)
        programs[c.program] = c.yml
    write_workspace(root, tables, programs)
    for c in cases:
        c.after(root)
    return root


def check(name: str, ws, ev) -> None:  # noqa: ANN001
    """What a correct result is for each case (shared by the in-process and the batch checks)."""
    if name == "empty comparison group":
        assert ev.impact.primary is None and "0 comparison entities" in ev.impact.failures["did"]
        assert not ev.roi and "isolat" in ev.roi_reason and ev.evidence.grade == "insufficient"
    elif name == "all-missing outcome":
        assert ev.impact.primary is None and "0 participating entities" in ev.impact.failures["did"]
        assert not ev.roi and ev.evidence.grade == "insufficient"
    elif name == "zero total cost":
        # Nothing costed: "costs incomplete", no ROI (not a division by zero), decision fix.
        assert not ev.roi and ev.roi_reason.startswith("not claimed") and ev.inputs.total_cost is None
        assert any(a.action.startswith("costs incomplete") for a in ev.audit) and ev.decision.action == "fix"
    elif name == "single participant":
        assert ev.inputs.participants == 1 and ev.impact.primary is None and ev.evidence.grade == "insufficient"
    elif name == "latin-1 csv":
        assert ws.people.loc[0, "name"] == "José Müller-Øster" and any("not UTF-8" in n for n in ws.notes)
        assert ev.impact.primary is not None
    elif name == "excel with merged header rows":
        assert ws.sources["costs"] == "costs.xlsx" and ws.costs["amount"].sum() == 1200.0
        assert ev.inputs.total_cost is not None and ev.inputs.total_cost >= 1200.0  # the ROI itself is withheld: 3 participants


@pytest.mark.parametrize("case", OK, ids=[c.name for c in OK])
def test_edge_input_gives_a_correct_result(tmp_path: Path, case: OkCase) -> None:
    ws = load_workspace(_ok_workspace(tmp_path / "ws", [case]))
    ev = evaluate(ws, case.program)
    check(case.name, ws, ev)
    json.dumps(ev.to_dict(), allow_nan=False)  # results.json is strict JSON


@pytest.fixture(scope="module")
def ok_batch(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    """Every loading case in one workspace (each adds its own program or file), rendered once."""
    if not kernel_available():
        pytest.skip("no Jupyter kernelspec named python3 (run `make install`)")
    base = tmp_path_factory.mktemp("corpus")
    root = _ok_workspace(base / "ws", OK)
    out = base / "out"
    return root, out, run(root, out)


@pytest.mark.parametrize("case", OK, ids=[c.name for c in OK])
def test_edge_input_through_the_batch_runner(ok_batch, case: OkCase) -> None:
    root, out, result = ok_batch
    outcome = {p.program_id: p for p in result.programs}[case.program]
    assert outcome.status == "ok", outcome
    folder = out / case.program
    assert sorted(p.name for p in folder.iterdir() if p.name != ".lopsnb-output") == ["report.html", "report.ipynb", "results.json", "status.json"]
    assert leftovers(out) == []
    results = json.loads((folder / "results.json").read_text(encoding="utf-8"))
    page = (folder / "report.html").read_text(encoding="utf-8")
    assert "Traceback" not in page and "Error" not in page.replace("std_error", "")
    ws = load_workspace(root)
    check(case.name, ws, evaluate(ws, case.program))
    if case.name == "zero total cost":
        # Nothing costed: no ROI figure, "not claimed" with the reason, and decision fix.
        assert results["roi"]["available"] is False and results["roi"]["reason"].startswith("not claimed")
        assert results["decision"]["action"] == "fix" and "not claimed" in page
    if case.name == "empty comparison group":
        assert "0 comparison entities" in page
    if case.name == "single participant":
        assert results["inputs"]["participants"] == 1


def test_batch_folder_holds_only_complete_outputs(ok_batch) -> None:
    root, out, result = ok_batch
    assert result.failed == 0, result.summary()
    names = {p.name for p in out.iterdir() if p.name != ".lopsnb-output"}
    assert names == {"index.html", "portfolio.csv", "portfolio.xlsx", *(p.program_id for p in result.programs)}
    index = (out / "index.html").read_text(encoding="utf-8")
    for p in result.programs:
        assert f'href="{p.program_id}/report.html"' in index
