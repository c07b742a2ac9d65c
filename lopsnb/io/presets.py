"""Presets: the declared mappings of common LMS and HRIS exports, written once.

A preset is a named declaration (``preset: moodle_completion`` under a
source in ``workspace.yml``) built on the same mechanism as a hand-written
one (:mod:`lopsnb.io.mapping`): their column names, date coding and value
spellings. Keys the source declares itself are applied on top, so a preset
is a starting point: the course → ``program_id`` values, which no preset can
know, are always the user's.

The column lists are documented in ``docs/data-contract.md`` (``tests/test_docs.py``
compares them with :data:`PRESETS`), and each preset has a made-up export
with the real column names in ``tests/fixtures/intake/``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lopsnb.errors import Problem
from lopsnb.io.mapping import ConfigSite, Intake
from lopsnb.io.schemas import TABLES

__all__ = ["PRESETS", "Preset", "PresetColumn", "preset_base", "preset_intake", "preset_markdown"]


@dataclass(frozen=True, kw_only=True)
class PresetColumn:
    """One column of an export: its name there, the contract column it becomes, and what it holds."""

    theirs: str
    ours: str
    meaning: str


@dataclass(frozen=True, kw_only=True)
class Preset:
    """A named declaration of one kind of export.

    Attributes
    ----------
    name : str
        The name used in ``workspace.yml`` (``preset: <name>``).
    table : str
        The contract table the export feeds.
    system : str
        The system and export it describes, for the documentation.
    columns : tuple of PresetColumn
        Their columns and the contract columns they become. A column whose
        contract column is optional may be absent from the file.
    values : dict of str to dict
        Contract column to their spelling → contract value.
    dates, date_format : str or None
        How the export writes dates.
    keep_rows : dict of str to list of str
        Rows kept (on their column names); the others are left out.
    notes : str
        What the user still has to declare.
    """

    name: str
    table: str
    system: str
    columns: tuple[PresetColumn, ...]
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    dates: str | None = None
    date_format: str | None = None
    keep_rows: dict[str, list[str]] = field(default_factory=dict)
    notes: str = ""


def _c(theirs: str, ours: str, meaning: str) -> PresetColumn:
    return PresetColumn(theirs=theirs, ours=ours, meaning=meaning)


#: SCORM 1.2 ``cmi.core.lesson_status`` and SCORM 2004 ``cmi.completion_status``
#: vocabularies: only a finished attempt is a completion; a failed one is still
#: in progress (the learner has not completed the program).
_SCORM12_STATUS = {"passed": "completed", "completed": "completed", "failed": "in_progress", "incomplete": "in_progress",
                   "browsed": "in_progress", "not attempted": "enrolled"}
_SCORM2004_STATUS = {"completed": "completed", "incomplete": "in_progress", "not attempted": "enrolled", "unknown": "in_progress"}
_LMS_COLUMNS = (
    _c("course_id", "program_id", "The LMS course (or SCORM package) id: map each to a program_id under values."),
    _c("first_access", "enrolled_on", "First launch of the package (ISO date-time)."),
    _c("completion_date", "completed_on", "When the status became complete (ISO date-time; blank otherwise)."),
)

PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset(
            name="moodle_completion",
            table="enrollments",
            system="Moodle 4.x custom report (Report builder, source *Course participants*) with the course completion columns, downloaded as CSV",
            columns=(
                _c("Course full name", "program_id", "The course: map each course name to a program_id under values."),
                _c("Email address", "person_id", "The learner's e-mail: use match_on: email."),
                _c("Time enrolled", "enrolled_on", "Enrolment time, Moodle's default format ('4 March 2026, 10:15 AM')."),
                _c("Time completed", "completed_on", "Completion time, same format; blank when not completed."),
                _c("Completed", "status", "Course completed: Yes / No."),
            ),
            values={"status": {"Yes": "completed", "No": "in_progress"}},
            date_format="%d %B %Y, %I:%M %p",
            notes="Declare values.program_id (course name → program id) and match_on: email. 'Full name' and other columns are kept as extra columns.",
        ),
        Preset(
            name="moodle_logstore",
            table="enrollments",
            system="Moodle's standard log (table logstore_standard_log, exported from the database as CSV): course completion events",
            columns=(
                _c("relateduserid", "person_id", "The Moodle user id of the learner who completed: match it on a people column holding Moodle ids."),
                _c("courseid", "program_id", "The Moodle course id: map each to a program_id under values."),
                _c("timecreated", "completed_on", "Event time, Unix epoch seconds."),
                _c("eventname", "status", "The event: only \\core\\event\\course_completed rows are kept."),
            ),
            values={"status": {"\\core\\event\\course_completed": "completed"}},
            dates="epoch_s",
            keep_rows={"eventname": ["\\core\\event\\course_completed"]},
            notes="Declare values.program_id (course id → program id) and match_on (the people column with Moodle user ids). "
            "A course completed twice (after a reset) is two rows: keep the one you evaluate with drop_rows on id.",
        ),
        Preset(
            name="successfactors_learning_history",
            table="enrollments",
            system="SAP SuccessFactors Learning, learning history (OData LearningHistory entity, exported as CSV)",
            columns=(
                _c("studentID", "person_id", "The SuccessFactors user id (usually the HRIS employee id)."),
                _c("componentID", "program_id", "The learning item id: map each to a program_id under values."),
                _c("completionDate", "completed_on", "Completion time, epoch milliseconds (also as /Date(…)/)."),
                _c("completionStatusID", "status", "The completion status code (customer-defined; common codes mapped)."),
                _c("totalHours", "hours", "Hours recorded for the item."),
            ),
            values={"status": {"COMPLETE": "completed", "COMPLETED": "completed", "PASSED": "completed", "ATTENDED": "completed",
                               "INCOMPLETE": "in_progress", "FAILED": "in_progress", "IN PROGRESS": "in_progress",
                               "ENROLLED": "enrolled", "NO SHOW": "dropped", "NO-SHOW": "dropped", "WITHDRAWN": "dropped", "CANCELLED": "dropped"}},
            dates="epoch_ms",
            notes="Declare values.program_id (item id → program id) and your own completion status codes under values.status.",
        ),
        Preset(
            name="scorm12",
            table="enrollments",
            system="A SCORM 1.2 status export (one row per learner and package: the cmi.core data-model elements the LMS stored)",
            columns=(
                _c("cmi.core.student_id", "person_id", "The learner id the LMS passed to the package (often the LMS username)."),
                _c("cmi.core.lesson_status", "status", "passed / completed → completed; failed / incomplete / browsed → in_progress; not attempted → enrolled."),
                *_LMS_COLUMNS,
            ),
            values={"status": _SCORM12_STATUS},
            notes="Declare values.program_id (course id → program id) and match_on (the people column holding the learner id).",
        ),
        Preset(
            name="scorm2004",
            table="enrollments",
            system="A SCORM 2004 status export (one row per learner and package: the cmi data-model elements the LMS stored)",
            columns=(
                _c("cmi.learner_id", "person_id", "The learner id the LMS passed to the package (often the LMS username)."),
                _c("cmi.completion_status", "status", "completed → completed; incomplete / unknown → in_progress; not attempted → enrolled (cmi.success_status is kept as an extra column)."),
                *_LMS_COLUMNS,
            ),
            values={"status": _SCORM2004_STATUS},
            notes="Declare values.program_id (course id → program id) and match_on (the people column holding the learner id).",
        ),
        Preset(
            name="hris_roster",
            table="people",
            system="A generic HRIS employee roster (Workday, SAP, BambooHR … custom report with these headers)",
            columns=(
                _c("Employee ID", "person_id", "The employee id: the person_id every other table refers to."),
                _c("Employee Name", "name", "Display name (never shown in reports)."),
                _c("Work Email", "email", "Work e-mail: what LMS exports and xAPI actors are matched on."),
                _c("Department", "org_unit", "Team or department."),
                _c("Job Title", "role", "Job title."),
                _c("Location", "location", "Site."),
                _c("Manager ID", "manager_id", "The manager's Employee ID."),
                _c("Hire Date", "hire_date", "Date of hire (declare date_format if not ISO)."),
                _c("LMS Username", "lms_username", "The person's LMS login: an extra identifier for match_on."),
                _c("Badge Number", "badge_number", "Badge or clock number: an extra identifier for match_on."),
                _c("LMS User ID", "lms_user_id", "The LMS's numeric user id (Moodle user id): an extra identifier for match_on."),
            ),
            notes="Declare date_format when Hire Date is not ISO (US exports: '%m/%d/%Y'). Other columns are kept as covariates.",
        ),
    )
}


def preset_base(name: str | None, site: ConfigSite) -> tuple[Intake | None, list[Problem]]:
    """The declaration of the preset a source names (None without one), or the problem with the name.

    Parameters
    ----------
    name : str or None
        The source's ``preset`` key.
    site : ConfigSite
        Where the source is declared.
    """
    if name is None:
        return None, []
    preset = PRESETS.get(name)
    if preset is None:
        return None, [site.problem(("preset",), repr(name), "one of the presets " + ", ".join(sorted(PRESETS)))]
    if preset.table != site.table:
        return None, [site.problem(("preset",), f"the {preset.table} preset {name!r}", f"a preset for the {site.table} table: "
                                   + (", ".join(sorted(p.name for p in PRESETS.values() if p.table == site.table)) or "there is none"))]
    return preset_intake(preset), []


def preset_intake(preset: Preset) -> Intake:
    """The :class:`~lopsnb.io.mapping.Intake` a preset declares.

    Columns whose contract column is optional may be absent from the file.
    """
    required = set(TABLES[preset.table].required_columns)
    return Intake(
        columns={c.theirs: c.ours for c in preset.columns},
        optional=frozenset(c.theirs for c in preset.columns if c.ours not in required),
        values={k: dict(v) for k, v in preset.values.items()},
        date_format=preset.date_format,
        dates=preset.dates,
        keep_rows={k: list(v) for k, v in preset.keep_rows.items()},
        preset=preset.name,
    )


def preset_markdown(preset: Preset) -> str:
    """The documentation table of a preset's columns (as in ``docs/data-contract.md``)."""
    lines = ["| their column | becomes | meaning |", "|---|---|---|"]
    lines += [f"| `{c.theirs}` | `{c.ours}` | {c.meaning} |" for c in preset.columns]
    return "\n".join(lines)
