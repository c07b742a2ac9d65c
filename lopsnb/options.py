"""Option vocabularies shared by several stages, and their one runtime check.

Each ``Literal`` type below is the single definition of an option's allowed
values; modules import it from here (and may re-export it under their own
name for backwards compatibility).  :func:`validate_option` checks a value
against one of them at run time, with one message format everywhere:
``"<name> must be one of 'a', 'b'; got 'c'"``.
"""

from __future__ import annotations

from typing import Any, Literal, get_args

from lopsnb.errors import EvaluationError, LopsnbError

__all__ = [
    "BasePeriod",
    "ControlGroup",
    "Design",
    "Direction",
    "Executor",
    "OnProgramError",
    "OperationsPlot",
    "Origin",
    "PlanDesign",
    "Scorecard",
    "Transform",
    "UnknownActors",
    "choices",
    "validate_option",
]

#: Whether a higher outcome is better (``increase``) or worse (``decrease``).
Direction = Literal["increase", "decrease"]
#: Outcome transform of the impact model: levels or logs.
Transform = Literal["none", "log"]
#: Evaluation designs a program file may name.
Design = Literal["did", "ancova", "post_only", "before_after", "trend", "estimates", "dr_did", "ipw_did", "reg_did", "weighting", "synthetic_control", "sdid",
                 "survival"]
#: Time origin of a survival (time-to-event) outcome.
Origin = Literal["hire_date", "treatment"]
#: Designs the pre-launch planner can compute power for.
PlanDesign = Literal["post_only", "ancova", "did"]
#: Comparison group of the staggered DiD (Callaway & Sant'Anna 2021).
ControlGroup = Literal["never_treated", "not_yet_treated"]
#: Base period of the pre-treatment cells of the staggered DiD (as R ``did``).
BasePeriod = Literal["varying", "universal"]
#: What ``load_workspace`` does with an invalid program file.
OnProgramError = Literal["raise", "collect"]
#: What ``read_xapi`` does with statements of unknown actors.
UnknownActors = Literal["error", "drop"]
#: Where ``run_batch`` runs the notebooks.
Executor = Literal["local", "dask"]
#: The two culture scorecard instruments.
Scorecard = Literal["experience", "leadership"]
#: Figures of the operations scorecard.
OperationsPlot = Literal["backlog", "cycle", "spend"]


def choices(literal: Any) -> tuple[str, ...]:
    """The allowed values of a ``Literal`` type, in declaration order."""
    values = get_args(literal)
    if not values:
        raise TypeError(f"{literal!r} is not a Literal type")
    return values


def validate_option(name: str, value: Any, literal: Any, *, error: type[LopsnbError] = EvaluationError) -> str:
    """Return ``value`` when it is one of ``literal``'s values, else raise ``error``.

    Parameters
    ----------
    name : str
        The parameter's name, used in the message.
    value : object
        The value given.
    literal : Literal type
        The option type from this module (or any ``Literal``).
    error : subclass of LopsnbError, default EvaluationError
        The error to raise; it must take a single message argument.

    Returns
    -------
    str
        ``value`` unchanged.

    Raises
    ------
    LopsnbError
        ``error(message)`` naming the parameter, the allowed values and the value found.
    """
    allowed = choices(literal)
    # ``in`` on a tuple of str would accept 1 == True style coincidences only
    # for equal values; a non-hashable value simply is not allowed.
    if isinstance(value, str) and value in allowed:
        return value
    raise error(f"{name} must be one of {', '.join(repr(a) for a in allowed)}; got {value!r}")
