"""Portfolio frame, recommendation rule and index page."""

from __future__ import annotations

import copy
import io
import re

import pandas as pd
import pytest

from lopsnb.report.portfolio import COLUMNS, portfolio_frame, recommend, render_index


def result(grade="moderate", roi=50.0, interval=(10.0, 90.0), effect=(10.0, 2.0, 18.0), break_even=5.0, direction="increase", name="Demo", available=True,
           action="scale", reason="recorded reason"):
    est, lo, hi = effect
    return {
        "decision": {"action": action, "reason": reason, "rule": action},
        "schema_version": 1,
        "program": {"id": "demo", "name": name, "outcome": "revenue", "unit": "USD", "direction": direction},
        "inputs": {"participants": 40},
        "results": {
            "outcome": "revenue", "unit": "USD", "direction": direction, "transform": "none", "primary_method": "did",
            "estimates": {"did": {"method": "did", "label": "Difference-in-differences", "estimate": est, "ci_low": lo, "ci_high": hi}},
        },
        "evidence": {"grade": grade, "reasons": []},
        "roi": {"available": available, "reason": None if available else "no monetization", "roi_pct": roi if available else None,
                "roi_interval": list(interval) if available else [None, None], "break_even_effect": break_even,
                "costs": 1000.0, "benefits": 1500.0, "bcr": 1.5, "conservative_roi_pct": 5.0},
    }


@pytest.mark.parametrize("action", ["scale", "sustain", "fix", "retire"])
def test_recommend_reads_the_recorded_decision(action) -> None:
    # The figures say "scale"; the recorded decision wins (the rule ran at evaluation).
    got, reason = recommend(result(grade="strong", interval=(5.0, 80.0), action=action, reason=f"because {action}"))
    assert (got, reason) == (action, f"because {action}")


def test_result_without_a_recorded_decision_gets_a_dash() -> None:
    old = result()
    del old["decision"]
    action, reason = recommend(old)
    assert action == "—" and "no decision" in reason


def test_failed_program_gets_a_dash() -> None:
    assert recommend(None)[0] == "—"


def index_rows(page: str) -> dict[str, list[str]]:
    """Program id -> text of every cell of its row in the index table (tags stripped)."""
    body = page[page.index("<tbody>"):page.index("</tbody>")]
    rows = {}
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S):
        pid = re.search(r'href="([^"/]+)/report\.html"', row).group(1)
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        rows[pid] = [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", c)).strip() for c in cells]
    return rows


def statuses(*pids, failed=()):
    return {p: {"program_id": p, "status": "failed" if p in failed else "ok", "error": "Boom <b>!</b>" if p in failed else None} for p in pids}


def test_frame_columns_values_and_no_person_identifiers() -> None:
    res = {"a": result(), "b": result(grade="weak", roi=-10, interval=(-50, 20), effect=(1.0, -1.0, 3.0), break_even=5.0, action="retire"), "c": None}
    frame = portfolio_frame(res, statuses("a", "b", "c", failed=("c",)))
    assert list(frame.columns) == list(COLUMNS)
    a = frame.set_index("program_id").loc["a"]
    assert (a["effect"], a["ci_low"], a["ci_high"], a["roi_pct"], a["roi_low"], a["roi_high"]) == (10.0, 2.0, 18.0, 50.0, 10.0, 90.0)
    assert a["method"] == "Difference-in-differences" and a["recommendation"] == "scale" and a["report"] == "a/report.html"
    c = frame.set_index("program_id").loc["c"]
    assert c["status"] == "failed" and c["recommendation"] == "—" and c["error"] == "Boom <b>!</b>"
    assert frame.set_index("program_id").loc["b", "recommendation"] == "retire"
    for col in frame.columns:
        assert not re.search(r"person|email|manager|hire", col)
    # CSV / XLSX round trip keeps the columns
    assert list(pd.read_csv(io.StringIO(frame.to_csv(index=False))).columns) == list(COLUMNS)
    buf = io.BytesIO()
    frame.to_excel(buf, index=False, engine="openpyxl")
    assert list(pd.read_excel(io.BytesIO(buf.getvalue())).columns) == list(COLUMNS)


def test_index_escapes_links_and_orders() -> None:
    evil = result(name="<script>alert(1)</script>")
    res = {
        "zeta": evil,
        "alpha": result(grade="weak", roi=200.0, action="sustain"),
        "mid": result(grade="strong", roi=20.0, interval=(5.0, 40.0)),
        "gone": None,
    }
    frame = portfolio_frame(res, statuses("zeta", "alpha", "mid", "gone", failed=("gone",)))
    page = render_index(frame, title="Portfolio <&>", generated_at="2026-10-02T08:00Z", data_as_of="2026-10-01")
    assert "<script" not in page.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "Portfolio &lt;&amp;&gt;" in page
    assert not re.search(r"(src|href)\s*=\s*[\"']?https?:", page) and "url(http" not in page
    for pid in res:
        assert f'href="{pid}/report.html"' in page
    assert "Boom &lt;b&gt;!&lt;/b&gt;" in page  # failed programs show their error, escaped
    order = [page.index(f'href="{pid}/report.html"') for pid in ("zeta", "mid", "alpha", "gone")]
    assert order == sorted(order)  # scale by ROI (50 before 20), then sustain, then failed
    assert "How to read this" in page and "2026-10-01" in page
    rows = index_rows(page)
    # Each row shows its own recommendation and evidence grade (not the static legend).
    assert {pid: cells[0] for pid, cells in rows.items()} == {"zeta": "scale", "mid": "scale", "alpha": "sustain", "gone": "failed"}
    assert {pid: cells[5] for pid, cells in rows.items() if pid != "gone"} == {"zeta": "moderate", "mid": "strong", "alpha": "weak"}
    assert rows["gone"][2].startswith("Report not produced:")


def test_frame_tolerates_sparse_results() -> None:
    sparse = {"schema_version": 1, "evidence": {"grade": "insufficient"}, "roi": {"available": False, "reason": "no costs"},
              "decision": {"action": "fix", "reason": "not enough evidence to decide: no data", "rule": "insufficient_evidence"}}
    frame = portfolio_frame({"x": copy.deepcopy(sparse)}, {"x": {"status": "ok"}})
    row = frame.iloc[0]
    assert row["recommendation"] == "fix" and pd.isna(row["roi_pct"]) and pd.isna(row["effect"])
    page = render_index(frame, title="t", generated_at="g", data_as_of=None)
    cells = index_rows(page)["x"]
    # badge, program, participants, outcome, effect, evidence, ROI, conservative ROI, BCR, costs, why
    assert cells[0] == "fix" and cells[1] == "x x" and cells[5] == "insufficient"
    assert cells[2] == cells[7] == cells[8] == cells[9] == "—" and cells[4] == "—" and cells[6] == "—"
    assert "not enough evidence to decide: no data" in cells[10]
    assert "<dt>Data as of</dt><dd>—</dd>" in page



def _row_badges(page: str) -> dict[str, str]:
    """Program id -> the badge of its table row (the static legend below the table is not a row)."""
    rows = re.findall(r'<tr[^>]*>\s*<td><span class="lp-badge [a-z]+">([^<]+)</span></td>\s*<td><a href="([^"/]+)/report\.html"', page)
    return {pid: badge for badge, pid in rows}


def test_changing_one_recorded_decision_changes_its_row_only() -> None:
    res = {"a": result(action="scale"), "b": result(action="sustain"), "c": result(action="fix")}
    st = statuses("a", "b", "c")
    page = render_index(portfolio_frame(res, st), title="t", generated_at="g", data_as_of=None)
    assert _row_badges(page) == {"a": "scale", "b": "sustain", "c": "fix"}
    res["b"] = result(action="retire", reason="stop it")
    frame = portfolio_frame(res, st)
    assert frame.set_index("program_id")["recommendation"].to_dict() == {"a": "scale", "b": "retire", "c": "fix"}
    assert _row_badges(render_index(frame, title="t", generated_at="g", data_as_of=None)) == {"a": "scale", "b": "retire", "c": "fix"}
