"""lopsnb — prove (or honestly fail to prove) the business impact of training.

The public surface is small: :func:`load_workspace` reads and validates a
workspace folder, :func:`evaluate` builds a program's chain of evidence and
ROI, :func:`run_batch` renders reports for every program.
"""

from __future__ import annotations

from lopsnb._version import __version__

from lopsnb.errors import (
    DataError,
    EvaluationError,
    InsufficientDataError,
    LopsnbError,
    ProgramConfigError,
    SourceError,
    UnknownProgramError,
    ValidationError,
)
from lopsnb.io import Program, Workspace, load_program, load_workspace
from lopsnb.evaluation import ProgramEvaluation, evaluate

__all__ = [
    "__version__",
    "DataError",
    "EvaluationError",
    "InsufficientDataError",
    "LopsnbError",
    "Program",
    "ProgramConfigError",
    "ProgramEvaluation",
    "SourceError",
    "UnknownProgramError",
    "ValidationError",
    "Workspace",
    "evaluate",
    "load_program",
    "load_workspace",
    "run_batch",
]


def __getattr__(name: str):  # noqa: ANN202 - module-level lazy attribute
    # The batch runner pulls in papermill and nbconvert: import it on first use
    # so that `import lopsnb` in a notebook stays light.
    if name == "run_batch":
        from lopsnb.runner import run_batch

        return run_batch
    raise AttributeError(f"module 'lopsnb' has no attribute {name!r}")
