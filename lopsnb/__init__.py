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

#: Public names imported on first use, so that ``import lopsnb`` (and the
#: ``lopsnb --help`` command line, which imports this package) does not load
#: pandas, scipy and statsmodels before they are needed.
_IO = frozenset({"Program", "Workspace", "load_program", "load_workspace"})
_EVALUATION = frozenset({"ProgramEvaluation", "evaluate"})

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


def __getattr__(name: str):  # noqa: ANN202 - module-level lazy attribute (PEP 562)
    if name in _IO:
        import lopsnb.io as module
    elif name in _EVALUATION:
        import lopsnb.evaluation as module
    elif name == "run_batch":
        import lopsnb.runner as module
    else:
        raise AttributeError(f"module 'lopsnb' has no attribute {name!r}")
    value = getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | _IO | _EVALUATION | {"run_batch"})
