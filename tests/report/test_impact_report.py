"""The real pipeline: the impact notebook over sample programs, end to end.

One batch (two sample programs plus a deliberately broken copy) is run once
per module; the tests read its output.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from conftest import SAMPLE
from lopsnb import evaluate, load_workspace
from lopsnb.runner import run_batch

PROGRAMS = ["sales-enablement", "new-hire-onboarding"]
EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//|url\(\s*["']?\s*(?:https?:)?//""", re.IGNORECASE)


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, object]:
    root = tmp_path_factory.mktemp("pipeline")
    ws = root / "acme"
    shutil.copytree(SAMPLE, ws)
    # A deliberately broken program: an invalid design, collected by the loader
    # and reported as a failed program while the others complete.
    (ws / "programs" / "broken-program.yml").write_text("id: broken-program\nname: Broken\nchain: {business_metric: {metric: revenue_per_rep}}\nevaluation: {design: nonsense}\n")
    result = run_batch(ws, programs=[*PROGRAMS, "broken-program"], out=root / "out", workers=2, progress=False)
    return ws, root / "out", result


def test_good_programs_succeed_and_broken_one_fails(batch) -> None:
    _, out, result = batch
    status = {o.program_id: o.status for o in result.programs}
    assert status == {"sales-enablement": "ok", "new-hire-onboarding": "ok", "broken-program": "failed"}
    assert result.exit_code == 1
    failure = (out / "broken-program" / "report.html").read_text(encoding="utf-8")
    assert "evaluation.design" in failure and "nonsense" in failure
    for pid in PROGRAMS:
        for name in ("report.html", "report.ipynb", "results.json", "status.json"):
            assert (out / pid / name).is_file(), (pid, name)
        st = json.loads((out / pid / "status.json").read_text())
        assert st["status"] == "ok" and st["parameters"]["program_id"] == pid and "lopsnb" in st["versions"]
    assert (out / "index.html").is_file() and (out / "portfolio.csv").is_file() and (out / "portfolio.xlsx").is_file()


@pytest.mark.parametrize("pid", PROGRAMS)
def test_report_html_is_offline_and_codeless(batch, pid: str) -> None:
    _, out, _ = batch
    html = (out / pid / "report.html").read_text(encoding="utf-8")
    assert not EXTERNAL.search(html), EXTERNAL.search(html)
    assert "<script" not in html.lower()
    assert "Traceback" not in html and "Exception" not in html
    assert not re.search(r'class="[^"]*(jp-CodeMirrorEditor|jp-InputPrompt|highlight)', html)
    assert "import lopsnb" not in html and "evaluate(ws" not in html  # no code
    for section in ("Executive summary", "Business alignment", "Chain of evidence", "Level details", "Return on investment", "Method and assumptions"):
        assert section in html
    assert "data:image/png;base64," in html  # charts embedded, not linked


def _text(html: str) -> str:
    """The words of a page: images, styles and tags removed, entities unescaped."""
    import html as _html

    html = re.sub(r"<(style|img)[^>]*>.*?</style>|<img[^>]*>", " ", html, flags=re.DOTALL | re.IGNORECASE)
    return _html.unescape(re.sub(r"<[^>]+>", " ", html))


@pytest.mark.parametrize("pid", PROGRAMS)
def test_business_text_has_labels_not_codes(batch, pid: str) -> None:
    # Issue 15: the executive summary reads as a memo, without statistics output.
    _, out, _ = batch
    html = (out / pid / "report.html").read_text(encoding="utf-8")
    start, end = html.index('id="Executive-summary"'), html.index('id="Business-alignment"')
    summary = _text(html[start:end])
    chain_start, chain_end = html.index('id="Chain-of-evidence"'), html.index('id="Level-details"')
    business = summary + _text(html[end:chain_end])
    for word in ("Recommendation", "Effect.", "Return.", "How sure.", "What would change this."):
        assert word in summary, word
    assert summary.index("Recommendation") < summary.index("Effect.") < summary.index("Return.") < summary.index("How sure.")
    assert not re.search(r"\d[eE][+-]?\d", _text(html)), re.search(r".{40}\d[eE][+-]?\d.{20}", _text(html))  # no scientific notation anywhere
    program = json.loads((out / pid / "results.json").read_text(encoding="utf-8"))["program"]
    metrics = [program["chain"]["business_metric"]["metric"], *(m["metric"] for m in program["chain"]["performance_metrics"])]
    for metric in metrics:
        assert metric not in business, metric  # labels, never ids (ids all contain "_")
    for code in ("|SMD|", "Design '", "SMD", "(did)", "'did'", "ancova", "post_only", "before_after", "per unit a month", "per entity", "CI "):
        assert code not in summary, code
    assert not re.search(r"\bdid\b(?! (before|not))", summary), "design code 'did'"  # English ("did not take part") is fine
    assert "difference-in-differences against a comparison group" in summary  # the design in words
    assert re.search(r"\$\d{1,3}(,\d{3})+", summary), "money with symbol and thousands separators"
    assert not re.search(r"positive:? 100 ?%", summary), "a probability is never a bare 100%"


def test_results_json_equals_evaluate(batch) -> None:
    ws_path, out, _ = batch
    ws = load_workspace(ws_path, on_program_error="collect")
    for pid in PROGRAMS:
        on_disk = json.loads((out / pid / "results.json").read_text())
        fresh = json.loads(json.dumps(evaluate(ws, pid).to_dict(), allow_nan=False))
        assert on_disk == fresh


def test_rerun_skips_unchanged_programs(batch) -> None:
    ws, out, _ = batch
    again = run_batch(ws, programs=PROGRAMS, out=out, workers=2, progress=False)
    assert {o.status for o in again.programs} == {"skipped"}
    assert again.exit_code == 0


def test_index_lists_programs_with_recommendations(batch) -> None:
    _, out, _ = batch
    index = (out / "index.html").read_text(encoding="utf-8")
    assert "sales-enablement/report.html" in index and "new-hire-onboarding/report.html" in index
    assert not EXTERNAL.search(index) and "<script" not in index.lower()
    # Each program's row shows the decision its results.json recorded (not the static legend below the table).
    rows = dict((pid, badge) for badge, pid in re.findall(
        r'<tr[^>]*>\s*<td><span class="lp-badge [a-z]+">([^<]+)</span></td>\s*<td><a href="([^"/]+)/report\.html"', index))
    recorded = {pid: json.loads((out / pid / "results.json").read_text())["decision"]["action"] for pid in PROGRAMS}
    assert {pid: rows[pid] for pid in PROGRAMS} == recorded
    assert rows["broken-program"] == "failed"
    csv = pd.read_csv(out / "portfolio.csv").set_index("program_id")
    assert {pid: csv.loc[pid, "recommendation"] for pid in PROGRAMS} == recorded
