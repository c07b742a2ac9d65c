"""Batch runner: every program's notebook → HTML report, plus a portfolio index."""

from __future__ import annotations

from lopsnb.runner.batch import DEFAULT_NOTEBOOK, BatchInterrupted, BatchResult, ProgramOutcome, input_fingerprint, run_batch
from lopsnb.runner.command import add_run_arguments, run_command

__all__ = ["run_batch", "BatchResult", "BatchInterrupted", "ProgramOutcome", "DEFAULT_NOTEBOOK", "input_fingerprint", "add_run_arguments", "run_command"]
