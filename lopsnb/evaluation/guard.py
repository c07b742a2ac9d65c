"""Numerical failures of an estimator become an :class:`~lopsnb.errors.EvaluationError`.

numpy and statsmodels signal a model they cannot solve with
``numpy.linalg.LinAlgError`` (a singular or non-convergent matrix) or a bare
``ValueError`` (for example a zero-size array).  Neither may reach a caller of
lopsnb: :func:`numerical_failures` re-raises both as ``EvaluationError``
(itself a ``ValueError``) with the estimator's name, so callers catch one
error type and the report can say which design failed and why.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import numpy as np

from lopsnb.errors import EvaluationError, LopsnbError

__all__ = ["numerical_failures"]

P = ParamSpec("P")
R = TypeVar("R")


def numerical_failures(func: Callable[P, R]) -> Callable[P, R]:
    """Decorate an estimator so that numerical failures raise ``EvaluationError``.

    Errors lopsnb raises on purpose pass through unchanged.  A ``ValueError``
    keeps its message (the text shown in the report's list of failed designs
    stays what numpy said); a ``LinAlgError`` says the model could not be solved.

    Parameters
    ----------
    func : callable
        The estimator.

    Returns
    -------
    callable
        The same function, raising only lopsnb errors for numerical failures.
    """

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except LopsnbError:
            raise
        except np.linalg.LinAlgError as exc:
            raise EvaluationError(f"the model could not be solved (numpy.linalg: {exc})") from exc
        except ValueError as exc:
            raise EvaluationError(str(exc)) from exc

    return wrapper
