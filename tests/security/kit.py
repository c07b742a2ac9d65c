"""Helpers shared by tests/security and tests/reliability: small workspaces, batch runs, scans.

Workspaces are generated in the test's temporary folder (never in the repo:
a batch may write a cache into its workspace). Batches run the real
``notebooks/impact_report.ipynb`` with real kernels.
"""

from __future__ import annotations

import json
import os
import re
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path

import pandas as pd
import pytest

__all__ = [
    "ROOT", "needs_kernel", "kernel_available", "write_workspace", "program_yml", "run", "leftovers",
    "strip_data_uris", "output_texts", "generated_at_free", "security_workspace", "PAYLOAD", "NAMED_COMMENT",
    "NAMED_COMMENT_REDACTED",
]

ROOT = Path(__file__).resolve().parents[2]

#: A string that breaks out of HTML text, attributes, Jinja/str.format and quotes if anything forgets to escape it,
#: and stops a matplotlib figure (mathtext between two ``$``) if a plot forgets :func:`lopsnb.report.plots.literal`.
PAYLOAD = "<script>alert('xss')</script> <img src=x onerror=alert(1)> \"dq\" 'sq' {0} {{x}} & co $_^\\ per $x$"


def kernel_available() -> bool:
    """Whether a Jupyter kernelspec named python3 exists (the batch runner needs one)."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        KernelSpecManager().get_kernel_spec("python3")
    except NoSuchKernel:
        return False
    return True


needs_kernel = pytest.mark.skipif(not kernel_available(), reason="no Jupyter kernelspec named python3 (run `make install`)")


def program_yml(pid: str, *, name: str | None = None, outcome: str = "revenue", comparison: str = "{role: [Rep]}",
                privacy: str = "", extra: str = "") -> str:
    """A valid DiD program file (JSON-quoted strings, so any name or metric is valid YAML)."""
    return (
        f"id: {pid}\n"
        f"name: {json.dumps(name or 'Program ' + pid)}\n"
        "owner: Sales Ops\n"
        "launch: 2026-03-01\n"
        "chain:\n"
        f"  business_metric: {{metric: {json.dumps(outcome)}, direction: increase, unit: USD per month}}\n"
        "evaluation:\n"
        "  entity: person\n"
        "  baseline: {start: 2026-01-01, end: 2026-02-28}\n"
        "  followup: {start: 2026-04-01, end: 2026-05-31}\n"
        "  design: did\n"
        f"  comparison: {comparison}\n"
        "monetization: {value_per_unit: 1.0, periods_per_year: 12}\n"
        + (f"privacy: {privacy}\n" if privacy else "")
        + extra
    )


def write_workspace(root: Path, tables: Mapping[str, pd.DataFrame | None], programs: Mapping[str, str]) -> Path:
    """Write ``tables`` as CSV (None: left out) and ``programs`` as programs/<id>.yml under ``root``."""
    (root / "programs").mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        if frame is not None:
            frame.to_csv(root / f"{name}.csv", index=False)
    for pid, text in programs.items():
        (root / "programs" / f"{pid}.yml").write_text(text, encoding="utf-8")
    return root


def run(ws: Path, out: Path, **kwargs: object):  # noqa: ANN201 - BatchResult
    """run_batch with test defaults (2 workers, no progress bar, 180 s per program)."""
    from lopsnb.runner import run_batch

    opts = {"workers": 2, "timeout": 180, "progress": False}
    opts.update(kwargs)
    return run_batch(ws, out=out, **opts)  # type: ignore[arg-type]


def leftovers(out: Path) -> list[Path]:
    """Temporary files and folders a run must never leave in its output folder."""
    return [p for p in Path(out).rglob("*") if p.name.endswith(".tmp") or p.name.startswith((".lopsnb-tmp", "stage-", "old-", "work-"))]


_DATA_URI = re.compile(r"data:[a-z]+/[a-z0-9.+-]+;base64,[A-Za-z0-9+/=\s]+")


def strip_data_uris(text: str) -> str:
    """Drop embedded images: base64 is not text a reader sees, and its alphabet could match an id by chance."""
    return _DATA_URI.sub("data:,", text)


def output_texts(out: Path) -> dict[Path, str]:
    """Every output file as searchable text; an .xlsx is read as the XML parts inside its zip."""
    texts: dict[Path, str] = {}
    for path in sorted(p for p in Path(out).rglob("*") if p.is_file()):
        if path.suffix == ".xlsx":
            with zipfile.ZipFile(path) as zf:
                texts[path] = "\n".join(zf.read(n).decode("utf-8", "replace") for n in zf.namelist())
        elif path.suffix == ".ipynb":
            # Image outputs are base64 too; keep every text field.
            nb = json.loads(path.read_text(encoding="utf-8"))
            for cell in nb.get("cells", []):
                for output in cell.get("outputs", []):
                    output.get("data", {}).pop("image/png", None)
            texts[path] = strip_data_uris(json.dumps(nb, ensure_ascii=False))
        else:
            texts[path] = strip_data_uris(path.read_bytes().decode("utf-8", "replace"))
    return texts


_GENERATED = re.compile(r"(<dt>Generated at</dt><dd>|generated |Generated )\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


def generated_at_free(page: str) -> str:
    """The page with its generation timestamp(s) replaced by a fixed token (nothing else)."""
    return _GENERATED.sub(lambda m: m.group(1) + "GENERATED-AT", page)


# --------------------------------------------------------------------------- the security workspace

#: A privacy-demo comment naming people of the table by full name, id, last name (other case) and e-mail.
NAMED_COMMENT = "Thanks to Zqfirst Zqlast002, zq-emp-003 and ZQLAST004; write to Zq.Person005@Corp.Example"
NAMED_COMMENT_REDACTED = "Thanks to [redacted], [redacted] and [redacted]; write to [redacted]"

MONTHS = ["2026-01-01", "2026-02-01", "2026-03-01", "2026-04-01", "2026-05-01", "2026-06-01"]


def person(i: int) -> tuple[str, str, str]:
    """(person_id, name, email) of generated person ``i``: tokens that cannot occur by chance."""
    return f"zq-emp-{i:03d}", f"Zqfirst Zqlast{i:03d}", f"zq.person{i:03d}@corp.example"


def security_workspace(root: Path, n_people: int = 24) -> Path:
    """A workspace built to test privacy and escaping.

    Programs
    --------
    privacy-demo
        6 participants, comments included (with e-mails and phone numbers);
        a reaction item answered by 2 people, a behavior observed by 2 peers,
        2 participants at the maximum pre-test score (individual gains on 4
        people), and only 3 participants with January KPI data.
    tiny
        3 participants; comments exist but are excluded (the default).
    inject
        name, outcome metric, reaction items, behavior and comments carry
        :data:`PAYLOAD`; comments included.
    formula
        a name a spreadsheet would run as a formula.
    """
    ids = [person(i) for i in range(1, n_people + 1)]
    people = pd.DataFrame({
        "person_id": [p for p, _, _ in ids], "name": [n for _, n, _ in ids],
        "org_unit": ["east" if i % 2 else "west" for i in range(n_people)], "role": ["Rep"] * n_people,
        "location": ["NYC"] * n_people, "manager_id": [""] * n_people, "hire_date": ["2020-01-15"] * n_people,
        "hourly_cost": [50.0] * n_people, "email": [e for _, _, e in ids], "tenure_years": [float(i % 7) for i in range(n_people)],
    })
    groups = {"privacy-demo": range(0, 6), "tiny": range(6, 9), "inject": range(9, 15), "formula": range(15, 19)}
    treated = {i for g in groups.values() for i in g}
    enr, kpi = [], []
    for pid, members in groups.items():
        for i in members:
            enr.append({"person_id": ids[i][0], "program_id": pid, "enrolled_on": "2026-03-01", "completed_on": "2026-03-10",
                        "status": "completed", "hours": 4})
    for i, (pid_, _, _) in enumerate(ids):
        for m, month in enumerate(MONTHS):
            if m == 0 and i in groups["privacy-demo"] and i >= 3:
                continue  # only 3 participants of privacy-demo have January data: a suppressed point
            lift = 12.0 if i in treated and m >= 3 else 0.0
            value = 100 + 0.5 * i + 2 * m + ((i * 7 + m * 3) % 5) + lift
            kpi.append({"entity_id": pid_, "metric": "revenue", "period": month, "value": value})
            kpi.append({"entity_id": pid_, "metric": PAYLOAD, "period": month, "value": value})
    reactions, behaviors, assessments = [], [], []
    pd_members = [ids[i][0] for i in groups["privacy-demo"]]
    for k, p in enumerate(pd_members):
        reactions.append({"program_id": "privacy-demo", "item": "Relevant to my job", "score": 4 + k % 2, "scale_max": 5, "person_id": p,
                          "responded_on": "2026-03-11",
                          "comment": ["Great, mail me at zq.person001@corp.example", "Call +1 (555) 123-4567 anytime", "Loved it", "", "Useful",
                                      NAMED_COMMENT][k]})
        behaviors.append({"person_id": p, "program_id": "privacy-demo", "behavior": "Uses the checklist", "value": 0.6 + 0.05 * k,
                          "observed_on": "2026-04-15", "observer": "manager"})
        pre = 100 if k < 2 else 50 + k
        assessments += [{"person_id": p, "program_id": "privacy-demo", "phase": "pre", "score": pre, "max_score": 100, "taken_on": "2026-03-01"},
                        {"person_id": p, "program_id": "privacy-demo", "phase": "post", "score": min(100, pre + 20), "max_score": 100, "taken_on": "2026-03-10"}]
    for p, s in zip(pd_members[:2], (1, 2), strict=True):
        reactions.append({"program_id": "privacy-demo", "item": "Rare item answered by two", "score": s, "scale_max": 5, "person_id": p,
                          "responded_on": "2026-03-11", "comment": ""})
        behaviors.append({"person_id": p, "program_id": "privacy-demo", "behavior": "Uses the checklist", "value": 0.93,
                          "observed_on": "2026-04-15", "observer": "peer"})
    for i in groups["tiny"]:
        reactions.append({"program_id": "tiny", "item": "Relevant to my job", "score": 5, "scale_max": 5, "person_id": ids[i][0],
                          "responded_on": "2026-03-11", "comment": "TINY-SECRET-COMMENT from zq.person007@corp.example"})
    for k, i in enumerate(groups["inject"]):
        reactions.append({"program_id": "inject", "item": PAYLOAD, "score": 4, "scale_max": 5, "person_id": ids[i][0],
                          "responded_on": "2026-03-11", "comment": f"{PAYLOAD} #{k}"})
        behaviors.append({"person_id": ids[i][0], "program_id": "inject", "behavior": PAYLOAD, "value": 0.7,
                          "observed_on": "2026-04-15", "observer": "manager"})
    tables = {
        "people": people, "enrollments": pd.DataFrame(enr), "kpis": pd.DataFrame(kpi), "reactions": pd.DataFrame(reactions),
        "behaviors": pd.DataFrame(behaviors), "assessments": pd.DataFrame(assessments),
        "costs": pd.DataFrame({"program_id": list(groups), "category": ["delivery"] * 4, "amount": [900.0] * 4,
                               "description": [PAYLOAD] * 4, "prorate_share": [1.0] * 4}),
    }
    programs = {
        "privacy-demo": program_yml("privacy-demo", name="Privacy demo", privacy="{min_group_size: 5, include_comments: true}",
                                    extra="learning: {pass_mark: 60}\n"),
        "tiny": program_yml("tiny", name="Tiny cohort"),
        "inject": program_yml("inject", name=PAYLOAD, outcome=PAYLOAD, privacy="{include_comments: true}"),
        "formula": program_yml("formula", name='=HYPERLINK("http://example.invalid/x","click")'),
    }
    return write_workspace(root, tables, programs)


def people_tokens(people_csv: Path) -> list[str]:
    """Every person_id, name and e-mail of a people.csv (non-blank, distinct)."""
    frame = pd.read_csv(people_csv, dtype=str, keep_default_na=False)
    values: Iterable[str] = [*frame["person_id"], *frame.get("name", []), *frame.get("email", [])]
    return sorted({v.strip() for v in values if v and v.strip()})


def env_ci() -> bool:
    """Whether this runs in CI (where a missing browser must fail, not skip)."""
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")
