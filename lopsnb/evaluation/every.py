"""Evaluate every program of a workspace, with one exception policy.

The portfolio planner (:func:`lopsnb.evaluation.plan.evaluate_all`) and the
operations scorecard (:func:`lopsnb.evaluation.operations.program_evidence_grades`)
both go through :func:`evaluate_every`, so a program that cannot be evaluated
is treated the same way in both.

Exception policy
----------------
Every error lopsnb raises on purpose (:class:`~lopsnb.errors.LopsnbError`:
invalid data, an estimator that cannot run, an unknown program id) is
recorded on the program's outcome and the loop goes on.  Any other exception
is a defect in lopsnb and propagates.  A program whose file failed validation
(``Workspace.program_errors``) is recorded with its
:class:`~lopsnb.errors.ProgramConfigError`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from lopsnb.errors import LopsnbError
from lopsnb.evaluation.evaluate import ProgramEvaluation, evaluate
from lopsnb.io.model import Workspace

__all__ = ["ProgramOutcome", "evaluate_every"]


@dataclass(kw_only=True)
class ProgramOutcome:
    """What evaluating one program gave: an evaluation or the reason there is none.

    Attributes
    ----------
    program_id : str
        The program.
    name : str
        Its display name (the id when the program file is invalid or unknown).
    evaluation : ProgramEvaluation or None
        The evaluation; None exactly when ``error`` is set.
    error : LopsnbError or None
        Why there is no evaluation.
    invalid_file : bool
        True when the error is the program file's own validation error.
    """

    program_id: str
    name: str
    evaluation: ProgramEvaluation | None = None
    error: LopsnbError | None = None
    invalid_file: bool = False

    @property
    def ok(self) -> bool:
        """Whether the program was evaluated."""
        return self.evaluation is not None


def evaluate_every(ws: Workspace, *, program_ids: Sequence[str] | None = None) -> dict[str, ProgramOutcome]:
    """Evaluate every program with ``evaluate: true`` (or the ones named).

    Parameters
    ----------
    ws : Workspace
        A loaded workspace.
    program_ids : sequence of str, optional
        Evaluate these programs instead of every ``evaluate: true`` one; an
        id the workspace does not define gives an outcome whose error is an
        :class:`~lopsnb.errors.UnknownProgramError`.

    Returns
    -------
    dict of str to ProgramOutcome
        The evaluated programs in id order (or in the order given), then
        every invalid program file of the workspace.
    """
    ids = [pid for pid, p in sorted(ws.programs.items()) if p.evaluate] if program_ids is None else list(program_ids)
    out: dict[str, ProgramOutcome] = {}
    for pid in ids:
        name = ws.programs[pid].name if pid in ws.programs else pid
        try:
            out[pid] = ProgramOutcome(program_id=pid, name=name, evaluation=evaluate(ws, pid))
        except LopsnbError as exc:
            out[pid] = ProgramOutcome(program_id=pid, name=name, error=exc)
    for pid, err in ws.program_errors.items():
        out[pid] = ProgramOutcome(program_id=pid, name=pid, error=err, invalid_file=True)
    return out
