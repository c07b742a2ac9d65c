"""Declarative schemas of the workspace tables (the data contract).

Each table is described once, as a :class:`TableSpec` of :class:`ColumnSpec`;
from it we derive the pandera schema that validates a parsed frame, the
documentation table in ``docs/data-contract.md`` and the empty frame that
stands in for an optional table that was not measured.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd

if TYPE_CHECKING:  # pragma: no cover
    import pandera.pandas as pa

__all__ = [
    "ColumnSpec",
    "TableSpec",
    "TABLES",
    "REQUIRED_TABLES",
    "COST_CATEGORIES",
    "ENROLLMENT_STATUSES",
    "ASSESSMENT_PHASES",
    "OBSERVERS",
    "SCORECARD_GROUPS",
    "SCORECARD_CATEGORIES",
    "REQUEST_STATUSES",
    "empty_frame",
    "pandera_schema",
]

ColumnKind = Literal["str", "date", "float"]

COST_CATEGORIES: tuple[str, ...] = (
    "needs_assessment",
    "design_development",
    "acquisition",
    "delivery",
    "materials",
    "facilities",
    "participant_time",
    "evaluation",
    "overhead",
    "other",
)
#: ``waived``: credited without attempt (cmi5), not a participant (lopsnb.io.rules).
ENROLLMENT_STATUSES: tuple[str, ...] = ("enrolled", "in_progress", "completed", "dropped", "waived")
ASSESSMENT_PHASES: tuple[str, ...] = ("pre", "post", "followup")
OBSERVERS: tuple[str, ...] = ("self", "manager", "peer")
SCORECARD_GROUPS: tuple[str, ...] = ("employee", "leader")
#: The two learning-culture instruments and their categories, in report order.
SCORECARD_CATEGORIES: dict[str, tuple[str, ...]] = {
    "experience": (
        "access_to_learning",
        "embedded_learning",
        "personalized_development",
        "psychological_safety",
        "learner_autonomy",
        "collaboration_knowledge_sharing",
        "recognition_rewards",
    ),
    "support": (
        "executive_buy_in",
        "manager_involvement",
        "budget_investment",
        "business_alignment",
        "time_for_learning",
        "feedback_improvement",
        "innovation_experimentation",
    ),
}
#: Open statuses first (new, approved, in_progress), then closed ones.
REQUEST_STATUSES: tuple[str, ...] = ("new", "approved", "in_progress", "delivered", "rejected", "cancelled")

# Dates outside this range are almost always typos (2206 for 2026) or Excel
# serial-number accidents, so they are treated as impossible.
MIN_DATE = pd.Timestamp("1950-01-01")
MAX_DATE = pd.Timestamp("2100-12-31")


@dataclass(frozen=True)
class ColumnSpec:
    """One column of a table in the data contract.

    Attributes
    ----------
    name : str
        Column name as it must appear in the header.
    kind : {"str", "date", "float"}
        How raw values are parsed.
    required : bool
        Whether the column must be present.
    nullable : bool
        Whether blank cells are allowed.
    description : str
        Meaning, used in the documentation.
    allowed : tuple of str, optional
        The allowed values of a categorical column.
    ge, le : float, optional
        Inclusive bounds of a numeric column.
    default : float or str, optional
        Value used for blank cells (and for a missing optional column).
    """

    name: str
    kind: ColumnKind
    required: bool = False
    nullable: bool = True
    description: str = ""
    allowed: tuple[str, ...] | None = None
    ge: float | None = None
    le: float | None = None
    gt: float | None = None
    default: float | str | None = None

    @property
    def expected(self) -> str:
        """Plain-language description of a valid value (used in error messages)."""
        if self.allowed is not None:
            return "one of " + ", ".join(self.allowed)
        if self.kind == "date":
            return "a date YYYY-MM-DD between 1950 and 2100"
        if self.kind == "float":
            bounds = []
            if self.gt is not None:
                bounds.append(f"> {self.gt:g}")
            if self.ge is not None:
                bounds.append(f">= {self.ge:g}")
            if self.le is not None:
                bounds.append(f"<= {self.le:g}")
            return "a number" + (" " + " and ".join(bounds) if bounds else "")
        return "a non-empty text value"

    def checks(self) -> list[pa.Check]:
        """Pandera checks for the parsed column."""
        # pandera is imported only when validating: reading a validated
        # workspace from the cache does not pay for it.
        import pandera.pandas as pa

        checks: list[pa.Check] = []
        if self.allowed is not None:
            checks.append(pa.Check.isin(list(self.allowed)))
        if self.ge is not None:
            checks.append(pa.Check.ge(self.ge))
        if self.gt is not None:
            checks.append(pa.Check.gt(self.gt))
        if self.le is not None:
            checks.append(pa.Check.le(self.le))
        if self.kind == "date":
            checks.append(pa.Check.in_range(MIN_DATE, MAX_DATE))
        return checks


@dataclass(frozen=True)
class RowRule:
    """A rule relating two columns of the same row (e.g. score <= max_score).

    ``left`` and ``right`` are column names; the rule holds when either side is
    missing.
    """

    left: str
    op: Literal["<=", ">="]
    right: str
    expected: str


@dataclass(frozen=True)
class TableSpec:
    """A table of the data contract."""

    name: str
    description: str
    columns: tuple[ColumnSpec, ...]
    unique: tuple[str, ...] = ()
    row_rules: tuple[RowRule, ...] = ()
    required_table: bool = False
    extra_columns: bool = True
    level: str = ""

    @property
    def column_map(self) -> Mapping[str, ColumnSpec]:
        """Columns by name."""
        return {c.name: c for c in self.columns}

    @property
    def required_columns(self) -> list[str]:
        """Names of the columns that must be present."""
        return [c.name for c in self.columns if c.required]


def _s(name: str, *, required: bool = False, nullable: bool = True, description: str = "", allowed: tuple[str, ...] | None = None) -> ColumnSpec:
    return ColumnSpec(name, "str", required=required, nullable=nullable and not required, description=description, allowed=allowed)


def _d(name: str, description: str = "", *, required: bool = False) -> ColumnSpec:
    return ColumnSpec(name, "date", required=required, nullable=not required, description=description)


def _f(
    name: str,
    description: str = "",
    *,
    required: bool = False,
    ge: float | None = None,
    le: float | None = None,
    gt: float | None = None,
    default: float | None = None,
    nullable: bool | None = None,
) -> ColumnSpec:
    return ColumnSpec(
        name,
        "float",
        required=required,
        nullable=(not required) if nullable is None else nullable,
        description=description,
        ge=ge,
        le=le,
        gt=gt,
        default=default,
    )


TABLES: dict[str, TableSpec] = {
    t.name: t
    for t in (
        TableSpec(
            "people",
            "The HRIS roster: one row per person.",
            (
                _s("person_id", required=True, description="Unique person identifier."),
                _s("name", description="Display name (never shown in reports)."),
                _s("org_unit", description="Team, plant, line or other unit the person belongs to."),
                _s("role", description="Job role."),
                _s("location", description="Site or region."),
                _s("manager_id", description="person_id of the person's manager."),
                _d("hire_date", "Date of hire."),
                _f("hourly_cost", "Loaded cost of one hour of the person's time.", ge=0),
                _s("email", description="Work e-mail (used to resolve xAPI actors; never shown)."),
                _d("termination_date", "Last day of employment (blank while employed); the event of a retention outcome (design survival)."),
                _s("termination_reason", description="Why the person left (free text, e.g. voluntary, involuntary, retirement); never shown per person."),
            ),
            unique=("person_id",),
            row_rules=(RowRule("termination_date", ">=", "hire_date", "termination_date on or after hire_date"),),
            required_table=True,
            level="roster",
        ),
        TableSpec(
            "enrollments",
            "Who enrolled in which program (LMS export or xAPI).",
            (
                _s("person_id", required=True, description="The participant."),
                _s("program_id", required=True, description="The program."),
                _d("enrolled_on", "Enrollment date."),
                _d("completed_on", "Completion date (blank when not completed)."),
                _s("status", allowed=ENROLLMENT_STATUSES, description="Enrollment status."),
                _f("hours", "Learning hours spent.", ge=0),
            ),
            unique=("person_id", "program_id"),
            row_rules=(RowRule("completed_on", ">=", "enrolled_on", "completed_on on or after enrolled_on"),),
            required_table=True,
            level="Level 0 inputs",
        ),
        TableSpec(
            "reactions",
            "Reaction survey answers, one row per respondent and item.",
            (
                _s("program_id", required=True, description="The program."),
                _s("item", required=True, description="Survey item text or code."),
                _f("score", "Answer on the item's scale.", required=True, ge=0),
                _f("scale_max", "Top of the item's scale (5 by default; 10 for a 0-10 recommend item).", gt=0, default=5.0),
                _s("person_id", description="Respondent (blank: anonymous)."),
                _d("responded_on", "Response date."),
                _s("comment", description="Free-text comment (excluded from reports by default)."),
            ),
            row_rules=(RowRule("score", "<=", "scale_max", "score <= scale_max"),),
            level="Level 1 reaction",
        ),
        TableSpec(
            "assessments",
            "Knowledge or skill test scores.",
            (
                _s("person_id", required=True, description="The person tested."),
                _s("program_id", required=True, description="The program."),
                _s("phase", required=True, allowed=ASSESSMENT_PHASES, description="pre, post or followup."),
                _f("score", "Score obtained.", required=True, ge=0),
                _f("max_score", "Highest possible score (100 by default).", gt=0, default=100.0),
                _d("taken_on", "Test date."),
            ),
            row_rules=(RowRule("score", "<=", "max_score", "score <= max_score"),),
            level="Level 2 learning",
        ),
        TableSpec(
            "behaviors",
            "On-the-job application observations.",
            (
                _s("person_id", required=True, description="The person observed."),
                _s("program_id", required=True, description="The program."),
                _s("behavior", required=True, description="The behavior observed."),
                _f("value", "Applied share (0-1) or a rating.", required=True, ge=0),
                _d("observed_on", "Observation date."),
                _s("observer", allowed=OBSERVERS, description="self, manager or peer."),
            ),
            level="Level 3 behavior",
        ),
        TableSpec(
            "kpis",
            "Business and performance metrics per entity and period.",
            (
                _s("entity_id", required=True, description="A person_id, or an org_unit for unit-level programs."),
                _s("metric", required=True, description="Metric name."),
                _d("period", "Start date of the period (month start for monthly data).", required=True),
                _f("value", "Observed value (blank: not observed).", required=True, nullable=True),
            ),
            unique=("entity_id", "metric", "period"),
            required_table=True,
            level="Level 4 results",
        ),
        TableSpec(
            "costs",
            "Program cost lines.",
            (
                _s("program_id", required=True, description="The program."),
                _s("category", required=True, allowed=COST_CATEGORIES, description="Cost category."),
                _f("amount", "Amount in money.", required=True, ge=0),
                _s("description", description="What the cost is."),
                _f("prorate_share", "Share of the line charged to this program (0-1, default 1).", ge=0, le=1, default=1.0),
            ),
            level="Level 5 ROI",
        ),
        TableSpec(
            "estimates",
            "Phillips participant estimates of improvement.",
            (
                _s("person_id", required=True, description="The respondent."),
                _s("program_id", required=True, description="The program."),
                _s("metric", required=True, description="Metric the improvement is in."),
                _f("improvement", "Improvement in metric units per period.", required=True),
                _f("attribution", "Share of the improvement due to the program (0-1).", required=True, ge=0, le=1),
                _f("confidence", "Respondent's confidence in the estimate (0-1).", required=True, ge=0, le=1),
            ),
            unique=("person_id", "program_id", "metric"),
            level="Level 4 isolation (estimates)",
        ),
        TableSpec(
            "scorecards",
            "Learning-culture scorecard answers: one row per respondent, category and survey period.",
            (
                _s("respondent_id", required=True, description="Respondent (a person identifier: used to count people, never shown)."),
                _s("group", required=True, allowed=SCORECARD_GROUPS, description="employee or leader."),
                _s("scorecard", required=True, allowed=tuple(SCORECARD_CATEGORIES), description="experience (Employee Learning Experience) or support (Leadership and Organizational Support)."),
                _s(
                    "category",
                    required=True,
                    allowed=tuple(c for cats in SCORECARD_CATEGORIES.values() for c in cats),
                    description="Category code of the scorecard (see docs/culture-and-operations.md).",
                ),
                _f("score", "Rating from 1 (not at all true) to 5 (fully true).", required=True, ge=1, le=5),
                _d("period", "Survey date or period start; results are grouped by calendar quarter.", required=True),
            ),
            unique=("respondent_id", "scorecard", "category", "period"),
            level="Learning culture",
        ),
        TableSpec(
            "requests",
            "Training requests received by L&D (intake log).",
            (
                _s("request_id", required=True, description="Unique request identifier."),
                _d("requested_on", "Date the request was received.", required=True),
                _d("decided_on", "Date it was approved or rejected."),
                _d("delivered_on", "Date the solution was delivered."),
                _s("status", required=True, allowed=REQUEST_STATUSES, description="new, approved, in_progress, delivered, rejected or cancelled."),
                _s("priority", description="Priority as recorded by the intake process (free text, e.g. low/medium/high)."),
                _s("business_goal", description="Business goal the request serves (blank: none stated)."),
                _s("program_id", description="Program that answered the request (blank: none yet)."),
                _f("sla_days", "Agreed days from request to delivery (blank: no SLA).", ge=0),
            ),
            unique=("request_id",),
            row_rules=(
                RowRule("decided_on", ">=", "requested_on", "decided_on on or after requested_on"),
                RowRule("delivered_on", ">=", "requested_on", "delivered_on on or after requested_on"),
            ),
            level="L&D operations",
        ),
    )
}

REQUIRED_TABLES: tuple[str, ...] = tuple(n for n, t in TABLES.items() if t.required_table)

_PANDAS_DTYPE = {"str": "str", "date": "datetime64[ns]", "float": "float64"}


def empty_frame(table: str) -> pd.DataFrame:
    """An empty frame with the canonical columns and dtypes of ``table``."""
    spec = TABLES[table]
    return pd.DataFrame({c.name: pd.Series(dtype=_PANDAS_DTYPE[c.kind]) for c in spec.columns})


def pandera_schema(table: str, *, present: frozenset[str] | None = None) -> pa.DataFrameSchema:
    """The pandera schema validating a *parsed* table.

    Parameters
    ----------
    table : str
        Table name in :data:`TABLES`.
    present : frozenset of str, optional
        Columns present in the frame; optional columns that are absent are not
        checked (required ones are, and fail as ``column_in_dataframe``).
    """
    import pandera.pandas as pa

    spec = TABLES[table]
    columns: dict[str, pa.Column] = {}
    for col in spec.columns:
        if not col.required and present is not None and col.name not in present:
            continue
        columns[col.name] = pa.Column(
            _PANDAS_DTYPE[col.kind] if col.kind != "str" else None,
            checks=col.checks(),
            nullable=col.nullable,
            required=col.required,
            unique=False,
        )
    return pa.DataFrameSchema(
        columns,
        unique=list(spec.unique) if spec.unique else None,
        strict=False,
        coerce=False,
        name=table,
    )


@dataclass
class ParsedTable:
    """A table after parsing: frame plus where each row came from.

    ``nan_cells`` maps a column to a boolean mask (by position) of cells that
    held a NaN value rather than a null (Parquet keeps the difference; pandas
    does not), so that a NaN is reported instead of read as a blank.
    """

    frame: pd.DataFrame
    file: str
    row_base: int = 2
    notes: list[str] = field(default_factory=list)
    nan_cells: dict[str, Any] = field(default_factory=dict)
