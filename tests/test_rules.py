"""The rules that live in one place: participants, costs, every-program loop, options, errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pydantic import BaseModel, ConfigDict

from conftest import SAMPLE
from lopsnb import evaluate, load_workspace
from lopsnb.errors import (
    DataError,
    EvaluationError,
    InsufficientDataError,
    LopsnbError,
    RunError,
    SourceError,
    UnknownProgramError,
    ValidationError,
)
from lopsnb.evaluation.costs import program_costs
from lopsnb.evaluation.every import evaluate_every
from lopsnb.evaluation.guard import numerical_failures
from lopsnb.evaluation.operations import program_evidence_grades
from lopsnb.evaluation.plan import evaluate_all, program_spend
from lopsnb.io.problems import pydantic_problems
from lopsnb.io.rules import active_enrollments, is_dropped, participant_counts, participant_ids
from lopsnb.options import Direction, choices, validate_option


@pytest.fixture(scope="module")
def ws():
    return load_workspace(SAMPLE)


# ---------------------------------------------------------------- participants
def test_participant_rule() -> None:
    enr = pd.DataFrame({
        "program_id": ["a", "a", "a", "a", "b"],
        "person_id": ["p1", "p2", "p3", "p1", "p2"],
        "status": ["completed", "dropped", None, " Dropped ", "enrolled"],
    })
    assert is_dropped(enr).tolist() == [False, True, False, True, False]
    assert active_enrollments(enr, "a").index.tolist() == [0, 2]
    assert participant_ids(enr, "a").tolist() == ["p1", "p3"]
    assert participant_counts(enr).to_dict() == {"a": 2, "b": 1}
    assert not is_dropped(enr.drop(columns="status")).any()  # no status column: nobody dropped


def test_waived_is_no_participation_in_any_stage(make_workspace) -> None:
    from conftest import small_tables
    from lopsnb.evaluation.panel import _participants
    from lopsnb.io.rules import is_not_participating

    enr = small_tables()["enrollments"]
    enr.loc[enr["person_id"] == "P02", "status"] = "waived"  # cmi5: credited without attempt
    assert is_not_participating(enr).tolist() == [False, False, True, True]
    assert not is_dropped(enr).iloc[2]  # a waiver is not a drop either
    ws = load_workspace(make_workspace(enrollments=enr))
    assert participant_counts(ws.enrollments).to_dict() == {"demo": 2}
    assert evaluate(ws, "demo").inputs.participants == 2
    assert program_spend(ws).set_index("program_id").loc["demo", "participants"] == 2
    entities, attrition, _notes, _all = _participants(ws, ws.program("demo"))
    assert set(entities["entity_id"]) == {"P00", "P01"} and attrition["participants"] == 2 and attrition["dropped"] == 1
    assert "     2 participants" in ws.summary()


def test_every_stage_counts_participants_the_same_way(ws) -> None:
    counts = participant_counts(ws.table("enrollments"))
    spend = program_spend(ws).set_index("program_id")["participants"]
    for pid in ("sales-enablement", "new-hire-onboarding"):
        ev = evaluate(ws, pid)
        assert ev.inputs.participants == counts[pid] == spend[pid]
        assert f"{counts[pid]:>6} participants" in ws.summary()


# ---------------------------------------------------------------- costs
def test_planner_spend_is_the_evaluations_fully_loaded_cost(ws) -> None:
    spend = program_spend(ws).set_index("program_id")["costs"]
    for pid in ("sales-enablement", "time-management"):
        ev = evaluate(ws, pid)
        assert program_costs(ws, pid).total == pytest.approx(ev.roi.costs, rel=0, abs=1e-9) == pytest.approx(spend[pid], abs=1e-9)
    costs = ws.table("costs")
    one = costs[costs["program_id"] == "sales-enablement"]
    # Independent sum: cost lines × share (blank = 1) + hours × hourly cost of the program's enrollments.
    lines = float((one["amount"] * one["prorate_share"].fillna(1.0)).sum())
    enr = ws.table("enrollments")
    enr = enr[enr["program_id"] == "sales-enablement"].merge(ws.table("people")[["person_id", "hourly_cost"]], on="person_id")
    time = float((enr["hours"] * enr["hourly_cost"]).sum(min_count=1)) if "participant_time" not in set(one["category"]) else 0.0
    assert program_costs(ws, "sales-enablement").total == pytest.approx(lines + time, rel=1e-12)


# ---------------------------------------------------------------- every program
def test_one_loop_one_policy(ws) -> None:
    outcomes = evaluate_every(ws, program_ids=["sales-enablement", "no-such-program"])
    assert outcomes["sales-enablement"].ok and outcomes["sales-enablement"].error is None
    missing = outcomes["no-such-program"]
    assert not missing.ok and isinstance(missing.error, UnknownProgramError) and isinstance(missing.error, KeyError)
    results, statuses = evaluate_all(ws, program_ids=["sales-enablement", "no-such-program"])
    assert results["no-such-program"] is None and statuses["no-such-program"]["status"] == "failed"
    assert statuses["no-such-program"]["error"].startswith("UnknownProgramError: no program 'no-such-program'")
    grades = program_evidence_grades(ws)
    for pid, outcome in evaluate_every(ws).items():
        assert grades[pid] == (outcome.evaluation.evidence.grade if outcome.ok else "insufficient")
    assert all(grades[pid] == "not evaluated" for pid, p in ws.programs.items() if not p.evaluate)


def test_a_bug_is_not_swallowed(ws, monkeypatch: pytest.MonkeyPatch) -> None:
    import lopsnb.evaluation.every as every

    def broken(ws, pid):  # noqa: ANN001, ANN202
        raise ZeroDivisionError("a defect")

    monkeypatch.setattr(every, "evaluate", broken)
    with pytest.raises(ZeroDivisionError):
        evaluate_every(ws, program_ids=["sales-enablement"])


# ---------------------------------------------------------------- errors
def test_errors_are_also_the_matching_builtin(ws) -> None:
    assert issubclass(DataError, ValueError) and issubclass(ValidationError, ValueError) and issubclass(SourceError, ValueError)
    assert not issubclass(SourceError, OSError)
    assert issubclass(EvaluationError, ValueError) and issubclass(InsufficientDataError, ValueError)
    assert issubclass(RunError, RuntimeError) and issubclass(UnknownProgramError, KeyError)
    with pytest.raises(KeyError) as info:
        ws.program("nope")
    assert isinstance(info.value, LopsnbError)
    assert str(info.value).startswith("no program 'nope' in ") and "sales-enablement" in str(info.value)


def test_numerical_failures_become_evaluation_errors() -> None:
    @numerical_failures
    def singular() -> float:
        return float(np.linalg.inv(np.zeros((2, 2)))[0, 0])

    @numerical_failures
    def bad_value() -> None:
        raise ValueError("zero-size array")

    @numerical_failures
    def deliberate() -> None:
        raise InsufficientDataError("too few")

    with pytest.raises(EvaluationError, match=r"could not be solved \(numpy.linalg: Singular matrix\)") as info:
        singular()
    assert isinstance(info.value.__cause__, np.linalg.LinAlgError)
    with pytest.raises(EvaluationError, match="^zero-size array$"):
        bad_value()
    with pytest.raises(InsufficientDataError):
        deliberate()


# ---------------------------------------------------------------- options
def test_validate_option() -> None:
    assert choices(Direction) == ("increase", "decrease")
    assert validate_option("direction", "decrease", Direction) == "decrease"
    with pytest.raises(EvaluationError, match=r"^direction must be one of 'increase', 'decrease'; got 'up'$"):
        validate_option("direction", "up", Direction)
    with pytest.raises(RunError):
        validate_option("direction", None, Direction, error=RunError)
    with pytest.raises(TypeError):
        choices(str)


# ---------------------------------------------------------------- pydantic problems
class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    size: int


def test_pydantic_problems_name_field_found_and_expected() -> None:
    try:
        _Model.model_validate({"size": "big", "colour": "red"})
    except Exception as exc:  # noqa: BLE001 - the pydantic error under test
        problems = pydantic_problems(exc, "x.yml", line_of=lambda loc: {"size": 3, "colour": 4}.get(loc[0]))  # type: ignore[arg-type]
    by_field = {p.column: p for p in problems}
    assert by_field["name"].found == "nothing (field missing)" and by_field["name"].row is None
    assert by_field["size"].found == "'big'" and by_field["size"].row == 3 and "integer" in by_field["size"].expected
    assert by_field["colour"].found == "no such field" and by_field["colour"].expected.startswith("a known field")
    assert {p.file for p in problems} == {"x.yml"}
