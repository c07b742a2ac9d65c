"""Program (initiative) definitions: ``programs/<program_id>.yml``.

A program file says what business result the program is meant to move, how
its effect is to be isolated and how that effect converts to money. The
schema is strict (unknown keys are errors, so a typo never silently falls
back to a default) and every problem names the YAML file, the line and the
dotted field path.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from lopsnb.errors import Problem, ProgramConfigError
from lopsnb.io.labels import MetricLabel, metric_label, metric_refs
from lopsnb.io.yamlfile import line_of, load_yaml
from lopsnb.io.problems import pydantic_problems
from lopsnb.options import Design as _Design
from lopsnb.options import Direction, Origin

__all__ = [
    "PROGRAM_ID_PATTERN",
    "RESERVED_PROGRAM_IDS",
    "reserved_id_problem",
    "Design",
    "DESIGNS",
    "Program",
    "MetricRef",
    "Window",
    "Evaluation",
    "SurvivalEvent",
    "Monetization",
    "load_program",
    "validate_program_id",
]

PROGRAM_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]*$")

Design = _Design  # the one definition lives in lopsnb.options
DESIGNS: tuple[str, ...] = ("did", "ancova", "post_only", "before_after", "trend", "estimates", "dr_did", "ipw_did", "reg_did", "weighting", "synthetic_control", "sdid", "survival")
#: Time-to-event designs: their outcome is retention or an event time, not a KPI mean.
SURVIVAL_DESIGNS = frozenset({"survival"})
#: The outcome name of ``design: survival`` with termination as the event.
RETENTION = "retention"
#: Designs that compare a baseline window with a followup window.
WINDOW_DESIGNS = frozenset({"did", "ancova", "post_only", "before_after", "trend", "dr_did", "ipw_did", "reg_did", "synthetic_control", "sdid"})
#: Designs that need (date) windows, not cohort offsets.
ABSOLUTE_DESIGNS = frozenset({"dr_did", "ipw_did", "reg_did", "weighting"})


def validate_program_id(program_id: str, *, file: str = "<program id>") -> str:
    """Return ``program_id`` if it is a safe slug, else raise ProgramConfigError.

    Program ids become folder names in report output; anything outside
    ``[a-z0-9][a-z0-9_-]*`` (such as ``../x`` or ``a/b``) is rejected before a
    path is ever built from it.
    """
    if not isinstance(program_id, str) or not PROGRAM_ID_PATTERN.fullmatch(program_id) or len(program_id) > 100:
        raise ProgramConfigError(
            [Problem(file, None, "id", repr(program_id), "a lowercase slug matching [a-z0-9][a-z0-9_-]* (at most 100 characters)")],
            summary="invalid program id",
        )
    return program_id


#: Ids a program may not have, compared case-insensitively: the names of the
#: report's own learning-function pages (``scorecards``, ``operations``) and
#: the Windows device names, which cannot be folder names on Windows.
RESERVED_PROGRAM_IDS: frozenset[str] = frozenset(
    {"scorecards", "operations", "con", "prn", "aux", "nul"}
    | {f"com{i}" for i in range(1, 10)}
    | {f"lpt{i}" for i in range(1, 10)}
)


def reserved_id_problem(program_id: str, file: str) -> Problem | None:
    """The problem of a reserved program id, or None when ``program_id`` may be used.

    Parameters
    ----------
    program_id : str
        The program id (the file name's stem).
    file : str
        The program file, named in the problem.

    Returns
    -------
    Problem or None
        A problem of field ``id`` when the id is in :data:`RESERVED_PROGRAM_IDS`
        (case-insensitive; a Windows device name with an extension such as
        ``con.backup`` is refused too).
    """
    stem = str(program_id).split(".", 1)[0].casefold()
    if stem not in RESERVED_PROGRAM_IDS:
        return None
    return Problem(
        file,
        None,
        "id",
        f"the reserved id {program_id!r}",
        "an id other than " + ", ".join(sorted(RESERVED_PROGRAM_IDS)) + " (report folders and Windows device names); rename the file and its id",
    )


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class MetricRef(_Strict):
    """A metric in the chain of evidence.

    ``label`` is the name a business reader sees in every sentence, tile,
    axis and table ("revenue per rep"; default: the id made readable, see
    :func:`lopsnb.io.labels.metric_label`). ``per`` names what one value of
    the metric is counted per ("rep", "analyst", "team"); a ``unit`` that
    ends in "per <period>" then reads "USD per rep per month".
    """

    metric: str = Field(min_length=1)
    label: str | None = Field(default=None, min_length=1)
    per: str | None = Field(default=None, min_length=1)
    direction: Direction = "increase"
    unit: str | None = None
    target: float | None = None


class Chain(_Strict):
    """The chain of evidence, business metric first."""

    business_metric: MetricRef
    performance_metrics: tuple[MetricRef, ...] = ()
    leading_indicators: tuple[str, ...] = ()


class Window(_Strict):
    """A baseline or followup window.

    Either absolute dates (``start``, ``end``, both inclusive) or ``offset``:
    periods relative to each entity's treatment period (0 = the period of
    completion), as needed for staggered cohorts.
    """

    start: dt.date | None = None
    end: dt.date | None = None
    offset: tuple[int, int] | None = None

    @model_validator(mode="after")
    def _one_form(self) -> Window:
        absolute = self.start is not None or self.end is not None
        if absolute and self.offset is not None:
            raise ValueError("give either start/end dates or offset, not both")
        if not absolute and self.offset is None:
            raise ValueError("give start and end dates, or offset: [from, to]")
        if absolute and (self.start is None or self.end is None):
            raise ValueError("an absolute window needs both start and end")
        if self.start is not None and self.end is not None and self.start > self.end:
            raise ValueError(f"start {self.start} is after end {self.end}")
        if self.offset is not None and self.offset[0] > self.offset[1]:
            raise ValueError(f"offset {list(self.offset)} runs backwards")
        return self

    @property
    def relative(self) -> bool:
        """True for an offset (cohort-relative) window."""
        return self.offset is not None


class SurvivalEvent(_Strict):
    """A KPI threshold whose first crossing is the event of a time-to-event outcome (time to competency)."""

    metric: str = Field(min_length=1)
    reaches: float


class Evaluation(_Strict):
    """How the program's effect on the outcome is isolated."""

    entity: Literal["person", "org_unit"] = "person"
    outcome: str | None = None
    frequency: Literal["month", "quarter", "week", "year"] = "month"
    baseline: Window | None = None
    followup: Window | None = None
    design: Design = "did"
    also: tuple[Design, ...] = ()
    comparison: dict[str, tuple[str, ...]] | None = None
    covariates: tuple[str, ...] = ()
    transform: Literal["none", "log"] = "none"
    treated_share: float = Field(default=0.5, gt=0, le=1)
    #: Staggered DiD comparison group; None = automatic (never treated when
    #: at least 2 never-treated entities, else not yet treated).
    control_group: Literal["never_treated", "not_yet_treated"] | None = None
    #: Sant'Anna & Zhao (2020) estimator of ``dr_did``.
    dr_estimator: Literal["traditional", "improved"] = "traditional"
    #: design survival: the horizon (days from the origin) of the retention / competency difference.
    horizon_days: int | None = Field(default=None, gt=0, le=3650)
    #: design survival: when each person's clock starts.
    origin: Origin = "hire_date"
    #: design survival: the KPI threshold event (time to competency); None = termination (outcome retention).
    event: SurvivalEvent | None = None
    #: design survival: censoring date of people without an event (default: the latest date in the data).
    as_of: dt.date | None = None

    @field_validator("comparison", mode="before")
    @classmethod
    def _listify(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: [v] if isinstance(v, (str, int, float)) else v for k, v in value.items()}
        return value

    @model_validator(mode="after")
    def _survival(self) -> Evaluation:
        designs = {self.design, *self.also}
        survival = designs & SURVIVAL_DESIGNS
        # Compared with the defaults, not model_fields_set: a dumped-and-revalidated
        # Evaluation sets every field, and `origin: hire_date` on a KPI design is harmless.
        fields = type(self).model_fields
        set_fields = sorted(
            f for f in ("horizon_days", "event", "as_of", "origin") if getattr(self, f) != fields[f].default
        )
        if not survival:
            if set_fields:
                raise ValueError(f"{', '.join(set_fields)} only apply to design survival")
            if self.outcome == RETENTION:
                raise ValueError("outcome retention is a time-to-event outcome: use design survival")
            return self
        if designs != survival:
            raise ValueError(f"design survival cannot be combined with {sorted(designs - survival)} (they need a KPI outcome)")
        if self.horizon_days is None:
            raise ValueError("design survival needs horizon_days (for example 90 or 365)")
        if self.entity != "person":
            raise ValueError("design survival follows people: set entity: person")
        if (self.outcome == RETENTION) == (self.event is not None):
            raise ValueError("design survival needs either outcome: retention (event = termination) or event: {metric: ..., reaches: ...}, not both")
        return self

    @model_validator(mode="after")
    def _windows(self) -> Evaluation:
        designs = {self.design, *self.also}
        needs = designs & WINDOW_DESIGNS
        if needs and (self.baseline is None or self.followup is None):
            raise ValueError(f"designs {sorted(needs)} need both baseline and followup windows")
        if "weighting" in designs and self.followup is None:
            raise ValueError("design weighting needs a followup window (the baseline window is optional)")
        dated = designs & ABSOLUTE_DESIGNS
        if dated and any(w is not None and w.relative for w in (self.baseline, self.followup)):
            raise ValueError(f"designs {sorted(dated)} need date windows (start/end), not cohort offsets")
        if self.baseline is not None and self.followup is not None:
            if self.baseline.relative != self.followup.relative:
                raise ValueError("baseline and followup must both be dates or both be offsets")
            if not self.baseline.relative and self.baseline.end >= self.followup.start:  # type: ignore[operator]
                raise ValueError(
                    f"the baseline window (ends {self.baseline.end}) must end before the followup window starts ({self.followup.start})"
                )
            if self.baseline.relative and self.baseline.offset[1] >= self.followup.offset[0]:  # type: ignore[index]
                raise ValueError("the baseline offsets must end before the followup offsets start")
        return self


class Monetization(_Strict):
    """How a unit of outcome converts to money (Phillips Level 5)."""

    value_per_unit: float = Field(ge=0)
    value_range: tuple[float, float] | None = None
    periods_per_year: float = Field(default=12, gt=0)
    horizon_years: float = Field(default=1, gt=0, le=5)
    currency: str = "USD"

    @model_validator(mode="after")
    def _range(self) -> Monetization:
        if self.value_range is not None:
            low, high = self.value_range
            if low < 0 or low > high:
                raise ValueError(f"value_range {list(self.value_range)} must be [low, high] with 0 <= low <= high")
        return self


class ReactionConfig(_Strict):
    """New World Kirkpatrick item groups of the reaction survey."""

    relevance_items: tuple[str, ...] = ()
    engagement_items: tuple[str, ...] = ()


class LearningConfig(_Strict):
    """Level 2 settings."""

    pass_mark: float | None = Field(default=None, ge=0)


class Privacy(_Strict):
    """Privacy settings of reports."""

    min_group_size: int = Field(default=5, ge=1)
    include_comments: bool = False


class Program(_Strict):
    """A program (initiative) definition; see ``docs/data-contract.md``."""

    id: Annotated[str, Field(pattern=PROGRAM_ID_PATTERN.pattern, max_length=100)]
    name: str = Field(min_length=1)
    owner: str | None = None
    business_goal: str | None = None
    launch: dt.date | None = None
    evaluate: bool = True
    chain: Chain
    reaction: ReactionConfig = ReactionConfig()
    learning: LearningConfig = LearningConfig()
    evaluation: Evaluation = Evaluation(design="estimates")
    monetization: Monetization | None = None
    intangibles: tuple[str, ...] = ()
    privacy: Privacy = Privacy()

    @model_validator(mode="after")
    def _catalog(self) -> Program:
        if not self.evaluate and "evaluation" in self.model_fields_set:
            raise ValueError("a program with evaluate: false (catalog course, tracked for inputs only) takes no evaluation section")
        m = self.monetization
        if self.evaluation.design in SURVIVAL_DESIGNS and m is not None:
            per = sorted({"periods_per_year", "horizon_years"} & m.model_fields_set)
            if per:
                # A retained employee (or a day sooner) is valued once per participant, not per period.
                raise ValueError(f"monetization.{per[0]} does not apply to design survival: value_per_unit is the value of one retained "
                                 "employee at the horizon (outcome retention) or of one day sooner to the event (event: ...), once per participant")
        return self

    @property
    def outcome(self) -> str:
        """The evaluated outcome metric (defaults to the business metric)."""
        return self.evaluation.outcome or self.chain.business_metric.metric

    @property
    def direction(self) -> Literal["increase", "decrease"]:
        """Desired direction of the outcome (``increase`` for design survival: its estimand is a share retained or competent)."""
        if self.evaluation.design in SURVIVAL_DESIGNS:
            return "increase"
        if self.evaluation.outcome in (None, self.chain.business_metric.metric):
            return self.chain.business_metric.direction
        for m in self.chain.performance_metrics:
            if m.metric == self.evaluation.outcome:
                return m.direction
        return self.chain.business_metric.direction

    def metric_label(self, metric: str | None = None) -> MetricLabel:
        """The business label of ``metric`` (default: the outcome); see :func:`lopsnb.io.labels.metric_label`."""
        unit = self.chain.business_metric.unit if metric in (None, self.chain.business_metric.metric) else None
        return metric_label(metric or self.outcome, metric_refs(self), entity=self.evaluation.entity, unit=unit)

    @property
    def designs(self) -> tuple[str, ...]:
        """Primary design first, then the sensitivity designs, without repeats."""
        return tuple(dict.fromkeys((self.evaluation.design, *self.evaluation.also)))

    def to_yaml_dict(self) -> dict[str, Any]:
        """The program as a plain dict suitable for ``yaml.safe_dump``."""
        return self.model_dump(mode="json", exclude_defaults=True)


# The line lookup lives with the YAML loader; this name is kept for callers.
_line_of = line_of


def load_program(path: str | Path) -> Program:
    """Read and validate one program YAML file.

    Raises
    ------
    ProgramConfigError
        Listing every problem with file, line (as ``row``) and field path
        (as ``column``).
    """
    path = Path(path)
    label = str(path)
    doc = load_yaml(path, label=label, error=ProgramConfigError)
    root, data = doc.root, doc.data
    if not isinstance(data, dict):
        raise ProgramConfigError(
            [Problem(label, None, None, f"a {type(data).__name__} at the top level", "a mapping of program fields (id, name, chain, ...)")],
            summary=f"invalid program file {label}",
        )
    reserved = reserved_id_problem(path.stem, label)
    if reserved is not None:
        # Checked before the schema: the file name is what must change.
        raise ProgramConfigError([replace(reserved, row=_line_of(root, ("id",)))], summary=f"invalid program file {label}")
    try:
        program = Program.model_validate(data)
    except ValidationError as exc:
        problems = pydantic_problems(exc, label, line_of=lambda loc: _line_of(root, loc))
        raise ProgramConfigError(problems, summary=f"invalid program file {label}") from None
    if program.id != path.stem:
        raise ProgramConfigError(
            [Problem(label, _line_of(root, ("id",)), "id", repr(program.id), f"the file name's stem {path.stem!r}")],
            summary=f"invalid program file {label}",
        )
    return program
