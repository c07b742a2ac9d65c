"""Turn a pydantic validation error into lopsnb :class:`~lopsnb.errors.Problem` records.

Program files, ``workspace.yml`` and the program editor of the explorer all
validate YAML-shaped data with pydantic models; :func:`pydantic_problems` is
the one translation of pydantic's error list into the file / line / field /
found / expected records every lopsnb error carries.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import ValidationError as PydanticValidationError

from lopsnb.errors import Problem

__all__ = ["pydantic_problems"]

#: Longest ``found`` text taken from a rejected value (a whole mapping can be long).
MAX_FOUND = 200


def _found(err: dict[str, Any]) -> str:
    if err["type"] == "extra_forbidden":
        return "no such field"
    if err["type"] == "missing":
        return "nothing (field missing)"
    text = repr(err.get("input"))
    return text if len(text) <= MAX_FOUND else text[: MAX_FOUND - 3] + "..."


def pydantic_problems(
    exc: PydanticValidationError,
    label: str,
    *,
    line_of: Callable[[tuple[Any, ...]], int | None] | None = None,
    user_loc: Callable[[tuple[Any, ...]], tuple[Any, ...]] | None = None,
    whole: str = "(program)",
) -> list[Problem]:
    """One :class:`~lopsnb.errors.Problem` per pydantic error.

    Parameters
    ----------
    exc : pydantic.ValidationError
        The error raised by ``Model.model_validate``.
    label : str
        The file (or other source label) the data came from.
    line_of : callable, optional
        Maps a field path (a tuple of keys and indices) to its 1-based line
        in the file, or None when unknown; without it rows are None.
    user_loc : callable, optional
        Rewrites pydantic's field path into the path the user wrote (for
        example without the tag of a discriminated union), before it is
        reported and looked up.
    whole : str
        The field name reported for an error about the whole document.

    Returns
    -------
    list of Problem
        ``column`` is the dotted field path (``"(program)"`` for the whole
        document); ``found`` says what was there (``"no such field"`` for an
        unknown key, ``"nothing (field missing)"`` for a missing one, else the
        value's repr); ``expected`` is pydantic's message, or a hint to check
        the spelling for an unknown key.
    """
    problems = []
    for err in exc.errors():
        # Validator functions add "function-after[...]" steps that name no field.
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        if user_loc is not None:
            loc = user_loc(loc)
        field = ".".join(str(p) for p in loc) or whole
        expected = "a known field (check spelling; unknown keys are errors)" if err["type"] == "extra_forbidden" else err["msg"]
        problems.append(Problem(label, line_of(loc) if line_of is not None else None, field, _found(err), expected))
    return problems
