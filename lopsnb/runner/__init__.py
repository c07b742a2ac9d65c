"""Batch runner: every program's notebook → HTML report, plus a portfolio index."""

from __future__ import annotations

from lopsnb.runner.command import add_run_arguments, run_command

__all__ = ["run_batch", "BatchResult", "BatchInterrupted", "ProgramOutcome", "DEFAULT_NOTEBOOK", "input_fingerprint", "add_run_arguments", "run_command"]

#: Imported on first use: the batch module loads papermill and nbconvert, which
#: ``lopsnb --help`` (it imports ``lopsnb.runner.command``) does not need.
_LAZY_BATCH = frozenset({"run_batch", "BatchResult", "BatchInterrupted", "ProgramOutcome", "DEFAULT_NOTEBOOK", "input_fingerprint"})


def __getattr__(name: str):  # noqa: ANN202 - module-level lazy attribute (PEP 562)
    if name not in _LAZY_BATCH:
        raise AttributeError(f"module 'lopsnb.runner' has no attribute {name!r}")
    from lopsnb.runner import batch

    value = getattr(batch, name)
    globals()[name] = value
    return value
