"""Portfolio frame, recommendation rule and index page."""

from __future__ import annotations

import copy
import io
import re

import pandas as pd
import pytest

from lopsnb.report.portfolio import COLUMNS, portfolio_frame, recommend, render_index


def result(grade="moderate", roi=50.0, interval=(10.0, 90.0), effect=(10.0, 2.0, 18.0), break_even=5.0, direction="increase", name="Demo", available=True):
    est, lo, hi = effect
    return {
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


@pytest.mark.parametrize(
    ("kwargs", "action"),
    [
        ({"grade": "strong", "interval": (5.0, 80.0)}, "scale"),
        ({"grade": "moderate", "interval": (0.5, 80.0)}, "scale"),
        ({"grade": "weak", "interval": (5.0, 80.0)}, "sustain"),  # weaker evidence
        ({"grade": "strong", "interval": (-20.0, 80.0)}, "sustain"),  # interval includes 0
        ({"grade": "insufficient", "interval": (5.0, 80.0)}, "sustain"),
        # ROI <= 0 and the favourable CI bound (ci_high=4) is below break-even (5): retire
        ({"grade": "moderate", "roi": -10.0, "interval": (-60.0, 30.0), "effect": (2.0, 0.0, 4.0)}, "retire"),
        # decrease outcome: favourable bound is ci_low (-3) and break-even -5: not reached
        ({"grade": "weak", "roi": -20.0, "interval": (-60.0, 30.0), "effect": (-1.0, -3.0, 1.0), "break_even": -5.0, "direction": "decrease"}, "retire"),
        # decrease outcome whose CI reaches -6 < -5: a worthwhile effect is possible
        ({"grade": "weak", "roi": -20.0, "interval": (-60.0, 30.0), "effect": (-1.0, -6.0, 1.0), "break_even": -5.0, "direction": "decrease"}, "fix"),
        # whole ROI interval below 0 though the effect CI reaches break-even
        ({"grade": "strong", "roi": -40.0, "interval": (-70.0, -5.0), "effect": (2.0, -1.0, 6.0)}, "retire"),
        ({"grade": "weak", "roi": -40.0, "interval": (-70.0, 20.0), "effect": (2.0, -1.0, 6.0)}, "fix"),
        ({"grade": "insufficient", "roi": -40.0, "interval": (-90.0, -5.0), "effect": (2.0, 0.0, 4.0)}, "fix"),  # never retire on it
        ({"grade": "strong", "available": False}, "fix"),  # ROI undefined
        ({"grade": "moderate", "roi": 0.0, "interval": (-30.0, 30.0), "effect": (5.0, 1.0, 9.0)}, "fix"),
    ],
)
def test_recommendation_rule(kwargs, action) -> None:
    got, reason = recommend(result(**kwargs))
    assert got == action
    assert isinstance(reason, str) and len(reason) > 10


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
    res = {"a": result(), "b": result(grade="weak", roi=-10, interval=(-50, 20), effect=(1.0, -1.0, 3.0), break_even=5.0), "c": None}
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
        "alpha": result(grade="weak", roi=200.0),
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
    sparse = {"schema_version": 1, "evidence": {"grade": "insufficient"}, "roi": {"available": False, "reason": "no costs"}}
    frame = portfolio_frame({"x": copy.deepcopy(sparse)}, {"x": {"status": "ok"}})
    row = frame.iloc[0]
    assert row["recommendation"] == "fix" and pd.isna(row["roi_pct"]) and pd.isna(row["effect"])
    page = render_index(frame, title="t", generated_at="g", data_as_of=None)
    cells = index_rows(page)["x"]
    # badge, program, participants, outcome, effect, evidence, ROI, conservative ROI, BCR, costs, why
    assert cells[0] == "fix" and cells[1] == "x x" and cells[5] == "insufficient"
    assert cells[2] == cells[7] == cells[8] == cells[9] == "—" and cells[4] == "— — to —" and cells[6] == "—"
    assert "insufficient to isolate the effect" in cells[10]
    assert "<dt>Data as of</dt><dd>—</dd>" in page
