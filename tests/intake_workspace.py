"""A workspace built from the made-up exports of ``tests/fixtures/intake`` (Northwind Retail, fictional).

The HRIS roster (``hris_roster`` preset) and the German KPI extract (a
declared dialect) are always the same; the enrollments come from whichever
LMS export a test names, with its source declaration.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import yaml

__all__ = ["FIXTURES", "PROGRAM_ID", "PRESET_SOURCES", "intake_workspace"]

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "intake"
PROGRAM_ID = "cs-essentials"

PEOPLE: dict[str, Any] = {"file": "exports/hris_roster.csv", "preset": "hris_roster", "date_format": "%m/%d/%Y"}
KPIS: dict[str, Any] = {
    "file": "exports/kpi_extract.csv", "delimiter": ";", "decimal": ",", "thousands": ".", "encoding": "cp1252", "date_format": "%d.%m.%Y",
    "columns": {"Mitarbeiter": "entity_id", "Kennzahl": "metric", "Monat": "period", "Wert": "value"},
    "values": {"metric": {"Kundenzufriedenheit (CSAT)": "csat", "Umsatz (€)": "revenue"}},
}

#: Per preset: the enrollments source, and the rows expected after identity matching.
PRESET_SOURCES: dict[str, tuple[dict[str, Any], int]] = {
    "moodle_completion": ({
        "file": "exports/moodle_completion.csv", "preset": "moodle_completion",
        "keep_rows": {"Course full name": ["Customer Service Essentials"]},
        "values": {"program_id": {"Customer Service Essentials": PROGRAM_ID}},
        "match_on": "email", "email_domains": {"northwind-retail.example": "northwind.example"}, "unmatched": "drop",
    }, 28),
    "moodle_logstore": ({
        "file": "exports/moodle_logstore.csv", "preset": "moodle_logstore",
        "values": {"program_id": {"12": PROGRAM_ID}}, "match_on": "lms_user_id", "unmatched": "drop",
    }, 24),
    "successfactors_learning_history": ({
        "file": "exports/successfactors_learning_history.csv", "preset": "successfactors_learning_history",
        "values": {"program_id": {"CSE-101": PROGRAM_ID}}, "match_on": "person_id",
    }, 28),
    "scorm12": ({
        "file": "exports/scorm12_status.csv", "preset": "scorm12", "values": {"program_id": {"cse_scorm_v3": PROGRAM_ID}}, "match_on": "lms_username",
    }, 30),
    "scorm2004": ({
        "file": "exports/scorm2004_status.csv", "preset": "scorm2004", "values": {"program_id": {"cse_scorm_v3": PROGRAM_ID}}, "match_on": "lms_username",
    }, 30),
}

PROGRAM = """\
id: cs-essentials
name: Customer Service Essentials
launch: 2026-03-01
chain:
  business_metric: {metric: csat, direction: increase, unit: CSAT points (1-5)}
evaluation:
  entity: person
  frequency: month
  baseline: {start: 2025-09-01, end: 2026-02-28}
  followup: {start: 2026-04-01, end: 2026-09-30}
  design: did
  comparison: {role: [Customer Service Agent]}
"""


def intake_workspace(root: Path, enrollments: dict[str, Any], **sources: dict[str, Any]) -> Path:
    """Write the workspace under ``root``: every fixture export in ``exports/``, workspace.yml, the program."""
    (root / "programs").mkdir(parents=True)
    shutil.copytree(FIXTURES, root / "exports", ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    config = {"name": "Northwind Retail (fictional)", "sources": {"people": PEOPLE, "kpis": KPIS, "enrollments": enrollments, **sources}}
    (root / "workspace.yml").write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")
    (root / "programs" / f"{PROGRAM_ID}.yml").write_text(PROGRAM, encoding="utf-8")
    return root
