"""``lopsnb init DIR``: a new workspace folder to fill with one's own exports.

It writes a ``workspace.yml`` whose source examples (files with a preset, a
declared dialect, SQL, xAPI from a Learning Record Store) are commented out,
a ``program-template.yml`` with every program field commented (copy it to
``programs/<id>.yml``), and empty ``exports/`` and ``programs/`` folders.
Everything is written to a staging folder first and moved into place, so an
interrupted init leaves nothing half-written; an existing non-empty folder is
never touched.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

from lopsnb.errors import Problem, SourceError

__all__ = ["PROGRAM_TEMPLATE", "WORKSPACE_TEMPLATE", "init_workspace", "uncomment"]

WORKSPACE_TEMPLATE = """\
## workspace.yml: where each table comes from and how it is written.
## Reference: docs/data-contract.md (workspace.yml: sources); walk-through: docs/bring-your-data.md
name: {name}

## Without a sources entry, a table is read from <table>.csv, .parquet or .xlsx in this folder
## (people, enrollments and kpis are required). Uncomment the "sources:" line and the sources you need.
## Unknown keys are errors; `lopsnb validate {folder}` prints what every mapping did.
#
# sources:
#   # An HRIS roster with its own column names and US dates.
#   people:
#     file: exports/hris_roster.csv
#     preset: hris_roster                 # Employee ID -> person_id, Work Email -> email, LMS Username -> lms_username ...
#     date_format: "%m/%d/%Y"
#
#   # An LMS export. Presets: moodle_completion, moodle_logstore, successfactors_learning_history, scorm12, scorm2004.
#   enrollments:
#     file: exports/moodle_completion.csv
#     preset: moodle_completion
#     keep_rows: {{Course full name: [Customer Service Essentials]}}   # rows to read (the file's own column names)
#     values:
#       program_id: {{Customer Service Essentials: cs-essentials}}      # their spelling -> contract value
#     match_on: email                     # the people column the learner column holds
#     email_domains: {{old-name.example: example.com}}                 # an old domain still in the LMS
#     unmatched: drop                     # drop (and count) unknown learners; default: error
#
#   # A European spreadsheet: semicolons, decimal commas, dd.mm.yyyy dates, Windows-1252 text.
#   kpis:
#     file: exports/kpi_extract.csv
#     delimiter: ";"
#     decimal: ","
#     thousands: "."
#     encoding: cp1252
#     date_format: "%d.%m.%Y"             # or dates: excel_serial | epoch_s | epoch_ms
#     columns: {{Mitarbeiter: entity_id, Kennzahl: metric, Monat: period, Wert: value}}
#     drop_rows: {{Kennzahl: [Test]}}
#
#   # A table from a database (any SQLAlchemy URL; a relative SQLite path is inside this folder).
#   costs:
#     sql: SELECT program_id, category, amount FROM training_costs
#     url: sqlite:///warehouse/costs.db
#
#   # xAPI statements exported from a Learning Record Store (LRS): assessments (or enrollments).
#   assessments:
#     xapi: lrs/statements.jsonl
#     activities:
#       https://lms.example.com/quiz/cse-pre: {{program: cs-essentials, phase: pre}}
#       https://lms.example.com/quiz/cse-post: {{program: cs-essentials, phase: post}}
#     account_column: lms_username        # the people column actor.account.name holds
#     unknown_actors: drop
"""

PROGRAM_TEMPLATE = """\
## A program (initiative): copy this file to programs/<id>.yml, uncomment and edit.
## Every field is shown; only id, name and chain are required. Reference: docs/data-contract.md (Program files).
#
# id: my-program                       # = the file's stem; lowercase letters, digits, - and _
# name: My Program                     # shown in reports
# owner: L&D                           # optional
# business_goal: Raise customer satisfaction in the contact centre
# launch: 2026-03-01                   # fallback treatment date (no completed_on / enrolled_on)
# evaluate: true                       # false = catalog course: inputs only, no evaluation section
#
# chain:                               # the chain of evidence, business metric first
#   business_metric:
#     metric: csat                     # a kpis.metric
#     direction: increase              # increase | decrease: which way is good
#     unit: CSAT points (1-5)
#     target: 4.5
#     label: customer satisfaction     # its name in reports (default: the id made readable)
#     per: customer                    # what one value is counted per: "points per customer per month"
#   performance_metrics:               # Level-4 metrics that should move on the way (same keys)
#     - {metric: first_contact_resolution, direction: increase, unit: share, target: 0.8, label: first-contact resolution, per: agent}
#   leading_indicators: [calls_escalated]
#
# reaction:                            # reactions.item values by group; all others count as satisfaction
#   relevance_items: [The content is relevant to my job]
#   engagement_items: [The sessions kept me engaged]
# learning:
#   pass_mark: 70                      # assessments.score needed to pass the post test
#
# evaluation:
#   entity: person                     # person | org_unit
#   outcome: csat                      # defaults to chain.business_metric.metric
#   frequency: month                   # week | month | quarter | year: the spacing of the kpis rows
#   baseline: {start: 2025-09-01, end: 2026-02-28}   # absolute windows (inclusive) ...
#   followup: {start: 2026-04-01, end: 2026-09-30}   # ... or {offset: [from, to]} on both
#   design: did                        # did | ancova | post_only | before_after | trend | estimates | dr_did |
#                                      # ipw_did | reg_did | weighting | synthetic_control | sdid | survival
#   # with design: survival instead of the windows above:
#   # horizon_days: 90                   # survival only: retention (or the event) at this many days
#   # origin: hire_date                  # survival only: hire_date | treatment (the clock's start)
#   # event: {metric: csat, reaches: 4}  # survival only: time to a KPI threshold instead of retention
#   # as_of: 2026-10-31                  # survival only: censoring date (default: the data's latest date)
#   also: [ancova, before_after]       # sensitivity designs, reported beside the primary one
#   comparison: {role: [Customer Service Agent]}     # people filters for the comparison group
#   covariates: [tenure_years]         # people columns for balance and adjusted designs
#   transform: none                    # none | log
#   treated_share: 0.5                 # org_unit only: share of a unit enrolled to count as treated
#   control_group: never_treated       # staggered did only: never_treated | not_yet_treated
#   dr_estimator: traditional          # dr_did only: traditional | improved
#
# monetization:                        # without it there is no ROI
#   value_per_unit: 40                 # money per outcome unit, per entity and period
#   value_range: [25, 55]              # plausible range [low, high]
#   periods_per_year: 12
#   horizon_years: 1
#   currency: EUR
#
# intangibles: [customer loyalty]      # benefits listed beside the ROI, not monetised
# privacy:
#   min_group_size: 5                  # smaller groups are suppressed in reports
#   include_comments: false            # reaction comments in reports
"""

_EXPORTS_README = """\
Put the raw exports here (LMS, HRIS, KPI extracts) exactly as the systems write them,
and declare how each is written in ../workspace.yml (docs/bring-your-data.md).
"""


def uncomment(text: str) -> str:
    """``text`` with one leading ``# `` removed from every commented example line (what a user does to a template).

    Lines of prose start with ``## `` and stay comments.
    """
    return "\n".join(line[2:] if line.startswith("# ") else ("" if line == "#" else line) for line in text.splitlines()) + "\n"


def init_workspace(folder: str | Path, *, name: str | None = None) -> list[Path]:
    """Create a new workspace folder with the templates.

    Parameters
    ----------
    folder : str or Path
        The folder to create; it may exist only when empty.
    name : str, optional
        The workspace's display name (default: the folder's name).

    Returns
    -------
    list of Path
        The files written.

    Raises
    ------
    SourceError
        When the folder exists and is not empty, is a file, or cannot be written.
    """
    target = Path(folder).expanduser()
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        what = "a file" if not target.is_dir() else "a folder that is not empty"
        raise SourceError([Problem(str(target), None, None, what, "a new or empty folder: lopsnb init never overwrites anything")],
                          summary=f"cannot create a workspace in {target}")
    files = {
        "workspace.yml": WORKSPACE_TEMPLATE.format(name=json.dumps(name or target.resolve().name, ensure_ascii=False), folder=target),
        "program-template.yml": PROGRAM_TEMPLATE,
        "exports/README.txt": _EXPORTS_README,
    }
    staging: Path | None = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
        staging.chmod(0o755)  # mkdtemp makes it private; a workspace is an ordinary folder
        for rel, text in files.items():
            (staging / rel).parent.mkdir(parents=True, exist_ok=True)
            (staging / rel).write_text(text, encoding="utf-8")
        (staging / "programs").mkdir()
        if target.exists():
            target.rmdir()  # empty, checked above
        staging.rename(target)
    except OSError as exc:
        raise SourceError([Problem(str(target), None, None, f"an error writing it ({exc})", "a folder lopsnb may create")],
                          summary=f"cannot create a workspace in {target}") from exc
    finally:
        if staging is not None and staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return [target / rel for rel in files] + [target / "programs"]
